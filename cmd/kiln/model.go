package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/config"
	"github.com/kiln-ml/kiln/data"
	"github.com/kiln-ml/kiln/saving"
)

// openModel loads MODEL: a saved-model folder (package saving), or an
// experiment file plus --weights.
func openModel(path, weights string, sets []string, stderr io.Writer) (*saving.Saved, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		s, err := saving.Load(path, &saving.LoadOptions{Overrides: sets, Weights: weights, Warnings: stderr})
		if err != nil {
			return nil, &exitError{2, err}
		}
		return s, nil
	}
	var e *config.Experiment
	var err error
	if layers, ok, kerr := kerasJSONFile(path); ok {
		// A Keras model.to_json() file with its weights: predict and export
		// need no data or training settings (evaluate, which does, says so).
		if kerr != nil {
			return nil, &exitError{2, kerr}
		}
		e = &config.Experiment{Path: path, Model: layers, Compile: config.CompileSpec{
			Optimizer: config.OptimizerSpec{Name: "sgd", Args: map[string]any{}}, Loss: config.LossSpec{Name: "mean_squared_error"}}}
		stderr = io.Discard // about the stand-in loss
	} else if e, err = loadExperiment(context.Background(), path, sets, stderr); err != nil {
		return nil, &exitError{2, err}
	}
	if weights == "" {
		return nil, usageErr("%s: no weights given; pass --weights FILE.safetensors (from 'kiln fit --save DIR') or a saved model directory", path)
	}
	m, err := config.BuildModel(e, stderr)
	if err != nil {
		return nil, &exitError{2, err}
	}
	if err := m.LoadWeights(weights); err != nil {
		return nil, usageErr("%v", err)
	}
	return &saving.Saved{Model: m, Experiment: e}, nil
}

func cmdEvaluate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("evaluate", flag.ContinueOnError)
	var sets setFlags
	fs.Var(&sets, "set", "override a setting of the experiment: dotted.path=value (repeatable)")
	weights := fs.String("weights", "", "weights (.safetensors) for an experiment file")
	batch := fs.Int("batch-size", 32, "batch size")
	verbose := fs.Int("verbose", 1, "0 silent, 1 progress bar")
	asJSON := fs.Bool("json", false, "print the results as a JSON object")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: kiln evaluate MODEL [flags]\n\nEvaluates the model on its data's test split (or the training data if there is none).\n\nFlags:")
		fs.PrintDefaults()
	}
	pos, err := parse(fs, args, stderr)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("evaluate needs one MODEL (a saved directory or an experiment file), got %d arguments", len(pos))
	}
	if *batch <= 0 {
		return usageErr("--batch-size must be positive, got %d", *batch)
	}
	if _, ok, _ := kerasJSONFile(pos[0]); ok {
		return usageErr("%s is a Keras model file, which has no data to evaluate on; write an experiment with model: %s and a data section, or evaluate a 'kiln fit --save' folder", pos[0], filepath.Base(pos[0]))
	}
	s, err := openModel(pos[0], *weights, sets, stderr)
	if err != nil {
		return err
	}
	r, err := s.LoadData()
	if err != nil {
		return &exitError{2, err}
	}
	xy := r.Test
	if xy == nil {
		xy = &kiln.XY{X: r.X, Y: r.Y}
		fmt.Fprintf(stderr, "kiln: warning: the data has no test split: evaluating on the %d training rows, which the model has seen (add test data to the data section for an honest score)\n", r.X.Rows())
	} else {
		fmt.Fprintf(stderr, "kiln: evaluating on the test split (%d rows)\n", xy.X.Rows())
	}
	v := *verbose
	if *asJSON {
		v = 0
	}
	res, err := r.Model.Evaluate(ctx, xy.X, xy.Y, kiln.EvaluateOptions{BatchSize: *batch, Verbose: v, Out: stdout})
	if err != nil {
		return err
	}
	if *asJSON {
		obj := map[string]float64{}
		for i, n := range res.Names {
			obj[n] = res.Values[i]
		}
		b, _ := json.Marshal(obj)
		fmt.Fprintln(stdout, string(b))
	}
	return nil
}

func cmdPredict(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("predict", flag.ContinueOnError)
	var sets setFlags
	fs.Var(&sets, "set", "override a setting of the experiment: dotted.path=value (repeatable)")
	weights := fs.String("weights", "", "weights (.safetensors) for an experiment file")
	input := fs.String("input", "", "input .npy file, samples first (scaled by the experiment's data.scale, as in training)")
	output := fs.String("output", "", "output .npy file (float32, shape (N, units))")
	batch := fs.Int("batch-size", 32, "batch size")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: kiln predict MODEL --input x.npy --output y.npy [flags]\n\nFlags:")
		fs.PrintDefaults()
	}
	pos, err := parse(fs, args, stderr)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *input == "" || *output == "" {
		return usageErr("predict needs MODEL, --input x.npy and --output y.npy (see kiln predict -h)")
	}
	if *batch <= 0 {
		return usageErr("--batch-size must be positive, got %d", *batch)
	}
	if err := checkWritableDir(filepath.Dir(*output)); err != nil {
		return usageErr("--output %s: %v", *output, err)
	}
	s, err := openModel(pos[0], *weights, sets, stderr)
	if err != nil {
		return err
	}
	x, err := data.ReadNPY(*input)
	if err != nil {
		return usageErr("--input: %v", err)
	}
	y, err := s.Predict(ctx, x, kiln.EvaluateOptions{BatchSize: *batch})
	if err != nil {
		return &exitError{2, fmt.Errorf("--input %s: %w", *input, err)}
	}
	if err := data.WriteNPY(*output, y); err != nil {
		return fmt.Errorf("--output: %w", err)
	}
	fmt.Fprintf(stdout, "wrote %s: predictions of shape %s\n", *output, data.ShapeString(y.Shape))
	return nil
}

func cmdSummary(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("summary", flag.ContinueOnError)
	var sets setFlags
	fs.Var(&sets, "set", "override a setting: dotted.path=value (repeatable)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: kiln summary MODEL [flags]\n\nPrints the model's summary in Keras' layout. MODEL is an experiment file, a Keras program (.py),\na 'kiln fit --save' directory or a Keras model .json.\n\nFlags:")
		fs.PrintDefaults()
	}
	pos, err := parse(fs, args, stderr)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("summary needs one experiment file, Keras program, saved model directory or Keras model .json")
	}
	if st, err := os.Stat(pos[0]); err == nil && st.IsDir() {
		s, err := saving.Load(pos[0], &saving.LoadOptions{Overrides: sets, Warnings: stderr})
		if err != nil {
			return &exitError{2, err}
		}
		return s.Model.Summary(stdout)
	}
	var e *config.Experiment
	warn := stderr
	if layers, ok, err := kerasJSONFile(pos[0]); ok {
		// A Keras model.to_json() file on its own: no data, no compile.
		if err != nil {
			return &exitError{2, err}
		}
		if len(sets) > 0 {
			return usageErr("--set applies to experiment files; %s is a Keras model", pos[0])
		}
		e = &config.Experiment{Model: layers, Compile: config.CompileSpec{
			Optimizer: config.OptimizerSpec{Name: "sgd", Args: map[string]any{}}, Loss: config.LossSpec{Name: "mean_squared_error"}}}
		warn = io.Discard // about the stand-in loss
	} else if e, err = loadExperiment(context.Background(), pos[0], sets, stderr); err != nil {
		return &exitError{2, err}
	}
	m, err := config.BuildModel(e, warn)
	if err != nil {
		return &exitError{2, err}
	}
	return m.Summary(stdout)
}

// kerasJSONFile reports whether path is a Keras model JSON (rather than an
// experiment file written in JSON) and, if so, translates it.
func kerasJSONFile(path string) ([]config.LayerSpec, bool, error) {
	if !strings.HasSuffix(strings.ToLower(path), ".json") {
		return nil, false, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, false, nil // config.Load reports it
	}
	var top map[string]any
	if json.Unmarshal(b, &top) != nil {
		return nil, false, nil
	}
	_, class := top["class_name"]
	_, tfjs := top["modelTopology"]
	if !class && !tfjs {
		return nil, false, nil
	}
	layers, err := config.KerasModel(b, path)
	return layers, true, err
}
