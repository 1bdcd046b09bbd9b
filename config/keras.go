package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/kiln-ml/kiln/internal/value"
	"github.com/kiln-ml/kiln/layers"
)

// KerasLayers returns the Keras layer classes KerasModel translates:
// InputLayer and every registered layer.
func KerasLayers() []string { return append([]string{"InputLayer"}, layers.Classes()...) }

// KerasModel translates a Keras model description into the layers of an
// experiment's model section. It reads the JSON of Keras' model.to_json()
// (Keras 2.x, tf.keras and Keras 3 formats), of TensorFlow.js'
// model.toJSON() and the modelTopology of a TensorFlow.js model.json, and
// the keras_config.json kiln saves. Only Sequential models of the layers
// kiln has (KerasLayers()) translate, with the arguments kiln implements;
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
	if class == "InputLayer" {
		return nil, input, kf.unread(at, cfg, used, nil)
	}
	ls, ok := layers.Lookup(class)
	if !ok {
		return nil, nil, kf.errorf("%s: kiln has no %s layer; it imports %s", at, class, strings.Join(KerasLayers(), ", "))
	}
	kc := layers.NewKerasConfig(cfg, at)
	kc.Drop(used...)
	args, err := ls.FromKeras(kc)
	if err != nil {
		return nil, nil, kf.errorf("%v", err)
	}
	if n, ok := cfg["name"].(string); ok && n != "" {
		args["name"] = n
	}
	if err := kf.unread(at, cfg, used, kc); err != nil {
		return nil, nil, err
	}
	return &LayerSpec{Type: class, Args: args}, input, nil
}

// unread refuses the keys of cfg that neither the common code (used) nor
// the layer (kc) read: kiln would ignore them.
func (kf kerasFile) unread(at string, cfg map[string]any, used []string, kc *layers.KerasConfig) error {
	var unknown []string
	if kc != nil {
		unknown = kc.Unread()
	} else {
		for k := range cfg {
			if !slices.Contains(used, k) {
				unknown = append(unknown, k)
			}
		}
		slices.Sort(unknown)
	}
	if len(unknown) > 0 {
		return kf.errorf("%s: kiln does not know the argument(s) %s; remove them if they are defaults", at, strings.Join(unknown, ", "))
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
		return nil, fmt.Errorf("expected [batch, dims...], got %s", value.JSON(v))
	}
	var shape []any
	for _, d := range l[1:] {
		n, ok := jsonInt(d)
		if !ok || n <= 0 {
			return nil, fmt.Errorf("dimension %s is not a positive integer; kiln needs fixed input shapes", value.JSON(d))
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
