package config

import (
	"fmt"

	"github.com/kiln-ml/kiln/internal/value"
)

// functional translates a Keras Functional model (class_name "Functional",
// or "Model" in tf.keras before 2.4 and TF.js): config.layers in Keras'
// model.layers order, each with its inbound_nodes (Keras 2 and TF.js'
// [[["dense", 0, 0, {}], ...]] or Keras 3's [{"args": [keras tensors],
// ...}]), and input_layers/output_layers. The result is an experiment model
// whose layers name their inputs (the inputs argument), the Input first and
// the output last. kiln supports one input, one output and layers called
// once; anything else is refused with an error saying so.
func (kf kerasFile) functional(class string, m map[string]any) ([]LayerSpec, error) {
	c, ok := m["config"].(map[string]any)
	if !ok {
		return nil, kf.errorf("the %s model has no config", class)
	}
	layerList, ok := c["layers"].([]any)
	if !ok || len(layerList) == 0 {
		return nil, kf.errorf("the %s model has no layers list", class)
	}
	ins, err := kf.tensorRefs(c["input_layers"], "input_layers")
	if err != nil {
		return nil, err
	}
	outs, err := kf.tensorRefs(c["output_layers"], "output_layers")
	if err != nil {
		return nil, err
	}
	if len(ins) != 1 || len(outs) != 1 {
		return nil, kf.errorf("the %s model has %d inputs and %d outputs; kiln imports Functional models with exactly one input and one output (several are not implemented yet)", class, len(ins), len(outs))
	}
	var out []LayerSpec
	seen := map[string]bool{}
	for i, raw := range layerList {
		l, ok := raw.(map[string]any)
		if !ok {
			return nil, kf.errorf("layer %d is %s, not an object with class_name and config", i, jsonKind(raw))
		}
		lclass, _ := l["class_name"].(string)
		cfg, _ := l["config"].(map[string]any)
		if cfg == nil {
			cfg = map[string]any{}
		}
		name, _ := l["name"].(string)
		if name == "" {
			name, _ = cfg["name"].(string)
		}
		at := fmt.Sprintf("layer %d (%s %q)", i, lclass, name)
		if name == "" {
			return nil, kf.errorf("layer %d (%s) has no name; a Functional model's layers are connected by name", i, lclass)
		}
		if seen[name] {
			return nil, kf.errorf("%s: two layers are named %q; layer names must be unique", at, name)
		}
		inbound, err := kf.inbound(l["inbound_nodes"], at)
		if err != nil {
			return nil, err
		}
		for _, src := range inbound {
			if !seen[src] {
				return nil, kf.errorf("%s: its input %q is not a layer listed before it", at, src)
			}
		}
		var spec *LayerSpec
		switch {
		case lclass == "InputLayer":
			_, input, err := kf.layer(lclass, cfg, at)
			if err != nil {
				return nil, err
			}
			if i != 0 || name != ins[0] {
				return nil, kf.errorf("%s: kiln's Functional models have one input, the first layer (input_layers names %q)", at, ins[0])
			}
			spec = input
		default:
			if spec, _, err = kf.layer(lclass, cfg, at); err != nil {
				return nil, err
			}
		}
		if i == 0 && lclass != "InputLayer" {
			return nil, kf.errorf("%s: the first layer of a Functional model must be its InputLayer", at)
		}
		spec.Args["name"] = name
		if lclass != "InputLayer" {
			if len(inbound) == 0 {
				return nil, kf.errorf("%s: no inbound node; every layer after the InputLayer must be applied to another layer's output", at)
			}
			refs := make([]any, len(inbound))
			for j, s := range inbound {
				refs[j] = s
			}
			spec.Args["inputs"] = refs
		}
		seen[name] = true
		out = append(out, *spec)
	}
	if len(out) < 2 {
		return nil, kf.errorf("the %s model has no layers after its InputLayer", class)
	}
	if last, _ := out[len(out)-1].Args["name"].(string); last != outs[0] {
		return nil, kf.errorf("output_layers names %q, but the last layer is %q; kiln's Functional models end with their output layer", outs[0], last)
	}
	return out, nil
}

// tensorRefs reads input_layers or output_layers: [["name", 0, 0], ...]
// (Keras 2, TF.js) or, for one tensor, ["name", 0, 0] (Keras 3).
func (kf kerasFile) tensorRefs(v any, key string) ([]string, error) {
	l := asList(v)
	if len(l) > 0 {
		if _, single := l[0].(string); single {
			l = []any{l}
		}
	}
	var names []string
	for _, r := range l {
		ref := asList(r)
		name, ok := "", len(ref) >= 1
		if ok {
			name, ok = ref[0].(string)
		}
		if !ok {
			return nil, kf.errorf("%s: %s is not [layer name, node index, tensor index]", key, value.JSON(r))
		}
		for _, idx := range ref[1:] {
			if n, ok := jsonInt(idx); !ok || n != 0 {
				return nil, kf.errorf("%s: %s refers to a layer's call other than its first or to another output; kiln's layers are called once and have one output", key, value.JSON(r))
			}
		}
		names = append(names, name)
	}
	return names, nil
}

// inbound reads a layer's inbound_nodes and returns the names of the
// layers whose outputs it is applied to, in order.
func (kf kerasFile) inbound(v any, at string) ([]string, error) {
	nodes := asList(v)
	if len(nodes) == 0 {
		return nil, nil
	}
	if len(nodes) > 1 {
		return nil, kf.errorf("%s: the layer is called %d times (a shared layer); kiln does not support shared layers yet: use one layer per call", at, len(nodes))
	}
	var refs [][]any
	switch node := nodes[0].(type) {
	case []any: // Keras 2, TF.js: [["dense", 0, 0, {}], ...]
		for _, r := range node {
			ref := asList(r)
			if len(ref) < 3 {
				return nil, kf.errorf("%s: inbound node %s is not [layer name, node index, tensor index, kwargs]", at, value.JSON(r))
			}
			if len(ref) > 3 && hasKerasTensor(ref[3]) {
				return nil, kf.errorf("%s: the call passes layer outputs as keyword arguments (%s); kiln does not support them", at, value.JSON(ref[3]))
			}
			refs = append(refs, ref[:3])
		}
	case map[string]any: // Keras 3: {"args": [...], "kwargs": {...}}
		var walk func(any)
		walk = func(x any) {
			switch t := x.(type) {
			case []any:
				for _, e := range t {
					walk(e)
				}
			case map[string]any:
				if t["class_name"] == "__keras_tensor__" {
					if c, ok := t["config"].(map[string]any); ok {
						refs = append(refs, asList(c["keras_history"]))
					}
				}
			}
		}
		walk(node["args"])
		if hasKerasTensor(node["kwargs"]) {
			return nil, kf.errorf("%s: the call passes layer outputs as keyword arguments (%s); kiln does not support them", at, value.JSON(node["kwargs"]))
		}
	default:
		return nil, kf.errorf("%s: inbound_nodes %s is in no Keras format kiln knows", at, value.JSON(v))
	}
	var names []string
	for _, ref := range refs {
		name, ok := "", len(ref) == 3
		if ok {
			name, ok = ref[0].(string)
		}
		if !ok {
			return nil, kf.errorf("%s: inbound tensor %s is not [layer name, node index, tensor index]", at, value.JSON(ref))
		}
		for _, idx := range ref[1:] {
			if n, ok := jsonInt(idx); !ok || n != 0 {
				return nil, kf.errorf("%s: input %s is a shared layer's later call or another output of a layer; kiln's layers are called once and have one output", at, value.JSON(ref))
			}
		}
		names = append(names, name)
	}
	return names, nil
}

// hasKerasTensor reports whether v holds a Keras 3 symbolic tensor or a
// Keras 2 inbound reference.
func hasKerasTensor(v any) bool {
	switch t := v.(type) {
	case []any:
		for _, e := range t {
			if hasKerasTensor(e) {
				return true
			}
		}
	case map[string]any:
		if t["class_name"] == "__keras_tensor__" {
			return true
		}
		for _, e := range t {
			if hasKerasTensor(e) {
				return true
			}
		}
	}
	return false
}
