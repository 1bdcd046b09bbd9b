package kiln

import (
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/kiln-ml/kiln/data"
	"github.com/kiln-ml/kiln/internal/kernels"
	"github.com/kiln-ml/kiln/layers"
	"github.com/kiln-ml/kiln/optimizers"
)

// TestSplitDenseBitIdentical trains models whose first layer is a wide
// Dense, which Fit on several threads splits by inputs (model parallel:
// each thread owns a block of W's rows, the sums relayed from thread to
// thread; layers/dense_split.go), on 1, 2 and 3 threads at every kernel
// level this CPU has, and requires the same History and weights, bit for
// bit, as one thread at the best level: uint8 inputs read as bytes
// (ForwardBytes, with and without a scale) and float32 inputs (Forward),
// with and without a bias, a batch whose last step is too small to split,
// a second wide layer (whose input gradient is split by its inputs too),
// and every optimizer's update split by the same rows.
func TestSplitDenseBitIdentical(t *testing.T) {
	x, y := imagesLike(150, 11)
	vx, vy := imagesLike(40, 12)
	f32 := func(a *data.Array) *data.Array {
		v := make([]float32, a.Rows()*784)
		a.GatherRows(v, seq(a.Rows()))
		for i := range v {
			v[i] *= 1.0 / 255
		}
		return data.NewFloat32(v, a.Rows(), 28, 28)
	}
	momentum := func() optimizers.Optimizer {
		o := optimizers.NewSGD(0.05)
		o.Momentum = 0.9
		return o
	}
	flat := func(ls ...layers.Layer) *Sequential {
		return NewSequential(append([]any{layers.NewInput(28, 28), layers.NewFlatten()}, anys(ls)...)...)
	}
	models := []struct {
		name   string
		batch  int
		x, vx  *data.Array
		make   func() (*Sequential, optimizers.Optimizer)
		second bool // a second wide Dense (with an input gradient), split too
	}{
		{"bytes-scaled", 32, x.WithScale(1.0 / 255), vx.WithScale(1.0 / 255), func() (*Sequential, optimizers.Optimizer) {
			return flat(layers.MustNewDense(64, layers.WithActivation("relu")), layers.MustNewDense(10, layers.WithActivation("softmax"))), optimizers.NewAdam(0.001)
		}, false},
		{"bytes-raw-nobias", 40, x, vx, func() (*Sequential, optimizers.Optimizer) {
			return flat(layers.MustNewDense(48, layers.WithActivation("tanh"), layers.WithoutBias()), layers.MustNewDense(10, layers.WithActivation("softmax"))), optimizers.NewRMSprop(0.0005)
		}, false},
		{"float32-two-wide", 64, f32(x), f32(vx), func() (*Sequential, optimizers.Optimizer) {
			return flat(layers.MustNewDense(96, layers.WithActivation("relu")), layers.MustNewDense(40, layers.WithActivation("relu")),
				layers.MustNewDense(10, layers.WithActivation("softmax"))), momentum()
		}, true},
		{"bytes-dropout-hidden", 32, x.WithScale(1.0 / 255), vx.WithScale(1.0 / 255), func() (*Sequential, optimizers.Optimizer) {
			drop, _ := layers.NewDropout(0.2)
			return flat(layers.MustNewDense(128, layers.WithActivation("relu")), layers.MustNewDense(100, layers.WithActivation("relu")), drop,
				layers.MustNewDense(10, layers.WithActivation("softmax"))), optimizers.NewAdam(0.001)
		}, true},
		{"float32-adagrad", 32, f32(x), f32(vx), func() (*Sequential, optimizers.Optimizer) {
			return flat(layers.MustNewDense(130, layers.WithActivation("sigmoid")), layers.MustNewDense(10, layers.WithActivation("softmax"))), optimizers.NewAdagrad(0.01)
		}, false},
	}
	best := kernels.Current()
	for _, w := range models {
		t.Run(w.name, func(t *testing.T) {
			var want string
			var wantW [][]float32
			for _, level := range append([]kernels.Level{best}, kernels.Supported()...) {
				prev, err := kernels.Use(level)
				if err != nil {
					t.Fatal(err)
				}
				for _, threads := range []int{1, 2, 3} {
					m, opt := w.make()
					if err := m.Compile(CompileOptions{Optimizer: opt, Loss: "categorical_crossentropy", Metrics: []string{"accuracy"}, Seed: 5, Warnings: io.Discard}); err != nil {
						t.Fatal(err)
					}
					h, err := m.Fit(context.Background(), w.x, y, FitOptions{BatchSize: w.batch, Epochs: 2, Threads: threads, ValidationData: &XY{w.vx, vy}})
					if err != nil {
						t.Fatal(err)
					}
					first := m.layers[1].(*layers.Dense)
					if split := first.Kernel.SplitRows; split != (threads > 1) {
						t.Fatalf("%s, %d threads: first Dense split by inputs = %v", level, threads, split)
					}
					if w.second && m.layers[2].(*layers.Dense).Kernel.SplitRows != (threads > 1) {
						t.Fatalf("%s, %d threads: second Dense split by inputs = %v", level, threads, !(threads > 1))
					}
					got, ws := historyBits(h), m.GetWeights()
					if want == "" {
						want, wantW = got, ws
						continue
					}
					sameRun(t, fmt.Sprintf("%s, %d threads", level, threads), best.String()+", 1 thread", got, want, ws, wantW)
				}
				kernels.Use(prev)
			}
		})
	}
}

// seq returns 0, 1, …, n−1.
func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}
