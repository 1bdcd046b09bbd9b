package layers

import (
	"github.com/kiln-ml/kiln/activations"
	"github.com/kiln-ml/kiln/internal/parallel"
)

// Threaded is a layer whose training steps (Forward, Backward) can split
// their work over the threads of a pool. Fit gives every Threaded layer
// its pool before Allocate (which sizes the per-thread scratch) and takes
// it back (SetPool(nil)) when it returns; a layer without a pool, or with
// a pool of one thread, runs on the caller.
//
// Work is split only across independent outputs, never across a sum (see
// internal/parallel): every output element is computed by the same float32
// operations in the same order as on one thread, so results are
// bit-identical whatever the number of threads. Layers that are not
// Threaded run serially; Infer never uses the pool.
type Threaded interface {
	Layer
	// SetPool sets the pool the training steps use (nil: serial). It is
	// called before Allocate, and may be called again with nil after it.
	SetPool(p *parallel.Pool)
}

// SetPool gives l the pool p if l is Threaded; it is a no-op otherwise.
func SetPool(l Layer, p *parallel.Pool) {
	if t, ok := l.(Threaded); ok {
		t.SetPool(p)
	}
}

// threads is embedded by the Threaded layers: their pool.
type threads struct{ tp *parallel.Pool }

// SetPool sets the pool the training steps split their work over.
func (t *threads) SetPool(p *parallel.Pool) { t.tp = p }

// Minimum work per part (beyond the first) before a job is split, in the
// units of each job; below it a kernel call stays on one goroutine, where
// the hand-off (under a microsecond while the workers poll, ~50 µs once
// they have parked; see internal/parallel) would cost more than it saves. They depend on sizes only.
const (
	minElems = 1 << 15 // element-wise work (activations, pooling): values
	minFlops = 1 << 17 // multiply-adds (conv, Dense)
)

// rowJob applies an activation's Forward or Backward to blocks of rows in
// parallel; softmax and every other activation act row by row, so each
// block computes exactly what one call over all rows would.
type rowJob struct {
	act        activations.Func
	back       bool
	dst, a, b  []float32
	rows, cols int
	parts      int
	fn         func(part int)
}

// prepare makes the job's function, so that the first step allocates
// nothing; layers call it from Allocate.
func (j *rowJob) prepare() {
	if j.fn == nil {
		j.fn = j.run
	}
}

func (j *rowJob) run(part int) {
	lo, hi := parallel.Range(j.rows, j.parts, part)
	c := j.cols
	if j.back {
		j.act.Backward(j.dst[lo*c:hi*c], j.a[lo*c:hi*c], j.b[lo*c:hi*c], hi-lo, c)
	} else {
		j.act.Forward(j.dst[lo*c:hi*c], j.a[lo*c:hi*c], hi-lo, c)
	}
}

// forward is act.Forward(dst, x, rows, cols) split over pool.
func (j *rowJob) forward(pool *parallel.Pool, act activations.Func, dst, x []float32, rows, cols int) {
	j.start(pool, act, false, dst, x, nil, rows, cols)
}

// backward is act.Backward(dx, y, dy, rows, cols) split over pool.
func (j *rowJob) backward(pool *parallel.Pool, act activations.Func, dx, y, dy []float32, rows, cols int) {
	j.start(pool, act, true, dx, y, dy, rows, cols)
}

func (j *rowJob) start(pool *parallel.Pool, act activations.Func, back bool, dst, a, b []float32, rows, cols int) {
	parts := pool.Parts(rows*cols, minElems)
	if parts == 1 {
		if back {
			act.Backward(dst, a, b, rows, cols)
		} else {
			act.Forward(dst, a, rows, cols)
		}
		return
	}
	j.prepare() // made once: Allocate calls prepare
	j.act, j.back, j.dst, j.a, j.b, j.rows, j.cols, j.parts = act, back, dst, a, b, rows, cols, parts
	pool.Run(parts, j.fn)
	j.dst, j.a, j.b = nil, nil, nil
}
