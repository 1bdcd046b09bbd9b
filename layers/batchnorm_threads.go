package layers

import (
	"github.com/kiln-ml/kiln/internal/kernels"
	"github.com/kiln-ml/kiln/internal/parallel"
)

// BatchNormalization on several threads: the element-wise passes (y =
// x·a + off, dx) are split by rows, and so are the per-channel sums (Σx
// and Σx², Σdy and Σdy·x̂): they are taken by fixed groups of sumGroup
// rows, each group's partial sums from zero, then the partials added in
// group order, on any number of threads (groupSums). (Split by blocks of
// channels instead, each thread had to copy its channels of every row
// into a compact buffer for the kernels, whose row length is the channel
// count, and that cost more CPU than it saved: about +2.5 s of CPU per
// cnn-bn epoch on 2 threads.)

// sumGroup is the number of rows each partial of the channel sums takes:
// 4096 rows of 32 channels are 512 KB of float32, a part of a job the
// size of a few samples' pixels.
const sumGroup = 4096

// sumGroupsOf is the number of groups of sumGroup rows rows take.
func sumGroupsOf(rows int) int { return (rows + sumGroup - 1) / sumGroup }

type bnThreads struct {
	threads int
	// The running job.
	x, dy, out   []float32
	a, q, r      []float32
	rows         int
	parts        int
	affine, grad func(part int)
	sums         func(part int)
}

func (b *BatchNormalization) allocThreads() {
	b.th = nil
	t := b.tp.Threads()
	if t == 1 {
		return
	}
	th := &bnThreads{threads: t}
	th.affine, th.grad, th.sums = b.affinePart, b.gradPart, b.sumsPart
	b.th = th
}

func (b *BatchNormalization) threaded() bool { return b.th != nil && b.th.threads == b.tp.Threads() }

// affineThreads is ChannelAffine(out, x, a, off) by blocks of rows; it
// reports whether it ran (else the caller runs it).
func (b *BatchNormalization) affineThreads(out, x, a, off []float32) bool {
	return b.rowsJob(b.thAffine(), out, x, nil, a, off, nil)
}

// gradThreads is NormGrad(out, x, dy, a, q, r, mean, inv) by blocks of
// rows; it reports whether it ran.
func (b *BatchNormalization) gradThreads(out, x, dy, a, q, r []float32) bool {
	return b.rowsJob(b.thGrad(), out, x, dy, a, q, r)
}

func (b *BatchNormalization) thAffine() func(int) {
	if b.th == nil {
		return nil
	}
	return b.th.affine
}

func (b *BatchNormalization) thGrad() func(int) {
	if b.th == nil {
		return nil
	}
	return b.th.grad
}

func (b *BatchNormalization) rowsJob(fn func(int), out, x, dy, a, q, r []float32) bool {
	if !b.threaded() {
		return false
	}
	rows := len(x) / b.c
	parts := min(rows, b.tp.Parts(len(x), minElems))
	if parts < 2 {
		return false
	}
	th := b.th
	th.out, th.x, th.dy, th.a, th.q, th.r, th.rows, th.parts = out, x, dy, a, q, r, rows, parts
	b.tp.Run(parts, fn)
	th.out, th.x, th.dy = nil, nil, nil
	return true
}

func (b *BatchNormalization) affinePart(t int) {
	th := b.th
	r0, r1 := parallel.Range(th.rows, th.parts, t)
	lo, hi := r0*b.c, r1*b.c
	kernels.ChannelAffine(th.out[lo:hi], th.x[lo:hi], th.a, th.q)
}

func (b *BatchNormalization) gradPart(t int) {
	th := b.th
	r0, r1 := parallel.Range(th.rows, th.parts, t)
	lo, hi := r0*b.c, r1*b.c
	c := b.c
	kernels.NormGrad(th.out[lo:hi], th.x[lo:hi], th.dy[lo:hi], th.a, th.q, th.r, b.mean[:c], b.invStd[:c])
}

// groupSums sets sum and sq to the channel sums of the rows of x (and
// dy): Σx and Σx² (dy nil, kernels.ChannelMoments) or Σdy and Σdy·x̂
// (kernels.NormGradSums with the layer's mean and invStd), by groups of
// sumGroup rows in order (see sumGroup), split by groups over the pool's
// threads when the batch is large enough.
func (b *BatchNormalization) groupSums(sum, sq []float64, x, dy []float32) {
	c := b.c
	rows := len(x) / c
	groups := sumGroupsOf(rows)
	if need := groups * 2 * c; len(b.partials) < need {
		b.partials = make([]float64, need)
	}
	b.sumX, b.sumDY, b.sumGroups = x, dy, groups
	parts := 1
	if b.threaded() {
		parts = min(groups, b.tp.Parts(len(x), minElems))
	}
	if parts > 1 {
		b.th.parts = parts
		b.tp.Run(parts, b.th.sums)
	} else {
		b.addGroups(0, groups)
	}
	b.sumX, b.sumDY = nil, nil
	b.addPartials(sum, sq, groups)
}

// addPartials sets sum and sq to the sums of the first groups partials,
// in group order.
func (b *BatchNormalization) addPartials(sum, sq []float64, groups int) {
	c := b.c
	clear(sum)
	clear(sq)
	for g := range groups {
		p := b.partials[g*2*c : (g+1)*2*c]
		for k := range c {
			sum[k] += p[k]
			sq[k] += p[c+k]
		}
	}
}

func (b *BatchNormalization) sumsPart(t int) {
	g0, g1 := parallel.Range(b.sumGroups, b.th.parts, t)
	b.addGroups(g0, g1)
}

// addGroups computes the partial sums of groups g0 … g1−1.
func (b *BatchNormalization) addGroups(g0, g1 int) {
	c := b.c
	rows := len(b.sumX) / c
	for g := g0; g < g1; g++ {
		p := b.partials[g*2*c : (g+1)*2*c]
		clear(p)
		lo, hi := g*sumGroup*c, min(rows, (g+1)*sumGroup)*c
		if b.sumDY == nil {
			kernels.ChannelMoments(p[:c], p[c:], b.sumX[lo:hi])
		} else {
			kernels.NormGradSums(p[:c], p[c:], b.sumX[lo:hi], b.sumDY[lo:hi], b.mean[:c], b.invStd[:c])
		}
	}
}
