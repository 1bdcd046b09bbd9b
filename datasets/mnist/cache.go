package mnist

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kiln-ml/kiln/data"
	"github.com/kiln-ml/kiln/tensor"
)

// Gunzipping the 47 MB of training images takes ~0.35 s, most of a run's
// start-up once training is fast. After a file has passed both checksums,
// its decompressed bytes are kept in a cache directory, under a name derived
// from the .gz file's absolute path, size and modification time, so a changed
// or damaged .gz is never masked by the cache: it misses and is verified
// again. A cache hit is still checked against the SHA-256 of the official
// decompressed data. Any problem with the cache just falls back to the .gz.

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

// cachePath returns where the decompressed copy of the .gz at path lives,
// or "" when there is no usable cache.
func cachePath(path string, f mnistFile) string {
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
	abs, err := filepath.Abs(path)
	if err != nil {
		return ""
	}
	st, err := os.Stat(abs)
	if err != nil {
		return ""
	}
	id := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%d\x00%d", abs, st.Size(), st.ModTime().UnixNano())))
	return filepath.Join(dir, "mnist-"+hex.EncodeToString(id[:8])+"-"+f.name[:len(f.name)-3])
}

// loadCached returns the cached array for the .gz at path, if there is one
// whose bytes are the official data.
func loadCached(path string, f mnistFile) (*data.Array, bool) {
	cp := cachePath(path, f)
	if cp == "" {
		return nil, false
	}
	b, err := os.ReadFile(cp)
	if err != nil {
		return nil, false
	}
	sum := sha256.Sum256(b)
	if hex.EncodeToString(sum[:]) != rawSHA256[f.name] {
		os.Remove(cp)
		return nil, false
	}
	// The bytes are the official file (SHA-256 above), so its layout is
	// known: a 4-byte magic, one 4-byte size per axis, then the pixels.
	// Wrap them without copying.
	h := 4 + 4*len(f.shape)
	if len(b) != h+tensor.Size(f.shape) {
		return nil, false
	}
	a := data.NewUint8(b[h:], f.shape...)
	return a, true
}

// storeCached writes a verified array back in IDX form (the exact bytes of
// the decompressed official file), atomically; failures are ignored.
func storeCached(path string, f mnistFile, a *data.Array) {
	cp := cachePath(path, f)
	if cp == "" || os.MkdirAll(filepath.Dir(cp), 0o755) != nil {
		return
	}
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
	tmp, err := os.CreateTemp(filepath.Dir(cp), ".mnist-*")
	if err != nil {
		return
	}
	_, werr := tmp.Write(b.Bytes())
	cerr := tmp.Close()
	if werr != nil || cerr != nil || os.Rename(tmp.Name(), cp) != nil {
		os.Remove(tmp.Name())
	}
}
