package kiln

import (
	"context"
	"strings"
	"testing"

	"github.com/kiln-ml/kiln/callbacks"
)

// TestGetSetWeightsAndRestoreBest: set_weights(get_weights()) round trips,
// sizes are checked, and EarlyStopping with restore_best_weights leaves
// the model with the weights of its best epoch after a real Fit.
func TestGetSetWeightsAndRestoreBest(t *testing.T) {
	x, y, _ := blobs(120, 8)
	m := mlp("softmax")
	if err := m.Compile(CompileOptions{Optimizer: "adam", Loss: "categorical_crossentropy", Seed: 3}); err != nil {
		t.Fatal(err)
	}
	w := m.GetWeights()
	if len(w) != 4 || len(w[0]) != 4*8 {
		t.Fatalf("GetWeights: %d arrays", len(w))
	}
	w[0][0] = 42
	if m.Variables()[0].Value[0] == 42 {
		t.Fatal("GetWeights returned the model's own storage, not a copy")
	}
	if err := m.SetWeights(w); err != nil || m.Variables()[0].Value[0] != 42 {
		t.Fatalf("SetWeights: %v", err)
	}
	if err := m.SetWeights(w[:3]); err == nil || !strings.Contains(err.Error(), "has 4 variables, got 3") {
		t.Errorf("wrong count: %v", err)
	}
	w[1] = w[1][:2]
	if err := m.SetWeights(w); err == nil || !strings.Contains(err.Error(), "variable 1") {
		t.Errorf("wrong size: %v", err)
	}

	// A monitored value that only gets worse after epoch 0: training stops
	// at epoch 2 and the weights are epoch 0's.
	var snaps [][][]float32
	worse := callbacks.Func{OnEpochEnd: func(epoch int, logs callbacks.Logs) {
		snaps = append(snaps, m.GetWeights())
		logs.Values[0] = float64(epoch) // make "loss" rise every epoch
	}}
	es := &callbacks.EarlyStopping{Monitor: "loss", Patience: 2, RestoreBestWeights: true}
	h, err := m.Fit(context.Background(), x, y, FitOptions{Epochs: 10, Callbacks: []callbacks.Callback{worse, es}})
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Epoch) != 3 || es.StoppedEpoch != 2 || es.BestEpoch != 0 {
		t.Fatalf("epochs %v, stopped %d, best %d", h.Epoch, es.StoppedEpoch, es.BestEpoch)
	}
	got := m.GetWeights()
	for i := range got {
		for j := range got[i] {
			if got[i][j] != snaps[0][i][j] {
				t.Fatalf("weights after the stop are not epoch 0's (variable %d, %d)", i, j)
			}
		}
	}
}
