package config

import (
	"bytes"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Canonical returns the effective configuration (after overrides and
// defaults) as plain values: map[string]any with the keys seed, data,
// model, compile and fit, the values as LayerSpec.Args describes. It is
// what Marshal writes, for tools that want it as JSON or want to compare
// settings.
func (e *Experiment) Canonical() map[string]any {
	var m map[string]any
	if err := e.yamlNode().Decode(&m); err != nil {
		return nil // cannot happen: the node is built from plain values
	}
	return stringKeys(m).(map[string]any)
}

// stringKeys turns the maps with non-string keys that YAML decodes (class
// indices of class_weight) into map[string]any, so that Canonical's result
// encodes as JSON.
func stringKeys(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = stringKeys(e)
		}
		return x
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[fmt.Sprint(k)] = stringKeys(e)
		}
		return out
	case []any:
		for i, e := range x {
			x[i] = stringKeys(e)
		}
	}
	return v
}

// Marshal writes the effective configuration (after overrides and
// defaults) as an experiment file; Parse reads it back to the same
// Experiment, line numbers and Path aside. Keys are in the documented
// order, Args keys sorted.
func (e *Experiment) Marshal() ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(e.yamlNode()); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// MarshalYAML implements yaml.Marshaler, so yaml.Marshal(e) writes what
// Marshal does (with the encoder's indentation).
func (e *Experiment) MarshalYAML() (any, error) {
	return e.yamlNode(), nil
}

// yamlNode builds the canonical YAML tree of e.
func (e *Experiment) yamlNode() *yaml.Node {
	root := mapNode(false)

	if e.SeedGiven || e.Seed != 0 {
		add(root, "seed", intNode(e.Seed))
	}

	dt := e.Data
	data := mapNode(false)
	addStr(data, "dataset", dt.Dataset)
	addStr(data, "mnist_dir", dt.MNISTDir)
	addStr(data, "npz", dt.NPZ)
	for _, p := range []struct {
		key string
		f   *XYFiles
	}{{"train", dt.Train}, {"test", dt.Test}} {
		if p.f != nil {
			xy := mapNode(true)
			add(xy, "x", strNode(p.f.X))
			add(xy, "y", strNode(p.f.Y))
			add(data, p.key, xy)
		}
	}
	if c := dt.CSV; c != nil {
		cs := mapNode(true)
		add(cs, "train", strNode(c.Train))
		addStr(cs, "test", c.Test)
		add(cs, "label", strNode(c.Label))
		addStr(cs, "header", c.Header)
		add(data, "csv", cs)
	}
	add(data, "scale", scaleNode(dt.Scale, dt.ScaleText))
	if dt.Standardize {
		add(data, "standardize", valueNode(true))
	}
	addStr(data, "labels", dt.Labels)
	if dt.Limit != 0 {
		add(data, "limit", intNode(int64(dt.Limit)))
	}
	if dt.ValidationLimit != 0 {
		add(data, "validation_limit", intNode(int64(dt.ValidationLimit)))
	}
	add(root, "data", data)

	add(root, "model", specList(e.Model))

	c := e.Compile
	comp := mapNode(false)
	if len(c.Optimizer.Args) == 0 {
		add(comp, "optimizer", strNode(c.Optimizer.Name))
	} else {
		add(comp, "optimizer", argsNode(c.Optimizer.Args, c.Optimizer.Name))
	}
	if !c.Loss.FromLogits && c.Loss.LabelSmoothing == 0 {
		add(comp, "loss", strNode(c.Loss.Name))
	} else {
		loss := mapNode(true)
		add(loss, "name", strNode(c.Loss.Name))
		if c.Loss.FromLogits {
			add(loss, "from_logits", valueNode(true))
		}
		if c.Loss.LabelSmoothing != 0 {
			add(loss, "label_smoothing", valueNode(c.Loss.LabelSmoothing))
		}
		add(comp, "loss", loss)
	}
	if len(c.Metrics) > 0 {
		ms := make([]any, len(c.Metrics))
		for i, m := range c.Metrics {
			ms[i] = m
		}
		add(comp, "metrics", valueNode(ms))
	}
	addStr(comp, "loss_semantics", c.LossSemantics)
	add(root, "compile", comp)

	f := e.Fit
	fit := mapNode(false)
	add(fit, "batch_size", intNode(int64(f.BatchSize)))
	add(fit, "epochs", intNode(int64(f.Epochs)))
	addStr(fit, "validation_data", f.ValidationData)
	if f.ValidationSplit != 0 {
		add(fit, "validation_split", valueNode(f.ValidationSplit))
	}
	add(fit, "shuffle", valueNode(f.Shuffle))
	add(fit, "initial_epoch", intNode(int64(f.InitialEpoch)))
	add(fit, "verbose", intNode(int64(f.Verbose)))
	if f.ValidationBatchSize != 0 {
		add(fit, "validation_batch_size", intNode(int64(f.ValidationBatchSize)))
	}
	if f.Threads != 0 {
		add(fit, "threads", intNode(int64(f.Threads)))
	}
	if len(f.Callbacks) > 0 {
		add(fit, "callbacks", specList(f.Callbacks))
	}
	if f.ClassWeightBalanced {
		addStr(fit, "class_weight", "balanced")
	} else if f.ClassWeight != nil {
		cw := mapNode(true)
		keys := slices.Sorted(maps.Keys(f.ClassWeight))
		for _, k := range keys {
			cw.Content = append(cw.Content, intNode(int64(k)), valueNode(f.ClassWeight[k]))
		}
		add(fit, "class_weight", cw)
	}
	add(root, "fit", fit)
	return root
}

func mapNode(flow bool) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	if flow {
		n.Style = yaml.FlowStyle
	}
	return n
}

func add(m *yaml.Node, key string, v *yaml.Node) {
	m.Content = append(m.Content, strNode(key), v)
}

// addStr adds key: s unless s is empty.
func addStr(m *yaml.Node, key, s string) {
	if s != "" {
		add(m, key, strNode(s))
	}
}

func strNode(s string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
	if s == "<<" {
		n.Style = yaml.DoubleQuotedStyle // yaml.v3 would write it plain, which reads back as a merge key
	}
	return n
}

func intNode(i int64) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatInt(i, 10)}
}

// scaleNode writes the scale as it was written: a number, or a string such
// as "1/255".
func scaleNode(f float64, text string) *yaml.Node {
	if text == "" {
		if f == 0 {
			f = 1
		}
		return valueNode(f)
	}
	var v any
	if yaml.Unmarshal([]byte(text), &v) == nil {
		if x, ok := Number(v); ok && x == f {
			tag := "!!float"
			if _, isFloat := v.(float64); !isFloat {
				tag = "!!int"
			}
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: text}
		}
	}
	return strNode(text)
}

// argsNode writes an Args map in flow style, keys sorted, after name: first
// if name is not empty.
func argsNode(args map[string]any, name string) *yaml.Node {
	n := mapNode(true)
	if name != "" {
		add(n, "name", strNode(name))
	}
	keys := make([]string, 0, len(args))
	for k := range args {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		add(n, k, valueNode(args[k]))
	}
	return n
}

// valueNode writes a decoded YAML value so that it decodes back to the same
// value and type (in particular, a float64 always looks like a float).
func valueNode(v any) *yaml.Node {
	switch x := v.(type) {
	case nil:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(x)}
	case int:
		return intNode(int64(x))
	case int64:
		return intNode(x)
	case uint64:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatUint(x, 10)}
	case float64:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: formatFloat(x)}
	case string:
		return strNode(x)
	case []any:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle}
		for _, item := range x {
			n.Content = append(n.Content, valueNode(item))
		}
		return n
	case map[string]any:
		return argsNode(x, "")
	}
	var n yaml.Node
	if err := n.Encode(v); err != nil {
		return strNode(err.Error())
	}
	return &n
}

// formatFloat formats f as YAML that reads back as the same float64.
func formatFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return ".nan"
	case math.IsInf(f, 1):
		return ".inf"
	case math.IsInf(f, -1):
		return "-.inf"
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s
}

// specList writes one-key maps (layers, callbacks) as a YAML list.
func specList(specs []LayerSpec) *yaml.Node {
	list := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	for _, l := range specs {
		item := mapNode(false)
		add(item, l.Type, argsNode(l.Args, ""))
		list.Content = append(list.Content, item)
	}
	return list
}
