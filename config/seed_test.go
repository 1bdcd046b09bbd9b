package config_test

import (
	"context"
	"io"
	"math"
	"testing"

	"github.com/kiln-ml/kiln/config"
)

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
