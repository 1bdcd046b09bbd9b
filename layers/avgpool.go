package layers

import (
	"math/rand/v2"

	"github.com/kiln-ml/kiln/tensor"
)

// AveragePooling2D is Keras' AveragePooling2D with data_format
// channels_last: each output cell is the mean of its channel over a
// pool_size window of the (H, W, C) input. Padding "same" pads as
// TensorFlow does, and padded cells do not count: a window clipped by the
// padding averages the input cells it covers. The gradient is spread evenly
// over those cells.
type AveragePooling2D struct {
	base
	// PoolSize is the window's (height, width).
	PoolSize [2]int
	// Strides is the window's step (rows, columns); default PoolSize.
	Strides [2]int
	// Padding is "valid" (default) or "same".
	Padding string

	g      window
	y, dx  []float32
	needDX bool
}

// NewAveragePooling2D returns an AveragePooling2D layer with windows of
// poolSize (height, width); WithStrides and WithPadding set the rest.
func NewAveragePooling2D(poolSize [2]int, opts ...Option) (*AveragePooling2D, error) {
	strides, padding, err := poolSettings("AveragePooling2D", poolSize, opts)
	if err != nil {
		return nil, err
	}
	return &AveragePooling2D{PoolSize: poolSize, Strides: strides, Padding: padding}, nil
}

// MustNewAveragePooling2D is NewAveragePooling2D for arguments known to be
// valid: it panics on an error.
func MustNewAveragePooling2D(poolSize [2]int, opts ...Option) *AveragePooling2D {
	return must(NewAveragePooling2D(poolSize, opts...))
}

// ClassName returns "AveragePooling2D".
func (*AveragePooling2D) ClassName() string { return "AveragePooling2D" }

// Build checks the input and returns (outH, outW, channels).
func (a *AveragePooling2D) Build(in []int, _ *rand.Rand) ([]int, error) {
	g, err := newWindow("AveragePooling2D", a.name, "pool", in, a.PoolSize, a.Strides, a.Padding)
	if err != nil {
		return nil, err
	}
	a.g = g
	a.setShapes(in, []int{g.outH, g.outW, g.cin})
	return a.out, nil
}

// Variables returns nil.
func (*AveragePooling2D) Variables() []*tensor.Variable { return nil }

// Allocate sizes the output and input-gradient buffers.
func (a *AveragePooling2D) Allocate(maxBatch int, needInputGrad bool) {
	a.y = make([]float32, maxBatch*a.outWidth)
	a.needDX = needInputGrad
	if needInputGrad {
		a.dx = make([]float32, maxBatch*a.inWidth)
	}
}

// span returns the rows [ilo, ihi) and columns [jlo, jhi) of output pixel
// p's window that fall inside the input, and its input origin.
func (a *AveragePooling2D) span(p int) (h0, w0, ilo, ihi, jlo, jhi int) {
	g := &a.g
	h0, w0 = g.origin(p)
	ilo, ihi = max(0, -h0), min(g.kh, g.inH-h0)
	jlo, jhi = g.cols(w0)
	return
}

func (a *AveragePooling2D) pool(dst, x []float32, n int) {
	g := &a.g
	c := g.cin
	for s := 0; s < n; s++ {
		src := x[s*a.inWidth : (s+1)*a.inWidth]
		out := dst[s*a.outWidth : (s+1)*a.outWidth]
		for p := 0; p < g.pixels(); p++ {
			h0, w0, ilo, ihi, jlo, jhi := a.span(p)
			row := out[p*c : (p+1)*c]
			clear(row)
			for i := ilo; i < ihi; i++ {
				for j := jlo; j < jhi; j++ {
					cell := src[((h0+i)*g.inW+w0+j)*c:][:c]
					for k, v := range cell {
						row[k] += v
					}
				}
			}
			count := float32((ihi - ilo) * (jhi - jlo))
			for k := range row {
				row[k] /= count
			}
		}
	}
}

// Forward averages every window.
func (a *AveragePooling2D) Forward(x []float32, n int, _ bool) []float32 {
	a.pool(a.y, x, n)
	return a.y[:n*a.outWidth]
}

// Backward spreads each output's gradient evenly over its window's input
// cells (summing where windows overlap).
func (a *AveragePooling2D) Backward(dy []float32, n int) []float32 {
	if !a.needDX {
		return nil
	}
	g := &a.g
	c := g.cin
	dx := a.dx[:n*a.inWidth]
	clear(dx)
	for s := 0; s < n; s++ {
		d := dy[s*a.outWidth : (s+1)*a.outWidth]
		dst := dx[s*a.inWidth : (s+1)*a.inWidth]
		for p := 0; p < g.pixels(); p++ {
			h0, w0, ilo, ihi, jlo, jhi := a.span(p)
			count := float32((ihi - ilo) * (jhi - jlo))
			grad := d[p*c : (p+1)*c]
			for i := ilo; i < ihi; i++ {
				for j := jlo; j < jhi; j++ {
					cell := dst[((h0+i)*g.inW+w0+j)*c:][:c]
					for k, v := range grad {
						cell[k] += v / count
					}
				}
			}
		}
	}
	return dx
}

// Infer writes the averages of n samples into dst.
func (a *AveragePooling2D) Infer(dst, x []float32, n int) { a.pool(dst, x, n) }

// Config returns Keras' keys.
func (a *AveragePooling2D) Config() map[string]any {
	return map[string]any{"name": a.name, "trainable": true, "dtype": "float32",
		"pool_size": []any{a.PoolSize[0], a.PoolSize[1]}, "padding": a.Padding,
		"strides": []any{a.Strides[0], a.Strides[1]}, "data_format": "channels_last"}
}
