package paste

import (
	"errors"
	"math"
	"os"
	"strings"
	"testing"
)

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The motivating question: ten code lines, two runs of ten epochs, each
// with the sentence that introduced it.
func TestQuestion(t *testing.T) {
	q, err := Split("question.txt", readFixture(t, "question.txt"))
	if err != nil {
		t.Fatal(err)
	}
	src := strings.Split(string(q.Source), "\n")
	if src[2] != "model = Sequential()" || src[6] != "model.compile(" || src[10] != ")" {
		t.Errorf("code is not at its original lines:\n%s", q.Source)
	}
	for i, l := range src {
		if strings.Contains(l, "This is") || strings.Contains(l, "Epoch") {
			t.Errorf("source line %d holds non-code %q", i+1, l)
		}
	}
	if got := q.Position(8, 1); got != "question.txt:8:1" {
		t.Errorf("Position(8, 1) = %q", got)
	}
	if len(q.Runs) != 2 {
		t.Fatalf("%d runs, want 2", len(q.Runs))
	}
	for i, want := range []string{"learning rate of 0.01", "rate to 0.03"} {
		r := q.Runs[i]
		if !strings.Contains(r.Caption, want) {
			t.Errorf("run %d caption %q, want it to contain %q", i+1, r.Caption, want)
		}
		if len(r.Epochs) != 10 || r.Epochs[9].Epoch != 10 || r.Epochs[9].Epochs != 10 {
			t.Errorf("run %d: %d epochs, want 1..10", i+1, len(r.Epochs))
		}
	}
	e := q.Runs[1].Epochs[0]
	want := []Value{{"loss", 931.7540, "931.7540"}, {"accuracy", 0.8417, "0.8417"},
		{"val_loss", 618.5505, "618.5505"}, {"val_accuracy", 0.8952, "0.8952"}}
	if len(e.Metrics) != len(want) {
		t.Fatalf("metrics %v, want %v", e.Metrics, want)
	}
	for i := range want {
		if e.Metrics[i] != want[i] {
			t.Errorf("metric %d = %+v, want %+v", i, e.Metrics[i], want[i])
		}
	}
	if e.Line != 36 || e.Steps != 1875 || e.Total != 1875 || e.Time != "2s" || e.PerStep != "1ms/step" {
		t.Errorf("epoch 1 of run 2 = %+v", e)
	}
	if len(q.Prose) != 7 || q.Prose[6].Line != 57 {
		t.Errorf("prose = %+v", q.Prose)
	}
}

// Lines judged alone, without fences: the heuristic's cases.
func TestLineHeuristic(t *testing.T) {
	for _, tc := range []struct {
		text string
		want []LineKind
	}{
		{"This is the code:\nmodel = Sequential()", []LineKind{Prose, Code}},
		{"model.compile(\noptimizer='sgd',\nloss='mse'\n)", []LineKind{Code, Code, Code, Code}},
		{"x = [1,\n\n2]", []LineKind{Code, Blank, Code}},
		{"for i in range(3):\n    print(i)\n    i\n", []LineKind{Code, Code, Code}},
		{"If I use Adam(lr=0.1) it diverges.", []LineKind{Prose}},
		{"I call model.fit(x, y) and get:", []LineKind{Prose}},
		{"Why does `model.fit` fail?", []LineKind{Prose}},
		{"I'm stuck.", []LineKind{Prose}},
		{"Hello,\nmodel.fit(x)", []LineKind{Prose, Code}},
		{"model.fit(x)\nThanks", []LineKind{Code, Prose}},
		{"# load\nx = load()", []LineKind{Code, Code}},
		{"# My question\nIt fails.", []LineKind{Prose, Prose}},
		{"1. Load the data", []LineKind{Prose}},
		{"- use Adam instead", []LineKind{Prose}},
		{"Edit: the learning rate is 0.01", []LineKind{Prose}},
		{"import numpy as np", []LineKind{Code}},
		{"from keras import layers", []LineKind{Code}},
		{"Test accuracy: 0.92", []LineKind{Log}},
		{"print 'hi'", []LineKind{Code}},
		{"s = '''a\nb is it?\n'''", []LineKind{Code, Code, Code}},
		{"model.fit(x,\nEpoch 1/2\n1/1 [====] - 0s 1ms/step - loss: 1.0", []LineKind{Code, Log, Log}},
		{"x = 1 + \\\n  2", []LineKind{Code, Code}},
		{"@tf.function\ndef f(x):\n    return x", []LineKind{Code, Code, Code}},
		{"model.fit(x, y\nand then it crashes with this error:\nx = 1", []LineKind{Code, Prose, Code}},
		{"See https://keras.io/api/models/model.", []LineKind{Prose}},
		{"See [the docs](https://keras.io/api/).", []LineKind{Prose}},
		{"print(x_train.shape)\n(60000, 28, 28)", []LineKind{Code, Output}},
		{"Epoch 3: ReduceLROnPlateau reducing learning rate to 0.001.", []LineKind{Output}},
		{"Epoch 00005: early stopping", []LineKind{Output}},
		{"**Edit**", []LineKind{Prose}},
		{"Test loss: 0.27, Test accuracy: 0.92", []LineKind{Log}},
		{"if __name__ == '__main__':\n    main()", []LineKind{Code, Code}},
		{"with tf.device('/cpu:0'):\n    pass", []LineKind{Code, Code}},
		{"else:", []LineKind{Code}},
		{"for example:", []LineKind{Prose}},
		{">>> x = f()\n>>> x\n3\n\ny = g(x)", []LineKind{Code, Code, Output, Blank, Code}},
		{"for x in xs: print(x)", []LineKind{Code}},
		{"from the docs", []LineKind{Prose}},
		{"from . import utils", []LineKind{Code}},
		{"def train(\n    model,\n):\n    pass", []LineKind{Code, Code, Code, Code}},
		{"{'loss': [0.5, 0.4], 'accuracy': [0.8, 0.9]}", []LineKind{Output}},
		{"Traceback (most recent call last):\n  File \"a.py\", line 1\n    x = 1\nNameError: x", []LineKind{Output, Output, Output, Output}},
	} {
		q, err := Split("t.txt", []byte(tc.text))
		if err != nil {
			t.Fatal(err)
		}
		if len(q.Kinds) != len(tc.want) {
			t.Errorf("%q: %d kinds, want %d", tc.text, len(q.Kinds), len(tc.want))
			continue
		}
		for i := range tc.want {
			if q.Kinds[i] != tc.want[i] {
				t.Errorf("%q line %d: %v, want %v", tc.text, i+1, q.Kinds[i], tc.want[i])
			}
		}
	}
}

// With fences, only fenced lines are code, and logs inside fences are
// logs.
func TestFencesAreTrusted(t *testing.T) {
	text := "x = 1\n```python\ny = 2\nEpoch 1/1\n1/1 [====] - 0s 1ms/step - loss: 0.5\n```\nz = 3\n```\nEpoch 1/1\n```\n"
	q, err := Split("f.md", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	want := []LineKind{Prose, Markup, Code, Log, Log, Markup, Prose, Markup, Log, Markup}
	for i := range want {
		if q.Kinds[i] != want[i] {
			t.Errorf("line %d %q: %v, want %v", i+1, strings.Split(text, "\n")[i], q.Kinds[i], want[i])
		}
	}
	if len(q.Runs) != 2 || len(q.Runs[0].Epochs) != 1 || q.Runs[0].Epochs[0].Metrics[0].Text != "0.5" {
		t.Errorf("runs = %+v", q.Runs)
	}
}

// An unclosed Python fence does not swallow the rest of the question.
func TestUnclosedFence(t *testing.T) {
	text := "Code:\n```python\nx = 1\n\nWhen I run it, nothing happens at all.\n"
	q, err := Split("u.md", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	want := []LineKind{Prose, Markup, Code, Blank, Prose}
	for i := range want {
		if q.Kinds[i] != want[i] {
			t.Errorf("line %d: %v, want %v", i+1, q.Kinds[i], want[i])
		}
	}
}

// Only Python fences, and untagged ones that read as Python, hold code.
func TestFenceLanguages(t *testing.T) {
	for _, tc := range []struct {
		text string
		want LineKind
	}{
		{"```python\nx = f(1)\n```", Code},
		{"```py\nx = f(1)\n```", Code},
		{"```\nx = f(1)\n```", Code},
		{"```bash\npip install tensorflow==2.15\n```", Output},
		{"```text\nx = f(1)\n```", Output},
		{"```\nsomething went wrong here\n```", Output},
	} {
		q, err := Split("f.md", []byte(tc.text))
		if err != nil {
			t.Fatal(err)
		}
		if q.Kinds[1] != tc.want {
			t.Errorf("%q: %v, want %v", tc.text, q.Kinds[1], tc.want)
		}
	}
}

func TestPromptColumns(t *testing.T) {
	q, err := Split("p.txt", []byte(">>> x = (1,\n...      2)\n>>> y = z\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(q.Source); got != "x = (1,\n     2)\ny = z\n" {
		t.Errorf("source %q", got)
	}
	// "y = z" starts at column 5 of line 3; its "z" is at column 9.
	if got := q.Position(3, 5); got != "p.txt:3:9" {
		t.Errorf("Position(3, 5) = %q, want p.txt:3:9", got)
	}
}

func TestParseLogFormats(t *testing.T) {
	for _, tc := range []struct {
		name, log string
		epochs    int
		last      string // the last epoch's metrics, name=text
		evals     int
	}{
		{"keras2", "Epoch 1/2\n10/10 [==============================] - 1s 5ms/step - loss: 0.5 - accuracy: 0.8\nEpoch 2/2\n10/10 [==============================] - 0s 4ms/step - loss: 0.4 - accuracy: 0.9", 2, "loss=0.4 accuracy=0.9", 0},
		{"keras3", "Epoch 1/1\n10/10 ━━━━━━━━━━━━━━━━━━━━ 1s 5ms/step - accuracy: 0.8 - loss: 0.5 - val_accuracy: 0.7 - val_loss: 0.6", 1, "accuracy=0.8 loss=0.5 val_accuracy=0.7 val_loss=0.6", 0},
		{"keras3 verbose2", "Epoch 1/1\n10/10 - 1s - 5ms/step - accuracy: 0.8 - loss: 0.5", 1, "accuracy=0.8 loss=0.5", 0},
		{"verbose2", "Epoch 1/1\n10/10 - 1s - loss: 0.5 - accuracy: 0.8 - 1s/epoch - 5ms/step", 1, "loss=0.5 accuracy=0.8", 0},
		{"keras1", "Epoch 1/1\n600/600 [==============================] - 3s - loss: 0.3 - acc: 0.91", 1, "loss=0.3 acc=0.91", 0},
		{"keras22 verbose2", "Epoch 1/1\n - 3s - loss: 0.3 - acc: 0.91", 1, "loss=0.3 acc=0.91", 0},
		{"samples", "Train on 600 samples\nEpoch 1/1\n600/600 [==============================] - 3s 50us/sample - loss: 0.3 - acc: 0.91", 1, "loss=0.3 acc=0.91", 0},
		{"partials", "Epoch 1/1\n 1/10 [..] - ETA: 1s - loss: 9.0\n 5/10 [==>.] - ETA: 1s - loss: 7.0\n10/10 [====] - 1s 1ms/step - loss: 0.5\n", 1, "loss=0.5", 0},
		{"carriage returns", "Epoch 1/1\n 1/10 [..] - ETA: 1s - loss: 9.0\r10/10 [====] - 1s 1ms/step - loss: 0.5\r", 1, "loss=0.5", 0},
		{"interrupted", "Epoch 1/3\n 1/10 [..] - ETA: 1s - loss: 9.0\n 5/10 [==>.] - ETA: 1s - loss: 7.0\n", 1, "loss=7.0", 0},
		{"evaluate", "Epoch 1/1\n10/10 [====] - 1s 1ms/step - loss: 0.5\n 1/3 [...] - ETA: 0s - loss: 0.1\n3/3 [====] - 0s 1ms/step - loss: 0.6", 1, "loss=0.5", 1},
		{"nan and exponents", "Epoch 1/1\n10/10 [====] - 1s 1ms/step - loss: nan - lr: 1.0000e-04", 1, "loss=nan lr=1.0000e-04", 0},
		{"final line twice", "Epoch 1/1\n10/10 [====] - 1s 1ms/step - loss: 0.5 - val_loss: 0.6\n10/10 [====] - 1s 1ms/step - loss: 0.5 - val_loss: 0.6", 1, "loss=0.5 val_loss=0.6", 0},
		{"download is not an epoch", "11490434/11490434 [==============================] - 0s 0us/step", 0, "", 0},
	} {
		runs := ParseLog(strings.Split(tc.log, "\n"))
		var epochs, evals int
		last := ""
		for _, r := range runs {
			epochs += len(r.Epochs)
			evals += len(r.Evaluations)
			if len(r.Epochs) > 0 {
				var f []string
				for _, m := range r.Epochs[len(r.Epochs)-1].Metrics {
					f = append(f, m.Name+"="+m.Text)
				}
				last = strings.Join(f, " ")
			}
		}
		if epochs != tc.epochs || last != tc.last || evals != tc.evals {
			t.Errorf("%s: %d epochs (last %q), %d evaluations; want %d (%q), %d", tc.name, epochs, last, evals, tc.epochs, tc.last, tc.evals)
		}
	}
	r := ParseLog([]string{"Epoch 1/1", "1/1 [====] - 0s 1ms/step - loss: nan"})
	if v := r[0].Epochs[0].Metrics[0]; !math.IsNaN(v.Value) || v.Text != "nan" {
		t.Errorf("nan parsed as %+v", v)
	}
}

// Runs split where the epoch count restarts or a caption intervenes.
func TestRunSplitting(t *testing.T) {
	ep := func(n int) string { return "Epoch " + string(rune('0'+n)) + "/2\n2/2 [====] - 0s 1ms/step - loss: 0.5" }
	for _, tc := range []struct {
		log  string
		runs int
	}{
		{ep(1) + "\n" + ep(2), 1},
		{ep(1) + "\n" + ep(2) + "\n" + ep(1), 2},
		{ep(1) + "\nWith lr=0.1:\n" + ep(2), 2},
		{ep(1) + "\n\n" + ep(2), 1},
	} {
		if got := len(ParseLog(strings.Split(tc.log, "\n"))); got != tc.runs {
			t.Errorf("%q: %d runs, want %d", tc.log, got, tc.runs)
		}
	}
}

func TestKind(t *testing.T) {
	for _, tc := range []struct {
		name, text, want string
	}{
		{"exp.yaml", "seed: 1\n", KindExperiment},
		{"exp.yml", "", KindExperiment},
		{"exp.json", `{"seed": 1, "model": []}`, KindExperiment},
		{"nb.json", `{"cells": [], "nbformat": 4}`, KindNotebook},
		{"model.json", `{"class_name": "Sequential", "config": {}}`, KindKerasJSON},
		{"model.json", `{"format": "layers-model", "modelTopology": {}}`, KindKerasJSON},
		{"train.py", "Whatever.", KindPython},
		{"nb.ipynb", `{"cells": []}`, KindNotebook},
		{"q.txt", "My code:\nx = f(1)\n", KindQuestion},
		{"q", "Epoch 1/1\n1/1 [====] - 0s 1ms/step - loss: 0.5\n", KindQuestion},
		{"prog.txt", "import keras\nmodel = keras.Sequential()\n", KindPython},
		{"exp.txt", "seed: 1\nfit:\n  epochs: 3\n", KindExperiment},
		{"q.md", "```python\nx = 1\n```\n", KindQuestion},
		{"nb.txt", `{"cells": []}`, KindNotebook},
		{"session.txt", ">>> import keras\n>>> keras.Sequential()\n", KindQuestion},
		{"indented.txt", "    import keras\n    m = keras.Sequential()\n", KindQuestion},
	} {
		got, err := Kind(tc.name, []byte(tc.text))
		if err != nil || got != tc.want {
			t.Errorf("Kind(%s, %q) = %q, %v; want %q", tc.name, tc.text, got, err, tc.want)
		}
	}
	for _, tc := range []struct {
		name, text, want string
	}{
		{"notes.txt", "Just some thoughts.\nNothing to run.\n", "notes.txt:1: found only prose"},
		{"mixed.txt", "seed: 1\nfit:\n  epochs: 3\nmodel = make()\n", "mixed.txt:4: looks like both an experiment file"},
		{"empty.txt", "", "empty.txt: empty"},
		{"fake.ipynb", `{"seed": 1}`, "fake.ipynb: named .ipynb but not a Jupyter notebook"},
	} {
		_, err := Kind(tc.name, []byte(tc.text))
		var pe *Error
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) || !errors.As(err, &pe) {
			t.Errorf("Kind(%s) error %v, want one starting %q", tc.name, err, tc.want)
		}
	}
}

func TestNotebookErrors(t *testing.T) {
	_, err := Split("bad.ipynb", []byte("{\n  \"cells\": [\n    {,\n  ]\n}\n"))
	if err == nil || !strings.HasPrefix(err.Error(), "bad.ipynb:3: ") {
		t.Errorf("error %v, want one at bad.ipynb:3", err)
	}
	_, err = Split("bad.ipynb", []byte(`{"nbformat": 4}`))
	if err == nil || !strings.Contains(err.Error(), `no "cells"`) {
		t.Errorf("error %v, want no cells", err)
	}
}

// A notebook's code maps back to the lines of the .ipynb file, and its
// outputs are read as logs.
func TestNotebook(t *testing.T) {
	b := readFixture(t, "notebook.ipynb")
	q, err := Split("notebook.ipynb", b)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	src := strings.Split(string(q.Source), "\n")
	for i, p := range q.Lines {
		if src[i] == "" {
			continue
		}
		if !strings.Contains(lines[p.Line-1], strings.TrimSpace(src[i])) {
			t.Errorf("source line %d %q maps to line %d %q", i+1, src[i], p.Line, lines[p.Line-1])
		}
	}
	if strings.Contains(string(q.Source), "%matplotlib") || strings.Contains(string(q.Source), "pip install") {
		t.Errorf("magics left in the source:\n%s", q.Source)
	}
	if len(q.Runs) != 1 || len(q.Runs[0].Epochs) != 2 || len(q.Runs[0].Evaluations) != 1 || len(q.Runs[0].Printed) != 1 {
		t.Errorf("runs = %+v", q.Runs)
	}
}
