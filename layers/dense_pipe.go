package layers

import (
	"runtime"

	"github.com/kiln-ml/kiln/internal/parallel"
)

// The weight gradient of a Dense chained to the fused stage, on several
// threads, by row blocks in order instead of by column blocks.
//
// Split by column blocks, every thread would read the rows of every row
// block, half of them written by the other core in the forward pass.
// Chained, the stage's backward job adds the row blocks' terms instead,
// block after block in increasing order, each block preferably by the
// thread that computed its rows: every element of dW still receives its
// terms in increasing row order, from zero, so the sums are those of one
// pass over the batch bit for bit. The blocks form a chain, one at a
// time: the thread that computed the first blocks (the caller's range of
// the forward job) adds them before its part of the backward pass, the
// others add theirs between their parts once the chain reaches them, and
// Backward finishes what is left after the job.

// pipeState packs the running chain: the backward pass's number·2³² +
// the next block·2 + 1 while a thread is adding that block.
type pipeState = uint64

// pipeStart opens the chain for this backward pass: dz's rows, blocks 0 …
// th.rows−1 to add into dW.
func (d *Dense) pipeStart(dz []float32) {
	th := d.th
	th.dz = dz
	th.pipeNum++
	th.pipe.Store(th.pipeNum << 32)
	th.piping = true
}

// pipeTake adds blocks of the chain as thread slot while the next one is
// free and was computed by slot (or by anyone, if any), and reports whether
// the chain is complete. It adds a run of such blocks in one pass: each
// pass reads and writes all of dW (the cnn's: 216 KB) while its rows add
// only their own terms, so a thread adding its four blocks one by one
// took 150 µs of a 2-thread step where one pass over the same rows takes
// about 50.
func (d *Dense) pipeTake(slot int, any bool) bool {
	th := d.th
	for {
		st := th.pipe.Load()
		if st>>32 != th.pipeNum {
			return true // not this pass's chain
		}
		next := int(st>>1) & (1<<31 - 1)
		if next >= th.rows {
			return true
		}
		if st&1 != 0 || (!any && th.owner[next].slot != slot) {
			return false
		}
		if !th.pipe.CompareAndSwap(st, st|1) {
			continue
		}
		end := next + 1
		for end < th.rows && (any || th.owner[end].slot == slot) {
			end++
		}
		d.pipeBlocks(next, end)
		th.pipe.Store(th.pipeNum<<32 | pipeState(end)<<1)
	}
}

// pipeBlocks adds the terms of row blocks b0 … b1−1 to dW, from zero for
// the first: the rows in increasing order, in one pass.
func (d *Dense) pipeBlocks(b0, b1 int) {
	th := d.th
	if b0 == 0 {
		clear(d.Kernel.Grad)
	}
	r0, _ := parallel.Range(th.n, th.rows, b0)
	_, r1 := parallel.Range(th.n, th.rows, b1-1)
	d.rowsGrad(r0, r1, th.dz)
}

// pipeFinish adds what is left of the chain on the caller, if one is
// open, waiting for a block another thread is adding.
func (d *Dense) pipeFinish() {
	if d.th == nil || !d.th.piping {
		return
	}
	d.th.piping = false
	for n := 0; !d.pipeTake(0, true); n++ {
		if n >= 1<<15 {
			runtime.Gosched()
		}
	}
}

// transposePart sets the part-th of Wᵀ's columns (W's rows), for a chained
// forward job of th.parts parts: W does not change before the backward
// pass reads Wᵀ.
func (d *Dense) transposePart(part int) {
	d.transposeRows(parallel.Range(d.feat, d.th.parts, part))
}
