package config_test

import (
	"reflect"
	"testing"

	"github.com/kiln-ml/kiln/config"
)

const setBase = `seed: 1
data: {dataset: mnist}
model:
  - Input: {shape: [28, 28]}
  - Flatten:
  - Dense: &d {units: 10, activation: sigmoid}
  - Dense: *d
compile:
  optimizer: sgd
  loss: categorical_crossentropy
fit:
  epochs: 10
  validation_data: test
`

func TestSet(t *testing.T) {
	for _, tc := range []struct {
		name  string
		sets  []string
		check func(e *config.Experiment) bool
	}{
		{"int", []string{"fit.epochs=3"}, func(e *config.Experiment) bool { return e.Fit.Epochs == 3 }},
		{"spaces around", []string{" fit.epochs = 3"}, func(e *config.Experiment) bool { return e.Fit.Epochs == 3 }},
		{"bare optimizer to map", []string{"compile.optimizer.learning_rate=0.03"}, func(e *config.Experiment) bool {
			return e.Compile.Optimizer.Name == "sgd" && reflect.DeepEqual(e.Compile.Optimizer.Args, map[string]any{"learning_rate": 0.03}) &&
				e.Compile.Optimizer.Line == 9
		}},
		{"two optimizer args", []string{"compile.optimizer.learning_rate=0.03", "compile.optimizer.momentum=0.9"}, func(e *config.Experiment) bool {
			return reflect.DeepEqual(e.Compile.Optimizer.Args, map[string]any{"learning_rate": 0.03, "momentum": 0.9})
		}},
		{"replace optimizer", []string{"compile.optimizer.learning_rate=0.03", "compile.optimizer=adam"}, func(e *config.Experiment) bool {
			return e.Compile.Optimizer.Name == "adam" && len(e.Compile.Optimizer.Args) == 0 && e.Compile.Optimizer.Line == 0
		}},
		{"optimizer flow map", []string{"compile.optimizer={name: adam, learning_rate: 1e-3}"}, func(e *config.Experiment) bool {
			return e.Compile.Optimizer.Name == "adam" && e.Compile.Optimizer.Args["learning_rate"] == 0.001
		}},
		{"bare loss to map", []string{"compile.loss.from_logits=true", "compile.loss.label_smoothing=0.1"}, func(e *config.Experiment) bool {
			return e.Compile.Loss == config.LossSpec{Name: "categorical_crossentropy", FromLogits: true, LabelSmoothing: 0.1, Line: 10}
		}},
		{"layer arg by class", []string{"model.2.Dense.units=32"}, func(e *config.Experiment) bool {
			return e.Model[2].Args["units"] == 32 && e.Model[3].Args["units"] == 10 // the anchor is not changed
		}},
		{"layer arg short", []string{"model.3.units=64", "model.3.use_bias=false"}, func(e *config.Experiment) bool {
			return e.Model[3].Args["units"] == 64 && e.Model[3].Args["use_bias"] == false && e.Model[2].Args["units"] == 10
		}},
		{"null layer args", []string{"model.1.name=flat"}, func(e *config.Experiment) bool {
			return reflect.DeepEqual(e.Model[1].Args, map[string]any{"name": "flat"})
		}},
		{"list value", []string{"model.0.Input.shape=[784]"}, func(e *config.Experiment) bool {
			return reflect.DeepEqual(e.Model[0].Args["shape"], []any{784})
		}},
		{"list index", []string{"model.0.shape.1=14"}, func(e *config.Experiment) bool {
			return reflect.DeepEqual(e.Model[0].Args["shape"], []any{28, 14})
		}},
		{"replace layer", []string{"model.3={Dropout: {rate: 0.5}}"}, func(e *config.Experiment) bool {
			return e.Model[3].Type == "Dropout" && e.Model[3].Args["rate"] == 0.5 && e.Model[3].Line == 0
		}},
		{"unset and create", []string{"fit.validation_data=", "fit.validation_split=0.1"}, func(e *config.Experiment) bool {
			return e.Fit.ValidationData == "" && e.Fit.ValidationSplit == 0.1
		}},
		{"scale fraction", []string{"data.scale=1/255"}, func(e *config.Experiment) bool {
			return e.Data.Scale == 1.0/255 && e.Data.ScaleText == "1/255"
		}},
		{"scale quoted", []string{`data.scale="1/255"`}, func(e *config.Experiment) bool { return e.Data.ScaleText == "1/255" }},
		{"bool", []string{"fit.shuffle=false"}, func(e *config.Experiment) bool { return !e.Fit.Shuffle }},
		{"new section key", []string{"compile.metrics=[accuracy]", "compile.loss_semantics=probabilities"}, func(e *config.Experiment) bool {
			return reflect.DeepEqual(e.Compile.Metrics, []string{"accuracy"}) && e.Compile.LossSemantics == "probabilities"
		}},
		{"replace data", []string{"data={npz: m.npz}"}, func(e *config.Experiment) bool { return e.Data.NPZ == "m.npz" && e.Data.Dataset == "" }},
		{"later wins", []string{"fit.epochs=3", "fit.epochs=4"}, func(e *config.Experiment) bool { return e.Fit.Epochs == 4 }},
		{"value with =", []string{"model.3.name=a=b"}, func(e *config.Experiment) bool { return e.Model[3].Args["name"] == "a=b" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := config.Parse([]byte(setBase), "base.yaml", tc.sets)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(e) {
				t.Errorf("%v gave %+v", tc.sets, e)
			}
			roundTrip(t, e)
		})
	}
}

func TestSetCreatesSections(t *testing.T) {
	// A file may be all overrides.
	e, err := config.Parse(nil, "none.yaml", []string{
		"data.dataset=mnist", "model=[{Dense: {units: 3}}]", "compile.optimizer.name=sgd",
		"compile.loss=mse", "fit.batch_size=8", "seed=5",
	})
	if err != nil {
		t.Fatal(err)
	}
	if e.Seed != 5 || e.Data.Dataset != "mnist" || e.Model[0].Type != "Dense" || e.Compile.Optimizer.Name != "sgd" ||
		e.Fit.BatchSize != 8 || e.Model[0].Line != 0 {
		t.Errorf("got %+v", e)
	}
	// A null section becomes a map.
	src := "data: {dataset: mnist}\nmodel: [{Dense: }]\ncompile: {optimizer: sgd, loss: mse}\nfit:\n"
	e, err = config.Parse([]byte(src), "x.yaml", []string{"fit.epochs=2"})
	if err != nil || e.Fit.Epochs != 2 {
		t.Errorf("null fit: %v %+v", err, e)
	}
}

func TestSetErrors(t *testing.T) {
	for _, tc := range []struct {
		name, set string
		key       string
		want      []string
	}{
		{"no =", "fit.epochs", "", []string{"dotted.path=value"}},
		{"empty path", "=3", "", []string{"dotted.path=value"}},
		{"empty segment", "fit..epochs=3", "fit..epochs", []string{"empty part"}},
		{"through a scalar", "fit.epochs.max=3", "fit.epochs.max", []string{"fit.epochs is 10 (a number)", `no "max"`, "set fit.epochs itself"}},
		{"through top scalar", "seed.x=3", "seed.x", []string{"seed is 1", `no "x"`}},
		{"index out of range", "model.7.units=3", "model.7.units", []string{`"7" is not a layer index`, "4 layers", "0 to 3"}},
		{"negative index", "model.-1.units=3", "model.-1.units", []string{"not a layer index"}},
		{"name not index", "model.Dense.units=3", "model.Dense.units", []string{`"Dense" is not a layer index`}},
		{"through layer args scalar", "model.0.shape.x=3", "model.0.shape.x", []string{`"x" is not an index of model.0.shape`, "list of 2 items", "0 to 1"}},
		{"bad YAML", "fit.epochs=[1,", "fit.epochs", []string{"not valid YAML", "quote it"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Parse([]byte(setBase), "base.yaml", []string{"fit.batch_size=4", tc.set})
			checkErr(t, err, "base.yaml", 0, tc.set, tc.key, tc.want)
		})
	}
	// Errors in a value that came from an override name the override.
	for _, tc := range []struct {
		set, key string
		want     []string
	}{
		{"fit.epochs=ten", "fit.epochs", []string{"whole number", `"ten"`}},
		{"fit.epoch=3", "fit.epoch", []string{`did you mean "epochs"`}},
		{"compile.optimizer.learning_rate=-1", "compile.optimizer.learning_rate", []string{"above 0"}},
		{"model.2={Dense: 3}", "model.2.Dense", []string{"must be a map"}},
		{"fit.validation_split=0.2", "fit.validation_split", []string{"both given"}},
		{"data.scale=abc", "data.scale", []string{"fraction"}},
	} {
		t.Run(tc.set, func(t *testing.T) {
			_, err := config.Parse([]byte(setBase), "base.yaml", []string{tc.set})
			checkErr(t, err, "base.yaml", 0, tc.set, tc.key, tc.want)
		})
	}
}
