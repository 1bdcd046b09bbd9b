package layers

import (
	"github.com/kiln-ml/kiln/internal/kernels"
	"github.com/kiln-ml/kiln/internal/parallel"
)

// BatchNormalization on several threads. The per-channel sums (Σx and
// Σx², Σdy and Σdy·x̂), each over the batch's rows in order, are split by
// blocks of channels: a thread copies its channels of a chunk of rows into
// its own compact buffer (in cache) and runs the same kernel on it, chunk
// after chunk, so every sum takes the same terms in the same row order.
// The element-wise passes (y = x·a + off, dx) are split by rows.

// bnChunk is how many rows a thread copies at a time for the sums.
const bnChunk = 256

// bnAlign is the channel-block granularity of the sums (16 float32, one
// 64-byte line of a row; 2 vectors of float64 sums).
const bnAlign = 16

type bnThreads struct {
	threads int
	cLo     []int // channel block t is cLo[t] … cLo[t+1]−1
	xb, db  [][]float32
	// The running job.
	x, dy, out                      []float32
	a, q, r                         []float32
	rows                            int
	parts                           int
	moments, gradSums, affine, grad func(part int)
}

func (b *BatchNormalization) allocThreads() {
	b.th = nil
	t := b.tp.Threads()
	if t == 1 {
		return
	}
	th := &bnThreads{threads: t}
	blocks := min(t, b.c/bnAlign)
	if blocks >= 2 {
		for i := 0; i <= blocks; i++ {
			lo, _ := parallel.AlignedRange(b.c, blocks, i, bnAlign)
			if i == blocks {
				lo = b.c
			}
			th.cLo = append(th.cLo, lo)
		}
		th.xb, th.db = make([][]float32, blocks), make([][]float32, blocks)
		for i := range blocks {
			w := th.cLo[i+1] - th.cLo[i]
			th.xb[i] = make([]float32, bnChunk*w)
			th.db[i] = make([]float32, bnChunk*w)
		}
	}
	th.moments, th.gradSums, th.affine, th.grad = b.momentsPart, b.gradSumsPart, b.affinePart, b.gradPart
	b.th = th
}

func (b *BatchNormalization) threaded() bool { return b.th != nil && b.th.threads == b.tp.Threads() }

// sumsThreads runs ChannelMoments (dy nil) or NormGradSums over the rows
// of x by channel blocks, into b.sum and b.sum2 (cleared); it reports
// whether it did.
func (b *BatchNormalization) sumsThreads(x, dy []float32) bool {
	if !b.threaded() || b.th.cLo == nil || b.tp.Parts(len(x), minElems) < 2 {
		return false
	}
	th := b.th
	th.x, th.dy, th.rows = x, dy, len(x)/b.c
	if dy == nil {
		b.tp.Run(len(th.cLo)-1, th.moments)
	} else {
		b.tp.Run(len(th.cLo)-1, th.gradSums)
	}
	th.x, th.dy = nil, nil
	return true
}

// gather copies channels c0 … c1−1 of rows r0 … r1−1 of src into dst.
func (b *BatchNormalization) gather(dst, src []float32, r0, r1, c0, c1 int) []float32 {
	w, c := c1-c0, b.c
	for r := r0; r < r1; r++ {
		copy(dst[(r-r0)*w:(r-r0+1)*w], src[r*c+c0:r*c+c1])
	}
	return dst[:(r1-r0)*w]
}

func (b *BatchNormalization) momentsPart(t int) {
	th := b.th
	c0, c1 := th.cLo[t], th.cLo[t+1]
	for r0 := 0; r0 < th.rows; r0 += bnChunk {
		r1 := min(r0+bnChunk, th.rows)
		kernels.ChannelMoments(b.sum[c0:c1], b.sum2[c0:c1], b.gather(th.xb[t], th.x, r0, r1, c0, c1))
	}
}

func (b *BatchNormalization) gradSumsPart(t int) {
	th := b.th
	c0, c1 := th.cLo[t], th.cLo[t+1]
	for r0 := 0; r0 < th.rows; r0 += bnChunk {
		r1 := min(r0+bnChunk, th.rows)
		kernels.NormGradSums(b.sum[c0:c1], b.sum2[c0:c1], b.gather(th.xb[t], th.x, r0, r1, c0, c1),
			b.gather(th.db[t], th.dy, r0, r1, c0, c1), b.mean[c0:c1], b.invStd[c0:c1])
	}
}

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
