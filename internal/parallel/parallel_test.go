package parallel

import (
	"fmt"
	"sync/atomic"
	"testing"
)

func TestRunCoversEveryPartOnce(t *testing.T) {
	for _, threads := range []int{0, 1, 2, 3, 5} {
		p := New(threads)
		var hits [24]atomic.Int32
		fn := func(part int) { hits[part].Add(1) }
		for parts := 0; parts <= len(hits); parts++ {
			for i := range hits {
				hits[i].Store(0)
			}
			p.Run(parts, fn)
			for i := range hits {
				want := int32(0)
				if i < parts {
					want = 1
				}
				if got := hits[i].Load(); got != want {
					t.Fatalf("threads %d, parts %d: part %d ran %d times, want %d", threads, parts, i, got, want)
				}
			}
		}
		p.Close()
		p.Close()
		if p.Threads() != 1 {
			t.Fatalf("threads %d: a closed pool has %d threads, want 1", threads, p.Threads())
		}
		p.Run(2, func(int) {}) // serial after Close
	}
}

func TestRunReraisesPanics(t *testing.T) {
	p := New(3)
	defer p.Close()
	defer func() {
		if r := recover(); r != "boom" {
			t.Fatalf("recovered %v, want boom", r)
		}
		// The pool still works after a panic.
		var n atomic.Int32
		p.Run(3, func(int) { n.Add(1) })
		if n.Load() != 3 {
			t.Fatalf("after a panic, 3 parts ran %d times", n.Load())
		}
	}()
	p.Run(3, func(part int) {
		if part == 2 {
			panic("boom")
		}
	})
	t.Fatal("Run did not panic")
}

func TestRangeAndParts(t *testing.T) {
	for n := 0; n < 50; n++ {
		for parts := 1; parts <= 5; parts++ {
			next := 0
			for i := 0; i < parts; i++ {
				lo, hi := Range(n, parts, i)
				if lo != next || hi < lo || hi-lo > n/parts+1 {
					t.Fatalf("Range(%d, %d, %d) = %d, %d after %d", n, parts, i, lo, hi, next)
				}
				next = hi
				alo, ahi := AlignedRange(n, parts, i, 4)
				if (alo%4 != 0 && alo != n) || (ahi%4 != 0 && ahi != n) || ahi < alo {
					t.Fatalf("AlignedRange(%d, %d, %d, 4) = %d, %d", n, parts, i, alo, ahi)
				}
			}
			if next != n {
				t.Fatalf("Range(%d, %d, ·) ends at %d", n, parts, next)
			}
		}
	}
	var nilPool *Pool
	if nilPool.Parts(1000, 1) != 1 {
		t.Fatal("a nil pool splits")
	}
	p := New(4)
	defer p.Close()
	for _, c := range []struct{ work, min, want int }{{10, 100, 1}, {250, 100, 2}, {1000, 100, 10}, {10000, 100, 4 * partsPerThread}, {1000, 0, 1}} {
		if got := p.Parts(c.work, c.min); got != c.want {
			t.Errorf("Parts(%d, %d) = %d, want %d", c.work, c.min, got, c.want)
		}
	}
}

// TestRunSlots: every part runs once, told a slot below Threads() that no
// other running part holds; with more parts than threads and one thread
// held up, the others take its parts (from the end of its range).
func TestRunSlots(t *testing.T) {
	for _, threads := range []int{1, 2, 3} {
		p := New(threads)
		var busy [3]atomic.Int32
		var hits [12]atomic.Int32
		var bad atomic.Int32
		fn := func(part, slot int) {
			if slot < 0 || slot >= p.Threads() || busy[slot].Add(1) != 1 {
				bad.Add(1)
			}
			hits[part].Add(1)
			for i := 0; i < 1000*(part%3); i++ {
				hits[part].Add(0)
			}
			busy[slot].Add(-1)
		}
		for round := 0; round < 2000; round++ {
			parts := 1 + round%len(hits)
			p.RunSlots(parts, fn)
			for i := range hits {
				want := int32(0)
				if i < parts {
					want = 1
				}
				if got := hits[i].Swap(0); got != want {
					t.Fatalf("threads %d, parts %d: part %d ran %d times, want %d", threads, parts, i, got, want)
				}
			}
		}
		if bad.Load() != 0 {
			t.Fatalf("threads %d: %d parts ran with a slot out of range or in use", threads, bad.Load())
		}
		p.Close()
	}
	// The caller holds its first part until the worker has run all the
	// others: the worker must take the caller's remaining parts too.
	p := New(2)
	defer p.Close()
	var ran [8]atomic.Int32
	var byWorker atomic.Int32
	p.RunSlots(8, func(part, slot int) {
		if part == 0 {
			for byWorker.Load() < 7 {
			}
		}
		if slot == 1 {
			byWorker.Add(1)
		}
		ran[part].Add(1)
	})
	for i := range ran {
		if ran[i].Load() != 1 {
			t.Fatalf("part %d ran %d times", i, ran[i].Load())
		}
	}
}

func TestRunAllocatesNothing(t *testing.T) {
	p := New(2)
	defer p.Close()
	var s [2]int
	fn := func(part int) { s[part]++ }
	if a := testing.AllocsPerRun(100, func() { p.Run(2, fn) }); a != 0 {
		t.Fatalf("Run allocates %v times per call", a)
	}
}

func BenchmarkRun2(b *testing.B) {
	p := New(2)
	defer p.Close()
	fn := func(int) {}
	for b.Loop() {
		p.Run(2, fn)
	}
}

// BenchmarkSplitAfterSerial is a serial stretch followed by a job split in
// two, as in a training step: with the workers parked between jobs, the
// split job took longer on two threads than the whole job on one (a
// wake-up cost ~50 µs on a 2-core VM); compare threads=1 and threads=2.
func BenchmarkSplitAfterSerial(b *testing.B) {
	a := make([]float32, 1<<16)
	c := make([]float32, 1<<16)
	scale := func(x []float32) {
		for i := range x {
			x[i] = x[i]*0.999 + 0.001
		}
	}
	half := func(part int) { scale(a[part*len(a)/2 : (part+1)*len(a)/2]) }
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
			p := New(threads)
			defer p.Close()
			for b.Loop() {
				scale(c)
				p.Run(2, half)
			}
		})
	}
}

// TestRunBackToBack runs many short jobs in a row with varying parts: a
// worker that wakes late from one job must take no part of the next, and
// every part of every job must run exactly once (a part is claimed by
// raising its owner to the job's number, which a late worker's is below).
func TestRunBackToBack(t *testing.T) {
	p := New(3)
	defer p.Close()
	var hits [3]atomic.Int32
	var total atomic.Int64
	fn := func(part int) { hits[part].Add(1); total.Add(1) }
	want := int64(0)
	for i := range 20000 {
		parts := 2 + i%2
		p.Run(parts, fn)
		want += int64(parts)
		for j := range parts {
			if got := hits[j].Swap(0); got != 1 {
				t.Fatalf("job %d of %d parts: part %d ran %d times, want 1", i, parts, j, got)
			}
		}
		if got := hits[2].Swap(0); got != 0 {
			t.Fatalf("job %d of %d parts: part 2 ran %d times", i, parts, got)
		}
	}
	if got := total.Load(); got != want {
		t.Fatalf("%d parts ran, want %d", got, want)
	}
}

// TestJobsCountsSplitJobs: Jobs moves by one for every job split over the
// threads, and not for a job that ran on the caller alone.
func TestJobsCountsSplitJobs(t *testing.T) {
	if got := (*Pool)(nil).Jobs(); got != 0 {
		t.Fatalf("nil pool: Jobs() = %d, want 0", got)
	}
	p := New(2)
	defer p.Close()
	fn := func(int) {}
	j0 := p.Jobs()
	p.Run(1, fn)
	if got := p.Jobs(); got != j0 {
		t.Fatalf("after a 1-part job: Jobs() = %d, want %d", got, j0)
	}
	for i := range 5 {
		p.Run(2, fn)
		if got, want := p.Jobs(), j0+uint64(i)+1; got != want {
			t.Fatalf("after %d split jobs: Jobs() = %d, want %d", i+1, got, want)
		}
	}
}
