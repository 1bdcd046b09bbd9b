package layers

import (
	"runtime"
	"sync/atomic"

	"github.com/kiln-ml/kiln/internal/kernels"
	"github.com/kiln-ml/kiln/internal/parallel"
)

// A wide Dense on several threads, split by inputs (model parallel): thread
// t owns the block of inputs k0 … k1−1 (parallel.RowBlock: rows of W) for
// the whole step — those rows of W and of dW, and the bits of the input
// masks for those k — and the optimizer updates the same rows on the same
// thread (tensor.Variable.SplitRows). What crosses between the cores each
// step is then the batch's partial sums and dz (MNIST's 784→128 with batch
// 32: 16 KB each), not the weights (400 KB): split by samples instead,
// every thread would read all of W, half of it updated on the other core,
// and each would add its rows' terms to all of dW. Split by units
// (columns of W), each thread's share of every row of W is a few cache
// lines next to the other thread's: the hardware prefetchers fetch the
// neighbours, and the update took 5 times as long as on one thread.
//
// dW splits as it is: each row k of dW is a sum over the batch of its own
// input's terms. The sums x·W + b add their terms in increasing k, so the
// blocks of k are a relay: the batch is cut into blocks of rows, and
// thread t adds its k's terms to a block of rows once thread t−1 has
// added its own (thread 0 starts them from the bias), then tells thread
// t+1. Every number is the serial pass's: the same kernel operations in
// the same order, on whichever thread owns the terms
// (kernels.AccumColsBlock, kernels.GradRowsBlock, or AccumRows over each
// row's list of non-zero inputs in the block).
//
// The input gradient splits too: column k of dx = dz·Wᵀ sums over the
// units of row k of W, which its thread owns. Whether the split beats one
// thread depends on how fast the cores exchange cache lines, so the
// trainer times both ways now and then and keeps the faster (Tunable,
// SetSplit).

// splitBlocks is how many blocks of rows the relay passes along per
// thread: the first thread waits for nothing and the last for one block
// of each thread before it, so with T threads the forward sums take
// (splitBlocks·T + T − 1)/(splitBlocks·T) of their even share; each block
// reads its thread's rows of W once more.
const splitBlocks = 2

// denseSplit is Dense's state for the split by inputs.
type denseSplit struct {
	threads int
	x, dz   []float32 // the running step's input and dz
	// For ForwardBytes: the samples rows of src (through lut), which each
	// thread converts into xb, its inputs of every row (the trainer then
	// makes no float32 copy of the batch, half of whose rows a thread
	// would read from the other core's cache).
	src    []uint8
	rows   []int
	lut    *[256]float32
	xb     []float32
	next   []int // the next step's samples (PrefetchNext)
	off    bool  // SetSplit(false): run serially
	n      int   // rows of the last split Forward (0: it ran serially)
	blocks int   // blocks of rows of the relay
	fast   bool  // sums by kernels.AccumColsBlock, else by lists
	// start[t][r] … start[t][r+1] are thread t's list of row r's non-zero
	// inputs in idx, val (for the sums by lists), from n·k0 + t·Pad.
	start [][]int
	// done[t] is pass·2³² + the blocks of rows thread t has finished.
	done     []progress
	pass     uint64
	fwd, bwd func(part int)
}

// progress is a counter alone on its cache line.
type progress struct {
	v atomic.Uint64
	_ [56]byte
}

// allocSplit sets up the split by inputs when the pool has threads to split
// over and the layer qualifies: wide, flat, at least 16 inputs per thread.
func (d *Dense) allocSplit(maxRows int) {
	d.sp = nil
	t := d.tp.Threads()
	if t > 1 && d.mask != nil && d.pos == 1 && d.feat >= 16*t {
		sp := &denseSplit{threads: t, start: make([][]int, t), done: make([]progress, t),
			xb: make([]float32, maxRows*d.feat)}
		for i := range sp.start {
			sp.start[i] = make([]int, maxRows+1)
		}
		sp.fwd, sp.bwd = d.forwardSplitPart, d.gradSplitPart
		// Room for each thread's lists and their padding.
		if need := maxRows*d.feat + t*kernels.Pad; len(d.idx) < need {
			d.idx = make([]int32, need)
			d.val = make([]float32, need)
		}
		d.sp = sp
	}
	split := d.sp != nil
	d.Kernel.SplitRows = split
}

// forwardSplit computes the sums of n rows of x split by inputs, if the
// layer and the sizes call for it; it reports whether it did.
func (d *Dense) forwardSplit(x []float32, n int) bool {
	sp := d.sp
	if sp == nil || sp.off || sp.threads != d.tp.Threads() || n*d.feat*d.Units < sp.threads*minFlops {
		return false
	}
	sp.x, sp.n = x, n
	sp.blocks = min(n, splitBlocks*sp.threads)
	sp.fast = kernels.HasAccumCols()
	sp.pass++
	d.tp.Run(sp.threads, sp.fwd)
	return true
}

// forwardBytesSplit is ForwardBytes for a layer split by inputs: the
// threads convert the bytes of their own inputs as they list them; below
// the split's sizes, the caller converts them all and runs ForwardLogits.
func (d *Dense) forwardBytesSplit(src []uint8, rows []int, lut *[256]float32, logitsOnly bool) []float32 {
	sp := d.sp
	in, u, n := d.feat, d.Units, len(rows)
	sp.src, sp.rows, sp.lut = src, rows, lut
	d.x = sp.xb
	split := d.forwardSplit(sp.xb, n)
	sp.src, sp.rows, sp.lut, sp.next = nil, nil, nil, nil
	if !split {
		for r, row := range rows {
			bytesToFloats(sp.xb[r*in:(r+1)*in], src[row*in:(row+1)*in], lut)
		}
		d.ForwardLogits(sp.xb, n)
	}
	if logitsOnly {
		return d.z[:n*u]
	}
	d.acts.forward(d.tp, d.act, d.y, d.z, n, u)
	return d.y[:n*u]
}

// bytesToFloats converts bytes as ForwardBytes reads them: lut[b], or
// float32(b) without a table.
func bytesToFloats(dst []float32, src []uint8, lut *[256]float32) {
	if lut != nil {
		kernels.U8Lookup(dst, src, lut)
	} else {
		kernels.U8ToF32(dst, src)
	}
}

// PrefetchNext gives the samples the next ForwardBytes will read, before
// this step's: split by inputs, each thread starts loading its own inputs
// of them as it finishes its share of this step's sums. It reports whether
// the layer will (else the caller should load them).
func (d *Dense) PrefetchNext(rows []int) bool {
	if d.sp == nil || d.sp.off || d.sp.threads != d.tp.Threads() {
		return false
	}
	d.sp.next = rows
	return true
}

// Tunable reports whether the layer can split its steps by inputs (see
// layers.Tunable): it is wide and flat, and its pool has threads.
func (d *Dense) Tunable() bool { return d.sp != nil }

// SetSplit turns the split by inputs on (the default) or off; the numbers
// are the same either way.
func (d *Dense) SetSplit(on bool) {
	if d.sp != nil {
		d.sp.off = !on
	}
}

// inputs returns thread t's block of inputs.
func (d *Dense) inputs(t int) (k0, k1 int) {
	return parallel.RowBlock(d.feat, d.sp.threads, t)
}

// forwardSplitPart is thread t's share of the sums: its inputs' mask bits
// (and lists) for every row, then its inputs' terms of each block of
// rows, in order, each after thread t−1's.
func (d *Dense) forwardSplitPart(t int) {
	sp := d.sp
	in, u, n := d.feat, d.Units, sp.n
	k0, k1 := d.inputs(t)
	x, w := sp.x, d.Kernel.Value
	if sp.src != nil {
		for r, row := range sp.rows {
			bytesToFloats(x[r*in+k0:r*in+k1], sp.src[row*in+k0:row*in+k1], sp.lut)
		}
	}
	words := (n + 63) / 64
	for wd := 0; wd < words; wd++ {
		clear(d.mask[wd*in+k0 : wd*in+k1])
	}
	start := sp.start[t]
	base := n*k0 + t*kernels.Pad
	s := 0
	for r := 0; r < n; r++ {
		m, bit := d.mask[(r/64)*in+k0:(r/64)*in+k1], uint64(1)<<(r%64)
		xr := x[r*in+k0 : r*in+k1]
		if sp.fast {
			kernels.NonZero(d.idx[base:], d.val[base:], xr, m, bit) // lists not kept
			continue
		}
		start[r] = s
		s += kernels.NonZero(d.idx[base+s:], d.val[base+s:], xr, m, bit)
	}
	start[n] = s
	if sp.src != nil {
		// The next step's samples, this thread's inputs of them: they are
		// scattered over the data, far beyond the caches, and loaded by
		// the caller they would sit in its core's cache.
		for _, row := range sp.next {
			kernels.Prefetch(sp.src[row*in+k0 : row*in+k1])
		}
	}
	idx, val := d.idx[base:], d.val[base:]
	for b := 0; b < sp.blocks; b++ {
		r0, r1 := parallel.Range(n, sp.blocks, b)
		if t == 0 {
			for r := r0; r < r1; r++ {
				d.initRow(d.z[r*u : (r+1)*u])
			}
		} else {
			sp.await(t-1, b+1)
		}
		if !sp.fast || !kernels.AccumColsBlock(d.z, w, x, in, u, d.mask, r0, r1, k0, k1) {
			wk := w[k0*u:]
			r := r0
			for ; r+1 < r1; r += 2 {
				a, m, e := start[r], start[r+1], start[r+2]
				kernels.AccumRows2(d.z[r*u:(r+1)*u], d.z[(r+1)*u:(r+2)*u], wk, u, idx[a:m], val[a:m], idx[m:e], val[m:e])
			}
			if r < r1 {
				a, e := start[r], start[r+1]
				kernels.AccumRows(d.z[r*u:(r+1)*u], wk, u, idx[a:e], val[a:e])
			}
		}
		sp.done[t].v.Store(sp.pass<<32 | uint64(b+1))
	}
}

// await waits until thread t has finished blocks blocks of rows of this
// pass.
func (sp *denseSplit) await(t, blocks int) {
	want := sp.pass<<32 | uint64(blocks)
	for i := 0; sp.done[t].v.Load() < want; i++ {
		if i >= 1<<12 {
			runtime.Gosched() // thread t is not running: let it
		}
	}
}

// gradSplit computes dW (and db) split by inputs after a split Forward of
// n rows; it reports whether it did.
func (d *Dense) gradSplit(dz []float32, n int) bool {
	sp := d.sp
	if sp == nil || sp.n == 0 || sp.n != n || sp.threads != d.tp.Threads() {
		return false
	}
	sp.dz = dz
	d.tp.Run(sp.threads, sp.bwd)
	sp.dz, sp.x = nil, nil
	return true
}

// gradSplitPart computes thread t's rows of dW, thread 0 db, and, when the
// layer needs it, thread t's columns of dx = dz·Wᵀ: column k of dx reads
// row k of W only, so each thread transposes its own rows into Wᵀ and
// sums its columns of dx over the units in increasing order, from zero,
// as the serial pass does (inputGradCols).
func (d *Dense) gradSplitPart(t int) {
	sp := d.sp
	in, u, n := d.feat, d.Units, sp.n
	k0, k1 := d.inputs(t)
	kernels.GradRowsBlock(d.Kernel.Grad, sp.x, in, sp.dz, u, d.mask, n, k0, k1)
	if t == 0 {
		d.biasGrad(sp.dz, n)
	}
	if !d.needDX {
		return
	}
	d.transposeRows(k0, k1)
	d.inputGradCols(0, n, k0, k1, sp.dz)
}
