package kiln

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/kiln-ml/kiln/layers"
)

// fakeSplit is a layers.Tunable whose steps take on or off long on a fake
// clock.
type fakeSplit struct {
	layers.Layer
	split   bool
	on, off time.Duration
	clock   *time.Time
	ran     [2]int // steps run with the split on, off
}

func (f *fakeSplit) Tunable() bool    { return true }
func (f *fakeSplit) SetSplit(on bool) { f.split = on }
func (f *fakeSplit) step(idx []int) {
	if f.split {
		*f.clock = f.clock.Add(f.on)
		f.ran[0]++
	} else {
		*f.clock = f.clock.Add(f.off)
		f.ran[1]++
	}
}

// TestTunerKeepsTheFaster runs a tuner over a fake layer whose split steps
// are faster, then slower, than its serial ones, and requires it to run
// most steps the faster way, trying both.
func TestTunerKeepsTheFaster(t *testing.T) {
	for _, c := range []struct{ on, off time.Duration }{{10 * time.Microsecond, 20 * time.Microsecond}, {30 * time.Microsecond, 20 * time.Microsecond}} {
		t.Run(fmt.Sprintf("on %v off %v", c.on, c.off), func(t *testing.T) {
			clock := time.Unix(0, 0)
			f := &fakeSplit{on: c.on, off: c.off, clock: &clock}
			u := &tuner{ts: []layers.Tunable{f}, trial: -1, every: 10 * time.Millisecond, spacing: 15, now: func() time.Time { return clock }}
			for s := 0; s < 2000; s++ {
				u.run(s%100 != 99, f.step, nil)
			}
			fast, slow := f.ran[0], f.ran[1]
			if c.off < c.on {
				fast, slow = slow, fast
			}
			// Trials (64 steps, half each way) at least 10 ms of fake
			// time apart, and 15 times their own length.
			if slow == 0 || fast < 4*slow {
				t.Fatalf("ran %d steps the faster way and %d the slower; want both tried and mostly the faster", fast, slow)
			}
		})
	}
}

// TestTunerDoubts: one trial whose split steps all meet a busy spell of the
// host must not switch the split off; the trial right after it, undisturbed,
// keeps it on.
func TestTunerDoubts(t *testing.T) {
	clock := time.Unix(0, 0)
	f := &fakeSplit{on: 10 * time.Microsecond, off: 20 * time.Microsecond, clock: &clock}
	u := &tuner{ts: []layers.Tunable{f}, trial: -1, every: 10 * time.Millisecond, spacing: 15, now: func() time.Time { return clock }}
	trials, busy := 0, false
	for s := 0; s < 20000; s++ {
		if u.trial < 0 && !clock.Before(u.next) {
			trials++
			busy = trials == 3 // the third trial's split steps take 4×
		}
		if busy && u.trial >= 0 {
			f.on = 40 * time.Microsecond
		} else {
			f.on = 10 * time.Microsecond
		}
		u.run(true, f.step, nil)
		if u.trial < 0 && u.off {
			t.Fatalf("step %d, after trial %d: the split is off", s, trials)
		}
	}
	if trials < 5 {
		t.Fatalf("%d trials; want several", trials)
	}
}

// TestTunerSwitchesBitIdentical trains the mlp workload on 2 threads with
// trials back to back, so that the first Dense switches between split by
// inputs and serial every 8 steps, and requires the History and weights
// of one thread, bit for bit.
func TestTunerSwitchesBitIdentical(t *testing.T) {
	defer func(e, s, w time.Duration) { tuneEvery, tuneSpacing, tuneWarmup = e, s, w }(tuneEvery, tuneSpacing, tuneWarmup)
	tuneEvery, tuneSpacing, tuneWarmup = 0, 0, 0
	x, y := imagesLike(300, 13)
	x = x.WithScale(1.0 / 255)
	var want string
	var wantW [][]float32
	for _, threads := range []int{1, 2} {
		m, opt := threadModels[1].make() // mlp
		if err := m.Compile(CompileOptions{Optimizer: opt, Loss: "categorical_crossentropy", Metrics: []string{"accuracy"}, Seed: 9, Warnings: io.Discard}); err != nil {
			t.Fatal(err)
		}
		h, err := m.Fit(context.Background(), x, y, FitOptions{BatchSize: 16, Epochs: 6, Threads: threads})
		if err != nil {
			t.Fatal(err)
		}
		if threads == 1 {
			want, wantW = historyBits(h), m.GetWeights()
			continue
		}
		sameRun(t, "2 threads, switching", "1 thread", historyBits(h), want, m.GetWeights(), wantW)
	}
}
