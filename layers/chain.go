package layers

import (
	"github.com/kiln-ml/kiln/internal/kernels"
	"github.com/kiln-ml/kiln/internal/parallel"
)

// Chaining a narrow Dense to the fused Conv2D → MaxPooling2D stage before
// it (through views such as Flatten). The stage's jobs split the batch by
// samples; chained, each part of the forward job computes the Dense's
// sums for its own samples right after pooling them (and a share of Wᵀ),
// and each part of the backward job computes the Dense's input gradient
// a group of samples at a time, into per-thread scratch, right before
// routing it back through the pool, and adds the Dense's weight gradient
// by runs of row blocks (dense_pipe.go). The stage pools chainTile samples
// at a time and the Dense sums them while they are in the core's own
// cache; the Dense's input gradient is likewise made for the samples the
// backward part is about to route back, and a training step on several
// threads waits for its threads at four points instead of seven.
//
// Chained, the Dense reads its input as a dense matrix through the
// convolution kernels, which are matrix products (an input row is a
// window of feat cells, a unit a filter): the sums x·W + b by
// kernels.ConvForward, dW = xᵀ·dz by kernels.ConvGrad and dx = dz·Wᵀ by
// ConvForward over Wᵀ. The stage's outputs are relu'd maxima, 58% of
// them non-zero on the cnn, too dense for the lists of non-zero inputs
// the Dense's own passes make (which pay an index and a scattered load or
// store per entry): the three products took 960 µs of a 128-sample step
// with lists and 495 µs this way (2-vCPU Zen 5, avx512). The sums are the
// same: every product rounded to float32 and added in increasing k (sums)
// or row (dW) or unit (dx), from the bias or zero; a zero input adds a
// zero term, which changes no sum unless the sum is −0 (the bias −0) or a
// weight or dz is infinite or NaN (0·Inf is NaN, as in Keras' matmul).
// TestChainedDenseBitIdentical compares every number with the unchained
// layers.

// Chain makes stage s run the forward pass and the input gradient of next
// inside its own jobs, when s is a fused Conv2D → MaxPooling2D stage and
// next a narrow Dense reading its output as flat rows (the layers between,
// if any, views). It reports whether it did. The trainer calls it once
// per Fit, before Allocate; it changes no result.
func Chain(s Stage, next Layer) bool {
	f, ok := s.(*convPool)
	d, ok2 := next.(*Dense)
	if !ok || !ok2 || d.Units > narrow || d.pos != 1 || d.feat != f.p.outWidth {
		return false
	}
	f.next = d
	d.dense = true
	return true
}

// DenseInput tells a narrow Dense that its training input is features
// computed by layers with weights, not data, so that its training steps
// read it as a dense matrix through the convolution kernels, as when
// chained (see above), instead of listing each row's non-zero inputs: the
// lists pay for themselves on raw pixels, mostly zeros, and cost about
// twice the products on relu'd features half of which are non-zero (at a
// quarter, after a Dropout of 0.5, the two cost about the same). It
// reports whether l is a narrow Dense; it changes no result. The trainer
// calls it before Allocate.
func DenseInput(l Layer) bool {
	d, ok := l.(*Dense)
	if !ok || d.Units > narrow {
		return false
	}
	d.dense = true
	return true
}

// chainTile is how many samples the chained stage pools before the Dense
// sums them: ConvForward computes 8 rows at a time (a tile), reading each
// row of W once for all of them.
const chainTile = 8

// chainable reports whether d can run its forward pass as part of a job
// of parts parts over n samples on pool tp: on the caller for one part,
// in the job's parts (threaded) for more.
func (d *Dense) chainable(tp *parallel.Pool, n, parts int) bool {
	if d.tp != tp || d.rowWin == nil || d.pos != 1 || n > d.rowWin.Len() {
		return false
	}
	return parts == 1 || (d.threaded() && parts <= tp.MaxParts())
}

// beginChain prepares d's forward pass of the n rows of x (the stage's
// whole output buffer, which the backward pass reads too), split like the
// job it runs in (parts parts, parallel.Range; 1 on one thread).
func (d *Dense) beginChain(x []float32, n, parts int) {
	d.cx = x
	if th := d.th; th != nil && parts > 1 {
		th.n, th.parts, th.rows = n, parts, 0
	}
}

// chainRows computes the sums of rows ra … rb−1 of the stage's output x
// (the buffer beginChain was given).
func (d *Dense) chainRows(ra, rb int, x []float32) {
	kernels.ConvForward(d.z[ra*d.Units:], nil, nil, x, d.rowWin, ra, rb, d.Kernel.Value, d.Units, d.biasValue())
}

// endChain marks the forward pass done: the next ForwardLogits of n rows
// returns its sums, and the next BackwardLogits leaves dx to the stage
// (inputGradLater) and computes dW from the stage's rows.
func (d *Dense) endChain(n int, parts int) {
	if d.th != nil {
		d.th.rows = 0
		if parts > 1 {
			d.th.rows = parts
		}
	}
	d.ahead, d.chained = n, true
}

// linkWindows makes the windows the dense passes read through (for at
// most maxRows rows): rows of feat cells for the sums and dW (whole, and
// by the threads' blocks of columns), rows of Units cells of dz for dx.
func (d *Dense) linkWindows(maxRows int) {
	d.rowWin, d.colWin, d.dxWin = nil, nil, nil
	if !d.dense {
		return
	}
	in, u := d.feat, d.Units
	pix, cells := strided(maxRows, in), strided(in, 1)
	d.rowWin = kernels.NewWindows(pix, cells, nil)
	if th := d.th; th != nil {
		for t := 0; t+1 < len(th.kLo); t++ {
			d.colWin = append(d.colWin, kernels.NewWindows(pix, cells[:th.kLo[t+1]-th.kLo[t]], nil))
		}
	}
	if !d.needDX {
		return
	}
	dpix, dcells := strided(maxRows, u), strided(u, 1)
	d.dxWin = make([]*kernels.Windows, maxRows+1)
	for r := 1; r <= maxRows; r++ {
		d.dxWin[r] = kernels.NewWindows(dpix[:r], dcells, nil)
	}
}

// strided returns 0, step, 2·step, … (n values): the offsets of rows of
// step values, or (step 1) indices.
func strided(n, step int) []int32 {
	o := make([]int32, n)
	for i := range o {
		o[i] = int32(i * step)
	}
	return o
}
