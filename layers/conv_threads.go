package layers

import (
	"github.com/kiln-ml/kiln/internal/kernels"
	"github.com/kiln-ml/kiln/internal/parallel"
)

// Conv2D on several threads (dense path; the sparse path stays serial):
// the forward pass and the input gradient are split by samples, each
// sample's outputs computed by the same kernel calls as on one thread; the
// kernel gradient, a sum over the batch's pixels, is split by kernel
// positions kk (rows of the (kh·kw·C) × filters gradient): each thread sums
// its rows over every pixel of the batch in increasing order, as
// kernels.ConvGrad on one thread does, through a Windows holding its
// kernel positions only. The bias gradient goes with the first block.

// convJob holds the arguments of the running parallel job.
type convJob struct {
	x, z, y, dz []float32
	mask        []uint8
	n, parts    int
}

// convThreads is Conv2D's per-thread state, made by Allocate when the
// pool has more than one thread.
type convThreads struct {
	threads int // the pool's, when made
	job     convJob
	// Per-thread scratch for dx (thread 0 uses the layer's own).
	fidx      [][]int32
	fval      [][]float32
	dcol      [][]float32
	fwd, grad func(part int)
	dx        func(part, slot int)
}

// allocThreads sets up the per-thread state for the layer's pool (none
// for one thread).
func (c *Conv2D) allocThreads() {
	c.th = nil
	t := c.tp.Threads()
	if t == 1 {
		return
	}
	th := &convThreads{threads: t}
	if c.gdx {
		th.fidx, th.fval, th.dcol = make([][]int32, t), make([][]float32, t), make([][]float32, t)
		th.fidx[0], th.fval[0], th.dcol[0] = c.fidx, c.fval, c.dcol
		for i := 1; i < t; i++ {
			th.fidx[i] = make([]int32, c.Filters+kernels.Pad)
			th.fval[i] = make([]float32, c.Filters+kernels.Pad)
			th.dcol[i] = make([]float32, c.k)
		}
	}
	th.fwd, th.grad, th.dx = c.forwardPart, c.gradPart, c.dxPart
	c.th = th
}

// threaded reports whether the per-thread state matches the pool.
func (c *Conv2D) threaded() bool { return c.th != nil && c.th.threads == c.tp.Threads() }

// sampleSource is sample s as the kernels read it once a parallel forward
// pass has placed every sample (padded copies in xpad when padded).
func (c *Conv2D) sampleSource(x []float32, s int) []float32 {
	if c.padded {
		return c.xpad[s*c.srcWidth : (s+1)*c.srcWidth]
	}
	return x[s*c.inWidth : (s+1)*c.inWidth]
}

// forwardParts is how many parts the dense forward pass of n samples is
// split into (1: serial). Padded layers need xpad to hold the whole batch.
func (c *Conv2D) forwardParts(n int) int {
	if !c.threaded() || (c.padded && len(c.xpad) < n*c.srcWidth) {
		return 1
	}
	return min(n, c.tp.Parts(n*c.g.pixels()*c.k*c.Filters, minFlops))
}

// forwardThreads is forward's dense path split by samples.
func (c *Conv2D) forwardThreads(x []float32, n int, z, y []float32, parts int) {
	c.th.job = convJob{x: x, n: n, z: z, y: y, parts: parts}
	c.tp.Run(parts, c.th.fwd)
	c.th.job = convJob{}
	if c.padded {
		c.padLo, c.padN = 0, n
	}
	c.kept = true
}

func (c *Conv2D) forwardPart(part int) {
	j := &c.th.job
	s0, s1 := parallel.Range(j.n, j.parts, part)
	f, p := c.Filters, c.g.pixels()
	w, b := c.Kernel.Value, c.bias()
	ms := kernels.MaskStride(f)
	for s := s0; s < s1; s++ {
		xs := j.x[s*c.inWidth : (s+1)*c.inWidth]
		if c.padded {
			c.padSample(c.xpad[s*c.srcWidth:(s+1)*c.srcWidth], xs)
		}
		xs = c.sampleSource(j.x, s)
		r, e := s*p, (s+1)*p
		var m []uint8
		if j.y != nil {
			m = c.mask[r*ms : e*ms]
		}
		kernels.ConvForward(sub(j.z, r*f, e*f), sub(j.y, r*f, e*f), m, xs, c.win, 0, p, w, f, b)
	}
}

// gradThreads computes the dense path's partial kernel and bias sums of
// the groups of samples (see gradGroupSize) split over the threads by
// whole groups, if the pool and the sizes call for it and every sample's
// source is at hand; it reports whether it did.
func (c *Conv2D) gradThreads(dz []float32, mask []uint8, n int) bool {
	if !c.threaded() || (c.padded && (c.padLo != 0 || c.padN < n)) {
		return false
	}
	groups := (n + c.group - 1) / c.group
	parts := min(groups, c.tp.Parts(n*c.g.pixels()*c.k*c.Filters, minFlops))
	if parts < 2 {
		return false
	}
	c.th.job = convJob{x: c.x, n: n, dz: dz, mask: mask, parts: parts}
	c.tp.Run(parts, c.th.grad)
	c.th.job = convJob{}
	return true
}

// gradPart sums the groups of part: each group's samples in order into its
// own partial.
func (c *Conv2D) gradPart(part int) {
	j := &c.th.job
	f, k, p := c.Filters, c.k, c.g.pixels()
	ms := kernels.MaskStride(f)
	groups := (j.n + c.group - 1) / c.group
	g0, g1 := parallel.Range(groups, j.parts, part)
	clear(c.gpart[g0*(k+1)*f : g1*(k+1)*f])
	for g := g0; g < g1; g++ {
		gk, gb := c.groupPartial(g)
		for s := g * c.group; s < min(j.n, (g+1)*c.group); s++ {
			r, e := s*p, (s+1)*p
			var m []uint8
			if j.mask != nil {
				m = j.mask[r*ms : e*ms]
			}
			kernels.ConvGrad(gk, gb, c.sampleSource(j.x, s), c.win, 0, p, j.dz[r*f:e*f], m, f)
		}
	}
}

// dxThreads computes dx split by samples (after wt is set), if the pool
// and the sizes call for it; it reports whether it did.
func (c *Conv2D) dxThreads(dz []float32, n int) bool {
	if !c.threaded() || c.th.fidx == nil {
		return false
	}
	parts := min(n, c.tp.Parts(n*c.g.pixels()*c.k*c.Filters, minFlops))
	if parts < 2 {
		return false
	}
	c.th.job = convJob{n: n, dz: dz, parts: parts}
	c.tp.RunSlots(parts, c.th.dx)
	c.th.job = convJob{}
	return true
}

func (c *Conv2D) dxPart(part, slot int) {
	j := &c.th.job
	f, p := c.Filters, c.g.pixels()
	s0, s1 := parallel.Range(j.n, j.parts, part)
	clear(c.dx[s0*c.inWidth : s1*c.inWidth])
	fidx, fval, dcol := c.th.fidx[slot], c.th.fval[slot], c.th.dcol[slot]
	for r := s0 * p; r < s1*p; r++ {
		c.dxPixel(c.dx, j.dz[r*f:(r+1)*f], nil, r, fidx, fval, dcol)
	}
}
