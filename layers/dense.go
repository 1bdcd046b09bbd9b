package layers

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/kiln-ml/kiln/activations"
	"github.com/kiln-ml/kiln/tensor"
)

// Dense is Keras' Dense: y = activation(x·W + b), W of shape (in, units)
// initialised glorot_uniform, b zeros.
type Dense struct {
	base
	Units   int
	UseBias bool
	act     activations.Func

	Kernel, Bias *tensor.Variable

	x        []float32 // input of the last Forward (not owned)
	z, y, dx []float32
	dz       []float32
	needDX   bool
}

// DenseOption configures a Dense layer.
type DenseOption func(*Dense) error

// WithActivation sets the activation by Keras name ("relu", "softmax", ...).
func WithActivation(name string) DenseOption {
	return func(d *Dense) error {
		f, err := activations.Get(name)
		if err != nil {
			return err
		}
		d.act = f
		return nil
	}
}

// WithoutBias drops the bias (Keras' use_bias=False).
func WithoutBias() DenseOption {
	return func(d *Dense) error { d.UseBias = false; return nil }
}

// NewDense returns a Dense layer with units outputs. It panics on an invalid
// option; use NewDenseE to get the error instead.
func NewDense(units int, opts ...DenseOption) *Dense {
	d, err := NewDenseE(units, opts...)
	if err != nil {
		panic(err)
	}
	return d
}

// NewDenseE is NewDense returning option errors instead of panicking.
func NewDenseE(units int, opts ...DenseOption) (*Dense, error) {
	if units <= 0 {
		return nil, fmt.Errorf("Dense: units must be a positive integer, got %d", units)
	}
	d := &Dense{Units: units, UseBias: true}
	d.act, _ = activations.Get("linear")
	for _, o := range opts {
		if err := o(d); err != nil {
			return nil, fmt.Errorf("Dense: %w", err)
		}
	}
	return d, nil
}

// ClassName returns "Dense".
func (*Dense) ClassName() string { return "Dense" }

// ActivationName returns the activation's name.
func (d *Dense) ActivationName() string { return d.act.Name }

// Build creates the kernel (glorot_uniform) and bias (zeros). Like Keras,
// Dense acts on the last axis; kiln supports rank-1 inputs (add Flatten first).
func (d *Dense) Build(in []int, rng *rand.Rand) ([]int, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("Dense %q: input shape %s has rank %d; kiln's Dense takes flat inputs, add a Flatten layer before it",
			d.name, ShapeTuple(in), len(in)+1)
	}
	d.setShapes(in, []int{d.Units})
	d.Kernel = tensor.NewVariable(d.name+"/kernel", in[0], d.Units)
	limit := math.Sqrt(6 / float64(in[0]+d.Units))
	for i := range d.Kernel.Value {
		d.Kernel.Value[i] = float32((2*rng.Float64() - 1) * limit)
	}
	if d.UseBias {
		d.Bias = tensor.NewVariable(d.name+"/bias", d.Units)
	}
	return d.out, nil
}

// SetName renames the layer and its variables.
func (d *Dense) SetName(name string) {
	d.name = name
	if d.Kernel != nil {
		d.Kernel.Name = name + "/kernel"
	}
	if d.Bias != nil {
		d.Bias.Name = name + "/bias"
	}
}

// Variables returns the kernel and, with use_bias, the bias.
func (d *Dense) Variables() []*tensor.Variable {
	if d.Bias != nil {
		return []*tensor.Variable{d.Kernel, d.Bias}
	}
	return []*tensor.Variable{d.Kernel}
}

// Allocate sizes the training buffers.
func (d *Dense) Allocate(maxBatch int, needInputGrad bool) {
	d.z = make([]float32, maxBatch*d.Units)
	d.y = make([]float32, maxBatch*d.Units)
	d.dz = make([]float32, maxBatch*d.Units)
	d.needDX = needInputGrad
	if needInputGrad {
		d.dx = make([]float32, maxBatch*d.inWidth)
	}
}

// affine writes z = x·W + b for n rows. Zero inputs are skipped: raw images
// are mostly zeros, and skipping them changes no sum.
func (d *Dense) affine(z, x []float32, n int) {
	in, u := d.inWidth, d.Units
	w := d.Kernel.Value
	for r := 0; r < n; r++ {
		zr := z[r*u : (r+1)*u]
		if d.Bias != nil {
			copy(zr, d.Bias.Value)
		} else {
			clear(zr)
		}
		xr := x[r*in : (r+1)*in]
		for k, xv := range xr {
			if xv == 0 {
				continue
			}
			wk := w[k*u : (k+1)*u]
			for j := range zr {
				zr[j] += xv * wk[j]
			}
		}
	}
}

// Forward computes act(x·W + b).
func (d *Dense) Forward(x []float32, n int, training bool) []float32 {
	d.x = x
	d.affine(d.z, x, n)
	d.act.Forward(d.y, d.z, n, d.Units)
	return d.y[:n*d.Units]
}

// Logits returns x·W + b from the last Forward.
func (d *Dense) Logits() []float32 { return d.z }

// Backward applies the activation's derivative, then BackwardLogits.
func (d *Dense) Backward(dy []float32, n int) []float32 {
	d.act.Backward(d.dz, d.y, dy, n, d.Units)
	return d.BackwardLogits(d.dz, n)
}

// BackwardLogits computes dW = xᵀ·dz, db = Σ dz and dx = dz·Wᵀ.
func (d *Dense) BackwardLogits(dz []float32, n int) []float32 {
	in, u := d.inWidth, d.Units
	gw := d.Kernel.Grad
	clear(gw)
	for r := 0; r < n; r++ {
		dzr := dz[r*u : (r+1)*u]
		for k, xv := range d.x[r*in : (r+1)*in] {
			if xv == 0 {
				continue
			}
			gk := gw[k*u : (k+1)*u]
			for j, g := range dzr {
				gk[j] += xv * g
			}
		}
	}
	if d.Bias != nil {
		gb := d.Bias.Grad
		clear(gb)
		for r := 0; r < n; r++ {
			for j, g := range dz[r*u : (r+1)*u] {
				gb[j] += g
			}
		}
	}
	if !d.needDX {
		return nil
	}
	w := d.Kernel.Value
	for r := 0; r < n; r++ {
		dzr := dz[r*u : (r+1)*u]
		dxr := d.dx[r*in : (r+1)*in]
		for k := range dxr {
			wk := w[k*u : (k+1)*u]
			var s float32
			for j, g := range dzr {
				s += g * wk[j]
			}
			dxr[k] = s
		}
	}
	return d.dx[:n*in]
}

// Infer writes act(x·W + b) into dst.
func (d *Dense) Infer(dst, x []float32, n int) {
	d.affine(dst, x, n)
	d.act.Forward(dst, dst, n, d.Units)
}

// InferLogits writes x·W + b into dst.
func (d *Dense) InferLogits(dst, x []float32, n int) { d.affine(dst, x, n) }

// Config returns units, activation and use_bias.
func (d *Dense) Config() map[string]any {
	return map[string]any{"name": d.name, "units": d.Units, "activation": d.act.Name, "use_bias": d.UseBias,
		"kernel_initializer": "glorot_uniform", "bias_initializer": "zeros"}
}
