package layers

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/kiln-ml/kiln/schema"
	"github.com/kiln-ml/kiln/tensor"
)

// Merge is a layer of several inputs, like Keras' merge layers (Add,
// Subtract, Multiply, Average, Concatenate). It is used in a Functional
// model through ApplyMerge. Like Layer, training uses ForwardMerge and
// BackwardMerge with buffers kept inside the layer, and InferMerge keeps
// no state.
type Merge interface {
	// ClassName is Keras' class name, e.g. "Add".
	ClassName() string
	// Name is the layer's name, e.g. "add_1"; the model assigns it when empty.
	Name() string
	// SetName renames the layer.
	SetName(name string)
	// BuildMerge checks the input shapes (without the batch axis) and
	// returns the output shape.
	BuildMerge(ins [][]int, rng *rand.Rand) (out []int, err error)
	// OutputShape is the shape BuildMerge returned.
	OutputShape() []int
	// Variables are the trainable weights (nil for the merge layers here).
	Variables() []*tensor.Variable
	// AllocateMerge sizes the training buffers for up to maxBatch rows.
	AllocateMerge(maxBatch int)
	// ForwardMerge computes the output of n rows from one buffer per input
	// and returns the layer's own output buffer.
	ForwardMerge(xs [][]float32, n int, training bool) []float32
	// BackwardMerge takes dLoss/dOutput for the n rows of the last
	// ForwardMerge and returns dLoss/dInput for each input (the slices may
	// be shared between inputs, or be dy itself: read, never write them).
	BackwardMerge(dy []float32, n int) [][]float32
	// InferMerge writes the inference output of n rows into dst; it keeps
	// no state and may run concurrently with other InferMerge calls.
	InferMerge(dst []float32, xs [][]float32, n int)
	// Config returns Keras' get_config() keys.
	Config() map[string]any
}

// shapesText formats input shapes as Keras prints them: [(None, 32), (None, 16)].
func shapesText(ins [][]int) string {
	s := make([]string, len(ins))
	for i, in := range ins {
		s[i] = ShapeTuple(in)
	}
	return "[" + strings.Join(s, ", ") + "]"
}

// elementwise is what Add, Subtract, Multiply and Average share: inputs of
// one shape, an output of that shape.
type elementwise struct {
	base
	class string
	k     int // number of inputs
	xs    [][]float32
	y     []float32
	dxs   [][]float32
	bufs  [][]float32
	exact int // 0: any number ≥ 2 of inputs; else exactly this many
}

func (e *elementwise) ClassName() string { return e.class }

// Variables returns nil.
func (*elementwise) Variables() []*tensor.Variable { return nil }

// Config returns Keras' keys: the name.
func (e *elementwise) Config() map[string]any { return map[string]any{"name": e.name} }

func (e *elementwise) BuildMerge(ins [][]int, _ *rand.Rand) ([]int, error) {
	if len(ins) < 2 {
		return nil, fmt.Errorf("%s %q: a merge layer should be called on a list of at least 2 inputs, got %d; apply it to two or more layer outputs", e.class, e.name, len(ins))
	}
	if e.exact > 0 && len(ins) != e.exact {
		return nil, fmt.Errorf("%s %q: a %s layer should be called on exactly %d inputs, got %d", e.class, e.name, e.class, e.exact, len(ins))
	}
	for _, in := range ins[1:] {
		if !slices.Equal(in, ins[0]) {
			return nil, fmt.Errorf("%s %q: inputs have incompatible shapes %s; every input of %s must have the same shape (add a Dense or Reshape layer to make them match)", e.class, e.name, shapesText(ins), e.class)
		}
	}
	e.k = len(ins)
	e.setShapes(ins[0], ins[0])
	e.xs = make([][]float32, e.k)
	return e.out, nil
}

func (e *elementwise) AllocateMerge(maxBatch int) {
	e.y = make([]float32, maxBatch*e.outWidth)
	e.dxs = make([][]float32, e.k)
	e.bufs = nil
	if e.class == "Add" {
		return // dx_i = dy: no buffers
	}
	e.bufs = make([][]float32, e.k)
	for i := range e.bufs {
		e.bufs[i] = make([]float32, maxBatch*e.outWidth)
	}
}

func (e *elementwise) infer(dst []float32, xs [][]float32, n int) {
	m := n * e.outWidth
	dst = dst[:m]
	copy(dst, xs[0][:m])
	switch e.class {
	case "Add", "Average":
		for _, x := range xs[1:] {
			for j, v := range x[:m] {
				dst[j] += v
			}
		}
		if e.class == "Average" {
			k := float32(len(xs))
			for j := range dst {
				dst[j] /= k
			}
		}
	case "Subtract":
		for j, v := range xs[1][:m] {
			dst[j] -= v
		}
	case "Multiply":
		for _, x := range xs[1:] {
			for j, v := range x[:m] {
				dst[j] *= v
			}
		}
	}
}

func (e *elementwise) InferMerge(dst []float32, xs [][]float32, n int) { e.infer(dst, xs, n) }

func (e *elementwise) ForwardMerge(xs [][]float32, n int, _ bool) []float32 {
	copy(e.xs, xs)
	e.infer(e.y, xs, n)
	return e.y[:n*e.outWidth]
}

func (e *elementwise) BackwardMerge(dy []float32, n int) [][]float32 {
	m := n * e.outWidth
	dy = dy[:m]
	switch e.class {
	case "Add":
		for i := range e.dxs {
			e.dxs[i] = dy
		}
	case "Subtract":
		copy(e.bufs[0], dy)
		for j, v := range dy {
			e.bufs[1][j] = -v
		}
		e.dxs[0], e.dxs[1] = e.bufs[0][:m], e.bufs[1][:m]
	case "Average":
		k := float32(e.k)
		for j, v := range dy {
			e.bufs[0][j] = v / k
		}
		for i := range e.dxs {
			e.dxs[i] = e.bufs[0][:m]
		}
	case "Multiply":
		for i := range e.dxs {
			d := e.bufs[i][:m]
			copy(d, dy)
			for o, x := range e.xs {
				if o == i {
					continue
				}
				for j, v := range x[:m] {
					d[j] *= v
				}
			}
			e.dxs[i] = d
		}
	}
	return e.dxs
}

// Add sums its inputs element-wise, like Keras' Add.
type Add struct{ elementwise }

// NewAdd returns an Add layer.
func NewAdd() *Add { return &Add{elementwise{class: "Add"}} }

// Subtract computes its first input minus its second, like Keras' Subtract.
type Subtract struct{ elementwise }

// NewSubtract returns a Subtract layer (exactly two inputs).
func NewSubtract() *Subtract { return &Subtract{elementwise{class: "Subtract", exact: 2}} }

// Multiply multiplies its inputs element-wise, like Keras' Multiply.
type Multiply struct{ elementwise }

// NewMultiply returns a Multiply layer.
func NewMultiply() *Multiply { return &Multiply{elementwise{class: "Multiply"}} }

// Average is the element-wise mean of its inputs, like Keras' Average:
// the sum in input order, divided by the number of inputs.
type Average struct{ elementwise }

// NewAverage returns an Average layer.
func NewAverage() *Average { return &Average{elementwise{class: "Average"}} }

// Concatenate joins its inputs along one axis, like Keras'
// Concatenate(axis=-1) (channels_last: the default joins the features or
// channels). Axis counts the batch axis as Keras does: -1 is the last axis,
// 1 the first axis of a sample; the batch axis 0 cannot be joined.
type Concatenate struct {
	base
	// Axis is the axis as given (Keras' axis, -1 by default).
	Axis int

	outer  int   // product of the dimensions before the axis
	inner  []int // per input: values per outer index
	ins    [][]int
	y      []float32
	dxs    [][]float32
	dxBufs [][]float32
}

// NewConcatenate returns a Concatenate layer on axis (Keras' axis; -1 for
// the last).
func NewConcatenate(axis int) *Concatenate { return &Concatenate{Axis: axis} }

// ClassName returns "Concatenate".
func (*Concatenate) ClassName() string { return "Concatenate" }

// Variables returns nil.
func (*Concatenate) Variables() []*tensor.Variable { return nil }

// Config returns Keras' keys: the name and axis.
func (c *Concatenate) Config() map[string]any { return map[string]any{"name": c.name, "axis": c.Axis} }

// BuildMerge checks that the shapes match except on the axis and returns
// the joined shape.
func (c *Concatenate) BuildMerge(ins [][]int, _ *rand.Rand) ([]int, error) {
	if len(ins) < 2 {
		return nil, fmt.Errorf("Concatenate %q: a Concatenate layer should be called on a list of at least 2 inputs, got %d; apply it to two or more layer outputs", c.name, len(ins))
	}
	rank := len(ins[0])
	a := c.Axis
	if a < 0 {
		a += rank + 1 // Keras' axis counts the batch axis
	}
	if a <= 0 || a > rank {
		return nil, fmt.Errorf("Concatenate %q: axis %d is out of range for inputs %s; use -1 (the last axis) or 1 to %d (axis 0 is the batch)", c.name, c.Axis, shapesText(ins), rank)
	}
	a-- // per-sample axis
	out := append([]int(nil), ins[0]...)
	out[a] = 0
	for _, in := range ins {
		ok := len(in) == rank
		for d := 0; ok && d < rank; d++ {
			ok = d == a || in[d] == ins[0][d]
		}
		if !ok {
			return nil, fmt.Errorf("Concatenate %q: a Concatenate layer requires inputs with matching shapes except for the concatenation axis %d; received input shapes %s (reshape the inputs, or choose another axis)", c.name, c.Axis, shapesText(ins))
		}
		out[a] += in[a]
	}
	c.outer = tensor.Size(ins[0][:a])
	c.inner = make([]int, len(ins))
	c.ins = make([][]int, len(ins))
	for i, in := range ins {
		c.inner[i] = tensor.Size(in[a:])
		c.ins[i] = append([]int(nil), in...)
	}
	c.setShapes(ins[0], out)
	return c.out, nil
}

// AllocateMerge sizes the output and input-gradient buffers.
func (c *Concatenate) AllocateMerge(maxBatch int) {
	c.y = make([]float32, maxBatch*c.outWidth)
	c.dxs = make([][]float32, len(c.inner))
	c.dxBufs = make([][]float32, len(c.inner))
	for i := range c.dxBufs {
		c.dxBufs[i] = make([]float32, maxBatch*c.outer*c.inner[i])
	}
}

// InferMerge joins the inputs into dst.
func (c *Concatenate) InferMerge(dst []float32, xs [][]float32, n int) {
	p := 0
	for o := 0; o < n*c.outer; o++ {
		for i, x := range xs {
			w := c.inner[i]
			p += copy(dst[p:p+w], x[o*w:(o+1)*w])
		}
	}
}

// ForwardMerge joins the inputs into the layer's buffer.
func (c *Concatenate) ForwardMerge(xs [][]float32, n int, _ bool) []float32 {
	c.InferMerge(c.y, xs, n)
	return c.y[:n*c.outWidth]
}

// BackwardMerge splits dy back into the inputs' parts.
func (c *Concatenate) BackwardMerge(dy []float32, n int) [][]float32 {
	p := 0
	for o := 0; o < n*c.outer; o++ {
		for i, w := range c.inner {
			p += copy(c.dxBufs[i][o*w:(o+1)*w], dy[p:p+w])
		}
	}
	for i, w := range c.inner {
		c.dxs[i] = c.dxBufs[i][:n*c.outer*w]
	}
	return c.dxs
}

func init() {
	for _, m := range []struct {
		class, doc string
		make       func() Merge
	}{
		{"Add", "sums its inputs element-wise", func() Merge { return NewAdd() }},
		{"Subtract", "its first input minus its second, element-wise", func() Merge { return NewSubtract() }},
		{"Multiply", "multiplies its inputs element-wise", func() Merge { return NewMultiply() }},
		{"Average", "the element-wise mean of its inputs", func() Merge { return NewAverage() }},
	} {
		Register(Spec{Class: m.class, Doc: m.doc + " (a merge layer: inputs of equal shapes)",
			NewMerge: func(schema.Values) (Merge, error) { return m.make(), nil }})
	}
	Register(Spec{
		Class:      "Concatenate",
		Doc:        "joins its inputs along one axis (a merge layer)",
		Args:       []schema.Arg{{Name: "axis", Kind: schema.Int, Default: -1, Doc: "an integer (Keras' axis counting the batch axis; -1 is the last)"}},
		NewMerge:   func(a schema.Values) (Merge, error) { return NewConcatenate(a.Int("axis")), nil },
		Positional: 1,
		Example:    map[string]any{"axis": -1},
	})
}
