package bench

import (
	"context"
	"reflect"
	"testing"
)

// TestInterleave trains the seed workload on 1 and 2 threads in turns of
// 300 steps: an epoch's 1875 steps make 6 turns a copy, the first left
// out, so 5 pairs, and both copies train to the same History.
func TestInterleave(t *testing.T) {
	if testing.Short() {
		t.Skip("trains MNIST epochs")
	}
	r, err := Interleave(context.Background(), Seed, 1, 2, 300)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.One) != 5 || len(r.Many) != 5 {
		t.Fatalf("%d and %d turns, want 5 each", len(r.One), len(r.Many))
	}
	for i := range r.One {
		if r.One[i] <= 0 || r.Many[i] <= 0 {
			t.Errorf("turn %d: step times %v and %v", i, r.One[i], r.Many[i])
		}
	}
	for k, c := range r.order {
		if c != k%2 {
			t.Fatalf("turns ended in the order %v, want the copies alternating, 1 thread first", r.order)
		}
	}
	ups := r.Speedups()
	for i := range ups {
		if want := r.One[i].Seconds() / r.Many[i].Seconds(); !containsFloat(ups, want) || (i > 0 && ups[i] < ups[i-1]) {
			t.Errorf("speed-ups %v: not the sorted ratios of the turns", ups)
			break
		}
	}
	h1, h2 := r.Histories[0], r.Histories[1]
	if h1 == nil || h2 == nil || len(h1.History["loss"]) != 1 || !reflect.DeepEqual(h1.History, h2.History) {
		t.Errorf("histories differ: 1 thread %v, 2 threads %v", h1, h2)
	}
	if _, err := Interleave(context.Background(), Seed, 1, 1, 300); err == nil {
		t.Error("Interleave with 1 thread: no error")
	}
}

func containsFloat(s []float64, v float64) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func TestQuantile(t *testing.T) {
	s := []float64{1, 2, 4, 8}
	for _, c := range []struct{ q, want float64 }{{0, 1}, {1, 8}, {0.5, 3}, {0.25, 1.75}, {1.0 / 3, 2}} {
		if got := Quantile(s, c.q); got != c.want {
			t.Errorf("Quantile(%v, %g) = %g, want %g", s, c.q, got, c.want)
		}
	}
	if Quantile(nil, 0.5) != 0 {
		t.Error("Quantile of nothing is not 0")
	}
}
