package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-ml/kiln/data"
)

// TestSavedFolderCommands: summary, evaluate, predict and export all take a
// folder written by fit --save; predict, summary and export need only the
// folder, not the training data; a broken folder is a usage error that
// names it and the fix.
func TestSavedFolderCommands(t *testing.T) {
	exp := writeToy(t, "")
	dir := filepath.Dir(exp)
	saved := filepath.Join(dir, "model")
	if code, _, e := runKiln(t, "fit", exp, "--save", saved, "--verbose", "0"); code != 0 {
		t.Fatalf("fit --save: %s", e)
	}
	var meta map[string]any
	if err := json.Unmarshal([]byte(mustRead(t, filepath.Join(saved, "metadata.json"))), &meta); err != nil || meta["format_version"] != 1.0 {
		t.Errorf("metadata.json: %v (%v)", meta, err)
	}

	code, fromFolder, e := runKiln(t, "summary", saved)
	_, fromFile, _ := runKiln(t, "summary", exp)
	if code != 0 || fromFolder != fromFile || !strings.Contains(fromFolder, "Total params: 83") {
		t.Errorf("summary of the folder: exit %d, %s\n%s\nwant the experiment's:\n%s", code, e, fromFolder, fromFile)
	}
	if code, out, _ := runKiln(t, "summary", saved, "--set", "model.2.Dense.units=9"); code != 2 || out != "" {
		t.Errorf("summary with weights of another shape: exit %d, %q", code, out)
	}

	// Without the training data, the folder still predicts and exports.
	z, err := data.ReadNPZ(filepath.Join(dir, "toy.npz"))
	if err != nil {
		t.Fatal(err)
	}
	xt, _ := z.Get("x_test")
	in, out := filepath.Join(dir, "x.npy"), filepath.Join(dir, "p.npy")
	if err := data.WriteNPY(in, xt); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "toy.npz"), filepath.Join(dir, "moved.npz")); err != nil {
		t.Fatal(err)
	}
	if code, _, e := runKiln(t, "predict", saved, "--input", in, "--output", out); code != 0 {
		t.Errorf("predict without the training data: exit %d, %s", code, e)
	}
	if code, _, e := runKiln(t, "export", saved, "--onnx", filepath.Join(dir, "m.onnx")); code != 0 {
		t.Errorf("export without the training data: exit %d, %s", code, e)
	}
	// evaluate needs the data: it says which, and --set points it elsewhere.
	if code, _, e := runKiln(t, "evaluate", saved, "--json"); code != 2 || !strings.Contains(e, "data.npz") || !strings.Contains(e, "toy.npz") {
		t.Errorf("evaluate without its data: exit %d, %q", code, e)
	}
	if code, o, e := runKiln(t, "evaluate", saved, "--json", "--set", "data.npz="+filepath.Join(dir, "moved.npz")); code != 0 || !strings.Contains(o, `"accuracy"`) {
		t.Errorf("evaluate --set data.npz=...: exit %d, %q %s", code, o, e)
	}

	// Broken folders, for every command that takes one.
	empty := filepath.Join(dir, "empty")
	os.Mkdir(empty, 0o755)
	future := filepath.Join(dir, "future")
	if err := os.CopyFS(future, os.DirFS(saved)); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(future, "metadata.json"), []byte(`{"format_version": 2}`), 0o644)
	noWeights := filepath.Join(dir, "noweights")
	if err := os.CopyFS(noWeights, os.DirFS(saved)); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(noWeights, "model.safetensors"))
	for _, c := range []struct{ folder, want string }{
		{empty, empty + " is not a kiln saved model: it has no experiment.yaml; save one with kiln fit --save"},
		{future, "format version 2; this kiln (devel) reads versions up to 1: upgrade kiln"},
		{noWeights, "has no model.safetensors (an interrupted save?)"},
	} {
		for _, args := range [][]string{
			{"summary", c.folder},
			{"evaluate", c.folder},
			{"predict", c.folder, "--input", in, "--output", filepath.Join(dir, "o.npy")},
			{"export", c.folder, "--onnx", filepath.Join(dir, "o.onnx")},
		} {
			code, _, e := runKiln(t, args...)
			if code != 2 || !strings.Contains(e, c.want) {
				t.Errorf("kiln %s: exit %d, stderr %q; want exit 2 and %q", strings.Join(args, " "), code, e, c.want)
			}
		}
	}
}
