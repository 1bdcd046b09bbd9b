package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/config"
	"github.com/kiln-ml/kiln/data"
	"github.com/kiln-ml/kiln/export/onnx"
	"github.com/kiln-ml/kiln/internal/atomicfile"
	"github.com/kiln-ml/kiln/tensor"
)

// Files of a saved model directory.
const (
	savedExperiment = "experiment.yaml"
	savedConfig     = "config.json"
	savedWeights    = "model.safetensors"
	savedONNX       = "model.onnx"
)

// saveModel writes the experiment (data paths made absolute), a Keras-style
// model config and the weights into dir. Each file is written atomically.
func saveModel(dir string, r *config.Run, stderr io.Writer) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	e := *r.Exp
	e.Data = absData(r.Exp)
	y, err := e.Marshal()
	if err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, savedExperiment), y); err != nil {
		return err
	}
	cfg, err := json.MarshalIndent(r.Model.Config(), "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, savedConfig), append(cfg, '\n')); err != nil {
		return err
	}
	if err := r.Model.SaveWeights(filepath.Join(dir, savedWeights)); err != nil {
		return err
	}
	// The ONNX file is a convenience for other tools: a model it cannot
	// express is still saved.
	if err := onnx.Save(filepath.Join(dir, savedONNX), r.Model, onnxOptions(r.Exp, 0)); err != nil {
		fmt.Fprintf(stderr, "kiln: warning: --save: no %s: %v\n", savedONNX, err)
	}
	return nil
}

// onnxOptions are the ONNX export options for an experiment: the graph
// takes the data as the experiment reads it, before data.scale.
func onnxOptions(e *config.Experiment, opset int) onnx.Options {
	o := onnx.Options{Opset: opset, ProducerVersion: kilnVersion()}
	if s := e.Data.Scale; s != 0 && s != 1 {
		o.InputScale = float32(s)
	}
	return o
}

// kilnVersion is the kiln module's version from the build info, or "devel".
func kilnVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

func absData(e *config.Experiment) config.DataSpec {
	d := e.Data
	abs := func(p string) string {
		if p == "" {
			return ""
		}
		a, err := filepath.Abs(e.Resolve(p))
		if err != nil {
			return p
		}
		return a
	}
	d.MNISTDir, d.NPZ = abs(d.MNISTDir), abs(d.NPZ)
	if d.Train != nil {
		d.Train = &config.XYFiles{X: abs(d.Train.X), Y: abs(d.Train.Y)}
	}
	if d.Test != nil {
		d.Test = &config.XYFiles{X: abs(d.Test.X), Y: abs(d.Test.Y)}
	}
	if d.CSV != nil {
		c := *d.CSV
		c.Train, c.Test = abs(c.Train), abs(c.Test)
		d.CSV = &c
	}
	return d
}

// openModel loads MODEL: a saved directory, or an experiment file plus
// --weights (without weights, the freshly initialised model).
func openModel(path, weights string, sets []string, stderr io.Writer) (*config.Run, error) {
	exp := path
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		exp = filepath.Join(path, savedExperiment)
		if weights == "" {
			weights = filepath.Join(path, savedWeights)
		}
		if _, err := os.Stat(exp); err != nil {
			return nil, usageErr("%s is a directory without %s; pass a directory written by 'kiln fit --save DIR' or an experiment file", path, savedExperiment)
		}
	}
	r, err := loadRun(exp, sets, 0, false, stderr)
	if err != nil {
		return nil, err
	}
	if weights == "" {
		return nil, usageErr("%s: no weights given; pass --weights FILE.safetensors (from 'kiln fit --save DIR') or a saved model directory", path)
	}
	if err := r.Model.LoadWeights(weights); err != nil {
		return nil, usageErr("%v", err)
	}
	return r, nil
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
	r, err := openModel(pos[0], *weights, sets, stderr)
	if err != nil {
		return err
	}
	xy := r.Test
	if xy == nil {
		xy = &kiln.XY{X: r.X, Y: r.Y}
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
	r, err := openModel(pos[0], *weights, sets, stderr)
	if err != nil {
		return err
	}
	x, err := data.ReadNPY(*input)
	if err != nil {
		return usageErr("--input: %v", err)
	}
	in := r.Model.InputShape()
	if len(x.Shape) == len(in) && slices.Equal(x.Shape, in) {
		x = x.Reshaped(append([]int{1}, in...)) // one sample without the batch axis
	} else if len(x.Shape) == 2 && len(in) > 1 && x.Shape[1] == tensor.Size(in) {
		x = x.Reshaped(append([]int{x.Rows()}, in...))
	}
	if s := r.Exp.Data.Scale; s != 0 && s != 1 {
		x = x.WithScale(s)
	}
	y, err := r.Model.Predict(ctx, x, kiln.EvaluateOptions{BatchSize: *batch})
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
	pos, err := parse(fs, args, stderr)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("summary needs one experiment file (or a Keras model .json)")
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
	} else if e, err = config.Load(pos[0], sets); err != nil {
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
