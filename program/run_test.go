package program

import (
	"bytes"
	"context"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/kiln-ml/kiln/config"
)

// TestQuestionSnippet: the question's code exactly as posted (no imports,
// no data loading) runs, says what it assumed, and makes
// examples/seed.yaml; with one epoch it trains to the seed run's History.
func TestQuestionSnippet(t *testing.T) {
	src, err := os.ReadFile("testdata/question_snippet.py")
	if err != nil {
		t.Fatal(err)
	}
	var notes bytes.Buffer
	in, err := Run(context.Background(), "snippet.py", src, Options{Notes: &notes, Seed: 1, SeedSet: true, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"from tensorflow.keras.models import Sequential", "x_train is not defined", "load_data()", "one-hot"} {
		if !strings.Contains(notes.String(), want) {
			t.Errorf("notes lack %q:\n%s", want, notes.String())
		}
	}
	want, err := config.Load("../examples/seed.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	gy, _ := in.Fits[0].Experiment.Marshal()
	wy, _ := want.Marshal()
	if string(gy) != string(wy) {
		t.Errorf("the snippet converts to\n%s\nwant examples/seed.yaml:\n%s", gy, wy)
	}

	in, err = Run(context.Background(), "snippet.py", bytes.Replace(src, []byte("epochs=10"), []byte("epochs=2"), 1),
		Options{Seed: 1, SeedSet: true, Verbose: 0, VerboseSet: true})
	if err != nil {
		t.Fatal(err)
	}
	e, _ := config.Load("../examples/seed.yaml", []string{"fit.epochs=2", "fit.verbose=0"})
	r, err := config.Build(e, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	h, err := r.Model.Fit(context.Background(), r.X, r.Y, r.Fit)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in.Fits[0].History.History, h.History) {
		t.Errorf("History %v\nwant %v", in.Fits[0].History.History, h.History)
	}
}

// TestTutorialProgram: a program in the style of Keras' MNIST tutorials —
// imports, load_data, scaling, to_categorical, a function that builds the
// model, a loop over learning rates, evaluate, f-strings — runs, prints
// what Python would, and records one experiment per fit.
func TestTutorialProgram(t *testing.T) {
	src := `
import numpy as np
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras import layers

(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
x_train = x_train.astype("float32") / 255
x_test = x_test.astype("float32") / 255
x_train = np.expand_dims(x_train, -1)
x_test = np.expand_dims(x_test, -1)
print("x_train shape:", x_train.shape)
print(x_train.shape[0], "train samples")
y_train = keras.utils.to_categorical(y_train, 10)
y_test = keras.utils.to_categorical(y_test, 10)

def build_model(units=32):
    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Flatten(),
            layers.Dense(units, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    )
    return model

results = {}
for lr in [0.01, 0.03]:
    model = build_model()
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=lr), loss="categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x_train[:2000], y_train[:2000], batch_size=128, epochs=1, validation_split=0.1, verbose=0)
    best = max(history.history["val_accuracy"])
    score = model.evaluate(x_test, y_test, verbose=0)
    results[lr] = score[1]
    print(f"lr={lr}: test loss {score[0]:.4f}, accuracy {score[1]:.2%}")
print(len(results), "runs;", "best:", max(results.values()) >= 0.3)
`
	var out bytes.Buffer
	in, err := Run(context.Background(), "tutorial.py", []byte(src), Options{Out: &out, Seed: 1, SeedSet: true})
	if err != nil {
		t.Fatal(err)
	}
	// kiln convert reads the same program without training: the history
	// and evaluate results it reads are zeros of the right shape.
	dry, err := Run(context.Background(), "tutorial.py", []byte(src), Options{DryRun: true})
	if err != nil || len(dry.Fits) != 2 {
		t.Fatalf("dry run: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 5 || lines[0] != "x_train shape: (60000, 28, 28, 1)" || lines[1] != "60000 train samples" ||
		!strings.HasPrefix(lines[2], "lr=0.01: test loss ") || !strings.HasPrefix(lines[3], "lr=0.03: test loss ") || lines[4] != "2 runs; best: True" {
		t.Errorf("output:\n%s", out.String())
	}
	if len(in.Fits) != 2 {
		t.Fatalf("%d fits, want 2", len(in.Fits))
	}
	e := in.Fits[1].Experiment
	if e.Data.ScaleText != "1/255" || e.Data.Labels != "onehot" || e.Data.Limit != 2000 || e.Fit.ValidationSplit != 0.1 ||
		e.Compile.Optimizer.Args["learning_rate"] != 0.03 || e.Fit.BatchSize != 128 {
		y, _ := e.Marshal()
		t.Errorf("second fit's experiment:\n%s", y)
	}
	if got := e.Model[0].Args["shape"]; !reflect.DeepEqual(got, []any{28, 28, 1}) {
		t.Errorf("input shape %v", got)
	}
}

// TestRefusedConstructs: what kiln's reader does not run is refused at
// its position with what to do.
func TestRefusedConstructs(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"import pandas as pd\n", "p.py:1:1: ModuleNotFoundError: No module named 'pandas' in kiln's reader"},
		{"x = 1\nclass MyLayer(keras.layers.Layer):\n    pass\n", "p.py:2:1: class MyLayer: classes (custom layers, models or callbacks) are not in kiln's reader"},
		{"try:\n    x = 1\nexcept Exception:\n    pass\n", "p.py:1:1: try/except is not in kiln's reader"},
		{"print(undefined_thing)\n", "p.py:1:1: NameError: name 'undefined_thing' is not defined"},
		{"from tensorflow.keras.layers import LSTM\n", "cannot import name 'LSTM'"},
		{"import keras\nm = keras.Sequential()\nm.predict_classes(1)\n", "p.py:3:1: AttributeError: 'Sequential' object has no attribute 'predict_classes'"},
		{"import keras\nkeras.layers.Dense(10, activaton='relu')\n", "unexpected keyword argument(s) activaton"},
		{"while True:\n    pass\n", "an endless loop?"},
		{"x = (1,\n", "pysrc: p.py:"},
	} {
		_, err := Run(context.Background(), "p.py", []byte(c.src), Options{DryRun: true})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v\n  want %q", c.src, err, c.want)
		}
	}
}

// TestPyplot: matplotlib calls on a history draw with kiln's plots:
// savefig writes the named file, show writes PROGRAM_figureN.png, and each
// says where.
func TestPyplot(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	src := `
import matplotlib.pyplot as plt
from tensorflow import keras
(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
model = keras.Sequential([keras.Input(shape=(28, 28)), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
history = model.fit(x_train[:500] / 255.0, y_train[:500], epochs=3, validation_split=0.2, verbose=0)
plt.plot(history.history["loss"], label="train")
plt.plot(history.history["val_loss"], "--", label="validation")
plt.title("Loss")
plt.xlabel("epoch")
plt.legend()
plt.savefig("loss.svg")
plt.figure()
plt.plot([1, 2, 3], history.history["accuracy"])
plt.show()
`
	var notes bytes.Buffer
	if _, err := Run(context.Background(), "plots.py", []byte(src), Options{Notes: &notes}); err != nil {
		t.Fatal(err)
	}
	svg, err := os.ReadFile("loss.svg")
	if err != nil || !bytes.Contains(svg, []byte("<svg")) || !bytes.Contains(svg, []byte("validation")) {
		t.Errorf("loss.svg: %v, %d bytes", err, len(svg))
	}
	png, err := os.ReadFile("plots_figure1.png")
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Errorf("plots_figure1.png: %v", err)
	}
	if !strings.Contains(notes.String(), "drew the figure to loss.svg") || !strings.Contains(notes.String(), "drew the figure to plots_figure1.png") {
		t.Errorf("notes:\n%s", notes.String())
	}
}
