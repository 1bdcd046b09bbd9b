package mnist

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/kiln-ml/kiln/data"
)

// The IDX format (http://yann.lecun.com/exdb/mnist/):
//
//	0x00 0x00 type ndim
//	ndim sizes, each a big-endian uint32
//	the elements in C order, big-endian
//
// with type 0x08 unsigned byte, 0x09 signed byte, 0x0B int16, 0x0C int32,
// 0x0D float32, 0x0E float64.

const (
	// idxPrealloc is how many bytes of element storage ParseIDX allocates
	// before any data has arrived; past that storage grows as bytes are read,
	// so a header claiming a huge shape costs nothing.
	idxPrealloc = 64 << 10
)

type idxType struct {
	size  int
	dtype data.DType
	name  string
}

var idxTypes = map[byte]idxType{
	0x08: {1, data.Uint8, "unsigned byte"},
	0x09: {1, data.Int32, "signed byte"},
	0x0B: {2, data.Int32, "int16"},
	0x0C: {4, data.Int32, "int32"},
	0x0D: {4, data.Float32, "float32"},
	0x0E: {8, data.Float64, "float64"},
}

// ParseIDX reads one IDX array (the format of the MNIST files, after gunzip)
// from r, which must end right after the data. Unsigned bytes (type 0x08)
// become data.Uint8; signed bytes, int16 and int32 become data.Int32 (in I64);
// float32 and float64 become data.Float32 and data.Float64. name (usually the
// file name) is used in error messages. Storage grows only as data actually
// arrives, so a header claiming more data than r holds is reported as
// truncated without allocating what it claims.
func ParseIDX(r io.Reader, name string) (*data.Array, error) {
	return parseIDX(r, name, idxPrealloc)
}

func parseIDX(r io.Reader, name string, prealloc int64) (*data.Array, error) {
	var magic [4]byte
	n, _ := io.ReadFull(r, magic[:])
	if n == 0 {
		return nil, fmt.Errorf("%s: the IDX file is empty; the file is damaged, download it again", name)
	}
	if n < 4 {
		return nil, fmt.Errorf("%s: truncated IDX file: it ends inside the 4-byte magic number; the file is damaged, download it again", name)
	}
	if magic[0] == 0x1f && magic[1] == 0x8b {
		return nil, fmt.Errorf("%s: the IDX data is still gzip-compressed; gunzip it first (mnist.Load does this for the .gz files)", name)
	}
	if magic[0] != 0 || magic[1] != 0 {
		return nil, fmt.Errorf("%s: not an IDX file: it starts with % x instead of 00 00; check that this is an MNIST-style *-ubyte file", name, magic[:])
	}
	typ, ok := idxTypes[magic[2]]
	if !ok {
		return nil, fmt.Errorf("%s: unknown IDX element type 0x%02x; IDX defines 0x08 (unsigned byte), 0x09 (signed byte), 0x0B (int16), 0x0C (int32), 0x0D (float32) and 0x0E (float64): the file is damaged or not IDX", name, magic[2])
	}
	ndim := int(magic[3])
	if ndim == 0 {
		return nil, fmt.Errorf("%s: the IDX header declares 0 dimensions; the file is damaged, download it again", name)
	}
	dimBytes := make([]byte, 4*ndim)
	if n, _ := io.ReadFull(r, dimBytes); n < len(dimBytes) {
		return nil, fmt.Errorf("%s: truncated IDX file: it ends inside the %d dimension sizes; the file is damaged, download it again", name, ndim)
	}
	shape := make([]int, ndim)
	limit := int64(math.MaxInt) / int64(typ.size)
	count, nonzero := int64(1), int64(1)
	for i := range shape {
		d := int64(binary.BigEndian.Uint32(dimBytes[4*i:]))
		// Every product of dimensions must fit (Array.RowLen computes some), so zeros are skipped here.
		if d > 0 {
			if nonzero > limit/d {
				return nil, fmt.Errorf("%s: the IDX shape %v has too many elements to address; the file is damaged, download it again", name, dimsOf(dimBytes))
			}
			nonzero *= d
		}
		count *= d
		shape[i] = int(d)
	}
	maxElems := int(min(count, max(prealloc, 0)/int64(typ.size)))
	a := &data.Array{Shape: shape, DType: typ.dtype}
	var got int64
	var err error
	switch magic[2] {
	case 0x08:
		a.U8, got, err = data.ReadElements(r, int(count), 1, maxElems, func(dst []uint8, raw []byte) { copy(dst, raw) })
	case 0x09:
		a.I64, got, err = data.ReadElements(r, int(count), 1, maxElems, func(dst []int64, raw []byte) {
			for i, v := range raw {
				dst[i] = int64(int8(v))
			}
		})
	case 0x0B:
		a.I64, got, err = data.ReadElements(r, int(count), 2, maxElems, func(dst []int64, raw []byte) {
			for i := range dst {
				dst[i] = int64(int16(binary.BigEndian.Uint16(raw[2*i:])))
			}
		})
	case 0x0C:
		a.I64, got, err = data.ReadElements(r, int(count), 4, maxElems, func(dst []int64, raw []byte) {
			for i := range dst {
				dst[i] = int64(int32(binary.BigEndian.Uint32(raw[4*i:])))
			}
		})
	case 0x0D:
		a.F32, got, err = data.ReadElements(r, int(count), 4, maxElems, func(dst []float32, raw []byte) {
			for i := range dst {
				dst[i] = math.Float32frombits(binary.BigEndian.Uint32(raw[4*i:]))
			}
		})
	case 0x0E:
		a.F64, got, err = data.ReadElements(r, int(count), 8, maxElems, func(dst []float64, raw []byte) {
			for i := range dst {
				dst[i] = math.Float64frombits(binary.BigEndian.Uint64(raw[8*i:]))
			}
		})
	}
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: truncated IDX file: shape %s of %s needs %d data bytes but the data ends after %d; the file is damaged or cut short, download it again", name, data.ShapeString(shape), typ.name, count*int64(typ.size), got)
		}
		return nil, fmt.Errorf("%s: reading the IDX data: %w", name, err)
	}
	var one [1]byte
	k, err := io.ReadFull(r, one[:])
	if k > 0 {
		return nil, fmt.Errorf("%s: unexpected bytes after the data of IDX shape %s of %s; the header does not match the data: the file is damaged, download it again", name, data.ShapeString(shape), typ.name)
	}
	if err != nil && err != io.EOF {
		// A gzip stream reports a bad checksum only at its end.
		return nil, fmt.Errorf("%s: reading the end of the IDX data: %w; the file is damaged, download it again", name, err)
	}
	return a, nil
}

func dimsOf(b []byte) []uint32 {
	d := make([]uint32, len(b)/4)
	for i := range d {
		d[i] = binary.BigEndian.Uint32(b[4*i:])
	}
	return d
}
