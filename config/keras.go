package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
)

// KerasLayers are the Keras layer classes KerasModel translates.
var KerasLayers = []string{"InputLayer", "Flatten", "Dense", "Activation", "Dropout", "BatchNormalization", "Conv2D", "MaxPooling2D", "AveragePooling2D", "Reshape", "GlobalAveragePooling2D"}

// KerasModel translates a Keras model description into the layers of an
// experiment's model section. It reads the JSON of Keras' model.to_json()
// (Keras 2.x, tf.keras and Keras 3 formats), of TensorFlow.js'
// model.toJSON() and the modelTopology of a TensorFlow.js model.json, and
// the keras_config.json kiln saves. Only Sequential models of the layers
// kiln has (KerasLayers) translate, with the arguments kiln implements;
// anything else is an error naming the layer and the argument, never a
// silently different model. name is the file name for messages.
//
// Settings that do not change the model kiln trains are accepted and
// dropped: dtype float32, trainable true, initializer seeds (kiln seeds
// every run from the experiment), Flatten's data_format channels_last.
func KerasModel(src []byte, name string) ([]LayerSpec, error) {
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.UseNumber()
	var top any
	if err := dec.Decode(&top); err != nil {
		return nil, fmt.Errorf("%s: not valid JSON (%v); give the output of Keras' model.to_json()", name, err)
	}
	kf := kerasFile{name: name}
	return kf.model(top)
}

type kerasFile struct{ name string }

func (kf kerasFile) errorf(format string, a ...any) error {
	return fmt.Errorf("%s: %s", kf.name, fmt.Sprintf(format, a...))
}

// model finds the Sequential model in top, unwrapping the containers that
// hold one (a TensorFlow.js model.json, a Keras .keras archive's config).
func (kf kerasFile) model(top any) ([]LayerSpec, error) {
	m, ok := top.(map[string]any)
	if !ok {
		return nil, kf.errorf("expected a JSON object with class_name and config (Keras' model.to_json()), got %s", jsonKind(top))
	}
	for _, wrap := range []string{"modelTopology", "model_config"} {
		if inner, ok := m[wrap].(map[string]any); ok {
			if _, has := m["class_name"]; !has {
				return kf.model(inner)
			}
		}
	}
	class, _ := m["class_name"].(string)
	switch class {
	case "Sequential":
	case "":
		return nil, kf.errorf("no class_name at the top; expected a Keras model, e.g. the output of model.to_json()")
	case "Model", "Functional":
		return kf.functional(class, m) // keras_functional.go
	default:
		return nil, kf.errorf("class_name is %q; kiln imports Sequential models", class)
	}
	var layerList []any
	var buildShape any
	switch c := m["config"].(type) {
	case []any: // Keras 2.0–2.1: the config is the list of layers
		layerList = c
	case map[string]any:
		l, ok := c["layers"].([]any)
		if !ok {
			return nil, kf.errorf("config has no layers list")
		}
		layerList = l
		buildShape = c["build_input_shape"] // tf.keras 2.x, when built without an InputLayer
		if bc, ok := c["build_config"].(map[string]any); ok && buildShape == nil {
			buildShape = bc["input_shape"] // Keras 3
		}
	default:
		return nil, kf.errorf("the Sequential model has no config")
	}
	if bc, ok := m["build_config"].(map[string]any); ok && buildShape == nil {
		buildShape = bc["input_shape"]
	}
	if len(layerList) == 0 {
		return nil, kf.errorf("the Sequential model has no layers")
	}

	var out []LayerSpec
	for i, raw := range layerList {
		l, ok := raw.(map[string]any)
		if !ok {
			return nil, kf.errorf("layer %d is %s, not an object with class_name and config", i, jsonKind(raw))
		}
		class, _ := l["class_name"].(string)
		cfg, _ := l["config"].(map[string]any)
		if cfg == nil {
			cfg = map[string]any{}
		}
		lname, _ := cfg["name"].(string)
		at := fmt.Sprintf("layer %d (%s", i, class)
		if lname != "" {
			at += fmt.Sprintf(" %q", lname)
		}
		at += ")"
		spec, input, err := kf.layer(class, cfg, at)
		if err != nil {
			return nil, err
		}
		if input != nil && len(out) == 0 {
			out = append(out, *input)
		} else if input != nil && class == "InputLayer" {
			return nil, kf.errorf("%s: an InputLayer after other layers; kiln models have one input, first", at)
		}
		if spec != nil {
			out = append(out, *spec)
		}
	}
	if len(out) == 0 || out[0].Type != "Input" {
		shape, err := inputShape(buildShape)
		if err != nil || shape == nil {
			return nil, kf.errorf("the model does not say its input shape (no InputLayer, no batch_input_shape on its first layer, no build_input_shape); " +
				"build the model before model.to_json(), e.g. keras.Input(shape=...) first, or add it to the experiment")
		}
		out = append([]LayerSpec{{Type: "Input", Args: map[string]any{"shape": shape}}}, out...)
	}
	return out, nil
}

// layer translates one Keras layer. input is an Input layer to put first
// when the layer carries the model's input shape.
func (kf kerasFile) layer(class string, cfg map[string]any, at string) (spec, input *LayerSpec, err error) {
	var used []string
	get := func(k string) any {
		used = append(used, k)
		return cfg[k]
	}
	// The input shape: an InputLayer's, or a first layer's batch_input_shape.
	for _, k := range []string{"batch_input_shape", "batch_shape"} {
		if v, ok := cfg[k]; ok && v != nil {
			used = append(used, k)
			shape, err := inputShape(v)
			if err != nil {
				return nil, nil, kf.errorf("%s: %s %v: %v", at, k, v, err)
			}
			input = &LayerSpec{Type: "Input", Args: map[string]any{"shape": shape}}
		}
	}
	if class == "InputLayer" {
		if v, ok := cfg["input_shape"]; ok && input == nil { // Keras 3 may write shape
			used = append(used, "input_shape")
			if shape, err := inputShape(append([]any{nil}, asList(v)...)); err == nil {
				input = &LayerSpec{Type: "Input", Args: map[string]any{"shape": shape}}
			}
		}
		if v, ok := cfg["shape"]; ok && input == nil {
			used = append(used, "shape")
			if shape, err := inputShape(append([]any{nil}, asList(v)...)); err == nil {
				input = &LayerSpec{Type: "Input", Args: map[string]any{"shape": shape}}
			}
		}
		if input == nil {
			return nil, nil, kf.errorf("%s: no input shape (batch_input_shape or batch_shape)", at)
		}
	}
	// Settings every layer may have that do not change what kiln trains.
	for _, k := range []string{"name", "dtype", "trainable", "input_dtype", "sparse", "ragged", "batch_size", "input_tensor", "optional"} {
		v, ok := cfg[k]
		if !ok {
			continue
		}
		used = append(used, k)
		switch k {
		case "dtype", "input_dtype":
			if d := dtypeName(v); d != "" && d != "float32" {
				return nil, nil, kf.errorf("%s: dtype %s; kiln computes in float32 (Keras' default): set dtype float32 or remove it", at, d)
			}
		case "trainable":
			if b, ok := v.(bool); ok && !b {
				return nil, nil, kf.errorf("%s: trainable is false; kiln trains every layer (it has no frozen layers)", at)
			}
		case "sparse", "ragged":
			if b, ok := v.(bool); ok && b {
				return nil, nil, kf.errorf("%s: %s input; kiln takes dense arrays", at, k)
			}
		}
	}
	args := map[string]any{}
	if n, ok := cfg["name"].(string); ok && n != "" {
		args["name"] = n
	}
	switch class {
	case "InputLayer":
		spec = nil
	case "Flatten":
		if df, ok := get("data_format").(string); ok && df != "channels_last" {
			return nil, nil, kf.errorf("%s: data_format %s; kiln flattens row-major (channels_last)", at, df)
		}
		spec = &LayerSpec{Type: "Flatten", Args: args}
	case "Dense":
		units, ok := jsonInt(get("units"))
		if !ok || units <= 0 {
			return nil, nil, kf.errorf("%s: units %v is not a positive integer", at, cfg["units"])
		}
		args["units"] = units
		if err := kf.weighted(cfg, get, args, at); err != nil {
			return nil, nil, err
		}
		spec = &LayerSpec{Type: "Dense", Args: args}
	case "Conv2D", "MaxPooling2D", "AveragePooling2D":
		if df, ok := get("data_format").(string); ok && df != "channels_last" {
			return nil, nil, kf.errorf("%s: data_format %s; kiln's images are channels_last (height, width, channels)", at, df)
		}
		pairArg := func(k string) (any, error) {
			v := get(k)
			if v == nil {
				return nil, nil
			}
			if n, ok := jsonInt(v); ok && n > 0 {
				return n, nil
			}
			if l := asList(v); len(l) == 2 {
				a, okA := jsonInt(l[0])
				b, okB := jsonInt(l[1])
				if okA && okB && a > 0 && b > 0 {
					return []any{a, b}, nil
				}
			}
			return nil, kf.errorf("%s: %s %s is not a positive integer or a pair of them", at, k, compactJSON(v))
		}
		keys := []string{"pool_size", "strides"}
		if class == "Conv2D" {
			keys = []string{"kernel_size", "strides"}
			units, ok := jsonInt(get("filters"))
			if !ok || units <= 0 {
				return nil, nil, kf.errorf("%s: filters %v is not a positive integer", at, cfg["filters"])
			}
			args["filters"] = units
			for _, k := range []string{"dilation_rate", "groups"} {
				if v := get(k); v != nil {
					if n, ok := jsonInt(v); ok && n == 1 {
						continue
					}
					if l := asList(v); len(l) == 2 && l[0] != nil && compactJSON(l) == "[1,1]" {
						continue
					}
					return nil, nil, kf.errorf("%s: %s %s; kiln's Conv2D has no %s (it must be 1)", at, k, compactJSON(v), strings.ReplaceAll(k, "_", " "))
				}
			}
			if err := kf.weighted(cfg, get, args, at); err != nil {
				return nil, nil, err
			}
		}
		for _, k := range keys {
			v, err := pairArg(k)
			if err != nil {
				return nil, nil, err
			}
			if v != nil {
				args[k] = v
			}
		}
		if p, ok := get("padding").(string); ok {
			args["padding"] = p
		}
		spec = &LayerSpec{Type: class, Args: args}
	case "GlobalAveragePooling2D":
		if df, ok := get("data_format").(string); ok && df != "channels_last" {
			return nil, nil, kf.errorf("%s: data_format %s; kiln's images are channels_last (height, width, channels)", at, df)
		}
		if kd, ok := get("keepdims").(bool); ok && kd {
			return nil, nil, kf.errorf("%s: keepdims true; kiln's GlobalAveragePooling2D gives (channels)", at)
		}
		spec = &LayerSpec{Type: "GlobalAveragePooling2D", Args: args}
	case "Reshape":
		var target []any
		for _, d := range asList(get("target_shape")) {
			n, ok := jsonInt(d)
			if !ok || (n <= 0 && n != -1) {
				return nil, nil, kf.errorf("%s: target_shape %s: dimensions are positive integers, or one -1", at, compactJSON(cfg["target_shape"]))
			}
			target = append(target, n)
		}
		if len(target) == 0 {
			return nil, nil, kf.errorf("%s: no target_shape", at)
		}
		args["target_shape"] = target
		spec = &LayerSpec{Type: "Reshape", Args: args}
	case "Activation":
		act, err := kf.activation(get("activation"), at)
		if err != nil {
			return nil, nil, err
		}
		args["activation"] = act
		spec = &LayerSpec{Type: "Activation", Args: args}
	case "BatchNormalization":
		// tf.keras 2.x writes axis as a list of one.
		axis := get("axis")
		if l := asList(axis); len(l) == 1 {
			axis = l[0]
		}
		if axis != nil {
			a, ok := jsonInt(axis)
			if !ok {
				return nil, nil, kf.errorf("%s: axis %s; kiln normalises one axis, the last (-1)", at, compactJSON(get("axis")))
			}
			args["axis"] = a
		}
		for _, k := range []string{"momentum", "epsilon"} {
			if v := get(k); v != nil {
				f, ok := jsonFloat(v)
				if !ok || (k == "momentum" && !(f >= 0 && f <= 1)) || (k == "epsilon" && !(f > 0)) {
					return nil, nil, kf.errorf("%s: %s %s is not a number in %s", at, k, compactJSON(v), map[string]string{"momentum": "[0, 1]", "epsilon": "(0, ∞)"}[k])
				}
				args[k] = f
			}
		}
		for _, k := range []string{"center", "scale"} {
			if v := get(k); v != nil {
				b, ok := v.(bool)
				if !ok {
					return nil, nil, kf.errorf("%s: %s %s is not true or false", at, k, compactJSON(v))
				}
				args[k] = b
			}
		}
		for _, init := range []struct {
			key, want string
			unused    bool // the weight does not exist, as Dense's bias without use_bias
		}{{"beta_initializer", "zeros", args["center"] == false}, {"gamma_initializer", "ones", args["scale"] == false},
			{"moving_mean_initializer", "zeros", false}, {"moving_variance_initializer", "ones", false}} {
			if v := get(init.key); !init.unused {
				if err := kf.initializer(v, init.key, init.want, at); err != nil {
					return nil, nil, err
				}
			}
		}
		for _, k := range []string{"beta_regularizer", "gamma_regularizer", "beta_constraint", "gamma_constraint", "virtual_batch_size"} {
			if v := get(k); v != nil {
				return nil, nil, kf.errorf("%s: %s is set (%s); kiln's BatchNormalization has no %s: remove it from the model, or train it in Keras", at, k, compactJSON(v), strings.ReplaceAll(k, "_", " "))
			}
		}
		if r, ok := get("renorm").(bool); ok && r {
			return nil, nil, kf.errorf("%s: renorm is true; kiln's BatchNormalization has no batch renormalization", at)
		}
		get("renorm_clipping")
		get("renorm_momentum")
		get("fused")        // tf.keras' fused kernel; its moving variance differs by m/(m−1) (see layers.BatchNormalization)
		get("synchronized") // across devices; kiln trains on one
		spec = &LayerSpec{Type: "BatchNormalization", Args: args}
	case "Dropout":
		rate, ok := jsonFloat(get("rate"))
		if !ok || rate < 0 || rate >= 1 {
			return nil, nil, kf.errorf("%s: rate %v is not a number in [0, 1)", at, cfg["rate"])
		}
		args["rate"] = rate
		if v := get("noise_shape"); v != nil {
			return nil, nil, kf.errorf("%s: noise_shape %s; kiln drops units independently (noise_shape null)", at, compactJSON(v))
		}
		get("seed") // kiln seeds dropout from the experiment's seed
		spec = &LayerSpec{Type: "Dropout", Args: args}
	default:
		return nil, nil, kf.errorf("%s: kiln has no %s layer; it imports %s", at, class, strings.Join(KerasLayers, ", "))
	}
	// Any other argument is one kiln would ignore: refuse it.
	var unknown []string
	for k := range cfg {
		if !slices.Contains(used, k) {
			unknown = append(unknown, k)
		}
	}
	slices.Sort(unknown)
	if len(unknown) > 0 {
		return nil, nil, kf.errorf("%s: kiln does not know the argument(s) %s; remove them if they are defaults", at, strings.Join(unknown, ", "))
	}
	return spec, input, nil
}

// weighted reads the arguments Dense and Conv2D share: the activation and
// use_bias into args; the initializers, which must be kiln's; and the
// regularizers, constraints and LoRA/quantization settings, which must be
// unset.
func (kf kerasFile) weighted(cfg map[string]any, get func(string) any, args map[string]any, at string) error {
	act, err := kf.activation(get("activation"), at)
	if err != nil {
		return err
	}
	args["activation"] = act
	if b, ok := get("use_bias").(bool); ok && !b {
		args["use_bias"] = false
	}
	if err := kf.initializer(get("kernel_initializer"), "kernel_initializer", "glorot_uniform", at); err != nil {
		return err
	}
	if cfg["use_bias"] != false {
		if err := kf.initializer(get("bias_initializer"), "bias_initializer", "zeros", at); err != nil {
			return err
		}
	} else {
		get("bias_initializer")
	}
	if cfg["lora_rank"] == nil {
		get("lora_alpha") // only used with lora_rank
	}
	for _, k := range []string{"kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint", "bias_constraint", "lora_rank", "quantization_config"} {
		if v := get(k); v != nil {
			return kf.errorf("%s: %s is set (%s); kiln has no %s yet: remove it from the model, or train it in Keras", at, k, compactJSON(v), strings.ReplaceAll(k, "_", " "))
		}
	}
	return nil
}

// activation reads an activation argument: a name, or (Keras 3, TF.js) a
// serialised built-in function.
func (kf kerasFile) activation(v any, at string) (string, error) {
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
	return "", kf.errorf("%s: activation %s is not a built-in activation name", at, compactJSON(v))
}

// initializer checks that an initializer is the one kiln uses (want:
// glorot_uniform, zeros or ones), in any of Keras' spellings.
func (kf kerasFile) initializer(v any, key, want, at string) error {
	if v == nil {
		return nil // the default
	}
	var class string
	var cfg map[string]any
	switch x := v.(type) {
	case string:
		class = x
	case map[string]any:
		class, _ = x["class_name"].(string)
		cfg, _ = x["config"].(map[string]any)
	}
	norm := strings.ToLower(strings.ReplaceAll(class, "_", ""))
	ok := false
	switch want {
	case "glorot_uniform":
		ok = norm == "glorotuniform" || norm == "xavieruniform"
		if norm == "variancescaling" && cfg != nil {
			// TF.js and Keras 2.0 write glorot_uniform this way.
			scale, _ := jsonFloat(cfg["scale"])
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
		return kf.errorf("%s: %s is %s; kiln initialises with %s: %s, or train it in Keras", at, key, compactJSON(v), want, hint)
	}
	return nil
}

// inputShape turns a batch shape [null, d1, d2, ...] into [d1, d2, ...].
func inputShape(v any) ([]any, error) {
	if v == nil {
		return nil, nil
	}
	l := asList(v)
	if len(l) < 2 {
		return nil, fmt.Errorf("expected [batch, dims...], got %s", compactJSON(v))
	}
	var shape []any
	for _, d := range l[1:] {
		n, ok := jsonInt(d)
		if !ok || n <= 0 {
			return nil, fmt.Errorf("dimension %s is not a positive integer; kiln needs fixed input shapes", compactJSON(d))
		}
		shape = append(shape, n)
	}
	return shape, nil
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func jsonInt(v any) (int, bool) {
	f, ok := jsonFloat(v)
	if !ok || f != math.Trunc(f) || math.Abs(f) > 1<<40 {
		return 0, false
	}
	return int(f), true
}

func jsonFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case float64:
		return x, true
	case int:
		return float64(x), true
	}
	return 0, false
}

// dtypeName returns a dtype's name: a string, or Keras 3's DTypePolicy
// object {"class_name": "DTypePolicy", "config": {"name": "float32"}}.
func dtypeName(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		if c, ok := x["config"].(map[string]any); ok {
			if n, ok := c["name"].(string); ok {
				return n
			}
		}
	}
	return ""
}

func jsonKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case string:
		return "a string"
	case nil:
		return "null"
	case bool:
		return "a boolean"
	}
	return "a number"
}

func compactJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(b) > 160 {
		return string(b[:157]) + "..."
	}
	return string(b)
}
