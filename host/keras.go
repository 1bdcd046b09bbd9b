package host

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/activations"
	"github.com/kiln-ml/kiln/callbacks"
	"github.com/kiln-ml/kiln/config"
	"github.com/kiln-ml/kiln/data"
	"github.com/kiln-ml/kiln/datasets/mnist"
	"github.com/kiln-ml/kiln/layers"
	"github.com/kiln-ml/kiln/losses"
	"github.com/kiln-ml/kiln/metrics"
	"github.com/kiln-ml/kiln/optimizers"
)

// hello tells the stand-in what kiln has, so that its modules offer
// exactly kiln's layers, callbacks, optimizers, losses, metrics and
// activations.
func (s *server) hello() map[string]any {
	return map[string]any{
		"layers":      layers.Classes(),
		"callbacks":   callbacks.Classes(),
		"optimizers":  optimizers.Names(),
		"losses":      losses.Names(),
		"metrics":     metrics.Names(),
		"activations": activations.Names(),
		"positional":  positional(),
	}
}

// positional is, per layer class, the names of the arguments Keras takes
// by position (for messages).
func positional() map[string][]string {
	out := map[string][]string{}
	for _, c := range layers.Classes() {
		spec, _ := layers.Lookup(c)
		var n []string
		for _, a := range spec.Args[:spec.Positional] {
			n = append(n, a.Name)
		}
		out[c] = n
	}
	return out
}

// make checks a constructor call of a layer, optimizer, loss or callback
// (as Keras does when the object is made) and returns its experiment-file
// form.
func (s *server) make(a map[string]any) (any, error) {
	kind, _ := a["kind"].(string)
	class, _ := a["class"].(string)
	pos, _ := a["pos"].([]any)
	kw, _ := a["kw"].(map[string]any)
	if kw == nil {
		kw = map[string]any{}
	}
	switch kind {
	case "layer":
		return makeLayer(class, pos, kw)
	case "input":
		return makeInput(class, pos, kw)
	case "optimizer":
		return makeOptimizer(class, pos, kw)
	case "loss":
		return makeLoss(class, pos, kw)
	case "callback":
		return makeCallback(class, pos, kw)
	}
	return nil, fmt.Errorf("kiln: unknown kind %q", kind)
}

// layerJSON is a layer as the stand-in keeps it: its experiment-file item
// and the per-sample input shape it carries (input_shape=...), if any.
type layerJSON struct {
	Type  string         `json:"type"`
	Args  map[string]any `json:"args"`
	Input []any          `json:"input"`
}

// shapeArg reads a shape given as a tuple, list or single int.
func shapeArg(v any, what string) ([]any, error) {
	if n, ok := v.(int); ok {
		v = []any{n}
	}
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return nil, valueErr("%s must be a tuple of positive integers, e.g. (28, 28), got %s", what, pyRepr(v))
	}
	for _, d := range list {
		if n, ok := d.(int); !ok || n <= 0 {
			return nil, valueErr("%s %s: every dimension must be a positive integer (kiln needs fixed shapes; leave out the batch dimension)", what, pyRepr(v))
		}
	}
	return list, nil
}

// pyRepr writes a decoded value roughly as Python would, for messages.
func pyRepr(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case string:
		return "'" + x + "'"
	case int:
		return strconv.Itoa(x)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case []any:
		var parts []string
		for _, e := range x {
			parts = append(parts, pyRepr(e))
		}
		return "(" + strings.Join(parts, ", ") + ")"
	}
	return fmt.Sprint(v)
}

// makeLayer translates a layer constructor call with the layer registry,
// as kiln's reader does.
func makeLayer(class string, pos []any, kw map[string]any) (any, error) {
	spec, ok := layers.Lookup(class)
	if !ok {
		return nil, typeErr("kiln has no layer %s", class)
	}
	out := layerJSON{Type: class}
	rest := map[string]any{}
	name := ""
	for k, v := range kw {
		switch k {
		case "input_shape":
			s, err := shapeArg(v, "input_shape")
			if err != nil {
				return nil, err
			}
			out.Input = s
			continue
		case "input_dim":
			n, ok := v.(int)
			if !ok || n <= 0 {
				return nil, valueErr("input_dim must be a positive integer, got %s", pyRepr(v))
			}
			out.Input = []any{n}
			continue
		case "batch_input_shape", "batch_shape":
			list, ok := v.([]any)
			if !ok || len(list) < 2 {
				return nil, valueErr("%s must be (None, dims...), got %s", k, pyRepr(v))
			}
			s, err := shapeArg(list[1:], k)
			if err != nil {
				return nil, err
			}
			out.Input = s
			continue
		case "name":
			if v == nil {
				continue
			}
			n, ok := v.(string)
			if !ok {
				return nil, typeErr("name must be a string, got %s", pyRepr(v))
			}
			name = n
			continue
		case "dtype":
			if v != nil && v != "float32" {
				return nil, valueErr("%s(dtype=%s): kiln computes in float32 (Keras' default)", class, pyRepr(v))
			}
			continue
		case "trainable":
			if v != true {
				return nil, valueErr("%s(trainable=%s): kiln trains every layer (it has no frozen layers)", class, pyRepr(v))
			}
			continue
		}
		rest[k] = v
	}
	args, err := spec.FromCall(class+"()", pos, rest)
	if err != nil {
		return nil, typeOrValue(err)
	}
	if name != "" {
		args["name"] = name
	}
	check := func() error { _, err := spec.Make(args); return err }
	if spec.IsMerge() {
		check = func() error { _, err := spec.Parse(args); return err } // its inputs come when it is called
	}
	if err := check(); err != nil {
		return nil, valueErr("%s(): %v", class, err)
	}
	out.Args = args
	return out, nil
}

// typeOrValue makes argument-name problems TypeErrors (as Python's) and
// the others ValueErrors.
func typeOrValue(err error) error {
	msg := err.Error()
	if strings.Contains(msg, "unexpected keyword") || strings.Contains(msg, "positional argument") || strings.Contains(msg, "multiple values") {
		return &pyError{"TypeError", msg}
	}
	return &pyError{"ValueError", msg}
}

// makeInput is keras.Input / keras.layers.Input / InputLayer.
func makeInput(class string, pos []any, kw map[string]any) (any, error) {
	if len(pos) > 1 {
		return nil, typeErr("%s() takes shape as its only positional argument", class)
	}
	if len(pos) == 1 {
		kw["shape"] = pos[0]
	}
	var shape []any
	var err error
	for k, v := range kw {
		switch k {
		case "shape", "input_shape":
			if v != nil {
				shape, err = shapeArg(v, k)
			}
		case "batch_shape", "batch_input_shape":
			list, ok := v.([]any)
			if !ok || len(list) < 2 {
				return nil, valueErr("%s must be (None, dims...), got %s", k, pyRepr(v))
			}
			shape, err = shapeArg(list[1:], k)
		case "dtype":
			if v != nil && v != "float32" {
				return nil, valueErr("%s(dtype=%s): kiln computes in float32", class, pyRepr(v))
			}
		case "name", "batch_size":
		case "sparse", "ragged":
			if v != nil && v != false {
				return nil, valueErr("%s(%s=True): kiln's inputs are dense arrays", class, k)
			}
		default:
			return nil, typeErr("%s() got an unexpected keyword argument '%s' (kiln takes shape, batch_size, name, dtype)", class, k)
		}
		if err != nil {
			return nil, err
		}
	}
	if shape == nil {
		return nil, valueErr("%s() needs shape=, e.g. %s(shape=(28, 28))", class, class)
	}
	return layerJSON{Type: "Input", Input: shape, Args: map[string]any{}}, nil
}

// optimizerJSON is an optimizer as the stand-in keeps it.
type optimizerJSON struct {
	Name string         `json:"name"`
	Args map[string]any `json:"args"`
}

// makeOptimizer is keras.optimizers.X(...): positional arguments follow
// Keras' signatures (learning_rate first); Keras 2's lr= is learning_rate.
func makeOptimizer(class string, pos []any, kw map[string]any) (any, error) {
	key := strings.ToLower(class)
	order := map[string][]string{"sgd": {"learning_rate", "momentum", "nesterov"}, "adam": {"learning_rate", "beta_1", "beta_2", "epsilon"},
		"rmsprop": {"learning_rate", "rho", "momentum", "epsilon", "centered"}, "adagrad": {"learning_rate", "initial_accumulator_value", "epsilon"}}[key]
	if len(pos) > len(order) {
		return nil, typeErr("%s() takes at most %d positional arguments (%s), got %d", class, len(order), strings.Join(order, ", "), len(pos))
	}
	args := map[string]any{}
	for i, v := range pos {
		args[order[i]] = v
	}
	for k, v := range kw {
		name := k
		if name == "lr" { // Keras 2
			name = "learning_rate"
		}
		switch name {
		case "name":
			continue
		case "decay":
			if f, ok := config.Number(v); !ok || f != 0 {
				return nil, valueErr("%s(decay=%s): kiln has no learning-rate decay yet; remove it", class, pyRepr(v))
			}
			continue
		case "clipnorm", "clipvalue", "global_clipnorm", "weight_decay", "ema_momentum":
			if v != nil && v != false {
				return nil, valueErr("%s(%s=%s): kiln's optimizers have no %s; remove it", class, k, pyRepr(v), strings.ReplaceAll(name, "_", " "))
			}
			continue
		case "use_ema", "jit_compile", "amsgrad":
			if v == true && name == "amsgrad" {
				return nil, valueErr("%s(amsgrad=True): kiln's Adam has no AMSGrad variant; remove it", class)
			}
			continue
		}
		if _, dup := args[name]; dup {
			return nil, typeErr("%s() got multiple values for argument '%s'", class, name)
		}
		args[name] = v
	}
	if _, err := optimizers.Get(key, args); err != nil {
		return nil, valueErr("%s(): %v", class, err)
	}
	return optimizerJSON{Name: key, Args: args}, nil
}

// lossJSON is a loss as the stand-in keeps it.
type lossJSON struct {
	Name           string  `json:"name"`
	FromLogits     bool    `json:"from_logits"`
	LabelSmoothing float64 `json:"label_smoothing"`
}

// makeLoss is keras.losses.X(from_logits=..., label_smoothing=...).
func makeLoss(class string, pos []any, kw map[string]any) (any, error) {
	name := map[string]string{"CategoricalCrossentropy": "categorical_crossentropy", "SparseCategoricalCrossentropy": "sparse_categorical_crossentropy",
		"BinaryCrossentropy": "binary_crossentropy", "MeanSquaredError": "mean_squared_error"}[class]
	if name == "" {
		return nil, typeErr("kiln has no loss class %s", class)
	}
	order := []string{"from_logits", "label_smoothing"}
	if class == "MeanSquaredError" {
		order = nil
	}
	if len(pos) > len(order) {
		return nil, typeErr("%s() takes keyword arguments here, e.g. %s(from_logits=True)", class, class)
	}
	for i, v := range pos {
		kw[order[i]] = v
	}
	l := lossJSON{Name: name}
	for k, v := range kw {
		switch k {
		case "from_logits":
			b, ok := v.(bool)
			if !ok || (b && class == "MeanSquaredError") {
				return nil, typeErr("%s(from_logits=%s): expected True or False", class, pyRepr(v))
			}
			l.FromLogits = b
		case "label_smoothing":
			f, ok := config.Number(v)
			if !ok {
				return nil, typeErr("%s(label_smoothing=%s): expected a number", class, pyRepr(v))
			}
			l.LabelSmoothing = f
		case "reduction":
			if v != nil && v != "auto" && v != "sum_over_batch_size" {
				return nil, valueErr("%s(reduction=%s): kiln averages over the batch (Keras' default)", class, pyRepr(v))
			}
		case "name", "axis":
			if k == "axis" && v != -1 && v != nil {
				return nil, valueErr("%s(axis=%s): kiln's losses work on the last axis", class, pyRepr(v))
			}
		default:
			return nil, typeErr("%s() got an unexpected keyword argument '%s'", class, k)
		}
	}
	if _, err := losses.Get(name, losses.Options{FromLogits: l.FromLogits, LabelSmoothing: l.LabelSmoothing}); err != nil {
		return nil, valueErr("%s(): %v", class, err)
	}
	return l, nil
}

// makeCallback is keras.callbacks.X, from the callback registry.
func makeCallback(class string, pos []any, kw map[string]any) (any, error) {
	spec, ok := callbacks.Lookup(class)
	if !ok {
		return nil, typeErr("kiln has no callback %s", class)
	}
	if len(pos) > 0 {
		first := map[string]string{"CSVLogger": "filename", "ModelCheckpoint": "filepath"}[class]
		if first == "" || len(pos) > 1 {
			return nil, typeErr("%s() takes keyword arguments, e.g. %s(monitor='val_loss')", class, class)
		}
		kw[first] = pos[0]
	}
	if _, err := spec.Make(kw); err != nil {
		return nil, valueErr("%v", err)
	}
	return layerJSON{Type: class, Args: kw}, nil
}

// compileJSON is model.compile's arguments as the stand-in keeps them.
type compileJSON struct {
	Optimizer optimizerJSON `json:"optimizer"`
	Loss      lossJSON      `json:"loss"`
	Metrics   []string      `json:"metrics"`
}

func (c *compileJSON) spec() *config.CompileSpec {
	args := c.Optimizer.Args
	if args == nil {
		args = map[string]any{}
	}
	return &config.CompileSpec{Optimizer: config.OptimizerSpec{Name: c.Optimizer.Name, Args: maps.Clone(args)},
		Loss: config.LossSpec{Name: c.Loss.Name, FromLogits: c.Loss.FromLogits, LabelSmoothing: c.Loss.LabelSmoothing}, Metrics: slices.Clone(c.Metrics)}
}

// compile checks model.compile's arguments. The stand-in sends optimizer
// and loss as names or as the objects make returned ({"name": ..., ...}).
func (s *server) compile(a map[string]any) (any, error) {
	c := compileJSON{Optimizer: optimizerJSON{Name: "rmsprop", Args: map[string]any{}}, Metrics: []string{}}
	switch o := a["optimizer"].(type) {
	case nil:
	case string:
		if _, err := optimizers.Get(o, nil); err != nil {
			return nil, valueErr("compile(optimizer='%s'): %v", o, err)
		}
		c.Optimizer.Name = strings.ToLower(o)
	case map[string]any:
		c.Optimizer.Name, _ = o["name"].(string)
		c.Optimizer.Args, _ = o["args"].(map[string]any)
	default:
		return nil, valueErr("compile(optimizer=%s): give a name ('adam') or a keras.optimizers object", pyRepr(o))
	}
	switch l := a["loss"].(type) {
	case nil:
		return nil, valueErr("compile(): kiln needs a loss, e.g. loss='categorical_crossentropy'")
	case string:
		if _, err := losses.Get(l, losses.Options{}); err != nil {
			return nil, valueErr("compile(loss='%s'): %v", l, err)
		}
		c.Loss.Name = l
		if l == "mse" || l == "MeanSquaredError" {
			c.Loss.Name = "mean_squared_error"
		}
	case map[string]any:
		c.Loss.Name, _ = l["name"].(string)
		c.Loss.FromLogits, _ = l["from_logits"].(bool)
		c.Loss.LabelSmoothing, _ = config.Number(l["label_smoothing"])
	default:
		return nil, valueErr("compile(loss=%s): give a name ('categorical_crossentropy') or a keras.losses object (kiln has no custom losses)", pyRepr(l))
	}
	switch m := a["metrics"].(type) {
	case nil:
	case []any:
		for _, x := range m {
			name, ok := x.(string)
			if !ok {
				return nil, valueErr("compile(metrics=...): kiln takes metric names, e.g. ['accuracy'], got %s", pyRepr(x))
			}
			if _, err := metrics.Get(name, metrics.Shapes{TargetRank: 2, TargetLastDim: 2, PredLastDim: 2}); err != nil {
				return nil, valueErr("compile(metrics=...): %v", err)
			}
			c.Metrics = append(c.Metrics, name)
		}
	case map[string]any:
		return nil, valueErr("compile(metrics={...}): kiln's models have one output; give a list, e.g. ['accuracy']")
	default:
		return nil, valueErr("compile(metrics=%s): give a list, e.g. ['accuracy']", pyRepr(m))
	}
	for _, k := range []string{"loss_weights", "weighted_metrics"} {
		if a[k] != nil {
			return nil, valueErr("compile(%s=...): not in kiln yet; remove it", k)
		}
	}
	return c, nil
}

// modelSpec is a model as the stand-in sends it with fit, evaluate,
// predict and summary.
type modelSpec struct {
	ID, Gen int
	Layers  []config.LayerSpec
	Compile *config.CompileSpec
}

// modelState is what kiln keeps of one of the program's models.
type modelState struct {
	gen int
	// run is the model's trained run (nil before its first fit, or after
	// it changed: a layer added or a new compile).
	run *config.Run
	// training is the model being trained (for predict in a callback).
	training *kiln.Sequential
}

// modelOf reads the model the stand-in sends: its layers, with an Input
// first (from keras.Input or the first layer's input_shape), and its
// compile settings.
func (s *server) modelOf(a map[string]any) (*modelSpec, *modelState, error) {
	m, ok := a["model"].(map[string]any)
	if !ok {
		return nil, nil, fmt.Errorf("kiln: no model in the request")
	}
	spec := &modelSpec{}
	spec.ID, _ = m["id"].(int)
	spec.Gen, _ = m["gen"].(int)
	list, _ := m["layers"].([]any)
	var input []any
	inputName := ""
	for i, raw := range list {
		l, _ := raw.(map[string]any)
		typ, _ := l["type"].(string)
		args, _ := l["args"].(map[string]any)
		in, _ := l["input"].([]any)
		if typ == "Input" {
			if i != 0 {
				return nil, nil, valueErr("an Input (keras.Input or InputLayer) after other layers; kiln's Sequential models have one input, first")
			}
			input = in
			inputName, _ = args["name"].(string)
			continue
		}
		if in != nil && i == 0 {
			input = in
		}
		if args == nil {
			args = map[string]any{}
		}
		spec.Layers = append(spec.Layers, config.LayerSpec{Type: typ, Args: maps.Clone(args)})
	}
	if len(spec.Layers) == 0 {
		return nil, nil, valueErr("the model has no layers; add some with model.add(...)")
	}
	if input == nil {
		return nil, nil, valueErr("This model has not yet been built: it does not say its input shape. Add keras.Input(shape=...) first, or input_shape=... on the first layer (kiln needs the input shape before training)")
	}
	first := config.LayerSpec{Type: "Input", Args: map[string]any{"shape": input}}
	if inputName != "" {
		first.Args["name"] = inputName
	}
	spec.Layers = append([]config.LayerSpec{first}, spec.Layers...)
	if c, ok := m["compile"].(map[string]any); ok {
		var cj compileJSON
		cj.Optimizer.Name, _ = c["optimizer"].(map[string]any)["name"].(string)
		cj.Optimizer.Args, _ = c["optimizer"].(map[string]any)["args"].(map[string]any)
		l, _ := c["loss"].(map[string]any)
		cj.Loss.Name, _ = l["name"].(string)
		cj.Loss.FromLogits, _ = l["from_logits"].(bool)
		cj.Loss.LabelSmoothing, _ = config.Number(l["label_smoothing"])
		for _, x := range c["metrics"].([]any) {
			n, _ := x.(string)
			cj.Metrics = append(cj.Metrics, n)
		}
		spec.Compile = cj.spec()
	}
	st := s.models[spec.ID]
	if st == nil || st.gen != spec.Gen {
		st = &modelState{gen: spec.Gen}
		s.models[spec.ID] = st
	}
	return spec, st, nil
}

// seedOf is the seed of a training: Options.Seed if set, else the
// program's last set_seed, else 0 (with a note).
func (s *server) seedOf(a map[string]any) int64 {
	if s.o.SeedSet {
		return s.o.Seed
	}
	if n, ok := a["seed"].(int); ok {
		return int64(n)
	}
	s.note("seed", "the program sets no random seed: kiln trains with seed 0, the same every run (--seed N for another)")
	return 0
}

// fit is model.fit: the fit's experiment (data the program's arrays), built
// with config.Build and trained as `kiln fit` trains an experiment file.
// A later fit of a model already trained goes on from its weights.
func (s *server) fit(at string, a map[string]any) (any, error) {
	spec, st, err := s.modelOf(a)
	if err != nil {
		return nil, err
	}
	if spec.Compile == nil {
		return nil, &pyError{"RuntimeError", "You must compile your model before training/testing. Use `model.compile(optimizer, loss)`."}
	}
	s.nextNPY++
	f := config.FitSpec{BatchSize: 32, Epochs: 1, Shuffle: true, Verbose: 1}
	ints := []struct {
		key string
		dst *int
	}{{"batch_size", &f.BatchSize}, {"epochs", &f.Epochs}, {"verbose", &f.Verbose}, {"initial_epoch", &f.InitialEpoch}, {"validation_batch_size", &f.ValidationBatchSize}}
	for _, p := range ints {
		if v, ok := a[p.key]; ok && v != nil {
			n, ok := config.Int(v)
			if !ok {
				return nil, typeErr("fit(%s=%s): expected an integer", p.key, pyRepr(v))
			}
			*p.dst = n
		}
	}
	if s.o.VerboseSet {
		f.Verbose = s.o.Verbose
	}
	if v, ok := a["shuffle"].(bool); ok {
		f.Shuffle = v
	} else if a["shuffle"] != nil {
		return nil, valueErr("fit(shuffle=%s): kiln shuffles or not (True/False); 'batch' shuffling is not in kiln", pyRepr(a["shuffle"]))
	}
	if v, ok := config.Number(a["validation_split"]); ok {
		f.ValidationSplit = v
	}
	if cw, ok := a["class_weight"].(map[string]any); ok {
		f.ClassWeight = map[int]float64{}
		for k, v := range cw {
			c, err1 := strconv.Atoi(k)
			w, ok := config.Number(v)
			if err1 != nil || !ok {
				return nil, valueErr("fit(class_weight=...): keys are class indices and values numbers, got %s: %s", k, pyRepr(v))
			}
			f.ClassWeight[c] = w
		}
	} else if a["class_weight"] == "balanced" {
		f.ClassWeightBalanced = true
	}
	if cbs, ok := a["callbacks"].([]any); ok {
		for _, raw := range cbs {
			c, _ := raw.(map[string]any)
			typ, _ := c["type"].(string)
			args, _ := c["args"].(map[string]any)
			f.Callbacks = append(f.Callbacks, config.LayerSpec{Type: typ, Args: args})
		}
	}

	name := "fit" + strconv.Itoa(s.nextNPY)
	rec := &Fit{At: at, Arrays: map[string]*data.Array{}}
	e := &config.Experiment{Seed: s.seedOf(a), Model: spec.Layers, Compile: *spec.Compile, Fit: f}
	abs := *e
	if s.o.Dir != "" && len(f.Callbacks) > 0 {
		// Files the callbacks write are relative to the program's directory.
		abs.Fit.Callbacks = nil
		for _, c := range f.Callbacks {
			args := maps.Clone(c.Args)
			for _, k := range []string{"filepath", "filename"} {
				if p, ok := args[k].(string); ok && !filepath.IsAbs(p) {
					args[k] = filepath.Join(s.o.Dir, p)
				}
			}
			abs.Fit.Callbacks = append(abs.Fit.Callbacks, config.LayerSpec{Type: c.Type, Args: args})
		}
	}
	train := XYNames(name, "train")
	e.Data.Train = &train
	absTrain, err := s.pair(a, "x", "y", train, rec)
	if err != nil {
		return nil, err
	}
	abs.Data.Train = absTrain
	if a["val_x"] != nil {
		test := XYNames(name, "test")
		e.Data.Test = &test
		absTest, err := s.pair(a, "val_x", "val_y", test, rec)
		if err != nil {
			return nil, err
		}
		abs.Data.Test = absTest
		e.Fit.ValidationData, abs.Fit.ValidationData = "test", "test"
	}
	abs.Path = filepath.Join(s.arrays, "experiment.yaml")
	if len(s.o.Sets) > 0 {
		// --set applies to the program's fits as to an experiment file.
		if err := s.applySets(e); err != nil {
			return nil, err
		}
		if err := s.applySets(&abs); err != nil {
			return nil, err
		}
	}
	rec.Experiment = e

	r, err := config.Build(&abs, s.notes)
	if err != nil {
		return nil, valueErr("%s", strings.TrimPrefix(err.Error(), abs.Path+": "))
	}
	if st.run != nil {
		// Keras: fit again goes on from the trained weights.
		r.Model = st.run.Model
		rec.Continued = true
	}
	rec.Run = r
	s.res.Fits = append(s.res.Fits, rec)
	opts := r.Fit
	opts.Out = console{s}
	tty, _ := a["tty"].(bool)
	opts.TTY = &tty
	for _, cb := range r.Callbacks {
		// Their messages go where Keras prints them: the program's stdout
		// and stderr (kiln's notes).
		switch c := cb.(type) {
		case *callbacks.ModelCheckpoint:
			c.Out, c.Warn = console{s}, s.notes
		case *callbacks.EarlyStopping:
			c.Out, c.Warn = console{s}, s.notes
		}
	}
	opts.Callbacks = append(opts.Callbacks, r.Callbacks...)
	if pc, ok := a["py_callbacks"].([]any); ok && len(pc) > 0 {
		batch, _ := a["py_batch"].(bool)
		opts.Callbacks = append(opts.Callbacks, s.pyCallbacks(pc, batch))
	}
	st.training = r.Model
	h, err := r.Model.Fit(s.ctx, r.X, r.Y, opts)
	st.training = nil
	rec.History = h
	for _, cb := range r.Callbacks {
		// A callback that could not write is the program's OSError.
		var cerr error
		switch c := cb.(type) {
		case *callbacks.ModelCheckpoint:
			cerr = c.Err
		case *callbacks.CSVLogger:
			cerr = c.Err()
		}
		if cerr != nil && err == nil {
			err = &pyError{"OSError", cerr.Error()}
		}
	}
	if err != nil {
		return nil, err
	}
	st.run = r
	return history(h), nil
}

// applySets applies Options.Sets to e in place.
func (s *server) applySets(e *config.Experiment) error {
	y, err := e.Marshal()
	if err != nil {
		return err
	}
	e2, err := config.Parse(y, s.file, s.o.Sets)
	if err != nil {
		return valueErr("%v", err)
	}
	e2.Path = e.Path
	*e = *e2
	return nil
}

// pair reads a fit's x and y arrays and names them for the experiment.
func (s *server) pair(a map[string]any, xk, yk string, names config.XYFiles, rec *Fit) (*config.XYFiles, error) {
	x, xp, err := s.readArray(a, xk)
	if err != nil {
		return nil, err
	}
	y, yp, err := s.readArray(a, yk)
	if err != nil {
		return nil, err
	}
	if x == nil || y == nil {
		return nil, valueErr("fit: kiln trains on arrays x and y (targets are required)")
	}
	rec.Arrays[names.X], rec.Arrays[names.Y] = x, y
	return &config.XYFiles{X: xp, Y: yp}, nil
}

// pyCallbacks is the program's own Keras callbacks (subclasses of
// keras.callbacks.Callback, LambdaCallback): each event is sent to the
// stand-in, which calls their methods and answers whether to stop.
func (s *server) pyCallbacks(ids []any, batch bool) callbacks.Callback {
	var ctl *callbacks.Control
	event := func(name string, fields map[string]any) {
		msg := map[string]any{"event": name, "callbacks": ids}
		maps.Copy(msg, fields)
		if err := s.send(msg); err != nil {
			return
		}
		stop, err := s.awaitEvent()
		if (err != nil || stop) && ctl != nil {
			ctl.StopTraining = true
		}
	}
	logsOf := func(l callbacks.Logs) map[string]any {
		names, values := []string{}, []float64{}
		for i, n := range l.Names {
			if n != callbacks.BatchLoss {
				names, values = append(names, n), append(values, l.Values[i])
			}
		}
		return map[string]any{"names": names, "values": pyFloats(values)}
	}
	f := callbacks.Func{
		OnTrainBegin: func(p callbacks.Params, c *callbacks.Control) {
			ctl = c
			event("train_begin", map[string]any{"params": map[string]int{"epochs": p.Epochs, "steps": p.Steps, "verbose": p.Verbose}})
		},
		OnEpochBegin: func(epoch int) { event("epoch_begin", map[string]any{"epoch": epoch}) },
		OnBatchEnd: func(step int, logs callbacks.Logs) {
			event("batch_end", map[string]any{"batch": step - 1, "logs": logsOf(logs)})
		},
		OnEpochEnd: func(epoch int, logs callbacks.Logs) {
			event("epoch_end", map[string]any{"epoch": epoch, "logs": logsOf(logs)})
		},
		OnTrainEnd: func(logs callbacks.Logs) { event("train_end", map[string]any{"logs": logsOf(logs)}) },
	}
	if !batch {
		f.OnBatchEnd = nil
	}
	return f
}

// awaitEvent reads the stand-in's answer to an event, serving the requests
// the program's callback makes meanwhile (model.predict, evaluate).
func (s *server) awaitEvent() (stop bool, err error) {
	for {
		line, err := s.in.ReadBytes('\n')
		if err != nil {
			return true, err
		}
		var req request
		if err := json.Unmarshal(line, &req); err != nil {
			return true, err
		}
		if req.Op == "event_done" {
			var a struct {
				Stop bool `json:"stop"`
			}
			json.Unmarshal(req.Args, &a)
			return a.Stop, nil
		}
		res, herr := s.handle(&req)
		if err := s.answer(res, herr); err != nil {
			return true, err
		}
	}
}

// model returns the kiln model for evaluate, predict and summary: the
// trained one (or the one in training), else a fresh build.
func (s *server) model(a map[string]any) (*kiln.Sequential, error) {
	spec, st, err := s.modelOf(a)
	if err != nil {
		return nil, err
	}
	if st.training != nil {
		return st.training, nil
	}
	if st.run != nil {
		return st.run.Model, nil
	}
	m, err := config.BuildModel(freshExperiment(spec, s.seedOf(a)), io.Discard)
	if err != nil {
		return nil, valueErr("%s", strings.TrimPrefix(err.Error(), "experiment: "))
	}
	return m, nil
}

// shaped reshapes x like config's data preparation does for fit: flat rows
// into a multi-dimensional Input, grey images (N, H, W) into (N, H, W, 1).
func shaped(m *kiln.Sequential, x *data.Array) *data.Array {
	in := m.InputShape()
	size := 1
	for _, d := range in {
		size *= d
	}
	if len(x.Shape) == 2 && len(in) > 1 && x.Shape[1] == size {
		return x.Reshaped(append([]int{x.Rows()}, in...))
	}
	if len(x.Shape) == len(in) && in[len(in)-1] == 1 && slices.Equal(x.Shape[1:], in[:len(in)-1]) {
		return x.Reshaped(append([]int{x.Rows()}, in...))
	}
	return x
}

func (s *server) evaluate(a map[string]any) (any, error) {
	m, err := s.model(a)
	if err != nil {
		return nil, err
	}
	x, _, err := s.readArray(a, "x")
	if err != nil {
		return nil, err
	}
	y, _, err := s.readArray(a, "y")
	if err != nil {
		return nil, err
	}
	if x == nil || y == nil {
		return nil, valueErr("evaluate(x, y): kiln evaluates arrays x and y")
	}
	bs, _ := a["batch_size"].(int)
	verbose := 1
	if v, ok := a["verbose"].(int); ok {
		verbose = v
	}
	if s.o.VerboseSet {
		verbose = s.o.Verbose
	}
	tty, _ := a["tty"].(bool)
	res, err := m.Evaluate(s.ctx, shaped(m, x), y, kiln.EvaluateOptions{BatchSize: bs, Verbose: verbose, Out: console{s}, TTY: &tty})
	if err != nil {
		return nil, err
	}
	return map[string]any{"names": res.Names, "values": pyFloats(res.Values)}, nil
}

func (s *server) predict(a map[string]any) (any, error) {
	m, err := s.model(a)
	if err != nil {
		return nil, err
	}
	x, xp, err := s.readArray(a, "x")
	if err != nil {
		return nil, err
	}
	if x == nil {
		return nil, valueErr("predict(x): kiln predicts for an array x")
	}
	bs, _ := a["batch_size"].(int)
	p, err := m.Predict(s.ctx, shaped(m, x), kiln.EvaluateOptions{BatchSize: bs})
	if err != nil {
		return nil, err
	}
	out := strings.TrimSuffix(xp, ".npy") + "_pred.npy"
	if err := data.WriteNPY(out, p); err != nil {
		return nil, err
	}
	return map[string]any{"path": out}, nil
}

func (s *server) summary(a map[string]any) (any, error) {
	m, err := s.model(a)
	if err != nil {
		return nil, err
	}
	return summaryText(m)
}

func (s *server) countParams(a map[string]any) (any, error) {
	m, err := s.model(a)
	if err != nil {
		return nil, err
	}
	return m.CountParams(), nil
}

// mnist writes kiln's built-in MNIST as .npy files for
// keras.datasets.mnist.load_data().
func (s *server) mnist() (any, error) {
	ds, err := mnist.Load("")
	if err != nil {
		return nil, &pyError{"OSError", err.Error()}
	}
	var paths []string
	for i, arr := range []*data.Array{ds.XTrain, ds.YTrain, ds.XTest, ds.YTest} {
		p := filepath.Join(s.arrays, "mnist_"+[]string{"x_train", "y_train", "x_test", "y_test"}[i]+".npy")
		if err := data.WriteNPY(p, arr); err != nil {
			return nil, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}
