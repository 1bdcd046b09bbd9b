package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/kiln-ml/kiln/config"
)

// seedWant is testdata/seed.yaml decoded.
func seedWant() *config.Experiment {
	return &config.Experiment{
		Seed: 1, SeedGiven: true,
		Data: config.DataSpec{Dataset: "mnist", Scale: 1, ScaleText: "1", Labels: "onehot", Limit: 1000, ValidationLimit: 500},
		Model: []config.LayerSpec{
			{Type: "Input", Args: map[string]any{"shape": []any{28, 28}}, Line: 10},
			{Type: "Flatten", Args: map[string]any{}, Line: 11},
			{Type: "Dense", Args: map[string]any{"units": 10, "activation": "sigmoid"}, Line: 12},
		},
		Compile: config.CompileSpec{
			Optimizer:     config.OptimizerSpec{Name: "sgd", Args: map[string]any{"learning_rate": 0.01}, Line: 14},
			Loss:          config.LossSpec{Name: "categorical_crossentropy", Line: 15},
			Metrics:       []string{"accuracy"},
			LossSemantics: "logits",
		},
		Fit: config.FitSpec{BatchSize: 32, Epochs: 10, ValidationData: "test", Shuffle: true, Verbose: 1, ValidationBatchSize: 32},
	}
}

// noLines returns a copy of e without line numbers and Path, for comparing
// experiments read from different text.
func noLines(e *config.Experiment) *config.Experiment {
	c := *e
	c.Path = ""
	c.Model = append([]config.LayerSpec(nil), e.Model...)
	for i := range c.Model {
		c.Model[i].Line = 0
	}
	c.Fit.Callbacks = append([]config.LayerSpec(nil), e.Fit.Callbacks...)
	for i := range c.Fit.Callbacks {
		c.Fit.Callbacks[i].Line = 0
	}
	c.Compile.Optimizer.Line = 0
	c.Compile.Loss.Line = 0
	return &c
}

func TestLoadSeed(t *testing.T) {
	e, err := config.Load("testdata/seed.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := seedWant()
	want.Path = "testdata/seed.yaml"
	if !reflect.DeepEqual(e, want) {
		t.Errorf("got  %+v\nwant %+v", e, want)
	}
}

func TestLoadJSON(t *testing.T) {
	e, err := config.Load("testdata/seed.json", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := noLines(e), noLines(seedWant()); !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if e.Model[2].Line != 13 || e.Compile.Optimizer.Line != 16 {
		t.Errorf("lines: Dense %d (want 13), optimizer %d (want 16)", e.Model[2].Line, e.Compile.Optimizer.Line)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := config.Load("testdata/no-such-file.yaml", nil)
	if err == nil || !strings.Contains(err.Error(), "no-such-file.yaml") {
		t.Errorf("err = %v, want it to name the file", err)
	}
}

func TestDefaults(t *testing.T) {
	src := "data: {npz: d.npz}\nmodel:\n  - Input: {shape: [4]}\n  - Dense:\ncompile: {optimizer: adam, loss: mse}\n"
	e, err := config.Parse([]byte(src), "min.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := &config.Experiment{
		Data: config.DataSpec{NPZ: "d.npz", Scale: 1, ScaleText: "1"},
		Model: []config.LayerSpec{
			{Type: "Input", Args: map[string]any{"shape": []any{4}}, Line: 3},
			{Type: "Dense", Args: map[string]any{}, Line: 4},
		},
		Compile: config.CompileSpec{Optimizer: config.OptimizerSpec{Name: "adam", Args: map[string]any{}, Line: 5}, Loss: config.LossSpec{Name: "mse", Line: 5}},
		Fit:     config.FitSpec{BatchSize: 32, Epochs: 1, Shuffle: true, Verbose: 1},
	}
	if !reflect.DeepEqual(e, want) {
		t.Errorf("got  %+v\nwant %+v", e, want)
	}
}

func TestSources(t *testing.T) {
	for _, tc := range []struct {
		data string
		want config.DataSpec
	}{
		{"{npz: d/m.npz, scale: 1/255, labels: int}", config.DataSpec{NPZ: "d/m.npz", Scale: 1.0 / 255, ScaleText: "1/255", Labels: "int"}},
		{"{train: {x: x.npy, y: y.npy}, test: {x: xt.npy, y: yt.npy}, scale: \"0.5\"}",
			config.DataSpec{Train: &config.XYFiles{X: "x.npy", Y: "y.npy"}, Test: &config.XYFiles{X: "xt.npy", Y: "yt.npy"}, Scale: 0.5, ScaleText: "0.5"}},
		{"{csv: {train: a.csv, test: b.csv, label: species, header: true}, scale: 2.5e-1}",
			config.DataSpec{CSV: &config.CSVSpec{Train: "a.csv", Test: "b.csv", Label: "species", Header: "true"}, Scale: 0.25, ScaleText: "2.5e-1"}},
		{"{dataset: mnist, mnist_dir: /data/mnist, scale: \" 1 / 255 \"}", config.DataSpec{Dataset: "mnist", MNISTDir: "/data/mnist", Scale: 1.0 / 255, ScaleText: "1 / 255"}},
	} {
		src := "data: " + tc.data + "\nmodel: [{Dense: {units: 1}}]\ncompile: {optimizer: sgd, loss: mse}\n"
		e, err := config.Parse([]byte(src), "x.yaml", nil)
		if err != nil {
			t.Errorf("%s: %v", tc.data, err)
			continue
		}
		if !reflect.DeepEqual(e.Data, tc.want) {
			t.Errorf("%s:\ngot  %+v\nwant %+v", tc.data, e.Data, tc.want)
		}
	}
}

func TestLossAndOptimizerMaps(t *testing.T) {
	src := `data: {dataset: mnist}
model: [{Dense: {units: 10, activation: softmax, kernel_initializer: {class_name: GlorotUniform, config: {seed: null}}, rate: 1.0}}]
compile:
  optimizer: {name: SGD, learning_rate: 1, momentum: 0.9, nesterov: true}
  loss: {name: categorical_crossentropy, from_logits: true, label_smoothing: 0.1}
  loss_semantics: probabilities
fit: {verbose: auto, shuffle: false, epochs: 3.0}
`
	e, err := config.Parse([]byte(src), "x.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	wantArgs := map[string]any{"units": 10, "activation": "softmax", "rate": 1.0,
		"kernel_initializer": map[string]any{"class_name": "GlorotUniform", "config": map[string]any{"seed": nil}}}
	if !reflect.DeepEqual(e.Model[0].Args, wantArgs) {
		t.Errorf("args = %#v", e.Model[0].Args)
	}
	wantOpt := config.OptimizerSpec{Name: "SGD", Args: map[string]any{"learning_rate": 1, "momentum": 0.9, "nesterov": true}, Line: 4}
	if !reflect.DeepEqual(e.Compile.Optimizer, wantOpt) {
		t.Errorf("optimizer = %+v", e.Compile.Optimizer)
	}
	wantLoss := config.LossSpec{Name: "categorical_crossentropy", FromLogits: true, LabelSmoothing: 0.1, Line: 5}
	if e.Compile.Loss != wantLoss {
		t.Errorf("loss = %+v", e.Compile.Loss)
	}
	if e.Compile.LossSemantics != "probabilities" || e.Fit.Verbose != 1 || e.Fit.Shuffle || e.Fit.Epochs != 3 {
		t.Errorf("compile %+v fit %+v", e.Compile, e.Fit)
	}
}

func TestAliases(t *testing.T) {
	src := `data: {dataset: mnist}
model:
  - Dense: &d {units: 10, activation: relu}
  - Dense: *d
compile: {optimizer: sgd, loss: mse}
`
	e, err := config.Parse([]byte(src), "x.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(e.Model[0].Args, e.Model[1].Args) {
		t.Errorf("alias not followed: %v vs %v", e.Model[0].Args, e.Model[1].Args)
	}
}

func TestResolve(t *testing.T) {
	e := &config.Experiment{Path: filepath.Join("exp", "sub", "a.yaml")}
	if got, want := e.Resolve("x.npy"), filepath.Join("exp", "sub", "x.npy"); got != want {
		t.Errorf("Resolve(x.npy) = %q, want %q", got, want)
	}
	if got := e.Resolve("/abs/x.npy"); got != "/abs/x.npy" {
		t.Errorf("Resolve(/abs/x.npy) = %q", got)
	}
	if got := (&config.Experiment{}).Resolve("x.npy"); got != "x.npy" {
		t.Errorf("Resolve without Path = %q", got)
	}
	if got := e.Resolve(""); got != "" {
		t.Errorf("Resolve(\"\") = %q", got)
	}
}

// roundTrip checks that Parse(Marshal(e)) == e.
func roundTrip(t *testing.T, e *config.Experiment) []byte {
	t.Helper()
	b, err := e.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	e2, err := config.Parse(b, "canonical.yaml", nil)
	if err != nil {
		t.Fatalf("canonical form does not parse: %v\n%s", err, b)
	}
	if got, want := noLines(e2), noLines(e); !reflect.DeepEqual(got, want) {
		t.Errorf("round trip changed the experiment:\ngot  %+v\nwant %+v\n%s", got, want, b)
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	srcs := []string{
		"", // the seed file
		`seed: -7
data: {csv: {train: "a b.csv", label: "#label", header: "no"}, scale: "0.5", limit: 3}
model:
  - Input: {shape: [2]}
  - Dense: {units: 4, activation: null, use_bias: false, bias: 1.0, big: 18446744073709551615, s: "true", n: "12", e: [], m: {}, nested: [[1, 2.5], {k: v}], date: "2001-12-14", "<<": x, "~": y}
compile:
  optimizer: {name: adam, learning_rate: 1e-3, beta_1: 0.9, epsilon: 1e-07, amsgrad: false, wd: .inf}
  loss: {name: binary_crossentropy, label_smoothing: 0.2}
  metrics: [accuracy, "auc"]
fit: {batch_size: 1, epochs: 5, validation_split: 0.25, shuffle: false, initial_epoch: 4, verbose: 2}
`,
		`data: {train: {x: x.npy, y: y.npy}, test: {x: 1.npy, y: 2.npy}, scale: 0x10, labels: int}
model: [{Flatten: }]
compile: {optimizer: sgd, loss: {name: mse, from_logits: true}}
fit: {validation_data: test, validation_batch_size: 7, threads: 3}
`,
		"data: {npz: n.npz, scale: 1e3}\nmodel: [{Dense: {units: 1}}]\ncompile: {optimizer: sgd, loss: mse}\n",
	}
	for i, src := range srcs {
		var e *config.Experiment
		var err error
		if src == "" {
			e, err = config.Load("testdata/seed.yaml", nil)
		} else {
			e, err = config.Parse([]byte(src), "x.yaml", nil)
		}
		if err != nil {
			t.Fatalf("source %d: %v", i, err)
		}
		roundTrip(t, e)
	}
}

func TestCanonical(t *testing.T) {
	e, err := config.Load("testdata/seed.yaml", []string{"data.scale=1/255", "compile.optimizer.momentum=0.5"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"seed": 1,
		"data": map[string]any{"dataset": "mnist", "scale": "1/255", "labels": "onehot", "limit": 1000, "validation_limit": 500},
		"model": []any{
			map[string]any{"Input": map[string]any{"shape": []any{28, 28}}},
			map[string]any{"Flatten": map[string]any{}},
			map[string]any{"Dense": map[string]any{"units": 10, "activation": "sigmoid"}},
		},
		"compile": map[string]any{
			"optimizer":      map[string]any{"name": "sgd", "learning_rate": 0.01, "momentum": 0.5},
			"loss":           "categorical_crossentropy",
			"metrics":        []any{"accuracy"},
			"loss_semantics": "logits",
		},
		"fit": map[string]any{"batch_size": 32, "epochs": 10, "validation_data": "test", "shuffle": true,
			"initial_epoch": 0, "verbose": 1, "validation_batch_size": 32},
	}
	if got := e.Canonical(); !reflect.DeepEqual(got, want) {
		t.Errorf("Canonical:\ngot  %#v\nwant %#v", got, want)
	}
	b := roundTrip(t, e)
	const wantYAML = `seed: 1
data:
  dataset: mnist
  scale: 1/255
  labels: onehot
  limit: 1000
  validation_limit: 500
model:
  - Input: {shape: [28, 28]}
  - Flatten: {}
  - Dense: {activation: sigmoid, units: 10}
compile:
  optimizer: {name: sgd, learning_rate: 0.01, momentum: 0.5}
  loss: categorical_crossentropy
  metrics: [accuracy]
  loss_semantics: logits
fit:
  batch_size: 32
  epochs: 10
  validation_data: test
  shuffle: true
  initial_epoch: 0
  verbose: 1
  validation_batch_size: 32
`
	if string(b) != wantYAML {
		t.Errorf("Marshal:\n%s\nwant\n%s", b, wantYAML)
	}
	// yaml.Marshal uses MarshalYAML.
	b2, err := yaml.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	e2, err := config.Parse(b2, "m.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(noLines(e2), noLines(e)) {
		t.Errorf("yaml.Marshal round trip:\n%s", b2)
	}
}

// TestErrors checks every kind of mistake: the message must name the file,
// the line and the key, and contain the fix.
func TestErrors(t *testing.T) {
	const (
		dataOK    = "data: {dataset: mnist}\n"
		modelOK   = "model: [{Dense: {units: 10}}]\n"
		compileOK = "compile: {optimizer: sgd, loss: mse}\n"
		ok        = dataOK + modelOK + compileOK
	)
	for _, tc := range []struct {
		name, src string
		line      int    // 0: no line expected
		key       string // "" : no key expected
		want      []string
	}{
		// YAML syntax.
		{"tab", ok + "fit:\n\tepochs: 3\n", 5, "", []string{"YAML syntax error", "tab"}},
		{"indent", ok + "fit:\n  epochs: 3\n batch_size: 4\n", 6, "", []string{"YAML syntax error", "indentation"}},
		{"unclosed flow", ok + "fit: {epochs: 3\n", 4, "", []string{"YAML syntax error", "not closed"}},
		{"colon in value", "seed: a: b\n" + ok, 1, "", []string{"YAML syntax error", "quote the value"}},
		{"control char", ok + "fit: {epochs: \"\x01\"}\n", 4, "", []string{"YAML syntax error", "control characters"}},
		{"unknown anchor", ok + "fit: *nope\n", 4, "", []string{"YAML syntax error", "anchor"}},
		{"two documents", ok + "---\nseed: 2\n", 4, "", []string{"more than one YAML document", "---"}},
		{"empty", "# nothing\n", 0, "", []string{"empty", "data"}},
		{"top is a list", "- data\n", 1, "", []string{"expected a map", "got a list"}},
		// Unknown keys.
		{"unknown top key", ok + "modle: []\n", 4, "modle", []string{`did you mean "model"`, "Valid keys in the top level: seed, data, model, compile, fit"}},
		{"unknown fit key", ok + "fit:\n  epoch: 3\n", 5, "fit.epoch", []string{`did you mean "epochs"`, "batch_size"}},
		{"batchsize", ok + "fit: {batchsize: 3}\n", 4, "fit.batchsize", []string{`did you mean "batch_size"`}},
		{"unknown data key", "data:\n  datset: mnist\n" + modelOK + compileOK, 2, "data.datset", []string{`did you mean "dataset"`}},
		{"misplaced key", ok + "epochs: 3\n", 4, "epochs", []string{"belongs in the fit section"}},
		{"lr in compile", dataOK + modelOK + "compile: {optimizer: sgd, loss: mse, learning_rate: 0.1}\n", 3, "compile.learning_rate",
			[]string{"optimizer argument", "{name: sgd, learning_rate"}},
		{"unknown loss key", dataOK + modelOK + "compile: {optimizer: sgd, loss: {name: mse, reduction: sum}}\n", 3, "compile.loss.reduction",
			[]string{"unknown key", "name, from_logits, label_smoothing"}},
		{"duplicate key", ok + "fit:\n  epochs: 3\n  epochs: 4\n", 6, "fit.epochs", []string{"appears twice (first at line 5)"}},
		{"merge key", ok + "fit:\n  <<: {epochs: 3}\n", 5, "fit.<<", []string{"merge keys"}},
		// Wrong types.
		{"epochs ten", ok + "fit:\n  epochs: ten\n", 5, "fit.epochs", []string{"whole number", `"ten"`, "epochs: 10"}},
		{"batch_size 3.5", ok + "fit: {batch_size: 3.5}\n", 4, "fit.batch_size", []string{"whole number", "batch_size: 32"}},
		{"huge epochs", ok + "fit: {epochs: 99999999999999999999999}\n", 4, "fit.epochs", []string{"too large"}},
		{"shuffle yes", ok + "fit: {shuffle: yes}\n", 4, "fit.shuffle", []string{"true or false"}},
		{"seed string", "seed: abc\n" + ok, 1, "seed", []string{"whole number", "seed: 1"}},
		{"fit a list", ok + "fit: [1]\n", 4, "fit", []string{"expected a map", "got a list"}},
		{"metrics string", dataOK + modelOK + "compile: {optimizer: sgd, loss: mse, metrics: accuracy}\n", 3, "compile.metrics", []string{"list", "[accuracy]"}},
		{"metrics item", dataOK + modelOK + "compile: {optimizer: sgd, loss: mse, metrics: [1]}\n", 3, "compile.metrics.0", []string{"metric name"}},
		{"from_logits", dataOK + modelOK + "compile: {optimizer: sgd, loss: {name: mse, from_logits: yes}}\n", 3, "compile.loss.from_logits", []string{"true or false"}},
		{"label_smoothing", dataOK + modelOK + "compile: {optimizer: sgd, loss: {name: mse, label_smoothing: 2}}\n", 3, "compile.loss.label_smoothing", []string{"between 0 and 1"}},
		{"optimizer number", dataOK + modelOK + "compile: {optimizer: 3, loss: mse}\n", 3, "compile.optimizer", []string{"optimizer name or map", "name: sgd"}},
		{"optimizer no name", dataOK + modelOK + "compile:\n  optimizer: {learning_rate: 0.1}\n  loss: mse\n", 4, "compile.optimizer.name", []string{"name is missing"}},
		{"loss list", dataOK + modelOK + "compile: {optimizer: sgd, loss: [mse]}\n", 3, "compile.loss", []string{"loss name or map"}},
		{"dataset number", "data: {dataset: 7}\n" + modelOK + compileOK, 1, "data.dataset", []string{"expected a name", "dataset: mnist"}},
		{"unknown dataset", "data: {dataset: cifar10}\n" + modelOK + compileOK, 1, "data.dataset", []string{"unknown dataset", "mnist", "npz"}},
		// Model items.
		{"model two keys", dataOK + "model:\n  - Input: {shape: [2]}\n  - Dense:\n    units: 3\n" + compileOK, 4, "model.1",
			[]string{"one-key map", "Dense, units", "indent"}},
		{"model bare name", dataOK + "model:\n  - Flatten\n" + compileOK, 3, "model.0", []string{`"- Flatten: {}"`}},
		{"model not a list", dataOK + "model: {Dense: {units: 3}}\n" + compileOK, 2, "model", []string{"list of layers", "- "}},
		{"model empty", dataOK + "model: []\n" + compileOK, 2, "model", []string{"no layers"}},
		{"layer args scalar", dataOK + "model:\n  - Dense: 10\n" + compileOK, 3, "model.0.Dense", []string{"must be a map", "{units: 10}"}},
		{"layer name number", dataOK + "model:\n  - 12: {}\n" + compileOK, 3, "model.0", []string{"class name", "Dense"}},
		{"layer item number", dataOK + "model:\n  - 12\n" + compileOK, 3, "model.0", []string{"one-key map"}},
		// Ranges and combinations.
		{"batch_size 0", ok + "fit:\n  batch_size: 0\n", 5, "fit.batch_size", []string{"at least 1"}},
		{"batch_size -4", ok + "fit: {batch_size: -4}\n", 4, "fit.batch_size", []string{"at least 1"}},
		{"epochs 0", ok + "fit: {epochs: 0}\n", 4, "fit.epochs", []string{"at least 1", "epochs: 10"}},
		{"validation_split 1.5", ok + "fit: {validation_split: 1.5}\n", 4, "fit.validation_split", []string{"between 0 and 1", "validation_split: 0.1"}},
		{"validation_split 0", ok + "fit: {validation_split: 0}\n", 4, "fit.validation_split", []string{"between 0 and 1"}},
		{"validation_split nan", ok + "fit: {validation_split: .nan}\n", 4, "fit.validation_split", []string{"finite"}},
		{"split and data", ok + "fit:\n  validation_data: test\n  validation_split: 0.1\n", 6, "fit.validation_split", []string{"both given", "keep one"}},
		{"validation_data bad", ok + "fit: {validation_data: train}\n", 4, "fit.validation_data", []string{`"test"`}},
		{"no test split", "data: {train: {x: a.npy, y: b.npy}}\n" + modelOK + compileOK + "fit: {validation_data: test}\n", 4,
			"fit.validation_data", []string{"no test split", "data.test", "validation_split"}},
		{"csv no test", "data: {csv: {train: a.csv, label: y}}\n" + modelOK + compileOK + "fit: {validation_data: test}\n", 4,
			"fit.validation_data", []string{"no test split", "data.csv.test"}},
		{"two sources", "data:\n  dataset: mnist\n  npz: a.npz\n" + modelOK + compileOK, 3, "data.npz", []string{"two sources", "dataset (line 2)", "keep exactly one"}},
		{"no source", "data:\n  scale: 1\n" + modelOK + compileOK, 1, "data", []string{"no source", "dataset: mnist"}},
		{"test without train", "data: {dataset: mnist, test: {x: a.npy, y: b.npy}}\n" + modelOK + compileOK, 1, "data.test", []string{"goes with train"}},
		{"train missing y", "data:\n  train: {x: a.npy}\n" + modelOK + compileOK, 2, "data.train.y", []string{"missing", "{x: x_train.npy, y: y_train.npy}"}},
		{"train a string", "data:\n  train: a.npy\n" + modelOK + compileOK, 2, "data.train", []string{"map of .npy files"}},
		{"csv no label", "data:\n  csv: {train: a.csv}\n" + modelOK + compileOK, 2, "data.csv.label", []string{"needs label"}},
		{"mnist_dir alone", "data: {npz: a.npz, mnist_dir: m}\n" + modelOK + compileOK, 1, "data.mnist_dir", []string{"dataset: mnist"}},
		{"labels bad", "data: {dataset: mnist, labels: one_hot}\n" + modelOK + compileOK, 1, "data.labels", []string{`"onehot" or "int"`}},
		{"scale bad string", "data:\n  dataset: mnist\n  scale: one/255\n" + modelOK + compileOK, 3, "data.scale", []string{"fraction", `"1/255"`}},
		{"scale divide by zero", "data: {dataset: mnist, scale: 1/0}\n" + modelOK + compileOK, 1, "data.scale", []string{"fraction"}},
		{"scale negative", "data: {dataset: mnist, scale: -2}\n" + modelOK + compileOK, 1, "data.scale", []string{"above 0"}},
		{"scale list", "data: {dataset: mnist, scale: [1]}\n" + modelOK + compileOK, 1, "data.scale", []string{"a list"}},
		{"loss_semantics", dataOK + modelOK + "compile: {optimizer: sgd, loss: mse, loss_semantics: probs}\n", 3, "compile.loss_semantics",
			[]string{`"logits" or "probabilities"`}},
		{"learning_rate 0", dataOK + modelOK + "compile:\n  optimizer: {name: sgd, learning_rate: 0}\n  loss: mse\n", 4,
			"compile.optimizer.learning_rate", []string{"above 0", "learning_rate: 0.01"}},
		{"learning_rate negative", dataOK + modelOK + "compile: {optimizer: {name: sgd, learning_rate: -0.1}, loss: mse}\n", 3,
			"compile.optimizer.learning_rate", []string{"above 0"}},
		{"learning_rate string", dataOK + modelOK + "compile: {optimizer: {name: sgd, learning_rate: fast}, loss: mse}\n", 3,
			"compile.optimizer.learning_rate", []string{"expected a number", `"fast"`}},
		{"learning_rate null", dataOK + modelOK + "compile: {optimizer: {name: sgd, learning_rate: }, loss: mse}\n", 3,
			"compile.optimizer.learning_rate", []string{"expected a number"}},
		{"initial_epoch", ok + "fit:\n  epochs: 3\n  initial_epoch: 3\n", 6, "fit.initial_epoch", []string{"epochs is 3", "larger"}},
		{"limit negative", "data:\n  dataset: mnist\n  limit: -1\n" + modelOK + compileOK, 3, "data.limit", []string{"at least 0"}},
		{"validation_limit negative", "data: {dataset: mnist, validation_limit: -5}\n" + modelOK + compileOK, 1, "data.validation_limit", []string{"at least 0"}},
		{"verbose 3", ok + "fit: {verbose: 3}\n", 4, "fit.verbose", []string{"0 (silent)"}},
		{"validation_batch_size 0", ok + "fit: {validation_batch_size: 0}\n", 4, "fit.validation_batch_size", []string{"at least 1"}},
		{"threads 0", ok + "fit: {threads: 0}\n", 4, "fit.threads", []string{"at least 1", "every core", "threads: 2"}},
		{"threads string", ok + "fit: {threads: all}\n", 4, "fit.threads", []string{"threads: 2"}},
		// Missing sections and keys.
		{"no data", modelOK + compileOK, 0, "data", []string{"missing", "dataset: mnist"}},
		{"no model", dataOK + compileOK, 0, "model", []string{"missing", "{Input: {shape"}},
		{"no compile", dataOK + modelOK, 0, "compile", []string{"missing", "optimizer"}},
		{"no loss", dataOK + modelOK + "compile:\n  optimizer: sgd\n", 3, "compile.loss", []string{"missing", "loss: categorical_crossentropy"}},
		{"no optimizer", dataOK + modelOK + "compile:\n  loss: mse\n", 3, "compile.optimizer", []string{"missing", "optimizer: sgd"}},
		{"null data", "data:\n" + modelOK + compileOK, 1, "data", []string{"missing"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Parse([]byte(tc.src), "exp.yaml", nil)
			checkErr(t, err, "exp.yaml", tc.line, "", tc.key, tc.want)
		})
	}
}

// checkErr checks that err is a one-paragraph *config.Error with the given
// file, line, set, key and message fragments.
func checkErr(t *testing.T, err error, file string, line int, set, key string, want []string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	var ce *config.Error
	if !errors.As(err, &ce) {
		t.Fatalf("%T is not a *config.Error: %v", err, err)
	}
	if ce.File != file || ce.Line != line || ce.Key != key || ce.Set != set {
		t.Errorf("file %q line %d set %q key %q, want %q %d %q %q\n%s", ce.File, ce.Line, ce.Set, ce.Key, file, line, set, key, msg)
	}
	prefix := file
	if line > 0 {
		prefix += ":" + strconv.Itoa(line)
	}
	prefix += ": "
	if set != "" {
		prefix += "--set " + set + ": "
	}
	if key != "" {
		prefix += key + ": "
	}
	if !strings.HasPrefix(msg, prefix) {
		t.Errorf("message does not start with %q:\n%s", prefix, msg)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("message lacks %q:\n%s", w, msg)
		}
	}
	if strings.Contains(msg, "\n\n") {
		t.Errorf("message is more than one paragraph:\n%s", msg)
	}
}

func TestExampleFilesParse(t *testing.T) {
	// Every experiment file shipped with kiln must parse.
	paths, _ := filepath.Glob("../examples/*.yaml")
	more, _ := filepath.Glob("../examples/*.json")
	keras, _ := filepath.Glob("../examples/keras/*.yaml")
	more = append(more, keras...)
	for _, p := range append(paths, more...) {
		if _, err := os.Stat(p); err != nil {
			continue
		}
		e, err := config.Load(p, nil)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		roundTrip(t, e)
	}
}
