package layers

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/kiln-ml/kiln/activations"
	"github.com/kiln-ml/kiln/internal/parallel"
	"github.com/kiln-ml/kiln/internal/pcg"
	"github.com/kiln-ml/kiln/internal/value"
	"github.com/kiln-ml/kiln/schema"
	"github.com/kiln-ml/kiln/tensor"
)

// Flatten reshapes each sample to one row (row-major), like Keras' Flatten.
// The data is already row-major, so it moves nothing.
type Flatten struct{ base }

// NewFlatten returns a Flatten layer.
func NewFlatten() *Flatten { return &Flatten{} }

// ClassName returns "Flatten".
func (*Flatten) ClassName() string { return "Flatten" }

// Build returns (prod(in),).
func (f *Flatten) Build(in []int, _ *rand.Rand) ([]int, error) {
	f.setShapes(in, []int{tensor.Size(in)})
	return f.out, nil
}

// Variables returns nil.
func (*Flatten) Variables() []*tensor.Variable { return nil }

// Allocate does nothing: Flatten needs no buffers.
func (*Flatten) Allocate(int, bool) {}

// Forward returns x unchanged.
func (f *Flatten) Forward(x []float32, n int, _ bool) []float32 { return x[:n*f.outWidth] }

// Backward returns dy unchanged.
func (f *Flatten) Backward(dy []float32, n int) []float32 { return dy[:n*f.inWidth] }

// Infer copies x into dst.
func (f *Flatten) Infer(dst, x []float32, n int) { copy(dst[:n*f.outWidth], x[:n*f.outWidth]) }

// IsView returns true: Flatten moves no data.
func (*Flatten) IsView() bool { return true }

// Config returns the name.
func (f *Flatten) Config() map[string]any { return map[string]any{"name": f.name} }

// Activation applies an activation function, like Keras' Activation layer.
type Activation struct {
	base
	threads
	act      activations.Func
	x, y, dx []float32
	needDX   bool
	acts     rowJob // the activation over blocks of rows
}

// NewActivation returns an Activation layer; unknown names give an error.
func NewActivation(name string) (*Activation, error) {
	f, err := activations.Get(name)
	if err != nil {
		return nil, fmt.Errorf("Activation: %w", err)
	}
	return &Activation{act: f}, nil
}

// ClassName returns "Activation".
func (*Activation) ClassName() string { return "Activation" }

// ActivationName returns the activation's name.
func (a *Activation) ActivationName() string { return a.act.Name }

// Build keeps the shape. Softmax acts on the last axis, so only flat inputs are accepted.
func (a *Activation) Build(in []int, _ *rand.Rand) ([]int, error) {
	if a.act.Name == "softmax" && len(in) != 1 {
		return nil, fmt.Errorf("Activation %q: softmax over input shape %s is not supported; add a Flatten layer before it", a.name, ShapeTuple(in))
	}
	a.setShapes(in, in)
	return a.out, nil
}

// Variables returns nil.
func (*Activation) Variables() []*tensor.Variable { return nil }

// Allocate sizes the buffers.
func (a *Activation) Allocate(maxBatch int, needInputGrad bool) {
	a.y = make([]float32, maxBatch*a.outWidth)
	a.dx = make([]float32, maxBatch*a.outWidth)
	a.needDX = needInputGrad
	a.acts.prepare()
}

func (a *Activation) cols() int {
	if len(a.out) == 0 {
		return 1
	}
	return a.out[len(a.out)-1]
}

// Forward applies the activation.
func (a *Activation) Forward(x []float32, n int, _ bool) []float32 {
	a.x = x
	rows := n * a.outWidth / a.cols()
	a.acts.forward(a.tp, a.act, a.y, x, rows, a.cols())
	return a.y[:n*a.outWidth]
}

// Logits returns the input of the last Forward.
func (a *Activation) Logits() []float32 { return a.x }

// Backward applies the activation's derivative.
func (a *Activation) Backward(dy []float32, n int) []float32 {
	if !a.needDX {
		return nil
	}
	rows := n * a.outWidth / a.cols()
	a.acts.backward(a.tp, a.act, a.dx, a.y, dy, rows, a.cols())
	return a.dx[:n*a.outWidth]
}

// BackwardLogits returns dz: the logits are this layer's input.
func (a *Activation) BackwardLogits(dz []float32, n int) []float32 { return dz[:n*a.outWidth] }

// Infer applies the activation into dst.
func (a *Activation) Infer(dst, x []float32, n int) {
	rows := n * a.outWidth / a.cols()
	a.act.Forward(dst, x, rows, a.cols())
}

// InferLogits copies x into dst.
func (a *Activation) InferLogits(dst, x []float32, n int) { copy(dst[:n*a.outWidth], x[:n*a.outWidth]) }

// Config returns the activation.
func (a *Activation) Config() map[string]any {
	return map[string]any{"name": a.name, "activation": a.act.Name}
}

// Dropout zeroes a fraction Rate of its inputs during training and scales the
// rest by 1/(1−Rate) (inverted dropout, as Keras); at inference it is the identity.
//
// Each element takes one draw of the layer's random stream (a rand.PCG),
// in order; on several threads each part of the batch jumps the stream
// to its first element (internal/pcg), so the mask is the same for every
// thread count, and the draws are made four chains side by side
// (pcg.Fill), which keeps the multiplier busy instead of waiting on one
// chain's products.
type Dropout struct {
	base
	threads
	Rate   float32
	pcg    *rand.PCG // the stream's state between steps (RandomState)
	mask   []float32
	y, dx  []float32
	needDX bool
	// The running job: elements m of x (Forward) or dy (Backward) in
	// parts parts, the stream at element 0 in st.
	job struct {
		x, dy    []float32
		st       pcg.State
		m, parts int
		thr      uint64
		kb       uint32
	}
	fwdFn, bwdFn func(part int)
	stbuf        [20]byte // the state's encoding (rand.PCG.AppendBinary)
}

// NewDropout returns a Dropout layer; rate must be in [0, 1).
func NewDropout(rate float64) (*Dropout, error) {
	if rate < 0 || rate >= 1 {
		return nil, fmt.Errorf("Dropout: rate must be in [0, 1), got %g", rate)
	}
	return &Dropout{Rate: float32(rate)}, nil
}

// IsInferenceIdentity returns true: at inference Dropout passes its input on.
func (*Dropout) IsInferenceIdentity() bool { return true }

// ClassName returns "Dropout".
func (*Dropout) ClassName() string { return "Dropout" }

// Build keeps the shape and takes its own random stream from rng.
func (d *Dropout) Build(in []int, rng *rand.Rand) ([]int, error) {
	d.setShapes(in, in)
	d.pcg = rand.NewPCG(rng.Uint64(), rng.Uint64())
	return d.out, nil
}

// Variables returns nil.
func (*Dropout) Variables() []*tensor.Variable { return nil }

// Allocate sizes the buffers.
func (d *Dropout) Allocate(maxBatch int, needInputGrad bool) {
	d.mask = make([]float32, maxBatch*d.outWidth)
	d.y = make([]float32, maxBatch*d.outWidth)
	d.dx = make([]float32, maxBatch*d.outWidth)
	d.needDX = needInputGrad
	d.fwdFn, d.bwdFn = d.dropPart, d.maskPart
}

// state returns the stream's state, read from its encoding (which
// allocates nothing here).
func (d *Dropout) state() pcg.State {
	b, _ := d.pcg.AppendBinary(d.stbuf[:0])
	return pcg.State{Hi: binary.BigEndian.Uint64(b[4:]), Lo: binary.BigEndian.Uint64(b[12:])}
}

// Forward drops inputs when training.
func (d *Dropout) Forward(x []float32, n int, training bool) []float32 {
	m := n * d.outWidth
	if !training || d.Rate == 0 {
		for i := range d.mask[:m] {
			d.mask[i] = 1
		}
		copy(d.y, x[:m])
		return d.y[:m]
	}
	j := &d.job
	j.x, j.m, j.st = x[:m], m, d.state()
	// rng.Float32() < Rate, bit for bit: Float32 is u/2²⁴ for the 24 low
	// bits u of the high half of the source's next Uint64, and u/2²⁴ < Rate
	// exactly when u < ⌈Rate·2²⁴⌉ (both sides exact in float64).
	j.thr = uint64(math.Ceil(float64(d.Rate) * (1 << 24)))
	j.kb = math.Float32bits(1 / (1 - d.Rate))
	if j.parts = d.tp.Parts(m, minElems); j.parts > 1 {
		d.tp.Run(j.parts, d.fwdFn)
	} else {
		d.drop(0, m)
	}
	st := j.st
	st.Advance(uint64(m))
	d.pcg.Seed(st.Hi, st.Lo)
	j.x = nil
	return d.y[:m]
}

func (d *Dropout) dropPart(part int) {
	d.drop(parallel.Range(d.job.m, d.job.parts, part))
}

// drop sets the mask and the outputs of elements a … b−1, from the stream
// jumped to element a, its draws made dropChunk at a time (pcg.Fill).
func (d *Dropout) drop(a, b int) {
	j := &d.job
	thr, kb := j.thr, j.kb
	st := j.st
	st.Advance(uint64(a))
	var buf [dropChunk]uint64
	for c := a; c < b; c += dropChunk {
		e := min(b, c+dropChunk)
		u := buf[:e-c]
		st.Fill(u)
		mask, y, x := d.mask[c:e], d.y[c:e], j.x[c:e]
		for i, r := range u {
			r = (r >> 32) & (1<<24 - 1)
			drop := uint32(int64(r-thr) >> 63) // all ones when r < thr, branch-free
			v := math.Float32frombits(kb &^ drop)
			mask[i] = v
			y[i] = x[i] * v
		}
	}
}

// dropChunk is how many draws Dropout makes at a time (4 KB of them).
const dropChunk = 512

// Backward masks the gradient like the forward pass.
func (d *Dropout) Backward(dy []float32, n int) []float32 {
	if !d.needDX {
		return nil
	}
	m := n * d.outWidth
	j := &d.job
	j.dy, j.m = dy[:m], m
	if j.parts = d.tp.Parts(m, minElems); j.parts > 1 {
		d.tp.Run(j.parts, d.bwdFn)
	} else {
		d.maskRange(0, m)
	}
	j.dy = nil
	return d.dx[:m]
}

func (d *Dropout) maskPart(part int) {
	d.maskRange(parallel.Range(d.job.m, d.job.parts, part))
}

// maskRange sets dx = dy·mask for elements a … b−1.
func (d *Dropout) maskRange(a, b int) {
	dx, dy, mask := d.dx[a:b], d.job.dy[a:b], d.mask[a:b]
	for i := range dx {
		dx[i] = dy[i] * mask[i]
	}
}

// Infer copies x (dropout is off at inference).
func (d *Dropout) Infer(dst, x []float32, n int) { copy(dst[:n*d.outWidth], x[:n*d.outWidth]) }

// Config returns the rate.
func (d *Dropout) Config() map[string]any {
	return map[string]any{"name": d.name, "rate": float64(d.Rate)}
}

func init() {
	Register(Spec{
		Class:        "Flatten",
		Doc:          "flattens each sample to one axis (row-major, so it moves no data)",
		New:          func(schema.Values) (Layer, error) { return NewFlatten(), nil },
		Keras:        func(k *KerasConfig) error { return k.ChannelsLast() },
		ExampleInput: []int{4, 4, 3},
	})
	Register(Spec{
		Class:        "Activation",
		Doc:          "applies an activation function",
		Args:         []schema.Arg{activationArg(nil, true)},
		Positional:   1,
		New:          func(a schema.Values) (Layer, error) { return NewActivation(a.String("activation")) },
		Example:      map[string]any{"activation": "tanh"},
		ExampleInput: []int{6},
	})
	Register(Spec{
		Class: "Dropout",
		Doc:   "sets a random fraction rate of the inputs to 0 in training, scaling the rest by 1/(1-rate)",
		Args: []schema.Arg{{Name: "rate", Kind: schema.Float, Required: true, Doc: "a number in [0, 1)",
			Valid: func(v any) bool { f := v.(float64); return f >= 0 && f < 1 }}},
		New: func(a schema.Values) (Layer, error) { return NewDropout(a.Float("rate")) },
		Keras: func(k *KerasConfig) error {
			if v := k.Get("noise_shape"); v != nil {
				return k.Errorf("noise_shape %s; kiln drops units independently (noise_shape null)", value.JSON(v))
			}
			k.Drop("seed") // kiln seeds dropout from the experiment's seed
			return nil
		},
		Positional:   1,
		Aliases:      map[string]string{"p": "rate"},
		Example:      map[string]any{"rate": 0.25},
		ExampleInput: []int{6},
	})
}

// RandomState returns the state of Dropout's random stream (see
// RandomLayer).
func (d *Dropout) RandomState() ([]byte, error) {
	if d.pcg == nil {
		return nil, fmt.Errorf("Dropout %s: not built", d.Name())
	}
	return d.pcg.MarshalBinary()
}

// SetRandomState restores a state returned by RandomState.
func (d *Dropout) SetRandomState(b []byte) error {
	if d.pcg == nil {
		return fmt.Errorf("Dropout %s: not built", d.Name())
	}
	if err := d.pcg.UnmarshalBinary(b); err != nil {
		return fmt.Errorf("Dropout %s: random state: %w", d.Name(), err)
	}
	return nil
}

// RandomLayer is a layer that draws random numbers while training (Dropout).
// Its stream's state can be saved and restored, so that a resumed training
// run draws what an uninterrupted one would.
type RandomLayer interface {
	Layer
	// RandomState returns the stream's state.
	RandomState() ([]byte, error)
	// SetRandomState restores a state returned by RandomState.
	SetRandomState(b []byte) error
}
