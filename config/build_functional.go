package config

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/layers"
)

// isMerge reports whether class is a registered merge layer.
func isMerge(class string) bool {
	spec, ok := layers.Lookup(class)
	return ok && spec.IsMerge()
}

// buildFunctional builds the experiment's model as a Functional model
// (kiln.NewFunctional) when one of its layers has an inputs argument, and
// returns nil, nil otherwise (a chain: a Sequential model).
//
// In a Functional model the Input comes first and the output layer last;
// each layer's inputs argument names the layers it is applied to (a name,
// or a list of names for a merge layer), and a layer without inputs is
// applied to the layer before it. Layers without a name get Keras'
// default names in file order (dense, dense_1, add, ...), which inputs may
// use; the Input is input_1 unless named.
//
//	model:
//	  - Input: {shape: [784]}
//	  - Dense: {units: 32, activation: relu}          # dense
//	  - Dense: {units: 32, activation: relu}          # dense_1
//	  - Add: {inputs: [dense_1, dense]}
//	  - Dense: {units: 10, activation: softmax}
func buildFunctional(e *Experiment) (*kiln.Sequential, error) {
	graph := false
	for _, ls := range e.Model {
		_, has := ls.Args["inputs"]
		graph = graph || has || isMerge(ls.Type)
	}
	if !graph || len(e.Model) == 0 {
		return nil, nil
	}
	key := func(i int, ls LayerSpec) string { return fmt.Sprintf("model.%d.%s", i, ls.Type) }
	// Names: the given ones, then Keras' defaults for the others.
	names := make([]string, len(e.Model))
	taken := map[string]bool{}
	for i, ls := range e.Model {
		if n, ok := ls.Args["name"].(string); ok && n != "" {
			if taken[n] {
				return nil, e.errf(ls.Line, key(i, ls), "two layers are named %q; names must be unique", n)
			}
			names[i], taken[n] = n, true
		}
	}
	counts := map[string]int{}
	for i, ls := range e.Model {
		if names[i] != "" {
			continue
		}
		base := snakeCase(ls.Type)
		if ls.Type == "Input" {
			base = "input"
			counts[base] = max(counts[base], 1) // Keras 2: input_1, input_2, ...
		}
		for {
			n := base
			if counts[base] > 0 {
				n = fmt.Sprintf("%s_%d", base, counts[base])
			}
			counts[base]++
			if !taken[n] {
				names[i], taken[n] = n, true
				break
			}
		}
	}
	nodes := map[string]*layers.Node{}
	used := map[string]bool{}
	var in, prev *layers.Node
	for i, ls := range e.Model {
		k := key(i, ls)
		args := map[string]any{}
		for a, v := range ls.Args {
			if a != "inputs" {
				args[a] = v
			}
		}
		if i == 0 {
			if ls.Type != "Input" {
				return nil, e.errf(ls.Line, k, "the model must start with an Input, e.g. - Input: {shape: [28, 28]}")
			}
			if _, has := ls.Args["inputs"]; has {
				return nil, e.errf(ls.Line, k, "an Input has no inputs")
			}
			item, err := buildLayer(LayerSpec{Type: "Input", Args: args, Line: ls.Line})
			if err != nil {
				return nil, e.errf(ls.Line, k, "%v", err)
			}
			in = kiln.Input(item.(*layers.Input).Shape...)
			in.SetName(names[0])
			nodes[names[0]], prev = in, in
			continue
		}
		// The nodes the layer is applied to.
		var srcs []*layers.Node
		var srcNames []string
		switch v := ls.Args["inputs"].(type) {
		case nil:
			srcs, srcNames = []*layers.Node{prev}, []string{names[i-1]}
		case string:
			srcNames = []string{v}
		case []any:
			for _, s := range v {
				str, ok := s.(string)
				if !ok {
					return nil, e.errf(ls.Line, k, "inputs must be layer names, got %v", s)
				}
				srcNames = append(srcNames, str)
			}
		default:
			return nil, e.errf(ls.Line, k, "inputs must be a layer name or a list of them, got %v", v)
		}
		if srcs == nil {
			for _, s := range srcNames {
				n, ok := nodes[s]
				if !ok {
					return nil, e.errf(ls.Line, k, "inputs: no layer named %q before this one; the layers so far are %s", s, strings.Join(names[:i], ", "))
				}
				srcs = append(srcs, n)
			}
		}
		for _, s := range srcNames {
			used[s] = true
		}
		var node *layers.Node
		if isMerge(ls.Type) {
			m, err := buildMerge(ls.Type, args)
			if err != nil {
				return nil, e.errf(ls.Line, k, "%v", err)
			}
			if len(srcs) < 2 {
				return nil, e.errf(ls.Line, k, "%s merges two or more layers: give inputs: [a, b]", ls.Type)
			}
			m.SetName(names[i])
			node = layers.ApplyMerge(m, srcs...)
		} else {
			if ls.Type == "Input" {
				return nil, e.errf(ls.Line, k, "Input must be the first item of the model; kiln's Functional models have one input")
			}
			if len(srcs) != 1 {
				return nil, e.errf(ls.Line, k, "%s takes one input, got inputs %v; merge them first with Add or Concatenate", ls.Type, srcNames)
			}
			item, err := buildLayer(LayerSpec{Type: ls.Type, Args: args, Line: ls.Line})
			if err != nil {
				return nil, e.errf(ls.Line, k, "%v", err)
			}
			l := item.(layers.Layer)
			l.SetName(names[i])
			node = layers.Apply(l, srcs[0])
		}
		nodes[names[i]], prev = node, node
	}
	last := len(e.Model) - 1
	for i, n := range names[:last] {
		if !used[n] {
			return nil, e.errf(e.Model[i].Line, key(i, e.Model[i]), "the output of layer %q is not used; a Functional model has one output, its last layer: connect it (inputs) or remove it", n)
		}
	}
	m, err := kiln.NewFunctional([]*layers.Node{in}, []*layers.Node{prev})
	if err != nil {
		return nil, e.errf(e.Model[last].Line, "model", "%v", err)
	}
	return m, nil
}

// buildMerge returns the merge layer of an experiment item (its inputs
// already taken out of args), from the layer registry.
func buildMerge(class string, args map[string]any) (layers.Merge, error) {
	spec, _ := layers.Lookup(class)
	return spec.MakeMerge(args)
}

// snakeCase is Keras' default layer name of a class: Dense → dense,
// BatchNormalization → batch_normalization, Conv2D → conv2d.
func snakeCase(s string) string {
	s = snakeWord.ReplaceAllString(s, "${1}_${2}")
	return strings.ToLower(snakeLower.ReplaceAllString(s, "${1}_${2}"))
}

var (
	snakeWord  = regexp.MustCompile(`(.)([A-Z][a-z0-9]+)`)
	snakeLower = regexp.MustCompile(`([a-z])([A-Z])`)
)
