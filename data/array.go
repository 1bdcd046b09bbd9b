// Package data holds kiln's in-memory arrays and the readers that fill them:
// NumPy .npy/.npz, numeric CSV and MNIST's IDX (see datasets/mnist).
//
// An Array keeps the element type it was read with, so MNIST's pixels stay
// bytes in memory (55 MB instead of 188 MB as float32) and are scaled to
// float32 only when a batch is gathered, which is what the training loop does.
package data

import (
	"fmt"
	"math"
	"strings"

	"github.com/kiln-ml/kiln/internal/kernels"
)

// DType names an element type the way NumPy does.
type DType string

// The element types kiln reads.
const (
	Uint8   DType = "uint8"
	Bool    DType = "bool"
	Int32   DType = "int32"
	Int64   DType = "int64"
	Float32 DType = "float32"
	Float64 DType = "float64"
)

// Array is an n-dimensional array in C (row-major) order. Exactly one of the
// storage slices is set, chosen by DType: U8 for uint8 and bool, I64 for int32
// and int64, F32 for float32, F64 for float64.
type Array struct {
	Shape []int
	DType DType
	U8    []uint8
	I64   []int64
	F32   []float32
	F64   []float64

	// Classes, for labels read from class names (a CSV label column of
	// strings), are the names, index = class.
	Classes []string

	// Scale, when non-zero, multiplies every value as it is read as float32
	// (GatherRows): "scale: 1/255" keeps bytes in memory and scales per batch.
	Scale float64
	lut   *[256]float32 // uint8 value → scaled float32, built by WithScale
}

// WithScale returns a view of a (sharing its storage) whose values read as
// float32(v·s): for uint8 data a 256-entry table makes that as cheap as a cast.
func (a *Array) WithScale(s float64) *Array {
	b := *a
	b.Scale = s
	b.lut = nil
	if b.U8 != nil {
		var t [256]float32
		for v := range t {
			t[v] = float32(float64(v) * s)
		}
		b.lut = &t
	}
	return &b
}

// scale64 is the effective scale (1 when unset).
func (a *Array) scale64() float64 {
	if a.Scale == 0 {
		return 1
	}
	return a.Scale
}

// NewFloat32 wraps data (not copied) as a float32 array of the given shape.
// It panics if the shape does not match len(data); it is meant for code, not input.
func NewFloat32(data []float32, shape ...int) *Array {
	a := &Array{Shape: append([]int(nil), shape...), DType: Float32, F32: data}
	if a.Len() != len(data) {
		panic(fmt.Sprintf("data.NewFloat32: shape %v needs %d values, got %d", shape, a.Len(), len(data)))
	}
	return a
}

// NewUint8 wraps data (not copied) as a uint8 array of the given shape.
func NewUint8(data []uint8, shape ...int) *Array {
	a := &Array{Shape: append([]int(nil), shape...), DType: Uint8, U8: data}
	if a.Len() != len(data) {
		panic(fmt.Sprintf("data.NewUint8: shape %v needs %d values, got %d", shape, a.Len(), len(data)))
	}
	return a
}

// NewInt64 wraps data (not copied) as an int64 array of the given shape.
func NewInt64(data []int64, shape ...int) *Array {
	a := &Array{Shape: append([]int(nil), shape...), DType: Int64, I64: data}
	if a.Len() != len(data) {
		panic(fmt.Sprintf("data.NewInt64: shape %v needs %d values, got %d", shape, a.Len(), len(data)))
	}
	return a
}

// Len is the number of elements: the product of Shape (1 for a scalar).
func (a *Array) Len() int {
	n := 1
	for _, d := range a.Shape {
		n *= d
	}
	return n
}

// Rows is the size of the first axis (the samples); 1 for a scalar.
func (a *Array) Rows() int {
	if len(a.Shape) == 0 {
		return 1
	}
	return a.Shape[0]
}

// RowLen is the number of elements in one row (one sample).
func (a *Array) RowLen() int {
	if len(a.Shape) == 0 {
		return 1
	}
	n := 1
	for _, d := range a.Shape[1:] {
		n *= d
	}
	return n
}

// IsInteger reports whether the element type is an integer or bool type.
func (a *Array) IsInteger() bool {
	switch a.DType {
	case Uint8, Bool, Int32, Int64:
		return true
	}
	return false
}

// At returns element i (flat index) as float64.
func (a *Array) At(i int) float64 {
	switch {
	case a.U8 != nil:
		return float64(a.U8[i])
	case a.I64 != nil:
		return float64(a.I64[i])
	case a.F32 != nil:
		return float64(a.F32[i])
	default:
		return float64(a.F64[i])
	}
}

// ShapeString formats the shape as a Python tuple, e.g. "(60000, 28, 28)".
func ShapeString(shape []int) string {
	parts := make([]string, len(shape))
	for i, d := range shape {
		parts[i] = fmt.Sprint(d)
	}
	if len(parts) == 1 {
		return "(" + parts[0] + ",)"
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// GatherRows writes rows idx of a, cast to float32 and multiplied by Scale,
// into dst, which must hold len(idx)*RowLen() values. This is the batch path
// of the training loop: it allocates nothing.
func (a *Array) GatherRows(dst []float32, idx []int) {
	w := a.RowLen()
	s64 := a.scale64()
	for r, i := range idx {
		out := dst[r*w : (r+1)*w]
		lo := i * w
		switch {
		case a.U8 != nil && a.lut != nil:
			kernels.U8Lookup(out, a.U8[lo:lo+w], a.lut) // out[j] = lut[v], vectorised
		case a.U8 != nil:
			src := a.U8[lo : lo+w]
			if s64 == 1 {
				kernels.U8ToF32(out, src) // out[j] = float32(v), vectorised
			} else {
				for j, v := range src {
					out[j] = float32(float64(v) * s64)
				}
			}
		case a.F32 != nil:
			src := a.F32[lo : lo+w]
			if s64 == 1 {
				copy(out, src)
			} else {
				for j, v := range src {
					out[j] = float32(float64(v) * s64)
				}
			}
		case a.I64 != nil:
			for j, v := range a.I64[lo : lo+w] {
				out[j] = float32(float64(v) * s64)
			}
		default:
			for j, v := range a.F64[lo : lo+w] {
				out[j] = float32(v * s64)
			}
		}
	}
}

// PrefetchRows asks the CPU to start loading rows idx of a into its caches,
// so that a later GatherRows of them does not wait for memory: the training
// loop calls it for the next shuffled batch while it computes the current
// one. It changes no value and allocates nothing.
func (a *Array) PrefetchRows(idx []int) {
	w := a.RowLen()
	switch {
	case a.U8 != nil:
		kernels.PrefetchRows(a.U8, w, idx)
	case a.F32 != nil:
		kernels.PrefetchRows(a.F32, w, idx)
	case a.I64 != nil:
		kernels.PrefetchRows(a.I64, w, idx)
	case a.F64 != nil:
		kernels.PrefetchRows(a.F64, w, idx)
	}
}

// ByteRows returns a's uint8 storage and how GatherRows turns a byte b into
// float32: float32(b) when lut is nil, else lut[b]. ok is true only for
// uint8 (or bool) data whose zero bytes are exactly its zero values
// (kernels.LUTZeroExact), so that a layer reading the bytes directly, and
// skipping the zeros, computes what it would from GatherRows' output.
func (a *Array) ByteRows() (src []uint8, lut *[256]float32, ok bool) {
	switch {
	case a.U8 == nil:
		return nil, nil, false
	case a.lut != nil:
		return a.U8, a.lut, kernels.LUTZeroExact(a.lut)
	case a.scale64() == 1:
		return a.U8, nil, true
	}
	return nil, nil, false
}

// Slice returns rows [lo, hi) as a new Array sharing a's storage.
func (a *Array) Slice(lo, hi int) *Array {
	w := a.RowLen()
	b := &Array{Shape: append([]int{hi - lo}, a.Shape[1:]...), DType: a.DType, Scale: a.Scale, lut: a.lut}
	switch {
	case a.U8 != nil:
		b.U8 = a.U8[lo*w : hi*w]
	case a.I64 != nil:
		b.I64 = a.I64[lo*w : hi*w]
	case a.F32 != nil:
		b.F32 = a.F32[lo*w : hi*w]
	default:
		b.F64 = a.F64[lo*w : hi*w]
	}
	return b
}

// FirstNonFinite returns the flat index of the first NaN or ±Inf, or -1.
func (a *Array) FirstNonFinite() int {
	for i, v := range a.F32 {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return i
		}
	}
	for i, v := range a.F64 {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return i
		}
	}
	return -1
}

// Reshaped returns a view of a with another shape of the same size. It
// panics if the sizes differ, which is a programming error.
func (a *Array) Reshaped(shape []int) *Array {
	b := *a
	b.Shape = append([]int(nil), shape...)
	if b.Len() != a.Len() {
		panic(fmt.Sprintf("data: cannot reshape %v to %v", a.Shape, shape))
	}
	return &b
}

// ClassOf returns the class of label row i: the index of the largest value
// of a row wider than one (one-hot or scores; the first on ties), else the
// value cast to an integer, as Keras casts labels for class_weight.
func (a *Array) ClassOf(i int) int {
	w := a.RowLen()
	if len(a.Shape) < 2 || w == 1 {
		return int(a.At(i))
	}
	best := 0
	for j := 1; j < w; j++ {
		if a.At(i*w+j) > a.At(i*w+best) {
			best = j
		}
	}
	return best
}
