package optimizers

import "github.com/kiln-ml/kiln/internal/parallel"

// Threaded is an optimizer whose Apply can split its update over the
// threads of a pool. Every optimizer here updates each weight from its own
// gradient and slots only, so the split is by index ranges and the result
// is bit-identical whatever the number of threads. Fit sets the pool and
// takes it back (SetPool(nil)) when it returns.
type Threaded interface {
	Optimizer
	// SetPool sets the pool Apply uses (nil: serial).
	SetPool(p *parallel.Pool)
}

// minUpdate is the fewest weights per part before an update is split
// when the step ran on the caller alone: a smaller update stays there,
// where its weights, gradients and slots are already in the core's cache
// (an MLP with batch 32 whose 100K weights were split from 2¹⁴: 0.18 →
// 0.29 s per epoch on two threads). minSpread is the fewest when the step's
// layers ran on the pool: their gradients were written by several cores
// and the weights will be read by them, so the update is split too, part
// i next to the layers' part i (the convnet's 54K weights: the serial
// update took 3× its one-thread time, reading the other core's writes;
// 0.75 → 0.68 s per epoch on two threads). Either depends on sizes only,
// and no result depends on the split.
const (
	minUpdate = 1 << 18
	minSpread = 1 << 14
)

// split is the pool an optimizer's Apply runs on and the running job.
type split struct {
	tp     *parallel.Pool
	parts  int
	total  int
	update func(i, lo, hi int) // the running job: update vars[i][lo:hi]
	jobs   uint64              // the pool's Jobs() after the last update
	fn     func(part int)
	rowFn  func(part int) // runRows
}

// each calls update(i, lo, hi) over the elements of every variable, with
// the variables' elements seen as one range split evenly over the pool.
// update must be made once (a method value kept by the optimizer), not per
// call, so that Apply allocates nothing.
func (b *base) each(update func(i, lo, hi int)) {
	if b.sp.total == 0 {
		for _, v := range b.vars {
			b.sp.total += len(v.Value)
		}
	}
	least, fn := minUpdate, b.sp.fn
	if b.sp.tp.Jobs() != b.sp.jobs {
		least = minSpread // the layers ran on the pool since the last update
	}
	parts := b.sp.tp.Parts(b.sp.total, least)
	if t := b.sp.tp.Threads(); least == minSpread && t > 1 && b.byRows() {
		// A layer split its weights' rows over the threads: each updates
		// the same rows (and an even share of the rest).
		parts, fn = t, b.sp.rowFn
	}
	if parts == 1 {
		for i, v := range b.vars {
			update(i, 0, len(v.Value))
		}
	} else {
		b.sp.parts, b.sp.update = parts, update
		b.sp.tp.Run(parts, fn)
		b.sp.update = nil
	}
	b.sp.jobs = b.sp.tp.Jobs()
}

// run is part of the running job: the variables' elements in
// [Range(total, parts, part)).
func (b *base) run(part int) {
	lo, hi := parallel.Range(b.sp.total, b.sp.parts, part)
	at := 0
	for i, v := range b.vars {
		n := len(v.Value)
		if s, e := max(lo, at), min(hi, at+n); s < e {
			b.sp.update(i, s-at, e-at)
		}
		at += n
	}
}

// byRows reports whether a variable is split by rows (see
// tensor.Variable.SplitRows).
func (b *base) byRows() bool {
	for _, v := range b.vars {
		if v.SplitRows {
			return true
		}
	}
	return false
}

// runRows is thread part's share of an update split by rows: of each
// variable split by rows, its parallel.RowBlock; of the others, its Range.
func (b *base) runRows(part int) {
	for i, v := range b.vars {
		lo, hi := parallel.Range(len(v.Value), b.sp.parts, part)
		if v.SplitRows && len(v.Shape) > 0 && v.Shape[0] > 0 {
			rowLen := len(v.Value) / v.Shape[0]
			k0, k1 := parallel.RowBlock(v.Shape[0], b.sp.parts, part)
			lo, hi = k0*rowLen, k1*rowLen
		}
		if lo < hi {
			b.sp.update(i, lo, hi)
		}
	}
}

// SetPool sets the pool Apply splits the update over (see Threaded); every
// optimizer here has it through base.
func (b *base) SetPool(p *parallel.Pool) {
	b.sp.tp = p
	if b.sp.fn == nil {
		b.sp.fn, b.sp.rowFn = b.run, b.runRows
	}
}
