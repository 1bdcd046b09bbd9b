package data

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

func mnistLike() map[string]*Array {
	return map[string]*Array{
		"x_train": {Shape: []int{2, 3, 3}, DType: Uint8, U8: []uint8{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17}},
		"y_train": {Shape: []int{2}, DType: Uint8, U8: []uint8{5, 0}},
		"x_test":  {Shape: []int{1, 3, 3}, DType: Uint8, U8: []uint8{100, 101, 102, 103, 104, 105, 106, 107, 108}},
		"y_test":  {Shape: []int{1}, DType: Int64, I64: []int64{7}},
	}
}

func TestReadNPZFixtures(t *testing.T) {
	want := mnistLike()
	for _, f := range []string{"stored.npz", "deflated.npz"} {
		t.Run(f, func(t *testing.T) {
			path := filepath.Join("testdata", f)
			z, err := ReadNPZ(path)
			if err != nil {
				t.Fatal(err)
			}
			if z.Path != path {
				t.Errorf("Path %q", z.Path)
			}
			if !reflect.DeepEqual(z.Keys, []string{"x_train", "y_train", "x_test", "y_test"}) {
				t.Errorf("Keys %v", z.Keys)
			}
			for k, w := range want {
				a, err := z.Get(k)
				if err != nil {
					t.Fatal(err)
				}
				if d := equalArrays(a, w); d != "" {
					t.Errorf("%s: %s", k, d)
				}
			}
			if a, err := z.Get("y_test.npy"); err != nil || a.I64[0] != 7 {
				t.Errorf("Get with .npy suffix: %v %v", a, err)
			}
			_, err = z.Get("x_val")
			mustContain(t, err, path, `"x_val"`, `"x_train", "y_train", "x_test", "y_test"`)
		})
	}
}

func TestNPZRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.npz")
	arrays := mnistLike()
	arrays["big"] = &Array{Shape: []int{500, 1000}, DType: Float32, F32: make([]float32, 500_000)}
	arrays["scalar"] = &Array{Shape: []int{}, DType: Bool, U8: []uint8{1}}
	keys := []string{"y_test", "x_train", "big", "scalar", "y_train", "x_test"}
	if err := WriteNPZ(path, keys, arrays); err != nil {
		t.Fatal(err)
	}
	z, err := ReadNPZ(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(z.Keys, keys) {
		t.Errorf("Keys %v, want %v", z.Keys, keys)
	}
	for k, w := range arrays {
		if d := equalArrays(z.Arrays[k], w); d != "" {
			t.Errorf("%s: %s", k, d)
		}
	}
	// nil keys: every array, sorted.
	if err := WriteNPZ(path, nil, mnistLike()); err != nil {
		t.Fatal(err)
	}
	z, err = ReadNPZ(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(z.Keys, []string{"x_test", "x_train", "y_test", "y_train"}) {
		t.Errorf("Keys %v", z.Keys)
	}
	// Empty archive.
	if err := WriteNPZ(path, nil, nil); err != nil {
		t.Fatal(err)
	}
	z, err = ReadNPZ(path)
	if err != nil || len(z.Keys) != 0 {
		t.Fatalf("empty archive: %v %v", z, err)
	}
	_, err = z.Get("x")
	mustContain(t, err, "holds no arrays")
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want 1", len(entries))
	}
}

func TestWriteNPZErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.npz")
	a := NewUint8([]uint8{1}, 1)
	tests := []struct {
		name   string
		keys   []string
		arrays map[string]*Array
		want   string
	}{
		{"missing", []string{"a", "b"}, map[string]*Array{"a": a}, `"b" has no array`},
		{"dup", []string{"a", "a"}, map[string]*Array{"a": a}, "listed twice"},
		{"extra", []string{"a"}, map[string]*Array{"a": a, "b": a}, `"b" is not listed`},
		{"empty key", []string{""}, map[string]*Array{"": a}, "empty"},
		{"dir key", []string{"a/"}, map[string]*Array{"a/": a}, "cannot be used"},
		{"bad array", []string{"a"}, map[string]*Array{"a": {Shape: []int{3}, DType: Uint8, U8: []uint8{1}}}, "bad.npz[a.npy]"},
		{"nil array", []string{"a"}, map[string]*Array{"a": nil}, "nil"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := WriteNPZ(path, tc.keys, tc.arrays)
			mustContain(t, err, tc.want, "bad.npz")
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("failed writes left %v", entries)
	}
	err := WriteNPZ(filepath.Join(dir, "nope", "x.npz"), nil, map[string]*Array{"a": a})
	mustContain(t, err, "x.npz", "cannot create")
}

// zipBytes builds a zip archive from name/content pairs.
func zipBytes(t testing.TB, method uint16, entries ...string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := 0; i+1 < len(entries); i += 2 {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: entries[i], Method: method})
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(entries[i+1]))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestReadNPZErrors(t *testing.T) {
	good := string(npyBytes("{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }", []byte{1, 2}))
	bad := string(npyBytes("{'descr': '|u1', 'fortran_order': True, 'shape': (2,), }", []byte{1, 2}))
	stored, err := os.ReadFile("testdata/stored.npz")
	if err != nil {
		t.Fatal(err)
	}
	corrupt := append([]byte(nil), stored...)
	// Flip a data byte of the first entry (x_train's last pixel): only the CRC notices.
	i := bytes.Index(corrupt, []byte{15, 16, 17})
	if i < 0 {
		t.Fatal("pixel bytes not found in stored.npz")
	}
	corrupt[i+2] = 99
	lie := string(npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776,), }", make([]byte, 100)))
	tests := []struct {
		name string
		in   []byte
		want []string
	}{
		{"not zip", []byte("hello"), []string{"not a valid .npz"}},
		{"npy", []byte(good), []string{"single-array .npy", "ReadNPY"}},
		{"empty", nil, []string{"not a valid .npz"}},
		{"truncated", stored[:len(stored)-30], []string{"not a valid .npz"}},
		{"crc", corrupt, []string{"x.npz[x_train.npy]", "corrupt", "checksum"}},
		{"bad entry", zipBytes(t, zip.Deflate, "a.npy", good, "b.npy", bad), []string{"x.npz[b.npy]", "Fortran"}},
		{"dup", zipBytes(t, zip.Store, "a.npy", good, "a.npy", good), []string{"two entries", `"a.npy"`}},
		{"lie stored", zipBytes(t, zip.Store, "a.npy", lie), []string{"x.npz[a.npy]", "truncated"}},
		{"lie deflated", zipBytes(t, zip.Deflate, "a.npy", lie), []string{"x.npz[a.npy]", "truncated"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := readNPZ(bytes.NewReader(tc.in), int64(len(tc.in)), "x.npz")
			runtime.ReadMemStats(&after)
			mustContain(t, err, append(tc.want, "x.npz")...)
			if d := after.TotalAlloc - before.TotalAlloc; d > 4<<20 {
				t.Errorf("allocated %d bytes", d)
			}
		})
	}
	_, err = ReadNPZ("testdata/missing.npz")
	mustContain(t, err, "testdata/missing.npz", "cannot open")
	_, err = ReadNPZ("testdata")
	mustContain(t, err, "testdata", "directory")
}

func TestReadNPZSkipsOtherEntries(t *testing.T) {
	good := string(npyBytes("{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }", []byte{1, 2}))
	in := zipBytes(t, zip.Deflate, "README.txt", "hi", "dir/", "", "dir/a.npy", good, "b.npy", good)
	z, err := readNPZ(bytes.NewReader(in), int64(len(in)), "x.npz")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(z.Keys, []string{"dir/a", "b"}) {
		t.Errorf("Keys %v", z.Keys)
	}
}

// FuzzReadNPZ fuzzes whole archives (mode 0) and, since mutations rarely
// keep a zip valid, also fuzzed .npy bytes wrapped in a valid archive as a
// stored (mode 1) or deflated (mode 2) entry.
func FuzzReadNPZ(f *testing.F) {
	for _, p := range []string{"testdata/stored.npz", "testdata/deflated.npz"} {
		raw, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw, uint8(0))
	}
	good := npyBytes("{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }", []byte{1, 0, 0, 0, 0, 0, 0, 0})
	f.Add(zipBytes(f, zip.Store, "a.npy", string(good), "b.txt", "x"), uint8(0))
	f.Add(zipBytes(f, zip.Deflate, "a.npy", string(good)), uint8(0))
	f.Add([]byte("PK\x05\x06"+strings.Repeat("\x00", 18)), uint8(0))
	f.Add(good, uint8(1))
	f.Add(good, uint8(2))
	f.Add(npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776,), }", nil), uint8(2))
	// One reused compressor: a new flate.Writer per input costs about a
	// megabyte, which makes the fuzzer crawl.
	fw, _ := flate.NewWriter(nil, flate.BestSpeed)
	var buf bytes.Buffer
	wrap := func(method uint16, in []byte) []byte {
		buf.Reset()
		zw := zip.NewWriter(&buf)
		zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
			fw.Reset(w)
			return fw, nil
		})
		w, err := zw.CreateHeader(&zip.FileHeader{Name: "a.npy", Method: method})
		if err != nil {
			panic(err)
		}
		w.Write(in)
		if err := zw.Close(); err != nil {
			panic(err)
		}
		return buf.Bytes()
	}
	f.Fuzz(func(t *testing.T, in []byte, mode uint8) {
		switch mode % 3 {
		case 1:
			in = wrap(zip.Store, in)
		case 2:
			in = wrap(zip.Deflate, in)
		}
		z, err := readNPZ(bytes.NewReader(in), int64(len(in)), "fuzz.npz")
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.npz") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if len(z.Keys) != len(z.Arrays) {
			t.Fatalf("%d keys, %d arrays", len(z.Keys), len(z.Arrays))
		}
		for _, k := range z.Keys {
			a, err := z.Get(k)
			if err != nil {
				t.Fatal(err)
			}
			if s := storageOK(a); s != "" {
				t.Fatal(s)
			}
		}
	})
}
