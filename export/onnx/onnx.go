// Package onnx writes a trained kiln model as an ONNX file, so that
// onnxruntime, Netron, TensorRT, OpenVINO and the other tools that read ONNX
// can run or inspect it.
//
//	err := onnx.Save("model.onnx", m, onnx.Options{InputScale: 1.0 / 255})
//
// The graph takes one input "input" (float32, shape [batch, Input shape...],
// the batch size symbolic) and gives one output "output" (float32, [batch,
// output shape...]): the same arrays kiln's Predict takes and returns.
// Layers map to standard ONNX operators of the default domain: Flatten to
// Flatten (axis 1), Reshape to Reshape, Dense to Gemm (the kernel, stored
// as kiln stores it, (in, units), is B; the bias is C) followed by its
// activation; a Dense on an input of rank > 1, which acts on the last axis
// as Keras' does, to MatMul by the same (in, units) kernel and Add of the
// bias (both broadcast over the leading axes; Gemm takes only 2-D
// inputs), followed by its activation, Conv2D to Conv followed by its
// activation, MaxPooling2D to
// MaxPool, AveragePooling2D to AveragePool, GlobalAveragePooling2D to
// GlobalAveragePool and Flatten, BatchNormalization to Mul and Add (below),
// Activation to its activation, Dropout to nothing (inference).
// Activations: linear (no node), relu (Relu), sigmoid (Sigmoid), tanh
// (Tanh) and softmax (Softmax over the last axis of kiln's layout, at each
// position of a Dense on an input of rank > 1). With
// Options.InputScale the graph first multiplies the input by the scale, so
// the ONNX model takes the raw values (for example MNIST's 0..255 pixels)
// that kiln's experiment reads before its data.scale.
//
// BatchNormalization, at inference, computes y = x·a + off per channel of
// the last axis, with a = γ/√(moving_variance + ε) and off = β −
// moving_mean·a (γ = 1 without scale, β = 0 without center). The exporter
// computes a and off in float32 as kiln's Predict does and writes
// Mul(x, a) then Add(·, off), with initializers LAYER/scale and
// LAYER/offset of shape (channels), which broadcast along the last axis
// whatever the rank, rather than ONNX's BatchNormalization operator (which
// wants the channels at axis 1). On an image in NCHW (after a Conv2D,
// MaxPooling2D or AveragePooling2D) they have shape (channels, 1, 1).
//
// Convolutions. kiln's images are channels_last, (height, width, channels)
// per sample, and so are the graph's input and output; ONNX's Conv and
// MaxPool work on NCHW. The exporter inserts Transpose (perm [0, 3, 1, 2])
// before the first Conv2D or pooling layer of a run, keeps NCHW through the
// layers that do not care about the layout (Conv2D, MaxPooling2D,
// AveragePooling2D, BatchNormalization, Dropout, and relu, sigmoid, tanh
// and linear activations), and inserts Transpose (perm [0, 2, 3, 1]) back
// to NHWC before whatever needs kiln's layout: a Flatten (so that its
// row-major order is kiln's), a Dense (which acts on the channels, the
// last axis), a softmax before opset 13, or the graph's output. Conv's weight W is kiln's kernel (kh, kw, channels, filters)
// transposed to ONNX's (filters, channels, kh, kw) and its bias is B (none
// without use_bias); its attributes are kernel_shape,
// strides, explicit pads [top, left, bottom, right], dilations [1, 1] and
// group 1. MaxPool has kernel_shape, strides and pads, and leaves
// ceil_mode and storage_order at their defaults (0). Padding "valid" is no
// padding; "same" is TensorFlow's: output ⌈in/stride⌉, max((out−1)·stride +
// k − in, 0) padding cells along an axis, half of them (rounded down)
// before the input and the rest after it. MaxPool ignores its padding cells,
// as kiln does. A Conv2D's softmax, over the filters of each pixel, is
// Softmax with axis 1 on NCHW from opset 13; before, Softmax coerces its
// input to 2-D, so the exporter goes back to NHWC and uses axis 3.
//
// The protobuf encoding is written by this package (no dependency); the
// same model and options always give the same bytes.
package onnx

import (
	"fmt"
	"io"
	"math"
	"reflect"
	"slices"
	"strings"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/internal/atomicfile"
	"github.com/kiln-ml/kiln/layers"
	"github.com/kiln-ml/kiln/tensor"
)

// DefaultOpset is the ONNX operator set written when Options.Opset is 0.
const DefaultOpset = 13

// MinOpset and MaxOpset bound the operator sets Write accepts.
const (
	MinOpset = 11
	MaxOpset = 21
)

// Options configure Write and Save.
type Options struct {
	// InputScale, if not 0 or 1, makes the graph start with
	// Mul(input, InputScale), so the ONNX model takes the same raw inputs
	// kiln's experiment takes before its data.scale (e.g. 1.0/255 for
	// pixels 0..255). It must be finite.
	InputScale float32
	// ProducerVersion is written as the model's producer_version (the
	// producer_name is "kiln"); empty leaves it out.
	ProducerVersion string
	// Opset is the version of the default ONNX operator set the graph uses,
	// from MinOpset to MaxOpset; 0 means DefaultOpset (13). The IR version
	// written is the lowest that supports it (7 for opset 13).
	Opset int
}

// Write encodes m, a built (compiled) model, as an ONNX ModelProto and
// writes it to w. Unsupported layers or activations give an error naming
// the layer; nothing is written then.
func Write(w io.Writer, m *kiln.Sequential, o Options) error {
	b, err := encode(m, o)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// Save writes m as an ONNX file at path (conventionally *.onnx), atomically:
// a failure leaves no partial file behind.
func Save(path string, m *kiln.Sequential, o Options) error {
	b, err := encode(m, o)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(path, b); err != nil {
		return fmt.Errorf("onnx: %w", err)
	}
	return nil
}

// irVersion is the lowest ONNX IR version whose release introduced opset.
func irVersion(opset int) int64 {
	switch {
	case opset <= 11:
		return 6
	case opset <= 14:
		return 7
	case opset <= 18:
		return 8
	case opset <= 20:
		return 9
	default:
		return 10
	}
}

// activationNames lists the activations the exporter maps, for messages.
const activationNames = "linear, relu, sigmoid, softmax, tanh"

// activationOp returns the ONNX operator computing kiln's activation name
// on a tensor in kiln's layout whose per-sample shape has rank rank ("" for
// linear: no node).
func activationOp(name string, rank, opset int) (op string, attrs []attribute, err error) {
	switch name {
	case "linear", "":
		return "", nil, nil
	case "relu":
		return "Relu", nil, nil
	case "sigmoid":
		return "Sigmoid", nil, nil
	case "tanh":
		return "Tanh", nil, nil
	case "softmax":
		if rank < 1 {
			return "", nil, fmt.Errorf("softmax over a per-sample shape of rank %d is not supported", rank)
		}
		// kiln's softmax normalises along the last axis: each row of a
		// (batch, units) tensor, or each position's units of a Dense on an
		// input of rank > 1. Opset 13 defines Softmax along one axis;
		// before, on the input coerced to 2-D at axis, which for axis
		// rank (the last of the rank + 1 axes) is the same thing.
		axis := int64(-1)
		if opset < 13 {
			axis = int64(rank)
		}
		return "Softmax", []attribute{{name: "axis", typ: attrInt, i: axis}}, nil
	}
	return "", nil, fmt.Errorf("activation %q has no ONNX mapping in this exporter; supported activations: %s", name, activationNames)
}

// builder assembles the graph layer by layer.
type builder struct {
	opset int
	g     graph
	names map[string]bool // value, initializer and node names taken
	cur   string          // the name of the current value
	// nchw says the current value is an image batch in ONNX's NCHW layout
	// rather than kiln's NHWC (its per-sample shape, as kiln reports it,
	// is then (height, width, channels)).
	nchw bool
}

// unique returns base, or base with a numeric suffix if base is taken.
func (b *builder) unique(base string) string {
	name := base
	for k := 1; b.names[name]; k++ {
		name = fmt.Sprintf("%s_%d", base, k)
	}
	b.names[name] = true
	return name
}

// addNode appends op applied to the current value (and extra inputs) and
// makes its output the current value. The node and its output share a name.
func (b *builder) addNode(prefix, op string, extra []string, attrs []attribute) {
	if prefix == "" {
		prefix = "layer"
	}
	name := b.unique(prefix + "/" + op)
	b.g.nodes = append(b.g.nodes, node{inputs: append([]string{b.cur}, extra...), outputs: []string{name},
		name: name, opType: op, attrs: attrs})
	b.cur = name
}

// Transpose permutations between kiln's layout and ONNX's.
var (
	permToNCHW = []int64{0, 3, 1, 2}
	permToNHWC = []int64{0, 2, 3, 1}
)

// toNCHW makes the current value NCHW if it is not already.
func (b *builder) toNCHW(prefix string) {
	if !b.nchw {
		b.addNode(prefix, "Transpose", nil, []attribute{{name: "perm", typ: attrInts, ints: permToNCHW}})
		b.nchw = true
	}
}

// toNHWC makes the current value kiln's layout if it is not already.
func (b *builder) toNHWC(prefix string) {
	if b.nchw {
		b.addNode(prefix, "Transpose", nil, []attribute{{name: "perm", typ: attrInts, ints: permToNHWC}})
		b.nchw = false
	}
}

// addInitializer adds a float32 constant and returns its name.
func (b *builder) addInitializer(base string, dims []int, data []float32) string {
	name := b.unique(base)
	d := make([]int64, len(dims))
	for i, v := range dims {
		d[i] = int64(v)
	}
	b.g.initializer = append(b.g.initializer, tensorProto{name: name, dims: d, data: data})
	return name
}

// batchDims returns the value dims [batch, shape...] with a symbolic batch.
func batchDims(shape []int) []dim {
	d := []dim{{param: "batch"}}
	for _, v := range shape {
		d = append(d, dim{value: int64(v)})
	}
	return d
}

// encode builds the ModelProto of m and returns its bytes.
func encode(m *kiln.Sequential, o Options) ([]byte, error) {
	mp, err := build(m, o)
	if err != nil {
		return nil, err
	}
	return mp.encode(), nil
}

// build translates m into the model message.
func build(m *kiln.Sequential, o Options) (*model, error) {
	if m == nil {
		return nil, fmt.Errorf("onnx: the model is nil")
	}
	opset := o.Opset
	if opset == 0 {
		opset = DefaultOpset
	}
	if opset < MinOpset || opset > MaxOpset {
		return nil, fmt.Errorf("onnx: opset %d is not supported; use %d to %d (0 means %d)", opset, MinOpset, MaxOpset, DefaultOpset)
	}
	s := o.InputScale
	if math.IsNaN(float64(s)) || math.IsInf(float64(s), 0) {
		return nil, fmt.Errorf("onnx: InputScale is %v; it must be a finite number (0 or 1 for none)", s)
	}
	in := m.InputShape()
	if len(in) == 0 {
		return nil, fmt.Errorf("onnx: model %q has no Input; add layers.NewInput(shape...) first", m.Name)
	}
	for _, d := range in {
		if d <= 0 {
			return nil, fmt.Errorf("onnx: model %q: Input shape %v has a dimension ≤ 0", m.Name, in)
		}
	}
	ls := m.Layers()
	if len(ls) == 0 {
		return nil, fmt.Errorf("onnx: model %q has no layers", m.Name)
	}

	b := &builder{opset: opset, names: map[string]bool{"input": true, "output": true}, cur: "input"}
	b.g.name = m.Name
	if b.g.name == "" {
		b.g.name = "sequential"
	}
	if s != 0 && s != 1 {
		scale := b.addInitializer("input/scale", nil, []float32{s})
		b.addNode("input", "Mul", []string{scale}, nil)
	}
	shape := slices.Clone(in)
	for i, l := range ls {
		next, err := b.layer(l, shape)
		if err != nil {
			return nil, fmt.Errorf("onnx: %s: %w", describe(i, l), err)
		}
		shape = next
	}
	// The graph's output is in kiln's layout.
	b.toNHWC("output")
	if len(b.g.nodes) == 0 {
		// Only layers without a node (Dropout): the output is the input.
		b.g.nodes = append(b.g.nodes, node{inputs: []string{"input"}, outputs: []string{"output"}, name: "output/Identity", opType: "Identity"})
	} else {
		b.g.nodes[len(b.g.nodes)-1].outputs[0] = "output"
	}
	b.g.inputs = []valueInfo{{name: "input", dims: batchDims(in)}}
	b.g.outputs = []valueInfo{{name: "output", dims: batchDims(shape)}}
	return &model{irVersion: irVersion(opset), producerName: "kiln", producerVersion: o.ProducerVersion,
		graph: b.g, opset: int64(opset)}, nil
}

// describe names layer i (0-based) for errors: layer 2 ("dense", Dense).
// It does not trust a layer of an unknown type not to panic.
func describe(i int, l layers.Layer) (s string) {
	s = fmt.Sprintf("layer %d (%T)", i+1, l)
	defer func() { _ = recover() }()
	if l != nil {
		s = fmt.Sprintf("layer %d (%q, %s)", i+1, l.Name(), l.ClassName())
	}
	return s
}

// errNotBuilt is the error for a layer without shapes or weights.
var errNotBuilt = fmt.Errorf("the layer is not built; compile the model (Compile builds it) before exporting")

// exporter adds the nodes of a layer, whose per-sample input shape is in,
// and returns its per-sample output shape.
type exporter func(b *builder, l layers.Layer, in []int) ([]int, error)

// exporters are the ONNX translations of layer types, keyed by the layer's
// Go type. A layer type without one is refused by name. The registry lives
// here, not in layers, so that layers does not depend on the exporter.
var exporters = map[reflect.Type]exporter{}

// register adds the exporter of layer type L.
func register[L layers.Layer](f func(b *builder, l L, in []int) ([]int, error)) {
	exporters[reflect.TypeFor[L]()] = func(b *builder, l layers.Layer, in []int) ([]int, error) { return f(b, l.(L), in) }
}

func init() {
	register(exportFlatten)
	register(exportGlobalAveragePooling2D)
	register(exportReshape)
	register(exportDense)
	register(exportConv2D)
	register(exportBatchNormalization)
	register(exportActivation)
	register(exportDropout)
	register(exportMaxPooling2D)
	register(exportAveragePooling2D)
	register((*builder).graph) // a Functional model (graph.go)
}

// layer adds the nodes of l, whose per-sample input shape is in, and returns
// its per-sample output shape.
func (b *builder) layer(l layers.Layer, in []int) ([]int, error) {
	f, ok := exporters[reflect.TypeOf(l)]
	if !ok {
		var names []string
		for t := range exporters {
			names = append(names, strings.TrimPrefix(t.String(), "*layers."))
		}
		slices.Sort(names)
		return nil, fmt.Errorf("layer type %T is not supported by the ONNX exporter; supported layers: %s (after an Input)", l, strings.Join(names, ", "))
	}
	return f(b, l, in)
}

// exportFlatten adds the nodes of a Flatten layer.
func exportFlatten(b *builder, v *layers.Flatten, in []int) (out []int, err error) {
	if v == nil {
		return nil, errNotBuilt
	}
	out = []int{tensor.Size(in)}
	if err := checkShape(v.OutputShape(), out); err != nil {
		return nil, err
	}
	// kiln flattens (height, width, channels) row-major.
	b.toNHWC(v.Name())
	b.addNode(v.Name(), "Flatten", nil, []attribute{{name: "axis", typ: attrInt, i: 1}})
	return out, nil
}

// exportGlobalAveragePooling2D adds the nodes of a GlobalAveragePooling2D layer.
func exportGlobalAveragePooling2D(b *builder, v *layers.GlobalAveragePooling2D, in []int) (out []int, err error) {
	if v == nil {
		return nil, errNotBuilt
	}
	if len(in) != 3 {
		return nil, fmt.Errorf("layer %q: GlobalAveragePooling2D needs an image input, got %v", v.Name(), in)
	}
	out = []int{in[2]}
	if err := checkShape(v.OutputShape(), out); err != nil {
		return nil, err
	}
	// (N, C, H, W) → (N, C, 1, 1) → (N, C).
	b.toNCHW(v.Name())
	b.addNode(v.Name(), "GlobalAveragePool", nil, nil)
	b.nchw = false
	b.addNode(v.Name(), "Flatten", nil, []attribute{{name: "axis", typ: attrInt, i: 1}})
	return out, nil
}

// exportReshape adds the nodes of a Reshape layer.
func exportReshape(b *builder, v *layers.Reshape, in []int) (out []int, err error) {
	if v == nil {
		return nil, errNotBuilt
	}
	out = v.OutputShape()
	if tensor.Size(out) != tensor.Size(in) {
		return nil, fmt.Errorf("layer %q: Reshape from %v to %v changes the size", v.Name(), in, out)
	}
	// Reshape works on kiln's row-major (height, width, channels)
	// layout; 0 keeps the (symbolic) batch dimension.
	b.toNHWC(v.Name())
	shape := append([]int64{0}, make([]int64, len(out))...)
	for i, d := range out {
		shape[i+1] = int64(d)
	}
	name := b.unique(v.Name() + "/shape")
	b.g.initializer = append(b.g.initializer, tensorProto{name: name, dims: []int64{int64(len(shape))}, i64: shape})
	b.addNode(v.Name(), "Reshape", []string{name}, nil)
	return out, nil
}

// exportDense adds the nodes of a Dense layer.
func exportDense(b *builder, v *layers.Dense, in []int) (out []int, err error) {
	if v == nil || v.Kernel == nil {
		return nil, errNotBuilt
	}
	if len(in) == 0 {
		return nil, fmt.Errorf("the input has no axis for Dense to act on")
	}
	units, f := v.Units, in[len(in)-1]
	out = append(slices.Clone(in[:len(in)-1]), units)
	if err := checkShape(v.OutputShape(), out); err != nil {
		return nil, err
	}
	k := v.Kernel
	if !slices.Equal(k.Shape, []int{f, units}) || len(k.Value) != f*units {
		return nil, fmt.Errorf("kernel %q has shape %v and %d values, want (%d, %d) for input %v", k.Name, k.Shape, len(k.Value), f, units, in)
	}
	kernel := b.addInitializer(weightName(k, v.Name(), "kernel"), k.Shape, k.Value)
	var bias string
	if bv := v.Bias; bv != nil {
		if len(bv.Value) != units {
			return nil, fmt.Errorf("bias %q has %d values, want %d", bv.Name, len(bv.Value), units)
		}
		bias = b.addInitializer(weightName(bv, v.Name(), "bias"), []int{units}, bv.Value)
	}
	if len(in) == 1 {
		// kiln's Dense is y = x·W + b with W (in, units) row-major:
		// that is Gemm(A=x, B=W, C=b) with transB = 0 (the default).
		inputs := []string{kernel}
		if bias != "" {
			inputs = append(inputs, bias)
		}
		b.addNode(v.Name(), "Gemm", inputs, nil)
	} else {
		// On (batch, d1, ..., dk, in) Dense acts on the last axis:
		// MatMul by the 2-D W stacks over the leading axes, and the
		// bias, of shape (units), broadcasts along the last axis. On
		// an image the last axis must be the channels: kiln's layout.
		b.toNHWC(v.Name())
		b.addNode(v.Name(), "MatMul", []string{kernel}, nil)
		if bias != "" {
			b.addNode(v.Name(), "Add", []string{bias}, nil)
		}
	}
	if err := b.activation(v.Name(), v.ActivationName(), out); err != nil {
		return nil, err
	}
	return out, nil
}

// exportConv2D adds the nodes of a Conv2D layer.
func exportConv2D(b *builder, v *layers.Conv2D, in []int) (out []int, err error) {
	if v == nil || v.Kernel == nil {
		return nil, errNotBuilt
	}
	w, err := newWindow(in, v.KernelSize, v.Strides, v.Padding, "kernel_size")
	if err != nil {
		return nil, err
	}
	f := v.Filters
	out = []int{w.outH, w.outW, f}
	if err := checkShape(v.OutputShape(), out); err != nil {
		return nil, err
	}
	kh, kw, cin := v.KernelSize[0], v.KernelSize[1], in[2]
	k := v.Kernel
	if !slices.Equal(k.Shape, []int{kh, kw, cin, f}) || len(k.Value) != kh*kw*cin*f {
		return nil, fmt.Errorf("kernel %q has shape %v and %d values, want (%d, %d, %d, %d) for input %v", k.Name, k.Shape, len(k.Value), kh, kw, cin, f, in)
	}
	b.toNCHW(v.Name())
	inputs := []string{b.addInitializer(weightName(k, v.Name(), "kernel"), []int{f, cin, kh, kw}, convWeight(k.Value, kh, kw, cin, f))}
	if bias := v.Bias; bias != nil {
		if len(bias.Value) != f {
			return nil, fmt.Errorf("bias %q has %d values, want %d", bias.Name, len(bias.Value), f)
		}
		inputs = append(inputs, b.addInitializer(weightName(bias, v.Name(), "bias"), []int{f}, bias.Value))
	}
	b.addNode(v.Name(), "Conv", inputs, []attribute{
		{name: "dilations", typ: attrInts, ints: []int64{1, 1}},
		{name: "group", typ: attrInt, i: 1},
		{name: "kernel_shape", typ: attrInts, ints: w.kernel},
		{name: "pads", typ: attrInts, ints: w.pads},
		{name: "strides", typ: attrInts, ints: w.strides},
	})
	if err := b.imageActivation(v.Name(), v.ActivationName(), out); err != nil {
		return nil, err
	}
	return out, nil
}

// exportBatchNormalization adds the nodes of a BatchNormalization layer.
func exportBatchNormalization(b *builder, v *layers.BatchNormalization, in []int) (out []int, err error) {
	if v == nil || v.MovingMean == nil || v.MovingVariance == nil {
		return nil, errNotBuilt
	}
	out = in
	if err := checkShape(v.OutputShape(), out); err != nil {
		return nil, err
	}
	if err := b.batchNorm(v, in); err != nil {
		return nil, err
	}
	return out, nil
}

// exportActivation adds the nodes of a Activation layer.
func exportActivation(b *builder, v *layers.Activation, in []int) (out []int, err error) {
	if v == nil {
		return nil, errNotBuilt
	}
	out = in
	if err := checkShape(v.OutputShape(), out); err != nil {
		return nil, err
	}
	if err := b.activation(v.Name(), v.ActivationName(), out); err != nil {
		return nil, err
	}
	return out, nil
}

// exportDropout adds the nodes of a Dropout layer.
func exportDropout(b *builder, v *layers.Dropout, in []int) (out []int, err error) {
	if v == nil {
		return nil, errNotBuilt
	}
	out = in
	if err := checkShape(v.OutputShape(), out); err != nil {
		return nil, err
	}
	// Dropout is the identity at inference: no node.
	return out, nil
}

// exportMaxPooling2D adds a MaxPool node. ONNX's MaxPool ignores padding
// cells, as kiln's does (they never win); ceil_mode and storage_order keep
// their default, 0.
func exportMaxPooling2D(b *builder, p *layers.MaxPooling2D, in []int) ([]int, error) {
	if p == nil {
		return nil, errNotBuilt
	}
	return b.pool(p, "MaxPool", nil, p.PoolSize, p.Strides, p.Padding, in)
}

// exportAveragePooling2D adds an AveragePool node with count_include_pad 0
// (the default, written out): padded cells do not count, as in TensorFlow
// and kiln.
func exportAveragePooling2D(b *builder, p *layers.AveragePooling2D, in []int) ([]int, error) {
	if p == nil {
		return nil, errNotBuilt
	}
	attrs := []attribute{{name: "count_include_pad", typ: attrInt, i: 0}}
	return b.pool(p, "AveragePool", attrs, p.PoolSize, p.Strides, p.Padding, in)
}

// pool adds the node of a pooling layer l: op over pool windows.
func (b *builder) pool(l layers.Layer, op string, attrs []attribute, pool, strides [2]int, padding string, in []int) ([]int, error) {
	w, err := newWindow(in, pool, strides, padding, "pool_size")
	if err != nil {
		return nil, err
	}
	out := []int{w.outH, w.outW, in[2]}
	if err := checkShape(l.OutputShape(), out); err != nil {
		return nil, err
	}
	name := l.Name()
	b.toNCHW(name)
	b.addNode(name, op, nil, append(attrs,
		attribute{name: "kernel_shape", typ: attrInts, ints: w.kernel},
		attribute{name: "pads", typ: attrInts, ints: w.pads},
		attribute{name: "strides", typ: attrInts, ints: w.strides},
	))
	return out, nil
}

// batchNorm adds the nodes of a BatchNormalization layer at inference, on a
// value of per-sample shape in: Mul by the per-channel factor a, then Add
// the offset (see bnFactors). In kiln's layout the channels are the last
// axis, and constants of shape (C) broadcast along it; on an NCHW image
// they are shaped (C, 1, 1), so that the run of NCHW layers goes on
// without a Transpose.
func (b *builder) batchNorm(v *layers.BatchNormalization, in []int) error {
	if len(in) == 0 {
		return fmt.Errorf("the input has no axis to normalise")
	}
	if v.Axis != -1 && v.Axis != len(in) {
		return fmt.Errorf("axis %d of input %v is not the last axis", v.Axis, in)
	}
	c := in[len(in)-1]
	for _, w := range []*tensor.Variable{v.Gamma, v.Beta, v.MovingMean, v.MovingVariance} {
		if w != nil && len(w.Value) != c {
			return fmt.Errorf("weight %q has %d values, want %d (the channels of input %v)", w.Name, len(w.Value), c, in)
		}
	}
	a, off, err := bnFactors(v, c)
	if err != nil {
		return err
	}
	dims := []int{c}
	if b.nchw {
		dims = []int{c, 1, 1}
	}
	b.addNode(v.Name(), "Mul", []string{b.addInitializer(v.Name()+"/scale", dims, a)}, nil)
	b.addNode(v.Name(), "Add", []string{b.addInitializer(v.Name()+"/offset", dims, off)}, nil)
	return nil
}

// bnFactors returns the per-channel factor and offset with which a
// BatchNormalization layer of c channels computes y = x·a + off at
// inference (its InferenceFactors, as its Infer uses them):
//
//	a = float32(1/√(moving_variance + ε))·γ    (γ = 1 without scale)
//	off = β − moving_mean·a                    (β = 0 without center)
func bnFactors(v *layers.BatchNormalization, c int) (a, off []float32, err error) {
	a, off = make([]float32, c), make([]float32, c)
	v.InferenceFactors(a, off)
	for k := range c {
		if math.IsNaN(float64(off[k])) || math.IsInf(float64(off[k]), 0) {
			gamma, beta := float32(1), float32(0)
			if v.Gamma != nil {
				gamma = v.Gamma.Value[k]
			}
			if v.Beta != nil {
				beta = v.Beta.Value[k]
			}
			return nil, nil, fmt.Errorf("channel %d: moving_variance %v + epsilon %v, moving_mean %v, gamma %v and beta %v give a factor %v and an offset %v; they must be finite",
				k, v.MovingVariance.Value[k], v.Epsilon, v.MovingMean.Value[k], gamma, beta, a[k], off[k])
		}
	}
	return a, off, nil
}

// activation adds the node of activation act applied to a value of
// per-sample shape shape.
func (b *builder) activation(prefix, act string, shape []int) error {
	op, attrs, err := activationOp(act, len(shape), b.opset)
	if err != nil {
		return err
	}
	if op != "" {
		b.addNode(prefix, op, nil, attrs)
	}
	return nil
}

// imageActivation adds the node of a Conv2D's activation act applied to its
// output, of per-sample shape shape (height, width, filters) and in NCHW.
func (b *builder) imageActivation(prefix, act string, shape []int) error {
	if act != "softmax" {
		// Element-wise: any layout.
		return b.activation(prefix, act, shape)
	}
	// kiln normalises over the filters of each pixel: NCHW's axis 1.
	// Before opset 13 Softmax normalises the rows of its input coerced to
	// 2-D at axis, which on NHWC with axis 3 are the pixels.
	if b.opset >= 13 {
		b.addNode(prefix, "Softmax", nil, []attribute{{name: "axis", typ: attrInt, i: 1}})
		return nil
	}
	b.toNHWC(prefix)
	b.addNode(prefix, "Softmax", nil, []attribute{{name: "axis", typ: attrInt, i: 3}})
	return nil
}

// window2D is the geometry of a Conv or MaxPool window as ONNX states it.
type window2D struct {
	kernel, strides []int64 // (height, width)
	pads            []int64 // top, left, bottom, right
	outH, outW      int
}

// newWindow computes the geometry of a kernel or pool window of size k
// (height, width) and strides s sliding over a per-sample input of shape
// in (height, width, channels) with kiln's padding ("valid" or "same");
// what names k for messages.
func newWindow(in []int, k, s [2]int, padding, what string) (window2D, error) {
	if len(in) != 3 {
		return window2D{}, fmt.Errorf("input shape %v is not (height, width, channels)", in)
	}
	if k[0] <= 0 || k[1] <= 0 || s[0] <= 0 || s[1] <= 0 {
		return window2D{}, fmt.Errorf("%s %v and strides %v must be positive", what, k, s)
	}
	oh, top, bottom, err := axisPads(in[0], k[0], s[0], padding)
	if err != nil {
		return window2D{}, err
	}
	ow, left, right, err := axisPads(in[1], k[1], s[1], padding)
	if err != nil {
		return window2D{}, err
	}
	return window2D{kernel: []int64{int64(k[0]), int64(k[1])}, strides: []int64{int64(s[0]), int64(s[1])},
		pads: []int64{int64(top), int64(left), int64(bottom), int64(right)}, outH: oh, outW: ow}, nil
}

// axisPads returns the output length along one axis of length in, window k
// and stride s, and the padding cells before and after the input, as kiln
// (TensorFlow) pads: none for "valid"; for "same" an output of ⌈in/s⌉ and
// max((out−1)·s + k − in, 0) cells, the odd one after. ONNX's output length
// ⌊(in + before + after − k)/s⌋ + 1 is then out.
func axisPads(in, k, s int, padding string) (out, before, after int, err error) {
	switch padding {
	case "valid":
		if k > in {
			return 0, 0, 0, fmt.Errorf("window %d is larger than the input's %d with padding \"valid\"", k, in)
		}
		return (in-k)/s + 1, 0, 0, nil
	case "same":
		out = (in + s - 1) / s
		total := max((out-1)*s+k-in, 0)
		return out, total / 2, total - total/2, nil
	}
	return 0, 0, 0, fmt.Errorf("padding %q is not supported; use \"valid\" or \"same\"", padding)
}

// convWeight returns kiln's Conv2D kernel, (kh, kw, cin, filters) row-major,
// as ONNX's Conv weight, (filters, cin, kh, kw) row-major.
func convWeight(k []float32, kh, kw, cin, filters int) []float32 {
	w := make([]float32, len(k))
	for i := 0; i < kh; i++ {
		for j := 0; j < kw; j++ {
			for c := 0; c < cin; c++ {
				for o := 0; o < filters; o++ {
					w[((o*cin+c)*kh+i)*kw+j] = k[((i*kw+j)*cin+c)*filters+o]
				}
			}
		}
	}
	return w
}

// checkShape compares the shape a layer reports with the one its input
// implies.
func checkShape(got, want []int) error {
	if got == nil {
		return errNotBuilt
	}
	if !slices.Equal(got, want) {
		return fmt.Errorf("the layer's output shape %v does not follow from its input (%v expected); compile the model again", got, want)
	}
	return nil
}

// weightName is the initializer name of a variable: its kiln name
// ("dense/kernel", as in SaveWeights' safetensors) or layer/kind.
func weightName(v *tensor.Variable, layer, kind string) string {
	if strings.TrimSpace(v.Name) != "" {
		return v.Name
	}
	return layer + "/" + kind
}
