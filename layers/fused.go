package layers

import (
	"slices"

	"github.com/kiln-ml/kiln/internal/kernels"
	"github.com/kiln-ml/kiln/internal/parallel"
)

// Stage is what a training step runs in place of one layer: the layer
// itself, or a fused layer (see Fuse and FuseRun) standing for a layer and
// the one or two after it. Every Layer is a Stage.
type Stage interface {
	// Allocate, Forward and Backward are Layer's, for the layers the
	// stage stands for: Forward takes the first one's input and returns
	// the last one's output, Backward the reverse.
	Allocate(maxBatch int, needInputGrad bool)
	Forward(x []float32, n int, training bool) []float32
	Backward(dy []float32, n int) []float32
}

// Fuser is a layer that can absorb the layer after it for training.
type Fuser interface {
	Layer
	// FuseNext returns a Stage computing the layer followed by next, with
	// results bit-identical to running both, or false when it cannot. Both
	// must be built. The Stage uses both layers' variables and pools; the
	// layers' own Forward and Backward must not be used while it trains
	// (its Allocate sizes their buffers for it alone).
	FuseNext(next Layer) (Stage, bool)
}

// Fuse returns a Stage that runs a and then b, b reading a's output, as
// one (a Fuser's FuseNext), or false if a cannot absorb b. The fused stage
// is for training steps only, when nothing but b reads a's output and
// nothing reads b's input gradient: a trainer uses it in place of both
// layers, the model's layer list is unchanged.
func Fuse(a, b Layer) (Stage, bool) {
	if f, ok := a.(Fuser); ok {
		return f.FuseNext(b)
	}
	return nil, false
}

// FuseNext fuses a relu or linear Conv2D with a MaxPooling2D right after
// it (see convPool).
func (c *Conv2D) FuseNext(next Layer) (Stage, bool) {
	p, ok := next.(*MaxPooling2D)
	if !ok || (!c.relu() && c.act.Name != "linear") || c.out == nil || p.in == nil || !slices.Equal(c.out, p.in) {
		return nil, false
	}
	return &convPool{c: c, p: p}, true
}

// convPool is a Conv2D (relu or linear, dense path) and the MaxPooling2D
// after it, trained sample by sample so that the convolution's outputs
// and their gradient, a sample's at a time, stay in the cache: Forward
// computes a sample's convolution into per-thread scratch and pools it at
// once; Backward routes a sample's pooled gradient into per-thread scratch
// and adds its kernel gradient right away. What Backward needs from
// Forward is the pool's argmax and relu's bit mask (a bit per conv
// output); the batch's (pixels × filters) arrays are never made.
//
// Every number is computed by the kernel calls the two layers make on
// their own, in the same order: the conv forward and the pooling per
// sample; the kernel gradient summed per group of samples (Conv2D's
// gradGroupSize) over the samples' pixels in order, the partials added in
// group order; the input gradient per pixel. So results are bit-identical
// to the unfused layers, for any number of threads: Forward splits the
// batch by samples, Backward by whole groups.
//
// An input the sparse path would take (Conv2D.useSparse, only for windows
// of at least sparseMinK values) runs through the layers' own Forward and
// Backward, which Allocate then sizes too.
type convPool struct {
	c *Conv2D
	p *MaxPooling2D
	// full says the layers' own buffers exist (the sparse path may be
	// taken); unfused that the last Forward took it.
	full, unfused bool
	x             []float32
	scr           []fusedScratch // one per thread of the pool (RunSlots' slot)
	job           struct {
		x, dy    []float32
		n, parts int
		chain    bool // the forward job runs next's too
		pipe     bool // the backward job adds next's weight gradient
	}
	next         *Dense // chained (see chain.go), or nil
	fwdFn, bwdFn func(part, slot int)
}

// fusedScratch is one part's scratch: a sample's conv outputs (y), their
// gradient (d), a padded copy of the sample (pad), and dxPixel's
// scratch.
type fusedScratch struct {
	y, d, pad  []float32
	dy         []float32 // a group's pooled gradient, from a chained Dense
	fidx       []int32
	fval, dcol []float32
}

// Allocate sizes the conv's and the pool's buffers for the fused passes
// and the scratch of each part of a job (one per thread of the pool).
func (f *convPool) Allocate(maxBatch int, needInputGrad bool) {
	c, p := f.c, f.p
	f.full = c.k >= sparseMinK
	c.allocate(maxBatch, needInputGrad, f.full)
	p.Allocate(maxBatch, f.full)
	pf := c.g.pixels() * c.Filters
	f.scr = make([]fusedScratch, c.tp.Threads())
	for i := range f.scr {
		sc := &f.scr[i]
		sc.y, sc.d = kernels.AlignedFloats(pf), kernels.AlignedFloats(pf)
		if c.padded {
			sc.pad = make([]float32, c.srcWidth)
		}
		if needInputGrad {
			sc.fidx = make([]int32, c.Filters+kernels.Pad)
			sc.fval = make([]float32, c.Filters+kernels.Pad)
			sc.dcol = make([]float32, c.k)
		}
	}
	if f.next != nil { // chained: the Dense leaves its input gradient to the stage
		for i := range f.scr {
			f.scr[i].dy = kernels.AlignedFloats(c.group * p.outWidth)
		}
	}
	f.fwdFn, f.bwdFn = f.forwardPart, f.backwardPart
}

// parts is how many parts a pass over n samples, in units of samples (at
// most units of them), is split into.
func (f *convPool) parts(n, units int) int {
	c := f.c
	if len(f.scr) != c.tp.Threads() {
		return 1
	}
	return min(units, c.tp.Parts(n*c.g.pixels()*c.k*c.Filters, minFlops))
}

// Forward computes the pooled conv outputs of n samples.
func (f *convPool) Forward(x []float32, n int, training bool) []float32 {
	c, p := f.c, f.p
	f.unfused = f.full && c.useSparse(x[:n*c.inWidth])
	if f.unfused {
		return p.Forward(c.Forward(x, n, training), n, training)
	}
	f.x = x
	if parts := f.parts(n, n); parts > 1 {
		f.job.x, f.job.n, f.job.parts = x, n, parts
		f.job.chain = f.next != nil && f.next.chainable(c.tp, n, parts)
		if f.job.chain {
			f.next.beginChain(p.y, n, parts)
		}
		c.tp.RunSlots(parts, f.fwdFn)
		if f.job.chain {
			f.next.endChain(n, parts)
		}
		f.job.x, f.job.chain = nil, false
	} else if d := f.next; d != nil && d.chainable(c.tp, n, 1) {
		d.beginChain(p.y, n, 1)
		f.forwardChained(&f.scr[0], x, 0, n, false)
		d.endChain(n, 1)
	} else {
		f.forward(&f.scr[0], x, 0, n)
	}
	return p.y[:n*p.outWidth]
}

func (f *convPool) forwardPart(part, slot int) {
	s0, s1 := parallel.Range(f.job.n, f.job.parts, part)
	sc := &f.scr[slot]
	if !f.job.chain {
		f.forward(sc, f.job.x, s0, s1)
		return
	}
	d := f.next
	f.forwardChained(sc, f.job.x, s0, s1, true) // the Dense's row block part: the same rows
	d.th.owner[part].slot = slot
	if d.needDX {
		d.transposePart(part)
	}
}

// forwardChained computes samples s0 … s1−1, chainTile at a time, and the
// chained Dense's sums of them right away, while their pooled rows are in
// the core's own cache. With prefetch (a part of a threaded job), it asks
// for the Dense's W a slice after each sample of the first tile: the
// optimizer's job updated half of W on the other core, and the loads,
// started while the convolutions compute, no longer hold up the first
// sums (an in-process A/B on the cnn, 2 threads: about 1.5% of the step).
func (f *convPool) forwardChained(sc *fusedScratch, x []float32, s0, s1 int, prefetch bool) {
	for a := s0; a < s1; a += chainTile {
		e := min(s1, a+chainTile)
		if a == s0 && prefetch {
			wv := f.next.Kernel.Value
			for s := a; s < e; s++ {
				f.forward(sc, x, s, s+1)
				kernels.Prefetch(wv[(s-a)*len(wv)/(e-a) : (s-a+1)*len(wv)/(e-a)])
			}
		} else {
			f.forward(sc, x, a, e)
		}
		f.next.chainRows(a, e, f.p.y)
	}
}

// sample returns sample s of x as the conv kernels read it (a padded copy
// in sc.pad when padded).
func (f *convPool) sample(sc *fusedScratch, x []float32, s int) []float32 {
	c := f.c
	xs := x[s*c.inWidth : (s+1)*c.inWidth]
	if c.padded {
		c.padSample(sc.pad, xs)
		return sc.pad
	}
	return xs
}

// forward computes samples s0 … s1−1: each one's conv outputs (and relu's
// mask) into sc.y, then their maxima and argmax into the pool's y and
// arg.
func (f *convPool) forward(sc *fusedScratch, x []float32, s0, s1 int) {
	c, p := f.c, f.p
	pix, fl := c.g.pixels(), c.Filters
	ms := kernels.MaskStride(fl)
	w, b := c.Kernel.Value, c.bias()
	for s := s0; s < s1; s++ {
		xs := f.sample(sc, x, s)
		if c.relu() {
			kernels.ConvForward(nil, sc.y, c.mask[s*pix*ms:(s+1)*pix*ms], xs, c.win, 0, pix, w, fl, b)
		} else {
			kernels.ConvForward(sc.y, nil, nil, xs, c.win, 0, pix, w, fl, b)
		}
		o := s * p.outWidth
		p.pool(p.y[o:o+p.outWidth], p.argAt(o, o+p.outWidth), sc.y, 1)
	}
}

// Backward computes the conv's kernel and bias gradients and, if needed,
// its input gradient, from the pooled outputs' gradient dy.
func (f *convPool) Backward(dy []float32, n int) []float32 {
	c := f.c
	if f.unfused {
		return c.Backward(f.p.Backward(dy, n), n)
	}
	if c.gdx {
		c.transposeKernel()
	}
	groups := (n + c.group - 1) / c.group
	if parts := f.parts(n, groups); parts > 1 {
		f.job.dy, f.job.n, f.job.parts = dy, n, parts
		f.job.pipe = f.next != nil && f.next.th != nil && f.next.th.piping
		c.tp.RunSlots(parts, f.bwdFn)
		f.job.dy, f.job.pipe = nil, false
	} else {
		f.backward(&f.scr[0], dy, n, 0, groups)
	}
	if f.next != nil {
		f.next.pipeFinish() // the Dense's weight gradient, what is left of it
		f.next.dxLater = nil
	}
	c.sumGroups(groups)
	if !c.gdx {
		return nil
	}
	return c.dx[:n*c.inWidth]
}

func (f *convPool) backwardPart(part, slot int) {
	groups := (f.job.n + f.c.group - 1) / f.c.group
	g0, g1 := parallel.Range(groups, f.job.parts, part)
	if f.job.pipe {
		f.next.pipeTake(slot, false) // the Dense's weight gradient, as far as it can go
	}
	f.backward(&f.scr[slot], f.job.dy, f.job.n, g0, g1)
	if f.job.pipe {
		f.next.pipeTake(slot, false)
	}
}

// backward computes the partial kernel and bias gradients of groups
// g0 … g1−1 (of n samples) and their samples' input gradients: for each
// sample in order, the pool's input gradient into sc.d, then the conv's
// gradients from it. When the chained Dense left its input gradient (this
// stage's dy) to the stage, each group's is made first, into sc.dy: it
// is read right away, from the core's own cache, and the batch's array
// (the cnn's: 2.7 MB a step) is neither written nor read.
func (f *convPool) backward(sc *fusedScratch, dy []float32, n, g0, g1 int) {
	c, p := f.c, f.p
	pix, fl, k := c.g.pixels(), c.Filters, c.k
	ms := kernels.MaskStride(fl)
	clear(c.gpart[g0*(k+1)*fl : g1*(k+1)*fl])
	next := f.next
	for g := g0; g < g1; g++ {
		gk, gb := c.groupPartial(g)
		s0, s1 := g*c.group, min(n, (g+1)*c.group)
		dys, first := dy, 0 // dys holds sample s at (s − first)·outWidth
		if next != nil && next.dxLater != nil {
			next.inputGradTo(sc.dy, s0, s1, next.dxLater)
			dys, first = sc.dy, s0
		}
		for s := s0; s < s1; s++ {
			o, od := s*p.outWidth, (s-first)*p.outWidth
			p.backward(sc.d, dys[od:od+p.outWidth], p.argAt(o, o+p.outWidth), 1)
			var m []uint8
			if c.relu() {
				m = c.mask[s*pix*ms : (s+1)*pix*ms]
			}
			// relu's derivative (y > 0 exactly where the mask is set) is
			// applied by the kernel gradient and by the input gradient's
			// lists of non-zero filters, not by a pass of its own.
			d := sc.d
			kernels.ConvGrad(gk, gb, f.sample(sc, f.x, s), c.win, 0, pix, d, m, fl)
			if c.gdx {
				dx := c.dx[s*c.inWidth : (s+1)*c.inWidth]
				clear(dx)
				for q := 0; q < pix; q++ {
					var mq []uint8
					if m != nil {
						mq = m[q*ms : (q+1)*ms]
					}
					c.dxPixel(c.dx, d[q*fl:(q+1)*fl], mq, s*pix+q, sc.fidx, sc.fval, sc.dcol)
				}
			}
		}
	}
}
