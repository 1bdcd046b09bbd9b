// Package layers implements Keras' layers for kiln's models: Input,
// Flatten, Reshape, Dense, Activation, Dropout, BatchNormalization, Conv2D,
// MaxPooling2D, AveragePooling2D and GlobalAveragePooling2D (images are
// channels_last: height, width, channels), and for Functional models the
// merge layers Add, Subtract, Multiply, Average and Concatenate (Merge),
// symbolic tensors (Node: NewInputNode, Apply, ApplyMerge) and Graph, a
// directed acyclic graph of layers that runs as one Layer.
//
// A layer works on row-major float32 batches. Training uses Forward and
// Backward, which keep their buffers inside the layer (allocated once, for the
// largest batch, by Allocate) so a training step allocates nothing. Inference
// uses Infer, which keeps no state, so several goroutines can evaluate one
// model at once, each with its own scratch memory.
//
// Each layer type registers a Spec (Register) next to its implementation:
// its Keras class name, its arguments (a schema.Arg each), a constructor
// and a reader for Keras' get_config. The experiment file, the Keras JSON
// importer and the README read layers through Lookup, so adding a layer is
// one file and its tests; globalpool.go is the smallest example. Optional
// capabilities are small interfaces that fast paths test for: Activated,
// View, BytesReader, NonTrainable, LogitsForwarder.
package layers

import (
	"fmt"
	"math/rand/v2"

	"github.com/kiln-ml/kiln/tensor"
)

// Layer is one Keras layer in a Sequential model.
//
// Buffers have one ownership rule: the slice Forward or Backward returns
// belongs to the layer (a View may return its input itself) and is valid
// until the layer's next Forward or Backward; the caller reads it and never
// writes into it. Inputs (x, dy) are only read. Infer writes into dst,
// which the caller owns.
type Layer interface {
	// ClassName is Keras' class name, e.g. "Dense".
	ClassName() string
	// Name is the layer's name, e.g. "dense_1"; the model assigns it when empty.
	Name() string
	// SetName renames the layer.
	SetName(name string)
	// Build fixes the input shape (without the batch axis), creates the
	// weights (drawing initial values from rng) and returns the output shape.
	Build(in []int, rng *rand.Rand) (out []int, err error)
	// OutputShape is the shape Build returned.
	OutputShape() []int
	// Variables are the trainable weights (nil for layers without weights).
	Variables() []*tensor.Variable
	// Allocate sizes the training buffers for batches of up to maxBatch
	// rows; needInputGrad is false for the first layer, whose input gradient
	// nobody uses.
	Allocate(maxBatch int, needInputGrad bool)
	// Forward computes the output of n rows for training (or for inference
	// when training is false) and returns the layer's own output buffer.
	Forward(x []float32, n int, training bool) []float32
	// Backward takes dLoss/dOutput for the n rows of the last Forward, sets
	// the variables' Grad, and returns dLoss/dInput (nil if not needed).
	Backward(dy []float32, n int) []float32
	// Infer writes the inference output of n rows of x into dst; it keeps
	// no state and may run concurrently with other Infer calls.
	Infer(dst, x []float32, n int)
	// Config returns Keras' get_config() keys for saving the model.
	Config() map[string]any
}

// Activated is a layer whose output is an activation of a pre-activation
// value (the logits): Dense and Conv2D with an activation, and Activation. Keras' TF
// backend hands those logits to a following cross-entropy; kiln does the same.
type Activated interface {
	Layer
	// ActivationName is the activation's Keras name ("linear" if none).
	ActivationName() string
	// Logits returns the pre-activation values of the last Forward.
	Logits() []float32
	// BackwardLogits is Backward given dLoss/dLogits instead of dLoss/dOutput.
	BackwardLogits(dz []float32, n int) []float32
	// InferLogits is Infer without the activation.
	InferLogits(dst, x []float32, n int)
}

// View is a layer whose output holds its input's values in the same order:
// only the shape changes (Flatten, Reshape). Training and inference look
// through views instead of copying.
type View interface {
	Layer
	// IsView reports whether the layer is a view of its input.
	IsView() bool
}

// BytesReader is a layer that can read uint8 samples directly, converting
// them through a lookup table as it computes, so that data kept as bytes
// (MNIST) is never copied to float32. Fit and Evaluate use it when it is
// the first layer with weights and only views come before it.
type BytesReader interface {
	Activated
	// CanForwardBytes reports whether ForwardBytes may replace Forward
	// (after Allocate, which decides it).
	CanForwardBytes() bool
	// ForwardBytes is the training Forward (ForwardLogits if logitsOnly)
	// for the samples rows of src, each converted by lut.
	ForwardBytes(src []uint8, rows []int, lut *[256]float32, logitsOnly bool) []float32
	// InferBytes is Infer (InferLogits if logitsOnly) for n consecutive
	// samples of src.
	InferBytes(dst []float32, src []uint8, n int, lut *[256]float32, logitsOnly bool)
}

// NextPrefetcher is a BytesReader that can start loading the bytes of the
// next training step's samples itself, as Dense split over threads by
// inputs does (each thread its own inputs, into its own core's cache).
type NextPrefetcher interface {
	BytesReader
	// PrefetchNext gives the samples the ForwardBytes after the next one
	// will read, before the next one; it reports whether the layer will
	// load them (else the caller should).
	PrefetchNext(rows []int) bool
}

// Tunable is a layer with two ways of running its training steps on
// several threads, which compute the same numbers; which is faster
// depends on the machine's state, so the trainer times both as it trains
// and keeps the faster. Dense split by inputs is one (see dense_split.go).
type Tunable interface {
	Layer
	// Tunable reports whether the layer has the choice (after Allocate).
	Tunable() bool
	// SetSplit chooses: its steps split over the threads, or not.
	SetSplit(on bool)
}

// InferenceIdentity is a layer that is the identity at inference
// (Dropout): what it outputs then is its input.
type InferenceIdentity interface {
	Layer
	// IsInferenceIdentity reports whether Infer copies its input.
	IsInferenceIdentity() bool
}

// PassesValues reports whether l's inference output holds its input's
// values unchanged (a View or an InferenceIdentity), so that the activation
// before it is the model's output activation.
func PassesValues(l Layer) bool {
	if IsView(l) {
		return true
	}
	id, ok := l.(InferenceIdentity)
	return ok && id.IsInferenceIdentity()
}

// IsView reports whether l is a View of its input.
func IsView(l Layer) bool {
	v, ok := l.(View)
	return ok && v.IsView()
}

// base holds what every layer shares: its name and shapes.
type base struct {
	name     string
	in, out  []int
	inWidth  int
	outWidth int
}

func (b *base) Name() string        { return b.name }
func (b *base) SetName(name string) { b.name = name }
func (b *base) OutputShape() []int  { return b.out }

func (b *base) setShapes(in, out []int) {
	b.in = append([]int(nil), in...)
	b.out = append([]int(nil), out...)
	b.inWidth = tensor.Size(in)
	b.outWidth = tensor.Size(out)
}

// Input declares the shape of one sample, like keras.Input(shape=...). It is
// not a layer of the model; Sequential reads its shape.
type Input struct {
	Shape []int
}

// NewInput returns an Input with the given per-sample shape.
func NewInput(shape ...int) *Input { return &Input{Shape: append([]int(nil), shape...)} }

// Validate checks that every dimension is positive.
func (in *Input) Validate() error {
	if len(in.Shape) == 0 {
		return fmt.Errorf("Input: shape is empty; give the shape of one sample, e.g. shape: [28, 28]")
	}
	for _, d := range in.Shape {
		if d <= 0 {
			return fmt.Errorf("Input: shape %v has a dimension ≤ 0; every dimension must be positive", in.Shape)
		}
	}
	return nil
}

// ShapeTuple formats a layer output shape as Keras prints it: (None, 784).
func ShapeTuple(shape []int) string {
	s := "(None"
	for _, d := range shape {
		s += fmt.Sprintf(", %d", d)
	}
	return s + ")"
}
