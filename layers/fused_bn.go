package layers

import (
	"github.com/kiln-ml/kiln/internal/kernels"
	"github.com/kiln-ml/kiln/internal/parallel"
)

// FuseRun returns a Stage standing for the first layers of ls and how
// many of them it covers (at least 2), or false: BatchNormalization →
// ReLU → MaxPooling2D (bnReluPool), or a pair Fuse joins. The trainer
// passes the layers after the stage's first that nothing but the stage
// reads (not the model's last layer).
func FuseRun(ls []Layer) (Stage, int, bool) {
	if len(ls) >= 3 {
		if f, ok := fuseBNReluPool(ls[0], ls[1], ls[2]); ok {
			return f, 3, true
		}
	}
	if len(ls) >= 2 {
		if f, ok := Fuse(ls[0], ls[1]); ok {
			return f, 2, true
		}
	}
	return nil, 0, false
}

// bnReluPool is a BatchNormalization, a ReLU and the MaxPooling2D after
// it, trained sample by sample in cache, the way Conv2D and its pooling
// are (convPool): the normalised activations, their relu and, backward,
// their gradients are never written for the whole batch (4 arrays of the
// batch's size each way: cnn-bn's are 11 MB each). What the passes keep
// is the BatchNormalization's input (the convolution's output, which it
// needs anyway), the pool's argmax and the layer's batch statistics.
//
// Forward takes the batch's channel sums (BatchNormalization's own
// pass), then, per sample, normalises and scales it into scratch, takes
// its relu and pools it. Backward makes each sample's gradient before
// the normalisation twice, in scratch: the pool's routing, then relu's
// derivative on the recomputed relu (the same numbers as Forward's); the
// first time for the channel sums Σdy and Σdy·x̂ (by BatchNormalization's
// groups of rows, in order: a part of the job takes whole groups, and a
// sample across two parts' groups is made by both, each adding its own
// rows), the second time for the input gradient. Every number is made by
// the kernels the three layers call on their own, over the same values
// in the same order, so results are bit-identical to the layers apart,
// for any number of threads (TestFusedBNReluPoolBitIdentical).
type bnReluPool struct {
	b      *BatchNormalization
	a      *Activation
	p      *MaxPooling2D
	fa, fo []float32 // the forward pass's factors: relu(x·fa + fo)
	x      []float32
	scr    []bnScratch // one per thread (RunSlots' slot)
	job    struct {
		dy       []float32
		n, parts int
		rows     int // the batch's rows (samples × pixels)
	}
	fwdFn, sumFn, dxFn func(part, slot int)
}

// bnScratch is a sample's normalised relu (y), its gradient from the pool
// (d) and that gradient through relu (dr).
type bnScratch struct{ y, d, dr []float32 }

// fuseBNReluPool returns the stage for b → a → p when b is a
// BatchNormalization, a a relu Activation and p a MaxPooling2D over a's
// output, all built.
func fuseBNReluPool(l0, l1, l2 Layer) (Stage, bool) {
	b, ok0 := l0.(*BatchNormalization)
	a, ok1 := l1.(*Activation)
	p, ok2 := l2.(*MaxPooling2D)
	if !ok0 || !ok1 || !ok2 || a.act.Name != "relu" || b.c == 0 || p.inWidth != b.outWidth || a.outWidth != b.outWidth ||
		b.outWidth%b.c != 0 || p.g.cin != b.c {
		return nil, false
	}
	return &bnReluPool{b: b, a: a, p: p}, true
}

// Allocate sizes the layers' buffers the stage uses and each thread's
// scratch.
func (f *bnReluPool) Allocate(maxBatch int, needInputGrad bool) {
	f.b.Allocate(maxBatch, needInputGrad)
	f.a.Allocate(maxBatch, true)
	f.p.Allocate(maxBatch, true)
	w := f.b.outWidth
	f.fa, f.fo = kernels.AlignedFloats(f.b.c), kernels.AlignedFloats(f.b.c)
	f.scr = make([]bnScratch, f.b.tp.Threads())
	for i := range f.scr {
		f.scr[i] = bnScratch{kernels.AlignedFloats(w), kernels.AlignedFloats(w), kernels.AlignedFloats(w)}
	}
	f.fwdFn, f.sumFn, f.dxFn = f.forwardPart, f.sumPart, f.dxPart
}

// parts is how many parts a pass over n samples is split into, in units
// of at most units.
func (f *bnReluPool) parts(n, units int) int {
	tp := f.b.tp
	if len(f.scr) != tp.Threads() {
		return 1
	}
	return min(units, tp.Parts(n*f.b.outWidth, minElems))
}

// Forward computes the pooled relu of the normalised batch; training
// uses the batch's statistics (and moves the moving ones), else the
// layers run apart.
func (f *bnReluPool) Forward(x []float32, n int, training bool) []float32 {
	b, p := f.b, f.p
	if !training {
		return p.Forward(f.a.Forward(b.Forward(x, n, false), n, false), n, false)
	}
	m := n * b.outWidth
	b.inMode = false
	b.batchMoments(x[:m])
	b.affineFactors(f.fa, f.fo, b.mean[:b.c], b.invStd[:b.c])
	b.x, f.x = x[:m], x
	f.job.n = n
	if parts := f.parts(n, n); parts > 1 {
		f.job.parts = parts
		b.tp.RunSlots(parts, f.fwdFn)
	} else {
		f.forward(&f.scr[0], 0, n)
	}
	return p.y[:n*p.outWidth]
}

func (f *bnReluPool) forwardPart(part, slot int) {
	s0, s1 := parallel.Range(f.job.n, f.job.parts, part)
	f.forward(&f.scr[slot], s0, s1)
}

// forward pools samples s0 … s1−1.
func (f *bnReluPool) forward(sc *bnScratch, s0, s1 int) {
	p := f.p
	for s := s0; s < s1; s++ {
		f.relu(sc, s)
		o := s * p.outWidth
		p.pool(p.y[o:o+p.outWidth], p.argAt(o, o+p.outWidth), sc.y, 1)
	}
}

// relu sets sc.y to sample s's normalised relu.
func (f *bnReluPool) relu(sc *bnScratch, s int) {
	w := f.b.outWidth
	kernels.ChannelAffine(sc.y, f.x[s*w:(s+1)*w], f.fa, f.fo)
	kernels.Relu(sc.y, sc.y)
}

// grad sets sc.dr to sample s's gradient before the relu: the pool's
// routing of dy into sc.d, then relu's derivative.
func (f *bnReluPool) grad(sc *bnScratch, dy []float32, s int) {
	p := f.p
	o := s * p.outWidth
	p.backward(sc.d, dy[o:o+p.outWidth], p.argAt(o, o+p.outWidth), 1)
	f.relu(sc, s)
	kernels.ReluGrad(sc.dr, sc.y, sc.d)
}

// Backward sets gamma's and beta's gradients and returns the input
// gradient, from the pooled outputs' gradient dy.
func (f *bnReluPool) Backward(dy []float32, n int) []float32 {
	b := f.b
	if b.inMode {
		return b.Backward(f.a.Backward(f.p.Backward(dy, n), n), n)
	}
	m := n * b.outWidth
	c := b.c
	rows := m / c
	groups := sumGroupsOf(rows)
	f.job.dy, f.job.n, f.job.rows = dy, n, rows
	if parts := f.parts(n, groups); parts > 1 {
		f.job.parts = parts
		b.tp.RunSlots(parts, f.sumFn)
	} else {
		f.sums(&f.scr[0], 0, groups)
	}
	b.addPartials(b.sum[:c], b.sum2[:c], groups)
	if !b.gradFactors(m) {
		f.job.dy = nil
		return nil
	}
	if parts := f.parts(n, n); parts > 1 {
		f.job.parts = parts
		b.tp.RunSlots(parts, f.dxFn)
	} else {
		f.dx(&f.scr[0], 0, n)
	}
	f.job.dy = nil
	return b.dx[:m]
}

func (f *bnReluPool) sumPart(part, slot int) {
	groups := sumGroupsOf(f.job.rows)
	g0, g1 := parallel.Range(groups, f.job.parts, part)
	f.sums(&f.scr[slot], g0, g1)
}

// sums sets the partial sums of groups g0 … g1−1 (BatchNormalization's
// partials): the samples holding their rows, in order, each one's rows
// of these groups added to its group's partial.
func (f *bnReluPool) sums(sc *bnScratch, g0, g1 int) {
	b := f.b
	c := b.c
	pix := b.outWidth / c
	r0, r1 := g0*sumGroup, min(f.job.rows, g1*sumGroup)
	if r0 >= r1 {
		return
	}
	clear(b.partials[g0*2*c : g1*2*c])
	for s := r0 / pix; s*pix < r1; s++ {
		f.grad(sc, f.job.dy, s)
		// This sample's rows within [r0, r1), group by group.
		for lo := max(r0, s*pix); lo < min(r1, (s+1)*pix); {
			g := lo / sumGroup
			hi := min(r1, (s+1)*pix, (g+1)*sumGroup)
			part := b.partials[g*2*c : (g+1)*2*c]
			a, e := (lo-s*pix)*c, (hi-s*pix)*c
			kernels.NormGradSums(part[:c], part[c:], f.x[lo*c:hi*c], sc.dr[a:e], b.mean[:c], b.invStd[:c])
			lo = hi
		}
	}
}

func (f *bnReluPool) dxPart(part, slot int) {
	s0, s1 := parallel.Range(f.job.n, f.job.parts, part)
	f.dx(&f.scr[slot], s0, s1)
}

// dx sets the input gradient of samples s0 … s1−1.
func (f *bnReluPool) dx(sc *bnScratch, s0, s1 int) {
	b := f.b
	c, w := b.c, b.outWidth
	for s := s0; s < s1; s++ {
		f.grad(sc, f.job.dy, s)
		kernels.NormGrad(b.dx[s*w:(s+1)*w], f.x[s*w:(s+1)*w], sc.dr, b.scale[:c], b.shift[:c], b.dr[:c], b.mean[:c], b.invStd[:c])
	}
}
