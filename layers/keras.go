package layers

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kiln-ml/kiln/internal/value"
	"github.com/kiln-ml/kiln/schema"
)

// KerasConfig is one layer's Keras get_config() (from model.to_json(),
// TensorFlow.js or a kiln config.json) on its way to experiment-file
// arguments. Every key must be read: a key nobody reads is one kiln would
// ignore, and the importer refuses it by name.
type KerasConfig struct {
	// At names the layer in messages, e.g. `layer 2 (Dense "dense_1")`.
	At string
	// Args are the experiment-file arguments made so far.
	Args map[string]any
	cfg  map[string]any
	used map[string]bool
}

// NewKerasConfig starts the translation of cfg, a layer's config object.
func NewKerasConfig(cfg map[string]any, at string) *KerasConfig {
	return &KerasConfig{At: at, Args: map[string]any{}, cfg: cfg, used: map[string]bool{}}
}

// Get returns the value of key (nil if absent) and marks it read.
func (k *KerasConfig) Get(key string) any {
	k.used[key] = true
	return k.cfg[key]
}

// Has reports whether key is present (even as null).
func (k *KerasConfig) Has(key string) bool { _, ok := k.cfg[key]; return ok }

// Drop marks keys read whose values do not change what kiln trains.
func (k *KerasConfig) Drop(keys ...string) {
	for _, key := range keys {
		k.used[key] = true
	}
}

// Errorf returns an error that names the layer.
func (k *KerasConfig) Errorf(format string, a ...any) error {
	return fmt.Errorf("%s: %s", k.At, fmt.Sprintf(format, a...))
}

// Unread returns the keys nobody read, sorted.
func (k *KerasConfig) Unread() []string {
	var keys []string
	for key := range k.cfg {
		if !k.used[key] {
			keys = append(keys, key)
		}
	}
	slices.Sort(keys)
	return keys
}

// FromKeras translates a Keras config into the arguments an experiment file
// gives the layer: first the Spec's Keras hook, then every Arg present in
// the config and not read by the hook. The caller reads the keys every
// layer has (name, dtype, trainable, input shapes) and refuses Unread ones.
func (s *Spec) FromKeras(k *KerasConfig) (map[string]any, error) {
	if s.Keras != nil {
		if err := s.Keras(k); err != nil {
			return nil, err
		}
	}
	for i := range s.Args {
		arg := &s.Args[i]
		if k.used[arg.Name] {
			continue
		}
		v := k.Get(arg.Name)
		if v == nil {
			if arg.Required {
				return nil, k.Errorf("no %s (%s)", arg.Name, arg.Doc)
			}
			continue
		}
		if arg.Kind == schema.Activation {
			name, err := k.Activation(v)
			if err != nil {
				return nil, err
			}
			v = name
		}
		x, ok := arg.Convert(v)
		if !ok {
			return nil, k.Errorf("%s %s is not %s", arg.Name, value.JSON(v), arg.Doc)
		}
		k.Args[arg.Name] = schema.FileValue(x)
	}
	return k.Args, nil
}

// Activation reads an activation: a name, or (Keras 3, TF.js) a serialised
// built-in function.
func (k *KerasConfig) Activation(v any) (string, error) {
	switch a := v.(type) {
	case nil:
		return "linear", nil
	case string:
		return a, nil
	case map[string]any:
		// {"module": "keras.activations", "class_name": "function", "config": "relu", ...}
		if s, ok := a["config"].(string); ok && a["class_name"] == "function" {
			return s, nil
		}
	}
	return "", k.Errorf("activation %s is not a built-in activation name", value.JSON(v))
}

// ChannelsLast refuses a data_format other than channels_last: kiln's
// images are (height, width, channels).
func (k *KerasConfig) ChannelsLast() error {
	if df, ok := k.Get("data_format").(string); ok && df != "channels_last" {
		return k.Errorf("data_format %s; kiln's images are channels_last (height, width, channels)", df)
	}
	return nil
}

// Unset refuses keys that are set (not null): settings kiln does not have,
// such as regularizers and constraints.
func (k *KerasConfig) Unset(keys ...string) error {
	for _, key := range keys {
		if v := k.Get(key); v != nil {
			return k.Errorf("%s is set (%s); kiln has no %s yet: remove it from the model, or train it in Keras", key, value.JSON(v), strings.ReplaceAll(key, "_", " "))
		}
	}
	return nil
}

// Initializer checks that the initializer under key is the one kiln uses
// (want: glorot_uniform, zeros or ones), in any of Keras' spellings; absent
// or null means Keras' default, which is kiln's.
func (k *KerasConfig) Initializer(key, want string) error {
	v := k.Get(key)
	if v == nil {
		return nil
	}
	class, cfg := initializerParts(v)
	norm := strings.ToLower(strings.ReplaceAll(class, "_", ""))
	ok := false
	switch want {
	case "glorot_uniform":
		ok = norm == "glorotuniform" || norm == "xavieruniform"
		if norm == "variancescaling" && cfg != nil {
			// TF.js and Keras 2.0 write glorot_uniform this way.
			scale, _ := value.Float(cfg["scale"])
			ok = scale == 1 && cfg["mode"] == "fan_avg" && cfg["distribution"] == "uniform"
		}
	case "zeros":
		ok = norm == "zeros" || norm == "zero"
	case "ones":
		ok = norm == "ones" || norm == "one"
	}
	if !ok {
		hint := "remove the setting (Keras' default is " + want + ")"
		if norm == "variancescaling" && cfg != nil && cfg["distribution"] == "normal" && cfg["mode"] == "fan_avg" {
			hint = "TensorFlow.js' layers default to glorot_normal: build them with kernelInitializer: 'glorotUniform'"
		}
		return k.Errorf("%s is %s; kiln initialises with %s: %s, or train it in Keras", key, value.JSON(v), want, hint)
	}
	return nil
}

// kerasWeighted reads what Dense and Conv2D share: the activation (always
// written, "linear" when null) and use_bias (written when false); the
// initializers, which must be kiln's; and the regularizers, constraints and
// LoRA/quantization settings, which must be unset.
func kerasWeighted(k *KerasConfig) error {
	act, err := k.Activation(k.Get("activation"))
	if err != nil {
		return err
	}
	k.Args["activation"] = act
	useBias := true
	switch b := k.Get("use_bias").(type) {
	case nil:
	case bool:
		useBias = b
	default:
		return k.Errorf("use_bias %s is not true or false", value.JSON(b))
	}
	if !useBias {
		k.Args["use_bias"] = false
	}
	for _, init := range []struct{ key, def string }{{"kernel_initializer", "glorot_uniform"}, {"bias_initializer", "zeros"}} {
		if init.key == "bias_initializer" && !useBias {
			k.Drop(init.key) // no bias to initialise
			continue
		}
		name, err := k.kerasInitializer(init.key)
		if err != nil {
			return err
		}
		if name != "" && name != init.def {
			k.Args[init.key] = name // defaults stay unwritten, as the file had them
		}
	}
	if k.cfg["lora_rank"] == nil {
		k.Drop("lora_alpha") // only used with lora_rank
	}
	return k.Unset("kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint", "bias_constraint", "lora_rank", "quantization_config")
}

// FromCall translates a call of the layer's Python constructor, as a
// Keras program writes it (Dense(10, activation="relu")), into the
// arguments an experiment file gives the layer. Keras' get_config keys are
// its constructor's keyword arguments, so the call is read like a config:
// the same checks, the same refusals. pos and kw hold the evaluated
// arguments (int, float64, string, bool, nil, []any for tuples and lists);
// at names the call in messages. Keyword arguments every layer takes
// (name, dtype, trainable) and input shapes are the caller's to remove or
// translate first.
func (s *Spec) FromCall(at string, pos []any, kw map[string]any) (map[string]any, error) {
	if len(pos) > s.Positional {
		var names []string
		for _, a := range s.Args[:s.Positional] {
			names = append(names, a.Name)
		}
		which := "none"
		if len(names) > 0 {
			which = strings.Join(names, ", ")
		}
		return nil, fmt.Errorf("%s: %s takes %d positional argument(s) (%s), got %d; name the others, e.g. %s=...", at, s.Class, s.Positional, which, len(pos), s.nextArgName())
	}
	cfg := map[string]any{}
	for i, v := range pos {
		cfg[s.Args[i].Name] = v
	}
	keys := make([]string, 0, len(kw))
	for k := range kw {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, key := range keys {
		name := key
		if a, ok := s.Aliases[key]; ok {
			name = a
		}
		if _, dup := cfg[name]; dup {
			return nil, fmt.Errorf("%s: %s got multiple values for argument %q", at, s.Class, name)
		}
		cfg[name] = kw[key]
	}
	k := NewKerasConfig(cfg, at)
	args, err := s.FromKeras(k)
	if err != nil {
		return nil, err
	}
	if u := k.Unread(); len(u) > 0 {
		return nil, fmt.Errorf("%s: %s got unexpected keyword argument(s) %s; kiln's %s takes %s", at, s.Class, strings.Join(u, ", "), s.Class, strings.Join(schema.Names(s.Args), ", "))
	}
	return args, nil
}

// nextArgName is the first argument Keras does not take by position.
func (s *Spec) nextArgName() string {
	if s.Positional < len(s.Args) {
		return s.Args[s.Positional].Name
	}
	return "name"
}

// initializerParts reads an initializer as Keras configs write it: a name,
// or an object {"class_name": ..., "config": {...}}.
func initializerParts(v any) (class string, cfg map[string]any) {
	switch x := v.(type) {
	case string:
		class = x
	case map[string]any:
		class, _ = x["class_name"].(string)
		cfg, _ = x["config"].(map[string]any)
	}
	return class, cfg
}
