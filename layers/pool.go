package layers

import (
	"math/rand/v2"

	"github.com/kiln-ml/kiln/internal/kernels"
	"github.com/kiln-ml/kiln/internal/parallel"
	"github.com/kiln-ml/kiln/schema"
	"github.com/kiln-ml/kiln/tensor"
)

// MaxPooling2D is Keras' MaxPooling2D with data_format channels_last: each
// output cell is the maximum of its channel over a pool_size window of the
// (H, W, C) input. Padding "same" pads as TensorFlow does, and padded cells
// never win (every window holds at least one input cell). The gradient goes
// to the window's maximum; on ties, to the first one in row-major window
// order, as TensorFlow routes it.
//
// Windows that lie wholly inside the input are taken by kernels.MaxPool,
// vectorised across the channels; windows clipped by "same" padding by a
// loop. When windows do not overlap (strides ≥ pool size, the usual case)
// the gradient is written window by window (kernels.MaxPoolGrad), without
// clearing dx first where the windows tile the input. Where no window is
// clipped or overlaps another and the vector kernels take the window and
// the channels, each maximum's place is kept as its cell in the window, a
// byte (kernels.MaxPool8), instead of its index in the sample: 4 bytes
// less per output written by Forward and read by Backward (on the cnn,
// 2.1 MB of each per 128-sample step; 2.6% of the step on two threads,
// 1.1% on one, measured by leaving the index out).
type MaxPooling2D struct {
	base
	threads
	// PoolSize is the window's (height, width).
	PoolSize [2]int
	// Strides is the window's step (rows, columns); default PoolSize.
	Strides [2]int
	// Padding is "valid" (default) or "same".
	Padding string

	g      window
	y, dx  []float32
	arg    poolArg // per output cell: where its maximum is
	needDX bool

	// The windows that lie inside the input, as kernels.MaxPool reads
	// them (nil if there are none); part lists the output pixels whose
	// windows the padding clips. disjoint says windows do not overlap;
	// tiles that they also cover every input cell.
	full            *kernels.Windows
	part            []int
	disjoint, tiles bool

	// The running parallel job (Forward and Backward split by samples).
	job struct {
		x, dy    []float32
		n, parts int
	}
	fwdFn, bwdFn func(part int)
}

// poolArg is where each output's maximum is: its index in the sample
// (i32), or with compact windows its cell in the window (u8, see
// kernels.MaxPool8). Both nil: not recorded.
type poolArg struct {
	i32 []int32
	u8  []uint8
}

// slice returns the places of outputs lo … hi−1.
func (a poolArg) slice(lo, hi int) poolArg {
	if a.u8 != nil {
		return poolArg{u8: a.u8[lo:hi]}
	}
	if a.i32 != nil {
		return poolArg{i32: a.i32[lo:hi]}
	}
	return a
}

// samples returns sample s's places, of w outputs a sample.
func (a poolArg) sample(s, w int) poolArg { return a.slice(s*w, (s+1)*w) }

// poolSettings reads the options of a pooling layer of class: strides
// (default: the pool size) and padding.
func poolSettings(class string, poolSize [2]int, opts []Option) (strides [2]int, padding string, err error) {
	if err := checkPair(class, "pool_size", poolSize); err != nil {
		return strides, "", err
	}
	s, err := collect(class, opts, "strides", "padding")
	if err != nil {
		return strides, "", err
	}
	strides = poolSize
	if s.has("strides") {
		strides = s.strides
		if err := checkPair(class, "strides", strides); err != nil {
			return strides, "", err
		}
	}
	padding, err = normPadding(class, s.padding)
	return strides, padding, err
}

// NewMaxPooling2D returns a MaxPooling2D layer with windows of poolSize
// (height, width); WithStrides and WithPadding set the rest.
func NewMaxPooling2D(poolSize [2]int, opts ...Option) (*MaxPooling2D, error) {
	strides, padding, err := poolSettings("MaxPooling2D", poolSize, opts)
	if err != nil {
		return nil, err
	}
	return &MaxPooling2D{PoolSize: poolSize, Strides: strides, Padding: padding}, nil
}

// MustNewMaxPooling2D is NewMaxPooling2D for arguments known to be valid:
// it panics on an error.
func MustNewMaxPooling2D(poolSize [2]int, opts ...Option) *MaxPooling2D {
	return must(NewMaxPooling2D(poolSize, opts...))
}

// ClassName returns "MaxPooling2D".
func (*MaxPooling2D) ClassName() string { return "MaxPooling2D" }

// Build checks that the input is (H, W, C) and the window fits, and returns
// (outH, outW, C).
func (p *MaxPooling2D) Build(in []int, _ *rand.Rand) ([]int, error) {
	g, err := newWindow("MaxPooling2D", p.name, "pool", in, p.PoolSize, p.Strides, p.Padding)
	if err != nil {
		return nil, err
	}
	p.g = g
	p.setShapes(in, []int{g.outH, g.outW, g.cin})
	p.tables()
	return p.out, nil
}

// tables lists the window cells and sorts the output pixels into those
// with whole windows and those clipped by the padding.
func (p *MaxPooling2D) tables() {
	g := &p.g
	c := g.cin
	var cells, pix, out []int32
	for i := 0; i < g.kh; i++ {
		for j := 0; j < g.kw; j++ {
			cells = append(cells, int32((i*g.inW+j)*c))
		}
	}
	p.part = nil
	for q := 0; q < g.pixels(); q++ {
		h0, w0 := g.origin(q)
		if h0 >= 0 && w0 >= 0 && h0+g.kh <= g.inH && w0+g.kw <= g.inW {
			pix = append(pix, int32((h0*g.inW+w0)*c))
			out = append(out, int32(q*c))
		} else {
			p.part = append(p.part, q)
		}
	}
	p.full = nil
	if len(pix) > 0 {
		p.full = kernels.NewWindows(pix, cells, out)
	}
	p.disjoint = g.sh >= g.kh && g.sw >= g.kw
	p.tiles = p.disjoint && len(p.part) == 0 && g.outH*g.kh == g.inH && g.outW*g.kw == g.inW && g.sh == g.kh && g.sw == g.kw
}

// compact reports whether arg keeps the maxima's cells as bytes (see the
// type's doc).
func (p *MaxPooling2D) compact() bool { return p.arg.u8 != nil }

// argAt returns the places of the maxima of outputs lo … hi−1 of the last
// Forward.
func (p *MaxPooling2D) argAt(lo, hi int) poolArg { return p.arg.slice(lo, hi) }

// Variables returns nil.
func (*MaxPooling2D) Variables() []*tensor.Variable { return nil }

// Allocate sizes the buffers.
func (p *MaxPooling2D) Allocate(maxBatch int, needInputGrad bool) {
	p.y = make([]float32, maxBatch*p.outWidth)
	// Decided here, for the kernel level in use: at another level
	// MaxPool8 is still right, only slower.
	if p.full != nil && len(p.part) == 0 && p.disjoint && kernels.MaxPool8Vector(p.g.kh*p.g.kw, p.g.cin) {
		p.arg = poolArg{u8: make([]uint8, maxBatch*p.outWidth)}
	} else {
		p.arg = poolArg{i32: make([]int32, maxBatch*p.outWidth)}
	}
	p.needDX = needInputGrad
	p.dx = nil
	if needInputGrad {
		p.dx = make([]float32, maxBatch*p.inWidth)
	}
	p.fwdFn = func(part int) {
		s0, s1 := parallel.Range(p.job.n, p.job.parts, part)
		o := s0 * p.outWidth
		p.pool(p.y[o:], p.argAt(o, s1*p.outWidth), p.job.x[s0*p.inWidth:], s1-s0)
	}
	p.bwdFn = func(part int) {
		s0, s1 := parallel.Range(p.job.n, p.job.parts, part)
		o := s0 * p.outWidth
		p.backward(p.dx[s0*p.inWidth:s1*p.inWidth], p.job.dy[o:], p.argAt(o, s1*p.outWidth), s1-s0)
	}
}

// pool writes the window maxima of n samples of x into y and, unless arg
// is empty, where each maximum is.
func (p *MaxPooling2D) pool(y []float32, arg poolArg, x []float32, n int) {
	for s := 0; s < n; s++ {
		xs := x[s*p.inWidth : (s+1)*p.inWidth]
		ys := y[s*p.outWidth : (s+1)*p.outWidth]
		if arg.u8 != nil { // compact: every window whole
			kernels.MaxPool8(ys, arg.sample(s, p.outWidth).u8, xs, p.full, p.g.cin)
			continue
		}
		var as []int32
		if arg.i32 != nil {
			as = arg.sample(s, p.outWidth).i32
		}
		if p.full != nil {
			kernels.MaxPool(ys, as, xs, p.full, p.g.cin)
		}
		for _, q := range p.part {
			p.poolClipped(ys, as, xs, q)
		}
	}
}

// poolClipped takes the maxima of output pixel q of one sample, whose
// window the padding clips.
func (p *MaxPooling2D) poolClipped(ys []float32, as []int32, xs []float32, q int) {
	g := &p.g
	c := g.cin
	yr := ys[q*c : (q+1)*c]
	var ar []int32
	if as != nil {
		ar = as[q*c : (q+1)*c]
	}
	h0, w0 := g.origin(q)
	jlo, jhi := g.cols(w0)
	first := true
	for i := max(0, -h0); i < min(g.kh, g.inH-h0); i++ {
		for j := jlo; j < jhi; j++ {
			at := ((h0+i)*g.inW + w0 + j) * c
			cell := xs[at : at+c]
			if first {
				// The window's first input cell (padding never wins).
				copy(yr, cell)
				for ch := range ar {
					ar[ch] = int32(at + ch)
				}
				first = false
				continue
			}
			for ch, v := range cell {
				if v > yr[ch] {
					yr[ch] = v
					if ar != nil {
						ar[ch] = int32(at + ch)
					}
				}
			}
		}
	}
}

// Forward takes the window maxima and remembers where they are; with a
// pool, blocks of samples on their own threads.
func (p *MaxPooling2D) Forward(x []float32, n int, _ bool) []float32 {
	m := n * p.outWidth
	if parts := min(n, p.tp.Parts(n*p.inWidth, minElems)); parts > 1 {
		p.job.x, p.job.n, p.job.parts = x, n, parts
		p.tp.Run(parts, p.fwdFn)
		p.job.x = nil
		return p.y[:m]
	}
	p.pool(p.y, p.arg, x, n)
	return p.y[:m]
}

// Backward routes each output gradient to its window's maximum, summing
// where windows overlap; with a pool, blocks of samples on their own
// threads (a sample's gradient comes from its own outputs only).
func (p *MaxPooling2D) Backward(dy []float32, n int) []float32 {
	if !p.needDX {
		return nil
	}
	if parts := min(n, p.tp.Parts(n*p.inWidth, minElems)); parts > 1 {
		p.job.dy, p.job.n, p.job.parts = dy, n, parts
		p.tp.Run(parts, p.bwdFn)
		p.job.dy = nil
		return p.dx[:n*p.inWidth]
	}
	p.backward(p.dx[:n*p.inWidth], dy, p.arg, n)
	return p.dx[:n*p.inWidth]
}

// backward writes into dx the input gradient of n samples from their
// output gradients dy and their maxima's places arg.
func (p *MaxPooling2D) backward(dx, dy []float32, arg poolArg, n int) {
	if !p.disjoint {
		clear(dx)
		for s := 0; s < n; s++ {
			dxs := dx[s*p.inWidth : (s+1)*p.inWidth]
			o := s * p.outWidth
			for i, a := range arg.i32[o : o+p.outWidth] {
				dxs[a] += dy[o+i]
			}
		}
		return
	}
	if !p.tiles {
		clear(dx) // cells outside every window, and the clipped windows'
	}
	c := p.g.cin
	for s := 0; s < n; s++ {
		dxs := dx[s*p.inWidth : (s+1)*p.inWidth]
		o := s * p.outWidth
		dys := dy[o : o+p.outWidth]
		if arg.u8 != nil { // compact: every window whole
			kernels.MaxPoolGrad8(dxs, dys, arg.sample(s, p.outWidth).u8, p.full, c)
			continue
		}
		as := arg.sample(s, p.outWidth).i32
		if p.full != nil {
			kernels.MaxPoolGrad(dxs, dys, as, p.full, c)
		}
		for _, q := range p.part {
			for i, a := range as[q*c : (q+1)*c] {
				dxs[a] += dys[q*c+i]
			}
		}
	}
}

// Infer writes the window maxima into dst; it keeps no state.
func (p *MaxPooling2D) Infer(dst, x []float32, n int) { p.pool(dst, poolArg{}, x, n) }

// Config returns Keras 2's MaxPooling2D get_config() keys.
func (p *MaxPooling2D) Config() map[string]any {
	return map[string]any{
		"name": p.name, "trainable": true, "dtype": "float32",
		"pool_size": []int{p.PoolSize[0], p.PoolSize[1]}, "padding": p.Padding,
		"strides": []int{p.Strides[0], p.Strides[1]}, "data_format": "channels_last",
	}
}

// poolArgs are the arguments of MaxPooling2D and AveragePooling2D.
var poolArgs = []schema.Arg{
	{Name: "pool_size", Kind: schema.Pair, Default: [2]int{2, 2}, Doc: "an integer or a list of two integers, e.g. 2 or [2, 2]", Valid: schema.PositivePair},
	// Keras: strides None means pool_size (New decides).
	{Name: "strides", Kind: schema.Pair, Doc: "an integer or a list of two integers, e.g. 2 or [2, 2] (default: pool_size)", Valid: schema.PositivePair},
	{Name: "padding", Kind: schema.String, Default: "valid", Doc: "valid or same"},
}

// poolOptions are a pooling layer's strides and padding from its Args.
func poolOptions(a schema.Values) []Option {
	st := a.Pair("pool_size")
	if a.Has("strides") {
		st = a.Pair("strides")
	}
	return []Option{WithStrides(st[0], st[1]), WithPadding(a.String("padding"))}
}

func init() {
	Register(Spec{
		Class:        "MaxPooling2D",
		Doc:          "the maximum of each pool_size window of an image, per channel",
		Args:         poolArgs,
		New:          func(a schema.Values) (Layer, error) { return NewMaxPooling2D(a.Pair("pool_size"), poolOptions(a)...) },
		Keras:        func(k *KerasConfig) error { return k.ChannelsLast() },
		Positional:   3,
		Aliases:      map[string]string{"border_mode": "padding"},
		Example:      map[string]any{"pool_size": 3, "strides": []any{1, 2}, "padding": "same"},
		ExampleInput: []int{7, 7, 3},
	})
	Register(Spec{
		Class: "AveragePooling2D",
		Doc:   "the mean of each pool_size window of an image, per channel (padded cells not counted)",
		Args:  poolArgs,
		New: func(a schema.Values) (Layer, error) {
			return NewAveragePooling2D(a.Pair("pool_size"), poolOptions(a)...)
		},
		Keras:        func(k *KerasConfig) error { return k.ChannelsLast() },
		Positional:   3,
		Aliases:      map[string]string{"border_mode": "padding"},
		Example:      map[string]any{"pool_size": []any{2, 3}, "padding": "valid"},
		ExampleInput: []int{7, 7, 3},
	})
}
