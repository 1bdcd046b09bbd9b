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
	// SplitRows is set by a layer whose training steps on several threads
	// give each thread the same block of the variable's rows (its first
	// axis; parallel.RowBlock) for the whole step. An optimizer splitting
	// its update over those threads gives each the same rows, so that
	// every core updates the weights it reads and writes.
	SplitRows bool
}

// SpareFloats is the spare capacity NewVariable gives a Value: a vector of
// AVX-512's 16 floats.
const SpareFloats = 16

// NewVariable allocates a zero variable of the given shape.
func NewVariable(name string, shape ...int) *Variable {
	n := Size(shape)
	// Value's spare capacity lets vector kernels read a whole vector from
	// the start of its last row (AVX2's AccumRows2 on Dense's 10-wide rows)
	// instead of a masked load per element.
	return &Variable{Name: name, Shape: append([]int(nil), shape...), Value: make([]float32, n, n+SpareFloats), Grad: make([]float32, n)}
}

// Size is the number of elements of a shape.
func Size(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}
