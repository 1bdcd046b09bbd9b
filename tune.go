package kiln

import (
	"slices"
	"time"

	"github.com/kiln-ml/kiln/layers"
)

// A tuner chooses, while Fit trains, between two ways of running the steps
// of the layers that offer them (layers.Tunable: a wide Dense split by
// inputs over the threads, or not; all such layers together), which
// compute the same numbers, by timing both now and then and keeping the
// faster. Which one is faster
// depends on the machine's state, which changes over minutes: on the
// 2-vCPU VM kiln is measured on, a cache line's round trip between the two
// vCPUs is either about 200 ns or about 1000 ns, and the MLP's split step
// is 1.4–1.5× faster than one thread in the first state and 0.86–0.98×
// its speed in the second. A trial runs 64 steps, 8 with the split and
// 8 without in turn, and keeps the way whose fastest block of 8 had the
// shorter mean step: the noise of a shared machine only ever slows a
// block, and the first steps after a switch pay for the caches the other
// way left behind. It switches when two trials in a row say so. The
// History does not depend on the choice.
type tuner struct {
	ts    []layers.Tunable
	trial int // steps into the running trial; −1: none
	// times[s] holds the trial's block means with the split on (s = 0)
	// and off (1); sum and count the running block's full steps.
	times   [2][]time.Duration
	sum     time.Duration
	count   int
	off     bool      // the split is off outside trials
	doubt   bool      // the last trial chose the other way; the next decides
	calm    uint      // trials in a row that kept the choice (up to 3)
	next    time.Time // when the next trial starts
	began   time.Time // when the running trial started
	every   time.Duration
	spacing time.Duration
	warmup  time.Duration
	now     func() time.Time // time.Now; tests give a clock of their own
}

const (
	tuneBlock = 8             // steps per block of a trial; blocks alternate on, off
	tuneSteps = 8 * tuneBlock // steps per trial: 4 blocks each way
)

// tuneEvery is the least time from the end of a trial to the next, and
// tuneSpacing times the trial's own length the least too, so that trials
// of slow steps take at most a sixteenth of the training time (variables
// for tests, which run trials back to back).
var (
	tuneEvery   = 200 * time.Millisecond
	tuneSpacing = time.Duration(15)
	// tuneWarmup is the time before the first trial: the first steps
	// (page faults, cold caches, workers waking) would make either way
	// look slow. The split runs until then.
	tuneWarmup = 50 * time.Millisecond
)

// newTuner returns a tuner for the layers of ls that have the choice on
// this Fit's pool (none: the tuner only runs the steps).
func newTuner(ls []layers.Layer) *tuner {
	u := &tuner{trial: -1, every: tuneEvery, spacing: tuneSpacing, warmup: tuneWarmup, now: time.Now}
	for _, l := range ls {
		if tl, ok := l.(layers.Tunable); ok && tl.Tunable() {
			u.ts = append(u.ts, tl)
		}
	}
	for s := range u.times {
		u.times[s] = make([]time.Duration, 0, tuneSteps/tuneBlock/2)
	}
	return u
}

// run runs step(idx) with the setting due now and times it; full says the
// step has a whole batch (the others are not timed: a short last batch
// would weigh on its block). step is made once (a method value), so that
// run allocates nothing.
func (u *tuner) run(full bool, step func([]int), idx []int) {
	if len(u.ts) == 0 {
		step(idx)
		return
	}
	now := u.now()
	if u.next.IsZero() {
		u.next = now.Add(u.warmup) // the first step
	}
	if u.trial < 0 && !now.Before(u.next) {
		u.trial, u.began = 0, now
		u.times[0], u.times[1] = u.times[0][:0], u.times[1][:0]
		u.sum, u.count = 0, 0
	}
	off := u.off
	if u.trial >= 0 {
		off = (u.trial/tuneBlock)%2 == 1
	}
	for _, t := range u.ts {
		t.SetSplit(!off)
	}
	step(idx)
	if u.trial < 0 {
		return
	}
	if full {
		u.sum += u.now().Sub(now)
		u.count++
	}
	u.trial++
	if u.trial%tuneBlock == 0 {
		if u.count > 0 {
			s := 0
			if off {
				s = 1
			}
			u.times[s] = append(u.times[s], u.sum/time.Duration(u.count))
		}
		u.sum, u.count = 0, 0
	}
	if u.trial == tuneSteps {
		u.trial = -1
		end := u.now()
		// Each trial that confirms the choice doubles the wait before the
		// next, up to 8 times every: half a trial runs the slower way.
		u.next = end.Add(max(u.every<<u.calm, u.spacing*end.Sub(u.began)))
		if len(u.times[0]) == 0 || len(u.times[1]) == 0 {
			return
		}
		switch off := slices.Min(u.times[1]) < slices.Min(u.times[0]); {
		case off == u.off:
			u.doubt = false
			u.calm = min(u.calm+1, 3)
		case !u.doubt:
			// The other way won: a second trial, right away, must agree
			// before the tuner switches (a trial whose blocks of one way
			// all met a busy spell of the host would otherwise switch it
			// for 0.2 s).
			u.doubt, u.next = true, end
		default:
			u.off, u.doubt, u.calm = off, false, 0
		}
	}
}
