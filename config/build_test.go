package config

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/data"
	"github.com/kiln-ml/kiln/datasets/mnist"
)

// toyDir writes one small 3-class dataset in every format the data section
// reads: npz, npy pairs and csv.
func toyDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	const n = 90
	x := make([]float32, n*4)
	xb := make([]uint8, n*4)
	y := make([]int64, n)
	var csv strings.Builder
	csv.WriteString("a,b,c,d,label\n")
	for i := 0; i < n; i++ {
		y[i] = int64(i % 3)
		for j := 0; j < 4; j++ {
			v := uint8((i*7 + j*31) % 256)
			xb[i*4+j] = v
			x[i*4+j] = float32(v)
			fmt.Fprintf(&csv, "%d,", v)
		}
		fmt.Fprintf(&csv, "%d\n", y[i])
	}
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	xa, ya := data.NewUint8(xb, n, 4), data.NewInt64(y, n)
	must(data.WriteNPZ(filepath.Join(dir, "d.npz"), []string{"x_train", "y_train", "x_test", "y_test"},
		map[string]*data.Array{"x_train": xa, "y_train": ya, "x_test": xa.Slice(0, 30), "y_test": ya.Slice(0, 30)}))
	must(data.WriteNPY(filepath.Join(dir, "x.npy"), data.NewFloat32(x, n, 4)))
	must(data.WriteNPY(filepath.Join(dir, "y.npy"), ya))
	must(os.WriteFile(filepath.Join(dir, "d.csv"), []byte(csv.String()), 0o644))
	return dir
}

func buildToy(t *testing.T, dir, dataSection, loss string) (*Run, error) {
	t.Helper()
	src := "seed: 2\ndata:\n" + dataSection + `
model:
  - Input: {shape: [4]}
  - Dense: {units: 3, activation: softmax}
compile:
  optimizer: sgd
  loss: ` + loss + `
  metrics: [accuracy]
fit:
  epochs: 1
  verbose: 0
`
	path := filepath.Join(dir, "e.yaml")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	e, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return Build(e, io.Discard)
}

func TestBuildReadsEveryDataSource(t *testing.T) {
	dir := toyDir(t)
	sources := map[string]string{
		"npz": "  npz: d.npz\n  labels: onehot\n  scale: 1/255\n",
		"npy": "  train: {x: x.npy, y: y.npy}\n  labels: onehot\n  scale: 1/255\n",
		"csv": "  csv: {train: d.csv, label: label}\n  labels: onehot\n  scale: 1/255\n",
	}
	var first []float32
	for name, src := range sources {
		r, err := buildToy(t, dir, src, "categorical_crossentropy")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if r.X.Rows() != 90 || r.Y.Shape[1] != 3 || r.Y.At(3+1) != 1 {
			t.Fatalf("%s: x %v y %v", name, r.X.Shape, r.Y.Shape)
		}
		// Every source gives the same scaled batch.
		got := make([]float32, 8)
		r.X.GatherRows(got, []int{5, 6})
		if first == nil {
			first = got
		}
		for i := range got {
			if got[i] != first[i] {
				t.Errorf("%s: scaled rows %v differ from %v", name, got, first)
				break
			}
		}
		if got[1] != float32(float64((5*7+31)%256)/255) {
			t.Errorf("%s: scale 1/255 gives %v", name, got[1])
		}
		if _, err := r.Model.Fit(context.Background(), r.X, r.Y, r.Fit); err != nil {
			t.Errorf("%s: fit: %v", name, err)
		}
	}
}

func TestBuildLabelsLimitAndValidation(t *testing.T) {
	dir := toyDir(t)
	r, err := buildToy(t, dir, "  npz: d.npz\n  labels: int\n  limit: 40\n  validation_limit: 10\n", "sparse_categorical_crossentropy")
	if err != nil {
		t.Fatal(err)
	}
	if r.X.Rows() != 40 || r.Test.X.Rows() != 10 || len(r.Y.Shape) != 1 {
		t.Errorf("limit: x %v, test %v, y %v", r.X.Shape, r.Test.X.Shape, r.Y.Shape)
	}
	// Integer labels with categorical_crossentropy fail in Fit with Keras'
	// message and the fix, as an input error.
	r, err = buildToy(t, dir, "  npz: d.npz\n  labels: int\n", "categorical_crossentropy")
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Model.Fit(context.Background(), r.X, r.Y, r.Fit)
	if !kiln.IsInputError(err) || !strings.Contains(err.Error(), "Shapes (None, 1) and (None, 3) are incompatible") {
		t.Errorf("int labels + CCE: %v", err)
	}
}

func TestBuildErrorsNameTheKey(t *testing.T) {
	dir := toyDir(t)
	os.WriteFile(filepath.Join(dir, "trunc.npy"), []byte("\x93NUMPY\x01\x00"), 0o644)
	cases := map[string]string{
		"  npz: missing.npz\n":                         "data.npz",
		"  train: {x: trunc.npy, y: y.npy}\n":          "data.train.x",
		"  csv: {train: d.csv, label: nope}\n":         "nope",
		"  npz: d.npz\n  labels: onehot\n  limit: 5\n": "",
	}
	for src, want := range cases {
		_, err := buildToy(t, dir, src, "categorical_crossentropy")
		if want == "" {
			if err != nil {
				t.Errorf("%q: %v", src, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want) || !kiln.IsInputError(err) {
			t.Errorf("%q: err %v, want an input error naming %q", src, err, want)
		}
	}
}

// TestBuildSharesMNISTLabels: building the MNIST experiment twice (as a
// sweep or explain does) reuses the one-hot labels, per data.limit, and
// never shares labels made from files.
func TestBuildSharesMNISTLabels(t *testing.T) {
	if _, err := mnist.Locate(); err != nil {
		t.Skip(err)
	}
	build := func(sets ...string) *Run {
		t.Helper()
		e, err := Load("../examples/seed.yaml", sets)
		if err != nil {
			t.Fatal(err)
		}
		r, err := Build(e, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	a, b := build(), build("compile.optimizer.learning_rate=0.03")
	if a.Y != b.Y || a.Test.Y != b.Test.Y {
		t.Error("two builds of the MNIST experiment made separate one-hot labels")
	}
	if a.Y.Rows() != 60000 || a.Y.Shape[1] != 10 || a.Y.At(5*10+2) != 1 || a.Test.Y.At(0*10+7) != 1 {
		t.Errorf("one-hot labels wrong: shape %v, row 5 class %d, test row 0 class %d", a.Y.Shape, a.Y.ClassOf(5), a.Test.Y.ClassOf(0))
	}
	c := build("data.limit=1000")
	if c.Y == a.Y || c.Y.Rows() != 1000 {
		t.Errorf("data.limit=1000 got the full labels (%d rows)", c.Y.Rows())
	}

	dir := toyDir(t)
	r1, err := buildToy(t, dir, "  npz: d.npz\n  labels: onehot\n", "categorical_crossentropy")
	if err != nil {
		t.Fatal(err)
	}
	r2, err := buildToy(t, dir, "  npz: d.npz\n  labels: onehot\n", "categorical_crossentropy")
	if err != nil {
		t.Fatal(err)
	}
	if r1.Y == r2.Y {
		t.Error("labels read from a file were shared between builds")
	}
}

// TestBuildConvLayers: Conv2D and MaxPooling2D from an experiment file, with
// Keras' integer-or-pair arguments, grey images given their channel axis,
// and clear errors.
func TestBuildConvLayers(t *testing.T) {
	if _, err := mnist.Locate(); err != nil {
		t.Skip(err)
	}
	e, err := Load("../examples/cnn.yaml", []string{"data.limit=64", "data.validation_limit=32",
		"model.1.Conv2D.kernel_size=[3, 5]", "model.1.Conv2D.strides=2", "model.1.Conv2D.padding=same", "model.2.MaxPooling2D.strides=[1, 1]"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := Build(e, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(r.Model.Layers()[0].OutputShape(), r.Model.Layers()[1].OutputShape()); got != "[14 14 32] [13 13 32]" {
		t.Errorf("conv/pool output shapes %s, want [14 14 32] [13 13 32]", got)
	}
	if fmt.Sprint(r.X.Shape) != "[64 28 28 1]" {
		t.Errorf("x shape %v, want the channel axis added", r.X.Shape)
	}
	r.Fit.Verbose = 0
	h, err := r.Model.Fit(context.Background(), r.X, r.Y, r.Fit)
	if err != nil || len(h.Epoch) != 3 {
		t.Fatalf("fit: %v", err)
	}
	for _, c := range []struct{ set, want string }{
		{"model.1.Conv2D.kernel_size=[3, 3, 3]", "kernel_size must be an integer or a list of two integers"},
		{"model.1.Conv2D.filters=0", "Conv2D: filters must be a positive integer, got 0"},
		{"model.1.Conv2D.padding=full", "padding"},
		{"model.1.Conv2D.kernel_size=40", "kernel"},
		{"model.0.Input.shape=[784]", "Conv2D"},
	} {
		e, err := Load("../examples/cnn.yaml", []string{c.set})
		if err == nil {
			_, err = BuildModel(e, io.Discard)
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("--set %s: %v; want an error containing %q", c.set, err, c.want)
		}
	}
	// A model whose output is not flat cannot compile.
	e, err = Load("../examples/cnn.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	e.Model = e.Model[:3]
	if _, err := BuildModel(e, io.Discard); err == nil || !strings.Contains(err.Error(), "is not flat") {
		t.Errorf("conv output: %v", err)
	}
}

// TestOneHotWiderThanClasses: a 32-unit output on MNIST's 10 classes is
// refused, as Keras' shape check refuses to_categorical(y)'s 10 columns.
//
// Catches: one-hot labels made as wide as the output (training 22 units
// the data never names, silently).
func TestOneHotWiderThanClasses(t *testing.T) {
	if _, err := mnist.Locate(); err != nil {
		t.Skip("no MNIST files:", err)
	}
	e, err := Load("../examples/seed.yaml", []string{"model.2.Dense.units=32", "data.limit=100"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Build(e, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "the training labels have 10 classes (0..9) but the output layer has 32 units") || !strings.Contains(err.Error(), "data.labels") {
		t.Errorf("error %v", err)
	}
	e, _ = Load("../examples/seed.yaml", []string{"data.limit=100"})
	if _, err := Build(e, io.Discard); err != nil {
		t.Errorf("10 units: %v", err)
	}
}

// TestWarningsAfterErrors: a run that stops on a data error prints the
// error alone, not the model's warnings before it; a run that goes on
// prints them.
//
// Catches: compile warnings written while the model is built, before the
// data is loaded.
func TestWarningsAfterErrors(t *testing.T) {
	if _, err := mnist.Locate(); err != nil {
		t.Skip("no MNIST files:", err)
	}
	var warn strings.Builder
	e, _ := Load("../examples/seed.yaml", []string{"data.dataset=", "data.npz=nothere.npz"})
	if _, err := Build(e, &warn); err == nil || warn.Len() != 0 {
		t.Errorf("error %v, warnings before it: %q", err, warn.String())
	}
	e, _ = Load("../examples/seed.yaml", []string{"data.limit=100"})
	if _, err := Build(e, &warn); err != nil || !strings.Contains(warn.String(), "uses sigmoid with categorical_crossentropy") {
		t.Errorf("error %v, warnings %q", err, warn.String())
	}
}

// TestFirstLayerInputShape: Keras 2's input_shape (input_dim,
// batch_input_shape) on the first layer declares the model's input in an
// experiment file too; without it the error shows both ways.
func TestFirstLayerInputShape(t *testing.T) {
	for _, first := range []string{"Flatten: {input_shape: [28, 28]}", "Flatten: {batch_input_shape: [null, 28, 28]}"} {
		src := "data: {dataset: mnist}\nmodel:\n  - " + first + "\n  - Dense: {units: 10, activation: softmax}\ncompile: {optimizer: sgd, loss: categorical_crossentropy}\n"
		e, err := Parse([]byte(src), "m.yaml", nil)
		if err != nil {
			t.Fatal(err)
		}
		m, err := BuildModel(e, io.Discard)
		if err != nil {
			t.Errorf("%s: %v", first, err)
			continue
		}
		if got := m.InputShape(); len(got) != 2 || got[0] != 28 || m.CountParams() != 7850 {
			t.Errorf("%s: input %v, %d params", first, got, m.CountParams())
		}
	}
	src := "data: {dataset: mnist}\nmodel:\n  - Dense: {units: 10, input_dim: 784}\ncompile: {optimizer: sgd, loss: mse}\n"
	e, _ := Parse([]byte(src), "m.yaml", nil)
	if m, err := BuildModel(e, io.Discard); err != nil || m.InputShape()[0] != 784 {
		t.Errorf("input_dim: %v", err)
	}
	src = "data: {dataset: mnist}\nmodel:\n  - Dense: {units: 10}\ncompile: {optimizer: sgd, loss: mse}\n"
	e, _ = Parse([]byte(src), "m.yaml", nil)
	if _, err := BuildModel(e, io.Discard); err == nil || !strings.Contains(err.Error(), "must start with an Input") || !strings.Contains(err.Error(), "input_shape") {
		t.Errorf("no input: %v", err)
	}
}

// TestMissingRelativePathSaysWhere: a relative data path that does not
// exist says that relative paths (in --set values too) resolve against the
// experiment file's directory.
func TestMissingRelativePathSaysWhere(t *testing.T) {
	e, err := Load("../examples/seed.yaml", []string{"data.dataset=", "data.npz=nothere.npz"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Build(e, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "relative paths, in the file and in --set values, resolve against the experiment file's directory ../examples") {
		t.Errorf("error %v", err)
	}
}
