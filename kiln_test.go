package kiln

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/kiln-ml/kiln/callbacks"
	"github.com/kiln-ml/kiln/data"
	"github.com/kiln-ml/kiln/layers"
	"github.com/kiln-ml/kiln/optimizers"
)

// blobs makes a separable 3-class problem: x (n, 4) float32, one-hot y and integer labels.
func blobs(n int, seed uint64) (x, onehot, labels *data.Array) {
	rng := rand.New(rand.NewPCG(seed, 9))
	xs := make([]float32, n*4)
	ys := make([]float32, n*3)
	ls := make([]int64, n)
	for i := 0; i < n; i++ {
		c := rng.IntN(3)
		ls[i] = int64(c)
		ys[i*3+c] = 1
		for j := 0; j < 4; j++ {
			xs[i*4+j] = float32(rng.NormFloat64()*0.5) + float32(c*(j%2))
		}
	}
	return data.NewFloat32(xs, n, 4), data.NewFloat32(ys, n, 3), data.NewInt64(ls, n)
}

func mlp(act string) *Sequential {
	return NewSequential(layers.NewInput(4), layers.MustNewDense(8, layers.WithActivation("relu")), layers.MustNewDense(3, layers.WithActivation(act)))
}

func TestFitLearnsAndIsDeterministic(t *testing.T) {
	x, y, _ := blobs(300, 1)
	run := func() (*History, []float32) {
		m := mlp("softmax")
		if err := m.Compile(CompileOptions{Optimizer: optimizers.NewAdam(0.01), Loss: "categorical_crossentropy", Metrics: []string{"accuracy"}, Seed: 5}); err != nil {
			t.Fatal(err)
		}
		h, err := m.Fit(context.Background(), x, y, FitOptions{BatchSize: 16, Epochs: 15, ValidationSplit: 0.2})
		if err != nil {
			t.Fatal(err)
		}
		var w []float32
		for _, v := range m.Variables() {
			w = append(w, v.Value...)
		}
		return h, w
	}
	h1, w1 := run()
	h2, w2 := run()
	if strings.Join(h1.Keys, ",") != "loss,accuracy,val_loss,val_accuracy" {
		t.Fatalf("keys %v", h1.Keys)
	}
	if acc := h1.History["val_accuracy"][14]; acc < 0.8 {
		t.Errorf("val_accuracy %v after 15 epochs on separable blobs", acc)
	}
	if h1.History["loss"][14] >= h1.History["loss"][0] {
		t.Errorf("loss did not fall: %v", h1.History["loss"])
	}
	j1, _ := json.Marshal(h1)
	j2, _ := json.Marshal(h2)
	if !bytes.Equal(j1, j2) {
		t.Errorf("same seed gave different histories:\n%s\n%s", j1, j2)
	}
	for i := range w1 {
		if math.Float32bits(w1[i]) != math.Float32bits(w2[i]) {
			t.Fatalf("same seed gave different weights at %d", i)
		}
	}
	if h1.Params["steps"] != 15 || h1.Params["epochs"] != 15 {
		t.Errorf("params %v", h1.Params)
	}
}

func TestSparseLabelsAndAccuracyResolution(t *testing.T) {
	x, _, labels := blobs(200, 2)
	m := mlp("softmax")
	if err := m.Compile(CompileOptions{Optimizer: "adam", Loss: "sparse_categorical_crossentropy", Metrics: []string{"acc"}, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	h, err := m.Fit(context.Background(), x, labels, FitOptions{Epochs: 5})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := h.History["acc"]; !ok {
		t.Fatalf("metric name not kept as written: %v", h.Keys)
	}
	res, err := m.Evaluate(context.Background(), x, labels, EvaluateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Names[0] != "loss" || res.Names[1] != "acc" {
		t.Errorf("evaluate names %v", res.Names)
	}
	// Evaluate does not depend on the number of workers.
	r1, _ := m.Evaluate(context.Background(), x, labels, EvaluateOptions{Workers: 1, BatchSize: 7})
	r4, _ := m.Evaluate(context.Background(), x, labels, EvaluateOptions{Workers: 4, BatchSize: 7})
	if r1.Values[0] != r4.Values[0] || r1.Values[1] != r4.Values[1] {
		t.Errorf("evaluate depends on workers: %v vs %v", r1.Values, r4.Values)
	}
	p, err := m.Predict(context.Background(), x, EvaluateOptions{Workers: 3})
	if err != nil {
		t.Fatal(err)
	}
	if p.Shape[0] != 200 || p.Shape[1] != 3 {
		t.Fatalf("predict shape %v", p.Shape)
	}
	var s float32
	for _, v := range p.F32[:3] {
		s += v
	}
	if math.Abs(float64(s)-1) > 1e-5 {
		t.Errorf("softmax predictions sum to %v", s)
	}
}

func TestIntegerLabelsWithCategoricalCrossentropyExplainsFix(t *testing.T) {
	x, _, labels := blobs(50, 3)
	m := mlp("softmax")
	if err := m.Compile(CompileOptions{Optimizer: "sgd", Loss: "categorical_crossentropy", Warnings: io.Discard}); err != nil {
		t.Fatal(err)
	}
	_, err := m.Fit(context.Background(), x, labels, FitOptions{})
	if err == nil || !IsInputError(err) {
		t.Fatalf("want an InputError, got %v", err)
	}
	for _, want := range []string{"Shapes (None, 1) and (None, 3) are incompatible", "sparse_categorical_crossentropy", "labels: onehot"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestBadInputsGiveInputErrors(t *testing.T) {
	x, y, labels := blobs(40, 4)
	compile := func(loss string) *Sequential {
		m := mlp("softmax")
		if err := m.Compile(CompileOptions{Optimizer: "sgd", Loss: loss, Warnings: io.Discard}); err != nil {
			t.Fatal(err)
		}
		return m
	}
	ctx := context.Background()
	bad := data.NewInt64([]int64{0, 1, 7, 2}, 4)
	cases := map[string]struct {
		err  func() error
		want string
	}{
		"one-hot with sparse": {func() error {
			_, e := compile("sparse_categorical_crossentropy").Fit(ctx, x, y, FitOptions{})
			return e
		}, "labels look one-hot"},
		"label out of range": {func() error {
			_, e := compile("sparse_categorical_crossentropy").Fit(ctx, x.Slice(0, 4), bad, FitOptions{})
			return e
		}, "outside the valid range of [0, 3)"},
		"shape mismatch": {func() error {
			_, e := compile("categorical_crossentropy").Fit(ctx, data.NewFloat32(make([]float32, 40*5), 40, 5), y, FitOptions{})
			return e
		}, "expected shape=(None, 4), found shape=(40, 5)"},
		"cardinality": {func() error {
			_, e := compile("categorical_crossentropy").Fit(ctx, x, y.Slice(0, 10), FitOptions{})
			return e
		}, "x sizes: 40, y sizes: 10"},
		"nan input": {func() error {
			xs := append([]float32(nil), x.F32...)
			xs[9] = float32(math.NaN())
			_, e := compile("categorical_crossentropy").Fit(ctx, data.NewFloat32(xs, 40, 4), y, FitOptions{})
			return e
		}, "NaN at sample 2"},
		"batch size": {func() error {
			_, e := compile("categorical_crossentropy").Fit(ctx, x, y, FitOptions{BatchSize: -1})
			return e
		}, "batch_size must be a positive"},
		"split": {func() error {
			_, e := compile("categorical_crossentropy").Fit(ctx, x, y, FitOptions{ValidationSplit: 1.5})
			return e
		}, "validation_split must be in (0, 1)"},
	}
	_ = labels
	for name, c := range cases {
		err := c.err()
		if err == nil || !IsInputError(err) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want InputError containing %q", name, err, c.want)
		}
	}
	m := mlp("softmax")
	if err := m.Compile(CompileOptions{Optimizer: "sgd", Loss: "hinge"}); err == nil || !strings.Contains(err.Error(), "valid losses") {
		t.Errorf("unknown loss: %v", err)
	}
	if err := m.Compile(CompileOptions{Optimizer: "nadam", Loss: "mse"}); err == nil || !strings.Contains(err.Error(), "valid optimizers") {
		t.Errorf("unknown optimizer: %v", err)
	}
	if err := m.Compile(CompileOptions{Optimizer: "sgd", Loss: "mse", Metrics: []string{"f1"}}); err == nil || !strings.Contains(err.Error(), "valid metrics") {
		t.Errorf("unknown metric: %v", err)
	}
}

func TestCompileWarnsOnActivationLossMismatch(t *testing.T) {
	cases := []struct {
		act, loss, want string
	}{
		{"sigmoid", "categorical_crossentropy", "pre-sigmoid logits"},
		{"softmax", "binary_crossentropy", "softmax with binary_crossentropy"},
		{"linear", "categorical_crossentropy", "expects probabilities"},
	}
	for _, c := range cases {
		var w bytes.Buffer
		m := mlp(c.act)
		if err := m.Compile(CompileOptions{Optimizer: "sgd", Loss: c.loss, Warnings: &w}); err != nil {
			t.Fatal(err)
		}
		if lines := strings.Count(w.String(), "\n"); lines != 1 || !strings.Contains(w.String(), c.want) {
			t.Errorf("%s+%s: warnings %q, want one line with %q", c.act, c.loss, w.String(), c.want)
		}
	}
	var w bytes.Buffer
	if err := mlp("softmax").Compile(CompileOptions{Optimizer: "sgd", Loss: "categorical_crossentropy", Warnings: &w}); err != nil || w.Len() != 0 {
		t.Errorf("softmax+cce warned: %q %v", w.String(), err)
	}
}

func TestCancelStopsFitAndKeepsHistory(t *testing.T) {
	x, y, _ := blobs(100, 5)
	m := mlp("softmax")
	if err := m.Compile(CompileOptions{Optimizer: "sgd", Loss: "categorical_crossentropy"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stop := &callbacks.Func{OnEpochEnd: func(epoch int, _ callbacks.Logs) {
		if epoch == 1 {
			cancel()
		}
	}}
	h, err := m.Fit(ctx, x, y, FitOptions{Epochs: 10, Callbacks: []callbacks.Callback{stop}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if len(h.Epoch) != 2 {
		t.Errorf("history has %d epochs, want the 2 finished", len(h.Epoch))
	}
}

// A context cancelled before Fit makes it a check of its arguments: bad data
// is still refused, good data returns ctx's error with nothing trained and
// no callback called (kiln sweep checks every cell this way).
func TestFitWithCancelledContextOnlyChecks(t *testing.T) {
	x, y, _ := blobs(100, 5)
	m := mlp("softmax")
	if err := m.Compile(CompileOptions{Optimizer: "sgd", Loss: "categorical_crossentropy"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Fit(ctx, x, y.Slice(0, 50), FitOptions{}); err == nil || errors.Is(err, context.Canceled) {
		t.Errorf("mismatched rows: err = %v, want the data check's error", err)
	}
	before := m.GetWeights()
	called := false
	cb := &callbacks.Func{OnTrainBegin: func(callbacks.Params, *callbacks.Control) { called = true },
		OnEpochBegin: func(int) { called = true }}
	h, err := m.Fit(ctx, x, y, FitOptions{Epochs: 3, Callbacks: []callbacks.Callback{cb}})
	if !errors.Is(err, context.Canceled) || h == nil || len(h.Epoch) != 0 || called {
		t.Errorf("err %v, history %+v, callback called %v", err, h, called)
	}
	after := m.GetWeights()
	for i := range before {
		if !slices.Equal(before[i], after[i]) {
			t.Errorf("weights %d changed", i)
		}
	}
}

func TestSummaryKerasLayout(t *testing.T) {
	m := NewSequential(layers.NewInput(28, 28), layers.NewFlatten(), layers.MustNewDense(10, layers.WithActivation("sigmoid")))
	if err := m.Compile(CompileOptions{Optimizer: "sgd", Loss: "mse"}); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	m.Summary(&b)
	want := `Model: "sequential"
_________________________________________________________________
 Layer (type)                Output Shape              Param #   
=================================================================
 flatten (Flatten)           (None, 784)               0         
                                                                 
 dense (Dense)               (None, 10)                7850      
                                                                 
=================================================================
Total params: 7850 (30.66 KB)
Trainable params: 7850 (30.66 KB)
Non-trainable params: 0 (0.00 Byte)
_________________________________________________________________
`
	if b.String() != want {
		t.Errorf("summary:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestLayerNamesLikeKeras(t *testing.T) {
	m := NewSequential(layers.NewInput(4), layers.MustNewDense(3), layers.MustNewDense(3), layers.MustNewDense(2))
	if err := m.Compile(CompileOptions{Optimizer: "sgd", Loss: "mse"}); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, v := range m.Variables() {
		names = append(names, v.Name)
	}
	if got := strings.Join(names, " "); got != "dense/kernel dense/bias dense_1/kernel dense_1/bias dense_2/kernel dense_2/bias" {
		t.Errorf("variable names %s", got)
	}
}

func TestHistoryJSONIsKerasHistory(t *testing.T) {
	h := &History{}
	h.add(0, callbacks.Logs{Names: []string{"loss", "accuracy"}, Values: []float64{float64(float32(315.4696)), 1}})
	h.add(1, callbacks.Logs{Names: []string{"loss", "accuracy"}, Values: []float64{1e-05, math.NaN()}})
	if got, want := string(h.KerasJSON()), `{"loss": [315.4696044921875, 1e-05], "accuracy": [1.0, NaN]}`; got != want {
		t.Errorf("KerasJSON = %s, want %s", got, want)
	}
	b, err := json.Marshal(h)
	if err != nil || string(b) != `{"loss":[315.4696044921875,1e-05],"accuracy":[1.0,null]}` {
		t.Errorf("MarshalJSON = %s, %v", b, err)
	}
}

func TestSaveLoadWeightsRoundTrip(t *testing.T) {
	x, y, _ := blobs(60, 6)
	m := mlp("softmax")
	m.Compile(CompileOptions{Optimizer: "sgd", Loss: "categorical_crossentropy", Seed: 1})
	m.Fit(context.Background(), x, y, FitOptions{Epochs: 2})
	path := t.TempDir() + "/w.safetensors"
	if err := m.SaveWeights(path); err != nil {
		t.Fatal(err)
	}
	m2 := mlp("softmax")
	m2.Compile(CompileOptions{Optimizer: "sgd", Loss: "categorical_crossentropy", Seed: 2})
	if err := m2.LoadWeights(path); err != nil {
		t.Fatal(err)
	}
	a, _ := m.Predict(context.Background(), x, EvaluateOptions{})
	b, _ := m2.Predict(context.Background(), x, EvaluateOptions{})
	for i := range a.F32 {
		if a.F32[i] != b.F32[i] {
			t.Fatal("loaded model predicts differently")
		}
	}
	other := NewSequential(layers.NewInput(4), layers.MustNewDense(5), layers.MustNewDense(3))
	other.Compile(CompileOptions{Optimizer: "sgd", Loss: "mse"})
	if err := other.LoadWeights(path); err == nil || !strings.Contains(err.Error(), "different model") {
		t.Errorf("loading mismatched weights: %v", err)
	}
}

func TestPredictLogitsAreThePreActivation(t *testing.T) {
	x, y, _ := blobs(30, 7)
	m := mlp("sigmoid")
	if err := m.Compile(CompileOptions{Optimizer: "sgd", Loss: "binary_crossentropy", Seed: 3}); err != nil {
		t.Fatal(err)
	}
	m.Fit(context.Background(), x, y, FitOptions{Epochs: 1})
	p, _ := m.Predict(context.Background(), x, EvaluateOptions{})
	z, err := m.PredictLogits(context.Background(), x, EvaluateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range z.F32 {
		if s := float32(1 / (1 + math.Exp(-float64(v)))); math.Abs(float64(s-p.F32[i])) > 1e-6 {
			t.Fatalf("sigmoid(logit %g) = %g, prediction %g", v, s, p.F32[i])
		}
	}
}

func TestEarlyStoppingStopsFit(t *testing.T) {
	x, y, _ := blobs(120, 8)
	m := mlp("softmax")
	m.Compile(CompileOptions{Optimizer: optimizers.NewSGD(1e-9), Loss: "categorical_crossentropy", Seed: 1})
	es := &callbacks.EarlyStopping{Monitor: "loss", Patience: 1, MinDelta: 0.1}
	h, err := m.Fit(context.Background(), x, y, FitOptions{Epochs: 20, Callbacks: []callbacks.Callback{es}})
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Epoch) != 2 {
		t.Errorf("ran %d epochs; a loss that cannot improve by 0.1 with patience 1 stops after 2", len(h.Epoch))
	}
}

// TestValidationSplitTakesLastRowsBeforeShuffling checks Keras' rule: the
// validation rows are the last ones, whatever the shuffling.
func TestValidationSplitTakesLastRowsBeforeShuffling(t *testing.T) {
	x, y, _ := blobs(100, 9)
	m := mlp("softmax")
	m.Compile(CompileOptions{Optimizer: "sgd", Loss: "categorical_crossentropy", Metrics: []string{"accuracy"}, Seed: 1})
	h, err := m.Fit(context.Background(), x, y, FitOptions{Epochs: 1, ValidationSplit: 0.25})
	if err != nil {
		t.Fatal(err)
	}
	res, _ := m.Evaluate(context.Background(), x.Slice(75, 100), y.Slice(75, 100), EvaluateOptions{})
	if h.History["val_loss"][0] != res.Values[0] || h.History["val_accuracy"][0] != res.Values[1] {
		t.Errorf("val_ %v/%v, evaluate on the last 25 rows %v", h.History["val_loss"][0], h.History["val_accuracy"][0], res.Values)
	}
	if h.Params["steps"] != 3 {
		t.Errorf("steps %d, want ceil(75/32) = 3", h.Params["steps"])
	}
}
