package layers

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"

	"github.com/kiln-ml/kiln/internal/parallel"
	"github.com/kiln-ml/kiln/tensor"
)

// Node is a symbolic tensor of a Functional model, like Keras'
// KerasTensor: the output of an Input (NewInputNode) or of a layer applied
// to other nodes (Apply, ApplyMerge). Its shape is known once the model is
// built. Errors in applying a layer (a nil node or layer, a merge of one
// input) are kept in the node and reported by NewGraph.
type Node struct {
	input *Input // input nodes only
	name  string // input nodes only
	layer Layer
	merge Merge
	in    []*Node
	err   error
}

// NewInputNode returns an input of the given per-sample shape, like
// keras.Input(shape=...). The model names it (input_1) unless SetName is
// called.
func NewInputNode(shape ...int) *Node { return &Node{input: NewInput(shape...)} }

// Apply applies a one-input layer to x, like Keras' layer(x), and returns
// its output.
func Apply(l Layer, x *Node) *Node {
	n := &Node{layer: l, in: []*Node{x}}
	switch {
	case l == nil:
		n.err = fmt.Errorf("Apply: the layer is nil")
	case x == nil:
		n.err = fmt.Errorf("Apply(%s): the input node is nil; apply the layer to an input or another layer's output", l.ClassName())
	}
	return n
}

// ApplyMerge applies a merge layer (Add, Concatenate, ...) to two or more
// nodes, like Keras' layers.Add()([a, b]), and returns its output.
func ApplyMerge(m Merge, xs ...*Node) *Node {
	n := &Node{merge: m, in: append([]*Node(nil), xs...)}
	if m == nil {
		n.err = fmt.Errorf("ApplyMerge: the merge layer is nil")
		return n
	}
	for i, x := range xs {
		if x == nil {
			n.err = fmt.Errorf("ApplyMerge(%s): input %d is nil", m.ClassName(), i)
		}
	}
	return n
}

// IsInput reports whether the node is a model input.
func (n *Node) IsInput() bool { return n.input != nil }

// Layer returns the one-input layer that produced the node (nil for inputs
// and merges).
func (n *Node) Layer() Layer { return n.layer }

// Merge returns the merge layer that produced the node (nil otherwise).
func (n *Node) Merge() Merge { return n.merge }

// Inputs returns the nodes the node's layer was applied to.
func (n *Node) Inputs() []*Node { return n.in }

// InputShape returns an input node's per-sample shape (nil for others).
func (n *Node) InputShape() []int {
	if n.input == nil {
		return nil
	}
	return n.input.Shape
}

// Name returns the name of the node's layer (an input's own name).
func (n *Node) Name() string {
	switch {
	case n.input != nil:
		return n.name
	case n.layer != nil:
		return n.layer.Name()
	case n.merge != nil:
		return n.merge.Name()
	}
	return ""
}

// SetName names an input node, or renames the node's layer.
func (n *Node) SetName(name string) {
	switch {
	case n.input != nil:
		n.name = name
	case n.layer != nil:
		n.layer.SetName(name)
	case n.merge != nil:
		n.merge.SetName(name)
	}
}

// ClassName is the class of the node's layer: "InputLayer" for inputs.
func (n *Node) ClassName() string {
	switch {
	case n.input != nil:
		return "InputLayer"
	case n.layer != nil:
		return n.layer.ClassName()
	case n.merge != nil:
		return n.merge.ClassName()
	}
	return ""
}

// OutputShape is the node's per-sample shape (after Build).
func (n *Node) OutputShape() []int {
	switch {
	case n.input != nil:
		return n.input.Shape
	case n.layer != nil:
		return n.layer.OutputShape()
	case n.merge != nil:
		return n.merge.OutputShape()
	}
	return nil
}

// Variables are the trainable weights of the node's layer.
func (n *Node) Variables() []*tensor.Variable {
	switch {
	case n.layer != nil:
		return n.layer.Variables()
	case n.merge != nil:
		return n.merge.Variables()
	}
	return nil
}

// Weights are the node's layer's trainable then non-trainable weights.
func (n *Node) Weights() []*tensor.Variable {
	vs := n.Variables()
	if nt, ok := n.layer.(NonTrainable); ok {
		vs = append(vs[:len(vs):len(vs)], nt.NonTrainableVariables()...)
	}
	return vs
}

// Config is the node's layer's get_config() (an input's Keras InputLayer
// config).
func (n *Node) Config() map[string]any {
	switch {
	case n.input != nil:
		shape := []any{nil}
		for _, d := range n.input.Shape {
			shape = append(shape, d)
		}
		return map[string]any{"batch_input_shape": shape, "dtype": "float32", "sparse": false, "ragged": false, "name": n.name}
	case n.layer != nil:
		return n.layer.Config()
	case n.merge != nil:
		return n.merge.Config()
	}
	return nil
}

// Graph is a Functional model's body: a directed acyclic graph of layers
// from one input node to one output node, run as a single Layer (so a
// model trains, evaluates and saves it as it does a chain). Layers run in
// Keras' order (Nodes); a tensor read by several layers gets the sum of
// their gradients. Infer keeps no state and may run concurrently.
//
// If the output node's layer is Activated, the graph's logits are that
// layer's (ActivationName, Logits, BackwardLogits, InferLogits); otherwise
// ActivationName is "linear" and the logits are the output.
type Graph struct {
	base
	input, output *Node
	nodes         []*Node // Keras' model.layers order; nodes[0] is the input
	index         map[*Node]int
	args          [][]int // per node: indices of its inputs

	// Training state, set by Allocate.
	outs      [][]float32 // per node: the last Forward's output
	xs        [][][]float32
	grads     [][]float32 // per node: dLoss/dOutput in the running Backward
	acc       [][]float32 // per node read by several layers: its gradient sum
	seen      []int
	fanout    []int
	needGrad  []bool
	needInput bool

	pool sync.Pool // *graphScratch for Infer
}

// NewGraph returns the graph from inputs to outputs, like keras.Model(inputs,
// outputs). kiln supports one input and one output, each layer applied
// once; other graphs are refused with an error that says so.
func NewGraph(inputs, outputs []*Node) (*Graph, error) {
	if len(inputs) != 1 || len(outputs) != 1 {
		return nil, fmt.Errorf("Functional: the model has %d inputs and %d outputs; kiln supports Functional models with exactly one input and one output (several inputs or outputs are not implemented yet: join the inputs into one, or build one model per output)", len(inputs), len(outputs))
	}
	in, out := inputs[0], outputs[0]
	if in == nil || out == nil {
		return nil, fmt.Errorf("Functional: the input or output node is nil")
	}
	if !in.IsInput() {
		return nil, fmt.Errorf("Functional: the model's input is the output of %s %q, not an input; pass the node returned by NewInputNode (keras.Input)", in.ClassName(), in.Name())
	}
	if out.IsInput() {
		return nil, fmt.Errorf("Functional: the model's output is its input; apply at least one layer")
	}
	g := &Graph{input: in, output: out, index: map[*Node]int{}}
	// Keras' _map_graph_network: a depth-first walk from the output gives
	// each layer a visit index and orders the nodes; a node's depth is the
	// longest path from it to the output. Layers are sorted by decreasing
	// depth, ties by visit index.
	visit := map[*Node]int{}
	state := map[*Node]int{} // 1: in progress, 2: finished
	var order []*Node        // finished nodes: inputs before their consumers
	layerOf := map[any]*Node{}
	var walk func(n *Node) error
	walk = func(n *Node) error {
		if n.err != nil {
			return fmt.Errorf("Functional: %w", n.err)
		}
		switch state[n] {
		case 2:
			return nil
		case 1:
			return fmt.Errorf("Functional: the graph has a cycle through %s %q", n.ClassName(), n.Name())
		}
		var key any = n.input
		switch {
		case n.layer != nil:
			key = n.layer
		case n.merge != nil:
			key = n.merge
		}
		if prev, ok := layerOf[key]; ok && prev != n {
			return fmt.Errorf("Functional: layer %s %q is applied more than once (a shared layer); kiln does not support shared layers yet: create one layer per call", n.ClassName(), n.Name())
		}
		layerOf[key] = n
		if _, ok := visit[n]; !ok {
			visit[n] = len(visit)
		}
		state[n] = 1
		for _, x := range n.in {
			if err := walk(x); err != nil {
				return err
			}
		}
		if n.input != nil && n != in {
			return fmt.Errorf("Functional: the output depends on an input that is not the model's input; pass it in inputs (kiln supports one input)")
		}
		state[n] = 2
		order = append(order, n)
		return nil
	}
	if err := walk(out); err != nil {
		return nil, err
	}
	if state[in] != 2 {
		return nil, fmt.Errorf("Functional: the output is not computed from the input; apply the layers to the node NewInputNode returned")
	}
	depth := map[*Node]int{}
	for i := len(order) - 1; i >= 0; i-- {
		n := order[i]
		for _, x := range n.in {
			depth[x] = max(depth[x], depth[n]+1)
		}
	}
	g.nodes = append([]*Node(nil), order...)
	sort.SliceStable(g.nodes, func(i, j int) bool {
		a, b := g.nodes[i], g.nodes[j]
		if depth[a] != depth[b] {
			return depth[a] > depth[b]
		}
		return visit[a] < visit[b]
	})
	for i, n := range g.nodes {
		g.index[n] = i
	}
	g.args = make([][]int, len(g.nodes))
	for i, n := range g.nodes {
		for _, x := range n.in {
			g.args[i] = append(g.args[i], g.index[x])
		}
	}
	return g, nil
}

// Nodes returns the graph's nodes in Keras' model.layers order, the input
// first.
func (g *Graph) Nodes() []*Node { return g.nodes }

// InputNode returns the graph's input.
func (g *Graph) InputNode() *Node { return g.input }

// OutputNode returns the graph's output.
func (g *Graph) OutputNode() *Node { return g.output }

// ClassName returns "Functional".
func (*Graph) ClassName() string { return "Functional" }

// Build checks in against the input's shape and builds the layers in
// order, drawing their weights from rng.
func (g *Graph) Build(in []int, rng *rand.Rand) ([]int, error) {
	if !slices.Equal(in, g.input.input.Shape) {
		return nil, fmt.Errorf("Functional %q: input shape %s does not match the Input's %s", g.name, ShapeTuple(in), ShapeTuple(g.input.input.Shape))
	}
	if err := g.input.input.Validate(); err != nil {
		return nil, err
	}
	for i, n := range g.nodes[1:] {
		ins := make([][]int, len(n.in))
		for j, a := range g.args[i+1] {
			ins[j] = g.nodes[a].OutputShape()
		}
		var err error
		if n.layer != nil {
			_, err = n.layer.Build(ins[0], rng)
		} else {
			_, err = n.merge.BuildMerge(ins, rng)
		}
		if err != nil {
			return nil, fmt.Errorf("layer %s (%s): %w", n.Name(), n.ClassName(), err)
		}
	}
	g.setShapes(in, g.output.OutputShape())
	return g.out, nil
}

// Variables returns every layer's trainable weights in Keras' order.
func (g *Graph) Variables() []*tensor.Variable {
	var vs []*tensor.Variable
	for _, n := range g.nodes {
		vs = append(vs, n.Variables()...)
	}
	return vs
}

// Weights returns every weight in Keras' model.weights order: layer by
// layer, trainable then non-trainable.
func (g *Graph) Weights() []*tensor.Variable {
	var vs []*tensor.Variable
	for _, n := range g.nodes {
		vs = append(vs, n.Weights()...)
	}
	return vs
}

// SetPool gives every Threaded layer of the graph the pool (see
// Threaded); the graph itself runs its layers in order and its merge
// layers serially.
func (g *Graph) SetPool(p *parallel.Pool) {
	for _, n := range g.nodes {
		if n.layer != nil {
			SetPool(n.layer, p)
		}
	}
}

// Allocate sizes every layer's training buffers and the gradient sums of
// tensors read by several layers.
func (g *Graph) Allocate(maxBatch int, needInputGrad bool) {
	k := len(g.nodes)
	g.needInput = needInputGrad
	g.outs = make([][]float32, k)
	g.xs = make([][][]float32, k)
	g.grads = make([][]float32, k)
	g.acc = make([][]float32, k)
	g.seen = make([]int, k)
	g.fanout = make([]int, k)
	g.needGrad = make([]bool, k)
	// A node's output needs a gradient if it has weights or any input
	// needs one (the model input only if the caller needs it).
	g.needGrad[0] = needInputGrad
	for i, n := range g.nodes[1:] {
		i++
		need := len(n.Variables()) > 0
		for _, a := range g.args[i] {
			need = need || g.needGrad[a]
			g.fanout[a]++
		}
		g.needGrad[i] = need
		g.xs[i] = make([][]float32, len(n.in))
		needIn := false
		for _, a := range g.args[i] {
			needIn = needIn || g.needGrad[a]
		}
		if n.layer != nil {
			n.layer.Allocate(maxBatch, needIn)
		} else {
			n.merge.AllocateMerge(maxBatch)
		}
	}
	for i, n := range g.nodes {
		if g.fanout[i] > 1 && g.needGrad[i] {
			g.acc[i] = make([]float32, maxBatch*tensor.Size(n.OutputShape()))
		}
	}
}

// forward runs the layers for training; with logits, the output layer
// stops before its activation when it can.
func (g *Graph) forward(x []float32, n int, training, logits bool) []float32 {
	g.outs[0] = x[:n*g.inWidth]
	last := len(g.nodes) - 1
	for i, nd := range g.nodes[1:] {
		i++
		if nd.layer != nil {
			in := g.outs[g.args[i][0]]
			if lf, ok := nd.layer.(LogitsForwarder); ok && logits && i == last {
				g.outs[i] = lf.ForwardLogits(in, n)
				continue
			}
			g.outs[i] = nd.layer.Forward(in, n, training)
			continue
		}
		for j, a := range g.args[i] {
			g.xs[i][j] = g.outs[a]
		}
		g.outs[i] = nd.merge.ForwardMerge(g.xs[i], n, training)
	}
	return g.outs[last]
}

// Forward runs the layers in order and returns the output layer's buffer.
func (g *Graph) Forward(x []float32, n int, training bool) []float32 {
	return g.forward(x, n, training, false)
}

// ForwardLogits is Forward that leaves the output layer's activation out
// when that layer can (LogitsForwarder); it returns Logits().
func (g *Graph) ForwardLogits(x []float32, n int) []float32 {
	g.forward(x, n, true, true)
	return g.Logits()[:n*g.outWidth]
}

// give adds d to node i's output gradient.
func (g *Graph) give(i int, d []float32, n int) {
	if d == nil || !g.needGrad[i] {
		return
	}
	if g.fanout[i] <= 1 {
		g.grads[i] = d
		return
	}
	m := n * tensor.Size(g.nodes[i].OutputShape())
	acc := g.acc[i][:m]
	if g.seen[i] == 0 {
		copy(acc, d[:m])
	} else {
		for j, v := range d[:m] {
			acc[j] += v
		}
	}
	g.seen[i]++
	g.grads[i] = acc
}

// backward propagates from the output; dz is dLoss/dLogits when logits.
func (g *Graph) backward(dy []float32, n int, logits bool) []float32 {
	for i := range g.grads {
		g.grads[i], g.seen[i] = nil, 0
	}
	last := len(g.nodes) - 1
	g.grads[last] = dy
	for i := last; i >= 1; i-- {
		d := g.grads[i]
		if d == nil {
			continue
		}
		nd := g.nodes[i]
		if nd.layer != nil {
			var dx []float32
			if a, ok := nd.layer.(Activated); ok && logits && i == last {
				dx = a.BackwardLogits(d, n)
			} else {
				dx = nd.layer.Backward(d, n)
			}
			g.give(g.args[i][0], dx, n)
			continue
		}
		dxs := nd.merge.BackwardMerge(d, n)
		for j, a := range g.args[i] {
			g.give(a, dxs[j], n)
		}
	}
	if !g.needInput {
		return nil
	}
	return g.grads[0]
}

// Backward sets every layer's gradients from dLoss/dOutput and returns
// dLoss/dInput (nil unless Allocate was told it is needed).
func (g *Graph) Backward(dy []float32, n int) []float32 { return g.backward(dy, n, false) }

// BackwardLogits is Backward given dLoss/dLogits of the output layer.
func (g *Graph) BackwardLogits(dz []float32, n int) []float32 {
	if _, ok := g.output.layer.(Activated); !ok {
		return g.backward(dz, n, false) // the logits are the output
	}
	return g.backward(dz, n, true)
}

// ActivationName is the output layer's activation ("linear" if it has none).
func (g *Graph) ActivationName() string {
	if a, ok := g.output.layer.(Activated); ok {
		return a.ActivationName()
	}
	return "linear"
}

// Logits returns the output layer's logits of the last Forward (the
// output itself if the output layer is not Activated).
func (g *Graph) Logits() []float32 {
	if a, ok := g.output.layer.(Activated); ok {
		return a.Logits()
	}
	return g.outs[len(g.outs)-1]
}

// graphScratch holds one Infer call's per-node output buffers (bufs,
// for up to rows rows) and the slices of them the call computed (view).
type graphScratch struct {
	rows int
	bufs [][]float32
	view [][]float32
	xs   [][]float32
}

func (g *Graph) scratch(n int) *graphScratch {
	if s, ok := g.pool.Get().(*graphScratch); ok && s.rows >= n {
		return s
	}
	s := &graphScratch{rows: n, bufs: make([][]float32, len(g.nodes)), view: make([][]float32, len(g.nodes))}
	for i, nd := range g.nodes[1:] {
		s.bufs[i+1] = make([]float32, n*tensor.Size(nd.OutputShape()))
	}
	return s
}

func (g *Graph) infer(dst, x []float32, n int, logits bool) {
	s := g.scratch(n)
	defer g.pool.Put(s)
	s.view[0] = x[:n*g.inWidth]
	last := len(g.nodes) - 1
	for i, nd := range g.nodes[1:] {
		i++
		out := s.bufs[i]
		if i == last {
			out = dst
		}
		if nd.layer != nil {
			in := s.view[g.args[i][0]]
			if a, ok := nd.layer.(Activated); ok && logits && i == last {
				a.InferLogits(out, in, n)
			} else {
				nd.layer.Infer(out, in, n)
			}
		} else {
			s.xs = s.xs[:0]
			for _, a := range g.args[i] {
				s.xs = append(s.xs, s.view[a])
			}
			nd.merge.InferMerge(out, s.xs, n)
		}
		s.view[i] = out[:n*tensor.Size(nd.OutputShape())]
	}
	clear(s.view) // keep no reference to x or dst
	clear(s.xs)
}

// Infer writes the graph's output for n rows of x into dst.
func (g *Graph) Infer(dst, x []float32, n int) { g.infer(dst, x, n, false) }

// InferLogits is Infer without the output layer's activation.
func (g *Graph) InferLogits(dst, x []float32, n int) { g.infer(dst, x, n, true) }

// Config returns Keras' Functional get_config(): the name, the layers with
// their inbound nodes (Keras 2's list format), input_layers and
// output_layers.
func (g *Graph) Config() map[string]any {
	var ls []any
	for i, n := range g.nodes {
		inbound := []any{}
		if i > 0 {
			var call []any
			for _, a := range g.args[i] {
				call = append(call, []any{g.nodes[a].Name(), 0, 0, map[string]any{}})
			}
			inbound = []any{call}
		}
		ls = append(ls, map[string]any{"class_name": n.ClassName(), "config": n.Config(), "name": n.Name(), "inbound_nodes": inbound})
	}
	return map[string]any{
		"name":          g.name,
		"layers":        ls,
		"input_layers":  []any{[]any{g.input.Name(), 0, 0}},
		"output_layers": []any{[]any{g.output.Name(), 0, 0}},
	}
}
