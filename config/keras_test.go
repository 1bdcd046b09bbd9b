package config

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// kerasSeed is the question's model as tf.keras 2.x's model.to_json()
// writes it (InputLayer with batch_input_shape).
const kerasSeed = `{"class_name": "Sequential", "config": {"name": "sequential", "layers": [
 {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 28, 28], "dtype": "float32", "sparse": false, "ragged": false, "name": "input_1"}},
 {"class_name": "Flatten", "config": {"name": "flatten", "trainable": true, "dtype": "float32", "data_format": "channels_last"}},
 {"class_name": "Dense", "config": {"name": "dense", "trainable": true, "dtype": "float32", "units": 10, "activation": "sigmoid", "use_bias": true,
  "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": null}}, "bias_initializer": {"class_name": "Zeros", "config": {}},
  "kernel_regularizer": null, "bias_regularizer": null, "activity_regularizer": null, "kernel_constraint": null, "bias_constraint": null}}]},
 "keras_version": "2.13.1", "backend": "tensorflow"}`

func TestKerasModelSeed(t *testing.T) {
	got, err := KerasModel([]byte(kerasSeed), "seed.json")
	if err != nil {
		t.Fatal(err)
	}
	want := []LayerSpec{
		{Type: "Input", Args: map[string]any{"shape": []any{28, 28}}},
		{Type: "Flatten", Args: map[string]any{"name": "flatten"}},
		{Type: "Dense", Args: map[string]any{"name": "dense", "units": 10, "activation": "sigmoid"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v\nwant %#v", got, want)
	}
}

// TestExperimentWithKerasModel: "model: FILE.json" in an experiment file
// builds the same model as the layers written out.
func TestExperimentWithKerasModel(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "seed_model.json"), []byte(kerasSeed), 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("../examples/seed.yaml")
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(src), "model:\n")
	j := strings.Index(string(src), "compile:\n")
	exp := string(src[:i]) + "model: seed_model.json\n" + string(src[j:])
	path := filepath.Join(dir, "exp.yaml")
	os.WriteFile(path, []byte(exp), 0o644)
	e, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := Load("../examples/seed.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	m1, err := BuildModel(e, nil)
	if err != nil {
		t.Fatal(err)
	}
	m2, err := BuildModel(ref, nil)
	if err != nil {
		t.Fatal(err)
	}
	var s1, s2 strings.Builder
	m1.Summary(&s1)
	m2.Summary(&s2)
	if s1.String() != s2.String() {
		t.Errorf("summaries differ:\n%s\n%s", s1.String(), s2.String())
	}
	// A missing file is an error on the model line, naming the file.
	os.Remove(filepath.Join(dir, "seed_model.json"))
	_, err = Load(path, nil)
	if err == nil || !strings.Contains(err.Error(), "seed_model.json") || !strings.Contains(err.Error(), "model") {
		t.Errorf("missing model file: %v", err)
	}
}

func TestKerasModelErrors(t *testing.T) {
	dense := func(extra string) string {
		return `{"class_name": "Sequential", "config": {"layers": [{"class_name": "Dense", "config": {"name": "d", "units": 3, "batch_input_shape": [null, 4]` + extra + `}}]}}`
	}
	for _, c := range []struct{ src, want string }{
		{`[1, 2]`, "expected a JSON object"},
		{`{"class_name": "Sequential"`, "not valid JSON"},
		{`{"class_name": "Functional", "config": {}}`, "functional API"},
		{`{"config": {}}`, "no class_name"},
		{`{"class_name": "Sequential", "config": {"layers": []}}`, "no layers"},
		{`{"class_name": "Sequential", "config": {"layers": [{"class_name": "Conv2D", "config": {"name": "conv", "batch_input_shape": [null, 28, 28, 1]}}]}}`, `layer 0 (Conv2D "conv"): kiln has no Conv2D layer`},
		{`{"class_name": "Sequential", "config": {"layers": [{"class_name": "Dense", "config": {"units": 3}}]}}`, "does not say its input shape"},
		{dense(`, "kernel_regularizer": {"class_name": "L2", "config": {"l2": 0.01}}`), "kernel_regularizer is set"},
		{dense(`, "kernel_initializer": {"class_name": "HeNormal", "config": {"seed": null}}`), "kernel_initializer is"},
		{dense(`, "kernel_initializer": {"class_name": "VarianceScaling", "config": {"scale": 2, "mode": "fan_in", "distribution": "truncated_normal"}}`), "kiln initialises with glorot_uniform"},
		{dense(`, "trainable": false`), "trainable is false"},
		{dense(`, "dtype": "float64"`), "dtype float64"},
		{dense(`, "frobnicate": 1`), "does not know the argument(s) frobnicate"},
		{dense(`, "units": 0`), "units 0"},
		{dense(`, "activation": {"class_name": "Custom>Swish2"}`), "not a built-in activation"},
		{`{"class_name": "Sequential", "config": {"layers": [{"class_name": "Dense", "config": {"units": 3, "batch_input_shape": [null, null]}}]}}`, "not a positive integer"},
		{`{"class_name": "Sequential", "config": {"layers": [{"class_name": "Dropout", "config": {"rate": 1.5, "batch_input_shape": [null, 4]}}]}}`, "rate 1.5"},
		{`{"class_name": "Sequential", "config": {"layers": [{"class_name": "Flatten", "config": {"data_format": "channels_first", "batch_input_shape": [null, 4, 2]}}]}}`, "channels_first"},
	} {
		_, err := KerasModel([]byte(c.src), "m.json")
		if c.want == "" {
			continue // must not panic; the activation is checked when the layer is built
		}
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "m.json: ") {
			t.Errorf("%s\n  error %v; want it to name the file and contain %q", c.src, err, c.want)
		}
	}
}

// FuzzKerasModel: any input gives layers or an error naming the file,
// never a panic.
func FuzzKerasModel(f *testing.F) {
	f.Add([]byte(kerasSeed))
	f.Add([]byte(`{"class_name": "Sequential", "config": [{"class_name": "Dense", "config": {"units": 3, "batch_input_shape": [null, 4]}}]}`))
	f.Add([]byte(`{"modelTopology": {"class_name": "Sequential", "config": {"layers": []}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		layers, err := KerasModel(b, "f.json")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.json: ") {
				t.Errorf("error does not name the file: %v", err)
			}
			return
		}
		if len(layers) == 0 || layers[0].Type != "Input" {
			t.Errorf("layers without an Input first: %v", layers)
		}
	})
}

// TestKerasModelRoundTrip: the Keras config kiln saves (Sequential.Config,
// written by kiln fit --save as config.json) imports back to the same model.
func TestKerasModelRoundTrip(t *testing.T) {
	e, err := Parse([]byte(`
data: {dataset: mnist}
model:
  - Input: {shape: [4, 3]}
  - Flatten: {}
  - Dense: {units: 8, activation: relu, use_bias: false, name: hidden}
  - Dropout: {rate: 0.25}
  - Activation: {activation: tanh}
  - Dense: {units: 3, activation: softmax}
compile: {optimizer: adam, loss: categorical_crossentropy}
`), "rt.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := BuildModel(e, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(m.Config())
	if err != nil {
		t.Fatal(err)
	}
	layers, err := KerasModel(b, "config.json")
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	e2 := *e
	e2.Model = layers
	m2, err := BuildModel(&e2, nil)
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := json.Marshal(m2.Config())
	if string(b) != string(b2) {
		t.Errorf("round trip changed the model:\n%s\n%s", b, b2)
	}
}
