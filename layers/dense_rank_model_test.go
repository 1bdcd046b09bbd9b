package layers_test

// Model-level tests of Dense on inputs of rank > 1 (Keras' Dense on the
// last axis): summaries, training, and the uint8 input paths of Fit and
// Evaluate (Dense.ForwardBytes, Dense.InferBytes).

import (
	"bytes"
	"context"
	"io"
	"math"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/data"
	"github.com/kiln-ml/kiln/layers"
	"github.com/kiln-ml/kiln/optimizers"
)

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// summaryRows returns the summary's layer rows as name → "shape params".
func summaryRows(t *testing.T, m *kiln.Sequential) (map[string]string, string) {
	t.Helper()
	var b bytes.Buffer
	if err := m.Summary(&b); err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	re := regexp.MustCompile(`^ (\S+ \(\w+\))\s+(\(None[^)]*\))\s+(\d+)\s*$`)
	for _, line := range strings.Split(b.String(), "\n") {
		if g := re.FindStringSubmatch(line); g != nil {
			rows[g[1]] = g[2] + " " + g[3]
		}
	}
	return rows, b.String()
}

// classData returns n samples of shape (per-sample) shape with normal
// values and one-hot labels of 3 classes that a linear function of the
// inputs decides.
func classData(n int, shape []int, seed uint64) (x, y *data.Array) {
	rng := rand.New(rand.NewPCG(seed, 1))
	w := 1
	for _, d := range shape {
		w *= d
	}
	a := make([]float64, w*3)
	for i := range a {
		a[i] = rng.NormFloat64()
	}
	xs := make([]float32, n*w)
	ys := make([]float32, n*3)
	for r := 0; r < n; r++ {
		var s [3]float64
		for k := 0; k < w; k++ {
			v := rng.NormFloat64()
			xs[r*w+k] = float32(v)
			for j := range s {
				s[j] += v * a[k*3+j]
			}
		}
		best := 0
		for j := range s {
			if s[j] > s[best] {
				best = j
			}
		}
		ys[r*3+best] = 1
	}
	return data.NewFloat32(xs, append([]int{n}, shape...)...), data.NewFloat32(ys, n, 3)
}

// TestDenseRankModel trains Input(4, 5) → Dense(8, relu) → Flatten →
// Dense(3, softmax): the summary shows Keras' shapes and counts, the loss
// decreases, and the trained model's Evaluate and Predict agree with its
// layers' Infer.
func TestDenseRankModel(t *testing.T) {
	m := kiln.NewSequential(layers.NewInput(4, 5), layers.MustNewDense(8, layers.WithActivation("relu")),
		layers.NewFlatten(), layers.MustNewDense(3, layers.WithActivation("softmax")))
	if err := m.Compile(kiln.CompileOptions{Optimizer: optimizers.NewAdam(0.01), Loss: "categorical_crossentropy",
		Metrics: []string{"accuracy"}, Seed: 5, Warnings: io.Discard}); err != nil {
		t.Fatal(err)
	}
	rows, text := summaryRows(t, m)
	want := map[string]string{
		"dense (Dense)":     "(None, 4, 8) 48", // 5·8 + 8
		"flatten (Flatten)": "(None, 32) 0",
		"dense_1 (Dense)":   "(None, 3) 99",
	}
	for k, v := range want {
		if rows[k] != v {
			t.Errorf("summary row %s: %q, want %q\n%s", k, rows[k], v, text)
		}
	}
	if !strings.Contains(text, "Total params: 147 ") || m.CountParams() != 147 {
		t.Errorf("total params %d, want 147\n%s", m.CountParams(), text)
	}
	x, y := classData(512, []int{4, 5}, 7)
	h, err := m.Fit(context.Background(), x, y, kiln.FitOptions{BatchSize: 32, Epochs: 15})
	if err != nil {
		t.Fatal(err)
	}
	loss, acc := h.History["loss"], h.History["accuracy"]
	t.Logf("loss %.4f → %.4f, accuracy %.4f → %.4f", loss[0], loss[len(loss)-1], acc[0], acc[len(acc)-1])
	if !(loss[len(loss)-1] < 0.5*loss[0]) || !(acc[len(acc)-1] > 0.85) {
		t.Errorf("loss %v, accuracy %v: the model did not learn", loss, acc)
	}
	// Predict equals the layers' Infer one after the other.
	p, err := m.Predict(context.Background(), x, kiln.EvaluateOptions{BatchSize: 50})
	if err != nil {
		t.Fatal(err)
	}
	cur := x.F32
	for _, l := range m.Layers() {
		w := 1
		for _, d := range l.OutputShape() {
			w *= d
		}
		next := make([]float32, x.Rows()*w)
		l.Infer(next, cur, x.Rows())
		cur = next
	}
	for i := range cur {
		if math.Float32bits(cur[i]) != math.Float32bits(p.F32[i]) {
			t.Fatalf("Predict[%d] = %v, layers' Infer %v", i, p.F32[i], cur[i])
		}
	}
}

// TestDenseRankModelShapes: Keras' summary of Dense on (28, 28) and of a
// Dense on each pixel of a Conv2D's output; a model whose output is a
// rank-2 Dense does not compile (kiln's losses need (None, units)); the
// convnet trains, its gradient passing back through the per-pixel Dense.
func TestDenseRankModelShapes(t *testing.T) {
	m := kiln.NewSequential(layers.NewInput(28, 28), layers.MustNewDense(16), layers.NewFlatten(),
		layers.MustNewDense(10, layers.WithActivation("softmax")))
	if err := m.Compile(kiln.CompileOptions{Optimizer: "sgd", Loss: "categorical_crossentropy", Warnings: io.Discard}); err != nil {
		t.Fatal(err)
	}
	rows, text := summaryRows(t, m)
	if rows["dense (Dense)"] != "(None, 28, 16) 464" || rows["flatten (Flatten)"] != "(None, 448) 0" || rows["dense_1 (Dense)"] != "(None, 10) 4490" {
		t.Errorf("summary:\n%s", text)
	}

	bad := kiln.NewSequential(layers.NewInput(4, 5), layers.MustNewDense(3))
	err := bad.Compile(kiln.CompileOptions{Optimizer: "sgd", Loss: "mse", Warnings: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "(None, 4, 3) is not flat") {
		t.Errorf("Dense output (None, 4, 3): %v; want the not-flat error", err)
	}

	conv := kiln.NewSequential(layers.NewInput(6, 6, 2),
		must(layers.NewConv2D(4, [2]int{3, 3}, layers.WithActivation("relu"))),
		layers.MustNewDense(5, layers.WithActivation("tanh")), layers.NewFlatten(),
		layers.MustNewDense(3, layers.WithActivation("softmax")))
	if err := conv.Compile(kiln.CompileOptions{Optimizer: optimizers.NewAdam(0.01), Loss: "categorical_crossentropy", Seed: 2, Warnings: io.Discard}); err != nil {
		t.Fatal(err)
	}
	rows, text = summaryRows(t, conv)
	if rows["dense (Dense)"] != "(None, 4, 4, 5) 25" || rows["flatten (Flatten)"] != "(None, 80) 0" {
		t.Errorf("summary:\n%s", text)
	}
	x, y := classData(256, []int{6, 6, 2}, 9)
	before := append([]float32(nil), conv.Variables()[0].Value...)
	h, err := conv.Fit(context.Background(), x, y, kiln.FitOptions{BatchSize: 32, Epochs: 10})
	if err != nil {
		t.Fatal(err)
	}
	loss := h.History["loss"]
	t.Logf("loss %.4f → %.4f", loss[0], loss[len(loss)-1])
	if !(loss[len(loss)-1] < 0.7*loss[0]) {
		t.Errorf("loss %v: the convnet did not learn", loss)
	}
	changed := false
	for i, v := range conv.Variables()[0].Value {
		changed = changed || v != before[i]
	}
	if !changed {
		t.Error("the Conv2D kernel did not change: no gradient through the per-pixel Dense")
	}
}

// TestDenseRankByteInputs trains and evaluates models whose first Dense
// acts on each row of (6, 6) uint8 samples, which Fit and Evaluate read
// straight from the bytes, and the same models on the values as float32:
// weights, history, evaluation and predictions must be bit-identical.
func TestDenseRankByteInputs(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const n = 200
	u8 := make([]uint8, n*36)
	for i := range u8 {
		if rng.IntN(3) == 0 {
			u8[i] = uint8(1 + rng.IntN(255))
		}
	}
	labels := make([]float32, n*3)
	for r := 0; r < n; r++ {
		labels[r*3+rng.IntN(3)] = 1
	}
	y := data.NewFloat32(labels, n, 3)
	for _, scale := range []float64{1, 1.0 / 255} {
		// units 40 is a wide Dense: no ForwardBytes, but InferBytes.
		for _, units := range []int{8, 40} {
			xb := data.NewUint8(u8, n, 6, 6)
			if scale != 1 {
				xb = xb.WithScale(scale)
			}
			idx := make([]int, n)
			for i := range idx {
				idx[i] = i
			}
			f := make([]float32, n*36)
			xb.GatherRows(f, idx)
			xf := data.NewFloat32(f, n, 6, 6)
			run := func(x *data.Array) ([]float32, *kiln.History, kiln.Result, *data.Array) {
				m := kiln.NewSequential(layers.NewInput(6, 6), layers.MustNewDense(units, layers.WithActivation("relu")),
					layers.NewFlatten(), layers.MustNewDense(3, layers.WithActivation("sigmoid")))
				if err := m.Compile(kiln.CompileOptions{Optimizer: "sgd", Loss: "categorical_crossentropy",
					Metrics: []string{"accuracy"}, Seed: 3, Warnings: io.Discard}); err != nil {
					t.Fatal(err)
				}
				h, err := m.Fit(context.Background(), x, y, kiln.FitOptions{BatchSize: 16, Epochs: 2, ValidationData: &kiln.XY{X: x, Y: y}})
				if err != nil {
					t.Fatal(err)
				}
				res, err := m.Evaluate(context.Background(), x, y, kiln.EvaluateOptions{BatchSize: 32})
				if err != nil {
					t.Fatal(err)
				}
				p, err := m.Predict(context.Background(), x, kiln.EvaluateOptions{BatchSize: 32})
				if err != nil {
					t.Fatal(err)
				}
				var w []float32
				for _, v := range m.Variables() {
					w = append(w, v.Value...)
				}
				return w, h, res, p
			}
			wb, hb, rb, pb := run(xb)
			wf, hf, rf, pf := run(xf)
			for i := range wf {
				if math.Float32bits(wb[i]) != math.Float32bits(wf[i]) {
					t.Fatalf("scale %g units %d: weight %d = %v from bytes, %v from floats", scale, units, i, wb[i], wf[i])
				}
			}
			for _, k := range hf.Keys {
				for e := range hf.History[k] {
					if hb.History[k][e] != hf.History[k][e] {
						t.Fatalf("scale %g units %d: %s[%d] = %v from bytes, %v from floats", scale, units, k, e, hb.History[k][e], hf.History[k][e])
					}
				}
			}
			for i := range rf.Values {
				if rb.Values[i] != rf.Values[i] {
					t.Fatalf("scale %g units %d: evaluate %s = %v from bytes, %v from floats", scale, units, rf.Names[i], rb.Values[i], rf.Values[i])
				}
			}
			for i := range pf.F32 {
				if math.Float32bits(pb.F32[i]) != math.Float32bits(pf.F32[i]) {
					t.Fatalf("scale %g units %d: prediction %d = %v from bytes, %v from floats", scale, units, i, pb.F32[i], pf.F32[i])
				}
			}
		}
	}
}
