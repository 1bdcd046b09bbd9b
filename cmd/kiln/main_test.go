package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kiln-ml/kiln/data"
)

// writeToy writes a small 3-class problem as toy.npz and an experiment using
// it, and returns the experiment's path.
func writeToy(t *testing.T, extra string) string {
	t.Helper()
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	mk := func(n int) (*data.Array, *data.Array) {
		x := make([]float32, n*6)
		y := make([]int64, n)
		for i := 0; i < n; i++ {
			c := rng.IntN(3)
			y[i] = int64(c)
			for j := range 6 {
				x[i*6+j] = float32(rng.NormFloat64()*0.3) + float32(c*(j%3))
			}
		}
		return data.NewFloat32(x, n, 2, 3), data.NewInt64(y, n)
	}
	xt, yt := mk(240)
	xv, yv := mk(60)
	if err := data.WriteNPZ(filepath.Join(dir, "toy.npz"), []string{"x_train", "y_train", "x_test", "y_test"},
		map[string]*data.Array{"x_train": xt, "y_train": yt, "x_test": xv, "y_test": yv}); err != nil {
		t.Fatal(err)
	}
	exp := `seed: 3
data:
  npz: toy.npz
  labels: onehot
model:
  - Input: {shape: [2, 3]}
  - Flatten: {}
  - Dense: {units: 8, activation: relu}
  - Dense: {units: 3, activation: softmax}
compile:
  optimizer: {name: adam, learning_rate: 0.01}
  loss: categorical_crossentropy
  metrics: [accuracy]
fit:
  batch_size: 16
  epochs: 3
  validation_data: test
` + extra
	path := filepath.Join(dir, "toy.yaml")
	if err := os.WriteFile(path, []byte(exp), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func runKiln(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(context.Background(), args, &o, &e)
	return code, o.String(), e.String()
}

var finalLine = regexp.MustCompile(`^15/15 \[==============================\] - \d+s \d+(us|ms|s)/step - loss: \d+\.\d{4} - accuracy: \d\.\d{4} - val_loss: \d+\.\d{4} - val_accuracy: \d\.\d{4}$`)

func TestFitPrintsKerasConsoleAndWritesHistory(t *testing.T) {
	exp := writeToy(t, "")
	hist := filepath.Join(filepath.Dir(exp), "h.json")
	code, out, errOut := runKiln(t, "fit", exp, "--history", hist)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 6 || lines[0] != "Epoch 1/3" || lines[4] != "Epoch 3/3" {
		t.Fatalf("output:\n%s", out)
	}
	for _, l := range []string{lines[1], lines[3], lines[5]} {
		if !finalLine.MatchString(l) {
			t.Errorf("not a Keras final line: %q", l)
		}
	}
	b, err := os.ReadFile(hist)
	if err != nil {
		t.Fatal(err)
	}
	var h map[string][]float64
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatalf("history is not JSON: %v\n%s", err, b)
	}
	if !strings.HasPrefix(string(b), `{"loss": [`) || len(h["val_accuracy"]) != 3 {
		t.Errorf("history %s", b)
	}
	// --verbose 2: one line per epoch.
	code, out, _ = runKiln(t, "fit", exp, "--verbose", "2", "--set", "fit.epochs=1")
	if code != 0 || !regexp.MustCompile(`^15/15 - \d+s - loss: .* - \d+(us|ms|s)/epoch - \d+(us|ms)/step\n$`).MatchString(out) {
		t.Errorf("verbose 2 output %q", out)
	}
}

func TestSaveEvaluatePredictAndInitWeights(t *testing.T) {
	exp := writeToy(t, "")
	dir := filepath.Dir(exp)
	saved := filepath.Join(dir, "model")
	if code, _, e := runKiln(t, "fit", exp, "--save", saved, "--verbose", "0"); code != 0 {
		t.Fatalf("fit --save: %s", e)
	}
	for _, f := range []string{"experiment.yaml", "config.json", "model.safetensors"} {
		if _, err := os.Stat(filepath.Join(saved, f)); err != nil {
			t.Errorf("saved model lacks %s", f)
		}
	}
	code, out, e := runKiln(t, "evaluate", saved, "--json")
	if code != 0 {
		t.Fatalf("evaluate: %s", e)
	}
	var res map[string]float64
	if err := json.Unmarshal([]byte(out), &res); err != nil || res["accuracy"] < 0.5 {
		t.Errorf("evaluate --json = %q (%v)", out, err)
	}
	code, out, e = runKiln(t, "evaluate", saved)
	if code != 0 || !regexp.MustCompile(`^2/2 \[=+\] - \d+s \d+(us|ms)/step - loss: \d\.\d{4} - accuracy: \d\.\d{4}\n$`).MatchString(out) {
		t.Errorf("evaluate output %q", out)
	}
	// It says which split it scores (stderr, so stdout stays Keras').
	if !strings.Contains(e, "kiln: evaluating on the test split (") {
		t.Errorf("evaluate does not say which split: %q", e)
	}
	z, err := data.ReadNPZ(filepath.Join(dir, "toy.npz"))
	if err != nil {
		t.Fatal(err)
	}
	in, outPath := filepath.Join(dir, "x.npy"), filepath.Join(dir, "p.npy")
	xt, _ := z.Get("x_test")
	if err := data.WriteNPY(in, xt); err != nil {
		t.Fatal(err)
	}
	if code, _, e := runKiln(t, "predict", saved, "--input", in, "--output", outPath); code != 0 {
		t.Fatalf("predict: %s", e)
	}
	p, err := data.ReadNPY(outPath)
	if err != nil || p.Shape[0] != 60 || p.Shape[1] != 3 || p.DType != data.Float32 {
		t.Fatalf("predictions %v %v", p, err)
	}
	// Starting from the saved weights with zero learning... one more epoch
	// must start from a lower loss than a fresh model.
	fresh := filepath.Join(dir, "fresh.json")
	warm := filepath.Join(dir, "warm.json")
	runKiln(t, "fit", exp, "--set", "fit.epochs=1", "--verbose", "0", "--history", fresh)
	if code, _, e := runKiln(t, "fit", exp, "--set", "fit.epochs=1", "--verbose", "0", "--history", warm,
		"--init-weights", filepath.Join(saved, "model.safetensors")); code != 0 {
		t.Fatalf("--init-weights: %s", e)
	}
	var hf, hw map[string][]float64
	bf, _ := os.ReadFile(fresh)
	bw, _ := os.ReadFile(warm)
	json.Unmarshal(bf, &hf)
	json.Unmarshal(bw, &hw)
	if hw["loss"][0] >= hf["loss"][0] {
		t.Errorf("warm start loss %v not below fresh %v", hw["loss"][0], hf["loss"][0])
	}
}

func TestBadInputExitsTwoWithClearError(t *testing.T) {
	exp := writeToy(t, "")
	dir := filepath.Dir(exp)
	os.WriteFile(filepath.Join(dir, "bad.npz"), []byte("PK\x03\x04 not really a zip"), 0o644)
	badNPZ := strings.Replace(mustRead(t, exp), "npz: toy.npz", "npz: bad.npz", 1)
	os.WriteFile(filepath.Join(dir, "badnpz.yaml"), []byte(badNPZ), 0o644)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"fit", filepath.Join(dir, "missing.yaml")}, "no such experiment file"},
		{[]string{"fit", exp, "--set", "compile.loss=hinge"}, "valid losses"},
		{[]string{"fit", exp, "--set", "fit.batch_size=-3"}, "batch_size"},
		{[]string{"fit", exp, "--set", "compile.optimizer.learning_rate=0"}, "above 0"},
		{[]string{"fit", exp, "--set", "data.labels=int"}, "Shapes (None, 1) and (None, 3) are incompatible"},
		{[]string{"fit", exp, "--set", "compile.loss=sparse_categorical_crossentropy"}, "labels look one-hot"},
		{[]string{"fit", exp, "--set", "model.3.Dense.units=2"}, "output layer has 2 units"},
		{[]string{"fit", exp, "--set", "model.0.Input.shape=[6]"}, "set Input shape to [2 3]"},
		{[]string{"fit", exp, "--set", "nope"}, "dotted.path=value"},
		{[]string{"fit", filepath.Join(dir, "badnpz.yaml")}, "bad.npz"},
		{[]string{"fit", exp, "--init-weights", filepath.Join(dir, "toy.npz")}, "safetensors"},
		{[]string{"fit", exp, "--history", filepath.Join(dir, "no", "such", "h.json")}, "does not exist"},
		{[]string{"fit"}, "exactly one experiment file"},
		{[]string{"fit", exp, "--threads", "0"}, "--threads must be at least 1, got 0"},
		{[]string{"fit", exp, "--set", "fit.threads=-2"}, "fit.threads"},
		{[]string{"frobnicate"}, "unknown command"},
		{[]string{"evaluate", exp}, "no weights given"},
		{[]string{"predict", exp, "--input", exp, "--output", filepath.Join(dir, "o.npy"), "--weights", "x.safetensors"}, "x.safetensors"},
	}
	for _, c := range cases {
		code, out, errOut := runKiln(t, c.args...)
		if code != 2 || !strings.Contains(errOut, c.want) || strings.Contains(errOut, "goroutine") {
			t.Errorf("kiln %s: exit %d, stderr %q (stdout %q); want exit 2 and %q", strings.Join(c.args, " "), code, errOut, out, c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "o.npy")); err == nil {
		t.Error("a failed predict left an output file")
	}
}

func TestSummary(t *testing.T) {
	exp := writeToy(t, "")
	code, out, e := runKiln(t, "summary", exp)
	if code != 0 || !strings.Contains(out, " dense_1 (Dense)             (None, 3)                 27        ") || !strings.Contains(out, "Total params: 83 (332.00 Byte)") {
		t.Errorf("summary exit %d:\n%s%s", code, out, e)
	}
}

func mustRead(t *testing.T, p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestFitThreadsSameHistory: kiln fit --threads 1 and --threads 3 write the
// same history, byte for byte.
func TestFitThreadsSameHistory(t *testing.T) {
	exp := writeToy(t, "")
	dir := filepath.Dir(exp)
	var hs []string
	for _, n := range []string{"1", "3"} {
		h := filepath.Join(dir, "h"+n+".json")
		if code, _, e := runKiln(t, "fit", exp, "--threads", n, "--verbose", "0", "--history", h); code != 0 {
			t.Fatalf("--threads %s: exit %d: %s", n, code, e)
		}
		hs = append(hs, mustRead(t, h))
	}
	if hs[0] != hs[1] || hs[0] == "" {
		t.Errorf("--threads 1 history %s\n--threads 3 history %s", hs[0], hs[1])
	}
}
