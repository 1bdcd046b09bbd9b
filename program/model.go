package program

import (
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/config"
	"github.com/kiln-ml/kiln/data"
)

// FitRecord is one model.fit of a program: the experiment file that
// trains the same model on the same data, where the program called it, and
// the History it gave (nil on a dry run).
type FitRecord struct {
	At         string
	Experiment *config.Experiment
	History    *kiln.History
	// Run is the trained model and its data (nil on a dry run).
	Run *config.Run
}

// modelObj is a keras Sequential model: its layers as experiment items, its
// compile arguments, and once trained, the run that trained it.
type modelObj struct {
	input   []any
	layers  []config.LayerSpec
	compile *config.CompileSpec
	run     *config.Run // built at the first fit (or summary)
	data    *dataKey    // the data run trained on
	epochs  int         // epochs trained so far
	// dryFit is set once fit has run on a dry run (no run is built): a
	// later fit on the same data continues, as it would for real.
	dryFit bool
}

func (m *modelObj) typeName() string { return "Sequential" }
func (m *modelObj) repr() string     { return "<Sequential>" }

// newSequential is keras.Sequential([layers]).
func newSequential(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
	a, err := bind("Sequential", pos, kw, "layers=", "name=")
	if err != nil {
		return nil, err
	}
	m := &modelObj{}
	if a.has("layers") {
		items, err := iterate(a.get("layers"))
		if err != nil {
			return nil, fmt.Errorf("Sequential(): layers must be a list, got %s", repr(a.get("layers")))
		}
		for _, l := range items {
			if err := m.add(l); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

// add is model.add(layer).
func (m *modelObj) add(v Value) error {
	if m.run != nil || m.dryFit {
		return fmt.Errorf("model.add after the model was trained: kiln's reader builds the model once; add every layer before compile and fit")
	}
	switch l := v.(type) {
	case *inputObj:
		if m.input != nil || len(m.layers) > 0 {
			return fmt.Errorf("an Input must be the first item of a Sequential model")
		}
		m.input = l.shape
		return nil
	case *layerObj:
		if l.input != nil {
			if m.input != nil || len(m.layers) > 0 {
				return fmt.Errorf("%s(input_shape=...) is only for the first layer; the model's input is already %s", l.spec.Type, repr(append(Tuple{nil}, pos2values(m.input)...)))
			}
			m.input = l.input
		}
		if l.spec.Type == "InputLayer" {
			return nil
		}
		m.layers = append(m.layers, config.LayerSpec{Type: l.spec.Type, Args: l.spec.Args})
		return nil
	}
	return fmt.Errorf("TypeError: The added layer must be an instance of class Layer. Received: layer=%s of type %s", repr(v), typeName(v))
}

// callValue refuses model(x), which runs the model eagerly in Keras.
func (m *modelObj) callValue(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
	return nil, fmt.Errorf("model(x): calling a model on data is not in kiln's reader; use model.predict(x) after model.fit, or run the program with its own Python (--python)")
}

func (m *modelObj) attr(in *Interp, name string) (Value, error) {
	method := func(fn func(in *Interp, pos []Value, kw []Kwarg) (Value, error)) (Value, error) {
		return builtin("Sequential."+name, fn), nil
	}
	switch name {
	case "add":
		return method(func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
			a, err := bind("add", pos, kw, "layer")
			if err != nil {
				return nil, err
			}
			return nil, m.add(a.get("layer"))
		})
	case "compile":
		return method(m.compileCall)
	case "fit":
		return method(m.fit)
	case "evaluate":
		return method(m.evaluate)
	case "predict":
		return method(m.predict)
	case "summary":
		return method(func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
			if _, err := bind("summary", pos, kw, "line_length=", "positions=", "print_fn=", "expand_nested=", "show_trainable="); err != nil {
				return nil, err
			}
			km, err := m.kilnModel(in)
			if err != nil {
				return nil, err
			}
			return nil, km.Summary(in.Out)
		})
	case "count_params":
		return method(func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
			km, err := m.kilnModel(in)
			if err != nil {
				return nil, err
			}
			return km.CountParams(), nil
		})
	case "save", "save_weights":
		// Like matplotlib's figures: skipped, with a note saying so.
		return method(func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
			a, err := bind(name, pos, kw, "filepath", "overwrite=", "save_format=", "include_optimizer=", "options=", "zipped=")
			if err != nil {
				return nil, err
			}
			in.note("%s: model.%s(%s) is skipped: kiln's reader does not write Keras files; kiln fit PROGRAM.py --save DIR saves the trained model in kiln's format", in.at, name, repr(a.get("filepath")))
			return nil, nil
		})
	case "predict_classes":
		return nil, fmt.Errorf("AttributeError: 'Sequential' object has no attribute 'predict_classes' (removed in TensorFlow 2.6); use np.argmax(model.predict(x), axis=-1)")
	case "fit_generator":
		return nil, fmt.Errorf("AttributeError: 'Sequential' object has no attribute 'fit_generator' (removed in Keras 2.4+); use model.fit")
	}
	return nil, fmt.Errorf("AttributeError: kiln's reader has no Sequential.%s; run the program with its own Python (--python)", name)
}

// compileCall is model.compile(optimizer, loss, metrics).
func (m *modelObj) compileCall(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
	a, err := bind("compile", pos, kw, "optimizer=", "loss=", "metrics=", "loss_weights=", "weighted_metrics=", "run_eagerly=", "steps_per_execution=", "jit_compile=")
	if err != nil {
		return nil, err
	}
	for _, k := range []string{"loss_weights", "weighted_metrics"} {
		if a.has(k) {
			return nil, fmt.Errorf("compile(%s=...): not in kiln yet", k)
		}
	}
	c := &config.CompileSpec{Optimizer: config.OptimizerSpec{Name: "rmsprop", Args: map[string]any{}}}
	if a.has("optimizer") {
		if c.Optimizer, err = compileOptimizer(a.get("optimizer")); err != nil {
			return nil, err
		}
	}
	if !a.has("loss") {
		return nil, fmt.Errorf("compile(): kiln needs a loss, e.g. loss='categorical_crossentropy'")
	}
	if c.Loss, err = compileLoss(a.get("loss")); err != nil {
		return nil, err
	}
	if c.Metrics, err = compileMetrics(a.get("metrics")); err != nil {
		return nil, err
	}
	m.compile = c
	m.run, m.dryFit = nil, false // Keras: compiling again resets the optimizer
	return nil, nil
}

// experiment is the experiment file of the model with the given data and
// fit settings.
func (m *modelObj) experiment(in *Interp, d *config.DataSpec, f *config.FitSpec, x *Array) (*config.Experiment, error) {
	if m.input == nil {
		return nil, fmt.Errorf("the model does not say its input shape: add keras.Input(shape=...) first, or input_shape=... on the first layer")
	}
	if len(m.layers) == 0 {
		return nil, fmt.Errorf("the model has no layers; add some with model.add(...)")
	}
	if m.compile == nil {
		return nil, fmt.Errorf("RuntimeError: You must compile your model before training/testing. Use `model.compile(optimizer, loss)`.")
	}
	e := &config.Experiment{Path: in.File, Seed: in.Seed, SeedGiven: in.SeedSet || in.seedByProgram, Compile: *m.compile}
	e.Model = append(in.inputLayers(m.input, x), m.layers...)
	if d != nil {
		e.Data = *d
	} else {
		e.Data = config.DataSpec{Dataset: "mnist", Scale: 1}
	}
	if f != nil {
		e.Fit = *f
	} else {
		e.Fit = config.FitSpec{BatchSize: 32, Epochs: 1, Shuffle: true, Verbose: 1}
	}
	if len(in.Sets) > 0 {
		// --set applies to the program's experiment as to a file's.
		y, err := e.Marshal()
		if err != nil {
			return nil, err
		}
		e2, err := config.Parse(y, in.File, in.Sets)
		if err != nil {
			return nil, err
		}
		e2.Path = in.File
		e = e2
	}
	return e, nil
}

// inputLayers are the experiment's first layers for a model whose input
// is input, trained on x: an Input of x's shape; but when the program
// reshaped the data set's samples (x_train.reshape(60000, 784)), which an
// experiment's data section cannot say, the Input takes the samples as
// stored and a Flatten (or Reshape) does the program's reshape in the
// model — the same numbers reach the same layers.
func (in *Interp) inputLayers(input []any, x *Array) []config.LayerSpec {
	first := []config.LayerSpec{{Type: "Input", Args: map[string]any{"shape": input}}}
	if x == nil || x.Source == "" || !reflect.DeepEqual(pos2any(x.Shape[1:]), input) {
		return first
	}
	stored := sampleShape(x)
	p := x.Shape[1:]
	switch {
	case stored == nil || slices.Equal(p, stored) || size(p) != size(stored):
		return first
	case slices.Equal(p, append(slices.Clone(stored), 1)):
		return first // kiln adds a grey channel axis to images as Keras programs do
	}
	what := "a Flatten layer"
	layer := config.LayerSpec{Type: "Flatten", Args: map[string]any{}}
	if len(p) > 1 {
		what = "a Reshape layer"
		layer = config.LayerSpec{Type: "Reshape", Args: map[string]any{"target_shape": pos2any(p)}}
	}
	if !in.assumed["reshape"] {
		in.assumed["reshape"] = true
		in.note("the program reshapes each sample from %s to %s: the experiment reads the samples as stored (Input shape %s) and %s first does the reshape in the model, which computes the same",
			shapeRepr(stored), shapeRepr(p), shapeRepr(stored), what)
	}
	return []config.LayerSpec{{Type: "Input", Args: map[string]any{"shape": pos2any(stored)}}, layer}
}

// sampleShape is the shape of one sample of the data set x comes from, as
// stored.
func sampleShape(x *Array) []int {
	for _, pair := range mnistArrays() {
		for _, v := range pair.(Tuple) {
			if a := v.(*Array); a.Source == x.Source && a.Part == x.Part {
				return a.Shape[1:]
			}
		}
	}
	return nil
}

// kilnModel is the compiled kiln model: the trained one, or a fresh build
// for summary and count_params before training.
func (m *modelObj) kilnModel(in *Interp) (*kiln.Sequential, error) {
	if m.run != nil {
		return m.run.Model, nil
	}
	if m.input == nil {
		return nil, fmt.Errorf("ValueError: This model has not yet been built. Build the model first by calling `build()` or by calling the model on a batch of data; in kiln: add keras.Input(shape=...) first")
	}
	c := m.compile
	if c == nil {
		c = &config.CompileSpec{Optimizer: config.OptimizerSpec{Name: "sgd", Args: map[string]any{}}, Loss: config.LossSpec{Name: "mean_squared_error"}}
	}
	saved := m.compile
	m.compile = c
	e, err := m.experiment(in, nil, nil, nil)
	m.compile = saved
	if err != nil {
		return nil, err
	}
	return config.BuildModel(e, io.Discard)
}

// dataKey identifies the data a fit trained on, so evaluate and predict
// can find the same arrays in the run.
type dataKey struct {
	source, scale string
	onehot        int
	limit         int
	sample        string // the shape of one sample, (784,)
}

func keyOf(a *Array) dataKey {
	return dataKey{source: a.Source, scale: a.ScaleText, onehot: a.OneHot, limit: a.Limit, sample: shapeRepr(a.Shape[1:])}
}

// errSample is Keras' error for data whose samples do not have the shape
// the model trained on.
func errSample(fn string, want string, x *Array) error {
	return fmt.Errorf("%s: ValueError: Input 0 of layer \"sequential\" is incompatible with the layer: expected shape=(None, %s), found shape=(None, %s); prepare %s as the training data (the same reshape)",
		fn, strings.Trim(want, "(),"), strings.Trim(shapeRepr(x.Shape[1:]), "(),"), x.Part)
}

// fit is model.fit: it writes the experiment for the program's data and
// settings, builds it with config.Build (as kiln fit does for a file) and
// trains; a second fit on the same model and data goes on training.
func (m *modelObj) fit(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
	a, err := bind("fit", pos, kw, "x=", "y=", "batch_size=", "epochs=", "verbose=", "callbacks=", "validation_split=",
		"validation_data=", "shuffle=", "class_weight=", "sample_weight=", "initial_epoch=", "steps_per_epoch=", "validation_steps=",
		"validation_batch_size=", "validation_freq=", "nb_epoch=")
	if err != nil {
		return nil, err
	}
	for _, k := range []string{"sample_weight", "steps_per_epoch", "validation_steps", "validation_freq"} {
		if a.has(k) {
			return nil, fmt.Errorf("fit(%s=...): not in kiln's reader; remove it, or run the program with its own Python (--python)", k)
		}
	}
	x, ok1 := a.get("x").(*Array)
	y, ok2 := a.get("y").(*Array)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("fit(x, y): kiln's reader trains on arrays from a data set, e.g. (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data(); got %s and %s", typeName(a.get("x")), typeName(a.get("y")))
	}
	f := config.FitSpec{BatchSize: 32, Epochs: 1, Shuffle: true, Verbose: 1}
	if f.BatchSize, err = a.int("batch_size", 32); err != nil {
		return nil, err
	}
	if a.has("nb_epoch") { // Keras 1
		a.vals["epochs"], a.set["epochs"] = a.get("nb_epoch"), true
	}
	if f.Epochs, err = a.int("epochs", 1); err != nil {
		return nil, err
	}
	if v := a.get("verbose"); v != "auto" {
		if f.Verbose, err = a.int("verbose", 1); err != nil {
			return nil, err
		}
	}
	if in.Verbose >= 0 {
		f.Verbose = in.Verbose
	}
	if f.Shuffle, err = a.bool("shuffle", true); err != nil {
		return nil, err
	}
	if f.ValidationSplit, err = a.float("validation_split", 0); err != nil {
		return nil, err
	}
	if f.InitialEpoch, err = a.int("initial_epoch", 0); err != nil {
		return nil, err
	}
	if f.ValidationBatchSize, err = a.int("validation_batch_size", 0); err != nil {
		return nil, err
	}
	if a.has("class_weight") {
		cw, ok := a.get("class_weight").(*Dict)
		if !ok {
			return nil, fmt.Errorf("fit(class_weight=...) must be a dict of class index to weight")
		}
		f.ClassWeight = map[int]float64{}
		for _, k := range cw.keys {
			c, ok1 := k.(int)
			w, ok2 := toFloat(cw.m[k])
			if !ok1 || !ok2 {
				return nil, fmt.Errorf("fit(class_weight=...): keys are class indices and values numbers, got %s: %s", repr(k), repr(cw.m[k]))
			}
			f.ClassWeight[c] = w
		}
	}
	if a.has("callbacks") {
		items, err := iterate(a.get("callbacks"))
		if err != nil {
			return nil, fmt.Errorf("fit(callbacks=...) must be a list")
		}
		for _, it := range items {
			cb, ok := it.(*callbackObj)
			if !ok {
				return nil, fmt.Errorf("fit(callbacks=...): kiln's reader takes keras.callbacks objects, got %s", repr(it))
			}
			f.Callbacks = append(f.Callbacks, cb.spec)
		}
	}
	in.flushNotes()
	d, err := in.dataSpec(x, y, m)
	if err != nil {
		return nil, err
	}
	if !in.SeedSet && !in.seedByProgram && !in.assumed["seed"] {
		in.assumed["seed"] = true
		in.note("the program sets no random seed: kiln trains with seed %d, the same every run (--seed N for another)", in.Seed)
	}
	if a.has("validation_data") {
		vd, ok := a.get("validation_data").(Tuple)
		if !ok || len(vd) != 2 {
			return nil, fmt.Errorf("fit(validation_data=...): give a tuple (x_val, y_val)")
		}
		vx, ok1 := vd[0].(*Array)
		vy, ok2 := vd[1].(*Array)
		if !ok1 || !ok2 || vx.Part != "x_test" || vy.Part != "y_test" || vx.Source != x.Source {
			return nil, fmt.Errorf("fit(validation_data=(x_val, y_val)): kiln's reader validates on the data set's test split, e.g. validation_data=(x_test, y_test)")
		}
		if vx.ScaleText != x.ScaleText || in.labelsOf(vy, m) != d.Labels {
			return nil, fmt.Errorf("fit(validation_data=...): the validation data must be prepared like the training data (scale %s and %s labels), got scale %s and %s labels", x.ScaleText, d.Labels, vx.ScaleText, in.labelsOf(vy, m))
		}
		if vx.Limit != vy.Limit {
			return nil, fmt.Errorf("fit(validation_data=...): x_val keeps %d rows and y_val %d", vx.Limit, vy.Limit)
		}
		if !slices.Equal(vx.Shape[1:], x.Shape[1:]) {
			return nil, errSample("fit(validation_data=...)", shapeRepr(x.Shape[1:]), vx)
		}
		f.ValidationData = "test"
		d.ValidationLimit = vx.Limit
	}
	key := keyOf(x)
	if (m.run != nil || m.dryFit) && m.data != nil && *m.data == key {
		// Keras: fit again continues from the trained weights.
		if in.DryRun {
			return &historyObj{h: m.dryHistory(&f)}, nil
		}
		return m.train(in, &f, d)
	}
	if m.input == nil {
		// Keras builds a model without an input shape on its first batch.
		m.input = pos2any(x.Shape[1:])
		if !in.assumed["input"] {
			in.assumed["input"] = true
			in.note("the model does not say its input shape: kiln takes it from the training data, %s (Keras builds the model at the first fit)", shapeRepr(x.Shape[1:]))
		}
	}
	e, err := m.experiment(in, d, &f, x)
	if err != nil {
		return nil, err
	}
	rec := &FitRecord{At: in.at, Experiment: e}
	in.Fits = append(in.Fits, rec)
	if in.DryRun {
		m.dryFit, m.data = true, &key
		return &historyObj{h: m.dryHistory(&e.Fit)}, nil
	}
	r, err := config.Build(e, in.Notes)
	if err != nil {
		return nil, err
	}
	m.run, m.data = r, &key
	rec.Run = r
	h, err := m.trainRun(in, r)
	rec.History = h
	if err != nil {
		return nil, err
	}
	return &historyObj{h: h}, nil
}

// dryHistory is the History of a fit on a dry run: Keras' keys (loss,
// the metrics, and their val_ versions when the fit validates) with 0 for
// every epoch, so that a program reading its History goes on to its next
// fit.
func (m *modelObj) dryHistory(f *config.FitSpec) *kiln.History {
	h := &kiln.History{History: map[string][]float64{}}
	names := m.logNames()
	if f.ValidationSplit > 0 || f.ValidationData != "" {
		for _, n := range m.logNames() {
			names = append(names, "val_"+n)
		}
	}
	epochs := max(0, f.Epochs-f.InitialEpoch)
	for _, n := range names {
		h.Keys = append(h.Keys, n)
		h.History[n] = make([]float64, epochs)
	}
	for e := f.InitialEpoch; e < f.Epochs; e++ {
		h.Epoch = append(h.Epoch, e)
	}
	return h
}

// logNames are the names of the values fit logs and evaluate returns:
// loss, then the compiled metrics as the program named them.
func (m *modelObj) logNames() []string {
	names := []string{"loss"}
	if m.compile != nil {
		names = append(names, m.compile.Metrics...)
	}
	return names
}

func pos2any(shape []int) []any {
	out := make([]any, len(shape))
	for i, d := range shape {
		out[i] = d
	}
	return out
}

// train continues training the model's run with new fit settings.
func (m *modelObj) train(in *Interp, f *config.FitSpec, d *config.DataSpec) (Value, error) {
	r := m.run
	r.Fit.Epochs, r.Fit.BatchSize, r.Fit.Verbose = f.Epochs, f.BatchSize, f.Verbose
	r.Fit.InitialEpoch = f.InitialEpoch
	h, err := m.trainRun(in, r)
	if err != nil {
		return nil, err
	}
	return &historyObj{h: h}, nil
}

func (m *modelObj) trainRun(in *Interp, r *config.Run) (*kiln.History, error) {
	opts := r.Fit
	opts.Out = in.Out
	opts.Callbacks = append(opts.Callbacks, r.Callbacks...)
	return r.Model.Fit(in.Ctx, r.X, r.Y, opts)
}

// labelsOf says how the experiment encodes labels like y: onehot or int;
// labels kiln assumed for a snippet follow the loss.
func (in *Interp) labelsOf(y *Array, m *modelObj) string {
	if y.OneHot > 0 {
		return "onehot"
	}
	if y.Assumed && m.compile != nil && m.compile.Loss.Name == "categorical_crossentropy" {
		return "onehot"
	}
	return "int"
}

// dataSpec is the experiment's data section for training on x, y.
func (in *Interp) dataSpec(x, y *Array, m *modelObj) (*config.DataSpec, error) {
	if x.Source != "mnist" || y.Source != "mnist" {
		return nil, fmt.Errorf("fit(x, y): kiln's reader trains on keras.datasets.mnist; for other data run the program with its own Python (--python), or write an experiment file")
	}
	if x.Part != "x_train" || y.Part != "y_train" {
		return nil, fmt.Errorf("fit(x, y): kiln's reader trains on the training split (x_train, y_train), got %s and %s", x.Part, y.Part)
	}
	if x.Limit != y.Limit {
		return nil, fmt.Errorf("fit(x, y): x keeps %d rows and y %d; slice both alike", x.Limit, y.Limit)
	}
	if y.OneHot != 0 && y.OneHot != 10 {
		return nil, fmt.Errorf("to_categorical(y, %d): MNIST has 10 classes", y.OneHot)
	}
	if per := size(x.Shape[1:]); per != 784 {
		return nil, fmt.Errorf("fit: each sample of x has %d values (shape %s); MNIST images have 784", per, shapeRepr(x.Shape))
	}
	d := &config.DataSpec{Dataset: "mnist", Scale: x.Scale, ScaleText: x.ScaleText, Labels: in.labelsOf(y, m), Limit: x.Limit}
	if x.Assumed && !in.assumed["labels"] {
		in.assumed["labels"] = true
		in.note("y_train and y_test are MNIST's labels, %s (for the loss %s); --set data.labels=... changes it", map[string]string{"onehot": "one-hot (keras.utils.to_categorical)", "int": "class indices"}[d.Labels], m.compile.Loss.Name)
	}
	return d, nil
}

// evaluate is model.evaluate(x, y) on the data the model trained with.
func (m *modelObj) evaluate(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
	a, err := bind("evaluate", pos, kw, "x=", "y=", "batch_size=", "verbose=", "sample_weight=", "steps=", "callbacks=", "return_dict=")
	if err != nil {
		return nil, err
	}
	xd, yd, err := m.arrays(in, "evaluate", a.get("x"), a.get("y"))
	if err != nil {
		return nil, err
	}
	bs, err := a.int("batch_size", 32)
	if err != nil {
		return nil, err
	}
	verbose := 1
	if v := a.get("verbose"); v != "auto" {
		if verbose, err = a.int("verbose", 1); err != nil {
			return nil, err
		}
	}
	if in.DryRun {
		// What evaluate returns, with zeros: a program that unpacks
		// loss, acc = model.evaluate(...) goes on.
		names := m.logNames()
		if rd, _ := a.bool("return_dict", false); rd {
			d := NewDict()
			for _, n := range names {
				d.Set(n, 0.0)
			}
			return d, nil
		}
		if len(names) == 1 {
			return 0.0, nil
		}
		out := &List{}
		for range names {
			out.Items = append(out.Items, 0.0)
		}
		return out, nil
	}
	res, err := m.run.Model.Evaluate(in.Ctx, xd, yd, kiln.EvaluateOptions{BatchSize: bs, Verbose: verbose, Out: in.Out})
	if err != nil {
		return nil, err
	}
	if rd, _ := a.bool("return_dict", false); rd {
		d := NewDict()
		for i, n := range res.Names {
			d.Set(n, res.Values[i])
		}
		return d, nil
	}
	if len(res.Values) == 1 {
		return res.Values[0], nil
	}
	out := &List{}
	for _, v := range res.Values {
		out.Items = append(out.Items, v)
	}
	return out, nil
}

// predict is model.predict(x).
func (m *modelObj) predict(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
	a, err := bind("predict", pos, kw, "x", "batch_size=", "verbose=", "steps=", "callbacks=")
	if err != nil {
		return nil, err
	}
	xd, _, err := m.arrays(in, "predict", a.get("x"), nil)
	if err != nil {
		return nil, err
	}
	if in.DryRun {
		return &Array{Shape: []int{xd.Rows(), 10}, DType: "float32", values: data.NewFloat32(make([]float32, xd.Rows()*10), xd.Rows(), 10)}, nil
	}
	p, err := m.run.Model.Predict(in.Ctx, xd, kiln.EvaluateOptions{})
	if err != nil {
		return nil, err
	}
	return &Array{Shape: slices.Clone(p.Shape), DType: "float32", values: p}, nil
}

// arrays finds the run's data that x (and y) name: the training or test
// split, prepared as the run prepared it.
func (m *modelObj) arrays(in *Interp, fn string, xv, yv Value) (*data.Array, *data.Array, error) {
	if x, ok := xv.(*Array); ok && x.Source != "" && m.data != nil && len(x.Shape) > 0 && shapeRepr(x.Shape[1:]) != m.data.sample {
		return nil, nil, errSample(fn, m.data.sample, x)
	}
	if m.run == nil {
		if x, ok := xv.(*Array); ok && in.DryRun && m.compile != nil && len(x.Shape) > 0 {
			// As many rows as x has, so that predictions line up with
			// the labels.
			n := x.Shape[0]
			return data.NewFloat32(make([]float32, n*784), n, 784), nil, nil
		}
		return nil, nil, fmt.Errorf("%s: kiln's reader %ss a model after model.fit has trained it", fn, fn)
	}
	x, ok := xv.(*Array)
	if !ok {
		return nil, nil, fmt.Errorf("%s(x): give an array, got %s", fn, typeName(xv))
	}
	if x.Source != "mnist" || m.data == nil || x.ScaleText != m.data.scale {
		return nil, nil, fmt.Errorf("%s(x): kiln's reader takes the data set's arrays prepared as for fit, got %s", fn, repr(x))
	}
	var xd, yd *data.Array
	switch x.Part {
	case "x_train":
		xd, yd = m.run.X, m.run.Y
	case "x_test":
		if m.run.Test == nil {
			return nil, nil, fmt.Errorf("%s: the run has no test split", fn)
		}
		xd, yd = m.run.Test.X, m.run.Test.Y
	default:
		return nil, nil, fmt.Errorf("%s(x): x must be x_train or x_test, got %s", fn, x.Part)
	}
	if x.Limit > 0 && x.Limit < xd.Rows() {
		xd, yd = xd.Slice(0, x.Limit), yd.Slice(0, x.Limit)
	}
	if yv != nil {
		y, ok := yv.(*Array)
		if !ok || y.Source != x.Source || strings.TrimPrefix(y.Part, "y_") != strings.TrimPrefix(x.Part, "x_") || y.Limit != x.Limit {
			return nil, nil, fmt.Errorf("%s(x, y): y must be the labels of x's split, got %s", fn, repr(yv))
		}
		if in.labelsOf(y, m) != m.run.Exp.Data.Labels {
			return nil, nil, fmt.Errorf("%s(x, y): the model trained with %s labels, y has %s labels", fn, m.run.Exp.Data.Labels, in.labelsOf(y, m))
		}
	}
	return xd, yd, nil
}

func orOne(s string) string {
	if s == "" {
		return "1"
	}
	return s
}

// historyObj is the History model.fit returns.
type historyObj struct{ h *kiln.History }

func (h *historyObj) typeName() string { return "History" }
func (h *historyObj) repr() string     { return "<keras.callbacks.History>" }

func (h *historyObj) attr(in *Interp, name string) (Value, error) {
	switch name {
	case "history":
		d := NewDict()
		keys := h.h.Keys // Keras' order: loss, metrics, then the val_ ones
		for _, k := range keys {
			l := &List{}
			for _, v := range h.h.History[k] {
				l.Items = append(l.Items, v)
			}
			d.Set(k, l)
		}
		return d, nil
	case "epoch":
		l := &List{}
		for _, e := range h.h.Epoch {
			l.Items = append(l.Items, e)
		}
		return l, nil
	}
	return nil, fmt.Errorf("AttributeError: 'History' object has no attribute '%s'", name)
}

var _ = strconv.Itoa
