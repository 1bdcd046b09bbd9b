// Package parallel runs one training step's kernels on several cores
// without changing a single result: a Pool is a fixed set of worker
// goroutines (one Fit's), and Run has them and the caller run the parts of
// a job whose parts write disjoint outputs (a few parts per thread, each
// thread its own range first, then what is left of the others').
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

// maxThreads bounds a pool's threads, and maxParts a job's parts (the
// parts of a job share gen with its number, and a thread's home range
// shares a word with it).
const (
	maxThreads = 255
	maxParts   = 255
)

// partsPerThread is how many parts Parts gives each thread of a large job:
// a thread that finishes its own parts early takes the others' last ones,
// so the job waits at most about one part for the slowest thread (on a
// 2-vCPU VM the two threads' halves of a layer differed by 10–80%, which
// cost the convnet 8–13% of its two-thread step), while a thread still
// runs mostly the rows it ran in the layer before.
const partsPerThread = 4

// Pool is a fixed set of worker goroutines; the caller of Run works on the
// job too. Its methods must be called from one goroutine at a time (one
// training step runs one job at a time); a nil Pool is serial.
type Pool struct {
	threads int
	fn      func(part int)
	fns     func(part, slot int)
	// gen is the running job: its number·256 + its number of parts. A
	// worker runs its parts of a job when it sees gen change; the parts
	// travel with the number so a worker never pairs one job's number with
	// another's parts.
	gen atomic.Uint64
	// home[s] is thread s's range of the running job's parts (the caller
	// is thread 0, worker i thread i+1): the job's number·2¹⁶ + its next
	// untaken part·2⁸ + the end of the range, the parts split in order
	// into Threads() ranges. A thread takes the parts of its own range from
	// the front, then the others' from their ends: so a worker the system
	// has not scheduled yet leaves its parts to the others instead of
	// holding the step up, a fast thread takes the slow one's last parts,
	// one that comes late from an earlier job takes nothing from a later
	// one (the number differs), and while the threads keep pace, part i
	// runs on the same thread job after job: the rows a layer's part wrote
	// are still in that core's cache when the next layer's part reads them.
	//
	// Each thread's words are on cache lines of their own: on one line,
	// every part one thread took or finished moved the line away from the
	// other thread's core, and a cache line's round trip between the two
	// vCPUs of the VM kiln was measured on took 200–1000 ns.
	home []line
	// done[s] counts the parts thread s has finished, over all jobs: the
	// running job is finished when their sum has grown by its parts.
	done []line
	// parked[i] is 1 while worker i+1 is (about to be) blocked on wake[i];
	// Run takes it back to 0 and sends a token.
	parked []atomic.Int32
	wake   []chan struct{}
	panics []any
	closed atomic.Bool
	once   sync.Once
}

// line is an atomic word alone on its 64-byte cache line.
type line struct {
	atomic.Uint64
	_ [56]byte
}

// New returns a pool of threads workers (the caller counted: threads−1
// goroutines are started), or nil when threads ≤ 1. Close stops them.
func New(threads int) *Pool {
	if threads <= 1 {
		return nil
	}
	threads = min(threads, maxThreads)
	p := &Pool{threads: threads, parked: make([]atomic.Int32, threads-1),
		wake: make([]chan struct{}, threads-1), panics: make([]any, maxParts), home: make([]line, threads),
		done: make([]line, threads)}
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

// take runs parts of job gen (number·256 + parts) as thread slot: its own
// range's from the front, then the other ranges' from their ends, until
// none is left to take. Which thread runs a part changes no result: parts
// write disjoint outputs, and scratch memory a part keeps between parts
// belongs to the part, not to the thread (RunSlots' slot is for scratch
// used within one part).
func (p *Pool) take(gen uint64, slot int) {
	job := gen / 256
	for p.takeOne(job, slot, slot, false) {
	}
	for i := 1; i < p.threads; i++ {
		for p.takeOne(job, slot, (slot+i)%p.threads, true) {
		}
	}
}

// takeOne runs, as thread slot, a part of thread s's range of job, if one
// is left: the first (its own range) or the last (another's).
func (p *Pool) takeOne(job uint64, slot, s int, last bool) bool {
	for {
		h := p.home[s].Load()
		next, end := h>>8&255, h&255
		if h>>16 != job || next >= end {
			return false
		}
		part, taken := next, h+1<<8
		if last {
			part, taken = end-1, h-1
		}
		if p.home[s].CompareAndSwap(h, taken) {
			p.call(int(part), slot)
			return true
		}
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

// call runs part of the current job as thread slot, keeping a panic for
// Run to re-raise.
func (p *Pool) call(part, slot int) {
	defer p.done[slot].Add(1)
	defer func() {
		if r := recover(); r != nil {
			p.panics[part] = r
		}
	}()
	if p.fns != nil {
		p.fns(part, slot)
		return
	}
	p.fn(part)
}

// Run calls fn(0), …, fn(parts−1), at most Threads() at a time, and
// returns when all have returned; parts ≤ 255. The parts are split in
// order into one range per thread (the caller's first); each thread runs
// its own range in order and then takes what is left of the others' from
// their ends. Which thread runs which part varies from run to run, so a
// part must not depend on it. A panic in a part is raised again by Run,
// after every part has finished.
func (p *Pool) Run(parts int, fn func(part int)) {
	if parts <= 1 || p.Threads() == 1 {
		for i := 0; i < parts; i++ {
			fn(i)
		}
		return
	}
	p.fn = fn
	p.run(parts)
	p.fn = nil
}

// RunSlots is Run for parts that need scratch memory: fn(part, slot) is
// told which thread runs it, slot < Threads(), and no two parts run at
// the same time with the same slot.
func (p *Pool) RunSlots(parts int, fn func(part, slot int)) {
	if parts <= 1 || p.Threads() == 1 {
		for i := 0; i < parts; i++ {
			fn(i, 0)
		}
		return
	}
	p.fns = fn
	p.run(parts)
	p.fns = nil
}

// run runs a job of parts parts, p.fn or p.fns set.
func (p *Pool) run(parts int) {
	if parts > maxParts {
		panic("parallel.Run: more than 255 parts")
	}
	want := p.finished() + uint64(parts) // every earlier part has finished
	job := p.gen.Load()/256 + 1
	for s := range p.home {
		lo, hi := Range(parts, p.threads, s)
		p.home[s].Store(job<<16 | uint64(lo)<<8 | uint64(hi))
	}
	p.gen.Store(job*256 + uint64(parts)) // last: a worker that sees it finds the rest set
	for i := 0; i < min(parts, p.threads)-1; i++ {
		if p.parked[i].CompareAndSwap(1, 0) {
			p.wake[i] <- struct{}{}
		}
	}
	p.take(job*256+uint64(parts), 0)
	for n := 0; p.finished() != want; n++ {
		if n >= spinLimit {
			runtime.Gosched() // a worker may be waiting for this thread
		}
	}
	for _, r := range p.panics[:parts] {
		if r != nil {
			clear(p.panics)
			panic(r)
		}
	}
}

// finished is how many parts the threads have finished, over all jobs.
func (p *Pool) finished() uint64 {
	var n uint64
	for s := range p.done {
		n += p.done[s].Load()
	}
	return n
}

// Parts is how many parts a job of work units should be split into: at
// most MaxParts(), and at most one per minWork units (so a small job stays
// on the caller), at least 1. It depends on sizes only.
func (p *Pool) Parts(work, minWork int) int {
	t := p.Threads()
	if t == 1 || minWork <= 0 {
		return 1
	}
	return max(1, min(p.MaxParts(), work/minWork))
}

// MaxParts is the most parts Parts returns: partsPerThread per thread (1
// for a serial pool), at most 255.
func (p *Pool) MaxParts() int {
	if t := p.Threads(); t > 1 {
		return min(maxParts, t*partsPerThread)
	}
	return 1
}

// Range is part i of parts of [0, n): contiguous, in order, sizes differing
// by at most one.
func Range(n, parts, i int) (lo, hi int) {
	return i * n / parts, (i + 1) * n / parts
}

// RowBlock is thread t's block of rows rows (of a variable, or a layer's
// inputs) split over threads threads for a whole training step: Range in
// blocks of 16 rows, so that neither a block of float32 rows nor the same
// columns of an input row share a 64-byte cache line with the next block
// (given 64-byte aligned rows). A layer and the optimizer updating its
// weights (tensor.Variable.SplitRows) both split by it.
func RowBlock(rows, threads, t int) (lo, hi int) { return AlignedRange(rows, threads, t, 16) }

// AlignedRange is Range with every boundary but n a multiple of align
// (align ≥ 1), e.g. 64 rows of a bit mask; parts may be empty.
func AlignedRange(n, parts, i, align int) (lo, hi int) {
	blocks := (n + align - 1) / align
	lo, hi = Range(blocks, parts, i)
	return min(lo*align, n), min(hi*align, n)
}
