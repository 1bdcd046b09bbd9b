package config_test

import (
	"io"
	"strings"
	"testing"

	"github.com/kiln-ml/kiln/callbacks"
	"github.com/kiln-ml/kiln/config"
	"github.com/kiln-ml/kiln/datasets/mnist"
)

const cbBase = `data: {dataset: mnist, labels: onehot, limit: 600}
model:
  - Input: {shape: [28, 28]}
  - Flatten: {}
  - Dense: {units: 10, activation: softmax}
compile: {optimizer: sgd, loss: categorical_crossentropy}
fit:
  epochs: 3
  callbacks:
`

func TestCallbacksParseBuildAndRoundTrip(t *testing.T) {
	src := cbBase + `    - EarlyStopping: {monitor: loss, patience: 2, restore_best_weights: true, min_delta: 0.001}
    - ModelCheckpoint: {filepath: "ckpt-{epoch:02d}.safetensors", save_best_only: true, monitor: loss}
    - CSVLogger: {filename: log.csv, separator: ";"}
`
	e, err := config.Parse([]byte(src), "cb.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Fit.Callbacks) != 3 || e.Fit.Callbacks[1].Type != "ModelCheckpoint" || e.WritesFiles() != "ModelCheckpoint" {
		t.Fatalf("callbacks %+v", e.Fit.Callbacks)
	}
	roundTrip(t, e)
	e2, err := config.Parse([]byte(src), "cb.yaml", []string{"fit.callbacks.0.EarlyStopping.patience=5"})
	if err != nil || e2.Fit.Callbacks[0].Args["patience"] != 5 {
		t.Fatalf("--set on a callback: %v %+v", err, e2.Fit.Callbacks)
	}
	// Skip only when MNIST is not there; a Build error is a failure.
	// catches: building a callback failing, once skipped as "no MNIST".
	if _, err := mnist.Locate(); err != nil {
		t.Skip(err)
	}
	r, err := config.Build(e, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	es, ok1 := r.Callbacks[0].(*callbacks.EarlyStopping)
	mc, ok2 := r.Callbacks[1].(*callbacks.ModelCheckpoint)
	cl, ok3 := r.Callbacks[2].(*callbacks.CSVLogger)
	if !ok1 || !ok2 || !ok3 || es.Patience != 2 || !es.RestoreBestWeights || es.MinDelta != 0.001 || es.Monitor != "loss" ||
		mc.Path != "ckpt-{epoch:02d}.safetensors" || !mc.SaveBestOnly || cl.Path != "log.csv" || cl.Separator != ';' {
		t.Errorf("built %+v %+v %+v", r.Callbacks[0], r.Callbacks[1], r.Callbacks[2])
	}
	if len(r.Fit.Callbacks) != 0 {
		t.Error("the experiment's callbacks leaked into Run.Fit (explain's probes use it and must not write files)")
	}
	// Each Build makes fresh callbacks.
	r2, err := config.Build(e, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if r2.Callbacks[0] == r.Callbacks[0] {
		t.Error("two builds share a callback")
	}
}

func TestCallbackErrors(t *testing.T) {
	for _, c := range []struct{ item, want string }{
		{"    - ReduceLROnPlateau: {}\n", `unknown callback "ReduceLROnPlateau"; kiln has BackupAndRestore, CSVLogger, EarlyStopping, ModelCheckpoint, TerminateOnNaN`},
		{"    - EarlyStopping: {patience: -1}\n", "patience must be a non-negative integer"},
		{"    - EarlyStopping: {mode: up}\n", "mode must be auto, min or max"},
		{"    - EarlyStopping: {monitr: loss}\n", `EarlyStopping has no argument "monitr"`},
		{"    - ModelCheckpoint: {filepath: best.h5}\n", "give a path ending in .safetensors"},
		{"    - ModelCheckpoint: {filepath: \"w-{epoch:q}.safetensors\"}\n", "format spec"},
		{"    - ModelCheckpoint: {filepath: w.safetensors, save_freq: 100}\n", "save_freq"},
		{"    - ModelCheckpoint: {filepath: \"w-{val_loss:.2f}.safetensors\"}\n", "no value for {val_loss}; the logs have epoch, loss"},
		{"    - CSVLogger: {}\n", "CSVLogger needs filename"},
		{"    - CSVLogger: {filename: a.csv, separator: ab}\n", "separator must be one character"},
	} {
		e, err := config.Parse([]byte(cbBase+c.item), "cb.yaml", nil)
		if err == nil {
			e.Path = "cb.yaml" // as Load sets it
			_, err = config.Build(e, io.Discard)
		}
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "cb.yaml:10") || !strings.Contains(err.Error(), "fit.callbacks.0") {
			t.Errorf("%q: %v; want an error at cb.yaml:10, fit.callbacks.0, containing %q", c.item, err, c.want)
		}
	}
	_, err := config.Parse([]byte(cbBase+"    EarlyStopping\n"), "cb.yaml", nil)
	if err == nil || !strings.Contains(err.Error(), "expected a list of callbacks") {
		t.Errorf("callbacks not a list: %v", err)
	}
}
