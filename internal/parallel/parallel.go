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

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// spinFor is how long a waiting worker polls for the next job before it
// parks, and spinLimit how many times Run polls for the workers before it
// yields. A training step hands work to the pool several times with serial
// stretches of up to a few hundred microseconds in between (loss, metrics,
// the optimizer); waking a parked goroutine took about 50 µs on a 2-core
// VM (a futex wake-up and an inter-processor interrupt), which made a
// convnet with batch 16 twice as slow on two threads as on one and a split
// job slower than the same job on one thread. Polling keeps the hand-off
// under a microsecond while steps follow each other; the workers still
// park between epochs and after Fit.
const (
	spinFor   = 500 * time.Microsecond
	spinLimit = 1 << 15
)

// maxThreads bounds a pool's threads (the parts of a job share gen with
// its number).
const maxThreads = 255

// Pool is a fixed set of worker goroutines; the caller of Run works on the
// job too. Its methods must be called from one goroutine at a time (one
// training step runs one job at a time); a nil Pool is serial.
type Pool struct {
	threads int
	fn      func(part int)
	// gen is the running job: its number·256 + its number of parts. A
	// worker runs its part of a job when it sees gen change; the parts
	// travel with the number so a worker never pairs one job's number with
	// another's parts.
	gen atomic.Uint64
	// owner[i] is the number of the last job whose part i was taken. A
	// thread takes a part by raising it to its job's number, its home part
	// first (the caller's is 0, worker i's is i+1), then any other: so a
	// worker that the system has not scheduled yet leaves its part to the
	// others instead of holding the step up, one that comes late from an
	// earlier job takes nothing from a later one (its number is smaller),
	// and while every thread is on time, part i runs on the same thread
	// job after job: the rows a layer's part wrote are still in that
	// core's cache when the next layer's part i reads them.
	owner   []atomic.Uint64
	pending atomic.Int32 // parts of the running job not yet finished
	// parked[i] is 1 while worker i+1 is (about to be) blocked on wake[i];
	// Run takes it back to 0 and sends a token.
	parked []atomic.Int32
	wake   []chan struct{}
	panics []any
	closed atomic.Bool
	once   sync.Once
}

// New returns a pool of threads workers (the caller counted: threads−1
// goroutines are started), or nil when threads ≤ 1. Close stops them.
func New(threads int) *Pool {
	if threads <= 1 {
		return nil
	}
	threads = min(threads, maxThreads)
	p := &Pool{threads: threads, parked: make([]atomic.Int32, threads-1),
		wake: make([]chan struct{}, threads-1), panics: make([]any, threads), owner: make([]atomic.Uint64, threads)}
	for i := range p.wake {
		p.wake[i] = make(chan struct{}, 1)
		go p.worker(i)
	}
	return p
}

// Threads is the number of threads of the pool (1 for nil).
func (p *Pool) Threads() int {
	if p == nil || p.closed.Load() {
		return 1
	}
	return p.threads
}

// Jobs is the number of jobs the pool has split over its threads so far
// (0 for nil): a caller can tell from it whether other code ran on the
// pool since it last looked, so whether the data it is about to read were
// written on several cores.
func (p *Pool) Jobs() uint64 {
	if p == nil {
		return 0
	}
	return p.gen.Load() / 256
}

// Close stops the workers; the pool then runs serially. It is safe to call
// more than once, and on nil.
func (p *Pool) Close() {
	if p == nil {
		return
	}
	p.once.Do(func() {
		p.closed.Store(true)
		p.gen.Store((p.gen.Load()/256 + 1) * 256) // every worker sees a change, then the flag
		for i := range p.wake {
			if p.parked[i].CompareAndSwap(1, 0) {
				p.wake[i] <- struct{}{}
			}
		}
	})
}

// worker i (one of the threads−1 New starts) takes parts of every job
// whose number it sees change, until Close.
func (p *Pool) worker(i int) {
	seen := uint64(0) // gen's value at New: the first job is new to every worker
	for {
		seen = p.await(i, seen)
		if p.closed.Load() {
			return
		}
		p.take(seen, i+1)
	}
}

// take runs parts of job gen (number·256 + parts), its home part first,
// until none is left to take. Which thread runs a part changes no result:
// parts write disjoint outputs, and any scratch memory belongs to a part,
// not to a thread.
func (p *Pool) take(gen uint64, home int) {
	job, parts := gen/256, int(gen%256)
	if home < parts {
		p.claim(job, home)
	}
	for i := 0; i < parts; i++ {
		p.claim(job, i)
	}
}

// claim runs part i of job if no thread has taken it yet.
func (p *Pool) claim(job uint64, i int) {
	o := p.owner[i].Load()
	if o < job && p.owner[i].CompareAndSwap(o, job) {
		p.call(i)
		p.pending.Add(-1)
	}
}

// await returns the job number once it differs from seen: polling first,
// then parked on wake[i]. Every time the worker sets parked[i], exactly
// one token follows if Run (or Close) takes the flag back, and the worker
// receives it, so no token is ever left over to block a later send.
func (p *Pool) await(i int, seen uint64) uint64 {
	start := time.Now()
	for n := 1; ; n++ {
		if g := p.gen.Load(); g != seen {
			return g
		}
		if n%1024 != 0 || time.Since(start) < spinFor {
			continue
		}
		p.parked[i].Store(1)
		if g := p.gen.Load(); g != seen {
			if !p.parked[i].CompareAndSwap(1, 0) {
				<-p.wake[i] // Run took the flag first and is sending
			}
			return g
		}
		<-p.wake[i]
		start = time.Now()
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

// Run calls fn(0), …, fn(parts−1), at most Threads() at a time, and
// returns when all have returned. The caller takes part 0 and worker i part
// i+1 when they are on time, and any part still untaken after their own;
// which thread runs which part varies from run to run, so a part must not
// depend on it. A panic in a part is raised again by Run, after every part
// has finished.
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
	p.pending.Store(int32(parts))
	job := p.gen.Load()/256 + 1
	p.gen.Store(job*256 + uint64(parts)) // last: a worker that sees it finds the rest set
	for i := 0; i < parts-1; i++ {
		if p.parked[i].CompareAndSwap(1, 0) {
			p.wake[i] <- struct{}{}
		}
	}
	p.take(job*256+uint64(parts), 0)
	for n := 0; p.pending.Load() > 0; n++ {
		if n >= spinLimit {
			runtime.Gosched() // a worker may be waiting for this thread
		}
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
