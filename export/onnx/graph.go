package onnx

import (
	"fmt"
	"reflect"

	"github.com/kiln-ml/kiln/layers"
)

// A Functional model (kiln.NewFunctional) is one layers.Graph, exported as
// the ONNX graph of its layers: each layer's nodes as for a Sequential
// model, reading the value of the layer it is applied to, and each merge
// layer as standard operators on kiln's layout (channels last):
//
//	Add         Add, chained left to right: ((x0 + x1) + x2) ...
//	Subtract    Sub
//	Multiply    Mul, chained left to right
//	Average     Add chained left to right, then Div by the number of inputs
//	Concatenate Concat on Keras' axis (which counts the batch axis, as ONNX does)
//
// in the order kiln computes them, so the outputs match kiln's bit for bit
// where the operators are exact. An input of a merge in NCHW (after a
// Conv2D or pooling layer) is transposed back to kiln's layout first.

// value is a graph node's output in the ONNX graph: its name and whether
// it is an NCHW image (see builder.nchw).
type value struct {
	name string
	nchw bool
}

// graph adds the nodes of a Functional model's body g, whose input has
// per-sample shape in, and returns the output's shape.
func (b *builder) graph(g *layers.Graph, in []int) ([]int, error) {
	nodes := g.Nodes()
	if len(nodes) < 2 || g.OutputShape() == nil {
		return nil, errNotBuilt
	}
	if err := checkShape(nodes[0].InputShape(), in); err != nil {
		return nil, err
	}
	vals := map[*layers.Node]value{nodes[0]: {name: b.cur, nchw: b.nchw}}
	shapes := map[*layers.Node][]int{nodes[0]: in}
	for _, n := range nodes[1:] {
		ins := n.Inputs()
		for _, x := range ins {
			if _, ok := vals[x]; !ok {
				return nil, fmt.Errorf("layer %q (%s): its input %q comes later in the graph", n.Name(), n.ClassName(), x.Name())
			}
		}
		if l := n.Layer(); l != nil {
			v := vals[ins[0]]
			b.cur, b.nchw = v.name, v.nchw
			out, err := b.layer(l, shapes[ins[0]])
			if err != nil {
				return nil, fmt.Errorf("layer %q (%s): %w", n.Name(), n.ClassName(), err)
			}
			vals[n], shapes[n] = value{name: b.cur, nchw: b.nchw}, out
			continue
		}
		inShapes := make([][]int, len(ins))
		for i, x := range ins {
			inShapes[i] = shapes[x]
		}
		out, err := b.merge(n, ins, vals, inShapes)
		if err != nil {
			return nil, fmt.Errorf("layer %q (%s): %w", n.Name(), n.ClassName(), err)
		}
		vals[n], shapes[n] = value{name: b.cur, nchw: b.nchw}, out
	}
	out := nodes[len(nodes)-1]
	v := vals[out]
	b.cur, b.nchw = v.name, v.nchw
	// build names the last node's output "output": make sure that node
	// computes the graph's output (it does not if the output layer added
	// no node, e.g. a final Dropout).
	if last := len(b.g.nodes) - 1; last < 0 || b.g.nodes[last].outputs[0] != b.cur {
		b.addNode(out.Name(), "Identity", nil, nil)
	}
	return shapes[out], nil
}

// merge adds the nodes of merge layer node n applied to ins.
func (b *builder) merge(n *layers.Node, ins []*layers.Node, vals map[*layers.Node]value, shapes [][]int) ([]int, error) {
	m := n.Merge()
	out := m.OutputShape()
	if out == nil {
		return nil, errNotBuilt
	}
	prefix := m.Name()
	// Every input in kiln's layout.
	names := make([]string, len(ins))
	for i, x := range ins {
		v := vals[x]
		b.cur, b.nchw = v.name, v.nchw
		b.toNHWC(prefix)
		names[i] = b.cur
	}
	b.nchw = false
	f, ok := mergeExporters[reflect.TypeOf(m)]
	if !ok {
		return nil, fmt.Errorf("merge layer type %T is not supported by the ONNX exporter; supported: Add, Subtract, Multiply, Average, Concatenate", m)
	}
	if err := f(b, m, prefix, names, out); err != nil {
		return nil, err
	}
	for i, s := range shapes {
		if s == nil {
			return nil, fmt.Errorf("input %d has no shape", i)
		}
	}
	return out, nil
}

// mergeExporter adds the nodes of a merge layer m whose inputs, in kiln's
// layout, are the values names; out is its per-sample output shape.
type mergeExporter func(b *builder, m layers.Merge, prefix string, names []string, out []int) error

// mergeExporters are the ONNX translations of merge layer types, keyed by
// the layer's Go type, like exporters.
var mergeExporters = map[reflect.Type]mergeExporter{}

func registerMerge[M layers.Merge](f func(b *builder, m M, prefix string, names []string, out []int) error) {
	mergeExporters[reflect.TypeFor[M]()] = func(b *builder, m layers.Merge, prefix string, names []string, out []int) error {
		return f(b, m.(M), prefix, names, out)
	}
}

// chain adds op applied left to right over names: ((a op b) op c).
func (b *builder) chain(prefix, op string, names []string) {
	b.cur = names[0]
	for _, x := range names[1:] {
		b.addNode(prefix, op, []string{x}, nil)
	}
}

func init() {
	registerMerge(func(b *builder, _ *layers.Add, prefix string, names []string, _ []int) error {
		b.chain(prefix, "Add", names)
		return nil
	})
	registerMerge(func(b *builder, _ *layers.Subtract, prefix string, names []string, _ []int) error {
		b.chain(prefix, "Sub", names)
		return nil
	})
	registerMerge(func(b *builder, _ *layers.Multiply, prefix string, names []string, _ []int) error {
		b.chain(prefix, "Mul", names)
		return nil
	})
	// Average: the sum in input order, then Div, as kiln computes it.
	registerMerge(func(b *builder, _ *layers.Average, prefix string, names []string, _ []int) error {
		b.chain(prefix, "Add", names)
		k := b.addInitializer(prefix+"/count", nil, []float32{float32(len(names))})
		b.addNode(prefix, "Div", []string{k}, nil)
		return nil
	})
	registerMerge(func(b *builder, v *layers.Concatenate, prefix string, names []string, out []int) error {
		axis := v.Axis
		if axis < 0 {
			axis += len(out) + 1
		}
		if axis <= 0 || axis > len(out) {
			return fmt.Errorf("axis %d is out of range for output shape %v", v.Axis, out)
		}
		b.cur = names[0]
		b.addNode(prefix, "Concat", names[1:], []attribute{{name: "axis", typ: attrInt, i: int64(axis)}})
		return nil
	})
}
