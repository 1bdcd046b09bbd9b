package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/kiln-ml/kiln/internal/value"
)

// Experiment is one experiment file: data, model, compile and fit settings,
// after overrides and defaults.
type Experiment struct {
	// Path is the file the experiment was read from ("" if it was parsed
	// from bytes); relative data paths resolve against its directory.
	Path string
	// Seed seeds every random choice (weights, shuffling, dropout); 0 if
	// the file has no seed.
	Seed int64
	// SeedGiven reports whether the file (or an override) sets seed; without
	// it kiln trains with seed 0, the same every run, where Keras would draw
	// a random seed.
	SeedGiven bool
	// Data says where the training and validation data come from.
	Data DataSpec
	// Model lists the layers of the Sequential model, first to last.
	Model []LayerSpec
	// Compile holds the arguments of Keras' model.compile.
	Compile CompileSpec
	// Fit holds the arguments of Keras' model.fit.
	Fit FitSpec
}

// DataSpec is the data section. Exactly one of Dataset, NPZ, Train and CSV
// is set.
type DataSpec struct {
	// Dataset names a built-in dataset: "mnist" or "".
	Dataset string
	// MNISTDir (key mnist_dir) is where the MNIST files are; "" for the
	// default location. Only with Dataset "mnist".
	MNISTDir string
	// NPZ is a NumPy .npz file holding x_train, y_train, x_test and y_test.
	NPZ string
	// Train and Test are .npy pairs; Test is optional.
	Train, Test *XYFiles
	// CSV names CSV files and their label column.
	CSV *CSVSpec
	// Scale multiplies every feature (Keras' x / 255 is scale "1/255");
	// 1 when the file does not say.
	Scale float64
	// ScaleText is the scale as written (e.g. "1/255"), for messages.
	ScaleText string
	// Standardize (key standardize: true) standardises every feature,
	// x = (x − mean) / std, with the mean and standard deviation of the rows
	// fit trains on (after limit and scale; without the validation_split
	// rows), and applies the same statistics to the test split: Keras'
	// Normalization layer after adapt(x_train). A feature with std 0 is
	// only centred.
	Standardize bool
	// Labels is "onehot" (Keras' to_categorical), "int" (class indices),
	// or "" (use the labels as stored).
	Labels string
	// Limit, if positive, keeps only the first Limit training rows.
	Limit int
	// ValidationLimit, if positive, keeps only the first ValidationLimit
	// validation rows.
	ValidationLimit int
}

// XYFiles names the .npy files of the features (X) and labels (Y).
type XYFiles struct{ X, Y string }

// CSVSpec names CSV files: Train (required) and Test (optional), the Label
// column (required), and Header, the header setting as written ("" if not
// given).
type CSVSpec struct{ Train, Test, Label, Header string }

// LayerSpec is one item of the model list, e.g. "- Dense: {units: 10}".
type LayerSpec struct {
	// Type is the Keras class name as written, e.g. "Dense".
	Type string
	// Args are the layer's arguments as decoded YAML values: int, float64,
	// string, bool, nil, []any and map[string]any. Never nil.
	Args map[string]any
	// Line is the item's line in the file (0 if it came from an override).
	Line int
}

// CompileSpec holds the arguments of Keras' model.compile.
type CompileSpec struct {
	// Optimizer is the optimizer and its arguments.
	Optimizer OptimizerSpec
	// Loss is the loss function and its arguments.
	Loss LossSpec
	// Metrics are metric names as written, e.g. ["accuracy"].
	Metrics []string
	// LossSemantics says how a cross-entropy treats a softmax or sigmoid
	// output: "logits" (Keras' TF backend: it uses the pre-activation
	// values), "probabilities" (the TF.js, JAX and torch backends), or ""
	// for kiln's default, logits.
	LossSemantics string
}

// OptimizerSpec is compile.optimizer, written as a name ("sgd") or a map
// ({name: sgd, learning_rate: 0.01, ...}).
type OptimizerSpec struct {
	// Name is the optimizer's name as written.
	Name string
	// Args holds every key of the map except name (learning_rate,
	// momentum, ...), as decoded YAML values like LayerSpec.Args. Never nil.
	Args map[string]any
	// Line is the optimizer's line in the file (0 if from an override).
	Line int
}

// LossSpec is compile.loss, written as a name or as a map with the keys
// name, from_logits and label_smoothing.
type LossSpec struct {
	// Name is the loss's name as written.
	Name string
	// FromLogits is the loss's from_logits argument.
	FromLogits bool
	// LabelSmoothing is the loss's label_smoothing argument, in [0, 1].
	LabelSmoothing float64
	// Line is the loss's line in the file (0 if from an override).
	Line int
}

// FitSpec holds the arguments of Keras' model.fit.
type FitSpec struct {
	// BatchSize is the number of rows per step; default 32.
	BatchSize int
	// Epochs is the epoch to stop after; default 1, as in Keras.
	Epochs int
	// ValidationData is "test" to validate on the data's test split, or "".
	ValidationData string
	// ValidationSplit, if positive, holds out this fraction (in (0, 1)) of
	// the training rows, from the end, for validation.
	ValidationSplit float64
	// Shuffle shuffles the training rows every epoch; default true.
	Shuffle bool
	// InitialEpoch is the epoch to start at (for resuming); default 0.
	InitialEpoch int
	// Verbose is 0 (silent), 1 (progress bar) or 2 (one line per epoch);
	// default 1 (Keras' "auto", which is also accepted).
	Verbose int
	// ValidationBatchSize is the batch size for validation; 0 means
	// BatchSize.
	ValidationBatchSize int
	// Threads is the number of cores a training step uses; 0 (not given)
	// means every core. Results do not depend on it (see
	// kiln.FitOptions.Threads).
	Threads int
	// ClassWeight is Keras' class_weight (class index → weight), nil if
	// not given.
	ClassWeight map[int]float64
	// Callbacks are Keras callbacks, one-key maps like the model's layers:
	// EarlyStopping, ModelCheckpoint and CSVLogger with Keras' arguments.
	Callbacks []LayerSpec
	// ClassWeightBalanced is class_weight: balanced: each class weighs
	// n_samples / (n_classes · its count) in the training data, like
	// scikit-learn's compute_class_weight("balanced").
	ClassWeightBalanced bool
}

// Datasets lists the values data.dataset accepts.
var Datasets = []string{"mnist"}

// Error is a problem with an experiment file or an override. Its message is
// one paragraph: where, which key, what is wrong and how to fix it.
type Error struct {
	// File is the file name given to Load or Parse.
	File string
	// Line is the 1-based line of the problem, or 0 if unknown or if the
	// problem came from an override.
	Line int
	// Set is the --set argument responsible, if any.
	Set string
	// Key is the dotted path of the offending key, e.g. "fit.epochs"
	// (the --set syntax); "" for problems with the file as a whole.
	Key string
	// Msg says what is wrong and how to fix it.
	Msg string
}

// Error formats e as "file:line: key: message", or with "--set arg" in place
// of the line when an override is to blame.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Set != "" {
		fmt.Fprintf(&b, "--set %s: ", e.Set)
	}
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Load reads the experiment file at path, applies the overrides in sets
// (each "dotted.path=value", as given to --set) and checks the result.
func Load(path string, sets []string) (*Experiment, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		msg := "cannot read the experiment file: " + err.Error()
		if errors.Is(err, fs.ErrNotExist) {
			msg = "no such experiment file; check the path (examples/seed.yaml is the question's program)"
		}
		return nil, &Error{File: path, Msg: msg}
	}
	e, err := Parse(src, path, sets)
	if err != nil {
		return nil, err
	}
	e.Path = path
	return e, nil
}

// Parse reads an experiment from src, applies the overrides in sets (each
// "dotted.path=value", as given to --set) and checks the result. name is
// the file name to use in error messages; the returned Experiment's Path
// is "" (Load sets it).
func Parse(src []byte, name string, sets []string) (*Experiment, error) {
	if name == "" {
		name = "<input>"
	}
	d := &decoder{file: name, sets: sets, budget: maxValueNodes}
	root, err := d.parseYAML(src)
	if err != nil {
		return nil, err
	}
	// A Keras model file becomes the layer list it stands for, so that
	// --set model.N... works on it as on written layers.
	if err := d.inlineKerasModel(root); err != nil {
		return nil, err
	}
	if len(sets) > 0 && root != nil {
		// Overrides change the tree in place; give every alias its own copy
		// first, so that a change does not reach the anchor's other uses.
		budget := maxValueNodes
		if root, err = d.expand(root, &budget); err != nil {
			return nil, err
		}
	}
	for i, s := range sets {
		if root, err = d.applySet(root, i, s); err != nil {
			return nil, err
		}
	}
	return d.experiment(root)
}

// Resolve returns the data path p relative to the experiment file's
// directory; absolute paths, and every path of an experiment parsed from
// bytes, are returned as they are.
func (e *Experiment) Resolve(p string) string {
	if p == "" || e.Path == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(filepath.Dir(e.Path), p)
}

// Number returns v, a decoded YAML value from Args, as a float64; ok is
// false if v is not a number.
func Number(v any) (f float64, ok bool) { return value.Float(v) }

// Int returns v, a decoded YAML value from Args, as an int; ok is false if
// v is not a whole number that fits an int (so 3.0 is accepted, 3.5 not).
func Int(v any) (n int, ok bool) { return value.Int(v) }
