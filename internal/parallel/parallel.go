// Package parallel runs one training step's kernels on several cores
// without changing a single result: a Pool is a fixed set of worker
// goroutines (one Fit's), and Run hands each of them one part of a job
// whose parts write disjoint outputs.
//
// kiln's rule for using it is that work is split only across independent
// outputs, never across a sum: a layer's forward pass and input gradient
// by samples (rows), a weight gradient (a sum over the batch in a fixed
// order) by rows or blocks of the gradient, each worker summing over the
// whole batch in the original order; element-wise updates by index ranges.
// So every output element is computed by exactly the float32 operations of
// the single-threaded code, and results are bit-identical whatever the
// number of threads. How a job is split (Parts, Range) may depend on sizes
// and on the number of threads, never on values.
//
// A nil *Pool, or a pool of one thread, runs every part on the caller, in
// order. Run allocates nothing; the functions it is given should be made
// once (a closure made per call escapes to the heap), taking their
// arguments from fields of the caller.
package parallel

import "sync"

// Pool is a fixed set of worker goroutines; part 0 of every job runs on the
// caller. Its methods must be called from one goroutine at a time (one
// training step runs one job at a time); a nil Pool is serial.
type Pool struct {
	threads int
	start   []chan struct{} // worker i−1 waits on start[i-1] for part i
	done    chan struct{}
	fn      func(part int)
	panics  []any
	closed  bool
	once    sync.Once
}

// New returns a pool of threads workers (the caller counted: threads−1
// goroutines are started), or nil when threads ≤ 1. Close stops them.
func New(threads int) *Pool {
	if threads <= 1 {
		return nil
	}
	p := &Pool{threads: threads, start: make([]chan struct{}, threads-1), done: make(chan struct{}, threads-1), panics: make([]any, threads)}
	for i := range p.start {
		p.start[i] = make(chan struct{}, 1)
		go p.worker(i + 1)
	}
	return p
}

// Threads is the number of threads of the pool (1 for nil).
func (p *Pool) Threads() int {
	if p == nil || p.closed {
		return 1
	}
	return p.threads
}

// Close stops the workers; the pool then runs serially. It is safe to call
// more than once, and on nil.
func (p *Pool) Close() {
	if p == nil {
		return
	}
	p.once.Do(func() {
		p.closed = true
		for _, c := range p.start {
			close(c)
		}
	})
}

func (p *Pool) worker(part int) {
	for range p.start[part-1] {
		p.call(part)
		p.done <- struct{}{}
	}
}

// call runs part of the current job, keeping a panic for Run to re-raise.
func (p *Pool) call(part int) {
	defer func() {
		if r := recover(); r != nil {
			p.panics[part] = r
		}
	}()
	p.fn(part)
}

// Run calls fn(0), …, fn(parts−1), at most Threads() at a time, part i on
// worker i (part 0 on the caller), and returns when all have returned. A
// panic in a part is raised again by Run, after every part has finished.
func (p *Pool) Run(parts int, fn func(part int)) {
	if parts <= 1 || p.Threads() == 1 {
		for i := 0; i < parts; i++ {
			fn(i)
		}
		return
	}
	if parts > p.threads {
		panic("parallel.Run: more parts than threads")
	}
	p.fn = fn
	for i := 1; i < parts; i++ {
		p.start[i-1] <- struct{}{}
	}
	p.call(0)
	for i := 1; i < parts; i++ {
		<-p.done
	}
	p.fn = nil
	for _, r := range p.panics[:parts] {
		if r != nil {
			clear(p.panics)
			panic(r)
		}
	}
}

// Parts is how many parts a job of work units should be split into: at
// most Threads(), and at most one per minWork units (so a small job stays
// on the caller), at least 1. It depends on sizes only.
func (p *Pool) Parts(work, minWork int) int {
	t := p.Threads()
	if t == 1 || minWork <= 0 {
		return 1
	}
	return max(1, min(t, work/minWork))
}

// Range is part i of parts of [0, n): contiguous, in order, sizes differing
// by at most one.
func Range(n, parts, i int) (lo, hi int) {
	return i * n / parts, (i + 1) * n / parts
}

// AlignedRange is Range with every boundary but n a multiple of align
// (align ≥ 1), e.g. 64 rows of a bit mask; parts may be empty.
func AlignedRange(n, parts, i, align int) (lo, hi int) {
	blocks := (n + align - 1) / align
	lo, hi = Range(blocks, parts, i)
	return min(lo*align, n), min(hi*align, n)
}
