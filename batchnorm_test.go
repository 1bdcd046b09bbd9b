package kiln

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kiln-ml/kiln/layers"
	"github.com/kiln-ml/kiln/optimizers"
)

func bnModel(t *testing.T) *Sequential {
	t.Helper()
	bn, err := layers.NewBatchNormalization()
	if err != nil {
		t.Fatal(err)
	}
	m := NewSequential(layers.NewInput(4), layers.MustNewDense(8, layers.WithActivation("relu")), bn,
		layers.MustNewDense(3, layers.WithActivation("softmax")))
	if err := m.Compile(CompileOptions{Optimizer: optimizers.NewAdam(0.01), Loss: "categorical_crossentropy", Metrics: []string{"accuracy"}, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestBatchNormInModel: the moving statistics are weights (Keras' order,
// saved and restored, counted as non-trainable), training moves them,
// the optimizer does not see them, and evaluation uses them.
func TestBatchNormInModel(t *testing.T) {
	x, y, _ := blobs(120, 4)
	m := bnModel(t)
	var names []string
	for _, v := range m.Weights() {
		names = append(names, v.Name)
	}
	want := "dense/kernel dense/bias batch_normalization/gamma batch_normalization/beta batch_normalization/moving_mean batch_normalization/moving_variance dense_1/kernel dense_1/bias"
	if strings.Join(names, " ") != want {
		t.Fatalf("weights %v\nwant %s", names, want)
	}
	if len(m.Variables()) != 6 || m.CountParams() != 99 {
		t.Errorf("%d trainable variables, %d params", len(m.Variables()), m.CountParams())
	}
	var s bytes.Buffer
	m.Summary(&s)
	if !strings.Contains(s.String(), "Trainable params: 83 (") || !strings.Contains(s.String(), "Non-trainable params: 16 (64.00 Byte)") {
		t.Errorf("summary:\n%s", s.String())
	}

	before := m.GetWeights()
	h, err := m.Fit(context.Background(), x, y, FitOptions{Epochs: 20, BatchSize: 16})
	if err != nil {
		t.Fatal(err)
	}
	after := m.GetWeights()
	if slices.Equal(before[4], after[4]) || slices.Equal(before[5], after[5]) {
		t.Error("training left the moving statistics unchanged")
	}
	if last := h.History["accuracy"][19]; last < 0.9 {
		t.Errorf("accuracy %v after 20 epochs on separable blobs", h.History["accuracy"])
	}

	// Save, perturb the moving statistics, load: evaluation comes back.
	path := filepath.Join(t.TempDir(), "w.safetensors")
	if err := m.SaveWeights(path); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	loss := func() float64 {
		t.Helper()
		r, err := m.Evaluate(ctx, x, y, EvaluateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		v, _ := r.Get("loss")
		return v
	}
	res := loss()
	mv := m.Weights()[5].Value
	for i := range mv {
		mv[i] *= 9
	}
	if loss() == res {
		t.Error("evaluation does not use the moving variance")
	}
	if err := m.LoadWeights(path); err != nil {
		t.Fatal(err)
	}
	if again := loss(); again != res {
		t.Errorf("loss after reloading %v, want %v", again, res)
	}
}
