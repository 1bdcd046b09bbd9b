package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFitCallbacksFromTheExperiment: fit.callbacks checkpoints and logs a
// real run; a sweep refuses callbacks that write files.
func TestFitCallbacksFromTheExperiment(t *testing.T) {
	dir := t.TempDir()
	ckpt := filepath.Join(dir, "ckpt-{epoch:02d}.safetensors")
	logf := filepath.Join(dir, "log.csv")
	exp := writeToy(t, `  callbacks:
    - ModelCheckpoint: {filepath: "`+ckpt+`", verbose: 1}
    - CSVLogger: {filename: "`+logf+`"}
    - EarlyStopping: {monitor: val_loss, patience: 10}
`)
	code, out, e := runKiln(t, "fit", exp, "--verbose", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, e)
	}
	for ep := 1; ep <= 3; ep++ {
		p := filepath.Join(dir, "ckpt-0"+string(rune('0'+ep))+".safetensors")
		if _, err := os.Stat(p); err != nil {
			t.Errorf("no checkpoint %s: %v", p, err)
		}
	}
	// Keras' order: a callback's message comes before the epoch's final line.
	if !strings.Contains(out, "\nEpoch 3: saving model to "+filepath.Join(dir, "ckpt-03.safetensors")+"\n15/15 - 0s - loss:") {
		t.Errorf("no Keras checkpoint message:\n%s", out)
	}
	b, err := os.ReadFile(logf)
	if err != nil || strings.Count(string(b), "\n") != 4 || !strings.HasPrefix(string(b), "epoch,accuracy,loss,val_accuracy,val_loss") {
		t.Errorf("CSV log (%v):\n%s", err, b)
	}
	// The checkpoint loads back as the model's weights.
	code, _, e = runKiln(t, "evaluate", exp, "--weights", filepath.Join(dir, "ckpt-03.safetensors"), "--verbose", "0")
	if code != 0 {
		t.Errorf("evaluate with the checkpoint: exit %d: %s", code, e)
	}
	code, _, e = runKiln(t, "sweep", exp, "--grid", "fit.batch_size=8,16", "--out", filepath.Join(dir, "sw"), "--plots", "none")
	if code != 2 || !strings.Contains(e, "ModelCheckpoint writes files") {
		t.Errorf("sweep with a checkpoint callback: exit %d: %s", code, e)
	}
	// An unwritable checkpoint directory fails before training.
	bad := writeToy(t, "  callbacks:\n    - ModelCheckpoint: {filepath: /nonexistent/dir/w.safetensors}\n")
	code, _, e = runKiln(t, "fit", bad)
	if code != 2 || !strings.Contains(e, "fit.callbacks") {
		t.Errorf("unwritable checkpoint dir: exit %d: %s", code, e)
	}
}
