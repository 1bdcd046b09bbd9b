package layers

import (
	"sync/atomic"

	"github.com/kiln-ml/kiln/internal/kernels"
	"github.com/kiln-ml/kiln/internal/parallel"
)

// Dense on several threads, for narrow layers (the row-major weight
// gradient; wide layers and ForwardBytes stay serial). The input columns
// are cut into blocks kLo[t] … kLo[t+1]−1, one per thread, and the batch
// into blocks of rows. The forward pass runs by blocks of rows: each row's
// non-zero inputs are listed block of columns by block of columns (lists
// (b, t) hold row block b's entries of column block t, indices relative to
// kLo[t]), and its sums add block after block, each in increasing k: the
// same products added in the same order as one list of the whole row. The
// weight gradient runs by column blocks: thread t adds, for every row
// block in order, its rows' entries into its own rows of dW (ScatterBatch),
// so every element still receives its terms in increasing row order. dx
// runs by blocks of rows; the transpose of W it reads, by column blocks.
// A Dense reading features (DenseInput) splits the same way, with dense
// products instead of lists: its rows' sums by ConvForward, column block
// t of dW by ConvGrad over every row in order (colWin).

// denseThreads is Dense's per-thread state, made by Allocate when the pool
// has more than one thread and the layer is narrow.
type denseThreads struct {
	threads int   // the pool's, when made
	kLo     []int // column block t is kLo[t] … kLo[t+1]−1
	// start[t] holds the list starts of column block t: row block b's,
	// relative to its lists, at rLo[b]+b … rLo[b+1]+b.
	start [][]int
	// The running job: rows n in parts row blocks; rows is the number
	// of row blocks of the last threaded Forward (0: it ran serially).
	x, dz        []float32
	n, parts     int
	rows         int
	fwd, bwd, dx func(part int)
	// Chained (see dense_pipe.go): owner[b] is the thread that computed
	// row block b; pipe the running chain of the weight gradient, pipeNum its
	// backward pass's number.
	owner   []ownerOf
	pipe    atomic.Uint64
	pipeNum uint64
	piping  bool // a chain is open (pipeStart, until pipeFinish)
}

// ownerOf is the thread that computed a row block, alone on its cache
// line: the forward parts of both threads set theirs.
type ownerOf struct {
	slot int
	_    [56]byte
}

// allocThreads sets up the per-thread state (none for one thread or a
// wide layer).
func (d *Dense) allocThreads(maxRows int) {
	d.th = nil
	t := d.tp.Threads()
	if t == 1 || d.gpad == nil {
		return
	}
	kb := min(t, d.feat)
	th := &denseThreads{threads: t}
	for i := 0; i < kb; i++ {
		lo, _ := parallel.Range(d.feat, kb, i)
		th.kLo = append(th.kLo, lo)
	}
	th.kLo = append(th.kLo, d.feat)
	parts := d.tp.MaxParts() // row blocks
	th.start = make([][]int, kb)
	for i := range th.start {
		th.start[i] = make([]int, maxRows+parts+1)
	}
	// Room for every (row block, column block) list's padding.
	if need := maxRows*d.feat + parts*kb*kernels.Pad; len(d.idx) < need {
		d.idx = make([]int32, need)
		d.val = make([]float32, need)
	}
	th.owner = make([]ownerOf, parts)
	th.fwd, th.bwd, th.dx = d.forwardPart, d.gradPart, d.dxPart
	d.th = th
}

// threaded reports whether the per-thread state matches the pool.
func (d *Dense) threaded() bool { return d.th != nil && d.th.threads == d.tp.Threads() }

// lists returns where the lists of row block b, column block t start in
// idx and val, for rows split into parts blocks.
func (d *Dense) lists(b, t int) int {
	th := d.th
	r0, r1 := parallel.Range(th.n, th.parts, b)
	return r0*d.feat + (r1-r0)*th.kLo[t] + (b*(len(th.kLo)-1)+t)*kernels.Pad
}

// forwardThreads is ForwardLogits for narrow layers split by rows, if the
// pool and the sizes call for it; it reports whether it did.
func (d *Dense) forwardThreads(x []float32, n int) bool {
	if !d.threaded() {
		return false
	}
	d.th.rows = 0
	parts := min(n, d.tp.Parts(n*d.feat*d.Units, minFlops))
	if parts < 2 {
		return false
	}
	th := d.th
	th.x, th.n, th.parts = x, n, parts
	d.tp.Run(parts, th.fwd)
	th.x = nil
	th.rows = parts
	return true
}

// forwardPart computes the sums of row block b's rows.
func (d *Dense) forwardPart(b int) {
	th := d.th
	in, u := d.feat, d.Units
	kb := len(th.kLo) - 1
	w := d.Kernel.Value
	r0, r1 := parallel.Range(th.n, th.parts, b)
	if d.denseFwd {
		kernels.ConvForward(d.z[r0*u:], nil, nil, d.cx, d.rowWin, r0, r1, w, u, d.biasValue())
		return
	}
	// Each row's lists are made just before its sums read them, two rows
	// at a time, while they are in the core's nearest cache: listing the
	// whole block first (64 rows of the cnn's 5408 inputs: over 1 MB of
	// lists) and summing after sent every entry out to the shared cache
	// and back (1.5× the listing's and the sums' time on two threads).
	// The lists are the same, in the same places, either way.
	// start[t][r0+b+i] is row r0+i's first entry in block t's lists;
	// listing a row sets the next row's.
	for t := 0; t < kb; t++ {
		th.start[t][r0+b] = 0
	}
	list := func(r int) {
		xr := th.x[r*in : (r+1)*in]
		for t := 0; t < kb; t++ {
			base, k0, k1 := d.lists(b, t), th.kLo[t], th.kLo[t+1]
			start := th.start[t][r0+b+r-r0:]
			start[1] = start[0] + kernels.NonZero(d.idx[base+start[0]:], d.val[base+start[0]:], xr[k0:k1], nil, 0)
		}
	}
	for r := r0; r < r1; r++ {
		d.initRow(d.z[r*u : (r+1)*u])
	}
	// The sums, two rows at a time, each block of columns after the
	// previous one.
	r := r0
	for ; r+1 < r1; r += 2 {
		list(r)
		list(r + 1)
		z0, z1 := d.z[r*u:(r+1)*u], d.z[(r+1)*u:(r+2)*u]
		for t := 0; t < kb; t++ {
			base, start := d.lists(b, t), th.start[t][r0+b:]
			idx, val := d.idx[base:], d.val[base:]
			a, m, e := start[r-r0], start[r-r0+1], start[r-r0+2]
			kernels.AccumRows2(z0, z1, w[th.kLo[t]*u:], u, idx[a:m], val[a:m], idx[m:e], val[m:e])
		}
	}
	if r < r1 {
		list(r)
		zr := d.z[r*u : (r+1)*u]
		for t := 0; t < kb; t++ {
			base, start := d.lists(b, t), th.start[t][r0+b:]
			a, e := start[r-r0], start[r-r0+1]
			kernels.AccumRows(zr, w[th.kLo[t]*u:], u, d.idx[base+a:base+e], d.val[base+a:base+e])
		}
	}
}

// gradThreads computes dW by column blocks (and Wᵀ, for dx, by the same
// blocks) after a threaded Forward; it reports whether it did.
func (d *Dense) gradThreads(dz []float32, n int) bool {
	if !d.threaded() || d.th.rows == 0 || d.th.n != n {
		return false
	}
	th := d.th
	th.dz = dz
	d.tp.Run(len(th.kLo)-1, th.bwd)
	return true
}

func (d *Dense) gradPart(t int) {
	th := d.th
	u := d.Units
	k0, k1 := th.kLo[t], th.kLo[t+1]
	if d.denseFwd {
		// Every row in order, for this block of W's rows: the columns
		// k0 … k1−1 of the input seen as a window at each row's k0.
		g := d.Kernel.Grad[k0*u : k1*u]
		clear(g)
		kernels.ConvGrad(g, nil, d.cx[k0:], d.colWin[t], 0, th.n, th.dz, nil, u)
	} else {
		for b := 0; b < th.rows; b++ {
			d.scatter(b, t)
		}
		ps := padStride(u)
		kernels.CopyRows(d.Kernel.Grad[k0*u:], u, d.gpad[k0*ps:k1*ps], ps, k1-k0, u, true)
	}
	if d.needDX {
		d.transposeRows(k0, k1)
	}
}

// scatter adds the terms of row block b's rows to column block t of dW
// (gpad), the rows in increasing order, from the lists of Forward.
func (d *Dense) scatter(b, t int) {
	th := d.th
	u := d.Units
	ps := padStride(u)
	r0, r1 := parallel.Range(th.n, th.rows, b)
	base := d.lists(b, t)
	g := d.gpad[th.kLo[t]*ps : th.kLo[t+1]*ps]
	kernels.ScatterBatch(g, ps, d.idx[base:], d.val[base:], th.start[t][r0+b:r1+b+1], th.dz[r0*u:r1*u])
}

// dxThreads computes dx = dz·Wᵀ by blocks of rows (after gradThreads
// set Wᵀ); it reports whether it did.
func (d *Dense) dxThreads(dz []float32, n int) bool {
	if !d.threaded() || d.th.rows == 0 || d.th.n != n {
		return false
	}
	th := d.th
	th.dz = dz
	d.tp.Run(th.rows, th.dx)
	th.dz = nil
	return true
}

func (d *Dense) dxPart(b int) {
	r0, r1 := parallel.Range(d.th.n, d.th.rows, b)
	d.inputGrad(r0, r1, d.th.dz)
}
