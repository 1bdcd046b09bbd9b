package kiln

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/kiln-ml/kiln/data"
	"github.com/kiln-ml/kiln/layers"
	"github.com/kiln-ml/kiln/optimizers"
)

// imagesLike returns n MNIST-like samples: 28×28 uint8 images, about a
// fifth of the pixels non-zero, and one-hot labels of 10 classes.
func imagesLike(n int, seed uint64) (x, y *data.Array) {
	rng := rand.New(rand.NewPCG(seed, 1))
	px := make([]uint8, n*28*28)
	lab := make([]float32, n*10)
	for i := 0; i < n; i++ {
		c := rng.IntN(10)
		lab[i*10+c] = 1
		for p := 0; p < 28*28; p++ {
			// A class-dependent blob, so that training learns something.
			r, col := p/28, p%28
			if (r+c)%7 < 3 && col > 4 && col < 24 && rng.IntN(3) > 0 {
				px[i*28*28+p] = uint8(64 + rng.IntN(192))
			}
		}
	}
	return data.NewUint8(px, n, 28, 28), data.NewFloat32(lab, n, 10)
}

// threadModels are the workloads whose History must not depend on the
// number of threads: kiln bench's seed, mlp, cnn and cnn-bn, a Dropout
// model, a convnet with "same" padding, strides, an input gradient through
// two convolutions and overlapping pools, and a Functional model.
var threadModels = []struct {
	name  string
	batch int
	image bool // (28, 28, 1) inputs, scaled 1/255
	raw   bool // raw uint8 pixels (the seed)
	make  func() (*Sequential, optimizers.Optimizer)
}{
	{"seed", 32, false, true, func() (*Sequential, optimizers.Optimizer) {
		return NewSequential(layers.NewInput(28, 28), layers.NewFlatten(), layers.MustNewDense(10, layers.WithActivation("sigmoid"))), optimizers.NewSGD(0.01)
	}},
	{"mlp", 32, false, false, func() (*Sequential, optimizers.Optimizer) {
		return NewSequential(layers.NewInput(28, 28), layers.NewFlatten(), layers.MustNewDense(128, layers.WithActivation("relu")),
			layers.MustNewDense(10, layers.WithActivation("softmax"))), optimizers.NewAdam(0.001)
	}},
	{"cnn", 128, true, false, func() (*Sequential, optimizers.Optimizer) {
		return NewSequential(layers.NewInput(28, 28, 1), layers.MustNewConv2D(32, [2]int{3, 3}, layers.WithActivation("relu")),
			layers.MustNewMaxPooling2D([2]int{2, 2}), layers.NewFlatten(), layers.MustNewDense(10, layers.WithActivation("softmax"))), optimizers.NewAdam(0.001)
	}},
	{"cnn-bn", 128, true, false, func() (*Sequential, optimizers.Optimizer) {
		relu, _ := layers.NewActivation("relu")
		return NewSequential(layers.NewInput(28, 28, 1), layers.MustNewConv2D(32, [2]int{3, 3}, layers.WithoutBias()), layers.MustNewBatchNormalization(), relu,
			layers.MustNewMaxPooling2D([2]int{2, 2}), layers.NewFlatten(), layers.MustNewDense(10, layers.WithActivation("softmax"))), optimizers.NewAdam(0.001)
	}},
	{"dropout", 64, false, false, func() (*Sequential, optimizers.Optimizer) {
		drop, _ := layers.NewDropout(0.3)
		o := optimizers.NewSGD(0.05)
		o.Momentum = 0.9
		return NewSequential(layers.NewInput(28, 28), layers.NewFlatten(), layers.MustNewDense(24, layers.WithActivation("relu")), drop,
			layers.MustNewDense(10, layers.WithActivation("softmax"))), o
	}},
	{"convnet", 100, true, false, func() (*Sequential, optimizers.Optimizer) {
		return NewSequential(layers.NewInput(28, 28, 1),
			layers.MustNewConv2D(16, [2]int{3, 3}, layers.WithPadding("same"), layers.WithActivation("relu")),
			layers.MustNewConv2D(20, [2]int{3, 3}, layers.WithStrides(2, 2), layers.WithActivation("tanh")),
			layers.MustNewMaxPooling2D([2]int{3, 3}, layers.WithStrides(2, 2), layers.WithPadding("same")),
			layers.NewFlatten(), layers.MustNewDense(30, layers.WithActivation("relu")),
			layers.MustNewDense(10, layers.WithActivation("softmax"))), optimizers.NewRMSprop(0.001)
	}},
	{"functional", 128, true, false, func() (*Sequential, optimizers.Optimizer) {
		x := Input(28, 28, 1)
		a := layers.Apply(layers.MustNewConv2D(16, [2]int{3, 3}, layers.WithPadding("same"), layers.WithActivation("relu")), x)
		b := layers.Apply(layers.MustNewConv2D(16, [2]int{3, 3}, layers.WithPadding("same")), x)
		s := layers.ApplyMerge(layers.NewAdd(), a, b)
		p := layers.Apply(layers.MustNewMaxPooling2D([2]int{2, 2}), s)
		f := layers.Apply(layers.NewFlatten(), p)
		y := layers.Apply(layers.MustNewDense(10, layers.WithActivation("softmax")), f)
		m, err := NewFunctional([]*layers.Node{x}, []*layers.Node{y})
		if err != nil {
			panic(err)
		}
		return m, optimizers.NewAdagrad(0.01)
	}},
}

// TestThreadsBitIdentical trains each workload with 1, 2 and 3 threads
// (3 splits unevenly) and requires the same History and weights, bit for
// bit.
func TestThreadsBitIdentical(t *testing.T) {
	x, y := imagesLike(300, 7)
	vx, vy := imagesLike(70, 8)
	for _, w := range threadModels {
		t.Run(w.name, func(t *testing.T) {
			tx, tvx := x, vx
			if w.image {
				tx = x.Reshaped([]int{x.Rows(), 28, 28, 1}).WithScale(1.0 / 255)
				tvx = vx.Reshaped([]int{vx.Rows(), 28, 28, 1}).WithScale(1.0 / 255)
			} else if !w.raw {
				tx, tvx = x.WithScale(1.0/255), vx.WithScale(1.0/255)
			}
			var want string
			var wantW [][]float32
			for _, threads := range []int{1, 2, 3} {
				m, opt := w.make()
				if err := m.Compile(CompileOptions{Optimizer: opt, Loss: "categorical_crossentropy", Metrics: []string{"accuracy"}, Seed: 3, Warnings: io.Discard}); err != nil {
					t.Fatal(err)
				}
				h, err := m.Fit(context.Background(), tx, y, FitOptions{BatchSize: w.batch, Epochs: 2, Threads: threads, ValidationData: &XY{tvx, vy}})
				if err != nil {
					t.Fatal(err)
				}
				got := historyBits(h)
				ws := m.GetWeights()
				if threads == 1 {
					want, wantW = got, ws
					continue
				}
				sameRun(t, fmt.Sprintf("%d threads", threads), "1 thread", got, want, ws, wantW)
			}
		})
	}
}

// sameRun fails t unless run what left the History got (historyBits) and
// the weights ws that the reference run ref left, bit for bit.
func sameRun(t *testing.T, what, ref, got, want string, ws, wantW [][]float32) {
	t.Helper()
	if got != want {
		t.Errorf("%s: History\n%s\nwant (%s)\n%s", what, got, ref, want)
	}
	for i := range ws {
		for j := range ws[i] {
			if math.Float32bits(ws[i][j]) != math.Float32bits(wantW[i][j]) {
				t.Fatalf("%s: weight %d[%d] = %v, %s %v", what, i, j, ws[i][j], ref, wantW[i][j])
			}
		}
	}
}

// historyBits prints a History with every value's bits.
func historyBits(h *History) string {
	s := ""
	for _, k := range h.Keys {
		s += k + ":"
		for _, v := range h.History[k] {
			s += fmt.Sprintf(" %v(%#x)", v, math.Float64bits(v))
		}
		s += "\n"
	}
	return s
}

// TestThreadsOption checks FitOptions.Threads' validation.
func TestThreadsOption(t *testing.T) {
	x, y := imagesLike(40, 1)
	m, opt := threadModels[0].make()
	if err := m.Compile(CompileOptions{Optimizer: opt, Loss: "categorical_crossentropy", Seed: 1, Warnings: io.Discard}); err != nil {
		t.Fatal(err)
	}
	_, err := m.Fit(context.Background(), x, y, FitOptions{Threads: -1})
	if err == nil || !IsInputError(err) {
		t.Fatalf("Threads -1: got %v, want an input error", err)
	}
}

// TestFusedTrainingBitIdentical trains models with a Conv2D → MaxPooling2D
// pair, which Fit runs fused (layers.Fuse), and the same models with an
// identity Reshape between the two, which keeps them apart, on 1, 2 and
// 3 threads, and requires the same History and weights, bit for bit: the
// cnn workload (the pair first, no input gradient), a pair after another
// convolution (its input gradient), and a linear convolution into
// overlapping, padded pooling windows.
func TestFusedTrainingBitIdentical(t *testing.T) {
	x, y := imagesLike(300, 9)
	vx, vy := imagesLike(70, 10)
	tx := x.Reshaped([]int{x.Rows(), 28, 28, 1}).WithScale(1.0 / 255)
	tvx := vx.Reshaped([]int{vx.Rows(), 28, 28, 1}).WithScale(1.0 / 255)
	softmax := func() layers.Layer { return layers.MustNewDense(10, layers.WithActivation("softmax")) }
	models := []struct {
		name  string
		batch int
		make  func(split bool) []layers.Layer
	}{
		{"cnn", 128, func(split bool) []layers.Layer {
			return pair(split, []int{26, 26, 32}, layers.MustNewConv2D(32, [2]int{3, 3}, layers.WithActivation("relu")),
				layers.MustNewMaxPooling2D([2]int{2, 2}), layers.NewFlatten(), softmax())
		}},
		{"second", 50, func(split bool) []layers.Layer {
			return append([]layers.Layer{layers.MustNewConv2D(8, [2]int{3, 3}, layers.WithActivation("relu"), layers.WithPadding("same"))},
				pair(split, []int{26, 26, 16}, layers.MustNewConv2D(16, [2]int{3, 3}, layers.WithActivation("relu")),
					layers.MustNewMaxPooling2D([2]int{2, 2}), layers.NewFlatten(), softmax())...)
		}},
		{"linear-overlap", 64, func(split bool) []layers.Layer {
			return pair(split, []int{14, 14, 6}, layers.MustNewConv2D(6, [2]int{3, 3}, layers.WithStrides(2, 2), layers.WithPadding("same")),
				layers.MustNewMaxPooling2D([2]int{3, 3}, layers.WithStrides(2, 2), layers.WithPadding("same")), layers.NewFlatten(), softmax())
		}},
	}
	for _, w := range models {
		t.Run(w.name, func(t *testing.T) {
			for _, threads := range []int{1, 2, 3} {
				var want string
				var wantW [][]float32
				for _, split := range []bool{true, false} {
					m := NewSequential(append([]any{layers.NewInput(28, 28, 1)}, anys(w.make(split))...)...)
					if err := m.Compile(CompileOptions{Optimizer: optimizers.NewAdam(0.001), Loss: "categorical_crossentropy", Metrics: []string{"accuracy"}, Seed: 3, Warnings: io.Discard}); err != nil {
						t.Fatal(err)
					}
					tr, err := m.newTrainer(tx, y, w.batch, nil)
					if err != nil {
						t.Fatal(err)
					}
					if fused := slices.Contains(tr.exec, nil); fused == split {
						t.Fatalf("split %v: fused = %v", split, fused)
					}
					h, err := m.Fit(context.Background(), tx, y, FitOptions{BatchSize: w.batch, Epochs: 2, Threads: threads, ValidationData: &XY{tvx, vy}})
					if err != nil {
						t.Fatal(err)
					}
					got, ws := historyBits(h), m.GetWeights()
					if split {
						want, wantW = got, ws
						continue
					}
					sameRun(t, fmt.Sprintf("%d threads, fused", threads), "unfused", got, want, ws, wantW)
				}
			}
		})
	}
}

// pair returns conv, pool and rest, with a Reshape to shape (conv's
// output shape: an identity) between conv and pool if split.
func pair(split bool, shape []int, conv, pool layers.Layer, rest ...layers.Layer) []layers.Layer {
	ls := []layers.Layer{conv}
	if split {
		r, err := layers.NewReshape(shape...)
		if err != nil {
			panic(err)
		}
		ls = append(ls, r)
	}
	return append(append(ls, pool), rest...)
}

func anys(ls []layers.Layer) []any {
	out := make([]any, len(ls))
	for i, l := range ls {
		out[i] = l
	}
	return out
}

// TestPlanFusesOnlyValidPairs checks which layers the trainer's plan
// fuses: a relu or linear Conv2D with the MaxPooling2D after it, never
// other activations or pools.
func TestPlanFusesOnlyValidPairs(t *testing.T) {
	x, y := imagesLike(20, 11)
	tx := x.Reshaped([]int{x.Rows(), 28, 28, 1}).WithScale(1.0 / 255)
	conv := func(act string) layers.Layer {
		return layers.MustNewConv2D(4, [2]int{3, 3}, layers.WithActivation(act))
	}
	mp := func() layers.Layer { return layers.MustNewMaxPooling2D([2]int{2, 2}) }
	avg := func() layers.Layer {
		l, err := layers.NewAveragePooling2D([2]int{2, 2})
		if err != nil {
			panic(err)
		}
		return l
	}
	head := func() []layers.Layer {
		return []layers.Layer{layers.NewFlatten(), layers.MustNewDense(10, layers.WithActivation("softmax"))}
	}
	cases := []struct {
		name  string
		ls    []layers.Layer
		fused []int // the layers exec runs fused stages at
	}{
		{"relu", append([]layers.Layer{conv("relu"), mp()}, head()...), []int{0}},
		{"linear", append([]layers.Layer{conv("linear"), mp()}, head()...), []int{0}},
		{"tanh", append([]layers.Layer{conv("tanh"), mp()}, head()...), nil},
		{"average", append([]layers.Layer{conv("relu"), avg()}, head()...), nil},
		{"two", append([]layers.Layer{conv("relu"), mp(), conv("relu"), mp()}, head()...), []int{0, 2}},
	}
	for _, c := range cases {
		m := NewSequential(append([]any{layers.NewInput(28, 28, 1)}, anys(c.ls)...)...)
		if err := m.Compile(CompileOptions{Optimizer: optimizers.NewSGD(0.01), Loss: "categorical_crossentropy", Seed: 1, Warnings: io.Discard}); err != nil {
			t.Fatal(c.name, err)
		}
		tr, err := m.newTrainer(tx, y, 8, nil)
		if err != nil {
			t.Fatal(c.name, err)
		}
		var fused []int
		for i, s := range tr.exec {
			if l, ok := s.(layers.Layer); s != nil && (!ok || l != m.layers[i]) {
				fused = append(fused, i)
				if i+1 >= len(tr.exec) || tr.exec[i+1] != nil {
					t.Errorf("%s: exec[%d] is fused but exec[%d] is not nil", c.name, i, i+1)
				}
			}
		}
		if !slices.Equal(fused, c.fused) {
			t.Errorf("%s: fused stages at %v, want %v", c.name, fused, c.fused)
		}
	}
}
