package config_test

import (
	"context"
	"io"
	"math"
	"runtime"
	"slices"
	"testing"

	"github.com/kiln-ml/kiln/config"
	"github.com/kiln-ml/kiln/datasets/mnist"
)

// TestSeedHistoryPinned trains examples/seed.yaml as shipped (seed 1, 10
// epochs, shuffled, validation on the test set) and requires kiln fit's
// History exactly, value for value (each a float32 in the History's
// float64). The bands below are far too loose to notice a broken gradient:
// the run is chaotic, so no tolerance separates rounding from a bug either
// (measured: lr nudged by one float32 ulp moves the epoch-1 loss from
// 314.7581 to 317.7347, as much as dropping the bias gradient does). But it
// is deterministic: the same bits at every kernel level, with -tags purego,
// GOMAXPROCS 1, 2 and 4, GOAMD64=v3 and GODEBUG=cpu.fma=off (math.Exp's
// other variant). Other architectures may round differently, so the exact
// pin runs on amd64 only.
//
// catches: Dense's bias gradient dropped (epoch-1 loss 317.4996); shuffling
// disabled (323.6581); any other change to the numbers of this run.
func TestSeedHistoryPinned(t *testing.T) {
	if testing.Short() {
		t.Skip("trains 10 MNIST epochs")
	}
	if runtime.GOARCH != "amd64" {
		t.Skipf("the History is pinned for amd64; %s may round differently", runtime.GOARCH)
	}
	if _, err := mnist.Locate(); err != nil {
		t.Skip(err)
	}
	want := map[string][]float32{
		"loss":         {314.7581, 256.16052, 248.34608, 245.85945, 239.75964, 239.11615, 241.12036, 233.91554, 234.04115, 231.23572},
		"accuracy":     {0.8434333, 0.8701, 0.87378335, 0.8754333, 0.87925, 0.87845, 0.8800167, 0.8811, 0.88268334, 0.88228333},
		"val_loss":     {353.9059, 204.00659, 232.80678, 295.61996, 233.0423, 219.2617, 239.37762, 239.1234, 211.32062, 425.0025},
		"val_accuracy": {0.8251, 0.891, 0.8777, 0.8571, 0.8801, 0.8981, 0.8819, 0.8841, 0.9018, 0.8215},
	}
	e, err := config.Load("../examples/seed.yaml", []string{"fit.verbose=0"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := config.Build(e, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	h, err := r.Model.Fit(context.Background(), r.X, r.Y, r.Fit)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(h.Keys, []string{"loss", "accuracy", "val_loss", "val_accuracy"}) {
		t.Fatalf("History keys %v", h.Keys)
	}
	for _, k := range h.Keys {
		got := h.History[k]
		if len(got) != len(want[k]) {
			t.Fatalf("%s: %d epochs, want %d", k, len(got), len(want[k]))
		}
		for i, v := range got {
			if v != float64(want[k][i]) {
				t.Errorf("%s[epoch %d] = %v, want exactly %v", k, i+1, float32(v), want[k][i])
			}
		}
	}
}

// TestSeedReproducesTheQuestion runs the question's program (examples/seed.yaml)
// for one epoch at lr 0.01 and 0.03 over three seeds and checks the numbers
// the question reports: epoch-1 loss ≈315 at 0.01 (in [250, 400]), ≈3× that
// at 0.03, and the same accuracy (in [0.82, 0.87], within 0.015) at both rates.
func TestSeedReproducesTheQuestion(t *testing.T) {
	if testing.Short() {
		t.Skip("trains 6 MNIST epochs")
	}
	type res struct{ loss, acc float64 }
	run := func(seed int64, lr string) res {
		e, err := config.Load("../examples/seed.yaml", []string{"fit.epochs=1", "compile.optimizer.learning_rate=" + lr, "fit.verbose=0"})
		if err != nil {
			t.Fatal(err)
		}
		e.Seed = seed
		r, err := config.Build(e, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		r.Fit.ValidationData = nil // the bands are about training numbers
		h, err := r.Model.Fit(context.Background(), r.X, r.Y, r.Fit)
		if err != nil {
			t.Fatal(err)
		}
		return res{h.History["loss"][0], h.History["accuracy"][0]}
	}
	var ratios []float64
	for _, seed := range []int64{1, 2, 3} {
		a, b := run(seed, "0.01"), run(seed, "0.03")
		t.Logf("seed %d: lr 0.01 loss %.4f acc %.4f | lr 0.03 loss %.4f acc %.4f | ratio %.3f", seed, a.loss, a.acc, b.loss, b.acc, b.loss/a.loss)
		if a.loss < 250 || a.loss > 400 {
			t.Errorf("seed %d: epoch-1 loss at lr 0.01 = %.2f, want in [250, 400] (the question: 315.47)", seed, a.loss)
		}
		if a.acc < 0.82 || a.acc > 0.87 || b.acc < 0.82 || b.acc > 0.87 {
			t.Errorf("seed %d: epoch-1 accuracy %.4f / %.4f, want in [0.82, 0.87] (the question: 0.8432)", seed, a.acc, b.acc)
		}
		if d := math.Abs(a.acc - b.acc); d >= 0.015 {
			t.Errorf("seed %d: accuracy differs by %.4f between the rates, want < 0.015", seed, d)
		}
		ratios = append(ratios, b.loss/a.loss)
	}
	mean := (ratios[0] + ratios[1] + ratios[2]) / 3
	if mean < 2.5 || mean > 3.5 {
		t.Errorf("mean loss ratio lr 0.03 / lr 0.01 = %.3f over seeds, want in [2.5, 3.5]", mean)
	}
}
