package layers

import "github.com/kiln-ml/kiln/internal/parallel"

// Chaining a narrow Dense to the fused Conv2D → MaxPooling2D stage before
// it (through views such as Flatten). The stage's jobs split the batch by
// samples; chained, each part of the forward job computes the Dense's
// sums for its own samples right after pooling them (and a share of Wᵀ),
// and each part of the backward job computes the Dense's input gradient
// for its samples right before routing it back through the pool, and adds
// the Dense's weight gradient block by block (dense_pipe.go). The stage
// pools two samples at a time into a scratch of two rows and the Dense
// lists and sums them at once: the batch's pooled rows (the stage's own
// output, which only the Dense reads) are never written. The Dense's
// input gradient is likewise made for the samples the backward part is
// about to route back, and read while still in the core's own cache,
// and a training step on several threads waits for its threads at four points
// instead of seven. Every number is computed by the same code as when
// the Dense runs its own jobs, its sums in the same order, so nothing
// changes but when: TestChainedDenseBitIdentical.

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
	return true
}

// chainBlock is how many samples a chained stage's backward pass on one
// thread takes at a time: the Dense's input gradient for them (the cnn's:
// 16 samples, 350 KB, within a core's own cache), then the stage's.
const chainBlock = 16

// chainable reports whether d can run its forward pass as part of a job
// of parts parts over n samples on pool tp: threaded on tp for parts ≥ 2,
// with no threads at all for one part (the stage then calls serialRows
// block by block).
func (d *Dense) chainable(tp *parallel.Pool, n, parts int) bool {
	if d.tp != tp || d.gpad == nil || d.pos != 1 {
		return false
	}
	if parts == 1 {
		return tp.Threads() == 1
	}
	return d.threaded() && parts <= tp.MaxParts()
}

// beginChain prepares d's threaded forward pass of the n rows of x, split
// like the job it runs in (parts parts, parallel.Range): the chained part
// calls forwardPart(part) once its rows of x are written.
func (d *Dense) beginChain(x []float32, n, parts int) {
	th := d.th
	th.x, th.n, th.parts, th.rows = x, n, parts, 0
}

// chainRows computes the sums of rows ra … rb−1, row r read from x's row
// r−ra, in row block part when d runs threaded, else on the caller (rows
// in order from row 0, start[0] set to 0).
func (d *Dense) chainRows(part, ra, rb int, x []float32) {
	if d.th != nil {
		d.forwardRows(part, ra, rb, x)
	} else {
		d.serialRows(x, ra, rb, nil, ra)
	}
}

// endChain marks the forward pass done: the next ForwardLogits of n rows
// returns its sums, and the next BackwardLogits leaves dx to the stage
// (inputGradLater).
func (d *Dense) endChain(n int) {
	if d.th != nil {
		d.th.x = nil
		d.th.rows = d.th.parts
	}
	d.ahead, d.chained = n, true
}
