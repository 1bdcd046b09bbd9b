package kiln

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"os"
	"slices"
	"testing"

	"github.com/kiln-ml/kiln/data"
	"github.com/kiln-ml/kiln/layers"
	"github.com/kiln-ml/kiln/optimizers"
)

// residualConcatModel is the Functional model of
// testdata/golden/gen_functional.py: Input(784) → Dense(32, relu) = h →
// Add(Dense(32, relu)(h), h) → Dense(16, relu) ‖ Dense(16, tanh) →
// Concatenate → Dense(10, softmax).
func residualConcatModel(t testing.TB) *Sequential {
	t.Helper()
	x := Input(784)
	h := layers.Apply(layers.MustNewDense(32, layers.WithActivation("relu")), x)
	r := layers.Apply(layers.MustNewDense(32, layers.WithActivation("relu")), h)
	a := layers.ApplyMerge(layers.NewAdd(), r, h)
	b1 := layers.Apply(layers.MustNewDense(16, layers.WithActivation("relu")), a)
	b2 := layers.Apply(layers.MustNewDense(16, layers.WithActivation("tanh")), a)
	c := layers.ApplyMerge(layers.NewConcatenate(-1), b1, b2)
	y := layers.Apply(layers.MustNewDense(10, layers.WithActivation("softmax")), c)
	m, err := NewFunctional([]*layers.Node{x}, []*layers.Node{y})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

type namedValues struct {
	Name  string    `json:"name"`
	Shape []int     `json:"shape"`
	Value []float64 `json:"value"`
}

// maxDiff returns max |got − want| and that divided by max(1, max |want|).
func maxDiff(got []float32, want []float64) (abs, scaled float64) {
	top := 1.0
	for i, w := range want {
		abs = math.Max(abs, math.Abs(float64(got[i])-w))
		top = math.Max(top, math.Abs(w))
	}
	return abs, abs / top
}

// mergesModel is the second model of gen_functional.py: every merge layer,
// Input(6) → g = Dense(5, sigmoid), v = Dense(5, tanh) → m = Multiply(g, v)
// → s = Subtract(m, g) → Average(s, v, m) → Concatenate(·, g) →
// Dense(3, softmax).
func mergesModel(t testing.TB) *Sequential {
	t.Helper()
	x := Input(6)
	g := layers.Apply(layers.MustNewDense(5, layers.WithActivation("sigmoid")), x)
	v := layers.Apply(layers.MustNewDense(5, layers.WithActivation("tanh")), x)
	m := layers.ApplyMerge(layers.NewMultiply(), g, v)
	s := layers.ApplyMerge(layers.NewSubtract(), m, g)
	a := layers.ApplyMerge(layers.NewAverage(), s, v, m)
	c := layers.ApplyMerge(layers.NewConcatenate(-1), a, g)
	y := layers.Apply(layers.MustNewDense(3, layers.WithActivation("softmax")), c)
	model, err := NewFunctional([]*layers.Node{x}, []*layers.Node{y})
	if err != nil {
		t.Fatal(err)
	}
	return model
}

// TestFunctionalGoldenPyTorch compares Functional models with PyTorch
// (testdata/golden/functional*.json, made by gen_functional.py): a residual
// Add + two-branch Concatenate network, and one of every merge layer. The
// forward output, the loss and every weight's gradient on one batch, and
// the losses and weights of 3 SGD steps, agree within 1e-5.
func TestFunctionalGoldenPyTorch(t *testing.T) {
	for _, c := range []struct {
		file       string
		model      func(testing.TB) *Sequential
		in, labels int
	}{
		{"functional.json", residualConcatModel, 784, 10},
		{"functional_merges.json", mergesModel, 6, 3},
	} {
		t.Run(c.file, func(t *testing.T) { runFunctionalGolden(t, c.file, c.model(t), c.in, c.labels) })
	}
}

func runFunctionalGolden(t *testing.T, file string, m *Sequential, inDim, classes int) {
	raw, err := os.ReadFile("testdata/golden/" + file)
	if err != nil {
		t.Fatalf("fixture missing (regenerate with /usr/bin/python3 testdata/golden/gen_functional.py): %v", err)
	}
	var fx struct {
		X, Y           []float64
		N              int
		BatchSize      int           `json:"batch_size"`
		LearningRate   float64       `json:"learning_rate"`
		InitialWeights []namedValues `json:"initial_weights"`
		Output         []float64
		Loss           float64
		Gradients      []namedValues
		StepLosses     []float64     `json:"step_losses"`
		FinalWeights   []namedValues `json:"final_weights"`
	}
	if err := json.Unmarshal(raw, &fx); err != nil {
		t.Fatal(err)
	}
	if err := m.Compile(CompileOptions{Optimizer: optimizers.NewSGD(float32(fx.LearningRate)), Loss: "categorical_crossentropy", Warnings: io.Discard}); err != nil {
		t.Fatal(err)
	}
	ws := m.Weights()
	if len(ws) != len(fx.InitialWeights) {
		t.Fatalf("%d weights, fixture has %d", len(ws), len(fx.InitialWeights))
	}
	for i, v := range ws {
		f := fx.InitialWeights[i]
		if v.Name != f.Name || !slices.Equal(v.Shape, f.Shape) {
			t.Fatalf("weight %d is %s %v, PyTorch's (Keras order) is %s %v", i, v.Name, v.Shape, f.Name, f.Shape)
		}
		for j, w := range f.Value {
			v.Value[j] = float32(w)
		}
	}
	xs := make([]float32, len(fx.X))
	for i, v := range fx.X {
		xs[i] = float32(v)
	}
	ys := make([]float32, len(fx.Y))
	for i, v := range fx.Y {
		ys[i] = float32(v)
	}
	x, y := data.NewFloat32(xs, fx.N, inDim), data.NewFloat32(ys, fx.N, classes)
	bs := fx.BatchSize

	pred, err := m.Predict(context.Background(), x.Slice(0, bs), EvaluateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := maxDiff(pred.F32, fx.Output); d > 1e-5 {
		t.Errorf("forward output differs from PyTorch by %.2e", d)
	} else {
		t.Logf("forward output: max |Δ| %.2e", d)
	}
	for s := 0; s < 3; s++ {
		res, err := m.TrainOnBatch(x.Slice(s*bs, (s+1)*bs), y.Slice(s*bs, (s+1)*bs))
		if err != nil {
			t.Fatal(err)
		}
		if d := math.Abs(res.Values[0] - fx.StepLosses[s]); d > 1e-5 {
			t.Errorf("step %d: loss %.9g, PyTorch %.9g", s, res.Values[0], fx.StepLosses[s])
		} else {
			t.Logf("step %d: loss |Δ| %.2e", s, d)
		}
		if s > 0 {
			continue
		}
		// The gradients of the first step are still in the variables.
		for i, v := range m.Variables() {
			g := fx.Gradients[i]
			if g.Name != v.Name {
				t.Fatalf("gradient %d is %s, fixture %s", i, v.Name, g.Name)
			}
			if abs, sc := maxDiff(v.Grad, g.Value); sc > 1e-5 {
				t.Errorf("gradient of %s differs from PyTorch by %.2e", v.Name, abs)
			} else {
				t.Logf("gradient of %s: max |Δ| %.2e", v.Name, abs)
			}
		}
	}
	for i, v := range m.Weights() {
		if abs, sc := maxDiff(v.Value, fx.FinalWeights[i].Value); sc > 1e-5 {
			t.Errorf("%s after 3 SGD steps differs from PyTorch by %.2e", v.Name, abs)
		} else {
			t.Logf("%s after 3 steps: max |Δ| %.2e", v.Name, abs)
		}
	}
}
