package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-ml/kiln/host"
	"github.com/kiln-ml/kiln/saving"
)

// TestProgramCommands: the question's snippet as posted, given to kiln.
// kiln fit trains it to examples/seed.yaml's History bit for bit (same
// seed); kiln convert prints that experiment; kiln summary shows its model.
func TestProgramCommands(t *testing.T) {
	dir := t.TempDir()
	snippet := filepath.Join(dir, "snippet.py")
	src, err := os.ReadFile("../../program/testdata/question_snippet.py")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(snippet, bytes.Replace(src, []byte("epochs=10"), []byte("epochs=2"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	kiln := func(args ...string) (string, string, int) {
		var out, errb bytes.Buffer
		code := run(context.Background(), args, &out, &errb)
		return out.String(), errb.String(), code
	}
	hp, hs := filepath.Join(dir, "p.json"), filepath.Join(dir, "s.json")
	out, errs, code := kiln("fit", snippet, "--seed", "1", "--verbose", "2", "--history", hp)
	if code != 0 || !strings.Contains(errs, "kiln's reader") || !strings.Contains(errs, "x_train is not defined") || !strings.Contains(out, "Epoch 2/2") {
		t.Fatalf("kiln fit snippet.py: exit %d\n%s\n%s", code, out, errs)
	}
	if _, errs, code := kiln("fit", "../../examples/seed.yaml", "--set", "fit.epochs=2", "--verbose", "0", "--history", hs); code != 0 {
		t.Fatalf("kiln fit seed.yaml: %s", errs)
	}
	p, _ := os.ReadFile(hp)
	s, _ := os.ReadFile(hs)
	if len(p) == 0 || !bytes.Equal(p, s) {
		t.Errorf("the snippet's History\n%s\ndiffers from examples/seed.yaml's\n%s", p, s)
	}
	out, _, code = kiln("convert", snippet, "--set", "fit.epochs=10")
	for _, line := range []string{"dataset: mnist", "- Dense: {activation: sigmoid, units: 10}", "optimizer: {name: sgd, learning_rate: 0.01}", "epochs: 10", "validation_data: test", "labels: onehot"} {
		if code != 0 || !strings.Contains(out, line) {
			t.Errorf("kiln convert lacks %q:\n%s", line, out)
		}
	}
	out, _, code = kiln("convert", snippet, "--json")
	if code != 0 || !strings.Contains(out, `"learning_rate": 0.01`) || !strings.HasPrefix(out, "{") {
		t.Errorf("kiln convert --json:\n%s", out)
	}
	out, _, code = kiln("summary", snippet)
	if code != 0 || !strings.Contains(out, "dense (Dense)") || !strings.Contains(out, "7850") {
		t.Errorf("kiln summary snippet.py:\n%s", out)
	}
	bad := filepath.Join(dir, "bad.py")
	os.WriteFile(bad, []byte("import pandas as pd\ndf = pd.read_csv('x.csv')\n"), 0o644)
	_, errs, code = kiln("fit", bad, "--no-python")
	if code != 2 || !strings.Contains(errs, "bad.py:1:1: ModuleNotFoundError: No module named 'pandas'") {
		t.Errorf("kiln fit bad.py: exit %d, %s", code, errs)
	}
}

// TestUnknownFlagIsOneError: a mistyped flag is one "kiln: error:" line with
// exit 2 for every command, not a usage dump; -h prints the usage, exit 0.
//
// Catches: the flag package's own error and usage printing (19 lines).
func TestUnknownFlagIsOneError(t *testing.T) {
	for _, cmd := range []string{"fit", "evaluate", "predict", "summary", "export", "explain", "sweep", "bench", "convert"} {
		var out, errb bytes.Buffer
		code := run(context.Background(), []string{cmd, "--bogus", "x.yaml"}, &out, &errb)
		lines := strings.Split(strings.TrimSpace(errb.String()), "\n")
		if code != 2 || len(lines) != 1 || !strings.HasPrefix(lines[0], "kiln: error: "+cmd+": flag provided but not defined: -bogus") {
			t.Errorf("kiln %s --bogus: exit %d, stderr:\n%s", cmd, code, errb.String())
		}
		out.Reset()
		errb.Reset()
		if code := run(context.Background(), []string{cmd, "-h"}, &out, &errb); code != 0 || !strings.Contains(errb.String()+out.String(), "Usage: kiln "+cmd) {
			t.Errorf("kiln %s -h: exit %d\n%s%s", cmd, code, out.String(), errb.String())
		}
	}
}

// TestQuestionCommands: the whole pasted question (code and two logs, the
// project's fixture in paste/testdata). kiln fit runs its code and shows
// each pasted log beside kiln's run of the same settings — the second at
// the learning rate its caption names — and says both are reproduced;
// kiln explain names the three causes and adds the same comparison.
func TestQuestionCommands(t *testing.T) {
	kiln := func(args ...string) (string, string, int) {
		var out, errb bytes.Buffer
		code := run(context.Background(), args, &out, &errb)
		return out.String(), errb.String(), code
	}
	q := "../../paste/testdata/question.txt"
	out, errs, code := kiln("fit", q, "--seed", "1", "--verbose", "0")
	for _, want := range []string{
		"Pasted run 1 (" + q + ":14,", "beside kiln's run of the question's program as written",
		"  1       315.4696 → 314.7581", "Pasted run 2 (" + q + ":35,", "beside kiln's run of the program at learning rate 0.03",
		"  1       931.7540 → 955.8192", "between pasted runs 1 and 2 (learning rate 0.03) the epoch-1 loss changes ×2.95 (315.4696 → 931.7540); kiln's runs change ×3.04",
	} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("kiln fit question.txt lacks %q: exit %d\n%s\n%s", want, code, out, errs)
		}
	}
	if n := strings.Count(out, "  reproduced: training loss within"); n != 2 {
		t.Errorf("%d runs reproduced, want 2:\n%s", n, out)
	}
	out, _, code = kiln("convert", q)
	if code != 0 || !strings.Contains(out, "optimizer: {name: sgd, learning_rate: 0.01}") {
		t.Errorf("kiln convert question.txt:\n%s", out)
	}
	if testing.Short() {
		t.Skip("kiln explain of the question trains 8 probes (-short)")
	}
	out, errs, code = kiln("explain", q)
	for _, want := range []string{"ERROR  inputs-not-normalized", "WARNING  sigmoid-with-categorical-crossentropy", "loss-scales-with-learning-rate",
		"The pasted logs (2 run(s))", "Pasted run 2 (", "between pasted runs 1 and 2"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("kiln explain question.txt lacks %q: exit %d\n%s\n%s", want, code, out, errs)
		}
	}
}

// TestConvertLoopNamesTheGrid: a program that fits once per learning rate
// converts to its first fit, and the note gives the sweep that runs all.
func TestConvertLoopNamesTheGrid(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "loop.py")
	os.WriteFile(p, []byte(`from tensorflow import keras
(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
for lr in [0.01, 0.03]:
    model = keras.Sequential([keras.Input(shape=(28, 28)), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=lr), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train / 255, y_train, epochs=2, batch_size=64)
`), 0o644)
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"convert", p}, &out, &errb)
	if code != 0 || !strings.Contains(out.String(), "learning_rate: 0.01") ||
		!strings.Contains(errb.String(), "fits 2 times; this is its first fit; the fits differ only in compile.optimizer.learning_rate") ||
		!strings.Contains(errb.String(), "--grid compile.optimizer.learning_rate=0.01,0.03") {
		t.Errorf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}
}

// TestFitFallsBackToPython: a program kiln's reader refuses (pandas) runs
// in the user's Python with kiln's stand-in keras, and says so; with
// --no-python it is refused.
func TestFitFallsBackToPython(t *testing.T) {
	if _, err := host.Find(); err != nil {
		t.Skip("host mode needs python3 with numpy and pandas: ", err)
	}
	if err := exec.Command("/usr/bin/python3", "-c", "import pandas").Run(); err != nil {
		t.Skip("host mode test needs pandas: apt-get install python3-pandas")
	}
	var out, errb bytes.Buffer
	t.Chdir("../../host/testdata")
	code := run(context.Background(), []string{"fit", "p01_read_csv.py", "--seed", "1", "--verbose", "0"}, &out, &errb)
	if code != 0 || !strings.Contains(errb.String(), "kiln's reader cannot run p01_read_csv.py") || !strings.Contains(errb.String(), "in your Python") {
		t.Errorf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}
}

// TestSaveKeepsClassNames: string class labels (a CSV column of names)
// are saved with the model, so a Go program maps predictions to names
// without the training data.
func TestSaveKeepsClassNames(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "train.csv"), []byte("a,b,kind\n1,2,yes\n3,4,no\n5,6,maybe\n7,8,no\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "exp.yaml"), []byte("seed: 1\ndata:\n  csv: {train: train.csv, label: kind}\nmodel:\n  - Input: {shape: [2]}\n  - Dense: {units: 3, activation: softmax}\ncompile: {optimizer: sgd, loss: sparse_categorical_crossentropy}\nfit: {epochs: 1, verbose: 0}\n"), 0o644)
	var out, errb bytes.Buffer
	saved := filepath.Join(dir, "model")
	if code := run(context.Background(), []string{"fit", filepath.Join(dir, "exp.yaml"), "--save", saved}, &out, &errb); code != 0 {
		t.Fatalf("fit: %s", errb.String())
	}
	if !strings.Contains(errb.String(), "0=maybe, 1=no, 2=yes") {
		t.Errorf("mapping not printed: %s", errb.String())
	}
	s, err := saving.Load(saved, nil)
	if err != nil || strings.Join(s.Metadata.Classes, ",") != "maybe,no,yes" {
		t.Errorf("saved classes %v, %v", s.Metadata.Classes, err)
	}
}

// TestKerasModelFileCommands: predict and export take a Keras model file
// with its weights, as they take an experiment file; evaluate says why it
// cannot (no data).
func TestKerasModelFileCommands(t *testing.T) {
	dir := t.TempDir()
	saved := filepath.Join(dir, "m")
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"fit", "../../examples/seed.yaml", "--set", "data.limit=500", "--set", "fit.epochs=1", "--verbose", "0", "--save", saved}, &out, &errb); code != 0 {
		t.Fatalf("fit: %s", errb.String())
	}
	cfg, w := filepath.Join(saved, "config.json"), filepath.Join(saved, "model.safetensors")
	errb.Reset()
	if code := run(context.Background(), []string{"export", cfg, "--weights", w, "--onnx", filepath.Join(dir, "m.onnx")}, &out, &errb); code != 0 {
		t.Errorf("export a Keras model file: exit %d, %s", code, errb.String())
	}
	errb.Reset()
	if code := run(context.Background(), []string{"evaluate", cfg, "--weights", w}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "is a Keras model file, which has no data to evaluate on") {
		t.Errorf("evaluate a Keras model file: exit %d, %s", code, errb.String())
	}
}

// TestRefusalBeforeTraining: a program kiln's reader refuses near its end
// is refused before it trains anything.
//
// Catches: minutes of training thrown away by a refusal on the last line.
func TestRefusalBeforeTraining(t *testing.T) {
	p := filepath.Join(t.TempDir(), "late.py")
	os.WriteFile(p, []byte(`from tensorflow import keras
(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
model = keras.Sequential([keras.Input(shape=(28, 28)), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
model.fit(x_train / 255, y_train, epochs=1)
print(model.predict_classes(x_test))
`), 0o644)
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"fit", p, "--no-python"}, &out, &errb)
	if code != 2 || strings.Contains(out.String(), "Epoch") || !strings.Contains(errb.String(), "late.py:6:") || !strings.Contains(errb.String(), "predict_classes") {
		t.Errorf("exit %d\nstdout: %s\nstderr: %s", code, out.String(), errb.String())
	}
}

// TestNoSeedNote: an experiment without seed: trains with seed 0 and kiln
// fit says so; with a seed it says nothing.
func TestNoSeedNote(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "noseed.yaml")
	os.WriteFile(p, []byte("data: {dataset: mnist, limit: 200}\nmodel:\n  - Input: {shape: [28, 28]}\n  - Flatten: {}\n  - Dense: {units: 10, activation: softmax}\ncompile: {optimizer: sgd, loss: sparse_categorical_crossentropy}\nfit: {verbose: 0}\n"), 0o644)
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"fit", p}, &out, &errb); code != 0 || !strings.Contains(errb.String(), "sets no seed: kiln trains with seed 0, the same every run") {
		t.Errorf("exit %d: %s", code, errb.String())
	}
	errb.Reset()
	if code := run(context.Background(), []string{"fit", p, "--seed", "3"}, &out, &errb); code != 0 || strings.Contains(errb.String(), "sets no seed") {
		t.Errorf("with --seed: exit %d: %s", code, errb.String())
	}
}
