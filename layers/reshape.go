package layers

import (
	"fmt"
	"math/rand/v2"

	"github.com/kiln-ml/kiln/schema"
	"github.com/kiln-ml/kiln/tensor"
)

// Reshape gives each sample a new shape with the same number of values,
// like Keras' Reshape(target_shape): one dimension may be -1, inferred from
// the others. The values keep their row-major order, so it moves no data.
type Reshape struct {
	base
	// Target is the target shape as given (possibly with one -1).
	Target []int
}

// NewReshape returns a Reshape to target (without the batch axis).
func NewReshape(target ...int) (*Reshape, error) {
	if len(target) == 0 {
		return nil, fmt.Errorf("Reshape: target_shape is empty; give the shape of one sample, e.g. [28, 28, 1]")
	}
	free := 0
	for _, d := range target {
		switch {
		case d == -1:
			free++
		case d <= 0:
			return nil, fmt.Errorf("Reshape: target_shape %v has a dimension %d; dimensions are positive, or one may be -1", target, d)
		}
	}
	if free > 1 {
		return nil, fmt.Errorf("Reshape: target_shape %v has more than one -1; only one dimension can be inferred", target)
	}
	return &Reshape{Target: append([]int(nil), target...)}, nil
}

// ClassName returns "Reshape".
func (*Reshape) ClassName() string { return "Reshape" }

// Build resolves a -1 and checks that the sizes match.
func (r *Reshape) Build(in []int, _ *rand.Rand) ([]int, error) {
	size := tensor.Size(in)
	out := append([]int(nil), r.Target...)
	known, free := 1, -1
	for i, d := range out {
		if d == -1 {
			free = i
		} else {
			known *= d
		}
	}
	if free >= 0 {
		if size%known != 0 {
			return nil, fmt.Errorf("Reshape: cannot reshape %s (%d values) to %v: %d is not a multiple of %d", ShapeTuple(in), size, r.Target, size, known)
		}
		out[free] = size / known
	} else if known != size {
		return nil, fmt.Errorf("Reshape: cannot reshape %s (%d values) to %s (%d values); the sizes must match", ShapeTuple(in), size, ShapeTuple(out), known)
	}
	r.setShapes(in, out)
	return r.out, nil
}

// IsView returns true: Reshape moves no data.
func (*Reshape) IsView() bool { return true }

// Variables returns nil.
func (*Reshape) Variables() []*tensor.Variable { return nil }

// Allocate does nothing: Reshape needs no buffers.
func (*Reshape) Allocate(int, bool) {}

// Forward returns x unchanged.
func (r *Reshape) Forward(x []float32, n int, _ bool) []float32 { return x[:n*r.outWidth] }

// Backward returns dy unchanged.
func (r *Reshape) Backward(dy []float32, n int) []float32 { return dy[:n*r.inWidth] }

// Infer copies x into dst.
func (r *Reshape) Infer(dst, x []float32, n int) { copy(dst[:n*r.outWidth], x[:n*r.outWidth]) }

// Config returns Keras' keys: the name and target_shape.
func (r *Reshape) Config() map[string]any {
	t := make([]any, len(r.Target))
	for i, d := range r.Target {
		t[i] = d
	}
	return map[string]any{"name": r.name, "target_shape": t}
}

func init() {
	Register(Spec{
		Class: "Reshape",
		Doc:   "gives each sample a new shape with the same number of values",
		Args: []schema.Arg{{Name: "target_shape", Kind: schema.Shape, Required: true,
			Doc: "a list of positive integers (one may be -1), e.g. [28, 28, 1]",
			Valid: func(v any) bool {
				for _, d := range v.([]int) {
					if d <= 0 && d != -1 {
						return false
					}
				}
				return true
			}}},
		New:          func(a schema.Values) (Layer, error) { return NewReshape(a.Ints("target_shape")...) },
		Positional:   1,
		Example:      map[string]any{"target_shape": []any{2, -1}},
		ExampleInput: []int{4, 4, 3},
	})
}
