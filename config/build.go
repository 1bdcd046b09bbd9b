package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/callbacks"
	"github.com/kiln-ml/kiln/data"
	"github.com/kiln-ml/kiln/datasets/mnist"
	"github.com/kiln-ml/kiln/layers"
	"github.com/kiln-ml/kiln/losses"
	"github.com/kiln-ml/kiln/metrics"
	"github.com/kiln-ml/kiln/optimizers"
	"github.com/kiln-ml/kiln/schema"
	"github.com/kiln-ml/kiln/tensor"
)

// Run is an experiment made concrete: a compiled model, its data and the
// fit options, ready for Model.Fit.
type Run struct {
	Exp   *Experiment
	Model *kiln.Sequential
	// X, Y are the training data after limit, scale and label encoding.
	X, Y *data.Array
	// Test is the data's test split (nil if it has none), prepared like X, Y.
	Test *kiln.XY
	// StdMean and StdDev are the per-feature statistics data.standardize
	// applied to X and Test.X (nil without it); predictions on new data
	// need the same (x − StdMean) / StdDev.
	StdMean, StdDev []float64
	// Fit are the fit options from the file (Out, TTY and callbacks unset).
	Fit kiln.FitOptions
	// Classes are the class names of labels read as strings (a CSV label
	// column of names), index = class, as scikit-learn's LabelEncoder
	// orders them; nil for numeric labels.
	Classes []string
	// Callbacks are fit.callbacks, made fresh for this Run; callers add
	// them to Fit's (explain leaves them out: it never writes files).
	Callbacks []callbacks.Callback
}

// Build compiles the experiment's model and loads and prepares its data.
// Warnings (activation/loss mismatches) go to warn. Every error names the
// file, the key and the fix.
func Build(e *Experiment, warn io.Writer) (*Run, error) {
	// The model's warnings wait until the data has loaded: an error that
	// stops the run comes first, alone.
	var warnings bytes.Buffer
	m, err := BuildModel(e, &warnings)
	if err != nil {
		return nil, err
	}
	r := &Run{Exp: e, Model: m}
	if err := r.loadData(); err != nil {
		return nil, err
	}
	if warn == nil {
		warn = os.Stderr // as Compile does
	}
	if r.Classes != nil {
		var m []string
		for i, c := range r.Classes {
			m = append(m, fmt.Sprintf("%d=%s", i, c))
		}
		fmt.Fprintf(warn, "kiln: note: the labels are class names; kiln numbers them in sorted order, as scikit-learn's LabelEncoder: %s\n", strings.Join(m, ", "))
	}
	warn.Write(warnings.Bytes())
	f := e.Fit
	r.Fit = kiln.FitOptions{BatchSize: f.BatchSize, Epochs: f.Epochs, NoShuffle: !f.Shuffle,
		ValidationSplit: f.ValidationSplit, ValidationBatchSize: f.ValidationBatchSize,
		InitialEpoch: f.InitialEpoch, Verbose: f.Verbose, Threads: f.Threads}
	cbs, err := buildCallbacks(e)
	if err != nil {
		return nil, err
	}
	r.Callbacks = cbs
	r.Fit.ClassWeight = f.ClassWeight
	if f.ClassWeightBalanced {
		cw, err := balancedClassWeight(r.Y, r.Model.OutputShape())
		if err != nil {
			return nil, e.errf(0, "fit.class_weight", "%v", err)
		}
		r.Fit.ClassWeight = cw
	}
	if f.ValidationData == "test" {
		if r.Test == nil {
			return nil, e.errf(0, "fit.validation_data", "is \"test\" but the data has no test split; add test files to the data section or use fit.validation_split")
		}
		r.Fit.ValidationData = r.Test
	}
	return r, nil
}

func (e *Experiment) errf(line int, key, format string, a ...any) error {
	return &kiln.InputError{Err: &Error{File: e.name(), Line: line, Key: key, Msg: fmt.Sprintf(format, a...)}}
}

func (e *Experiment) name() string {
	if e.Path == "" {
		return "experiment"
	}
	return e.Path
}

// LayerTypes lists the layer class names an experiment file may use: Input
// and every registered layer, sorted.
func LayerTypes() []string {
	return slices.Sorted(slices.Values(append(layers.Classes(), "Input")))
}

// BuildModel builds and compiles the experiment's model.
func BuildModel(e *Experiment, warn io.Writer) (*kiln.Sequential, error) {
	m := kiln.NewSequential()
	chain := e.Model
	if fm, err := buildFunctional(e); err != nil || fm != nil { // build_functional.go
		if err != nil {
			return nil, err
		}
		m, chain = fm, nil
	}
	for i, ls := range chain {
		key := fmt.Sprintf("model.%d.%s", i, ls.Type)
		if i == 0 && ls.Type != "Input" {
			// Keras 2: input_shape (or input_dim, batch_input_shape) on the
			// first layer declares the model's input.
			in, rest, err := firstLayerInput(ls)
			if err != nil {
				return nil, e.errf(ls.Line, key, "%v", err)
			}
			m.Add(in)
			ls = rest
		}
		item, err := buildLayer(ls)
		if err != nil {
			return nil, e.errf(ls.Line, key, "%v", err)
		}
		if _, isInput := item.(*layers.Input); isInput && i != 0 {
			return nil, e.errf(ls.Line, key, "Input must be the first item of the model")
		}
		m.Add(item)
	}
	if len(e.Model) == 0 {
		return nil, e.errf(0, "model", "is empty; list the layers, starting with - Input: {shape: [...]}")
	}
	c := e.Compile
	opt, err := optimizers.Get(c.Optimizer.Name, c.Optimizer.Args)
	if err != nil {
		return nil, e.errf(c.Optimizer.Line, "compile.optimizer", "%v", err)
	}
	loss, err := losses.Get(c.Loss.Name, losses.Options{FromLogits: c.Loss.FromLogits, LabelSmoothing: c.Loss.LabelSmoothing})
	if err != nil {
		return nil, e.errf(c.Loss.Line, "compile.loss", "%v", err)
	}
	for _, name := range c.Metrics {
		if _, err := metrics.Get(name, metrics.Shapes{TargetRank: 2, TargetLastDim: 2, PredLastDim: 2}); err != nil {
			return nil, e.errf(0, "compile.metrics", "%v", err)
		}
	}
	err = m.Compile(kiln.CompileOptions{Optimizer: opt, Loss: loss, Metrics: c.Metrics,
		LossSemantics: kiln.LossSemantics(c.LossSemantics), Seed: uint64(e.Seed), Warnings: warn})
	if err != nil {
		return nil, e.errf(0, "model", "%v", err)
	}
	return m, nil
}

// buildLayer makes one item of the model section: an Input, or a layer
// found in the layer registry (layers.Lookup), which checks its arguments.
func buildLayer(ls LayerSpec) (any, error) {
	if ls.Type == "Input" {
		return buildInput(ls.Args)
	}
	spec, ok := layers.Lookup(ls.Type)
	if !ok {
		return nil, fmt.Errorf("unknown layer %q; valid layers: %s", ls.Type, strings.Join(LayerTypes(), ", "))
	}
	return spec.Make(ls.Args)
}

// buildInput reads an Input item: the shape of one sample.
func buildInput(args map[string]any) (*layers.Input, error) {
	for k := range args {
		if k != "shape" && k != "name" {
			return nil, fmt.Errorf("Input has no argument %q; valid arguments: shape, name%s", k, schema.SplitTupleHint(k))
		}
	}
	raw, ok := args["shape"].([]any)
	if !ok || len(raw) == 0 {
		return nil, fmt.Errorf("Input needs shape: a list of positive integers, e.g. {shape: [28, 28]}%s", schema.TupleHint(args["shape"]))
	}
	var shape []int
	for _, v := range raw {
		d, ok := Int(v)
		if !ok || d <= 0 {
			return nil, fmt.Errorf("Input shape %v: every dimension must be a positive integer", raw)
		}
		shape = append(shape, d)
	}
	return layers.NewInput(shape...), nil
}

// loadData reads the data section's source, then applies limit, scale and labels.
func (r *Run) loadData() error {
	e := r.Exp
	d := e.Data
	var xTrain, yTrain, xTest, yTest *data.Array
	switch {
	case d.Dataset == "mnist":
		dir := d.MNISTDir
		if dir != "" {
			dir = e.Resolve(dir)
		}
		ds, err := mnist.Load(dir)
		if err != nil {
			return e.errf(0, "data.dataset", "%v", err)
		}
		xTrain, yTrain, xTest, yTest = ds.XTrain, ds.YTrain, ds.XTest, ds.YTest
	case d.NPZ != "":
		z, err := data.ReadNPZ(e.Resolve(d.NPZ))
		if err != nil {
			return e.errf(0, "data.npz", "%v%s", err, e.relHint(d.NPZ, err))
		}
		for _, p := range []struct {
			key string
			dst **data.Array
		}{{"x_train", &xTrain}, {"y_train", &yTrain}} {
			a, err := z.Get(p.key)
			if err != nil {
				return e.errf(0, "data.npz", "%v", err)
			}
			*p.dst = a
		}
		if _, ok := z.Arrays["x_test"]; ok {
			xTest = z.Arrays["x_test"]
			if yTest, err = z.Get("y_test"); err != nil {
				return e.errf(0, "data.npz", "%v", err)
			}
		}
	case d.Train != nil:
		var err error
		if xTrain, yTrain, err = readPair(e, "data.train", d.Train); err != nil {
			return err
		}
		if d.Test != nil {
			if xTest, yTest, err = readPair(e, "data.test", d.Test); err != nil {
				return err
			}
		}
	case d.CSV != nil:
		opt := data.CSVOptions{Label: d.CSV.Label, Header: d.CSV.Header}
		var err error
		if xTrain, yTrain, err = data.ReadCSV(e.Resolve(d.CSV.Train), opt); err != nil {
			return e.errf(0, "data.csv.train", "%v%s", err, e.relHint(d.CSV.Train, err))
		}
		r.Classes = yTrain.Classes
		if d.CSV.Test != "" {
			opt.Classes = yTrain.Classes // the test labels map as the training ones
			if xTest, yTest, err = data.ReadCSV(e.Resolve(d.CSV.Test), opt); err != nil {
				return e.errf(0, "data.csv.test", "%v%s", err, e.relHint(d.CSV.Test, err))
			}
		}
	default:
		return e.errf(0, "data", "has no source; set dataset: mnist, npz: FILE, train: {x: X.npy, y: Y.npy} or csv: {train: FILE, label: COLUMN}")
	}
	trainSrc, testSrc := yTrain, yTest
	if xTrain.Rows() != yTrain.Rows() {
		return e.errf(0, "data", "training x has %d rows but y has %d; they must match", xTrain.Rows(), yTrain.Rows())
	}
	if d.Limit > 0 && d.Limit < xTrain.Rows() {
		xTrain, yTrain = xTrain.Slice(0, d.Limit), yTrain.Slice(0, d.Limit)
	}
	var err error
	if xTrain, yTrain, err = r.prepare(xTrain, yTrain, memoSrc(d, trainSrc), "training"); err != nil {
		return err
	}
	r.X, r.Y = xTrain, yTrain
	if xTest != nil {
		if xTest.Rows() != yTest.Rows() {
			return e.errf(0, "data", "test x has %d rows but y has %d; they must match", xTest.Rows(), yTest.Rows())
		}
		if d.ValidationLimit > 0 && d.ValidationLimit < xTest.Rows() {
			xTest, yTest = xTest.Slice(0, d.ValidationLimit), yTest.Slice(0, d.ValidationLimit)
		}
		if xTest, yTest, err = r.prepare(xTest, yTest, memoSrc(d, testSrc), "test"); err != nil {
			return err
		}
		r.Test = &kiln.XY{X: xTest, Y: yTest}
	}
	if d.Standardize {
		n := r.X.Rows()
		if vs := e.Fit.ValidationSplit; vs > 0 && vs < 1 {
			n = max(1, int(float64(n)*(1-vs)))
		}
		r.StdMean, r.StdDev = featureStats(r.X, n)
		r.X = standardized(r.X, r.StdMean, r.StdDev)
		if r.Test != nil {
			r.Test.X = standardized(r.Test.X, r.StdMean, r.StdDev)
		}
	}
	return nil
}

// featureStats returns the mean and standard deviation of each feature
// (each element of a row) over the first n rows of x, as read (scale
// applied); a standard deviation of 0 is returned as 1.
func featureStats(x *data.Array, n int) (mean, std []float64) {
	w := x.RowLen()
	s := scaleOf(x)
	mean, std = make([]float64, w), make([]float64, w)
	for r := 0; r < n; r++ {
		for j := 0; j < w; j++ {
			v := x.At(r*w+j) * s
			mean[j] += v
			std[j] += v * v
		}
	}
	for j := range mean {
		mean[j] /= float64(n)
		std[j] = math.Sqrt(math.Max(std[j]/float64(n)-mean[j]*mean[j], 0))
		if std[j] == 0 {
			std[j] = 1
		}
	}
	return mean, std
}

func scaleOf(x *data.Array) float64 {
	if x.Scale == 0 {
		return 1
	}
	return x.Scale
}

// standardized returns x as float32 with (x − mean) / std per feature.
func standardized(x *data.Array, mean, std []float64) *data.Array {
	w := x.RowLen()
	s := scaleOf(x)
	out := make([]float32, x.Rows()*w)
	for i := range out {
		j := i % w
		out[i] = float32((x.At(i)*s - mean[j]) / std[j])
	}
	return data.NewFloat32(out, x.Shape...)
}

func readPair(e *Experiment, key string, f *XYFiles) (x, y *data.Array, err error) {
	if x, err = data.ReadNPY(e.Resolve(f.X)); err != nil {
		return nil, nil, e.errf(0, key+".x", "%v%s", err, e.relHint(f.X, err))
	}
	if y, err = data.ReadNPY(e.Resolve(f.Y)); err != nil {
		return nil, nil, e.errf(0, key+".y", "%v%s", err, e.relHint(f.Y, err))
	}
	return x, y, nil
}

// prepare applies scale and the label encoding to one split, and checks the
// features against the model's Input.
// labelMemo keeps labels made one-hot from arrays that live as long as the
// process (the built-in MNIST, which mnist.Load keeps): a sweep or explain
// builds the same experiment for every run, and a fresh 70000×10 float32
// array costs ~10 ms, mostly page faults. Keys hold the source arrays, so
// the entries are bounded by the datasets loaded. The arrays are shared:
// like mnist.Load's, they must not be modified.
var labelMemo sync.Map // labelKey → *data.Array

type labelKey struct {
	src   *data.Array // the labels as loaded, before data.limit
	rows  int         // the rows used (data.limit)
	units int
}

// memoSrc returns src if labels made from it may be memoised, else nil.
func memoSrc(d DataSpec, src *data.Array) *data.Array {
	if d.Dataset == "mnist" {
		return src
	}
	return nil
}

// prepare checks x against the model's input and applies data.scale and
// data.labels. src, if not nil, is where y came from (see labelMemo).
func (r *Run) prepare(x, y, src *data.Array, split string) (*data.Array, *data.Array, error) {
	e := r.Exp
	in := r.Model.InputShape()
	if len(x.Shape) == 2 && len(in) > 1 && x.Shape[1] == tensor.Size(in) {
		// CSV rows and flat arrays fill a multi-dimensional Input row-major.
		x = x.Reshaped(append([]int{x.Rows()}, in...))
	}
	if len(x.Shape) == len(in) && in[len(in)-1] == 1 && slices.Equal(x.Shape[1:], in[:len(in)-1]) {
		// Grey images (N, 28, 28) for an Input (28, 28, 1): the channel axis
		// Keras users add with x[..., None].
		x = x.Reshaped(append([]int{x.Rows()}, in...))
	}
	if len(x.Shape) != len(in)+1 || !slices.Equal(x.Shape[1:], in) {
		key, what := "model.0.Input.shape", "Input shape"
		if e.Model[0].Type != "Input" {
			key, what = "model.0."+e.Model[0].Type+".input_shape", "input_shape"
		}
		return nil, nil, e.errf(e.Model[0].Line, key, "is %v but the %s data's x has shape %s (samples first); set %s to %v",
			in, split, data.ShapeString(x.Shape), what, x.Shape[1:])
	}
	if i := x.FirstNonFinite(); i >= 0 {
		return nil, nil, e.errf(0, "data", "the %s data's x holds %v at sample %d (flat index %d); remove or impute non-finite values first", split, x.At(i), i/x.RowLen(), i)
	}
	if s := e.Data.Scale; s != 0 && s != 1 {
		x = x.WithScale(s)
	}
	out := r.Model.OutputShape()
	units := out[len(out)-1]
	switch e.Data.Labels {
	case "onehot":
		if len(y.Shape) == 2 && y.Shape[1] == units && units > 1 {
			return x, y, nil // already one-hot
		}
		key := labelKey{src, y.Rows(), units}
		if src != nil {
			if oh, ok := labelMemo.Load(key); ok {
				return x, oh.(*data.Array), nil
			}
		}
		idx, err := classIndices(y, units)
		if err != nil {
			return nil, nil, e.errf(0, "data.labels", "onehot: the %s labels %v", split, err)
		}
		if split == "training" && units > 1 {
			// Keras' to_categorical(y) has max(y)+1 columns: an output wider
			// than the classes fails its shape check instead of training
			// units the data never names.
			classes := 0
			for _, c := range idx {
				classes = max(classes, c+1)
			}
			if classes < units {
				return nil, nil, e.errf(0, "data.labels", "onehot: the training labels have %d classes (0..%d) but the output layer has %d units; "+
					"Keras' to_categorical(y) makes %d columns and fit would stop with \"Shapes (None, %d) and (None, %d) are incompatible\": make the last layer %d units wide",
					classes, classes-1, units, classes, classes, units, classes)
			}
		}
		// Bytes, not float32: the batches read them as 0 and 1 exactly
		// (GatherRows), and a quarter of the fresh memory is a quarter of
		// the page faults (~8 ms for MNIST's 70000 rows on a VM).
		oh := make([]uint8, len(idx)*units)
		for i, c := range idx {
			oh[i*units+c] = 1
		}
		a := data.NewUint8(oh, len(idx), units)
		if src != nil {
			labelMemo.Store(key, a)
		}
		return x, a, nil
	case "int":
		if len(y.Shape) == 2 && y.Shape[1] > 1 {
			// One-hot stored labels → class indices (argmax).
			n, c := y.Rows(), y.Shape[1]
			ids := make([]int64, n)
			for i := 0; i < n; i++ {
				best := 0
				for j := 1; j < c; j++ {
					if y.At(i*c+j) > y.At(i*c+best) {
						best = j
					}
				}
				ids[i] = int64(best)
			}
			return x, data.NewInt64(ids, n), nil
		}
	}
	return x, y, nil
}

// classIndices reads y as one integer class per row, each in [0, units).
func classIndices(y *data.Array, units int) ([]int, error) {
	if len(y.Shape) > 2 || (len(y.Shape) == 2 && y.Shape[1] != 1) {
		return nil, fmt.Errorf("have shape %s; to one-hot them they must be class indices of shape (N,)", data.ShapeString(y.Shape))
	}
	idx := make([]int, y.Rows())
	for i := range idx {
		v := y.At(i)
		if v != math.Trunc(v) || v < 0 {
			return nil, fmt.Errorf("must be non-negative integers, but sample %d has %v", i, v)
		}
		if int(v) >= units {
			return nil, fmt.Errorf("include class %d (sample %d) but the output layer has %d units; make the last Dense layer as wide as the number of classes", int(v), i, units)
		}
		idx[i] = int(v)
	}
	return idx, nil
}

// balancedClassWeight returns scikit-learn's "balanced" class weights for
// the labels y (class indices, or one-hot rows): n_samples / (n_classes ·
// count) for each class present, 1 for the other classes up to the output's
// (which never occur in training, but Keras wants a weight for every class).
// A single sigmoid unit has the classes 0 and 1.
func balancedClassWeight(y *data.Array, out []int) (map[int]float64, error) {
	units := out[len(out)-1]
	n := y.Rows()
	classes := make([]int, n)
	nc := max(units, 2)
	for i := range classes {
		if y.RowLen() == 1 {
			if v := y.At(i); v != math.Trunc(v) || v < 0 || v >= 1<<20 {
				return nil, fmt.Errorf("class_weight: balanced needs class labels (0, 1, 2, ...), but sample %d's label is %v", i, v)
			}
		}
		classes[i] = y.ClassOf(i)
		nc = max(nc, classes[i]+1)
	}
	counts := make([]int, nc)
	for _, c := range classes {
		counts[c]++
	}
	present := 0
	for _, k := range counts {
		if k > 0 {
			present++
		}
	}
	cw := map[int]float64{}
	for c, k := range counts {
		cw[c] = 1
		if k > 0 {
			cw[c] = float64(n) / float64(present*k)
		}
	}
	return cw, nil
}

// relHint explains where a relative data path that does not exist was
// looked for: relative paths, in the file and in --set values alike,
// resolve against the experiment file's directory.
func (e *Experiment) relHint(given string, err error) string {
	if given == "" || filepath.IsAbs(given) || e.Path == "" {
		return ""
	}
	if _, serr := os.Stat(e.Resolve(given)); !errors.Is(err, fs.ErrNotExist) && !errors.Is(serr, fs.ErrNotExist) {
		return ""
	}
	return fmt.Sprintf(" (relative paths, in the file and in --set values, resolve against the experiment file's directory %s)", filepath.Dir(e.Path))
}

// firstLayerInput reads the input a model's first layer declares, as
// Keras 2 allows (input_shape: [784], input_dim: 784 or batch_input_shape:
// [null, 784]), and returns it with the layer's other arguments.
func firstLayerInput(ls LayerSpec) (*layers.Input, LayerSpec, error) {
	rest := LayerSpec{Type: ls.Type, Args: map[string]any{}, Line: ls.Line}
	var shape any
	found := ""
	for k, v := range ls.Args {
		switch k {
		case "input_shape":
			shape, found = v, k
		case "input_dim":
			shape, found = []any{v}, k
		case "batch_input_shape":
			if l, ok := v.([]any); ok && len(l) > 1 {
				shape = l[1:]
			} else {
				shape = v
			}
			found = k
		default:
			rest.Args[k] = v
		}
	}
	if found == "" {
		return nil, ls, fmt.Errorf("the model must start with an Input, e.g. - Input: {shape: [28, 28]}, or its first layer must say its input shape, e.g. - %s: {input_shape: [28, 28], ...}", ls.Type)
	}
	in, err := buildInput(map[string]any{"shape": shape})
	if err != nil {
		return nil, ls, fmt.Errorf("%s: %v", found, strings.Replace(err.Error(), "Input needs shape", found+" must be", 1))
	}
	return in, rest, nil
}
