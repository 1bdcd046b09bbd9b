package saving

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/config"
	"github.com/kiln-ml/kiln/data"
	"github.com/kiln-ml/kiln/layers"
	"github.com/kiln-ml/kiln/optimizers"
	"github.com/kiln-ml/kiln/safetensors"
)

// toyExperiment is a 3-class problem on (2, 3) inputs, with a data.scale so
// that the tests see it applied. %s is the data section's source.
const toyExperiment = `seed: 3
data:
  npz: %s
  scale: "1/4"
  labels: onehot
model:
  - Input: {shape: [2, 3]}
  - Flatten: {}
  - Dense: {units: 8, activation: relu}
  - BatchNormalization: {}
  - Dense: {units: 3, activation: softmax}
compile:
  optimizer: {name: adam, learning_rate: 0.01}
  loss: categorical_crossentropy
  metrics: [accuracy]
fit:
  batch_size: 16
  epochs: 2
  validation_data: test
`

// toyData returns n samples of the toy problem: x (n, 2, 3) float32 in raw
// units (4× what the model sees), y class indices.
func toyData(rng *rand.Rand, n int) (*data.Array, *data.Array) {
	x := make([]float32, n*6)
	y := make([]int64, n)
	for i := range n {
		c := rng.IntN(3)
		y[i] = int64(c)
		for j := range 6 {
			x[i*6+j] = 4 * (float32(rng.NormFloat64()*0.3) + float32(c*(j%3)))
		}
	}
	return data.NewFloat32(x, n, 2, 3), data.NewInt64(y, n)
}

// trained writes the toy data and experiment into a new temporary folder,
// trains the model and returns the run (its experiment's data path is
// relative, "toy.npz").
func trained(t testing.TB) *config.Run {
	t.Helper()
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	xt, yt := toyData(rng, 160)
	xv, yv := toyData(rng, 40)
	if err := data.WriteNPZ(filepath.Join(dir, "toy.npz"), []string{"x_train", "y_train", "x_test", "y_test"},
		map[string]*data.Array{"x_train": xt, "y_train": yt, "x_test": xv, "y_test": yv}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "toy.yaml")
	if err := os.WriteFile(path, []byte(strings.Replace(toyExperiment, "%s", "toy.npz", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	e, err := config.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := config.Build(e, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Model.Fit(context.Background(), r.X, r.Y, r.Fit); err != nil {
		t.Fatal(err)
	}
	return r
}

// saved trains the toy model and saves it into a new folder, returned.
func saved(t testing.TB) (string, *config.Run) {
	t.Helper()
	r := trained(t)
	dir := filepath.Join(t.TempDir(), "model")
	if err := Save(dir, r.Model, r.Exp, nil); err != nil {
		t.Fatal(err)
	}
	return dir, r
}

func sameBits(t *testing.T, what string, got, want *data.Array) {
	t.Helper()
	if !reflect.DeepEqual(got.Shape, want.Shape) || got.DType != data.Float32 || want.DType != data.Float32 {
		t.Fatalf("%s: shape %v %s, want %v %s", what, got.Shape, got.DType, want.Shape, want.DType)
	}
	for i := range got.Len() {
		g, w := float32(got.At(i)), float32(want.At(i))
		if math.Float32bits(g) != math.Float32bits(w) {
			t.Fatalf("%s: value %d is %v, want %v (bit for bit)", what, i, g, w)
		}
	}
}

// TestRoundTrip: what Save writes, Load gives back: the same predictions bit
// for bit, the same experiment (data paths made absolute), and the files
// other tools read.
func TestRoundTrip(t *testing.T) {
	dir, r := saved(t)
	ctx := context.Background()
	raw, _ := toyData(rand.New(rand.NewPCG(7, 8)), 25)
	want, err := r.Model.Predict(ctx, raw.WithScale(0.25), kiln.EvaluateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	s, err := Load(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Predict(ctx, raw, kiln.EvaluateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sameBits(t, "Saved.Predict after Load", got, want)
	direct, err := s.Model.Predict(ctx, raw.WithScale(0.25), kiln.EvaluateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sameBits(t, "loaded Model.Predict", direct, want)
	if !reflect.DeepEqual(s.Model.GetWeights(), r.Model.GetWeights()) {
		t.Error("the loaded weights differ from the saved ones")
	}

	// Predict's other input layouts: flattened rows, one sample.
	flat, err := s.Predict(ctx, raw.Reshaped([]int{25, 6}), kiln.EvaluateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sameBits(t, "Predict on rows", flat, want)
	one, err := s.Predict(ctx, raw.Slice(0, 1).Reshaped([]int{2, 3}), kiln.EvaluateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sameBits(t, "Predict on one sample", one, want.Slice(0, 1))

	// The experiment, with the data path made absolute.
	wantExp := *r.Exp
	wantExp.Data.NPZ = filepath.Join(filepath.Dir(r.Exp.Path), "toy.npz")
	if !filepath.IsAbs(s.Experiment.Data.NPZ) {
		t.Errorf("saved data path %q is not absolute", s.Experiment.Data.NPZ)
	}
	a, _ := wantExp.Marshal()
	b, _ := s.Experiment.Marshal()
	if !bytes.Equal(a, b) {
		t.Errorf("loaded experiment:\n%s\nwant:\n%s", b, a)
	}
	if s.Experiment.Path != filepath.Join(dir, ExperimentFile) || s.Dir != dir {
		t.Errorf("Path %q, Dir %q", s.Experiment.Path, s.Dir)
	}
	if s.Metadata.FormatVersion != FormatVersion || s.Metadata.KilnVersion == "" {
		t.Errorf("metadata %+v", s.Metadata)
	}

	// config.json reads back as the model's layers; model.onnx is the
	// export of the loaded model; no temporary files are left.
	cfg, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	layers, err := config.KerasModel(cfg, ConfigFile)
	if err != nil || len(layers) != len(r.Exp.Model) {
		t.Errorf("config.json imports as %d layers (%v), want %d", len(layers), err, len(r.Exp.Model))
	}
	onnxPath := filepath.Join(t.TempDir(), "m.onnx")
	if err := s.ExportONNX(onnxPath, 0); err != nil {
		t.Fatal(err)
	}
	o1, _ := os.ReadFile(onnxPath)
	o2, err := os.ReadFile(filepath.Join(dir, ONNXFile))
	if err != nil || !bytes.Equal(o1, o2) || !bytes.Contains(o2, []byte("Mul")) {
		t.Errorf("model.onnx (%d bytes, %v) is not the loaded model's export (%d bytes) with the scale", len(o2), err, len(o1))
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{ConfigFile, ExperimentFile, MetadataFile, ONNXFile, WeightsFile}; !reflect.DeepEqual(names, want) {
		t.Errorf("the folder holds %v, want %v", names, want)
	}
}

// TestLoadData: the run LoadData returns holds the loaded model and the
// test split, and evaluates as the trained model does.
func TestLoadData(t *testing.T) {
	dir, r := saved(t)
	s, err := Load(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	lr, err := s.LoadData()
	if err != nil {
		t.Fatal(err)
	}
	if lr.Model != s.Model || lr.Test == nil || lr.Test.X.Rows() != 40 {
		t.Fatalf("LoadData: model %p (loaded %p), test %v", lr.Model, s.Model, lr.Test)
	}
	ctx := context.Background()
	got, err := lr.Model.Evaluate(ctx, lr.Test.X, lr.Test.Y, kiln.EvaluateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want, err := r.Model.Evaluate(ctx, r.Test.X, r.Test.Y, kiln.EvaluateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Values, want.Values) {
		t.Errorf("evaluate after load %v, before %v", got.Values, want.Values)
	}
	// A loaded model saves again, and loads back the same.
	again := filepath.Join(t.TempDir(), "again")
	if err := Save(again, lr.Model, lr.Exp, nil); err != nil {
		t.Fatal(err)
	}
	s2, err := Load(again, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s2.Model.GetWeights(), r.Model.GetWeights()) || s2.Experiment.Data.NPZ != s.Experiment.Data.NPZ {
		t.Errorf("saved again: data %q, was %q, or other weights", s2.Experiment.Data.NPZ, s.Experiment.Data.NPZ)
	}
}

// TestLoadOptions: overrides reach the experiment, Weights replaces the
// folder's weights file, Warnings gets the compile warnings.
func TestLoadOptions(t *testing.T) {
	dir, r := saved(t)
	other := filepath.Join(t.TempDir(), "w.safetensors")
	w := r.Model.GetWeights()
	for i := range w[0] {
		w[0][i] = 0.5
	}
	if err := r.Model.SetWeights(w); err != nil {
		t.Fatal(err)
	}
	if err := r.Model.SaveWeights(other); err != nil {
		t.Fatal(err)
	}
	var warn bytes.Buffer
	s, err := Load(dir, &LoadOptions{Overrides: []string{"fit.epochs=7", "model.4.Dense.activation=sigmoid"}, Weights: other, Warnings: &warn})
	if err != nil {
		t.Fatal(err)
	}
	if s.Experiment.Fit.Epochs != 7 || s.Model.GetWeights()[0][0] != 0.5 {
		t.Errorf("epochs %d, first weight %v: the options were not applied", s.Experiment.Fit.Epochs, s.Model.GetWeights()[0][0])
	}
	if !strings.Contains(warn.String(), "sigmoid") {
		t.Errorf("warnings %q, want the sigmoid/categorical_crossentropy warning", warn.String())
	}
	if _, err := Load(dir, &LoadOptions{Overrides: []string{"model.2.Dense.units=9"}}); err == nil || !strings.Contains(err.Error(), `check the overrides ["model.2.Dense.units=9"]`) {
		t.Errorf("an override that changes the shapes: %v", err)
	}
	if _, err := Load(dir, &LoadOptions{Overrides: []string{"fit.epochs=ten"}}); err == nil || !strings.Contains(err.Error(), "experiment.yaml") || !strings.Contains(err.Error(), "fit.epochs") {
		t.Errorf("a bad override: %v", err)
	}
}

// TestLoadErrors: each broken folder gets an error that names the folder or
// file and says what to do.
func TestLoadErrors(t *testing.T) {
	good, _ := saved(t)
	// broken copies the good folder, then lets f break the copy.
	broken := func(f func(dir string)) string {
		dir := filepath.Join(t.TempDir(), "model")
		if err := os.CopyFS(dir, os.DirFS(good)); err != nil {
			t.Fatal(err)
		}
		f(dir)
		return dir
	}
	write := func(dir, name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	remove := func(dir, name string) {
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	// Weights of another model: 9 hidden units instead of 8.
	wrongShapes := broken(func(dir string) {
		e, err := config.Parse([]byte(strings.Replace(strings.Replace(toyExperiment, "%s", "x.npz", 1), "units: 8", "units: 9", 1)), "other.yaml", nil)
		if err != nil {
			t.Fatal(err)
		}
		m, err := config.BuildModel(e, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.SaveWeights(filepath.Join(dir, WeightsFile)); err != nil {
			t.Fatal(err)
		}
	})
	aFile := filepath.Join(good, ConfigFile)
	cases := []struct {
		name, dir string
		want      []string
	}{
		{"missing folder", filepath.Join(good, "nope"), []string{"nope: no such folder", "kiln fit --save DIR"}},
		{"a file", aFile, []string{aFile + " is a file, not a saved-model folder"}},
		{"empty folder", t.TempDir(), []string{"is not a kiln saved model: it has no experiment.yaml; save one with kiln fit --save"}},
		{"no weights", broken(func(d string) { remove(d, WeightsFile) }), []string{"has no model.safetensors (an interrupted save?); save it again with kiln fit --save"}},
		{"truncated weights", broken(func(d string) {
			b, _ := os.ReadFile(filepath.Join(d, WeightsFile))
			write(d, WeightsFile, string(b[:len(b)/2]))
		}), []string{WeightsFile, "save the model again"}},
		{"garbage weights", broken(func(d string) { write(d, WeightsFile, "not safetensors at all") }), []string{WeightsFile, "save the model again"}},
		{"wrong shapes", wrongShapes, []string{WeightsFile, `"dense/kernel" has shape [6 9]`, "different model"}},
		{"bad experiment", broken(func(d string) { write(d, ExperimentFile, "seed: [\n") }), []string{ExperimentFile}},
		{"future version", broken(func(d string) { write(d, MetadataFile, `{"format_version": 2, "kiln_version": "v9.0.0"}`) }),
			[]string{MetadataFile, "saved by kiln v9.0.0 in format version 2", "reads versions up to 1: upgrade kiln"}},
		{"damaged metadata", broken(func(d string) { write(d, MetadataFile, `{"format_version": 1`) }), []string{MetadataFile, "damaged"}},
		{"metadata without version", broken(func(d string) { write(d, MetadataFile, `{}`) }), []string{MetadataFile, "no format_version"}},
		{"version zero", broken(func(d string) { write(d, MetadataFile, `{"format_version": 0}`) }), []string{MetadataFile, "format_version is 0"}},
		{"fractional version", broken(func(d string) { write(d, MetadataFile, `{"format_version": 1.5}`) }), []string{MetadataFile, "format_version is 1.5"}},
	}
	for _, c := range cases {
		s, err := Load(c.dir, nil)
		if err == nil {
			t.Errorf("%s: loaded %v", c.name, s)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", c.name, err, w)
			}
		}
		missing := c.name == "missing folder" || c.name == "empty folder" || c.name == "no weights"
		if errors.Is(err, fs.ErrNotExist) != missing {
			t.Errorf("%s: errors.Is(err, fs.ErrNotExist) = %v", c.name, !missing)
		}
		if strings.Contains(err.Error(), "no such file or directory") {
			t.Errorf("%s: error %q repeats the system's", c.name, err)
		}
	}
}

// TestLoadWithoutMetadata: a folder saved before the format had a version
// (no metadata.json, no model.onnx) is format 1 and loads.
func TestLoadWithoutMetadata(t *testing.T) {
	dir, r := saved(t)
	for _, f := range []string{MetadataFile, ONNXFile, ConfigFile} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	s, err := Load(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s.Metadata, Metadata{FormatVersion: 1}) || !reflect.DeepEqual(s.Model.GetWeights(), r.Model.GetWeights()) {
		t.Errorf("metadata %+v, or the weights differ", s.Metadata)
	}
}

// TestSaveOverwrites: saving into an earlier save's folder replaces its
// files, and a model without an ONNX form leaves no model.onnx behind.
func TestSaveOverwrites(t *testing.T) {
	dir, r := saved(t)
	ctx := context.Background()
	if _, err := r.Model.Fit(ctx, r.X, r.Y, r.Fit); err != nil { // two more epochs
		t.Fatal(err)
	}
	// model.onnx cannot be written where an (empty) folder stands: the
	// warning path, which must remove what is there.
	if err := os.Remove(filepath.Join(dir, ONNXFile)); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, ONNXFile), 0o755); err != nil {
		t.Fatal(err)
	}
	var warn bytes.Buffer
	if err := Save(dir, r.Model, r.Exp, &Options{Warnings: &warn}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(warn.String(), "kiln: warning: saved "+dir+" without model.onnx") {
		t.Errorf("warnings %q", warn.String())
	}
	if _, err := os.Stat(filepath.Join(dir, ONNXFile)); err == nil {
		t.Error("model.onnx is still there")
	}
	s, err := Load(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s.Model.GetWeights(), r.Model.GetWeights()) {
		t.Error("the folder holds the earlier weights")
	}
}

// TestSaveRefuses: a model its experiment does not describe, a missing
// experiment and a folder path that is a file are refused, and nothing is
// written.
func TestSaveRefuses(t *testing.T) {
	r := trained(t)
	other, err := config.Parse([]byte(strings.Replace(strings.Replace(toyExperiment, "%s", "x.npz", 1), "activation: relu", "activation: tanh", 1)), "other.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "model")
	if err := Save(dir, r.Model, other, nil); err == nil || !strings.Contains(err.Error(), "not the one its experiment describes") || !strings.Contains(err.Error(), `"activation":"tanh"`) {
		t.Errorf("a model saved with another experiment: %v", err)
	}
	if err := Save(dir, r.Model, nil, nil); err == nil || !strings.Contains(err.Error(), "both required") {
		t.Errorf("no experiment: %v", err)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Error("a refused save created the folder")
	}
	file := filepath.Join(t.TempDir(), "f")
	os.WriteFile(file, nil, 0o644)
	if err := Save(file, r.Model, r.Exp, nil); err == nil || !strings.Contains(err.Error(), "is a file, not a folder") {
		t.Errorf("a file as the folder: %v", err)
	}
}

func TestParseMetadata(t *testing.T) {
	m, err := parseMetadata([]byte(`{"format_version": 1, "kiln_version": "v0.3.0", "saved_by": "a later kiln"}`), "m.json")
	if err != nil || !reflect.DeepEqual(m, Metadata{FormatVersion: 1, KilnVersion: "v0.3.0"}) {
		t.Errorf("got %+v, %v", m, err)
	}
	for _, bad := range []string{``, `null`, `[]`, `{"format_version": "x"}`, `{"format_version": -1}`, `{"format_version": 1e400}`, `{"format_version": 1, "kiln_version": 3}`} {
		if m, err := parseMetadata([]byte(bad), "m.json"); err == nil {
			t.Errorf("%s: accepted as %+v", bad, m)
		} else if !strings.HasPrefix(err.Error(), "m.json: ") {
			t.Errorf("%s: error %q does not name the file", bad, err)
		}
	}
}

// FuzzParseMetadata: any bytes give metadata of a version this package
// reads, which writes and reads back the same, or an error naming the file.
func FuzzParseMetadata(f *testing.F) {
	for _, s := range []string{`{"format_version": 1, "kiln_version": "devel"}`, `{"format_version": 2}`, `{}`, `{"format_version": 1.0}`, `{"format_version": "1"}`, `[1]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseMetadata(b, "metadata.json")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "metadata.json: ") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		if m.FormatVersion < 1 || m.FormatVersion > FormatVersion {
			t.Fatalf("accepted format version %d", m.FormatVersion)
		}
		out, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		back, err := parseMetadata(out, "metadata.json")
		if err != nil || !reflect.DeepEqual(back, m) {
			t.Fatalf("%s reads back as %+v, %v; want %+v", out, back, err, m)
		}
	})
}

// TestWeightsFileIsSafetensors: the weights file is plain safetensors with
// Keras' variable names, which other tools read.
func TestWeightsFileIsSafetensors(t *testing.T) {
	dir, r := saved(t)
	ts, _, err := safetensors.ReadFile(filepath.Join(dir, WeightsFile))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, x := range ts {
		names = append(names, x.Name)
	}
	if len(ts) != len(r.Model.Weights()) || !strings.Contains(strings.Join(names, " "), "dense/kernel") {
		t.Errorf("tensors %v", names)
	}
}

// TestPredictGreyImages: grey images (N, h, w) fill an Input (h, w, 1) in
// Predict as they do in fit.
//
// Catches: predict refusing the shape fit takes.
func TestPredictGreyImages(t *testing.T) {
	m := kiln.NewSequential(layers.NewInput(2, 3, 1), layers.NewFlatten(), layers.MustNewDense(2, layers.WithActivation("softmax")))
	if err := m.Compile(kiln.CompileOptions{Optimizer: optimizers.NewSGD(0.1), Loss: "categorical_crossentropy", Seed: 3}); err != nil {
		t.Fatal(err)
	}
	s := &Saved{Model: m, Experiment: &config.Experiment{}}
	vals := make([]float32, 4*6)
	for i := range vals {
		vals[i] = float32(i%5) / 4
	}
	ctx := context.Background()
	want, err := s.Predict(ctx, data.NewFloat32(vals, 4, 2, 3, 1), kiln.EvaluateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Predict(ctx, data.NewFloat32(vals, 4, 2, 3), kiln.EvaluateOptions{})
	if err != nil {
		t.Fatalf("grey images: %v", err)
	}
	sameBits(t, "Predict on grey images", got, want)
}

// TestLoadDetectsDamagedWeights: a flipped bit in the weights file (still
// a valid safetensors file of the right shapes) is caught by the checksum
// the metadata records.
//
// Catches: loading damaged weights silently.
func TestLoadDetectsDamagedWeights(t *testing.T) {
	dir, _ := saved(t)
	path := filepath.Join(dir, WeightsFile)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-3] ^= 0x10 // a value's bit, past the header
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load(dir, nil)
	if err == nil || !strings.Contains(err.Error(), "damaged") || !strings.Contains(err.Error(), "model.safetensors") {
		t.Errorf("error %v", err)
	}
}
