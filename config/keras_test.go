package config

import (
	"encoding/json"
	"fmt"
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
		{`{"class_name": "Sequential", "config": {"layers": [{"class_name": "Conv3D", "config": {"name": "conv", "batch_input_shape": [null, 28, 28, 1, 1]}}]}}`, `layer 0 (Conv3D "conv"): kiln has no Conv3D layer`},
		{`{"class_name": "Sequential", "config": {"layers": [{"class_name": "Conv2D", "config": {"filters": 4, "kernel_size": [3, 3], "dilation_rate": [2, 2], "batch_input_shape": [null, 28, 28, 1]}}]}}`, "dilation_rate [2,2]"},
		{`{"class_name": "Sequential", "config": {"layers": [{"class_name": "Conv2D", "config": {"filters": 4, "kernel_size": [3, 3], "data_format": "channels_first", "batch_input_shape": [null, 1, 28, 28]}}]}}`, "channels_last"},
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
	files, _ := filepath.Glob(filepath.Join("testdata", "keras", "*.json"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
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

// TestKerasFixtures translates real Keras JSON files (testdata/keras: made
// by TensorFlow.js, or committed to public repositories by Keras 2.0–3.x;
// SOURCES.md says where each comes from) and checks every layer.
func TestKerasFixtures(t *testing.T) {
	type L = string // "Type arg=value ..." without names
	for _, c := range []struct {
		file   string
		want   []L
		reject string
	}{
		{"tfjs_seed.json", []L{"Input shape=[28 28]", "Flatten", "Dense units=10 activation=sigmoid"}, ""},
		{"tfjs_mlp.json", []L{"Input shape=[784]", "Dense units=128 activation=relu", "Dropout rate=0.2", "Dense units=10 activation=softmax"}, ""},
		{"tfjs_activation.json", []L{"Input shape=[4 3]", "Flatten", "Dense units=8 activation=linear use_bias=false", "Activation activation=tanh", "Dense units=3 activation=linear", "Activation activation=softmax"}, ""},
		{"tfjs_unsupported.json", nil, "glorot_normal"}, // a Conv2D with TF.js' default initializer
		{"tfjs_initializer.json", nil, "kernel_initializer is"},
		{"tfjs_default_init.json", nil, "glorot_normal"},
		{"keras3_fashion_mnist_dropout.json", []L{"Input shape=[28 28]", "Flatten", "Dense units=256 activation=relu", "Dropout rate=0.3",
			"Dense units=128 activation=relu", "Dropout rate=0.3", "Dense units=64 activation=relu", "Dropout rate=0.2", "Dense units=10 activation=softmax"}, ""},
		{"keras2_5_tfjs_converter.json", []L{"Input shape=[13]", "Dense units=17 activation=tanh", "Dense units=17 activation=tanh", "Dense units=1 activation=sigmoid"}, ""},
		{"keras2_2_4tf_dropout.json", []L{"Input shape=[270]", "Dense units=1024 activation=relu", "Dropout rate=0.2", "Dense units=512 activation=relu", "Dropout rate=0.2",
			"Dense units=256 activation=relu", "Dropout rate=0.2", "Dense units=128 activation=relu", "Dense units=1 activation=sigmoid"}, ""},
		{"keras2_1_6_list_wifi.json", []L{"Input shape=[3]", "Dense units=8 activation=relu", "Dense units=10 activation=relu", "Dense units=10 activation=relu",
			"Dense units=10 activation=relu", "Dense units=3 activation=softmax"}, ""},
		{"keras2_0_4_randomnormal.json", nil, "layer 0"},
	} {
		path := filepath.Join("testdata", "keras", c.file)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		layers, err := KerasModel(b, path)
		if c.reject != "" {
			if err == nil || !strings.Contains(err.Error(), c.reject) || !strings.Contains(err.Error(), path) {
				t.Errorf("%s: error %v; want one naming the file and containing %q", c.file, err, c.reject)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.file, err)
			continue
		}
		var got []L
		for _, l := range layers {
			s := l.Type
			for _, k := range []string{"shape", "units", "activation", "use_bias", "rate"} {
				if v, ok := l.Args[k]; ok {
					if sh, ok := v.([]any); ok {
						v = strings.Trim(fmt.Sprint(sh), "")
					}
					s += fmt.Sprintf(" %s=%v", k, v)
				}
			}
			got = append(got, s)
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s:\n got  %q\n want %q", c.file, got, c.want)
		}
		// Every translation builds.
		e := &Experiment{Model: layers, Compile: CompileSpec{Optimizer: OptimizerSpec{Name: "sgd", Args: map[string]any{}}, Loss: LossSpec{Name: "mean_squared_error"}}}
		if _, err := BuildModel(e, nil); err != nil {
			t.Errorf("%s: the translation does not build: %v", c.file, err)
		}
	}
}

// TestKerasModelWithSet: --set reaches the layers of a Keras model file,
// as kiln explain's fixes need.
func TestKerasModelWithSet(t *testing.T) {
	e, err := Load("../examples/keras/seed.yaml", []string{"model.2.Dense.activation=softmax", "model.2.Dense.units=12"})
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Model) != 3 || e.Model[2].Args["activation"] != "softmax" || e.Model[2].Args["units"] != 12 {
		t.Errorf("model after --set: %+v", e.Model)
	}
	_, err = Load("../examples/keras/seed.yaml", []string{"model.3.Dense.units=1"})
	if err == nil {
		t.Error("--set model.3 on a 3-layer model did not fail")
	}
}

// TestKerasConv translates a tf.keras 2.x convnet (the Keras "Simple MNIST
// convnet" example's layers, as model.to_json() writes them).
func TestKerasConv(t *testing.T) {
	src := `{"class_name": "Sequential", "config": {"name": "sequential", "layers": [
 {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 28, 28, 1], "dtype": "float32", "sparse": false, "ragged": false, "name": "input_1"}},
 {"class_name": "Conv2D", "config": {"name": "conv2d", "trainable": true, "dtype": "float32", "filters": 32, "kernel_size": [3, 3], "strides": [1, 1], "padding": "valid", "data_format": "channels_last", "dilation_rate": [1, 1], "groups": 1, "activation": "relu", "use_bias": true, "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": null}}, "bias_initializer": {"class_name": "Zeros", "config": {}}, "kernel_regularizer": null, "bias_regularizer": null, "activity_regularizer": null, "kernel_constraint": null, "bias_constraint": null}},
 {"class_name": "MaxPooling2D", "config": {"name": "max_pooling2d", "trainable": true, "dtype": "float32", "pool_size": [2, 2], "padding": "valid", "strides": [2, 2], "data_format": "channels_last"}},
 {"class_name": "Flatten", "config": {"name": "flatten", "trainable": true, "dtype": "float32", "data_format": "channels_last"}},
 {"class_name": "Dropout", "config": {"name": "dropout", "trainable": true, "dtype": "float32", "rate": 0.5, "noise_shape": null, "seed": null}},
 {"class_name": "Dense", "config": {"name": "dense", "trainable": true, "dtype": "float32", "units": 10, "activation": "softmax", "use_bias": true, "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": null}}, "bias_initializer": {"class_name": "Zeros", "config": {}}, "kernel_regularizer": null, "bias_regularizer": null, "activity_regularizer": null, "kernel_constraint": null, "bias_constraint": null}}]},
 "keras_version": "2.13.1", "backend": "tensorflow"}`
	layers, err := KerasModel([]byte(src), "cnn.json")
	if err != nil {
		t.Fatal(err)
	}
	e := &Experiment{Model: layers, Compile: CompileSpec{Optimizer: OptimizerSpec{Name: "adam", Args: map[string]any{}}, Loss: LossSpec{Name: "categorical_crossentropy"}}}
	m, err := BuildModel(e, nil)
	if err != nil {
		t.Fatal(err)
	}
	var sum strings.Builder
	m.Summary(&sum)
	for _, want := range []string{"conv2d (Conv2D)             (None, 26, 26, 32)        320", "(None, 13, 13, 32)", "dense (Dense)               (None, 10)                54090"} {
		if !strings.Contains(sum.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, sum.String())
		}
	}
	// And back: kiln's own config of the model imports to the same model.
	b, _ := json.Marshal(m.Config())
	again, err := KerasModel(b, "config.json")
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	e.Model = again
	m2, err := BuildModel(e, nil)
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := json.Marshal(m2.Config())
	if string(b) != string(b2) {
		t.Errorf("round trip changed the model:\n%s\n%s", b, b2)
	}
}

// TestKerasReshape: Keras' Reshape (grey images given a channel axis
// before a Conv2D) imports and builds; a bad target_shape is refused.
func TestKerasReshape(t *testing.T) {
	src := `{"class_name": "Sequential", "config": {"name": "sequential", "layers": [
 {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 28, 28], "dtype": "float32", "sparse": false, "ragged": false, "name": "input_1"}},
 {"class_name": "Reshape", "config": {"name": "reshape", "trainable": true, "dtype": "float32", "target_shape": [28, 28, 1]}},
 {"class_name": "Conv2D", "config": {"name": "conv2d", "trainable": true, "dtype": "float32", "filters": 4, "kernel_size": [3, 3], "strides": [1, 1], "padding": "valid", "data_format": "channels_last", "dilation_rate": [1, 1], "groups": 1, "activation": "relu", "use_bias": true, "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": null}}, "bias_initializer": {"class_name": "Zeros", "config": {}}, "kernel_regularizer": null, "bias_regularizer": null, "activity_regularizer": null, "kernel_constraint": null, "bias_constraint": null}},
 {"class_name": "Reshape", "config": {"name": "reshape_1", "trainable": true, "dtype": "float32", "target_shape": [-1]}},
 {"class_name": "Dense", "config": {"name": "dense", "trainable": true, "dtype": "float32", "units": 10, "activation": "softmax", "use_bias": true, "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": null}}, "bias_initializer": {"class_name": "Zeros", "config": {}}, "kernel_regularizer": null, "bias_regularizer": null, "activity_regularizer": null, "kernel_constraint": null, "bias_constraint": null}}]},
 "keras_version": "2.13.1", "backend": "tensorflow"}`
	layers, err := KerasModel([]byte(src), "reshape.json")
	if err != nil {
		t.Fatal(err)
	}
	e := &Experiment{Model: layers, Compile: CompileSpec{Optimizer: OptimizerSpec{Name: "adam", Args: map[string]any{}}, Loss: LossSpec{Name: "categorical_crossentropy"}}}
	m, err := BuildModel(e, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(m.Layers()[0].OutputShape(), m.Layers()[2].OutputShape()); got != "[28 28 1] [2704]" {
		t.Errorf("shapes %s", got)
	}
	bad := strings.Replace(src, `"target_shape": [28, 28, 1]`, `"target_shape": [28, 0, 1]`, 1)
	if _, err := KerasModel([]byte(bad), "reshape.json"); err == nil || !strings.Contains(err.Error(), "target_shape") {
		t.Errorf("bad target_shape: %v", err)
	}
	e.Model[1].Args["target_shape"] = []any{27, 28, 1}
	if _, err := BuildModel(e, nil); err == nil || !strings.Contains(err.Error(), "sizes must match") {
		t.Errorf("wrong size: %v", err)
	}
}

// TestKerasGlobalAveragePooling: a Keras 3 style GlobalAveragePooling2D
// imports; keepdims true is refused.
func TestKerasGlobalAveragePooling(t *testing.T) {
	src := `{"module": "keras", "class_name": "Sequential", "config": {"name": "sequential", "layers": [
 {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [null, 8, 8, 1], "dtype": "float32", "sparse": false, "name": "input_layer"}, "registered_name": null},
 {"module": "keras.layers", "class_name": "Conv2D", "config": {"name": "conv2d", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "filters": 4, "kernel_size": [3, 3], "strides": [1, 1], "padding": "same", "data_format": "channels_last", "dilation_rate": [1, 1], "groups": 1, "activation": "relu", "use_bias": true, "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": null}, "registered_name": null}, "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null}, "kernel_regularizer": null, "bias_regularizer": null, "activity_regularizer": null, "kernel_constraint": null, "bias_constraint": null}, "registered_name": null},
 {"module": "keras.layers", "class_name": "GlobalAveragePooling2D", "config": {"name": "global_average_pooling2d", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "data_format": "channels_last", "keepdims": false}, "registered_name": null},
 {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "units": 3, "activation": "softmax", "use_bias": true, "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": null}, "registered_name": null}, "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null}, "kernel_regularizer": null, "bias_regularizer": null, "kernel_constraint": null, "bias_constraint": null}, "registered_name": null}]}, "registered_name": null}`
	layers, err := KerasModel([]byte(src), "gap.json")
	if err != nil {
		t.Fatal(err)
	}
	e := &Experiment{Model: layers, Compile: CompileSpec{Optimizer: OptimizerSpec{Name: "adam", Args: map[string]any{}}, Loss: LossSpec{Name: "categorical_crossentropy"}}}
	m, err := BuildModel(e, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(m.Layers()[1].OutputShape(), m.CountParams()); got != "[4] 55" {
		t.Errorf("pooled shape and params: %s, want [4] 55", got)
	}
	bad := strings.Replace(src, `"keepdims": false`, `"keepdims": true`, 1)
	if _, err := KerasModel([]byte(bad), "gap.json"); err == nil || !strings.Contains(err.Error(), "keepdims") {
		t.Errorf("keepdims: %v", err)
	}
}

// TestAveragePooling: AveragePooling2D from an experiment file and from a
// Keras JSON build the same layer.
func TestAveragePooling(t *testing.T) {
	e, err := Load("../examples/lenet5.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := BuildModel(e, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.CountParams() != 61706 || fmt.Sprint(m.Layers()[1].OutputShape()) != "[14 14 6]" {
		t.Errorf("LeNet-5: %d params, pool output %v; want 61706 and [14 14 6]", m.CountParams(), m.Layers()[1].OutputShape())
	}
	b, _ := json.Marshal(m.Config())
	layers, err := KerasModel(b, "config.json")
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if layers[2].Type != "AveragePooling2D" || fmt.Sprint(layers[2].Args["pool_size"]) != "[2 2]" {
		t.Errorf("imported %+v", layers[2])
	}
	for _, set := range []string{"model.2.AveragePooling2D.padding=full", "model.2.AveragePooling2D.pool_size=0"} {
		e, err := Load("../examples/lenet5.yaml", []string{set})
		if err == nil {
			_, err = BuildModel(e, nil)
		}
		if err == nil || !strings.Contains(err.Error(), "AveragePooling2D") {
			t.Errorf("--set %s: %v", set, err)
		}
	}
}
