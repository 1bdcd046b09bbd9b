package bench

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"time"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/callbacks"
)

// Interleaved is the measurement of a workload trained on 1 thread and on
// more at once, in turns (see Interleave).
type Interleaved struct {
	Workload string
	Threads  int // the second copy's threads
	Turn     int // training steps per turn
	// One[i] and Many[i] are the mean step times of the i-th turn of the
	// copy on 1 thread and of the copy on Threads threads; Many[i] ran
	// right after One[i]. A copy's first turn (which builds its trainer)
	// is left out.
	One, Many []time.Duration
	// Histories are the two copies' training histories, which kiln's
	// thread-count independence makes identical.
	Histories [2]*kiln.History
	order     []int // which copy ended each turn (0: 1 thread), for tests
}

// Speedups returns each pair of turns' speed-up, One[i] / Many[i], sorted.
func (r *Interleaved) Speedups() []float64 {
	s := make([]float64, 0, min(len(r.One), len(r.Many)))
	for i := range s[:cap(s)] {
		s = append(s, r.One[i].Seconds()/r.Many[i].Seconds())
	}
	slices.Sort(s)
	return s
}

// Quantile is the q-quantile (0 ≤ q ≤ 1) of sorted values, interpolated
// linearly between ranks; 0 for none.
func Quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	at := q * float64(len(sorted)-1)
	i := int(at)
	if i+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	return sorted[i] + (at-float64(i))*(sorted[i+1]-sorted[i])
}

// Interleave trains two copies of the workload's model from the same
// seeded weights in one process, one on 1 thread and one on threads
// threads, taking turns every turn training steps (the copy on 1 thread
// first), for epochs epochs each without validation, and times every
// turn. On a shared machine the speed of a core drifts over seconds (on a
// 2-vCPU cloud VM, single runs moved by 30–40%), so separate runs
// compare different machines; turns of a few tens of milliseconds each
// see nearly the same one, and the median over many turn pairs is a
// steadier speed-up than the median over whole runs.
func Interleave(ctx context.Context, workload string, epochs, threads, turn int) (*Interleaved, error) {
	if threads < 2 || turn < 1 || epochs < 1 {
		return nil, fmt.Errorf("bench.Interleave: need threads ≥ 2, turn ≥ 1 and epochs ≥ 1, got %d, %d, %d", threads, turn, epochs)
	}
	var setups [2]*Setup
	for i := range setups {
		s, err := NewSetup(workload)
		if err != nil {
			return nil, err
		}
		setups[i] = s
	}
	prev := runtime.GOMAXPROCS(threads)
	defer runtime.GOMAXPROCS(prev)
	runtime.GC()

	r := &Interleaved{Workload: workload, Threads: threads, Turn: turn}
	turns := [2]*[]time.Duration{&r.One, &r.Many}
	baton := [2]chan struct{}{make(chan struct{}, 1), make(chan struct{}, 1)}
	done := [2]chan struct{}{make(chan struct{}), make(chan struct{})}
	errs := [2]error{}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for i, th := range []int{1, threads} {
		other := 1 - i
		// pass hands the turn to the other copy, unless it has finished,
		// and waits for it to come back.
		pass := func() {
			select {
			case <-done[other]:
				return
			default:
			}
			baton[other] <- struct{}{}
			select {
			case <-baton[i]:
			case <-done[other]: // it finished during its turn
			}
		}
		go func() {
			defer close(done[i])
			<-baton[i]
			steps, first := 0, true
			start := time.Now()
			cb := callbacks.Func{OnBatchEnd: func(int, callbacks.Logs) {
				if steps++; steps < turn {
					return
				}
				if !first {
					*turns[i] = append(*turns[i], time.Since(start)/time.Duration(steps))
				}
				steps, first = 0, false
				r.order = append(r.order, i) // the baton makes turns exclusive
				pass()
				start = time.Now()
			}}
			s := setups[i]
			r.Histories[i], errs[i] = s.Model.Fit(ctx, s.X, s.Y, kiln.FitOptions{BatchSize: s.Batch, Epochs: epochs,
				Callbacks: []callbacks.Callback{cb}, Workers: th, Threads: th})
			if errs[i] != nil {
				cancel()
			}
			select {
			case baton[other] <- struct{}{}: // its turn, if it waits for one
			default:
			}
		}()
	}
	baton[0] <- struct{}{}
	<-done[0]
	<-done[1]
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	n := min(len(r.One), len(r.Many))
	r.One, r.Many = r.One[:n], r.Many[:n]
	if n == 0 {
		return nil, fmt.Errorf("bench.Interleave: %s has too few steps for two turns of %d each", workload, turn)
	}
	return r, nil
}
