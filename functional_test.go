package kiln

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kiln-ml/kiln/data"
	"github.com/kiln-ml/kiln/datasets/mnist"
	"github.com/kiln-ml/kiln/layers"
	"github.com/kiln-ml/kiln/optimizers"
)

// mnistFunctional is Input(28, 28) → Flatten → Dense(32, relu) = h →
// Add(Dense(32, relu)(h), h) → Dense(16, relu) ‖ Dense(16, tanh) →
// Concatenate → Dense(10, softmax).
func mnistFunctional(t testing.TB) *Sequential {
	t.Helper()
	x := Input(28, 28)
	f := layers.Apply(layers.NewFlatten(), x)
	h := layers.Apply(layers.MustNewDense(32, layers.WithActivation("relu")), f)
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

// TestFunctionalMNIST trains the residual + concatenate model for one
// epoch on 30,000 MNIST images: the loss falls and the test accuracy
// exceeds 0.9.
func TestFunctionalMNIST(t *testing.T) {
	ds, err := mnist.Load("")
	if err != nil {
		t.Skipf("MNIST not available: %v", err)
	}
	n := 30000
	x := ds.XTrain.Slice(0, n).WithScale(1.0 / 255)
	y := ToCategorical(ds.YTrain.Slice(0, n), 10)
	xt := ds.XTest.Slice(0, 2000).WithScale(1.0 / 255)
	yt := ToCategorical(ds.YTest.Slice(0, 2000), 10)
	m := mnistFunctional(t)
	if err := m.Compile(CompileOptions{Optimizer: "adam", Loss: "categorical_crossentropy", Metrics: []string{"accuracy"}, Seed: 1, Warnings: io.Discard}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	before, err := m.Evaluate(ctx, xt, yt, EvaluateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Fit(ctx, x, y, FitOptions{BatchSize: 32, Epochs: 1}); err != nil {
		t.Fatal(err)
	}
	after, err := m.Evaluate(ctx, xt, yt, EvaluateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("test loss %.4f → %.4f, accuracy %.4f → %.4f", before.Values[0], after.Values[0], before.Values[1], after.Values[1])
	if after.Values[0] >= before.Values[0]/3 {
		t.Errorf("loss %.4f → %.4f: did not fall to a third", before.Values[0], after.Values[0])
	}
	if after.Values[1] < 0.9 {
		t.Errorf("test accuracy %.4f after one epoch, want > 0.9", after.Values[1])
	}
}

// TestFunctionalNames: layers are named like Keras across the whole graph,
// in model.layers order; given names are kept and skipped by the counters.
func TestFunctionalNames(t *testing.T) {
	m := mnistFunctional(t)
	var got []string
	for _, n := range m.Graph().Nodes() {
		got = append(got, n.Name()+":"+n.ClassName())
	}
	want := []string{"input_1:InputLayer", "flatten:Flatten", "dense:Dense", "dense_1:Dense", "add:Add",
		"dense_2:Dense", "dense_3:Dense", "concatenate:Concatenate", "dense_4:Dense"}
	if !slices.Equal(got, want) {
		t.Errorf("names %v, want %v", got, want)
	}
	var names []string
	for _, v := range m.Weights() {
		names = append(names, v.Name)
	}
	if want := "dense/kernel dense/bias dense_1/kernel dense_1/bias dense_2/kernel dense_2/bias dense_3/kernel dense_3/bias dense_4/kernel dense_4/bias"; strings.Join(names, " ") != want {
		t.Errorf("weights %v, want %s", names, want)
	}

	x := Input(4)
	x.SetName("pixels")
	d := layers.MustNewDense(3)
	d.SetName("dense")
	h := layers.Apply(layers.MustNewDense(3), layers.Apply(d, x))
	m2, err := NewFunctional([]*layers.Node{x}, []*layers.Node{h})
	if err != nil {
		t.Fatal(err)
	}
	if a, b := m2.Graph().Nodes()[0].Name(), m2.Graph().Nodes()[2].Name(); a != "pixels" || b != "dense_1" {
		t.Errorf("names %q, %q; want pixels, dense_1", a, b)
	}
}

// TestFunctionalWeightsRoundTrip: SaveWeights/LoadWeights and
// GetWeights/SetWeights restore a Functional model's predictions.
func TestFunctionalWeightsRoundTrip(t *testing.T) {
	m := mnistFunctional(t)
	if err := m.Compile(CompileOptions{Optimizer: "sgd", Loss: "categorical_crossentropy", Seed: 7, Warnings: io.Discard}); err != nil {
		t.Fatal(err)
	}
	x := data.NewFloat32(make([]float32, 3*784), 3, 28, 28)
	for i := range x.F32 {
		x.F32[i] = float32(i%17) / 17
	}
	ctx := context.Background()
	want, err := m.Predict(ctx, x, EvaluateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "w.safetensors")
	if err := m.SaveWeights(path); err != nil {
		t.Fatal(err)
	}
	m2 := mnistFunctional(t)
	if err := m2.Compile(CompileOptions{Optimizer: "sgd", Loss: "categorical_crossentropy", Seed: 8, Warnings: io.Discard}); err != nil {
		t.Fatal(err)
	}
	if got, _ := m2.Predict(ctx, x, EvaluateOptions{}); slices.Equal(got.F32, want.F32) {
		t.Fatal("differently seeded models predict the same")
	}
	if err := m2.LoadWeights(path); err != nil {
		t.Fatal(err)
	}
	got, err := m2.Predict(ctx, x, EvaluateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.F32, want.F32) {
		t.Errorf("after LoadWeights: %v, want %v", got.F32[:10], want.F32[:10])
	}
	m3 := mnistFunctional(t)
	if err := m3.SetWeights(m.GetWeights()); err != nil {
		t.Fatal(err)
	}
	if got, _ := m3.Predict(ctx, x, EvaluateOptions{}); !slices.Equal(got.F32, want.F32) {
		t.Errorf("after SetWeights: predictions differ")
	}
	if m.CountParams() != 25120+1056+528+528+330 {
		t.Errorf("CountParams %d", m.CountParams())
	}
}

func TestFunctionalErrors(t *testing.T) {
	x := Input(8)
	a := layers.Apply(layers.MustNewDense(4), x)
	b := layers.Apply(layers.MustNewDense(5), x)
	_, err := NewFunctional([]*layers.Node{x}, []*layers.Node{layers.ApplyMerge(layers.NewAdd(), a, b)})
	if err == nil || !strings.Contains(err.Error(), `layer add (Add): Add "add": inputs have incompatible shapes [(None, 4), (None, 5)]`) {
		t.Errorf("shape error: %v", err)
	}
	_, err = NewFunctional([]*layers.Node{x}, []*layers.Node{a, b})
	if err == nil || !strings.Contains(err.Error(), "exactly one input and one output") {
		t.Errorf("two outputs: %v", err)
	}
	m, err := NewFunctional([]*layers.Node{x}, []*layers.Node{layers.Apply(layers.MustNewDense(3, layers.WithActivation("softmax")), x)})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Compile(CompileOptions{Optimizer: optimizers.NewSGD(0.1), Loss: "categorical_crossentropy", Warnings: io.Discard}); err != nil {
		t.Fatal(err)
	}
	if !m.LossFromLogits() {
		t.Errorf("a softmax output under categorical_crossentropy should take the logits path")
	}
}

// TestFunctionalSummary: Keras 2.13+'s Functional summary, with the
// "Connected to" column.
func TestFunctionalSummary(t *testing.T) {
	x := Input(784)
	h := layers.Apply(layers.MustNewDense(32, layers.WithActivation("relu")), x)
	r := layers.ApplyMerge(layers.NewAdd(), layers.Apply(layers.MustNewDense(32, layers.WithActivation("relu")), h), h)
	b1 := layers.Apply(layers.MustNewDense(16, layers.WithActivation("relu")), r)
	b2 := layers.Apply(layers.MustNewDense(16, layers.WithActivation("tanh")), r)
	c := layers.ApplyMerge(layers.NewConcatenate(-1), b1, b2)
	y := layers.Apply(layers.MustNewDense(10, layers.WithActivation("softmax")), c)
	m, err := NewFunctional([]*layers.Node{x}, []*layers.Node{y})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := m.Summary(&b); err != nil {
		t.Fatal(err)
	}
	want := `Model: "model"
__________________________________________________________________________________________________
 Layer (type)                   Output Shape         Param #     Connected to                     
==================================================================================================
 input_1 (InputLayer)           [(None, 784)]        0           []                               
                                                                                                  
 dense (Dense)                  (None, 32)           25120       ['input_1[0][0]']                
                                                                                                  
 dense_1 (Dense)                (None, 32)           1056        ['dense[0][0]']                  
                                                                                                  
 add (Add)                      (None, 32)           0           ['dense_1[0][0]',                
                                                                  'dense[0][0]']                  
                                                                                                  
 dense_2 (Dense)                (None, 16)           528         ['add[0][0]']                    
                                                                                                  
 dense_3 (Dense)                (None, 16)           528         ['add[0][0]']                    
                                                                                                  
 concatenate (Concatenate)      (None, 32)           0           ['dense_2[0][0]',                
                                                                  'dense_3[0][0]']                
                                                                                                  
 dense_4 (Dense)                (None, 10)           330         ['concatenate[0][0]']            
                                                                                                  
==================================================================================================
Total params: 27562 (107.66 KB)
Trainable params: 27562 (107.66 KB)
Non-trainable params: 0 (0.00 Byte)
__________________________________________________________________________________________________
`
	if b.String() != want {
		t.Errorf("summary:\n%s\nwant:\n%s", b.String(), want)
	}
}

func ExampleNewFunctional() {
	x := Input(784)
	h := layers.Apply(layers.MustNewDense(32, layers.WithActivation("relu")), x)
	r := layers.ApplyMerge(layers.NewAdd(), layers.Apply(layers.MustNewDense(32, layers.WithActivation("relu")), h), h)
	b1 := layers.Apply(layers.MustNewDense(16, layers.WithActivation("relu")), r)
	b2 := layers.Apply(layers.MustNewDense(16, layers.WithActivation("tanh")), r)
	c := layers.ApplyMerge(layers.NewConcatenate(-1), b1, b2)
	y := layers.Apply(layers.MustNewDense(10, layers.WithActivation("softmax")), c)
	m, err := NewFunctional([]*layers.Node{x}, []*layers.Node{y})
	if err != nil {
		panic(err)
	}
	fmt.Println(m.CountParams())
	// Output: 27562
}

// TestFunctionalWarningsNameTheOutputLayer: Compile's activation/loss
// warnings and errors name the graph's output layer.
func TestFunctionalWarningsNameTheOutputLayer(t *testing.T) {
	x := Input(4)
	y := layers.Apply(layers.MustNewDense(3, layers.WithActivation("sigmoid")), layers.Apply(layers.MustNewDense(4), x))
	m, err := NewFunctional([]*layers.Node{x}, []*layers.Node{y})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Compile(CompileOptions{Optimizer: "sgd", Loss: "categorical_crossentropy", Warnings: io.Discard}); err != nil {
		t.Fatal(err)
	}
	if w := m.Warnings(); len(w) != 1 || !strings.Contains(w[0], `layer "dense_1" uses sigmoid with categorical_crossentropy`) {
		t.Errorf("warnings %q", w)
	}
	x2 := Input(4, 2)
	m2, err := NewFunctional([]*layers.Node{x2}, []*layers.Node{layers.ApplyMerge(layers.NewAdd(), layers.Apply(layers.MustNewDense(2), x2), x2)})
	if err != nil {
		t.Fatal(err)
	}
	err = m2.Compile(CompileOptions{Optimizer: "sgd", Loss: "mse", Warnings: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "output (None, 4, 2) is not flat") || !strings.Contains(err.Error(), "after the last Add") {
		t.Errorf("error %v", err)
	}
}

// TestFunctionalBatchNormWeights: a BatchNormalization inside a graph
// keeps Keras' model.weights order (layer by layer, trainable then moving
// statistics), its statistics move in training, and they round-trip.
func TestFunctionalBatchNormWeights(t *testing.T) {
	build := func() *Sequential {
		x := Input(3)
		h := layers.Apply(layers.MustNewDense(4), x)
		b := layers.Apply(must(layers.NewBatchNormalization()), h)
		y := layers.Apply(layers.MustNewDense(2, layers.WithActivation("softmax")), layers.ApplyMerge(layers.NewConcatenate(-1), b, x))
		m, err := NewFunctional([]*layers.Node{x}, []*layers.Node{y})
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Compile(CompileOptions{Optimizer: "sgd", Loss: "categorical_crossentropy", Warnings: io.Discard}); err != nil {
			t.Fatal(err)
		}
		return m
	}
	m := build()
	var names []string
	for _, v := range m.Weights() {
		names = append(names, v.Name)
	}
	want := "dense/kernel dense/bias batch_normalization/gamma batch_normalization/beta batch_normalization/moving_mean batch_normalization/moving_variance dense_1/kernel dense_1/bias"
	if strings.Join(names, " ") != want {
		t.Errorf("weights %v\nwant %s", names, want)
	}
	if len(m.Variables()) != 6 {
		t.Errorf("%d trainable variables, want 6", len(m.Variables()))
	}
	x := data.NewFloat32([]float32{1, 2, 3, -1, 0, 2, 0.5, 0.5, -3, 2, 1, 0}, 4, 3)
	y := data.NewFloat32([]float32{1, 0, 0, 1, 1, 0, 0, 1}, 4, 2)
	if _, err := m.TrainOnBatch(x, y); err != nil {
		t.Fatal(err)
	}
	if mean := m.Weights()[4].Value; mean[0] == 0 && mean[1] == 0 {
		t.Errorf("moving mean did not move: %v", mean)
	}
	path := filepath.Join(t.TempDir(), "bn.safetensors")
	if err := m.SaveWeights(path); err != nil {
		t.Fatal(err)
	}
	m2 := build()
	if err := m2.LoadWeights(path); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p1, _ := m.Predict(ctx, x, EvaluateOptions{})
	p2, _ := m2.Predict(ctx, x, EvaluateOptions{})
	if !slices.Equal(p1.F32, p2.F32) {
		t.Errorf("predictions after LoadWeights differ")
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
