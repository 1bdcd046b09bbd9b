package layers

import (
	"github.com/kiln-ml/kiln/internal/kernels"
	"github.com/kiln-ml/kiln/internal/parallel"
)

// BatchNormalization on several threads: the element-wise passes (y =
// x·a + off, dx) are split by rows. The per-channel sums (Σx and Σx², Σdy
// and Σdy·x̂), each over the batch's rows in order, stay on one thread:
// splitting them by blocks of channels needs each thread to copy its
// channels of every row into a compact buffer for the kernels (whose row
// length is the channel count), and measured on cnn-bn that cost more CPU
// than it saved (about +2.5 s of CPU per epoch on 2 threads).

type bnThreads struct {
	threads int
	// The running job.
	x, dy, out   []float32
	a, q, r      []float32
	rows         int
	parts        int
	affine, grad func(part int)
}

func (b *BatchNormalization) allocThreads() {
	b.th = nil
	t := b.tp.Threads()
	if t == 1 {
		return
	}
	th := &bnThreads{threads: t}
	th.affine, th.grad = b.affinePart, b.gradPart
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
