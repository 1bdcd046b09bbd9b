package main

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-ml/kiln/data"
	"github.com/kiln-ml/kiln/sweep"
)

// sweepTinyExperiment writes a small 3-class problem (data.npz) and an
// experiment file using it, and returns the experiment's path.
func sweepTinyExperiment(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(3, 4))
	split := func(n int) (*data.Array, *data.Array) {
		x := make([]float32, n*5)
		y := make([]int64, n)
		for i := range y {
			c := rng.IntN(3)
			y[i] = int64(c)
			for j := 0; j < 5; j++ {
				x[i*5+j] = float32(rng.NormFloat64()) + float32(c*(j%2))
			}
		}
		return data.NewFloat32(x, n, 5), data.NewInt64(y, n)
	}
	xTr, yTr := split(200)
	xTe, yTe := split(50)
	if err := data.WriteNPZ(filepath.Join(dir, "data.npz"), nil, map[string]*data.Array{
		"x_train": xTr, "y_train": yTr, "x_test": xTe, "y_test": yTe}); err != nil {
		t.Fatal(err)
	}
	exp := `seed: 1
data: {npz: data.npz}
model:
  - Input: {shape: [5]}
  - Dense: {units: 6, activation: relu}
  - Dense: {units: 3, activation: softmax}
compile:
  optimizer: {name: sgd, learning_rate: 0.05}
  loss: sparse_categorical_crossentropy
  metrics: [accuracy]
fit: {batch_size: 20, epochs: 2, validation_data: test}
`
	path := filepath.Join(dir, "exp.yaml")
	if err := os.WriteFile(path, []byte(exp), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func sweepRunKiln(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(context.Background(), args, &o, &e)
	return code, o.String(), e.String()
}

func TestSweepCommandShardsAndMerge(t *testing.T) {
	exp := sweepTinyExperiment(t)
	out := t.TempDir()
	grid := []string{"sweep", exp, "--grid", "compile.optimizer.learning_rate=0.01,0.03", "--grid", "compile.optimizer.name=sgd,rmsprop", "--repeats", "2"}

	full := filepath.Join(out, "full")
	code, stdout, stderr := sweepRunKiln(t, append(grid, "--out", full, "--plots", "svg", "--baseline", "lr=0.03 opt=sgd")...)
	if code != 0 {
		t.Fatalf("sweep: exit %d\n%s", code, stderr)
	}
	for _, w := range []string{"4 cells × 2 repeats, 8 of 8 runs finished; baseline: cell 2 (lr=0.03 opt=sgd)", "\nval_accuracy\n", "lr=0.01 opt=rmsprop"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("table lacks %q:\n%s", w, stdout)
		}
	}
	if strings.Count(stderr, "] run ") != 8 {
		t.Errorf("want one progress line per run:\n%s", stderr)
	}
	for _, f := range []string{"results.json", "results.csv", "summary.csv", "loss.svg", "val_accuracy.svg"} {
		if _, err := os.Stat(filepath.Join(full, f)); err != nil {
			t.Error(err)
		}
	}

	sharded := filepath.Join(out, "sharded")
	for i := 0; i < 3; i++ {
		args := append(grid, "--out", sharded, "--shard", []string{"0/3", "1/3", "2/3"}[i], "--jobs", "1", "--plots", "none")
		if code, _, stderr := sweepRunKiln(t, args...); code != 0 {
			t.Fatalf("shard %d: exit %d\n%s", i, code, stderr)
		}
		if i == 0 {
			// An incomplete merge writes what it has and fails.
			code, _, stderr := sweepRunKiln(t, "sweep", "merge", sharded, "--out", filepath.Join(out, "partial"), "--plots", "none")
			if code != 1 || !strings.Contains(stderr, "5 of 8 runs are missing (run ids 1, 2, 4, 5, 7)") {
				t.Errorf("partial merge: exit %d\n%s", code, stderr)
			}
		}
	}
	code, _, stderr = sweepRunKiln(t, "sweep", "merge", sharded, "--out", sharded, "--plots", "none")
	if code != 0 {
		t.Fatalf("merge: exit %d\n%s", code, stderr)
	}
	want, _ := os.ReadFile(filepath.Join(full, "results.json"))
	got, _ := os.ReadFile(filepath.Join(sharded, "results.json"))
	if len(want) == 0 || !bytes.Equal(got, want) {
		t.Errorf("merged results.json differs from the unsharded one:\n%s\nvs\n%s", got, want)
	}
	// The merged summary uses the baseline given to merge.
	wantCSV, _ := os.ReadFile(filepath.Join(full, "results.csv"))
	gotCSV, _ := os.ReadFile(filepath.Join(sharded, "results.csv"))
	if !bytes.Equal(gotCSV, wantCSV) {
		t.Error("merged results.csv differs from the unsharded one")
	}
}

func TestSweepCommandErrors(t *testing.T) {
	exp := sweepTinyExperiment(t)
	out := filepath.Join(t.TempDir(), "out")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--grid", "compile.optimizer.learning_rate=0.01,abc"}, "--grid compile.optimizer.learning_rate, value abc:"},
		{[]string{"--grid", "fit.epoch=1,2"}, `unknown key "epoch" in fit`},
		{[]string{"--grid", "fit.epochs="}, "is empty"},
		{[]string{"--grid", "fit.epochs"}, "expected dotted.path=v1,v2"},
		{[]string{"--grid", "fit.epochs=1,2", "--baseline", "epochs=3"}, "--baseline"},
		{[]string{"--keys", "loss,acc"}, `--keys: the runs have no key "acc"`},
		{[]string{"--plots", "jpg"}, "--plots"},
		{[]string{"--repeats", "0"}, "--repeats must be at least 1"},
		{[]string{"--jobs", "-1"}, "--jobs"},
		{[]string{"--shard", "2/2"}, "--shard 2/2"},
	} {
		code, _, stderr := sweepRunKiln(t, append([]string{"sweep", exp, "--out", out}, c.args...)...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 mentioning %q", c.args, code, stderr, c.want)
		}
		if strings.Contains(stderr, "] run ") {
			t.Errorf("%v: a run started before the error", c.args)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a failed sweep created its output directory")
	}
	if code, _, stderr := sweepRunKiln(t, "sweep"); code != 2 || !strings.Contains(stderr, "exactly one experiment file") {
		t.Errorf("no file: exit %d %q", code, stderr)
	}
	if code, _, stderr := sweepRunKiln(t, "sweep", "merge", t.TempDir()); code != 2 || !strings.Contains(stderr, "neither shard-*") {
		t.Errorf("merge of an empty directory: exit %d %q", code, stderr)
	}
}

// TestSweepResumes: kiln sweep on an --out that holds an interrupted sweep
// of the same plan keeps its finished runs and runs the rest, to the same
// results as an uninterrupted sweep; another plan there is refused.
//
// Catches: re-running finished runs, or mixing two sweeps in one folder.
func TestSweepResumes(t *testing.T) {
	exp := sweepTinyExperiment(t)
	out := filepath.Join(t.TempDir(), "sweep")
	args := []string{"sweep", exp, "--grid", "compile.optimizer.learning_rate=0.01,0.03", "--repeats", "2", "--out", out, "--plots", "none", "--jobs", "1"}
	if code, _, stderr := sweepRunKiln(t, args...); code != 0 {
		t.Fatalf("sweep: exit %d\n%s", code, stderr)
	}
	path := filepath.Join(out, "results.json")
	want, _ := os.ReadFile(path)
	// As if interrupted after two runs.
	res, err := sweep.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	res.Runs = res.Runs[:2]
	if err := res.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := sweepRunKiln(t, args...)
	if code != 0 || !strings.Contains(stderr, "resuming the sweep in "+out+": 2 of its 4 runs are finished and kept, 2 to run") || strings.Count(stderr, "] run ") != 2 {
		t.Fatalf("resume: exit %d\n%s", code, stderr)
	}
	got, _ := os.ReadFile(path)
	if !bytes.Equal(got, want) {
		t.Errorf("resumed results.json differs from the uninterrupted one:\n%s\nvs\n%s", got, want)
	}
	other := append([]string(nil), args...)
	other[3] = "compile.optimizer.learning_rate=0.1,0.3"
	if code, _, stderr := sweepRunKiln(t, other...); code != 2 || !strings.Contains(stderr, "holds another sweep") {
		t.Errorf("another plan in the same --out: exit %d\n%s", code, stderr)
	}
}
