package kiln

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/kiln-ml/kiln/data"
	"github.com/kiln-ml/kiln/optimizers"
)

func fitWeighted(t *testing.T, lr float64, o FitOptions) (*History, []float32) {
	t.Helper()
	x, y, _ := blobs(96, 3)
	m := mlp("softmax")
	if err := m.Compile(CompileOptions{Optimizer: optimizers.NewSGD(float32(lr)), Loss: "categorical_crossentropy", Metrics: []string{"accuracy"}, Seed: 2}); err != nil {
		t.Fatal(err)
	}
	o.BatchSize, o.Epochs = 16, 3
	h, err := m.Fit(context.Background(), x, y, o)
	if err != nil {
		t.Fatal(err)
	}
	var w []float32
	for _, v := range m.Variables() {
		w = append(w, v.Value...)
	}
	return h, w
}

func maxRelDiff(a, b []float32) float64 {
	var d, s float64
	for i := range a {
		d = max(d, math.Abs(float64(a[i]-b[i])))
		s = max(s, math.Abs(float64(a[i])))
	}
	return d / s
}

// TestSampleWeightScales: unit weights train like no weights; weights of 2
// with SGD at lr train like lr 2·lr with a loss twice as large (Keras'
// sum_over_batch_size: Σ w·loss / batch size).
func TestSampleWeightScales(t *testing.T) {
	ones, twos := make([]float32, 96), make([]float32, 96)
	for i := range ones {
		ones[i], twos[i] = 1, 2
	}
	h0, w0 := fitWeighted(t, 0.05, FitOptions{})
	h1, w1 := fitWeighted(t, 0.05, FitOptions{SampleWeight: ones})
	if d := maxRelDiff(w0, w1); d > 1e-6 {
		t.Errorf("unit sample weights changed the weights by %.2g", d)
	}
	for e := range 3 {
		if math.Abs(h0.History["loss"][e]-h1.History["loss"][e]) > 1e-6*h0.History["loss"][e] || h0.History["accuracy"][e] != h1.History["accuracy"][e] {
			t.Errorf("epoch %d: unweighted %v/%v, unit weights %v/%v", e, h0.History["loss"][e], h0.History["accuracy"][e], h1.History["loss"][e], h1.History["accuracy"][e])
		}
	}
	h2, w2 := fitWeighted(t, 0.05, FitOptions{SampleWeight: twos})
	h3, w3 := fitWeighted(t, 0.1, FitOptions{})
	if d := maxRelDiff(w2, w3); d > 1e-5 {
		t.Errorf("weights 2 at lr 0.05 vs lr 0.1: weights differ by %.2g", d)
	}
	if r := h2.History["loss"][2] / h3.History["loss"][2]; math.Abs(r-2) > 1e-4 {
		t.Errorf("weighted loss / unweighted loss = %v, want 2", r)
	}
	// class_weight {1,1,1} is no weighting; class_weight × sample_weight multiply.
	_, w4 := fitWeighted(t, 0.05, FitOptions{ClassWeight: map[int]float64{0: 2, 1: 2, 2: 2}})
	if d := maxRelDiff(w4, w3); d > 1e-5 {
		t.Errorf("class_weight 2 for every class vs lr 0.1: %.2g", d)
	}
	_, w5 := fitWeighted(t, 0.05, FitOptions{ClassWeight: map[int]float64{0: 0.5, 1: 0.5, 2: 0.5}, SampleWeight: twos})
	if d := maxRelDiff(w5, w0); d > 1e-6 {
		t.Errorf("class_weight 0.5 × sample_weight 2 vs unweighted: %.2g", d)
	}
}

// TestWeightedMetrics: Keras weights the metrics too: accuracy is
// Σ w·correct / Σ w.
func TestWeightedMetrics(t *testing.T) {
	m := mlp("softmax")
	if err := m.Compile(CompileOptions{Optimizer: optimizers.NewSGD(0.01), Loss: "sparse_categorical_crossentropy", Metrics: []string{"accuracy"}, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	x, _, labels := blobs(8, 4)
	pred, err := m.Predict(context.Background(), x, EvaluateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w := make([]float32, 8)
	var num, den float64
	for i := range w {
		w[i] = float32(i + 1)
		best := 0
		for c := 1; c < 3; c++ {
			if pred.F32[i*3+c] > pred.F32[i*3+best] {
				best = c
			}
		}
		if int64(best) == labels.I64[i] {
			num += float64(w[i])
		}
		den += float64(w[i])
	}
	res, err := m.TrainOnBatchWith(x, labels, TrainOnBatchOptions{SampleWeight: w})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := res.Values[1], num/den; math.Abs(got-want) > 1e-6 {
		t.Errorf("weighted accuracy %v, want %v", got, want)
	}
}

func TestSampleWeightErrors(t *testing.T) {
	x, y, _ := blobs(10, 5)
	m := mlp("softmax")
	if err := m.Compile(CompileOptions{Optimizer: "sgd", Loss: "categorical_crossentropy"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		o    FitOptions
		want string
	}{
		{FitOptions{ClassWeight: map[int]float64{0: 1, 2: 1}}, "Expected `class_weight` to be a dict with keys from 0 to one less than the number of classes"},
		{FitOptions{ClassWeight: map[int]float64{0: 1, 1: 1}}, "has class 2, but class_weight has keys 0 to 1"},
		{FitOptions{ClassWeight: map[int]float64{0: 1, 1: -1, 2: 1}}, "class_weight[1] is -1"},
		{FitOptions{SampleWeight: make([]float32, 9)}, "sample_weight has 9 values but x has 10 samples"},
		{FitOptions{SampleWeight: []float32{1, 1, 1, 1, float32(math.NaN()), 1, 1, 1, 1, 1}}, "sample_weight 4 is NaN"},
		{FitOptions{SampleWeight: make([]float32, 10), ValidationSplit: 0.2}, "validation_split"},
	} {
		_, err := m.Fit(context.Background(), x, y, c.o)
		if !IsInputError(err) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v; want an input error containing %q", c.o, err, c.want)
		}
	}
	y3 := data.NewFloat32(make([]float32, 10*3*2), 10, 3, 2)
	if _, err := sampleWeights(x, y3, nil, map[int]float64{0: 1}, false); err == nil || !strings.Contains(err.Error(), "3+ dimensional") {
		t.Errorf("3-D targets: %v", err)
	}
}

// TestWeightedStepAllocatesNothing keeps the weighted step allocation-free.
func TestWeightedStepAllocatesNothing(t *testing.T) {
	x, y, _ := blobs(64, 6)
	m := mlp("softmax")
	if err := m.Compile(CompileOptions{Optimizer: "sgd", Loss: "categorical_crossentropy", Metrics: []string{"accuracy"}}); err != nil {
		t.Fatal(err)
	}
	w, _ := sampleWeights(x, y, nil, map[int]float64{0: 1, 1: 2, 2: 3}, false)
	tr, err := m.newTrainer(x, y, 16, nil)
	if err != nil {
		t.Fatal(err)
	}
	tr.w = w
	idx := []int{0, 5, 9, 3, 7, 1, 2, 4, 6, 8, 10, 11, 12, 13, 14, 15}
	if a := testing.AllocsPerRun(20, func() { tr.step(idx) }); a != 0 {
		t.Errorf("weighted step: %v allocs", a)
	}
}
