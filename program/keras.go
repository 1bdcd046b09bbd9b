package program

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/activations"
	"github.com/kiln-ml/kiln/callbacks"
	"github.com/kiln-ml/kiln/config"
	"github.com/kiln-ml/kiln/layers"
	"github.com/kiln-ml/kiln/losses"
	"github.com/kiln-ml/kiln/optimizers"
)

// layerObj is a Keras layer made by the program: its experiment-file item,
// and the input shape it carries (input_shape=, or an Input).
type layerObj struct {
	spec  config.LayerSpec
	input []any // per-sample shape, nil if none
}

func (l *layerObj) typeName() string { return l.spec.Type }
func (l *layerObj) repr() string     { return "<keras.layers." + l.spec.Type + ">" }

// inputObj is keras.Input(shape=...) (a symbolic tensor in Keras).
type inputObj struct{ shape []any }

func (l *inputObj) typeName() string { return "KerasTensor" }
func (l *inputObj) repr() string {
	return "<KerasTensor shape=" + repr(append(Tuple{nil}, pos2values(l.shape)...)) + ">"
}

// optimizerObj is keras.optimizers.X(...).
type optimizerObj struct {
	name string
	args map[string]any
}

func (o *optimizerObj) typeName() string { return o.name }
func (o *optimizerObj) repr() string     { return "<keras.optimizers." + o.name + ">" }

// lossObj is keras.losses.X(...).
type lossObj struct{ spec config.LossSpec }

func (o *lossObj) typeName() string { return "Loss" }
func (o *lossObj) repr() string     { return "<keras.losses." + o.spec.Name + ">" }

// callbackObj is keras.callbacks.X(...).
type callbackObj struct{ spec config.LayerSpec }

func (o *callbackObj) typeName() string { return o.spec.Type }
func (o *callbackObj) repr() string     { return "<keras.callbacks." + o.spec.Type + ">" }

// activationFn is an activation passed as a function (tf.nn.relu).
type activationFn struct{ name string }

func (a *activationFn) typeName() string { return "function" }
func (a *activationFn) repr() string     { return "<function " + a.name + ">" }

// kerasValue turns a program value into the value an experiment file
// would hold: tuples and lists become []any, activation functions their
// names.
func kerasValue(v Value) (any, error) {
	switch x := v.(type) {
	case nil, bool, int, float64, string:
		return x, nil
	case Tuple:
		return kerasList(x)
	case *List:
		return kerasList(x.Items)
	case *activationFn:
		return x.name, nil
	case *Dict:
		m := map[string]any{}
		for _, k := range x.keys {
			ks, ok := k.(string)
			if !ok {
				ks = repr(k)
			}
			v, err := kerasValue(x.m[k])
			if err != nil {
				return nil, err
			}
			m[ks] = v
		}
		return m, nil
	}
	return nil, fmt.Errorf("a %s cannot be an argument here in kiln's reader", typeName(v))
}

func kerasList(vs []Value) ([]any, error) {
	out := make([]any, len(vs))
	for i, v := range vs {
		x, err := kerasValue(v)
		if err != nil {
			return nil, err
		}
		out[i] = x
	}
	return out, nil
}

// shapeArg reads a shape given as a tuple, list or single int.
func shapeArg(v Value, what string) ([]any, error) {
	if n, ok := v.(int); ok {
		return []any{n}, nil
	}
	l, err := kerasValue(v)
	list, ok := l.([]any)
	if err != nil || !ok || len(list) == 0 {
		return nil, fmt.Errorf("%s must be a tuple of positive integers, e.g. (28, 28), got %s", what, repr(v))
	}
	for _, d := range list {
		if n, ok := d.(int); !ok || n <= 0 {
			return nil, fmt.Errorf("%s %s: every dimension must be a positive integer (kiln needs fixed shapes; leave out the batch dimension)", what, repr(v))
		}
	}
	return list, nil
}

// layerClass is the constructor of a registered layer, as a Keras program
// calls it.
func layerClass(spec *layers.Spec) *Builtin {
	return builtin(spec.Class, func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
		obj := &layerObj{spec: config.LayerSpec{Type: spec.Class}}
		var p []any
		for _, v := range pos {
			x, err := kerasValue(v)
			if err != nil {
				return nil, fmt.Errorf("%s(): %v", spec.Class, err)
			}
			p = append(p, x)
		}
		kwm := map[string]any{}
		name := ""
		for _, k := range kw {
			switch k.Name {
			case "input_shape":
				s, err := shapeArg(k.Value, "input_shape")
				if err != nil {
					return nil, err
				}
				obj.input = s
				continue
			case "input_dim":
				n, ok := k.Value.(int)
				if !ok || n <= 0 {
					return nil, fmt.Errorf("input_dim must be a positive integer, got %s", repr(k.Value))
				}
				obj.input = []any{n}
				continue
			case "batch_input_shape", "batch_shape":
				t, err := kerasValue(k.Value)
				list, ok := t.([]any)
				if err != nil || !ok || len(list) < 2 {
					return nil, fmt.Errorf("%s must be (None, dims...), got %s", k.Name, repr(k.Value))
				}
				s, err := shapeArg(Tuple(pos2values(list[1:])), k.Name)
				if err != nil {
					return nil, err
				}
				obj.input = s
				continue
			case "name":
				s, ok := k.Value.(string)
				if !ok {
					return nil, fmt.Errorf("TypeError: name must be a string, got %s", repr(k.Value))
				}
				name = s
				continue
			case "dtype":
				if d := dtypeName(k.Value); d != "float32" {
					return nil, fmt.Errorf("%s(dtype=%s): kiln computes in float32 (Keras' default)", spec.Class, repr(k.Value))
				}
				continue
			case "trainable":
				if k.Value != true {
					return nil, fmt.Errorf("%s(trainable=%s): kiln trains every layer (it has no frozen layers)", spec.Class, repr(k.Value))
				}
				continue
			}
			x, err := kerasValue(k.Value)
			if err != nil {
				return nil, fmt.Errorf("%s(%s=...): %v", spec.Class, k.Name, err)
			}
			kwm[k.Name] = x
		}
		args, err := spec.FromCall(spec.Class+"()", p, kwm)
		if err != nil {
			return nil, err
		}
		if name != "" {
			args["name"] = name
		}
		// Check the arguments now, as Keras does when the layer is made.
		if _, err := spec.Make(args); err != nil {
			return nil, err
		}
		obj.spec.Args = args
		return obj, nil
	})
}

func pos2values(l []any) []Value {
	out := make([]Value, len(l))
	for i, v := range l {
		out[i] = v
	}
	return out
}

// inputClass is keras.Input / keras.layers.Input / InputLayer.
func inputClass(name string) *Builtin {
	return builtin(name, func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
		a, err := bind(name, pos, kw, "shape=", "batch_size=", "name=", "dtype=", "input_shape=", "batch_shape=")
		if err != nil {
			return nil, err
		}
		var shape []any
		switch {
		case a.has("shape"):
			shape, err = shapeArg(a.get("shape"), "shape")
		case a.has("input_shape"):
			shape, err = shapeArg(a.get("input_shape"), "input_shape")
		case a.has("batch_shape"):
			t, ok := a.get("batch_shape").(Tuple)
			if !ok || len(t) < 2 {
				return nil, fmt.Errorf("batch_shape must be (None, dims...)")
			}
			shape, err = shapeArg(t[1:], "batch_shape")
		default:
			err = fmt.Errorf("%s() needs shape=, e.g. %s(shape=(28, 28))", name, name)
		}
		if err != nil {
			return nil, err
		}
		if a.has("dtype") && dtypeName(a.get("dtype")) != "float32" {
			return nil, fmt.Errorf("%s(dtype=%s): kiln computes in float32", name, repr(a.get("dtype")))
		}
		if name == "InputLayer" {
			return &layerObj{spec: config.LayerSpec{Type: "InputLayer"}, input: shape}, nil
		}
		return &inputObj{shape: shape}, nil
	})
}

// optimizerClass is keras.optimizers.X; positional arguments follow Keras'
// signatures (learning_rate first).
func optimizerClass(class string) *Builtin {
	key := strings.ToLower(class)
	return builtin(class, func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
		order := map[string][]string{"sgd": {"learning_rate", "momentum", "nesterov"}, "adam": {"learning_rate", "beta_1", "beta_2", "epsilon"},
			"rmsprop": {"learning_rate", "rho", "momentum", "epsilon", "centered"}, "adagrad": {"learning_rate", "initial_accumulator_value", "epsilon"}}[key]
		if len(pos) > len(order) {
			return nil, fmt.Errorf("TypeError: %s() takes at most %d positional arguments", class, len(order))
		}
		args := map[string]any{}
		for i, v := range pos {
			x, err := kerasValue(v)
			if err != nil {
				return nil, err
			}
			args[order[i]] = x
		}
		for _, k := range kw {
			x, err := kerasValue(k.Value)
			if err != nil {
				return nil, err
			}
			name := k.Name
			if name == "lr" { // Keras 2
				name = "learning_rate"
			}
			switch name {
			case "name", "decay":
				if name == "decay" && x != 0 && x != 0.0 {
					return nil, fmt.Errorf("%s(decay=%s): kiln has no learning-rate decay yet; remove it", class, repr(k.Value))
				}
				continue
			}
			args[name] = x
		}
		if _, err := optimizers.Get(key, args); err != nil {
			return nil, err
		}
		return &optimizerObj{name: class, args: args}, nil
	})
}

// lossClass is keras.losses.X(from_logits=..., label_smoothing=...).
func lossClass(class, name string) *Builtin {
	return builtin(class, func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
		a, err := bind(class, pos, kw, "from_logits=", "label_smoothing=", "reduction=", "name=")
		if err != nil {
			return nil, err
		}
		if r, _ := a.str("reduction", "sum_over_batch_size"); r != "sum_over_batch_size" && r != "auto" {
			return nil, fmt.Errorf("%s(reduction=%s): kiln averages over the batch (Keras' default)", class, quote(r))
		}
		fl, err := a.bool("from_logits", false)
		if err != nil {
			return nil, err
		}
		ls, err := a.float("label_smoothing", 0)
		if err != nil {
			return nil, err
		}
		spec := config.LossSpec{Name: name, FromLogits: fl, LabelSmoothing: ls}
		if _, err := losses.Get(name, losses.Options{FromLogits: fl, LabelSmoothing: ls}); err != nil {
			return nil, err
		}
		return &lossObj{spec: spec}, nil
	})
}

// callbackClass is keras.callbacks.X, from the callback registry.
func callbackClass(spec *callbacks.Spec) *Builtin {
	return builtin(spec.Class, func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
		if len(pos) > 0 {
			// Keras' first positional argument, where one is common.
			first, ok := map[string]string{"CSVLogger": "filename", "ModelCheckpoint": "filepath", "BackupAndRestore": "backup_dir"}[spec.Class]
			if !ok || len(pos) > 1 {
				return nil, fmt.Errorf("%s(): kiln's reader takes keyword arguments here, e.g. %s(monitor='val_loss')", spec.Class, spec.Class)
			}
			kw = append([]Kwarg{{Name: first, Value: pos[0]}}, kw...)
		}
		args := map[string]any{}
		for _, k := range kw {
			x, err := kerasValue(k.Value)
			if err != nil {
				return nil, err
			}
			args[k.Name] = x
		}
		if _, err := spec.Make(args); err != nil {
			return nil, err
		}
		return &callbackObj{spec: config.LayerSpec{Type: spec.Class, Args: args}}, nil
	})
}

// errFunctional refuses Keras' functional API (a layer called on a tensor,
// keras.Model(inputs, outputs)).
var errFunctional = fmt.Errorf("the functional API (calling a layer on a tensor, keras.Model(inputs, outputs)) is not in kiln's reader; write the model as keras.Sequential([...]), or as an experiment file (kiln's experiment files have Functional models), or run the program with its own Python (--python)")

// callValue refuses calling a layer: the functional API.
func (l *layerObj) callValue(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
	return nil, fmt.Errorf("%s(...)(x): %w", l.spec.Type, errFunctional)
}

// physicalDevice is the CPU in tf.config.list_physical_devices().
type physicalDevice struct{}

func (d *physicalDevice) typeName() string { return "PhysicalDevice" }
func (d *physicalDevice) repr() string {
	return "PhysicalDevice(name='/physical_device:CPU:0', device_type='CPU')"
}

// kerasModule builds the keras module tree (also tensorflow.keras).
func (in *Interp) kerasModule() *Module {
	lay := &Module{Name: "keras.layers", Attrs: map[string]Value{}}
	for _, class := range layers.Classes() {
		spec, _ := layers.Lookup(class)
		lay.Attrs[class] = layerClass(spec)
	}
	var seq []string // the layers a Sequential model takes (not merges)
	for _, class := range layers.Classes() {
		if spec, _ := layers.Lookup(class); spec.NewMerge == nil {
			seq = append(seq, class)
		}
	}
	lay.Missing = "; kiln's layers are " + strings.Join(seq, ", ") + " (and Input)"
	lay.Attrs["Input"] = inputClass("Input")
	lay.Attrs["InputLayer"] = inputClass("InputLayer")
	// Keras 1/2 spellings.
	conv := lay.Attrs["Conv2D"].(*Builtin)
	lay.Attrs["Convolution2D"] = builtin("Convolution2D", func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
		// Keras 1: Convolution2D(nb_filter, nb_row, nb_col, ...).
		if len(pos) == 3 {
			if r, ok := pos[1].(int); ok {
				if c, ok := pos[2].(int); ok {
					pos = []Value{pos[0], Tuple{r, c}}
				}
			}
		}
		return conv.Fn(in, pos, kw)
	})
	lay.Attrs["MaxPool2D"] = lay.Attrs["MaxPooling2D"]
	lay.Attrs["AvgPool2D"] = lay.Attrs["AveragePooling2D"]
	lay.Attrs["GlobalAvgPool2D"] = lay.Attrs["GlobalAveragePooling2D"]

	// Keras 1/2 submodules that held the layers: from keras.layers.core
	// import Dense.
	for _, sub := range []string{"core", "convolutional", "pooling", "normalization"} {
		lay.Attrs[sub] = &Module{Name: "keras.layers." + sub, Attrs: lay.Attrs}
	}

	opt := &Module{Name: "keras.optimizers", Attrs: map[string]Value{}}
	for _, c := range []string{"SGD", "Adam", "RMSprop", "Adagrad"} {
		opt.Attrs[c] = optimizerClass(c)
	}
	opt.Missing = "; kiln's optimizers are SGD, Adam, RMSprop and Adagrad"
	opt.Attrs["legacy"] = &Module{Name: "keras.optimizers.legacy", Attrs: opt.Attrs, Missing: opt.Missing}

	los := &Module{Name: "keras.losses", Attrs: map[string]Value{}, Missing: "; kiln's losses are CategoricalCrossentropy, SparseCategoricalCrossentropy, BinaryCrossentropy and MeanSquaredError"}
	for class, name := range map[string]string{"CategoricalCrossentropy": "categorical_crossentropy", "SparseCategoricalCrossentropy": "sparse_categorical_crossentropy",
		"BinaryCrossentropy": "binary_crossentropy", "MeanSquaredError": "mean_squared_error"} {
		los.Attrs[class] = lossClass(class, name)
		los.Attrs[name] = name // keras.losses.categorical_crossentropy as a function: its name
	}

	cbs := &Module{Name: "keras.callbacks", Attrs: map[string]Value{}, Missing: "; kiln's callbacks are " + strings.Join(callbacks.Classes(), ", ")}
	for _, class := range callbacks.Classes() {
		spec, _ := callbacks.Lookup(class)
		cbs.Attrs[class] = callbackClass(spec)
	}

	acts := &Module{Name: "keras.activations", Attrs: map[string]Value{}}
	for _, n := range activations.Names() {
		acts.Attrs[n] = &activationFn{name: n}
	}

	toCat := builtin("to_categorical", toCategorical)
	seed := builtin("set_random_seed", func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
		return in.setSeed("set_random_seed", pos, kw)
	})
	utils := &Module{Name: "keras.utils", Attrs: map[string]Value{
		"to_categorical":  toCat,
		"set_random_seed": seed,
		"np_utils":        &Module{Name: "keras.utils.np_utils", Attrs: map[string]Value{"to_categorical": toCat}},
	}}
	datasets := &Module{Name: "keras.datasets", Missing: "; kiln's reader has keras.datasets.mnist; for other data write an experiment file (data: npz, train/test .npy or csv) or run the program with its own Python (--python)", Attrs: map[string]Value{
		"mnist": &Module{Name: "keras.datasets.mnist", Attrs: map[string]Value{
			"load_data": builtin("load_data", func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
				if _, err := bind("load_data", pos, kw, "path="); err != nil {
					return nil, err
				}
				return mnistArrays(), nil
			}),
		}},
	}}
	sequential := builtin("Sequential", newSequential)
	model := builtin("Model", func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
		return nil, errFunctional
	})
	models := &Module{Name: "keras.models", Attrs: map[string]Value{"Sequential": sequential, "Model": model}}
	// Imported by many programs that never call them; calling them is
	// refused.
	for _, name := range []string{"load_model", "save_model"} {
		models.Attrs[name] = builtin(name, func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
			return nil, fmt.Errorf("keras.models.%s: kiln's reader does not read or write Keras model files; kiln fit PROGRAM.py --save DIR saves a trained model in kiln's format, or run the program with its own Python (--python)", name)
		})
	}
	backend := &Module{Name: "keras.backend", Attrs: map[string]Value{
		// Keras' global state is its layer-name counters and graph;
		// kiln's reader keeps none, so there is nothing to clear.
		"clear_session": builtin("clear_session", func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
			_, err := bind("clear_session", pos, kw, "free_memory=")
			return nil, err
		}),
		// kiln's images are channels-last, Keras' default.
		"image_data_format": builtin("image_data_format", func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
			_, err := bind("image_data_format", pos, kw)
			return "channels_last", err
		}),
	}}
	return &Module{Name: "keras", Attrs: map[string]Value{
		"backend": backend,
		"layers":  lay, "optimizers": opt, "losses": los, "callbacks": cbs, "activations": acts,
		"utils": utils, "datasets": datasets, "models": models, "Sequential": sequential, "Model": model,
		"Input": lay.Attrs["Input"],
	}}
}

// tensorflowModule is tensorflow: keras, nn's activations, random.set_seed.
func (in *Interp) tensorflowModule(keras *Module) *Module {
	nn := &Module{Name: "tensorflow.nn", Attrs: map[string]Value{}}
	for _, n := range activations.Names() {
		nn.Attrs[n] = &activationFn{name: n}
	}
	listDevices := builtin("list_physical_devices", func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
		a, err := bind("list_physical_devices", pos, kw, "device_type=")
		if err != nil {
			return nil, err
		}
		t, _ := a.str("device_type", "")
		out := &List{}
		if t == "" || strings.EqualFold(t, "CPU") {
			// kiln trains on the CPU; it has no GPU device.
			out.Items = append(out.Items, &physicalDevice{})
		}
		return out, nil
	})
	config := &Module{Name: "tensorflow.config", Attrs: map[string]Value{"list_physical_devices": listDevices}}
	config.Attrs["experimental"] = &Module{Name: "tensorflow.config.experimental", Attrs: map[string]Value{"list_physical_devices": listDevices}}
	return &Module{Name: "tensorflow", Attrs: map[string]Value{
		"keras": keras, "nn": nn, "config": config,
		"random": &Module{Name: "tensorflow.random", Attrs: map[string]Value{
			"set_seed": builtin("set_seed", func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
				return in.setSeed("tf.random.set_seed", pos, kw)
			}),
		}},
		"float32": &dtype{name: "float32"},
		// A TensorFlow 2 version, marked as kiln's: programs print it or
		// test its major version.
		"__version__": "2.16.1+kiln",
	}}
}

func (in *Interp) setSeed(fn string, pos []Value, kw []Kwarg) (Value, error) {
	a, err := bind(fn, pos, kw, "seed")
	if err != nil {
		return nil, err
	}
	s, err := a.int("seed", 0)
	if err != nil {
		return nil, err
	}
	in.seedByProgram = true
	if !in.SeedSet {
		in.Seed = int64(s)
	}
	return nil, nil
}

// toCategorical is keras.utils.to_categorical(y, num_classes).
func toCategorical(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
	a, err := bind("to_categorical", pos, kw, "y", "num_classes=", "dtype=")
	if err != nil {
		return nil, err
	}
	y, ok := a.get("y").(*Array)
	if !ok {
		return nil, fmt.Errorf("to_categorical: kiln's reader one-hots label arrays, got %s", typeName(a.get("y")))
	}
	n, err := a.int("num_classes", 0)
	if err != nil {
		return nil, err
	}
	if y.Source == "mnist" && y.isLabels() && y.OneHot == 0 {
		if n == 0 {
			n = 10
		}
		b := y.clone()
		b.OneHot = n
		b.Shape = []int{y.Shape[0], n}
		b.DType = "float32"
		b.values = nil
		return b, nil
	}
	return nil, fmt.Errorf("to_categorical: kiln's reader one-hots the labels of a data set (keras.datasets.mnist.load_data()), got %s", repr(y))
}

// compileLoss reads compile's loss argument.
func compileLoss(v Value) (config.LossSpec, error) {
	switch x := v.(type) {
	case string:
		if _, err := losses.Get(x, losses.Options{}); err != nil {
			return config.LossSpec{}, err
		}
		return config.LossSpec{Name: x}, nil
	case *lossObj:
		return x.spec, nil
	}
	return config.LossSpec{}, fmt.Errorf("compile(loss=%s): give a loss name such as 'categorical_crossentropy' or a keras.losses object", repr(v))
}

func compileOptimizer(v Value) (config.OptimizerSpec, error) {
	switch x := v.(type) {
	case string:
		if _, err := optimizers.Get(x, nil); err != nil {
			return config.OptimizerSpec{}, err
		}
		return config.OptimizerSpec{Name: strings.ToLower(x), Args: map[string]any{}}, nil
	case *optimizerObj:
		args := map[string]any{}
		for k, v := range x.args {
			args[k] = v
		}
		return config.OptimizerSpec{Name: strings.ToLower(x.name), Args: args}, nil
	}
	return config.OptimizerSpec{}, fmt.Errorf("compile(optimizer=%s): give an optimizer name such as 'adam' or a keras.optimizers object", repr(v))
}

func compileMetrics(v Value) ([]string, error) {
	if v == nil {
		return nil, nil
	}
	items, err := iterate(v)
	if err != nil {
		return nil, fmt.Errorf("compile(metrics=%s): give a list of metric names, e.g. ['accuracy']", repr(v))
	}
	var out []string
	for _, it := range items {
		s, ok := it.(string)
		if !ok {
			return nil, fmt.Errorf("compile(metrics=...): kiln's reader takes metric names, e.g. 'accuracy', got %s", repr(it))
		}
		out = append(out, s)
	}
	return out, nil
}

var _ = slices.Contains[[]string]
var _ = kiln.NewSequential
