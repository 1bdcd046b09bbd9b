package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// equalArrays reports how a and b differ, or "" if they are equal (floats
// compared bit for bit, so NaNs compare equal to themselves).
func equalArrays(a, b *Array) string {
	if a == nil || b == nil {
		if a == b {
			return ""
		}
		return "one array is nil"
	}
	if a.DType != b.DType {
		return fmt.Sprintf("dtype %s != %s", a.DType, b.DType)
	}
	if ShapeString(a.Shape) != ShapeString(b.Shape) {
		return fmt.Sprintf("shape %s != %s", ShapeString(a.Shape), ShapeString(b.Shape))
	}
	if len(a.U8) != len(b.U8) || len(a.I64) != len(b.I64) || len(a.F32) != len(b.F32) || len(a.F64) != len(b.F64) {
		return fmt.Sprintf("storage lengths differ: %d/%d/%d/%d vs %d/%d/%d/%d", len(a.U8), len(a.I64), len(a.F32), len(a.F64), len(b.U8), len(b.I64), len(b.F32), len(b.F64))
	}
	for i := range a.U8 {
		if a.U8[i] != b.U8[i] {
			return fmt.Sprintf("U8[%d] %d != %d", i, a.U8[i], b.U8[i])
		}
	}
	for i := range a.I64 {
		if a.I64[i] != b.I64[i] {
			return fmt.Sprintf("I64[%d] %d != %d", i, a.I64[i], b.I64[i])
		}
	}
	for i := range a.F32 {
		if math.Float32bits(a.F32[i]) != math.Float32bits(b.F32[i]) {
			return fmt.Sprintf("F32[%d] %v != %v", i, a.F32[i], b.F32[i])
		}
	}
	for i := range a.F64 {
		if math.Float64bits(a.F64[i]) != math.Float64bits(b.F64[i]) {
			return fmt.Sprintf("F64[%d] %v != %v", i, a.F64[i], b.F64[i])
		}
	}
	return ""
}

// storageOK checks the invariant every reader promises: the slice chosen by
// DType is non-nil and holds exactly Len() elements, and the others are nil.
func storageOK(a *Array) string {
	n := 1
	for _, d := range a.Shape {
		if d < 0 {
			return "negative dimension"
		}
		n *= d
	}
	var have, others int
	var set bool
	switch a.DType {
	case Uint8, Bool:
		have, set, others = len(a.U8), a.U8 != nil, len(a.I64)+len(a.F32)+len(a.F64)
	case Int32, Int64:
		have, set, others = len(a.I64), a.I64 != nil, len(a.U8)+len(a.F32)+len(a.F64)
	case Float32:
		have, set, others = len(a.F32), a.F32 != nil, len(a.U8)+len(a.I64)+len(a.F64)
	case Float64:
		have, set, others = len(a.F64), a.F64 != nil, len(a.U8)+len(a.I64)+len(a.F32)
	default:
		return "unknown dtype " + string(a.DType)
	}
	if !set || have != n || others != 0 {
		return fmt.Sprintf("dtype %s shape %s: storage has %d (set=%v), others %d", a.DType, ShapeString(a.Shape), have, set, others)
	}
	return ""
}

// onlyReader hides every method but Read, so the decoder cannot learn the size.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// npyBytes builds a .npy file with the given header dict and data, version 1.0.
func npyBytes(dict string, data []byte) []byte {
	h := dict + "\n"
	b := append([]byte(npyMagic), 1, 0, byte(len(h)), byte(len(h)>>8))
	b = append(b, h...)
	return append(b, data...)
}

func mustContain(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one containing %q", want)
	}
	msg := err.Error()
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q does not contain %q", msg, w)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("error %q spans several lines; want one paragraph", msg)
	}
}

func TestReadNPYFixtures(t *testing.T) {
	i64 := func(shape []int, v ...int64) *Array { return &Array{Shape: shape, DType: Int64, I64: v} }
	i32 := func(shape []int, v ...int64) *Array { return &Array{Shape: shape, DType: Int32, I64: v} }
	f32 := &Array{Shape: []int{2, 3}, DType: Float32, F32: []float32{-1.5, 0, 0.25, 3.5, 1e30, -1e-30}}
	f64 := &Array{Shape: []int{4}, DType: Float64, F64: []float64{-1.5, 0, 0.1, 1e300}}
	tests := []struct {
		file string
		want *Array
	}{
		{"u1.npy", &Array{Shape: []int{2, 3}, DType: Uint8, U8: []uint8{0, 1, 2, 253, 254, 255}}},
		{"b1.npy", &Array{Shape: []int{6}, DType: Bool, U8: []uint8{1, 0, 1, 1, 0, 0}}},
		{"i1.npy", i32([]int{5}, -128, -1, 0, 1, 127)},
		{"i2le.npy", i32([]int{5}, -32768, -1, 0, 1, 32767)},
		{"i2be.npy", i32([]int{5}, -32768, -1, 0, 1, 32767)},
		{"u2le.npy", i32([]int{3}, 0, 1, 65535)},
		{"u2be.npy", i32([]int{3}, 0, 1, 65535)},
		{"i4le.npy", i32([]int{2, 3}, -2147483648, -1, 0, 1, 2, 2147483647)},
		{"i4be.npy", i32([]int{2, 3}, -2147483648, -1, 0, 1, 2, 2147483647)},
		{"u4le.npy", i64([]int{3}, 0, 1, 4294967295)},
		{"u4be.npy", i64([]int{3}, 0, 1, 4294967295)},
		{"i8le.npy", i64([]int{4}, math.MinInt64, -1, 0, math.MaxInt64)},
		{"i8be.npy", i64([]int{4}, math.MinInt64, -1, 0, math.MaxInt64)},
		{"u8le.npy", i64([]int{3}, 0, 1, math.MaxInt64)},
		{"u8be.npy", i64([]int{3}, 0, 1, math.MaxInt64)},
		{"f4le.npy", f32},
		{"f4be.npy", f32},
		{"f8le.npy", f64},
		{"f8be.npy", f64},
		{"scalar.npy", &Array{Shape: []int{}, DType: Float64, F64: []float64{2.5}}},
		{"empty.npy", &Array{Shape: []int{0, 3}, DType: Float32, F32: []float32{}}},
		{"v2.npy", &Array{Shape: []int{2, 3}, DType: Float32, F32: []float32{0, 1, 2, 3, 4, 5}}},
		{"v3.npy", &Array{Shape: []int{2, 3}, DType: Float32, F32: []float32{0, 1, 2, 3, 4, 5}}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join("testdata", tc.file)
			got, err := ReadNPY(path)
			if err != nil {
				t.Fatal(err)
			}
			if d := equalArrays(got, tc.want); d != "" {
				t.Fatalf("ReadNPY: %s", d)
			}
			if s := storageOK(got); s != "" {
				t.Fatal(s)
			}
			// The same through DecodeNPY without a size.
			raw, _ := os.ReadFile(path)
			got2, err := DecodeNPY(onlyReader{bytes.NewReader(raw)}, -1, tc.file)
			if err != nil {
				t.Fatal(err)
			}
			if d := equalArrays(got2, tc.want); d != "" {
				t.Fatalf("DecodeNPY(size -1): %s", d)
			}
		})
	}
}

func TestReadNPYRejectsFixtures(t *testing.T) {
	tests := []struct {
		file string
		want []string
	}{
		{"fortran.npy", []string{"fortran.npy", "Fortran", "ascontiguousarray"}},
		{"object.npy", []string{"object.npy", "Python objects", `"|O"`}},
		{"structured.npy", []string{"structured.npy", "structured"}},
		{"complex.npy", []string{"complex.npy", "unsupported dtype", "<c16", "astype"}},
		{"f2.npy", []string{"f2.npy", "unsupported dtype", "<f2"}},
		{"unicode.npy", []string{"unicode.npy", "strings", "<U2"}},
		{"u8big.npy", []string{"u8big.npy", "element 1", "int64 maximum"}},
		{"stored.npz", []string{"stored.npz", "zip archive", "ReadNPZ"}},
		{"gen.py", []string{"gen.py", "not a NumPy .npy file"}},
		{"missing.npy", []string{"missing.npy", "cannot open", "no such file"}},
		{".", []string{"directory"}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			_, err := ReadNPY(filepath.Join("testdata", tc.file))
			mustContain(t, err, tc.want...)
		})
	}
}

func TestNPYHeaderVariants(t *testing.T) {
	f4 := []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0x40} // 1, 2 little-endian
	want := &Array{Shape: []int{2}, DType: Float32, F32: []float32{1, 2}}
	ok := []string{
		"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }",
		"{'shape': (2,), 'descr': '<f4', 'fortran_order': False}",
		"{'fortran_order':False,'shape':(2,),'descr':'<f4'}",
		`{"descr": "<f4", "fortran_order": False, "shape": (2,)}`,
		"{ 'descr' : '<f4' ,\t'fortran_order' : False , 'shape' : ( 2 , ) , }   ",
		"{'descr': '=f4', 'fortran_order': False, 'shape': (2L,), }",
		"{'descr': 'f4', 'fortran_order': False, 'shape': (2,), }",
		"{u'descr': u'<f4', 'fortran_order': False, 'shape': (+2,), }",
		"{'descr': '<f4', 'fortran_order': False, 'shape': ((2,)), }",
	}
	for _, h := range ok {
		a, err := DecodeNPY(bytes.NewReader(npyBytes(h, f4)), -1, "h.npy")
		if err != nil {
			t.Errorf("header %s: %v", h, err)
			continue
		}
		if d := equalArrays(a, want); d != "" {
			t.Errorf("header %s: %s", h, d)
		}
	}
	bad := []struct {
		header string
		want   []string
	}{
		{"{'descr': '<f4', 'fortran_order': False, 'shape': (2), }", []string{"'shape' is 2, not a tuple"}},
		{"{'descr': '<f4', 'fortran_order': False, 'shape': [2], }", []string{"not a tuple"}},
		{"{'descr': '<f4', 'fortran_order': False}", []string{"lacks 'shape'"}},
		{"{}", []string{"lacks 'descr' and 'fortran_order' and 'shape'"}},
		{"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", []string{"unexpected key \"x\""}},
		{"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", []string{"appears twice"}},
		{"{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}", []string{"'fortran_order' is 0"}},
		{"{'descr': '<f4', 'fortran_order': False, 'shape': (-2,)}", []string{"negative dimension -2"}},
		{"{'descr': '<f4', 'fortran_order': False, 'shape': (True,)}", []string{"non-integer dimension True"}},
		{"{'descr': '<f4', 'fortran_order': False, 'shape': (2.0,)}", []string{"not a valid Python dict"}},
		{"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}", []string{"out of range"}},
		{"{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296)}", []string{"too many elements"}},
		{"{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4294967296, 4294967296)}", []string{"too many elements"}},
		{"{'descr': 5, 'fortran_order': False, 'shape': (2,)}", []string{"structured"}},
		{"{'descr': '', 'fortran_order': False, 'shape': (2,)}", []string{"empty dtype"}},
		{"{'descr': '<x9', 'fortran_order': False, 'shape': (2,)}", []string{"unsupported dtype \"<x9\""}},
		{"{'descr': '<f4', 'fortran_order': False, 'shape': (2,)", []string{"not a valid Python dict"}},
		{"{'descr': '<f4, 'fortran_order': False, 'shape': (2,)}", []string{"not a valid Python dict"}},
		{"['descr']", []string{"not a dict"}},
		{"{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} x", []string{"not a valid Python dict", "after the literal"}},
		{"{1: 2}", []string{"not a string"}},
		{strings.Repeat("(", 100) + strings.Repeat(")", 100), []string{"nested"}},
		{"{'descr': '<f4', 'fortran_order': Falsey, 'shape': (2,)}", []string{"not a valid Python dict"}},
		{"{'descr': '<f4', 'fortran_order': False, 'shape': (" + strings.Repeat("1,", 65) + ")}", []string{"65 dimensions"}},
	}
	for _, tc := range bad {
		_, err := DecodeNPY(bytes.NewReader(npyBytes(tc.header, f4)), -1, "h.npy")
		mustContain(t, err, append(tc.want, "h.npy")...)
	}
}

func TestDecodeNPYErrors(t *testing.T) {
	good := npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0x40})
	v4 := append([]byte(nil), good...)
	v4[6] = 4
	v11 := append([]byte(nil), good...)
	v11[7] = 1
	hugeHeader := append([]byte(npyMagic), 2, 0, 0xff, 0xff, 0xff, 0x7f)
	boolBad := npyBytes("{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }", []byte{1, 0, 2})
	tests := []struct {
		name string
		in   []byte
		want []string
	}{
		{"empty", nil, []string{"empty"}},
		{"zip", []byte("PK\x03\x04rest"), []string{"zip archive"}},
		{"gzip", []byte{0x1f, 0x8b, 8, 0}, []string{"gzip"}},
		{"short magic", []byte("\x93NUM"), []string{"not a NumPy"}},
		{"no version", []byte("\x93NUMPY"), []string{"truncated", "version"}},
		{"no header length", []byte("\x93NUMPY\x01\x00\x10"), []string{"truncated", "header length"}},
		{"v4", v4, []string{"version 4.0"}},
		{"v1.1", v11, []string{"version 1.1"}},
		{"huge header", hugeHeader, []string{"header claims"}},
		{"header cut", good[:40], []string{"truncated", "header"}},
		{"data cut", good[:len(good)-1], []string{"truncated", "needs 8 data bytes"}},
		{"trailing", append(append([]byte(nil), good...), 0), []string{"unexpected bytes"}},
		{"bool 2", boolBad, []string{"element 2 of the bool array"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, sized := range []bool{true, false} {
				var err error
				if sized {
					_, err = DecodeNPY(bytes.NewReader(tc.in), int64(len(tc.in)), "x.npy")
				} else {
					_, err = DecodeNPY(onlyReader{bytes.NewReader(tc.in)}, -1, "x.npy")
				}
				mustContain(t, err, append(tc.want, "x.npy")...)
			}
		})
	}
}

// Every prefix of a valid file is an error, with and without a known size,
// and so is every file with bytes appended.
func TestDecodeNPYTruncations(t *testing.T) {
	raw, err := os.ReadFile("testdata/f8le.npy")
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; n < len(raw); n++ {
		if _, err := DecodeNPY(bytes.NewReader(raw[:n]), int64(n), "t.npy"); err == nil {
			t.Fatalf("prefix %d/%d with size: no error", n, len(raw))
		}
		if _, err := DecodeNPY(onlyReader{bytes.NewReader(raw[:n])}, -1, "t.npy"); err == nil {
			t.Fatalf("prefix %d/%d without size: no error", n, len(raw))
		}
	}
	if _, err := DecodeNPY(bytes.NewReader(raw), int64(len(raw)), "t.npy"); err != nil {
		t.Fatal(err)
	}
	// A size smaller than the stream: only size bytes count.
	_, err = DecodeNPY(bytes.NewReader(append(raw, 1, 2, 3)), int64(len(raw)), "t.npy")
	if err != nil {
		t.Fatalf("extra bytes beyond size should be ignored: %v", err)
	}
	_, err = DecodeNPY(bytes.NewReader(raw), int64(len(raw)+5), "t.npy")
	mustContain(t, err, "unexpected bytes", "t.npy")
}

// A header claiming far more data than there is must not make the reader
// allocate what it claims.
func TestDecodeNPYLyingHeaderDoesNotAllocate(t *testing.T) {
	in := npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776,), }", make([]byte, 64))
	for _, sized := range []bool{true, false} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		var err error
		if sized {
			_, err = DecodeNPY(bytes.NewReader(in), int64(len(in)), "lie.npy")
		} else {
			_, err = DecodeNPY(onlyReader{bytes.NewReader(in)}, -1, "lie.npy")
		}
		runtime.ReadMemStats(&after)
		mustContain(t, err, "truncated", "lie.npy")
		if d := after.TotalAlloc - before.TotalAlloc; d > 4<<20 {
			t.Errorf("sized=%v: allocated %d bytes for a lying header", sized, d)
		}
	}
}

func TestNPYRoundTrip(t *testing.T) {
	big := make([]float32, 700_000) // several read chunks
	for i := range big {
		big[i] = float32(i) * 0.5
	}
	arrays := map[string]*Array{
		"uint8":      {Shape: []int{2, 2}, DType: Uint8, U8: []uint8{0, 7, 200, 255}},
		"bool":       {Shape: []int{3}, DType: Bool, U8: []uint8{1, 0, 1}},
		"int32":      {Shape: []int{2}, DType: Int32, I64: []int64{math.MinInt32, math.MaxInt32}},
		"int64":      {Shape: []int{3, 1}, DType: Int64, I64: []int64{math.MinInt64, 0, math.MaxInt64}},
		"float32":    {Shape: []int{1, 2, 2}, DType: Float32, F32: []float32{float32(math.Inf(-1)), float32(math.NaN()), -0, 1e-40}},
		"float64":    {Shape: []int{2}, DType: Float64, F64: []float64{math.Pi, -math.MaxFloat64}},
		"scalar":     {Shape: []int{}, DType: Int64, I64: []int64{42}},
		"empty":      {Shape: []int{0}, DType: Float64, F64: []float64{}},
		"empty2d":    {Shape: []int{5, 0}, DType: Uint8, U8: nil},
		"big":        {Shape: []int{700, 1000}, DType: Float32, F32: big},
		"bigint":     {Shape: []int{300_000}, DType: Int64, I64: make([]int64, 300_000)},
		"bigbytes":   {Shape: []int{3_000_000}, DType: Uint8, U8: bytes.Repeat([]byte{9}, 3_000_000)},
		"big4d":      {Shape: []int{1, 1, 1, 1}, DType: Float32, F32: []float32{3}},
		"manyzeroes": {Shape: []int{0, 0, 0}, DType: Bool, U8: []uint8{}},
	}
	dir := t.TempDir()
	for name, a := range arrays {
		t.Run(name, func(t *testing.T) {
			want := a
			if a.U8 == nil && (a.DType == Uint8 || a.DType == Bool) {
				want = &Array{Shape: a.Shape, DType: a.DType, U8: []uint8{}}
			}
			var buf bytes.Buffer
			if err := EncodeNPY(&buf, a); err != nil {
				t.Fatal(err)
			}
			raw := buf.Bytes()
			if raw[6] != 1 || raw[7] != 0 {
				t.Errorf("version %d.%d, want 1.0", raw[6], raw[7])
			}
			hl := int(binary.LittleEndian.Uint16(raw[8:10]))
			if (10+hl)%64 != 0 || raw[10+hl-1] != '\n' {
				t.Errorf("header length %d not padded to 64 or not ended by a newline", hl)
			}
			got, err := DecodeNPY(bytes.NewReader(raw), int64(len(raw)), name)
			if err != nil {
				t.Fatal(err)
			}
			if d := equalArrays(got, want); d != "" {
				t.Fatal(d)
			}
			if s := storageOK(got); s != "" {
				t.Fatal(s)
			}
			got, err = DecodeNPY(onlyReader{bytes.NewReader(raw)}, -1, name)
			if err != nil {
				t.Fatal(err)
			}
			if d := equalArrays(got, want); d != "" {
				t.Fatal(d)
			}
			path := filepath.Join(dir, name+".npy")
			if err := WriteNPY(path, a); err != nil {
				t.Fatal(err)
			}
			got, err = ReadNPY(path)
			if err != nil {
				t.Fatal(err)
			}
			if d := equalArrays(got, want); d != "" {
				t.Fatal(d)
			}
		})
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

// The fixtures NumPy wrote are reproduced byte for byte except for NumPy's
// extra header padding, so the data part and the dict must agree.
func TestEncodeNPYMatchesNumPyData(t *testing.T) {
	for _, f := range []string{"u1.npy", "b1.npy", "i4le.npy", "i8le.npy", "f4le.npy", "f8le.npy", "scalar.npy", "empty.npy"} {
		raw, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		a, err := ReadNPY(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := EncodeNPY(&buf, a); err != nil {
			t.Fatal(err)
		}
		n := a.Len() * map[DType]int{Uint8: 1, Bool: 1, Int32: 4, Int64: 8, Float32: 4, Float64: 8}[a.DType]
		if !bytes.Equal(raw[len(raw)-n:], buf.Bytes()[buf.Len()-n:]) {
			t.Errorf("%s: data bytes differ from NumPy's", f)
		}
		hl := int(binary.LittleEndian.Uint16(raw[8:10]))
		ourHL := int(binary.LittleEndian.Uint16(buf.Bytes()[8:10]))
		if strings.TrimSpace(string(raw[10:10+hl])) != strings.TrimSpace(string(buf.Bytes()[10:10+ourHL])) {
			t.Errorf("%s: header %q, NumPy's %q", f, buf.Bytes()[10:10+ourHL], raw[10:10+hl])
		}
	}
}

func TestNPYHeaderVersion2(t *testing.T) {
	// With at most 64 dimensions a real header never exceeds 65535 bytes, so
	// check the version switch on the header builder directly.
	shape := make([]int, 30000)
	for i := range shape {
		shape[i] = 1
	}
	pre, dict := npyHeader("<f4", shape)
	if pre[6] != 2 || pre[7] != 0 {
		t.Fatalf("version %d.%d, want 2.0", pre[6], pre[7])
	}
	hl := int(binary.LittleEndian.Uint32(pre[8:12]))
	if hl != len(dict) || (12+hl)%64 != 0 || !strings.HasSuffix(dict, "\n") {
		t.Fatalf("bad v2 header: length %d, dict %d bytes", hl, len(dict))
	}
	pre, dict = npyHeader("<f4", []int{3})
	if pre[6] != 1 || (10+len(dict))%64 != 0 {
		t.Fatalf("small header: version %d, %d bytes", pre[6], len(dict))
	}
}

func TestEncodeNPYErrors(t *testing.T) {
	tests := []struct {
		name string
		a    *Array
		want string
	}{
		{"nil", nil, "nil"},
		{"dtype", &Array{Shape: []int{1}, DType: "complex64"}, "unknown dtype"},
		{"short", &Array{Shape: []int{2, 2}, DType: Float32, F32: []float32{1}}, "needs 4 values in F32 but has 1"},
		{"wrong slice", &Array{Shape: []int{1}, DType: Float32, F64: []float64{1}}, "needs 1 values in F32 but has 0"},
		{"negative", &Array{Shape: []int{-1}, DType: Float32}, "negative"},
		{"overflow", &Array{Shape: []int{1 << 40, 1 << 40}, DType: Float32}, "too large"},
		{"int32 range", &Array{Shape: []int{1}, DType: Int32, I64: []int64{1 << 40}}, "outside the int32 range"},
		{"bool", &Array{Shape: []int{2}, DType: Bool, U8: []uint8{1, 2}}, "element 1 is 2"},
		{"ndim", &Array{Shape: make([]int, 65), DType: Uint8, U8: []uint8{}}, "65 dimensions"},
	}
	dir := t.TempDir()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := EncodeNPY(io.Discard, tc.a)
			mustContain(t, err, tc.want)
			path := filepath.Join(dir, tc.name+".npy")
			err = WriteNPY(path, tc.a)
			mustContain(t, err, tc.want, path)
			if _, err := os.Stat(path); !os.IsNotExist(err) {
				t.Errorf("WriteNPY left %s after failing", path)
			}
		})
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("failed writes left files: %v", entries)
	}
}

func TestWriteNPYAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.npy")
	good := NewFloat32([]float32{1, 2}, 2)
	if err := WriteNPY(path, good); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	// A failing write leaves the old file untouched.
	if err := WriteNPY(path, &Array{Shape: []int{2}, DType: Int32, I64: []int64{0, 1 << 40}}); err == nil {
		t.Fatal("want an error")
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Fatal("failed write changed the existing file")
	}
	// Overwriting works.
	if err := WriteNPY(path, NewUint8([]uint8{3}, 1)); err != nil {
		t.Fatal(err)
	}
	a, err := ReadNPY(path)
	if err != nil || a.DType != Uint8 {
		t.Fatalf("after overwrite: %v %v", a, err)
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", st.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want just a.npy", len(entries))
	}
	err = WriteNPY(filepath.Join(dir, "no", "such", "dir.npy"), good)
	mustContain(t, err, "dir.npy", "cannot create")
	err = WriteNPY(dir, good)
	mustContain(t, err, dir)
}

func FuzzDecodeNPY(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.npy")
	for _, p := range files {
		raw, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Add(npyBytes("{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }", []byte{1, 0, 1}))
	f.Add(npyBytes("{'descr': '>u2', 'fortran_order': False, 'shape': (1, 1), }", []byte{1, 0}))
	f.Add(npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776,), }", nil))
	f.Add([]byte("\x93NUMPY\x02\x00\x05\x00\x00\x00{}  \n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		a, err := DecodeNPY(bytes.NewReader(in), int64(len(in)), "fuzz.npy")
		b, err2 := DecodeNPY(onlyReader{bytes.NewReader(in)}, -1, "fuzz.npy")
		if (err == nil) != (err2 == nil) {
			t.Fatalf("sized and unsized disagree: %v vs %v", err, err2)
		}
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.npy") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if d := equalArrays(a, b); d != "" {
			t.Fatalf("sized and unsized differ: %s", d)
		}
		if s := storageOK(a); s != "" {
			t.Fatal(s)
		}
		a.RowLen() // must not overflow into a panic elsewhere
		var buf bytes.Buffer
		if err := EncodeNPY(&buf, a); err != nil {
			t.Fatalf("re-encoding a decoded array: %v", err)
		}
		c, err := DecodeNPY(bytes.NewReader(buf.Bytes()), int64(buf.Len()), "again.npy")
		if err != nil {
			t.Fatalf("decoding a re-encoded array: %v", err)
		}
		if d := equalArrays(a, c); d != "" {
			t.Fatalf("round trip: %s", d)
		}
	})
}

// A compressed stream's bad checksum, reported only at its end, is an error.
func TestDecodeNPYChecksumAtEnd(t *testing.T) {
	raw, err := os.ReadFile("testdata/f4le.npy")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(raw)
	zw.Close()
	gz := buf.Bytes()
	gz[len(gz)-8] ^= 1 // CRC-32 in the gzip trailer
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	_, err = DecodeNPY(zr, -1, "z.npy")
	mustContain(t, err, "z.npy", "checksum")
}
