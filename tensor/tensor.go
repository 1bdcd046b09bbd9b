// Package tensor holds the float32 arrays that layers train: a Variable is a
// named weight with its gradient, like a Keras variable. Batches flow between
// layers as plain row-major []float32 slices, so this package stays small.
package tensor

// Variable is a trainable weight: its value, the gradient of the loss with
// respect to it from the last backward pass, and its shape (e.g. a Dense
// kernel is (in, units)).
type Variable struct {
	Name  string // e.g. "dense/kernel"
	Shape []int
	Value []float32
	Grad  []float32
}

// NewVariable allocates a zero variable of the given shape.
func NewVariable(name string, shape ...int) *Variable {
	n := Size(shape)
	return &Variable{Name: name, Shape: append([]int(nil), shape...), Value: make([]float32, n), Grad: make([]float32, n)}
}

// Size is the number of elements of a shape.
func Size(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}
