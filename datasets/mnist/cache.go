package mnist

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/kiln-ml/kiln/data"
	"github.com/kiln-ml/kiln/internal/atomicfile"
	"github.com/kiln-ml/kiln/tensor"
)

// Gunzipping the 47 MB of training images takes ~0.3 s, most of a run's
// start-up once training is fast, and reading them into fresh memory costs
// ~0.2 s more on a VM (one page fault per 4 KiB). So after a file has passed
// both checksums its decompressed bytes are kept in a cache directory, one
// copy per official file whatever .gz it came from:
//
//	mnist-train-images-idx3-ubyte          the decompressed official bytes
//	mnist-train-images-idx3-ubyte.sources  the .gz files known to hold them,
//	                                       one "size mtime path" line each
//
// and memory-mapped on later loads. A .gz file is listed only after its MD5
// and SHA-256 matched, so a changed or damaged .gz is never masked by the
// cache: its size or mtime no longer match, and it is verified again (a
// damaged one then fails with the checksum error). The cached bytes are
// checked against the CRC-32C of the official data on every load (~6 ms
// instead of SHA-256's 70 ms; they guard against damage on disk, the .gz
// checksums against the wrong file). Any problem with the cache just falls
// back to the .gz.

// CacheEnv names the environment variable that sets the cache directory;
// "off" disables the cache. The default is os.UserCacheDir()/kiln.
const CacheEnv = "KILN_CACHE_DIR"

// rawSHA256 are the SHA-256 sums of the official files after gunzip.
var rawSHA256 = map[string]string{
	"train-images-idx3-ubyte.gz": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
	"train-labels-idx1-ubyte.gz": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
	"t10k-images-idx3-ubyte.gz":  "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
	"t10k-labels-idx1-ubyte.gz":  "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

// rawCRC32C are the CRC-32C (Castagnoli) sums of the quarters of the same
// decompressed files (bytes [i·n/4, (i+1)·n/4)), checked in parallel: one
// pass over 47 MB takes ~12 ms on one core.
var rawCRC32C = map[string][4]uint32{
	"train-images-idx3-ubyte.gz": {0xbafd8e36, 0x0f148847, 0x269a20ed, 0xa3b8e285},
	"train-labels-idx1-ubyte.gz": {0x669743a2, 0x80800830, 0x8b877c7a, 0xf84a5961},
	"t10k-images-idx3-ubyte.gz":  {0xf718d045, 0x610b2bde, 0x3cbf02b3, 0xcb22be1f},
	"t10k-labels-idx1-ubyte.gz":  {0xbee2f35c, 0x9d2b8b17, 0x140a3d65, 0xf8139746},
}

// quarterCRCs returns the CRC-32C of each quarter of b, computed in parallel.
func quarterCRCs(b []byte) [4]uint32 {
	var sums [4]uint32
	var wg sync.WaitGroup
	n := len(b)
	for i := range sums {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sums[i] = crc32.Checksum(b[i*n/4:(i+1)*n/4], castagnoli)
		}()
	}
	wg.Wait()
	return sums
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// maxSources bounds a .sources file: older entries are dropped (and their
// .gz files verified again if they are used again).
const maxSources = 16

// cacheDir returns the cache directory, or "" when there is none.
func cacheDir() string {
	dir := os.Getenv(CacheEnv)
	if dir == "off" {
		return ""
	}
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(base, "kiln")
	}
	return dir
}

// cacheFiles returns the paths of f's cached bytes and of its sources list
// in dir.
func cacheFiles(dir string, f mnistFile) (content, sources string) {
	content = filepath.Join(dir, "mnist-"+strings.TrimSuffix(f.name, ".gz"))
	return content, content + ".sources"
}

// sourceID identifies the .gz at path by its absolute path, size and
// modification time; "" if it cannot be read.
func sourceID(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return ""
	}
	st, err := os.Stat(abs)
	if err != nil {
		return ""
	}
	return fmt.Sprintf("%d %d %s", st.Size(), st.ModTime().UnixNano(), abs)
}

// loadCached returns the cached array of f, if the cache holds the official
// bytes, and whether the .gz at path is listed as holding them (if not, the
// caller must verify it before using the array).
func loadCached(path string, f mnistFile) (a *data.Array, known bool) {
	dir := cacheDir()
	if dir == "" {
		return nil, false
	}
	content, sources := cacheFiles(dir, f)
	h := 4 + 4*len(f.shape)
	b, err := mapFile(content, h+tensor.Size(f.shape))
	if err != nil {
		return nil, false
	}
	if quarterCRCs(b) != rawCRC32C[f.name] {
		unmapFile(b)
		os.Remove(content)
		return nil, false
	}
	// The bytes are the official file, so its layout is known: a 4-byte
	// magic, one 4-byte size per axis, then the values. Wrap them without
	// copying (the mapping is private: writes would not reach the file).
	a = data.NewUint8(b[h:], f.shape...)
	id := sourceID(path)
	list, _ := os.ReadFile(sources)
	return a, id != "" && slices.Contains(strings.Split(string(list), "\n"), id)
}

// addSource records that the .gz at path holds f's official data.
func addSource(path string, f mnistFile) {
	dir := cacheDir()
	id := sourceID(path)
	if dir == "" || id == "" {
		return
	}
	_, sources := cacheFiles(dir, f)
	list, _ := os.ReadFile(sources)
	var lines []string
	for _, l := range strings.Split(string(list), "\n") {
		if l != "" && l != id {
			lines = append(lines, l)
		}
	}
	lines = append(lines, id)
	if len(lines) > maxSources {
		lines = lines[len(lines)-maxSources:]
	}
	atomicfile.Write(sources, []byte(strings.Join(lines, "\n")+"\n"))
}

// storeCached writes a verified array back in IDX form (the exact bytes of
// the decompressed official file) and lists the .gz at path as its source;
// failures are ignored.
func storeCached(path string, f mnistFile, a *data.Array) {
	dir := cacheDir()
	if dir == "" || os.MkdirAll(dir, 0o755) != nil {
		return
	}
	removeOldCache(dir)
	var b bytes.Buffer
	b.Write([]byte{0, 0, 0x08, byte(len(a.Shape))})
	for _, d := range a.Shape {
		binary.Write(&b, binary.BigEndian, uint32(d))
	}
	b.Write(a.U8)
	sum := sha256.Sum256(b.Bytes())
	if hex.EncodeToString(sum[:]) != rawSHA256[f.name] {
		return
	}
	content, _ := cacheFiles(dir, f)
	if atomicfile.Write(content, b.Bytes()) == nil {
		addSource(path, f)
	}
}

// oldCacheName matches the cache files of kiln before 2026-11, one per .gz
// path (mnist-<16 hex digits>-<name>); tests with temporary copies of the
// files left many of them.
var oldCacheName = regexp.MustCompile(`^mnist-[0-9a-f]{16}-(train|t10k)-(images|labels)-idx[13]-ubyte$`)

// removeOldCache deletes the cache files of older kilns in dir.
func removeOldCache(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if oldCacheName.MatchString(e.Name()) {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}
