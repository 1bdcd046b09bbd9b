package data

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
)

// The .npy format: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
//
//	"\x93NUMPY" major minor
//	header length: uint16 LE (version 1.0) or uint32 LE (2.0, 3.0)
//	header: a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
//	        padded with spaces and ended by '\n'; Latin-1 (1.0, 2.0) or UTF-8 (3.0)
//	data: the elements in C order

const npyMagic = "\x93NUMPY"

const (
	// maxNPYHeader caps the header length we are willing to read. NumPy itself
	// refuses headers over 10000 bytes by default; a real header is ~128 bytes.
	maxNPYHeader = 1 << 20
	// maxNDim is NumPy's limit on the number of dimensions (NPY_MAXDIMS).
	maxNDim = 64
	// unknownSizePrealloc is how many bytes of element storage we allocate
	// before any data arrives when the total size is not known; past that the
	// storage grows only as bytes are actually read.
	unknownSizePrealloc = 64 << 10
	// readChunk is the largest raw buffer elements are read through.
	readChunk = 256 << 10
)

// npyType describes one element type of the .npy format that kiln reads.
type npyType struct {
	kind     byte // 'b' bool, 'u' unsigned, 'i' signed, 'f' float
	size     int  // bytes per element
	bigEnd   bool // byte order of multi-byte elements
	dtype    DType
	numpyStr string // NumPy's name, for messages
}

func (t npyType) order() binary.ByteOrder {
	if t.bigEnd {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

// ReadNPY reads a NumPy .npy file (format version 1.0, 2.0 or 3.0).
//
// Element types map to kiln's as follows: u1 → Uint8, b1 → Bool (0/1 in U8),
// i1, i2, u2, i4 → Int32 and i8, u4, u8 → Int64 (all in I64; u8 values must
// fit in int64), f4 → Float32, f8 → Float64. Both byte orders are accepted;
// '=' (native) and '|' are read as little-endian.
// Fortran-order, object, string, complex and structured arrays are rejected,
// and so is a file whose size does not match its header exactly.
func ReadNPY(path string) (*Array, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: cannot open the .npy file: %v; check the path", path, unwrapPathError(err))
	}
	defer f.Close()
	size := int64(-1)
	if st, err := f.Stat(); err == nil {
		if st.IsDir() {
			return nil, fmt.Errorf("%s is a directory, not a .npy file; give the path of the file itself", path)
		}
		if st.Mode().IsRegular() {
			size = st.Size()
		}
	}
	return DecodeNPY(bufio.NewReaderSize(f, 1<<16), size, path)
}

// DecodeNPY reads one .npy array from r. size is the exact number of bytes r
// holds (header included), or -1 if unknown; when it is known the data must
// fill it exactly, and when it is not, r must end right after the data.
// name (usually the file name) is used in error messages. See ReadNPY for the
// accepted element types.
func DecodeNPY(r io.Reader, size int64, name string) (*Array, error) {
	prealloc := int64(unknownSizePrealloc)
	if size >= 0 {
		prealloc = size
	}
	return decodeNPY(r, size, name, prealloc)
}

// decodeNPY is DecodeNPY with a cap on how many bytes of element storage may
// be allocated before the data has actually been read (prealloc); beyond it
// the storage grows as data arrives, so a lying header costs nothing.
func decodeNPY(r io.Reader, size int64, name string, prealloc int64) (*Array, error) {
	if size >= 0 {
		r = io.LimitReader(r, size)
	}
	var pre [10]byte
	n, err := io.ReadFull(r, pre[:8])
	if err != nil && n == 0 {
		return nil, fmt.Errorf("%s: the file is empty, not a NumPy .npy file; save arrays with numpy.save", name)
	}
	if n < 6 || string(pre[:6]) != npyMagic {
		return nil, fmt.Errorf("%s: not a NumPy .npy file: %s; save arrays with numpy.save (or use ReadNPZ/ReadCSV for .npz/.csv files)", name, describeMagic(pre[:n]))
	}
	if n < 8 {
		return nil, fmt.Errorf("%s: truncated .npy file: it ends inside the format version bytes; the file is damaged, save it again", name)
	}
	major, minor := pre[6], pre[7]
	var hlen int64
	var prefix int64
	switch major {
	case 1:
		if _, err := io.ReadFull(r, pre[8:10]); err != nil {
			return nil, fmt.Errorf("%s: truncated .npy file: it ends inside the header length; the file is damaged, save it again", name)
		}
		hlen = int64(binary.LittleEndian.Uint16(pre[8:10]))
		prefix = 10
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("%s: truncated .npy file: it ends inside the header length; the file is damaged, save it again", name)
		}
		hlen = int64(binary.LittleEndian.Uint32(b[:]))
		prefix = 12
	default:
		return nil, fmt.Errorf("%s: unsupported .npy format version %d.%d; kiln reads versions 1.0, 2.0 and 3.0: save the array again with numpy.save", name, major, minor)
	}
	if minor != 0 {
		return nil, fmt.Errorf("%s: unsupported .npy format version %d.%d; kiln reads versions 1.0, 2.0 and 3.0: save the array again with numpy.save", name, major, minor)
	}
	if hlen > maxNPYHeader {
		return nil, fmt.Errorf("%s: the .npy header claims to be %d bytes long, more than the %d kiln accepts; the file is damaged or not a plain array: save it again with numpy.save", name, hlen, maxNPYHeader)
	}
	if size >= 0 && prefix+hlen > size {
		return nil, fmt.Errorf("%s: truncated .npy file: the header claims %d bytes but the file has only %d after the %d-byte prefix; the file is damaged, save it again", name, hlen, size-prefix, prefix)
	}
	hbuf, err := io.ReadAll(io.LimitReader(r, hlen))
	if err != nil {
		return nil, fmt.Errorf("%s: reading the .npy header: %w", name, err)
	}
	if int64(len(hbuf)) < hlen {
		return nil, fmt.Errorf("%s: truncated .npy file: it ends inside the %d-byte header (after %d bytes); the file is damaged, save it again", name, hlen, len(hbuf))
	}
	var header string
	if major == 3 {
		header = string(hbuf)
	} else {
		header = latin1(hbuf)
	}
	typ, shape, count, err := parseNPYHeader(header, name)
	if err != nil {
		return nil, err
	}
	need := int64(count) * int64(typ.size) // parseNPYHeader guarantees no overflow
	if size >= 0 {
		have := size - prefix - hlen
		if have < need {
			return nil, fmt.Errorf("%s: truncated .npy file: shape %s of %s needs %d data bytes but only %d follow the header; the file is damaged or was cut short, save it again", name, ShapeString(shape), typ.numpyStr, need, have)
		}
		if have > need {
			return nil, fmt.Errorf("%s: %d unexpected bytes after the data of shape %s of %s; the header does not match the data: the file is damaged, save it again with numpy.save", name, have-need, ShapeString(shape), typ.numpyStr)
		}
	}
	maxElems := count
	if p := prealloc / int64(typ.size); p < int64(maxElems) {
		maxElems = int(max(p, 0))
	}
	a := &Array{Shape: shape, DType: typ.dtype}
	var got int64
	var bad int
	switch typ.dtype {
	case Uint8, Bool:
		a.U8, got, bad, err = readElems(r, count, typ.size, maxElems, byteConv(typ))
	case Int32, Int64:
		a.I64, got, bad, err = readElems(r, count, typ.size, maxElems, intConv(typ))
	case Float32:
		a.F32, got, bad, err = readElems(r, count, typ.size, maxElems, f32Conv(typ))
	case Float64:
		a.F64, got, bad, err = readElems(r, count, typ.size, maxElems, f64Conv(typ))
	}
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: truncated .npy file: shape %s of %s needs %d data bytes but the data ends after %d; the file is damaged or was cut short, save it again", name, ShapeString(shape), typ.numpyStr, need, got)
		}
		return nil, fmt.Errorf("%s: reading the .npy data: %w", name, err)
	}
	if bad >= 0 {
		if typ.kind == 'b' {
			return nil, fmt.Errorf("%s: element %d of the bool array is not 0 or 1; the file is damaged: save it again with numpy.save", name, bad)
		}
		return nil, fmt.Errorf("%s: element %d of the uint64 array is larger than the int64 maximum %d; convert the array to a smaller type before saving", name, bad, int64(math.MaxInt64))
	}
	if size < 0 {
		var one [1]byte
		k, err := io.ReadFull(r, one[:])
		if k > 0 {
			return nil, fmt.Errorf("%s: unexpected bytes after the data of shape %s of %s; the header does not match the data: the file is damaged, save it again with numpy.save", name, ShapeString(shape), typ.numpyStr)
		}
		if err != nil && err != io.EOF {
			// A compressed stream reports a bad checksum only at its end.
			return nil, fmt.Errorf("%s: reading the end of the .npy data: %w; the file is damaged, save it again", name, err)
		}
	}
	return a, nil
}

// readElems reads count elements of itemSize bytes, converting them with
// conv. At most maxElems elements are allocated before data arrives; beyond
// that, storage (and the read buffer, which starts small) grows with the data
// actually read, so memory stays within about twice the bytes the reader
// really delivered. It returns the bytes read, and the index of the first
// element conv rejected (or -1).
func readElems[T any](r io.Reader, count, itemSize, maxElems int, conv func(dst []T, raw []byte) int) ([]T, int64, int, error) {
	dst := make([]T, 0, min(count, maxElems))
	step := max(4096/itemSize, 1)
	maxStep := max(readChunk/itemSize, 1)
	var raw []byte
	var got int64
	for len(dst) < count {
		k := min(count-len(dst), step)
		if len(raw) < k*itemSize {
			raw = make([]byte, k*itemSize)
		}
		m, err := io.ReadFull(r, raw[:k*itemSize])
		got += int64(m)
		if err != nil {
			return nil, got, -1, err
		}
		lo := len(dst)
		if cap(dst) < lo+k {
			grown := make([]T, lo, min(count, max(2*cap(dst), lo+k)))
			copy(grown, dst)
			dst = grown
		}
		dst = dst[:lo+k]
		if bad := conv(dst[lo:], raw[:k*itemSize]); bad >= 0 {
			return nil, got, lo + bad, nil
		}
		step = min(2*step, maxStep)
	}
	return dst, got, -1, nil
}

// ReadElements reads count elements of itemSize bytes from r, converting
// each chunk of raw bytes with conv. A count claimed by a file header is not
// trusted: at most maxElems elements are allocated before data arrives, and
// storage grows only with the bytes actually read. It returns the elements
// and the number of bytes read. The NPY and IDX readers share it.
func ReadElements[T any](r io.Reader, count, itemSize, maxElems int, conv func(dst []T, raw []byte)) ([]T, int64, error) {
	out, got, _, err := readElems(r, count, itemSize, maxElems, func(dst []T, raw []byte) int { conv(dst, raw); return -1 })
	return out, got, err
}

func byteConv(t npyType) func(dst []uint8, raw []byte) int {
	if t.kind == 'b' {
		return func(dst []uint8, raw []byte) int {
			for i, v := range raw {
				if v > 1 {
					return i
				}
				dst[i] = v
			}
			return -1
		}
	}
	return func(dst []uint8, raw []byte) int { copy(dst, raw); return -1 }
}

func intConv(t npyType) func(dst []int64, raw []byte) int {
	o := t.order()
	switch {
	case t.kind == 'i' && t.size == 1:
		return func(dst []int64, raw []byte) int {
			for i, v := range raw {
				dst[i] = int64(int8(v))
			}
			return -1
		}
	case t.kind == 'i' && t.size == 2:
		return func(dst []int64, raw []byte) int {
			for i := range dst {
				dst[i] = int64(int16(o.Uint16(raw[2*i:])))
			}
			return -1
		}
	case t.kind == 'u' && t.size == 2:
		return func(dst []int64, raw []byte) int {
			for i := range dst {
				dst[i] = int64(o.Uint16(raw[2*i:]))
			}
			return -1
		}
	case t.kind == 'i' && t.size == 4:
		return func(dst []int64, raw []byte) int {
			for i := range dst {
				dst[i] = int64(int32(o.Uint32(raw[4*i:])))
			}
			return -1
		}
	case t.kind == 'u' && t.size == 4:
		return func(dst []int64, raw []byte) int {
			for i := range dst {
				dst[i] = int64(o.Uint32(raw[4*i:]))
			}
			return -1
		}
	case t.kind == 'i' && t.size == 8:
		return func(dst []int64, raw []byte) int {
			for i := range dst {
				dst[i] = int64(o.Uint64(raw[8*i:]))
			}
			return -1
		}
	default: // u8
		return func(dst []int64, raw []byte) int {
			for i := range dst {
				v := o.Uint64(raw[8*i:])
				if v > math.MaxInt64 {
					return i
				}
				dst[i] = int64(v)
			}
			return -1
		}
	}
}

func f32Conv(t npyType) func(dst []float32, raw []byte) int {
	o := t.order()
	return func(dst []float32, raw []byte) int {
		for i := range dst {
			dst[i] = math.Float32frombits(o.Uint32(raw[4*i:]))
		}
		return -1
	}
}

func f64Conv(t npyType) func(dst []float64, raw []byte) int {
	o := t.order()
	return func(dst []float64, raw []byte) int {
		for i := range dst {
			dst[i] = math.Float64frombits(o.Uint64(raw[8*i:]))
		}
		return -1
	}
}

// parseNPYHeader interprets the header dict. It returns the element type, the
// shape, and the element count, which it guarantees times the element size
// fits in an int64 and an int.
func parseNPYHeader(header, name string) (npyType, []int, int, error) {
	var zero npyType
	v, err := parsePyLiteral(header)
	if err != nil {
		return zero, nil, 0, fmt.Errorf("%s: the .npy header is not a valid Python dict literal (%v): %s; the file is damaged, save it again with numpy.save", name, err, quoteHeader(header))
	}
	d, ok := v.(pyDict)
	if !ok {
		return zero, nil, 0, fmt.Errorf("%s: the .npy header is not a dict: %s; the file is damaged, save it again with numpy.save", name, quoteHeader(header))
	}
	var missing []string
	for _, k := range []string{"descr", "fortran_order", "shape"} {
		if _, ok := d.get(k); !ok {
			missing = append(missing, "'"+k+"'")
		}
	}
	if len(missing) > 0 {
		return zero, nil, 0, fmt.Errorf("%s: the .npy header lacks %s: %s; the file is damaged, save it again with numpy.save", name, strings.Join(missing, " and "), quoteHeader(header))
	}
	for _, kv := range d {
		switch kv.key {
		case "descr", "fortran_order", "shape":
		default:
			return zero, nil, 0, fmt.Errorf("%s: the .npy header has the unexpected key %q (NumPy writes only 'descr', 'fortran_order' and 'shape'): %s; save the array again with numpy.save", name, kv.key, quoteHeader(header))
		}
	}
	descrV, _ := d.get("descr")
	descr, ok := descrV.(string)
	if !ok {
		return zero, nil, 0, fmt.Errorf("%s: the array has a structured (record) dtype %s, which kiln does not read; save each field as its own plain numeric array", name, pyRepr(descrV))
	}
	typ, err := parseDescr(descr, name)
	if err != nil {
		return zero, nil, 0, err
	}
	fo, _ := d.get("fortran_order")
	fortran, ok := fo.(bool)
	if !ok {
		return zero, nil, 0, fmt.Errorf("%s: the .npy header's 'fortran_order' is %s, not True or False; the file is damaged, save it again with numpy.save", name, pyRepr(fo))
	}
	if fortran {
		return zero, nil, 0, fmt.Errorf("%s: the array is stored in Fortran (column-major) order, which kiln does not read; save it with numpy.save(path, numpy.ascontiguousarray(a))", name)
	}
	sv, _ := d.get("shape")
	tup, ok := sv.(pyTuple)
	if !ok {
		return zero, nil, 0, fmt.Errorf("%s: the .npy header's 'shape' is %s, not a tuple of integers; the file is damaged, save it again with numpy.save", name, pyRepr(sv))
	}
	if len(tup) > maxNDim {
		return zero, nil, 0, fmt.Errorf("%s: the .npy shape has %d dimensions, more than NumPy's limit of %d; the file is damaged, save it again with numpy.save", name, len(tup), maxNDim)
	}
	shape := make([]int, len(tup))
	limit := int64(math.MaxInt64) / int64(typ.size)
	if int64(math.MaxInt)/int64(typ.size) < limit {
		limit = int64(math.MaxInt) / int64(typ.size)
	}
	count, nonzero := int64(1), int64(1)
	for i, e := range tup {
		n, ok := e.(int64)
		if !ok {
			return zero, nil, 0, fmt.Errorf("%s: the .npy shape %s has the non-integer dimension %s; the file is damaged, save it again with numpy.save", name, pyRepr(sv), pyRepr(e))
		}
		if n < 0 {
			return zero, nil, 0, fmt.Errorf("%s: the .npy shape %s has the negative dimension %d; the file is damaged, save it again with numpy.save", name, pyRepr(sv), n)
		}
		// Every product of dimensions (the element count, and also the row
		// length Array.RowLen computes) must fit, so zeros are skipped here.
		if n > 0 {
			if nonzero > limit/n {
				return zero, nil, 0, fmt.Errorf("%s: the .npy shape %s has too many elements to address; the file is damaged, save it again with numpy.save", name, pyRepr(sv))
			}
			nonzero *= n
		}
		count *= n
		shape[i] = int(n)
	}
	return typ, shape, int(count), nil
}

// parseDescr parses a dtype string such as '<f4', '|u1' or '>i8'.
func parseDescr(descr, name string) (npyType, error) {
	s := descr
	var t npyType
	if s != "" {
		switch s[0] {
		case '<', '|', '=':
			s = s[1:]
		case '>':
			t.bigEnd = true
			s = s[1:]
		}
	}
	supported := "kiln reads bool, uint8, int8, int16, int32, int64, uint16, uint32, uint64, float32 and float64: convert with a.astype(numpy.float32) (or another of those) before saving"
	if s == "" {
		return t, fmt.Errorf("%s: the .npy header has an empty dtype %q; the file is damaged, save it again with numpy.save", name, descr)
	}
	switch s[0] {
	case 'O':
		return t, fmt.Errorf("%s: the array holds Python objects (dtype %q), which kiln cannot read (it would need to unpickle them); save a numeric array instead, e.g. numpy.save(path, numpy.asarray(a, dtype=numpy.float32))", name, descr)
	case 'U', 'S', 'a':
		return t, fmt.Errorf("%s: the array holds strings (dtype %q), which kiln cannot read; save a numeric array instead: %s", name, descr, supported)
	}
	known := map[string]npyType{
		"b1": {kind: 'b', size: 1, dtype: Bool, numpyStr: "bool"},
		"u1": {kind: 'u', size: 1, dtype: Uint8, numpyStr: "uint8"},
		"i1": {kind: 'i', size: 1, dtype: Int32, numpyStr: "int8"},
		"i2": {kind: 'i', size: 2, dtype: Int32, numpyStr: "int16"},
		"u2": {kind: 'u', size: 2, dtype: Int32, numpyStr: "uint16"},
		"i4": {kind: 'i', size: 4, dtype: Int32, numpyStr: "int32"},
		"u4": {kind: 'u', size: 4, dtype: Int64, numpyStr: "uint32"},
		"i8": {kind: 'i', size: 8, dtype: Int64, numpyStr: "int64"},
		"u8": {kind: 'u', size: 8, dtype: Int64, numpyStr: "uint64"},
		"f4": {kind: 'f', size: 4, dtype: Float32, numpyStr: "float32"},
		"f8": {kind: 'f', size: 8, dtype: Float64, numpyStr: "float64"},
	}
	k, ok := known[s]
	if !ok {
		return t, fmt.Errorf("%s: unsupported dtype %q; %s", name, descr, supported)
	}
	k.bigEnd = t.bigEnd
	if k.size == 1 {
		k.bigEnd = false
	}
	return k, nil
}

// WriteNPY writes a as a .npy file (format 1.0, or 2.0 for a huge header)
// with little-endian elements. It writes a temporary file in the same
// directory and renames it over path, so a failed write leaves no partial file.
func WriteNPY(path string, a *Array) error {
	if err := checkArray(a, path); err != nil {
		return err
	}
	return writeAtomic(path, "the .npy file", func(w io.Writer) error { return EncodeNPY(w, a) })
}

// EncodeNPY writes a in .npy format to w: version 1.0 (2.0 if the header
// would exceed 65535 bytes), little-endian, C order, header padded to a
// multiple of 64 bytes as NumPy does. Uint8 is written as '|u1', Bool as
// '|b1', Int32 as '<i4', Int64 as '<i8', Float32 as '<f4', Float64 as '<f8'.
func EncodeNPY(w io.Writer, a *Array) error {
	if err := checkArray(a, "array"); err != nil {
		return err
	}
	var descr string
	switch a.DType {
	case Uint8:
		descr = "|u1"
	case Bool:
		descr = "|b1"
		for i, v := range a.U8 {
			if v > 1 {
				return fmt.Errorf("bool array element %d is %d, not 0 or 1; fix the array (bools are stored as 0 and 1) before writing it", i, v)
			}
		}
	case Int32:
		descr = "<i4"
		for i, v := range a.I64 {
			if v < math.MinInt32 || v > math.MaxInt32 {
				return fmt.Errorf("int32 array element %d is %d, outside the int32 range; make the array Int64 before writing it", i, v)
			}
		}
	case Int64:
		descr = "<i8"
	case Float32:
		descr = "<f4"
	case Float64:
		descr = "<f8"
	}
	pre, dict := npyHeader(descr, a.Shape)
	bw := bufio.NewWriterSize(w, 1<<16)
	bw.Write(pre)
	bw.WriteString(dict)
	switch a.DType {
	case Uint8, Bool:
		bw.Write(a.U8)
	case Int32:
		writeElems(bw, a.I64, 4, func(b []byte, v int64) { binary.LittleEndian.PutUint32(b, uint32(int32(v))) })
	case Int64:
		writeElems(bw, a.I64, 8, func(b []byte, v int64) { binary.LittleEndian.PutUint64(b, uint64(v)) })
	case Float32:
		writeElems(bw, a.F32, 4, func(b []byte, v float32) { binary.LittleEndian.PutUint32(b, math.Float32bits(v)) })
	case Float64:
		writeElems(bw, a.F64, 8, func(b []byte, v float64) { binary.LittleEndian.PutUint64(b, math.Float64bits(v)) })
	}
	return bw.Flush()
}

// writeElems encodes vals through a bounded buffer; write errors surface at
// the caller's Flush, since bufio.Writer keeps the first one.
func writeElems[T any](w io.Writer, vals []T, size int, put func([]byte, T)) {
	buf := make([]byte, min(len(vals), 1<<14)*size)
	for len(vals) > 0 {
		k := min(len(vals), len(buf)/size)
		for i, v := range vals[:k] {
			put(buf[i*size:], v)
		}
		if _, err := w.Write(buf[:k*size]); err != nil {
			return
		}
		vals = vals[k:]
	}
}

// npyHeader returns the magic-and-length prefix and the header dict, padded
// with spaces and ended by a newline so that the data starts at a multiple of
// 64 bytes, as NumPy writes it. The version is 1.0 unless the header needs
// more than 65535 bytes, then 2.0.
func npyHeader(descr string, shape []int) ([]byte, string) {
	dict := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, ShapeString(shape))
	prefix := 10
	if 10+len(dict)+1+63 > 10+math.MaxUint16 {
		prefix = 12
	}
	pad := (64 - (prefix+len(dict)+1)%64) % 64
	dict += strings.Repeat(" ", pad) + "\n"
	pre := []byte(npyMagic)
	if prefix == 10 {
		pre = append(pre, 1, 0)
		pre = binary.LittleEndian.AppendUint16(pre, uint16(len(dict)))
	} else {
		pre = append(pre, 2, 0)
		pre = binary.LittleEndian.AppendUint32(pre, uint32(len(dict)))
	}
	return pre, dict
}

// checkArray verifies that a is well formed enough to be written.
func checkArray(a *Array, name string) error {
	if a == nil {
		return fmt.Errorf("%s: the array is nil; pass an array to write", name)
	}
	n := 1
	for _, d := range a.Shape {
		if d < 0 {
			return fmt.Errorf("%s: the array's shape %s has a negative dimension; fix the shape before writing", name, ShapeString(a.Shape))
		}
		if d > 0 && n > math.MaxInt/8/d {
			return fmt.Errorf("%s: the array's shape %s is too large; fix the shape before writing", name, ShapeString(a.Shape))
		}
		n *= d
	}
	if len(a.Shape) > maxNDim {
		return fmt.Errorf("%s: the array has %d dimensions, more than NumPy's limit of %d; reshape it before writing", name, len(a.Shape), maxNDim)
	}
	var have int
	var field string
	switch a.DType {
	case Uint8, Bool:
		have, field = len(a.U8), "U8"
	case Int32, Int64:
		have, field = len(a.I64), "I64"
	case Float32:
		have, field = len(a.F32), "F32"
	case Float64:
		have, field = len(a.F64), "F64"
	default:
		return fmt.Errorf("%s: the array has the unknown dtype %q; use one of uint8, bool, int32, int64, float32, float64", name, a.DType)
	}
	if have != n {
		return fmt.Errorf("%s: the %s array of shape %s needs %d values in %s but has %d; fix the shape or the data before writing", name, a.DType, ShapeString(a.Shape), n, field, have)
	}
	return nil
}

// writeAtomic writes a file through write into a temporary file in path's
// directory, syncs it and renames it to path; on any error the temporary file
// is removed and path is left as it was.
func writeAtomic(path, what string, write func(w io.Writer) error) (err error) {
	dir, base := splitPath(path)
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("%s: cannot create %s: %v; check that the directory exists and is writable", path, what, unwrapPathError(err))
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<16)
	if err = write(bw); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err = bw.Flush(); err != nil {
		return fmt.Errorf("%s: writing %s failed: %v; check the free disk space", path, what, unwrapPathError(err))
	}
	if err = f.Chmod(0o644); err != nil {
		return fmt.Errorf("%s: setting the permissions of %s: %v", path, what, unwrapPathError(err))
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("%s: writing %s failed: %v; check the free disk space", path, what, unwrapPathError(err))
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("%s: writing %s failed: %v; check the free disk space", path, what, unwrapPathError(err))
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("%s: cannot move the finished file into place: %v; check that the path is not a directory and is writable", path, unwrapPathError(err))
	}
	return nil
}

func splitPath(path string) (dir, base string) {
	i := strings.LastIndexAny(path, `/`+string(os.PathSeparator))
	if i < 0 {
		return ".", path
	}
	if i == 0 {
		return path[:1], path[1:]
	}
	return path[:i], path[i+1:]
}

// unwrapPathError drops the "open <path>:" part of an *os.PathError, since
// kiln's messages already name the file.
func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func describeMagic(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("PK\x03\x04")) || bytes.HasPrefix(b, []byte("PK\x05\x06")):
		return "it is a zip archive, probably a .npz file (use ReadNPZ)"
	case bytes.HasPrefix(b, []byte{0x1f, 0x8b}):
		return "it is gzip-compressed (gunzip it first)"
	case bytes.HasPrefix(b, []byte("\x80")):
		return "it looks like a Python pickle"
	}
	return fmt.Sprintf("it starts with %q instead of \"\\x93NUMPY\"", b)
}

func latin1(b []byte) string {
	ascii := true
	for _, c := range b {
		if c >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return string(b)
	}
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

func quoteHeader(h string) string {
	h = strings.TrimRight(h, " \n")
	if len(h) > 200 {
		h = h[:200] + "..."
	}
	return fmt.Sprintf("%q", h)
}
