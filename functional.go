package kiln

import (
	"fmt"

	"github.com/kiln-ml/kiln/layers"
)

// Input returns a symbolic input of the given per-sample shape for a
// Functional model, like keras.Input(shape=...).
func Input(shape ...int) *layers.Node { return layers.NewInputNode(shape...) }

// NewFunctional returns a Functional model, a directed acyclic graph of
// layers from inputs to outputs, like keras.Model(inputs, outputs):
//
//	x := kiln.Input(784)
//	h := layers.Apply(layers.MustNewDense(32, layers.WithActivation("relu")), x)
//	r := layers.ApplyMerge(layers.NewAdd(), layers.Apply(layers.MustNewDense(32, layers.WithActivation("relu")), h), h)
//	y := layers.Apply(layers.MustNewDense(10, layers.WithActivation("softmax")), r)
//	m, err := kiln.NewFunctional([]*layers.Node{x}, []*layers.Node{y})
//
// The model is a *Sequential whose body is one layers.Graph, so Compile,
// Fit, Evaluate, Predict, the weights and the summary work as for a
// chain; Graph returns the body. Layers are named like Keras' (dense,
// dense_1, add, ...; the input input_1) and ordered as Keras' model.layers.
// kiln supports one input and one output, and each layer applied once; other
// graphs are refused with an error that says so. Shape errors are reported
// here, with the layer's name.
func NewFunctional(inputs, outputs []*layers.Node) (*Sequential, error) {
	g, err := layers.NewGraph(inputs, outputs)
	if err != nil {
		return nil, err
	}
	m := &Sequential{Name: "model", input: layers.NewInput(g.InputNode().InputShape()...), layers: []layers.Layer{g}, graph: g}
	if err := m.build(0); err != nil {
		return nil, err
	}
	return m, nil
}

// Graph returns the body of a Functional model (nil for a Sequential one).
func (m *Sequential) Graph() *layers.Graph { return m.graph }

// nameGraph names a Functional model's unnamed layers like Keras, with the
// counters of build; the input is input_1 (input_2, ... if taken).
func nameGraph(g *layers.Graph, name func(class string) string, taken map[string]bool) {
	for _, n := range g.Nodes() {
		if n.Name() != "" {
			taken[n.Name()] = true
		}
	}
	for _, n := range g.Nodes() {
		if n.Name() != "" {
			continue
		}
		if n.IsInput() {
			for i := 1; ; i++ {
				if s := fmt.Sprintf("input_%d", i); !taken[s] {
					n.SetName(s)
					taken[s] = true
					break
				}
			}
			continue
		}
		n.SetName(name(n.ClassName()))
	}
}
