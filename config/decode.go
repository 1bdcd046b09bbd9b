package config

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// The keys each section accepts, in the order Canonical writes them.
var (
	topKeys     = []string{"seed", "data", "model", "compile", "fit"}
	dataKeys    = []string{"dataset", "mnist_dir", "npz", "train", "test", "csv", "scale", "standardize", "labels", "limit", "validation_limit"}
	xyKeys      = []string{"x", "y"}
	csvKeys     = []string{"train", "test", "label", "header"}
	compileKeys = []string{"optimizer", "loss", "metrics", "loss_semantics"}
	lossKeys    = []string{"name", "from_logits", "label_smoothing"}
	fitKeys     = []string{"batch_size", "epochs", "validation_data", "validation_split", "shuffle",
		"initial_epoch", "verbose", "validation_batch_size", "class_weight", "callbacks", "threads"}
)

// experiment checks the root node and decodes it.
func (d *decoder) experiment(root *yaml.Node) (*Experiment, error) {
	if isNull(root) {
		return nil, &Error{File: d.file, Msg: "the file is empty; an experiment needs the sections data, model and compile " +
			"(and optionally seed and fit), e.g. data: {dataset: mnist}"}
	}
	top, err := d.section(root, "", topKeys, "seed: 1")
	if err != nil {
		return nil, err
	}
	e := &Experiment{}
	if seed, _, err := d.integer(top, "seed", "seed: 1"); err != nil {
		return nil, err
	} else {
		e.Seed = seed
		e.SeedGiven = top.val("seed") != nil
	}
	for _, k := range []string{"data", "model", "compile"} {
		if top.val(k) == nil {
			var at *yaml.Node // no line for a missing top-level section
			if top.keys[k] != nil {
				at = top.keys[k]
			}
			return nil, d.errAt(at, k, "%s", missingSection[k])
		}
	}
	if e.Data, err = d.data(top); err != nil {
		return nil, err
	}
	if e.Model, err = d.model(top.val("model")); err != nil {
		return nil, err
	}
	if e.Compile, err = d.compile(top); err != nil {
		return nil, err
	}
	if e.Fit, err = d.fit(top, e.Data); err != nil {
		return nil, err
	}
	return e, nil
}

var missingSection = map[string]string{
	"data": "the data section is missing; add one, e.g. \"data: {dataset: mnist, scale: 1/255, labels: onehot}\"",
	"model": "the model section is missing; add the list of layers, one \"- Class: {args}\" line each, e.g. " +
		"\"model: [{Input: {shape: [28, 28]}}, {Flatten: {}}, {Dense: {units: 10, activation: softmax}}]\"",
	"compile": "the compile section is missing; add one, e.g. " +
		"\"compile: {optimizer: sgd, loss: categorical_crossentropy, metrics: [accuracy]}\"",
}

// data decodes the data section.
func (d *decoder) data(top *section) (DataSpec, error) {
	var ds DataSpec
	s, err := d.sub(top, "data", dataKeys, "data: {dataset: mnist}")
	if err != nil {
		return ds, err
	}
	if ds.Dataset, _, err = d.str(s, "dataset", `"dataset: mnist"`); err != nil {
		return ds, err
	}
	if ds.Dataset != "" && !hasString(Datasets, ds.Dataset) {
		return ds, d.errAt(s.at("dataset"), "data.dataset", "unknown dataset %q; the built-in datasets are %s "+
			"(for your own data use npz, train/test or csv instead)", ds.Dataset, strings.Join(Datasets, ", "))
	}
	if ds.MNISTDir, err = d.filePath(s, "mnist_dir", `"mnist_dir: ~/data/mnist"`); err != nil {
		return ds, err
	}
	if ds.NPZ, err = d.filePath(s, "npz", `"npz: mnist.npz"`); err != nil {
		return ds, err
	}
	if ds.Train, err = d.xy(s, "train"); err != nil {
		return ds, err
	}
	if ds.Test, err = d.xy(s, "test"); err != nil {
		return ds, err
	}
	if ds.CSV, err = d.csv(s); err != nil {
		return ds, err
	}

	// Exactly one source.
	var sources []string
	for _, k := range []string{"dataset", "npz", "train", "csv"} {
		if s.val(k) != nil {
			sources = append(sources, k)
		}
	}
	if len(sources) > 1 {
		first := s.keys[sources[0]]
		return ds, d.errAt(s.at(sources[1]), "data."+sources[1], "data has two sources, %s%s and %s; keep exactly one of dataset, npz, train or csv",
			sources[0], lineNote(first), sources[1])
	}
	if s.val("test") != nil && ds.Train == nil {
		if len(sources) == 1 {
			return ds, d.errAt(s.at("test"), "data.test", "test goes with train (a pair of .npy files), but the data comes from %s; "+
				"remove test, or replace %s with train: {x: x.npy, y: y.npy}", sources[0], sources[0])
		}
		return ds, d.errAt(s.at("test"), "data.test", "test is given without train; add train: {x: x_train.npy, y: y_train.npy}")
	}
	if len(sources) == 0 {
		return ds, d.errAt(s.here(), "data", "data has no source; add one of \"dataset: mnist\", \"npz: file.npz\", "+
			"\"train: {x: x.npy, y: y.npy}\" or \"csv: {train: train.csv, label: label}\"")
	}
	if ds.MNISTDir != "" && ds.Dataset != "mnist" {
		return ds, d.errAt(s.at("mnist_dir"), "data.mnist_dir", "mnist_dir only goes with \"dataset: mnist\"; remove it")
	}

	// Scale.
	ds.Scale, ds.ScaleText = 1, "1"
	if v := s.val("scale"); v != nil {
		f, text, ok := parseScale(v)
		if !ok {
			return ds, d.errAt(s.at("scale"), "data.scale", "expected a number or a fraction such as \"1/255\", got %s; "+
				"write e.g. \"scale: 1/255\" (features are multiplied by it)", describe(v))
		}
		if math.IsNaN(f) || math.IsInf(f, 0) || f <= 0 {
			return ds, d.errAt(s.at("scale"), "data.scale", "scale is %s, but it must be a finite number above 0; write e.g. \"scale: 1/255\"", text)
		}
		ds.Scale, ds.ScaleText = f, text
	}
	if ds.Standardize, _, err = d.boolean(s, "standardize"); err != nil {
		return ds, err
	}
	if ds.Labels, err = d.oneOf(s, "labels", "onehot", "int"); err != nil {
		return ds, err
	}
	if ds.Limit, _, err = d.smallInt(s, "limit", 0, "must be at least 0 (0 or no limit means all rows)", "limit: 1000"); err != nil {
		return ds, err
	}
	if ds.ValidationLimit, _, err = d.smallInt(s, "validation_limit", 0, "must be at least 0 (0 or no limit means all rows)", "validation_limit: 500"); err != nil {
		return ds, err
	}
	return ds, nil
}

// parseScale reads a scale: a YAML number, or a string holding a number or
// a fraction "a/b". text is the scale as written.
func parseScale(v *yaml.Node) (f float64, text string, ok bool) {
	if v.Kind != yaml.ScalarNode {
		return 0, "", false
	}
	if f, ok := scalarNumber(v); ok {
		return f, v.Value, true
	}
	if v.ShortTag() != "!!str" {
		return 0, "", false
	}
	text = strings.TrimSpace(v.Value)
	num := func(s string) (float64, bool) {
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		return f, err == nil
	}
	if a, b, frac := strings.Cut(text, "/"); frac {
		x, ok1 := num(a)
		y, ok2 := num(b)
		if !ok1 || !ok2 || y == 0 {
			return 0, "", false
		}
		return x / y, text, true
	}
	f, ok = num(text)
	return f, text, ok
}

// xy decodes data.train or data.test, {x: file, y: file}.
func (d *decoder) xy(s *section, key string) (*XYFiles, error) {
	v := s.val(key)
	if v == nil {
		return nil, nil
	}
	example := fmt.Sprintf(`"%s: {x: x_%s.npy, y: y_%s.npy}"`, key, key, key)
	if v.Kind != yaml.MappingNode {
		return nil, d.errAt(s.at(key), join(s.path, key), "expected a map of .npy files, got %s; write e.g. %s", describe(v), example)
	}
	xy, err := d.sub(s, key, xyKeys, example)
	if err != nil {
		return nil, err
	}
	f := &XYFiles{}
	if f.X, err = d.filePath(xy, "x", example); err != nil {
		return nil, err
	}
	if f.Y, err = d.filePath(xy, "y", example); err != nil {
		return nil, err
	}
	for _, k := range xyKeys {
		if xy.val(k) == nil {
			return nil, d.errAt(xy.here(), join(xy.path, k), "the %s file is missing; write e.g. %s", k, example)
		}
	}
	return f, nil
}

// csv decodes data.csv.
func (d *decoder) csv(s *section) (*CSVSpec, error) {
	v := s.val("csv")
	if v == nil {
		return nil, nil
	}
	const example = `"csv: {train: train.csv, test: test.csv, label: label}"`
	if v.Kind != yaml.MappingNode {
		return nil, d.errAt(s.at("csv"), "data.csv", "expected a map, got %s; write e.g. %s", describe(v), example)
	}
	cs, err := d.sub(s, "csv", csvKeys, example)
	if err != nil {
		return nil, err
	}
	c := &CSVSpec{}
	if c.Train, err = d.filePath(cs, "train", example); err != nil {
		return nil, err
	}
	if c.Test, err = d.filePath(cs, "test", example); err != nil {
		return nil, err
	}
	if c.Label, err = d.filePath(cs, "label", example); err != nil {
		return nil, err
	}
	if h := cs.val("header"); h != nil {
		if h.Kind != yaml.ScalarNode {
			return nil, d.errAt(cs.at("header"), "data.csv.header", "expected a single value, got %s", describe(h))
		}
		c.Header = h.Value
	}
	for _, k := range []string{"train", "label"} {
		if cs.val(k) == nil {
			return nil, d.errAt(cs.here(), "data.csv."+k, "csv needs %s; write e.g. %s", k, example)
		}
	}
	return c, nil
}

// model decodes the model list.
func (d *decoder) model(n *yaml.Node) ([]LayerSpec, error) {
	const example = "\"- Dense: {units: 10, activation: softmax}\""
	n = resolve(n)
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" && strings.HasSuffix(strings.ToLower(n.Value), ".json") {
		return d.kerasModel(n)
	}
	if n.Kind != yaml.SequenceNode {
		return nil, d.errAt(n, "model", "expected a list of layers (or a Keras model .json file), got %s; write one layer per line, each starting with \"- \", e.g. %s",
			describe(n), example)
	}
	if len(n.Content) == 0 {
		return nil, d.errAt(n, "model", "the model has no layers; list them, e.g. %s", example)
	}
	return d.oneKeyMaps(n, "model", "layer", "Dense", example, "{units: 10}")
}

// compile decodes the compile section.
func (d *decoder) compile(top *section) (CompileSpec, error) {
	var c CompileSpec
	s, err := d.sub(top, "compile", compileKeys, "compile: {optimizer: sgd, loss: categorical_crossentropy}")
	if err != nil {
		return c, err
	}
	if c.Optimizer, err = d.optimizer(s); err != nil {
		return c, err
	}
	if c.Loss, err = d.loss(s); err != nil {
		return c, err
	}
	if m := s.val("metrics"); m != nil {
		if m.Kind != yaml.SequenceNode {
			return c, d.errAt(s.at("metrics"), "compile.metrics", "expected a list of metric names, got %s; write e.g. \"metrics: [accuracy]\"", describe(m))
		}
		for i, item := range m.Content {
			it := resolve(item)
			if it == nil || it.Kind != yaml.ScalarNode || it.ShortTag() != "!!str" || it.Value == "" {
				return c, d.errAt(item, "compile.metrics."+strconv.Itoa(i), "expected a metric name, got %s; write e.g. \"metrics: [accuracy]\"", describe(it))
			}
			c.Metrics = append(c.Metrics, it.Value)
		}
	}
	if c.LossSemantics, err = d.oneOf(s, "loss_semantics", "logits", "probabilities"); err != nil {
		return c, err
	}
	return c, nil
}

// optimizer decodes compile.optimizer: a name or {name: ..., args...}.
func (d *decoder) optimizer(s *section) (OptimizerSpec, error) {
	const example = "\"optimizer: {name: sgd, learning_rate: 0.01}\" or \"optimizer: sgd\""
	o := OptimizerSpec{Args: map[string]any{}}
	v := s.val("optimizer")
	if v == nil {
		return o, d.errAt(s.at("optimizer"), "compile.optimizer", "the optimizer is missing; write e.g. %s", example)
	}
	o.Line = keyLine(s.keys["optimizer"], v)
	switch {
	case v.Kind == yaml.ScalarNode && v.ShortTag() == "!!str" && v.Value != "":
		o.Name = v.Value
		return o, nil
	case v.Kind != yaml.MappingNode:
		return o, d.errAt(v, "compile.optimizer", "expected an optimizer name or map, got %s; write e.g. %s", describe(v), example)
	}
	opt, err := d.sub(s, "optimizer", nil, example)
	if err != nil {
		return o, err
	}
	if o.Name, _, err = d.str(opt, "name", "\"name: sgd\""); err != nil {
		return o, err
	}
	if o.Name == "" {
		return o, d.errAt(opt.here(), "compile.optimizer.name", "the optimizer's name is missing; write e.g. %s", example)
	}
	if v, ok := opt.vals["learning_rate"]; ok {
		lr, isNum := scalarNumber(v)
		if !isNum {
			return o, d.errAt(opt.at("learning_rate"), "compile.optimizer.learning_rate",
				"expected a number above 0, got %s; write e.g. \"learning_rate: 0.01\", or remove it for the optimizer's default", describe(v))
		}
		if !(lr > 0) || math.IsInf(lr, 0) {
			return o, d.errAt(opt.at("learning_rate"), "compile.optimizer.learning_rate",
				"the learning rate is %s, but it must be a finite number above 0; write e.g. \"learning_rate: 0.01\"", v.Value)
		}
	}
	if o.Args, err = d.valueMap(opt, "name"); err != nil {
		return o, err
	}
	return o, nil
}

// loss decodes compile.loss: a name or {name, from_logits, label_smoothing}.
func (d *decoder) loss(s *section) (LossSpec, error) {
	const example = "\"loss: categorical_crossentropy\" or \"loss: {name: categorical_crossentropy, from_logits: true}\""
	var l LossSpec
	v := s.val("loss")
	if v == nil {
		return l, d.errAt(s.at("loss"), "compile.loss", "the loss is missing; write e.g. %s", example)
	}
	l.Line = keyLine(s.keys["loss"], v)
	switch {
	case v.Kind == yaml.ScalarNode && v.ShortTag() == "!!str" && v.Value != "":
		l.Name = v.Value
		return l, nil
	case v.Kind != yaml.MappingNode:
		return l, d.errAt(v, "compile.loss", "expected a loss name or map, got %s; write e.g. %s", describe(v), example)
	}
	ls, err := d.sub(s, "loss", lossKeys, example)
	if err != nil {
		return l, err
	}
	if l.Name, _, err = d.str(ls, "name", "\"name: categorical_crossentropy\""); err != nil {
		return l, err
	}
	if l.Name == "" {
		return l, d.errAt(ls.here(), "compile.loss.name", "the loss's name is missing; write e.g. %s", example)
	}
	if l.FromLogits, _, err = d.boolean(ls, "from_logits"); err != nil {
		return l, err
	}
	if l.LabelSmoothing, _, err = d.number(ls, "label_smoothing", "label_smoothing: 0.1"); err != nil {
		return l, err
	}
	if l.LabelSmoothing < 0 || l.LabelSmoothing > 1 {
		return l, d.errAt(ls.at("label_smoothing"), "compile.loss.label_smoothing", "is %v, but it must be between 0 and 1; write e.g. \"label_smoothing: 0.1\"", l.LabelSmoothing)
	}
	return l, nil
}

// fit decodes the fit section; ds is the decoded data section.
func (d *decoder) fit(top *section, ds DataSpec) (FitSpec, error) {
	f := FitSpec{BatchSize: 32, Epochs: 1, Shuffle: true, Verbose: 1}
	s, err := d.sub(top, "fit", fitKeys, "fit: {batch_size: 32, epochs: 10}")
	if err != nil {
		return f, err
	}
	if v, ok, err := d.smallInt(s, "batch_size", 1, "must be at least 1", "batch_size: 32"); err != nil {
		return f, err
	} else if ok {
		f.BatchSize = v
	}
	if v, ok, err := d.smallInt(s, "epochs", 1, "must be at least 1", "epochs: 10"); err != nil {
		return f, err
	} else if ok {
		f.Epochs = v
	}
	if f.ValidationData, err = d.oneOf(s, "validation_data", "test"); err != nil {
		return f, err
	}
	if v, ok, err := d.number(s, "validation_split", "validation_split: 0.1"); err != nil {
		return f, err
	} else if ok {
		if v <= 0 || v >= 1 {
			return f, d.errAt(s.at("validation_split"), "fit.validation_split", "is %v, but it must be between 0 and 1 (exclusive): "+
				"the fraction of training rows held out; write e.g. \"validation_split: 0.1\", or remove it", v)
		}
		f.ValidationSplit = v
	}
	if f.ValidationData != "" && f.ValidationSplit != 0 {
		return f, d.errAt(s.at("validation_split"), "fit.validation_split", "validation_data%s and validation_split are both given; keep one",
			lineNote(s.keys["validation_data"]))
	}
	if v, ok, err := d.boolean(s, "shuffle"); err != nil {
		return f, err
	} else if ok {
		f.Shuffle = v
	}
	if f.InitialEpoch, _, err = d.smallInt(s, "initial_epoch", 0, "must be at least 0", "initial_epoch: 0"); err != nil {
		return f, err
	}
	if f.InitialEpoch >= f.Epochs {
		return f, d.errAt(s.at("initial_epoch"), "fit.initial_epoch", "is %d, but epochs is %d, so no epoch would run; "+
			"epochs is the epoch to stop after, so make it larger than initial_epoch", f.InitialEpoch, f.Epochs)
	}
	if v := s.val("verbose"); v != nil && v.Kind == yaml.ScalarNode && v.ShortTag() == "!!str" && v.Value == "auto" {
		f.Verbose = 1
	} else if v, ok, err := d.smallInt(s, "verbose", 0, "must be 0, 1, 2 or \"auto\"", "verbose: 1"); err != nil {
		return f, err
	} else if ok {
		if v > 2 {
			return f, d.errAt(s.at("verbose"), "fit.verbose", "is %d, but it must be 0 (silent), 1 (progress bar), 2 (one line per epoch) or \"auto\" (1)", v)
		}
		f.Verbose = v
	}
	if f.ValidationBatchSize, _, err = d.smallInt(s, "validation_batch_size", 1, "must be at least 1", "validation_batch_size: 32"); err != nil {
		return f, err
	}
	if f.Threads, _, err = d.smallInt(s, "threads", 1, "must be at least 1 (leave it out to use every core)", "threads: 2"); err != nil {
		return f, err
	}
	if err := d.classWeight(s, &f); err != nil {
		return f, err
	}
	if v := s.val("callbacks"); v != nil {
		const example = "\"- EarlyStopping: {monitor: val_loss, patience: 3}\""
		if v.Kind != yaml.SequenceNode {
			return f, d.errAt(v, "fit.callbacks", "expected a list of callbacks, got %s; write one per line, each starting with \"- \", e.g. %s", describe(v), example)
		}
		if f.Callbacks, err = d.oneKeyMaps(v, "fit.callbacks", "callback", "EarlyStopping", example, "{patience: 3}"); err != nil {
			return f, err
		}
	}
	if f.ValidationData == "test" {
		missing := ""
		switch {
		case ds.Train != nil && ds.Test == nil:
			missing = "add data.test: {x: x_test.npy, y: y_test.npy}"
		case ds.CSV != nil && ds.CSV.Test == "":
			missing = "add data.csv.test: test.csv"
		}
		if missing != "" {
			return f, d.errAt(s.at("validation_data"), "fit.validation_data", "validation_data is \"test\", but the data has no test split; %s, "+
				"or use validation_split: 0.1 instead", missing)
		}
	}
	return f, nil
}

// keyLine is the line of key for a Line field: 0 if its value came from an
// override.
func keyLine(key, val *yaml.Node) int {
	if val.Line <= 0 || key == nil || key.Line <= 0 {
		return 0
	}
	return key.Line
}

// kerasModel reads the model from the Keras JSON file n names (model:
// model.json), relative to the experiment file's directory.
func (d *decoder) kerasModel(n *yaml.Node) ([]LayerSpec, error) {
	path := n.Value
	if !filepath.IsAbs(path) && d.file != "<input>" {
		path = filepath.Join(filepath.Dir(d.file), path)
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, d.errAt(n, "model", "cannot read the Keras model file %s: %v; write the path of the JSON that Keras' model.to_json() returned, relative to the experiment file", path, err)
	}
	layers, err := KerasModel(src, path)
	if err != nil {
		return nil, d.errAt(n, "model", "%v", err)
	}
	for i := range layers {
		layers[i].Line = n.Line
	}
	return layers, nil
}

// inlineKerasModel replaces "model: FILE.json" in the parsed file by the
// list of layers the Keras file translates to, with the model line as every
// node's line (for messages).
func (d *decoder) inlineKerasModel(root *yaml.Node) error {
	r := resolve(root)
	if r == nil || r.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(r.Content); i += 2 {
		if resolve(r.Content[i]).Value != "model" {
			continue
		}
		v := resolve(r.Content[i+1])
		if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!str" || !strings.HasSuffix(strings.ToLower(v.Value), ".json") {
			return nil
		}
		layers, err := d.kerasModel(v)
		if err != nil {
			return err
		}
		list := make([]map[string]map[string]any, len(layers))
		for j, l := range layers {
			list[j] = map[string]map[string]any{l.Type: l.Args}
		}
		var seq yaml.Node
		if err := seq.Encode(list); err != nil {
			return d.errAt(v, "model", "cannot use the Keras model: %v", err)
		}
		setLine(&seq, v.Line, v.Column)
		r.Content[i+1] = &seq
	}
	return nil
}

func setLine(n *yaml.Node, line, col int) {
	n.Line, n.Column = line, col
	for _, c := range n.Content {
		setLine(c, line, col)
	}
}

// classWeight reads fit.class_weight: a map from class index to weight, as
// Keras' class_weight, or "balanced".
func (d *decoder) classWeight(s *section, f *FitSpec) error {
	const example = "class_weight: {0: 1.0, 1: 5.0}\" or \"class_weight: balanced"
	v := s.val("class_weight")
	if v == nil {
		return nil
	}
	path := join(s.path, "class_weight")
	if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!str" {
		if v.Value != "balanced" {
			return d.errAt(v, path, "is %q; write a map from class index to weight or \"balanced\" (n_samples / (n_classes · count), like scikit-learn's), e.g. \"%s\"", v.Value, example)
		}
		f.ClassWeightBalanced = true
		return nil
	}
	if v.Kind != yaml.MappingNode {
		return d.errAt(v, path, "expected a map from class index to weight, got %s; write e.g. \"%s\"", describe(v), example)
	}
	f.ClassWeight = map[int]float64{}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := resolve(v.Content[i]), resolve(v.Content[i+1])
		c, err := strconv.Atoi(k.Value)
		if k.Kind != yaml.ScalarNode || err != nil || c < 0 {
			return d.errAt(k, path, "has the key %s; the keys are class indices 0, 1, 2, ...; write e.g. \"%s\"", describe(k), example)
		}
		w, ok := scalarNumber(val)
		if !ok || math.IsNaN(w) || math.IsInf(w, 0) || w < 0 {
			return d.errAt(val, path+"."+k.Value, "must be a finite non-negative number, got %s", describe(val))
		}
		if _, dup := f.ClassWeight[c]; dup {
			return d.errAt(k, path, "gives class %d twice", c)
		}
		f.ClassWeight[c] = w
	}
	return nil
}

// oneKeyMaps decodes a list of one-key maps from a class name to its
// arguments (the model's layers, fit's callbacks). key is the list's
// dotted path, what names an item ("layer"), class an example class name,
// argExample an example argument map.
func (d *decoder) oneKeyMaps(n *yaml.Node, key, what, class, example, argExample string) ([]LayerSpec, error) {
	layers := make([]LayerSpec, 0, len(n.Content))
	for i, item := range n.Content {
		path := key + "." + strconv.Itoa(i)
		it := resolve(item)
		if it.Kind == yaml.ScalarNode && it.ShortTag() == "!!str" {
			return nil, d.errAt(it, path, "%s %d is just the name %q; write it as a one-key map: \"- %s: {}\"", what, i, it.Value, it.Value)
		}
		if it.Kind != yaml.MappingNode {
			return nil, d.errAt(it, path, "%s %d is %s; each %s is a one-key map from its class name to its arguments, e.g. %s",
				what, i, describe(it), what, example)
		}
		if len(it.Content) != 2 {
			var names []string
			for j := 0; j < len(it.Content); j += 2 {
				names = append(names, resolve(it.Content[j]).Value)
			}
			return nil, d.errAt(it, path, "%s %d has %d keys (%s), but each list item must be a one-key map like %s; "+
				"start each %s with its own \"- \", and indent a %s's arguments under its name or write them in {}",
				what, i, len(names), strings.Join(names, ", "), example, what, what)
		}
		k, v := resolve(it.Content[0]), resolve(it.Content[1])
		if k.Kind != yaml.ScalarNode || k.ShortTag() != "!!str" || k.Value == "" {
			return nil, d.errAt(k, path, "%s %d's class name is %s; write a Keras class name such as %s, e.g. %s", what, i, describe(k), class, example)
		}
		path = join(path, k.Value)
		args := map[string]any{}
		if !isNull(v) {
			if v.Kind != yaml.MappingNode {
				return nil, d.errAt(v, path, "the arguments of %s must be a map, got %s; write e.g. \"- %s: %s\", or \"- %s: {}\" for none",
					k.Value, describe(v), k.Value, argExample, k.Value)
			}
			s, err := d.section(v, path, nil, argExample)
			if err != nil {
				return nil, err
			}
			if args, err = d.valueMap(s, ""); err != nil {
				return nil, err
			}
		}
		layers = append(layers, LayerSpec{Type: k.Value, Args: args, Line: max(item.Line, k.Line, 0)})
	}
	return layers, nil
}
