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

func specStrings(specs []LayerSpec) []string {
	var got []string
	for _, l := range specs {
		s := l.Type
		for _, k := range []string{"name", "shape", "units", "activation", "axis", "inputs"} {
			if v, ok := l.Args[k]; ok {
				s += fmt.Sprintf(" %s=%v", k, v)
			}
		}
		got = append(got, s)
	}
	return got
}

func sgdExperiment(specs []LayerSpec) *Experiment {
	return &Experiment{Model: specs, Compile: CompileSpec{Optimizer: OptimizerSpec{Name: "sgd", Args: map[string]any{}}, Loss: LossSpec{Name: "categorical_crossentropy"}}}
}

// TestKerasFunctionalTFJS imports real TensorFlow.js Functional models
// (gen_tfjs_functional.js): the residual + concatenate network, and one
// with Multiply, Average and Concatenate on axis 1; both build, with
// Keras' names and connections.
func TestKerasFunctionalTFJS(t *testing.T) {
	for _, c := range []struct {
		file    string
		want    []string
		params  int
		connect string
	}{
		{"tfjs_functional.json", []string{
			"Input name=input_1 shape=[28 28]",
			"Flatten name=flatten inputs=[input_1]",
			"Dense name=dense units=32 activation=relu inputs=[flatten]",
			"Dense name=dense_1 units=32 activation=relu inputs=[dense]",
			"Add name=add inputs=[dense_1 dense]",
			"Dense name=dense_2 units=16 activation=relu inputs=[add]",
			"Dense name=dense_3 units=16 activation=tanh inputs=[add]",
			"Concatenate name=concatenate axis=-1 inputs=[dense_2 dense_3]",
			"Dense name=dense_4 units=10 activation=softmax inputs=[concatenate]",
		}, 27562, " concatenate (Concatenate)      (None, 32)           0           ['dense_2[0][0]',"},
		{"tfjs_functional_merges.json", []string{
			"Input name=input_1 shape=[4 3]",
			"Dense name=gate units=3 activation=sigmoid inputs=[input_1]",
			"Dense name=value units=3 activation=tanh inputs=[input_1]",
			"Multiply name=multiply inputs=[gate value]",
			"Average name=average inputs=[multiply input_1]",
			"Concatenate name=concatenate axis=1 inputs=[average input_1]",
			"Flatten name=flatten inputs=[concatenate]",
			"Dense name=dense units=2 activation=softmax inputs=[flatten]",
		}, 12 + 12 + 50, " concatenate (Concatenate)      (None, 8, 3)         0           ['average[0][0]',"},
	} {
		path := filepath.Join("testdata", "keras", c.file)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		specs, err := KerasModel(b, path)
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		if got := specStrings(specs); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s:\n got  %q\n want %q", c.file, got, c.want)
		}
		m, err := BuildModel(sgdExperiment(specs), nil)
		if err != nil {
			t.Fatalf("%s: the translation does not build: %v", c.file, err)
		}
		if m.Graph() == nil || m.CountParams() != c.params {
			t.Errorf("%s: graph %v, %d params, want %d", c.file, m.Graph() != nil, m.CountParams(), c.params)
		}
		var sum strings.Builder
		m.Summary(&sum)
		if !strings.Contains(sum.String(), c.connect) {
			t.Errorf("%s: summary lacks %q:\n%s", c.file, c.connect, sum.String())
		}
	}
}

// keras3Functional is a Keras 3 model.to_json() of a small residual model,
// written by hand in Keras 3's format (keras.src.models.functional: layer
// calls as {"args": [__keras_tensor__ ...]}, a merge's inputs as a list in
// args[0], dtype policies as objects, input_layers of one input unnested).
const keras3Functional = `{"module": "keras.src.models.functional", "class_name": "Functional", "config": {"name": "functional", "trainable": true, "layers": [
 {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [null, 8], "dtype": "float32", "sparse": false, "name": "input_layer"}, "registered_name": null, "name": "input_layer", "inbound_nodes": []},
 {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "units": 8, "activation": "relu", "use_bias": true, "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": null}, "registered_name": null}, "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null}, "kernel_regularizer": null, "bias_regularizer": null, "kernel_constraint": null, "bias_constraint": null}, "registered_name": null, "build_config": {"input_shape": [null, 8]}, "name": "dense", "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {"shape": [null, 8], "dtype": "float32", "keras_history": ["input_layer", 0, 0]}}], "kwargs": {}}]},
 {"module": "keras.layers", "class_name": "Add", "config": {"name": "add", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}}, "registered_name": null, "build_config": {"input_shape": [[null, 8], [null, 8]]}, "name": "add", "inbound_nodes": [{"args": [[{"class_name": "__keras_tensor__", "config": {"shape": [null, 8], "dtype": "float32", "keras_history": ["dense", 0, 0]}}, {"class_name": "__keras_tensor__", "config": {"shape": [null, 8], "dtype": "float32", "keras_history": ["input_layer", 0, 0]}}]], "kwargs": {}}]},
 {"module": "keras.layers", "class_name": "Dropout", "config": {"name": "dropout", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "rate": 0.25, "seed": null, "noise_shape": null}, "registered_name": null, "name": "dropout", "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {"shape": [null, 8], "dtype": "float32", "keras_history": ["add", 0, 0]}}], "kwargs": {"training": false}}]},
 {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense_1", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "units": 3, "activation": "softmax", "use_bias": true, "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": null}, "registered_name": null}, "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null}, "kernel_regularizer": null, "bias_regularizer": null, "kernel_constraint": null, "bias_constraint": null}, "registered_name": null, "build_config": {"input_shape": [null, 8]}, "name": "dense_1", "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {"shape": [null, 8], "dtype": "float32", "keras_history": ["dropout", 0, 0]}}], "kwargs": {}}]}],
 "input_layers": ["input_layer", 0, 0], "output_layers": ["dense_1", 0, 0]}, "registered_name": "Functional", "build_config": {"input_shape": null}}`

func TestKerasFunctionalKeras3(t *testing.T) {
	specs, err := KerasModel([]byte(keras3Functional), "k3.json")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"Input name=input_layer shape=[8]",
		"Dense name=dense units=8 activation=relu inputs=[input_layer]",
		"Add name=add inputs=[dense input_layer]",
		"Dropout name=dropout inputs=[add]",
		"Dense name=dense_1 units=3 activation=softmax inputs=[dropout]",
	}
	if got := specStrings(specs); !reflect.DeepEqual(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if _, err := BuildModel(sgdExperiment(specs), nil); err != nil {
		t.Fatal(err)
	}
}

func TestKerasFunctionalRefused(t *testing.T) {
	for _, c := range []struct{ file, want string }{
		{"tfjs_functional_two_inputs.json", "2 inputs and 1 outputs; kiln imports Functional models with exactly one input and one output"},
		{"tfjs_functional_shared.json", `layer 1 (Dense "shared"): the layer is called 2 times (a shared layer)`},
	} {
		path := filepath.Join("testdata", "keras", c.file)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		_, err = KerasModel(b, path)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), path+": ") {
			t.Errorf("%s: error %v; want it to name the file and contain %q", c.file, err, c.want)
		}
	}
	mk := func(layers, ins, outs string) string {
		return `{"class_name": "Functional", "config": {"name": "m", "layers": [` + layers + `], "input_layers": ` + ins + `, "output_layers": ` + outs + `}}`
	}
	in := `{"class_name": "InputLayer", "name": "in", "config": {"batch_input_shape": [null, 4], "name": "in"}, "inbound_nodes": []}`
	dense := func(name, from string) string {
		return `{"class_name": "Dense", "name": "` + name + `", "config": {"name": "` + name + `", "units": 4}, "inbound_nodes": [[["` + from + `", 0, 0, {}]]]}`
	}
	for _, c := range []struct{ src, want string }{
		{mk(in+","+dense("d", "nowhere"), `[["in", 0, 0]]`, `[["d", 0, 0]]`), `its input "nowhere" is not a layer listed before it`},
		{mk(in+","+dense("d", "in")+","+dense("e", "in"), `[["in", 0, 0]]`, `[["d", 0, 0]]`), `output_layers names "d", but the last layer is "e"`},
		{mk(in+","+dense("d", "in"), `[["in", 0, 0]]`, `[["d", 0, 1]]`), "have one output"},
		{mk(in+","+`{"class_name": "Add", "name": "add", "config": {"name": "add", "axis": 1}, "inbound_nodes": [[["in", 0, 0, {}], ["in", 0, 0, {}]]]}`, `[["in", 0, 0]]`, `[["add", 0, 0]]`), "does not know the argument(s) axis"},
		{mk(in+","+`{"class_name": "Dense", "name": "d", "config": {"name": "d", "units": 4}, "inbound_nodes": [[["in", 1, 0, {}]]]}`, `[["in", 0, 0]]`, `[["d", 0, 0]]`), "shared layer's later call"},
		{mk(in+","+`{"class_name": "Dense", "name": "d", "config": {"name": "d", "units": 4}, "inbound_nodes": []}`, `[["in", 0, 0]]`, `[["d", 0, 0]]`), "no inbound node"},
		{mk(in, `[["in", 0, 0]]`, `[["in", 0, 0]]`), "no layers after its InputLayer"},
		{`{"class_name": "Functional", "config": {}}`, "the Functional model has no layers list"},
	} {
		specs, err := KerasModel([]byte(c.src), "m.json")
		if err == nil {
			_, err = BuildModel(sgdExperiment(specs), nil)
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s\n  error %v; want it to contain %q", c.src, err, c.want)
		}
	}
}

// TestFunctionalExperiment: a Functional model written in an experiment
// file (inputs arguments, Keras' default names) builds, and its
// get_config() imports back to the same model.
func TestFunctionalExperiment(t *testing.T) {
	e, err := Parse([]byte(`
data: {dataset: mnist}
model:
  - Input: {shape: [28, 28]}
  - Flatten: {}
  - Dense: {units: 32, activation: relu}
  - Dense: {units: 32, activation: relu}
  - Add: {inputs: [dense_1, dense]}
  - Dense: {units: 16, activation: relu}
  - Dense: {units: 16, activation: tanh, inputs: add}
  - Concatenate: {inputs: [dense_2, dense_3]}
  - Dense: {units: 10, activation: softmax}
compile: {optimizer: adam, loss: categorical_crossentropy}
`), "fn.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := BuildModel(e, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.Graph() == nil || m.CountParams() != 27562 {
		t.Fatalf("not the expected graph: %d params", m.CountParams())
	}
	m2 := roundTripConfig(t, e, m)
	var s1, s2 strings.Builder
	m.Summary(&s1)
	m2.Summary(&s2)
	if s1.String() != s2.String() || !strings.Contains(s1.String(), "['dense_1[0][0]',") {
		t.Errorf("summaries:\n%s\n%s", s1.String(), s2.String())
	}
}

func TestFunctionalExperimentErrors(t *testing.T) {
	for _, c := range []struct{ model, want string }{
		{"  - Input: {shape: [4]}\n  - Dense: {units: 3}\n  - Add: {inputs: [dense, nope]}\n", `no layer named "nope" before this one`},
		{"  - Input: {shape: [4]}\n  - Dense: {units: 3}\n  - Dense: {units: 3, inputs: input_1}\n", `the output of layer "dense" is not used`},
		{"  - Input: {shape: [4]}\n  - Dense: {units: 4}\n  - Dense: {units: 3, inputs: [dense, input_1]}\n", "Dense takes one input"},
		{"  - Input: {shape: [4]}\n  - Dense: {units: 3}\n  - Add: {inputs: [dense]}\n", "Add merges two or more layers"},
		{"  - Input: {shape: [4]}\n  - Dense: {units: 3}\n  - Add: {inputs: [dense, input_1]}\n", "incompatible shapes [(None, 3), (None, 4)]"},
		{"  - Input: {shape: [4]}\n  - Dense: {units: 4}\n  - Concatenate: {inputs: [dense, input_1], axis: 2}\n", "axis 2 is out of range"},
		{"  - Input: {shape: [4]}\n  - Dense: {units: 4}\n  - Add: {inputs: [dense, input_1], axis: 1}\n", `Add has no argument "axis"`},
	} {
		e, err := Parse([]byte("data: {dataset: mnist}\nmodel:\n"+c.model+"compile: {optimizer: sgd, loss: mse}\n"), "bad.yaml", nil)
		if err == nil {
			_, err = BuildModel(e, nil)
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v; want it to contain %q", c.model, err, c.want)
		}
	}
}

// TestKerasFunctionalKeras3File imports a real Keras 3 Functional file
// (SOURCES.md: a chain of Conv2D, BatchNormalization, pooling and Dropout
// written by keras.src.models.functional), which builds as a graph.
func TestKerasFunctionalKeras3File(t *testing.T) {
	path := filepath.Join("testdata", "keras", "keras3_functional_emotion.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	specs, err := KerasModel(b, path)
	if err != nil {
		t.Fatal(err)
	}
	got := specStrings(specs)
	if len(got) != 22 || got[0] != "Input name=input_layer_2 shape=[48 48 1]" || got[1] != "Conv2D name=conv2d_6 activation=linear inputs=[input_layer_2]" ||
		got[21] != "Dense name=dense_5 units=7 activation=softmax inputs=[dropout_11]" {
		t.Errorf("got %d layers %q", len(got), got)
	}
	m, err := BuildModel(sgdExperiment(specs), nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(m.Graph().Nodes()); n != 22 {
		t.Errorf("%d nodes", n)
	}
}

// FuzzKerasFunctional: any Functional model JSON translates to an Input
// followed by layers that name their inputs, or gives an error naming the
// file; never a panic. (It does not build the models: a mutated units
// count could ask for any amount of memory.)
func FuzzKerasFunctional(f *testing.F) {
	f.Add([]byte(keras3Functional))
	for _, name := range []string{"tfjs_functional.json", "tfjs_functional_merges.json", "tfjs_functional_shared.json"} {
		if b, err := os.ReadFile(filepath.Join("testdata", "keras", name)); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		specs, err := KerasModel(b, "f.json")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.json: ") {
				t.Errorf("error does not name the file: %v", err)
			}
			return
		}
		if len(specs) == 0 || specs[0].Type != "Input" {
			t.Fatalf("no Input first: %v", specs)
		}
		for _, l := range specs[1:] {
			if _, ok := l.Args["inputs"]; !ok && l.Args != nil && (len(specs) > 1) && isFunctional(b) {
				t.Errorf("layer %v has no inputs", l)
			}
		}
	})
}

// isFunctional reports whether b's top-level class_name is a Functional one.
func isFunctional(b []byte) bool {
	var top struct {
		ClassName string `json:"class_name"`
	}
	json.Unmarshal(b, &top)
	return top.ClassName == "Functional" || top.ClassName == "Model"
}
