package config

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/layers"
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
		{`{"class_name": "Functional", "config": {}}`, "the Functional model has no layers list"},
		{`{"config": {}}`, "no class_name"},
		{`{"class_name": "Sequential", "config": {"layers": []}}`, "no layers"},
		{`{"class_name": "Sequential", "config": {"layers": [{"class_name": "Conv3D", "config": {"name": "conv", "batch_input_shape": [null, 28, 28, 1, 1]}}]}}`, `layer 0 (Conv3D "conv"): kiln has no Conv3D layer`},
		{`{"class_name": "Sequential", "config": {"layers": [{"class_name": "Conv2D", "config": {"filters": 4, "kernel_size": [3, 3], "dilation_rate": [2, 2], "batch_input_shape": [null, 28, 28, 1]}}]}}`, "dilation_rate [2,2]"},
		{`{"class_name": "Sequential", "config": {"layers": [{"class_name": "Conv2D", "config": {"filters": 4, "kernel_size": [3, 3], "data_format": "channels_first", "batch_input_shape": [null, 1, 28, 28]}}]}}`, "channels_last"},
		{`{"class_name": "Sequential", "config": {"layers": [{"class_name": "Dense", "config": {"units": 3}}]}}`, "does not say its input shape"},
		{dense(`, "kernel_regularizer": {"class_name": "L2", "config": {"l2": 0.01}}`), "kernel_regularizer is set"},
		{dense(`, "kernel_initializer": {"class_name": "Orthogonal", "config": {"gain": 1.0, "seed": null}}`), "kernel_initializer is"},
		{dense(`, "kernel_initializer": {"class_name": "RandomNormal", "config": {"mean": 0.0, "stddev": 0.1, "seed": null}}`), "kiln's random_normal takes Keras' defaults only (stddev=0.1 is not one)"},
		{dense(`, "kernel_initializer": {"class_name": "VarianceScaling", "config": {"scale": 3, "mode": "fan_in", "distribution": "truncated_normal"}}`), "kiln has no VarianceScaling(scale=3, mode=fan_in, distribution=truncated_normal)"},
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
	f.Add([]byte(`{"class_name": "Sequential", "config": [{"class_name": "BatchNormalization", "config": {"axis": [1], "momentum": 0.9, "epsilon": 1e-05, "gamma_initializer": "ones", "batch_input_shape": [null, 4]}}]}`))
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
	roundTripConfig(t, e, m)
}

// roundTripConfig sends m's Keras config (what kiln fit --save writes as
// config.json) back through KerasModel and BuildModel, checks that the
// rebuilt model has the same config, and returns it.
func roundTripConfig(t *testing.T, e *Experiment, m *kiln.Sequential) *kiln.Sequential {
	t.Helper()
	b, err := json.Marshal(m.Config())
	if err != nil {
		t.Fatal(err)
	}
	specs, err := KerasModel(b, "config.json")
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	e2 := *e
	e2.Model = specs
	m2, err := BuildModel(&e2, nil)
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := json.Marshal(m2.Config())
	if string(b) != string(b2) {
		t.Errorf("round trip changed the model:\n%s\n%s", b, b2)
	}
	return m2
}

// TestKerasFixtures translates real Keras JSON files (testdata/keras: made
// by TensorFlow.js, or committed to public repositories by Keras 2.0–3.x;
// SOURCES.md says where each comes from) and checks every layer.
func TestKerasFixtures(t *testing.T) {
	type L = string // "Type arg=value ..." without names
	bn := func(axis, momentum, epsilon string) L {
		return "BatchNormalization axis=" + axis + " momentum=" + momentum + " epsilon=" + epsilon + " center=true scale=true"
	}
	for _, c := range []struct {
		file   string
		want   []L
		reject string
	}{
		{"tfjs_seed.json", []L{"Input shape=[28 28]", "Flatten", "Dense units=10 activation=sigmoid"}, ""},
		{"tfjs_mlp.json", []L{"Input shape=[784]", "Dense units=128 activation=relu", "Dropout rate=0.2", "Dense units=10 activation=softmax"}, ""},
		{"tfjs_activation.json", []L{"Input shape=[4 3]", "Flatten", "Dense units=8 activation=linear use_bias=false", "Activation activation=tanh", "Dense units=3 activation=linear", "Activation activation=softmax"}, ""},
		// TF.js' default initializer, glorot_normal, and others by name.
		{"tfjs_unsupported.json", []L{"Input shape=[28 28 1]", "Conv2D filters=8 activation=relu kernel_initializer=glorot_normal", "Flatten", "Dense units=10 activation=softmax"}, ""},
		{"tfjs_initializer.json", []L{"Input shape=[784]", "Dense units=10 activation=softmax kernel_initializer=he_normal"}, ""},
		{"tfjs_default_init.json", []L{"Input shape=[28 28]", "Flatten", "Dense units=10 activation=sigmoid kernel_initializer=glorot_normal"}, ""},
		{"keras3_fashion_mnist_dropout.json", []L{"Input shape=[28 28]", "Flatten", "Dense units=256 activation=relu", "Dropout rate=0.3",
			"Dense units=128 activation=relu", "Dropout rate=0.3", "Dense units=64 activation=relu", "Dropout rate=0.2", "Dense units=10 activation=softmax"}, ""},
		{"keras2_5_tfjs_converter.json", []L{"Input shape=[13]", "Dense units=17 activation=tanh", "Dense units=17 activation=tanh", "Dense units=1 activation=sigmoid"}, ""},
		{"keras2_2_4tf_dropout.json", []L{"Input shape=[270]", "Dense units=1024 activation=relu", "Dropout rate=0.2", "Dense units=512 activation=relu", "Dropout rate=0.2",
			"Dense units=256 activation=relu", "Dropout rate=0.2", "Dense units=128 activation=relu", "Dense units=1 activation=sigmoid"}, ""},
		{"keras2_1_6_list_wifi.json", []L{"Input shape=[3]", "Dense units=8 activation=relu", "Dense units=10 activation=relu", "Dense units=10 activation=relu",
			"Dense units=10 activation=relu", "Dense units=3 activation=softmax"}, ""},
		{"keras2_0_4_randomnormal.json", []L{"Input shape=[784]", "Dense units=784 activation=relu kernel_initializer=random_normal", "Dense units=800 activation=relu",
			"Dropout rate=0.5", "Dense units=800 activation=relu", "Dropout rate=0.5", "Dense units=10 activation=sigmoid kernel_initializer=random_normal"}, ""},
		{"tfjs_batchnorm.json", []L{"Input shape=[28 28 1]", "Conv2D filters=8 activation=linear use_bias=false", bn("-1", "0.99", "0.001"), "Activation activation=relu",
			"MaxPooling2D", "Flatten", "Dense units=16 activation=linear use_bias=false", bn("-1", "0.9", "1e-05"), "Activation activation=relu", "Dense units=10 activation=softmax"}, ""},
		{"keras2_2_4tf_bn_emotion.json", []L{"Input shape=[48 48 1]",
			"Conv2D filters=64 activation=linear", bn("3", "0.99", "0.001"), "Activation activation=relu", "MaxPooling2D", "Dropout rate=0.25",
			"Conv2D filters=128 activation=linear", bn("3", "0.99", "0.001"), "Activation activation=relu", "MaxPooling2D", "Dropout rate=0.25",
			"Conv2D filters=512 activation=linear", bn("3", "0.99", "0.001"), "Activation activation=relu", "MaxPooling2D", "Dropout rate=0.25",
			"Conv2D filters=512 activation=linear", bn("3", "0.99", "0.001"), "Activation activation=relu", "MaxPooling2D", "Dropout rate=0.25",
			"Flatten", "Dense units=256 activation=linear", bn("1", "0.99", "0.001"), "Activation activation=relu", "Dropout rate=0.25",
			"Dense units=512 activation=linear", bn("1", "0.99", "0.001"), "Activation activation=relu", "Dropout rate=0.25",
			"Dense units=7 activation=softmax"}, ""},
		{"keras2_9_bn_fer.json", []L{"Input shape=[48 48 1]",
			"Conv2D filters=32 activation=relu", bn("3", "0.99", "0.001"), "Conv2D filters=32 activation=relu", "MaxPooling2D", "Dropout rate=0.5",
			"Conv2D filters=64 activation=relu", bn("3", "0.99", "0.001"), "Conv2D filters=64 activation=relu", "MaxPooling2D", "Dropout rate=0.5",
			"Conv2D filters=128 activation=relu", bn("3", "0.99", "0.001"), "Conv2D filters=128 activation=relu", "MaxPooling2D", "Dropout rate=0.5",
			"Flatten", "Dense units=256 activation=relu", "Dense units=7 activation=softmax"}, ""},
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
			for _, k := range []string{"shape", "filters", "units", "activation", "use_bias", "rate", "axis", "momentum", "epsilon", "center", "scale", "kernel_initializer"} {
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

// layerParams counts a layer's weights, trainable and not (Keras'
// count_params()), and the trainable ones.
func layerParams(l layers.Layer) (total, trainable int) {
	for _, v := range l.Variables() {
		trainable += len(v.Value)
	}
	total = trainable
	if nt, ok := l.(layers.NonTrainable); ok {
		for _, v := range nt.NonTrainableVariables() {
			total += len(v.Value)
		}
	}
	return total, trainable
}

// TestKerasBatchNormalization: the TF.js BatchNormalization fixture
// translates with its arguments, builds with Keras' parameter counts (as
// TF.js' model.summary() gives them) and round-trips; the real tf.keras
// files build with their Keras parameter counts.
func TestKerasBatchNormalization(t *testing.T) {
	path := filepath.Join("testdata", "keras", "tfjs_batchnorm.json")
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := KerasModel(src, path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 10 {
		t.Fatalf("%d layers: %v", len(got), got)
	}
	for i, want := range map[int]LayerSpec{
		2: {Type: "BatchNormalization", Args: map[string]any{"name": "batch_normalization_BatchNormalization1", "axis": -1, "momentum": 0.99, "epsilon": 0.001, "center": true, "scale": true}},
		7: {Type: "BatchNormalization", Args: map[string]any{"name": "batch_normalization_BatchNormalization2", "axis": -1, "momentum": 0.9, "epsilon": 1e-05, "center": true, "scale": true}},
	} {
		if !reflect.DeepEqual(got[i], want) {
			t.Errorf("layer %d: got %#v\nwant %#v", i, got[i], want)
		}
	}
	e := &Experiment{Model: got, Compile: CompileSpec{Optimizer: OptimizerSpec{Name: "adam", Args: map[string]any{}}, Loss: LossSpec{Name: "categorical_crossentropy"}}}
	m, err := BuildModel(e, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Conv2D 3·3·1·8 = 72 (no bias); BatchNormalization 4·8 = 32, of which
	// 16 (the moving mean and variance) are not trainable; Dense 1352·16 =
	// 21632; BatchNormalization 4·16 = 64; Dense 16·10+10 = 170.
	var counts []string
	for _, l := range m.Layers() {
		n, tr := layerParams(l)
		counts = append(counts, fmt.Sprintf("%s:%d/%d", l.ClassName(), n, tr))
	}
	if want := "Conv2D:72/72 BatchNormalization:32/16 Activation:0/0 MaxPooling2D:0/0 Flatten:0/0 Dense:21632/21632 BatchNormalization:64/32 Activation:0/0 Dense:170/170"; strings.Join(counts, " ") != want {
		t.Errorf("params (total/trainable):\n got  %s\n want %s", strings.Join(counts, " "), want)
	}
	var sum strings.Builder
	if err := m.Summary(&sum); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Total params: 21970 ", "Trainable params: 21922 ", "Non-trainable params: 48 ", "(None, 26, 26, 8)", "(None, 16)"} {
		if !strings.Contains(sum.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, sum.String())
		}
	}
	if m.CountParams() != 21970 {
		t.Errorf("CountParams %d, want 21970", m.CountParams())
	}
	bn, ok := m.Layers()[6].(*layers.BatchNormalization)
	if !ok {
		t.Fatalf("layer 6 is %T", m.Layers()[6])
	}
	if bn.Momentum != float32(0.9) || bn.Epsilon != float32(1e-5) || bn.Axis != -1 || !bn.Center || !bn.Scale {
		t.Errorf("built layer: momentum %g epsilon %g axis %d center %v scale %v", bn.Momentum, bn.Epsilon, bn.Axis, bn.Center, bn.Scale)
	}
	// kiln's own config of the model imports to the same model.
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
	if b2, _ := json.Marshal(m2.Config()); string(b) != string(b2) {
		t.Errorf("round trip changed the model:\n%s\n%s", b, b2)
	}

	// The real files, with Keras' counts (conv k·k·in·out + out, Dense
	// in·out + out, BatchNormalization 4 per channel of which 2 are the
	// non-trainable moving statistics).
	for _, c := range []struct {
		file                  string
		total, nonTrainable   int
		bnChannels, bnLayerAt []int
	}{
		{"keras2_2_4tf_bn_emotion.json", 4478727, 3968, []int{64, 128, 512, 512, 256, 512}, []int{1, 6, 11, 16, 22, 26}},
		{"keras2_9_bn_fer.json", 1813095, 448, []int{32, 64, 128}, []int{1, 6, 11}},
	} {
		path := filepath.Join("testdata", "keras", c.file)
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		ls, err := KerasModel(src, path)
		if err != nil {
			t.Errorf("%s: %v", c.file, err)
			continue
		}
		m, err := BuildModel(&Experiment{Model: ls, Compile: e.Compile}, nil)
		if err != nil {
			t.Errorf("%s: %v", c.file, err)
			continue
		}
		total, trainable := 0, 0
		var channels, at []int
		for i, l := range m.Layers() {
			n, tr := layerParams(l)
			total += n
			trainable += tr
			if l.ClassName() == "BatchNormalization" {
				channels = append(channels, n/4)
				at = append(at, i)
			}
		}
		if total != c.total || total-trainable != c.nonTrainable || m.CountParams() != c.total {
			t.Errorf("%s: %d params, %d non-trainable (CountParams %d); want %d and %d", c.file, total, total-trainable, m.CountParams(), c.total, c.nonTrainable)
		}
		if !reflect.DeepEqual(channels, c.bnChannels) || !reflect.DeepEqual(at, c.bnLayerAt) {
			t.Errorf("%s: BatchNormalization layers at %v over %v channels; want at %v over %v", c.file, at, channels, c.bnLayerAt, c.bnChannels)
		}
	}
}

// TestKerasBatchNormalizationVariants: variations of the TF.js fixture's
// first BatchNormalization (after the Conv2D, on 8 channels), as other
// Keras versions write them or as a model may set them: what imports, what
// is refused on import, and what the layer refuses when it is built.
func TestKerasBatchNormalizationVariants(t *testing.T) {
	path := filepath.Join("testdata", "keras", "tfjs_batchnorm.json")
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	variant := func(set map[string]any) []byte {
		var top map[string]any
		if err := json.Unmarshal(src, &top); err != nil {
			t.Fatal(err)
		}
		cfg := top["config"].(map[string]any)["layers"].([]any)[1].(map[string]any)["config"].(map[string]any)
		if cfg["name"] != "batch_normalization_BatchNormalization1" {
			t.Fatalf("layer 1 is %v", cfg["name"])
		}
		for k, v := range set {
			if v == "DELETE" {
				delete(cfg, k)
			} else {
				cfg[k] = v
			}
		}
		b, err := json.Marshal(top)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	parse := func(s string) any {
		var v any
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	keras3 := func(class string) any {
		return parse(`{"module": "keras.initializers", "class_name": "` + class + `", "config": {}, "registered_name": null}`)
	}
	compile := CompileSpec{Optimizer: OptimizerSpec{Name: "adam", Args: map[string]any{}}, Loss: LossSpec{Name: "categorical_crossentropy"}}
	const at = `layer 1 (BatchNormalization "batch_normalization_BatchNormalization1")`

	// Imported and built: the BatchNormalization layer's params.
	for _, c := range []struct {
		name   string
		set    map[string]any
		params int
	}{
		{"tf.keras 2.x axis list", map[string]any{"axis": parse(`[3]`)}, 32},
		{"axis 3, the last of (None, 26, 26, 8)", map[string]any{"axis": 3}, 32},
		{"no axis, momentum or epsilon (Keras' defaults)", map[string]any{"axis": "DELETE", "momentum": "DELETE", "epsilon": "DELETE"}, 32},
		{"Keras 3 initializers and synchronized", map[string]any{"beta_initializer": keras3("Zeros"), "gamma_initializer": keras3("Ones"),
			"moving_mean_initializer": keras3("Zeros"), "moving_variance_initializer": keras3("Ones"), "synchronized": false}, 32},
		{"initializer names", map[string]any{"beta_initializer": "zeros", "gamma_initializer": "ones", "moving_mean_initializer": "Zeros", "moving_variance_initializer": "Ones"}, 32},
		{"tf.keras fused and renorm off", map[string]any{"fused": true, "renorm": false, "renorm_clipping": nil, "renorm_momentum": 0.99}, 32},
		{"scale false", map[string]any{"scale": false}, 24},
		{"center false", map[string]any{"center": false}, 24},
		{"neither", map[string]any{"center": false, "scale": false}, 16},
		// Keras ignores the initializer of a weight the layer does not have.
		{"center false, beta_initializer ones", map[string]any{"center": false, "beta_initializer": "ones"}, 24},
		{"scale false, gamma_initializer zeros", map[string]any{"scale": false, "gamma_initializer": "zeros"}, 24},
	} {
		ls, err := KerasModel(variant(c.set), path)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		m, err := BuildModel(&Experiment{Model: ls, Compile: compile}, nil)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if n, _ := layerParams(m.Layers()[1]); n != c.params {
			t.Errorf("%s: %d params, want %d", c.name, n, c.params)
		}
	}

	// Refused on import, naming the file, the layer and the setting.
	for _, c := range []struct {
		name string
		set  map[string]any
		want string
	}{
		{"gamma_regularizer", map[string]any{"gamma_regularizer": parse(`{"class_name": "L2", "config": {"l2": 0.01}}`)}, "gamma_regularizer is set"},
		{"beta_regularizer", map[string]any{"beta_regularizer": parse(`{"class_name": "L1L2", "config": {"l1": 0, "l2": 0.001}}`)}, "beta_regularizer is set"},
		{"gamma_constraint", map[string]any{"gamma_constraint": parse(`{"class_name": "MaxNorm", "config": {"max_value": 2, "axis": 0}}`)}, "gamma_constraint is set"},
		{"virtual_batch_size", map[string]any{"virtual_batch_size": 8}, "virtual_batch_size is set"},
		{"renorm", map[string]any{"renorm": true, "renorm_clipping": parse(`{"rmax": 3, "rmin": 0.3, "dmax": 5}`), "renorm_momentum": 0.99}, "renorm is true"},
		{"gamma_initializer zeros", map[string]any{"gamma_initializer": parse(`{"class_name": "Zeros", "config": {}}`)}, "gamma_initializer is"},
		{"gamma_initializer RandomNormal", map[string]any{"gamma_initializer": parse(`{"class_name": "RandomNormal", "config": {"mean": 1.0, "stddev": 0.02, "seed": null}}`)}, "kiln initialises with ones"},
		{"Keras 3 gamma_initializer Constant", map[string]any{"gamma_initializer": parse(`{"module": "keras.initializers", "class_name": "Constant", "config": {"value": 0.5}, "registered_name": null}`)}, "gamma_initializer is"},
		{"beta_initializer ones", map[string]any{"beta_initializer": "ones"}, "beta_initializer is"},
		{"moving_variance_initializer zeros", map[string]any{"moving_variance_initializer": keras3("Zeros")}, "moving_variance_initializer is"},
		{"moving_mean_initializer ones", map[string]any{"moving_mean_initializer": parse(`{"class_name": "Ones", "config": {}}`)}, "moving_mean_initializer is"},
		{"two axes", map[string]any{"axis": parse(`[1, 2]`)}, "axis [1,2]"},
		{"axis not a number", map[string]any{"axis": "channels"}, "axis"},
		{"momentum not a number", map[string]any{"momentum": "0.9"}, "momentum"},
		{"momentum 1.5", map[string]any{"momentum": 1.5}, "momentum 1.5 is not a number in [0, 1]"},
		{"epsilon 0", map[string]any{"epsilon": 0}, "epsilon 0 is not a number in (0, ∞)"},
		{"beta_initializer ones with center", map[string]any{"beta_initializer": "ones", "center": true}, "beta_initializer is"},
		{"center not a boolean", map[string]any{"center": 1}, "center 1 is not true or false"},
		{"trainable false", map[string]any{"trainable": false}, "trainable is false"},
		{"float16", map[string]any{"dtype": "float16"}, "dtype float16"},
		{"unknown argument", map[string]any{"adjustment": nil, "frobnicate": 1}, "does not know the argument(s) adjustment, frobnicate"},
	} {
		_, err := KerasModel(variant(c.set), path)
		if err == nil || !strings.HasPrefix(err.Error(), path+": ") || !strings.Contains(err.Error(), at) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v\n  want one naming %s, %s and containing %q", c.name, err, path, at, c.want)
		}
	}

	// Imported, but refused when built: kiln normalises the last axis
	// only, and axis 1 of (None, 26, 26, 8) is the image rows (channels_first
	// style).
	for _, c := range []struct {
		name string
		set  map[string]any
		want []string
	}{
		{"axis 1 on an image", map[string]any{"axis": 1}, []string{"axis 1", "(None, 26, 26, 8)", "last axis"}},
		{"tf.keras axis [1] on an image", map[string]any{"axis": parse(`[1]`)}, []string{"axis 1", "last axis"}},
		{"axis -3", map[string]any{"axis": -3}, []string{"axis -3", "last axis"}},
		{"axis 0, the batch", map[string]any{"axis": 0}, []string{"axis 0"}},
	} {
		ls, err := KerasModel(variant(c.set), path)
		if err != nil {
			t.Errorf("%s: import: %v", c.name, err)
			continue
		}
		_, err = BuildModel(&Experiment{Model: ls, Compile: compile}, nil)
		if err == nil {
			t.Errorf("%s: built", c.name)
			continue
		}
		for _, w := range append(c.want, "BatchNormalization") {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", c.name, err, w)
			}
		}
	}
}
