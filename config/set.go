package config

import (
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// applySet applies the i-th override, arg ("dotted.path=value"), to the
// tree under root (nil for an empty file) and returns the new root. Nodes
// it creates get line -(i+1), so that errors about them name arg.
func (d *decoder) applySet(root *yaml.Node, i int, arg string) (*yaml.Node, error) {
	mark := -(i + 1)
	fail := func(key, format string, args ...any) error {
		return &Error{File: d.file, Set: arg, Key: key, Msg: fmt.Sprintf(format, args...)}
	}
	path, raw, ok := strings.Cut(arg, "=")
	path = strings.TrimSpace(path)
	if !ok || path == "" {
		return nil, fail("", "expected dotted.path=value, e.g. --set fit.epochs=5 or --set compile.optimizer.learning_rate=0.03")
	}
	segs := strings.Split(path, ".")
	for _, s := range segs {
		if s == "" {
			return nil, fail(path, "the path has an empty part; write keys separated by single dots, e.g. fit.epochs")
		}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(raw), &doc); err != nil {
		return nil, fail(path, "the value %q is not valid YAML (%s); quote it, e.g. --set '%s=\"...\"'",
			raw, strings.TrimPrefix(err.Error(), "yaml: "), path)
	}
	val := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"}
	if len(doc.Content) > 0 {
		val = doc.Content[0]
	}
	markLines(val, mark)

	if isNull(root) {
		root = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: mark}
	}
	slot := &root
	for j, seg := range segs {
		cur := own(slot, mark)
		here := strings.Join(segs[:j], ".")
		if cur.Kind == yaml.ScalarNode && (here == "compile.optimizer" || here == "compile.loss") && !isNull(cur) {
			// A bare name: "optimizer: sgd" becomes "optimizer: {name: sgd}".
			name := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "name", Line: cur.Line, Column: cur.Column}
			cur = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: cur.Line, Column: cur.Column, Content: []*yaml.Node{name, cur}}
			*slot = cur
		}
		// "model.2.units" is short for "model.2.<its one key>.units".
		if j == 2 && segs[0] == "model" && cur.Kind == yaml.MappingNode && len(cur.Content) == 2 &&
			keyName(cur.Content[0]) != seg {
			item := cur
			slot = &cur.Content[1]
			cur = own(slot, mark)
			if cur.Kind != yaml.MappingNode {
				name := here + "." + keyName(item.Content[0])
				return nil, fail(path, "%s is %s, not a map of arguments, so it has no %q; set %s itself instead",
					name, describe(cur), seg, name)
			}
		}
		switch cur.Kind {
		case yaml.MappingNode:
			k := -1
			for c := 0; c+1 < len(cur.Content); c += 2 {
				if keyName(cur.Content[c]) == seg {
					k = c
					break
				}
			}
			if k < 0 {
				cur.Content = append(cur.Content,
					&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: seg, Line: mark},
					&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: mark})
				k = len(cur.Content) - 2
			}
			slot = &cur.Content[k+1]
		case yaml.SequenceNode:
			idx, err := strconv.Atoi(seg)
			if err != nil || idx < 0 || idx >= len(cur.Content) {
				switch {
				case len(cur.Content) == 0:
					return nil, fail(path, "%s is an empty list, so it has no item %q", here, seg)
				case here == "model":
					return nil, fail(path, "%q is not a layer index: the model has %d layers, numbered 0 to %d; "+
						"address a layer's argument as model.<index>.<argument>, e.g. model.%d.units=32",
						seg, len(cur.Content), len(cur.Content)-1, len(cur.Content)-1)
				}
				return nil, fail(path, "%q is not an index of %s, which is a list of %d items, numbered 0 to %d",
					seg, here, len(cur.Content), len(cur.Content)-1)
			}
			slot = &cur.Content[idx]
		default:
			name := here
			if name == "" {
				name = "the file's top level"
			}
			return nil, fail(path, "%s is %s, not a map or a list, so it has no %q; set %s itself instead",
				name, describe(cur), seg, name)
		}
	}
	*slot = val
	return root, nil
}

// keyName is the name of a map key node.
func keyName(k *yaml.Node) string {
	if k = resolve(k); k == nil {
		return ""
	}
	return k.Value
}

// own prepares the node in *slot for changes: an alias is replaced by a
// copy of what it names (so the change does not reach the anchor's other
// uses), and null by an empty map.
func own(slot **yaml.Node, mark int) *yaml.Node {
	n := *slot
	if n.Kind == yaml.AliasNode {
		if t := resolve(n); t != nil && t.Kind != yaml.AliasNode {
			c := copyNode(t)
			c.Anchor = ""
			n = c
		}
	}
	if isNull(n) {
		line := n.Line
		if line == 0 {
			line = mark
		}
		n = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: line, Column: n.Column}
	}
	*slot = n
	return n
}

// expand copies the tree under n with every alias replaced by a copy of
// what it names, using up at most *budget nodes.
func (d *decoder) expand(n *yaml.Node, budget *int) (*yaml.Node, error) {
	if *budget--; *budget < 0 {
		return nil, d.errAt(n, "", "the file's YAML aliases expand to more than %d values, or an anchor contains itself; "+
			"write the values out instead of using *aliases", maxValueNodes)
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: n.Line}, nil
		}
		return d.expand(n.Alias, budget)
	}
	c := *n
	if len(n.Content) > 0 {
		c.Content = make([]*yaml.Node, len(n.Content))
		for i, child := range n.Content {
			var err error
			if c.Content[i], err = d.expand(child, budget); err != nil {
				return nil, err
			}
		}
	}
	return &c, nil
}

// copyNode copies the tree under n; aliases inside stay aliases.
func copyNode(n *yaml.Node) *yaml.Node {
	c := *n
	if n.Kind != yaml.AliasNode && len(n.Content) > 0 {
		c.Content = make([]*yaml.Node, len(n.Content))
		for i, child := range n.Content {
			c.Content[i] = copyNode(child)
		}
	}
	return &c
}

// markLines sets the line of every node in a tree parsed from an override.
func markLines(n *yaml.Node, mark int) {
	n.Line = mark
	if n.Kind == yaml.AliasNode {
		return
	}
	for _, c := range n.Content {
		markLines(c, mark)
	}
}
