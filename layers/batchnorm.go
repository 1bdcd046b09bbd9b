package layers

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/kiln-ml/kiln/internal/kernels"
	"github.com/kiln-ml/kiln/internal/value"
	"github.com/kiln-ml/kiln/schema"
	"github.com/kiln-ml/kiln/tensor"
)

// NonTrainable is a layer with weights that training updates without the
// optimizer, Keras' non_trainable_weights: BatchNormalization's moving
// statistics. They are saved and restored with the trainable weights.
type NonTrainable interface {
	Layer
	// NonTrainableVariables returns those weights (their Grad is unused).
	NonTrainableVariables() []*tensor.Variable
}

// BatchNormalization is Keras' BatchNormalization over the last axis (the
// channels of channels_last images, the units of a Dense output). In
// training it normalises each channel by the mean and the biased variance
// of the batch (over every row and pixel), then scales by gamma and shifts
// by beta, and moves the moving statistics towards the batch's:
//
//	moving = moving·momentum + batch·(1 − momentum)
//
// At inference it uses the moving statistics. This is Keras 3's layer; tf.keras
// 2.x's fused kernel (4-D inputs) updated the moving variance with the
// unbiased batch variance instead, a factor m/(m−1) for m values per channel.
type BatchNormalization struct {
	base
	threads
	// Momentum of the moving statistics (Keras' default 0.99).
	Momentum float32
	// Epsilon is added to the variance before its square root (default 0.001).
	Epsilon float32
	// Center adds the trainable offset beta; Scale multiplies by the
	// trainable gamma (both true by default).
	Center, Scale bool
	// Axis is Keras' axis: -1 (default) or the index of the last axis
	// counting the batch axis (3 for images (None, H, W, C)); kiln
	// normalises the last axis only.
	Axis int
	// Gamma and Beta are the trainable scale and offset (nil without Scale
	// or Center); MovingMean and MovingVariance the moving statistics
	// (zeros and ones at the start).
	Gamma, Beta, MovingMean, MovingVariance *tensor.Variable

	c                int       // channels (the last axis)
	mean, invStd     []float32 // of the last Forward, per channel
	scale, shift, dr []float32 // per-channel factors of a pass
	x                []float32 // the input of the last Forward
	y, dx            []float32
	sum, sum2        []float64 // a pass's two per-channel sums: Σx and Σx², or Σdy and Σdy·x̂
	// partials holds the sums' partials by groups of rows (groupSums),
	// sumGroups of them, over sumX (and sumDY) in the running pass.
	partials       []float64
	sumX, sumDY    []float32
	sumGroups      int
	needDX, inMode bool       // inMode: the last Forward used the moving statistics
	th             *bnThreads // per-thread state (see batchnorm_threads.go)
}

// NewBatchNormalization returns a BatchNormalization layer with Keras'
// defaults (momentum 0.99, epsilon 0.001, center and scale, axis -1)
// changed by WithMomentum, WithEpsilon, WithAxis, WithCenter and WithScale.
func NewBatchNormalization(opts ...Option) (*BatchNormalization, error) {
	s, err := collect("BatchNormalization", opts, "axis", "momentum", "epsilon", "center", "scale")
	if err != nil {
		return nil, err
	}
	b := &BatchNormalization{Axis: -1, Momentum: 0.99, Epsilon: 1e-3, Center: true, Scale: true}
	if s.has("momentum") {
		if m := s.momentum; !(m >= 0 && m <= 1) {
			return nil, fmt.Errorf("BatchNormalization: momentum must be in [0, 1], got %g", m)
		}
		b.Momentum = float32(s.momentum)
	}
	if s.has("epsilon") {
		if e := s.epsilon; !(e > 0) || math.IsInf(e, 0) {
			return nil, fmt.Errorf("BatchNormalization: epsilon must be positive, got %g", e)
		}
		b.Epsilon = float32(s.epsilon)
	}
	if s.has("axis") {
		b.Axis = s.axis
	}
	if s.has("center") {
		b.Center = s.center
	}
	if s.has("scale") {
		b.Scale = s.scale
	}
	return b, nil
}

// MustNewBatchNormalization is NewBatchNormalization for arguments known
// to be valid: it panics on an error.
func MustNewBatchNormalization(opts ...Option) *BatchNormalization {
	return must(NewBatchNormalization(opts...))
}

// ClassName returns "BatchNormalization".
func (*BatchNormalization) ClassName() string { return "BatchNormalization" }

// Build keeps the shape and creates the weights of the last axis.
func (b *BatchNormalization) Build(in []int, _ *rand.Rand) ([]int, error) {
	if len(in) == 0 {
		return nil, fmt.Errorf("BatchNormalization %q: the input has no axis to normalise", b.name)
	}
	if b.Axis != -1 && b.Axis != len(in) {
		return nil, fmt.Errorf("BatchNormalization %q: axis %d of input %s is not the last axis; kiln normalises the last axis (channels_last): use axis -1",
			b.name, b.Axis, ShapeTuple(in))
	}
	b.setShapes(in, in)
	b.c = in[len(in)-1]
	b.Gamma, b.Beta = nil, nil
	if b.Scale {
		b.Gamma = tensor.NewVariable("", b.c)
		fill(b.Gamma.Value, 1)
	}
	if b.Center {
		b.Beta = tensor.NewVariable("", b.c)
	}
	b.MovingMean = tensor.NewVariable("", b.c)
	b.MovingVariance = tensor.NewVariable("", b.c)
	fill(b.MovingVariance.Value, 1)
	b.SetName(b.name)
	return b.out, nil
}

func fill(v []float32, x float32) {
	for i := range v {
		v[i] = x
	}
}

// SetName renames the layer and its variables (Keras' names: gamma, beta,
// moving_mean, moving_variance).
func (b *BatchNormalization) SetName(name string) {
	b.name = name
	for _, v := range []struct {
		v    *tensor.Variable
		name string
	}{{b.Gamma, "gamma"}, {b.Beta, "beta"}, {b.MovingMean, "moving_mean"}, {b.MovingVariance, "moving_variance"}} {
		if v.v != nil {
			v.v.Name = name + "/" + v.name
		}
	}
}

// Variables returns gamma and beta (those that exist), the trainable weights.
func (b *BatchNormalization) Variables() []*tensor.Variable {
	var vs []*tensor.Variable
	for _, v := range []*tensor.Variable{b.Gamma, b.Beta} {
		if v != nil {
			vs = append(vs, v)
		}
	}
	return vs
}

// NonTrainableVariables returns the moving mean and variance.
func (b *BatchNormalization) NonTrainableVariables() []*tensor.Variable {
	return []*tensor.Variable{b.MovingMean, b.MovingVariance}
}

// Allocate sizes the training buffers.
func (b *BatchNormalization) Allocate(maxBatch int, needInputGrad bool) {
	b.y = make([]float32, maxBatch*b.outWidth)
	// The per-channel factors are read on every row: 64-byte aligned, they
	// let the AVX-512 kernels load whole vectors (see kernels.ChannelAffine).
	b.mean = kernels.AlignedFloats(b.c)
	b.invStd = kernels.AlignedFloats(b.c)
	b.scale = kernels.AlignedFloats(b.c)
	b.shift = kernels.AlignedFloats(b.c)
	b.dr = kernels.AlignedFloats(b.c)
	b.sum = make([]float64, b.c)
	b.sum2 = make([]float64, b.c)
	rows := maxBatch * b.outWidth / b.c
	b.partials = make([]float64, sumGroupsOf(rows)*2*b.c)
	b.needDX = needInputGrad
	if needInputGrad {
		b.dx = make([]float32, maxBatch*b.inWidth)
	}
	b.allocThreads()
}

// gammaAt is gamma of channel k (1 without Scale).
func (b *BatchNormalization) gammaAt(k int) float32 {
	if b.Gamma == nil {
		return 1
	}
	return b.Gamma.Value[k]
}

func (b *BatchNormalization) betaAt(k int) float32 {
	if b.Beta == nil {
		return 0
	}
	return b.Beta.Value[k]
}

// Forward normalises with the batch's statistics and updates the moving
// ones when training, else it normalises with the moving statistics.
func (b *BatchNormalization) Forward(x []float32, n int, training bool) []float32 {
	m := n * b.outWidth
	c := b.c
	b.inMode = !training
	if training {
		b.batchMoments(x[:m])
	} else {
		copy(b.mean, b.MovingMean.Value)
		for k := range c {
			b.invStd[k] = rsqrt(b.MovingVariance.Value[k] + b.Epsilon)
		}
	}
	a, off := b.scale[:c], b.shift[:c]
	b.affineFactors(a, off, b.mean[:c], b.invStd[:c])
	b.x = x[:m] // Backward recomputes x̂ from it: one pass less over memory
	if !b.affineThreads(b.y[:m], b.x, a, off) {
		kernels.ChannelAffine(b.y[:m], b.x, a, off)
	}
	return b.y[:m]
}

// batchMoments sets mean and invStd from the batch x, and moves the moving
// statistics towards them. The sums are float64, in one pass: Σx and Σx²
// of float32 values lose nothing to cancellation unless a channel's mean
// is ~10⁵ of its standard deviations.
func (b *BatchNormalization) batchMoments(x []float32) {
	c := b.c
	count := float64(len(x) / c)
	sum, sq := b.sum[:c], b.sum2[:c]
	b.groupSums(sum, sq, x, nil)
	mom := b.Momentum
	for k := range c {
		mean := sum[k] / count
		b.mean[k] = float32(mean)
		variance := float32(max(0, sq[k]/count-mean*mean))
		b.invStd[k] = rsqrt(variance + b.Epsilon)
		mm, mv := &b.MovingMean.Value[k], &b.MovingVariance.Value[k]
		*mm = *mm*mom + b.mean[k]*(1-mom)
		*mv = *mv*mom + variance*(1-mom)
	}
}

// InferenceFactors writes into a and off (one value per channel) the
// factor and offset with which inference computes y = x·a + off:
// a = γ/√(moving_variance + ε) and off = β − moving_mean·a, in float32 as
// Infer does (the ONNX exporter writes them as constants).
func (b *BatchNormalization) InferenceFactors(a, off []float32) {
	for k := range a {
		a[k] = rsqrt(b.MovingVariance.Value[k] + b.Epsilon)
	}
	b.affineFactors(a, off, b.MovingMean.Value, a)
}

// affineFactors sets, per channel, a = inv·γ and off = β − mean·a, Keras'
// order for y = x·(γ/σ) + (β − μ·γ/σ). inv may be a itself.
func (b *BatchNormalization) affineFactors(a, off, mean, inv []float32) {
	for k := range a {
		a[k] = inv[k] * b.gammaAt(k)
		off[k] = b.betaAt(k) - mean[k]*a[k]
	}
}

// rsqrt is 1/√v rounded to float32.
func rsqrt(v float32) float32 { return float32(1 / math.Sqrt(float64(v))) }

// Backward sets gamma's and beta's gradients and returns dLoss/dInput:
// through the batch statistics after a training Forward, through constant
// ones after an inference Forward.
func (b *BatchNormalization) Backward(dy []float32, n int) []float32 {
	m := n * b.outWidth
	c := b.c
	sum, sumXhat := b.sum[:c], b.sum2[:c]
	mean, inv := b.mean[:c], b.invStd[:c]
	// Σdy and Σdy·x̂ per channel, with x̂ = (x − μ)/σ as Forward had it.
	b.groupSums(sum, sumXhat, b.x[:m], dy[:m])
	if !b.gradFactors(m) {
		return nil
	}
	a, q, r := b.scale[:c], b.shift[:c], b.dr[:c]
	if !b.gradThreads(b.dx[:m], b.x[:m], dy[:m], a, q, r) {
		kernels.NormGrad(b.dx[:m], b.x[:m], dy[:m], a, q, r, mean, inv)
	}
	return b.dx[:m]
}

// gradFactors sets gamma's and beta's gradients from the backward pass's
// sums (sum, sum2) over m values, and, if the input gradient is needed,
// the factors a, q, r (scale, shift, dr) of dx = a·dy + q − r·x̂; it
// reports whether dx is needed.
func (b *BatchNormalization) gradFactors(m int) bool {
	c := b.c
	sum, sumXhat := b.sum[:c], b.sum2[:c]
	if b.Gamma != nil {
		for k := range c {
			b.Gamma.Grad[k] = float32(sumXhat[k])
		}
	}
	if b.Beta != nil {
		for k := range c {
			b.Beta.Grad[k] = float32(sum[k])
		}
	}
	if !b.needDX {
		return false
	}
	// dx = a·(dy − Σdy/M − x̂·Σ(dy·x̂)/M) with a = γ/σ and M values per
	// channel, as a·dy + q − r·x̂ (after an inference Forward the
	// statistics were constants: q = r = 0).
	a, q, r := b.scale[:c], b.shift[:c], b.dr[:c]
	count := float64(m / c)
	for k := range c {
		a[k] = b.gammaAt(k) * b.invStd[k]
		q[k], r[k] = 0, 0
		if !b.inMode {
			q[k] = -a[k] * float32(sum[k]/count)
			r[k] = a[k] * float32(sumXhat[k]/count)
		}
	}
	return true
}

// Infer normalises x with the moving statistics into dst.
func (b *BatchNormalization) Infer(dst, x []float32, n int) {
	m := n * b.outWidth
	c := b.c
	// Per-channel factors on the stack for up to 512 channels (Infer runs
	// concurrently, so it cannot keep them in the layer).
	var buf [1024]float32
	ab := buf[:]
	if 2*c > len(buf) {
		ab = make([]float32, 2*c)
	}
	a, off := ab[:c], ab[c:2*c]
	b.InferenceFactors(a, off)
	kernels.ChannelAffine(dst[:m], x[:m], a, off)
}

// Config returns Keras' arguments.
func (b *BatchNormalization) Config() map[string]any {
	return map[string]any{"name": b.name, "axis": b.Axis, "momentum": float64(b.Momentum), "epsilon": float64(b.Epsilon),
		"center": b.Center, "scale": b.Scale}
}

func init() {
	Register(Spec{
		Class: "BatchNormalization",
		Doc:   "normalises each channel (the last axis) by the batch's statistics in training, the moving ones in inference",
		Args: []schema.Arg{
			{Name: "axis", Kind: schema.Int, Default: -1, Doc: "an integer (-1, the last axis)"},
			{Name: "momentum", Kind: schema.Float, Default: 0.99, Doc: "a number in [0, 1]",
				Valid: func(v any) bool { f := v.(float64); return f >= 0 && f <= 1 }},
			{Name: "epsilon", Kind: schema.Float, Default: 1e-3, Doc: "a number in (0, ∞)",
				Valid: func(v any) bool { f := v.(float64); return f > 0 && !math.IsInf(f, 0) }},
			{Name: "center", Kind: schema.Bool, Default: true, Doc: "true or false"},
			{Name: "scale", Kind: schema.Bool, Default: true, Doc: "true or false"},
		},
		New: func(a schema.Values) (Layer, error) {
			return NewBatchNormalization(WithAxis(a.Int("axis")), WithMomentum(a.Float("momentum")),
				WithEpsilon(a.Float("epsilon")), WithCenter(a.Bool("center")), WithScale(a.Bool("scale")))
		},
		Keras:        kerasBatchNorm,
		Positional:   5,
		Example:      map[string]any{"momentum": 0.9, "epsilon": 1e-5, "center": false},
		ExampleInput: []int{4, 4, 3},
	})
}

// kerasBatchNorm reads what BatchNormalization's get_config has besides
// its Args: tf.keras' axis as a list of one, the initializers (which must
// be Keras' defaults), and the settings kiln refuses or drops.
func kerasBatchNorm(k *KerasConfig) error {
	axis := k.Get("axis")
	if l := value.List(axis); len(l) == 1 {
		axis = l[0]
	}
	if axis != nil {
		a, ok := value.Int(axis)
		if !ok {
			return k.Errorf("axis %s; kiln normalises one axis, the last (-1)", value.JSON(k.cfg["axis"]))
		}
		k.Args["axis"] = a
	}
	for _, init := range []struct {
		key, want string
		unused    bool // the weight does not exist, as Dense's bias without use_bias
	}{{"beta_initializer", "zeros", k.cfg["center"] == false}, {"gamma_initializer", "ones", k.cfg["scale"] == false},
		{"moving_mean_initializer", "zeros", false}, {"moving_variance_initializer", "ones", false}} {
		if init.unused {
			k.Drop(init.key)
		} else if err := k.Initializer(init.key, init.want); err != nil {
			return err
		}
	}
	for _, key := range []string{"beta_regularizer", "gamma_regularizer", "beta_constraint", "gamma_constraint", "virtual_batch_size"} {
		if v := k.Get(key); v != nil {
			return k.Errorf("%s is set (%s); kiln's BatchNormalization has no %s: remove it from the model, or train it in Keras", key, value.JSON(v), strings.ReplaceAll(key, "_", " "))
		}
	}
	if r, ok := k.Get("renorm").(bool); ok && r {
		return k.Errorf("renorm is true; kiln's BatchNormalization has no batch renormalization")
	}
	k.Drop("renorm_clipping", "renorm_momentum")
	k.Drop("fused")        // tf.keras' fused kernel; its moving variance differs by m/(m−1) (see BatchNormalization)
	k.Drop("synchronized") // across devices; kiln trains on one
	return nil
}
