package kiln

import (
	"bytes"
	"context"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kiln-ml/kiln/callbacks"
	"github.com/kiln-ml/kiln/optimizers"
	"github.com/kiln-ml/kiln/safetensors"
)

// diverging returns a model whose SGD learning rate makes the loss and
// the weights non-finite within a few steps.
func diverging(t *testing.T) *Sequential {
	t.Helper()
	m := mlp("softmax")
	if err := m.Compile(CompileOptions{Optimizer: optimizers.NewSGD(1e30), Loss: "categorical_crossentropy", Seed: 2}); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestNonFiniteWarnsOnce: training goes on as in Keras, with one warning
// naming the epoch, the step and a non-finite weight.
func TestNonFiniteWarnsOnce(t *testing.T) {
	x, y, _ := blobs(64, 1)
	m := diverging(t)
	var warn bytes.Buffer
	h, err := m.Fit(context.Background(), x, y, FitOptions{BatchSize: 8, Epochs: 3, Warn: &warn})
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Epoch) != 3 {
		t.Errorf("training stopped: %d epochs", len(h.Epoch))
	}
	w := warn.String()
	if strings.Count(w, "kiln: warning:") != 1 || !strings.Contains(w, "epoch 1, step ") || !strings.Contains(w, "weight dense") || !strings.Contains(w, "TerminateOnNaN") {
		t.Errorf("warnings:\n%s", w)
	}
	t.Log(w)
}

// TestTerminateOnNaN stops right after the first non-finite batch, as Keras:
// the epoch's end still runs and is recorded.
func TestTerminateOnNaN(t *testing.T) {
	x, y, _ := blobs(64, 1)
	m := diverging(t)
	var out, warn bytes.Buffer
	tn := &callbacks.TerminateOnNaN{Out: &out}
	h, err := m.Fit(context.Background(), x, y, FitOptions{BatchSize: 8, Epochs: 3, Warn: &warn, Callbacks: []callbacks.Callback{tn}})
	if err != nil {
		t.Fatal(err)
	}
	it := m.Optimizer().Iterations()
	if !tn.Stopped || len(h.Epoch) != 1 || it >= 8 || out.String() != "Batch "+strconv.Itoa(it-1)+": Invalid loss, terminating training\n" {
		t.Errorf("stopped %v after %d steps, epochs %v, output %q", tn.Stopped, it, h.Epoch, out.String())
	}
	if l := h.History["loss"][0]; !math.IsNaN(l) && !math.IsInf(l, 0) {
		t.Errorf("loss %v", l)
	}
}

// TestBackupNeverStoresNonFinite: once the weights are non-finite, no
// backup is written (the last one holds finite weights) and the user is
// told.
func TestBackupNeverStoresNonFinite(t *testing.T) {
	x, y, _ := blobs(64, 1)
	m := diverging(t)
	dir := t.TempDir()
	b := callbacks.NewBackupAndRestore(dir)
	b.SaveFreq, b.DeleteCheckpoint = 1, false
	var warn bytes.Buffer
	if _, err := m.Fit(context.Background(), x, y, FitOptions{BatchSize: 8, Epochs: 2, Warn: &warn, Callbacks: []callbacks.Callback{b}}); err != nil {
		t.Fatal(err)
	}
	if firstNonFinite(m.Weights()) == nil {
		t.Fatal("the weights stayed finite; the test needs them not to")
	}
	if !strings.Contains(warn.String(), "BackupAndRestore keeps the last backup with finite weights") {
		t.Errorf("warnings:\n%s", warn.String())
	}
	gens, _ := filepath.Glob(filepath.Join(dir, "backup-*"))
	if len(gens) == 0 {
		t.Fatal("no backup")
	}
	files, err := callbacks.ReadBackup(gens[len(gens)-1])
	if err != nil {
		t.Fatal(err)
	}
	ts, _, err := safetensors.Decode(files["weights.safetensors"], "weights")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range ts {
		for _, v := range tt.Data {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("the newest backup %s holds non-finite %s", gens[len(gens)-1], tt.Name)
			}
		}
	}
}
