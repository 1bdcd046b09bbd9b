// Package losses implements Keras' losses with Keras' exact semantics:
// reduction sum_over_batch_size, ε = 1e-7 clipping on the probability path,
// label smoothing, and the logits path that Keras' TF backend takes when a
// sigmoid or softmax output hands its cached logits to a cross-entropy.
//
// A loss computes the batch mean and, in the same pass, its gradient with
// respect to what it was given (logits or probabilities).
package losses

import (
	"fmt"
	"github.com/kiln-ml/kiln/activations"
	"math"
	"sort"
	"strings"

	"github.com/kiln-ml/kiln/internal/kernels"
)

// Epsilon is Keras' backend epsilon, used to clip probabilities.
const Epsilon = 1e-7

// Targets says what a loss expects as labels.
type Targets int

const (
	// DenseTargets are rows as wide as the output (one-hot, multi-label or regression).
	DenseTargets Targets = iota
	// SparseTargets are one integer class index per row.
	SparseTargets
)

// Loss is one of Keras' losses.
type Loss interface {
	// Name is the Keras name, e.g. "categorical_crossentropy".
	Name() string
	// FromLogits reports the user's from_logits argument.
	FromLogits() bool
	// IsCrossEntropy reports whether Keras' TF backend would compute this loss
	// from the logits cached by a sigmoid or softmax output.
	IsCrossEntropy() bool
	// Targets says how y is laid out.
	Targets() Targets
	// Compute returns the mean loss of n rows of c outputs. pred are logits if
	// logits is true, else the model's outputs (probabilities). y holds n×c
	// values (DenseTargets) or n class indices (SparseTargets). If grad is not
	// nil it receives dLoss/dpred (n×c), already divided by n.
	Compute(pred, y []float32, n, c int, logits bool, grad []float32) float32
	// Config returns Keras' get_config() keys that matter to kiln.
	Config() map[string]any
}

// Options are the arguments Keras' loss constructors take.
type Options struct {
	FromLogits     bool
	LabelSmoothing float64
}

var constructors = map[string]func(Options) Loss{
	"categorical_crossentropy":        func(o Options) Loss { return &CategoricalCrossentropy{o.FromLogits, float32(o.LabelSmoothing)} },
	"sparse_categorical_crossentropy": func(o Options) Loss { return &SparseCategoricalCrossentropy{o.FromLogits} },
	"binary_crossentropy":             func(o Options) Loss { return &BinaryCrossentropy{o.FromLogits, float32(o.LabelSmoothing)} },
	"mean_squared_error":              func(o Options) Loss { return MeanSquaredError{} },
}

var aliases = map[string]string{"mse": "mean_squared_error", "MeanSquaredError": "mean_squared_error",
	"CategoricalCrossentropy": "categorical_crossentropy", "SparseCategoricalCrossentropy": "sparse_categorical_crossentropy",
	"BinaryCrossentropy": "binary_crossentropy"}

// Names lists the loss names kiln knows, sorted.
func Names() []string {
	var n []string
	for k := range constructors {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// Get builds the loss called name (Keras' string or class name, or "mse").
func Get(name string, o Options) (Loss, error) {
	if a, ok := aliases[name]; ok {
		name = a
	}
	c, ok := constructors[name]
	if !ok {
		return nil, fmt.Errorf("unknown loss %q; valid losses: %s", name, strings.Join(Names(), ", "))
	}
	if o.LabelSmoothing < 0 || o.LabelSmoothing > 1 {
		return nil, fmt.Errorf("loss %s: label_smoothing must be in [0, 1], got %g", name, o.LabelSmoothing)
	}
	return c(o), nil
}

// logSumExp returns log Σ exp(z) computed stably, and writes softmax(z) to p.
func logSumExp(z []float32, p []float32) float64 {
	m := z[0]
	for _, v := range z[1:] {
		if v > m {
			m = v
		}
	}
	// kernels.ExpSum runs the loop below in one vectorised call when it can
	// (same math.Exp values, same order of the sum, same roundings).
	if s, ok := kernels.ExpSum(p, z, m); ok {
		return float64(m) + math.Log(s)
	}
	var s float64
	// The exponentials are taken a chunk at a time with kernels.Exp, which
	// returns math.Exp's exact values (vectorised); the sum stays sequential.
	var e [64]float64
	for lo := 0; lo < len(z); lo += len(e) {
		zc := z[lo:min(lo+len(e), len(z))]
		ec := e[:len(zc)]
		for j, v := range zc {
			ec[j] = float64(v - m)
		}
		kernels.Exp(ec, ec)
		for j, ej := range ec {
			if p != nil {
				p[lo+j] = float32(ej)
			}
			s += ej
		}
	}
	if p != nil {
		inv := 1 / s
		for j := range p {
			p[j] = float32(float64(p[j]) * inv)
		}
	}
	return float64(m) + math.Log(s)
}

func clip(p float32) float32 {
	if p < Epsilon {
		return Epsilon
	}
	if p > 1-Epsilon {
		return 1 - Epsilon
	}
	return p
}

// CategoricalCrossentropy is Keras' categorical_crossentropy.
type CategoricalCrossentropy struct {
	Logits         bool    // from_logits
	LabelSmoothing float32 // label_smoothing
}

// Name returns "categorical_crossentropy".
func (*CategoricalCrossentropy) Name() string { return "categorical_crossentropy" }

// FromLogits reports from_logits.
func (l *CategoricalCrossentropy) FromLogits() bool { return l.Logits }

// IsCrossEntropy is true.
func (*CategoricalCrossentropy) IsCrossEntropy() bool { return true }

// Targets is DenseTargets (one-hot rows).
func (*CategoricalCrossentropy) Targets() Targets { return DenseTargets }

// Config returns from_logits and label_smoothing.
func (l *CategoricalCrossentropy) Config() map[string]any {
	return map[string]any{"name": l.Name(), "from_logits": l.Logits, "label_smoothing": float64(l.LabelSmoothing)}
}

// Compute implements Loss. Logits: logsumexp(z) − Σ y·z per row (unbounded).
// Probabilities: renormalise rows, clip to [ε, 1−ε], −Σ y·log p.
func (l *CategoricalCrossentropy) Compute(pred, y []float32, n, c int, logits bool, grad []float32) float32 {
	if logits && l.LabelSmoothing == 0 && batchable(n, c) {
		return softmaxXent(pred, y, nil, n, c, grad)
	}
	var total float32
	inv := 1 / float32(n)
	ls := l.LabelSmoothing
	for r := 0; r < n; r++ {
		z := pred[r*c : (r+1)*c]
		t := y[r*c : (r+1)*c]
		var g []float32
		if grad != nil {
			g = grad[r*c : (r+1)*c]
		}
		var loss float64
		if logits && ls == 0 && g != nil {
			// The common case of the branch below, without its per-element
			// tests: the same operations in the same order.
			lse := logSumExp(z, g)
			ts := sum32(t, 0, c)
			t, g := t[:len(z)], g[:len(z)]
			for j, v := range z {
				tj := t[j]
				loss -= float64(tj) * (float64(v) - lse)
				g[j] = g[j]*ts - tj
			}
		} else if logits {
			lse := logSumExp(z, g)
			ts := sum32(t, ls, c)
			for j, v := range z {
				tj := t[j]
				if ls != 0 {
					tj = tj*(1-ls) + ls/float32(c)
				}
				loss -= float64(tj) * (float64(v) - lse)
				if g != nil {
					// g holds softmax(z); Σy may differ from 1, so scale p by it.
					g[j] = g[j]*ts - tj
				}
			}
		} else {
			var s float32
			for _, v := range z {
				s += v
			}
			var gp float32 // Σ_j g'_j p_j, for the renormalisation's gradient
			for j, v := range z {
				tj := t[j]
				if ls != 0 {
					tj = tj*(1-ls) + ls/float32(c)
				}
				pn := v / s
				pc := clip(pn)
				loss -= float64(tj) * math.Log(float64(pc))
				if g != nil {
					if pn > Epsilon && pn < 1-Epsilon {
						g[j] = -tj / pc
					} else {
						g[j] = 0
					}
					gp += g[j] * v
				}
			}
			if g != nil {
				for j := range g {
					g[j] = (g[j] - gp/s) / s
				}
			}
		}
		total += float32(loss)
		for j := range g {
			g[j] *= inv
		}
	}
	return total / float32(n)
}

// sum32 is Σ of the (smoothed) targets of one row.
func sum32(t []float32, ls float32, c int) float32 {
	var s float32
	for _, v := range t {
		if ls != 0 {
			v = v*(1-ls) + ls/float32(c)
		}
		s += v
	}
	return s
}

// SparseCategoricalCrossentropy is Keras' sparse_categorical_crossentropy.
type SparseCategoricalCrossentropy struct {
	Logits bool // from_logits
}

// Name returns "sparse_categorical_crossentropy".
func (*SparseCategoricalCrossentropy) Name() string { return "sparse_categorical_crossentropy" }

// FromLogits reports from_logits.
func (l *SparseCategoricalCrossentropy) FromLogits() bool { return l.Logits }

// IsCrossEntropy is true.
func (*SparseCategoricalCrossentropy) IsCrossEntropy() bool { return true }

// Targets is SparseTargets (class indices).
func (*SparseCategoricalCrossentropy) Targets() Targets { return SparseTargets }

// Config returns from_logits.
func (l *SparseCategoricalCrossentropy) Config() map[string]any {
	return map[string]any{"name": l.Name(), "from_logits": l.Logits}
}

// Compute implements Loss. Labels must be valid indices in [0, c); the
// caller validates them once per dataset, not per batch.
// Probabilities: clip p to [ε, 1−ε], then softmax cross-entropy on log p,
// which renormalises after clipping (Keras 2's TF backend).
func (l *SparseCategoricalCrossentropy) Compute(pred, y []float32, n, c int, logits bool, grad []float32) float32 {
	if logits && batchable(n, c) {
		return softmaxXent(pred, nil, y, n, c, grad)
	}
	var total float32
	inv := 1 / float32(n)
	for r := 0; r < n; r++ {
		z := pred[r*c : (r+1)*c]
		k := int(y[r])
		var g []float32
		if grad != nil {
			g = grad[r*c : (r+1)*c]
		}
		var loss float64
		if logits {
			lse := logSumExp(z, g)
			loss = lse - float64(z[k])
			if g != nil {
				g[k]--
			}
		} else {
			var s float64
			for _, v := range z {
				s += float64(clip(v))
			}
			loss = math.Log(s) - math.Log(float64(clip(z[k])))
			if g != nil {
				for j, v := range z {
					q := float32(float64(clip(v)) / s)
					if j == k {
						q--
					}
					if v > Epsilon && v < 1-Epsilon {
						g[j] = q / v
					} else {
						g[j] = 0
					}
				}
			}
		}
		total += float32(loss)
		for j := range g {
			g[j] *= inv
		}
	}
	return total / float32(n)
}

// BinaryCrossentropy is Keras' binary_crossentropy: the mean over the last
// axis of element-wise binary cross-entropies.
type BinaryCrossentropy struct {
	Logits         bool    // from_logits
	LabelSmoothing float32 // label_smoothing: y(1−ls) + 0.5·ls
}

// Name returns "binary_crossentropy".
func (*BinaryCrossentropy) Name() string { return "binary_crossentropy" }

// FromLogits reports from_logits.
func (l *BinaryCrossentropy) FromLogits() bool { return l.Logits }

// IsCrossEntropy is true.
func (*BinaryCrossentropy) IsCrossEntropy() bool { return true }

// Targets is DenseTargets.
func (*BinaryCrossentropy) Targets() Targets { return DenseTargets }

// Config returns from_logits and label_smoothing.
func (l *BinaryCrossentropy) Config() map[string]any {
	return map[string]any{"name": l.Name(), "from_logits": l.Logits, "label_smoothing": float64(l.LabelSmoothing)}
}

// smoothBinary is target t with binary label smoothing ls: t·(1−ls) +
// ls/2, as Keras' binary_crossentropy (t itself when ls is 0).
func smoothBinary(t, ls float32) float32 {
	if ls != 0 {
		return t*(1-ls) + 0.5*ls
	}
	return t
}

// Compute implements Loss. Logits: max(z,0) − z·y + log(1+e^−|z|).
// Probabilities (Keras 2): clip p to [ε, 1−ε], −[y·log(p+ε) + (1−y)·log(1−p+ε)].
func (l *BinaryCrossentropy) Compute(pred, y []float32, n, c int, logits bool, grad []float32) float32 {
	if logits && batchable(n, c) {
		return sigmoidXent(pred, y, n, c, l.LabelSmoothing, grad)
	}
	var total float32
	ls := l.LabelSmoothing
	scale := 1 / float32(n*c)
	for r := 0; r < n; r++ {
		var rowLoss float64
		for j := 0; j < c; j++ {
			i := r*c + j
			v, t := pred[i], smoothBinary(y[i], ls)
			if logits {
				z := float64(v)
				rowLoss += math.Max(z, 0) - z*float64(t) + math.Log1p(math.Exp(-math.Abs(z)))
				if grad != nil {
					grad[i] = (activations.Sigmoid32(v) - t) * scale
				}
			} else {
				// Keras 3 (every backend) and TF.js: log of the clipped
				// probability. tf.keras 2.x added ε inside the logs as
				// well (log(p+ε)), which makes a clipped wrong sample cost
				// 15.42 instead of 16.12; kiln follows the current Keras.
				p := clip(v)
				rowLoss -= float64(t)*math.Log(float64(p)) + float64(1-t)*math.Log(float64(1-p))
				if grad != nil {
					// The clip passes the gradient inside [ε, 1−ε], ends
					// included, as tf.clip_by_value and torch.clamp do.
					if v >= Epsilon && v <= 1-Epsilon {
						grad[i] = (-t/p + (1-t)/(1-p)) * scale
					} else {
						grad[i] = 0
					}
				}
			}
		}
		total += float32(rowLoss / float64(c))
	}
	return total / float32(n)
}

// MeanSquaredError is Keras' mean_squared_error: mean over the last axis of (ŷ−y)².
type MeanSquaredError struct{}

// Name returns "mean_squared_error".
func (MeanSquaredError) Name() string { return "mean_squared_error" }

// FromLogits is false: MSE has no logits form.
func (MeanSquaredError) FromLogits() bool { return false }

// IsCrossEntropy is false.
func (MeanSquaredError) IsCrossEntropy() bool { return false }

// Targets is DenseTargets.
func (MeanSquaredError) Targets() Targets { return DenseTargets }

// Config returns the name.
func (l MeanSquaredError) Config() map[string]any { return map[string]any{"name": l.Name()} }

// Compute implements Loss; logits is ignored.
func (MeanSquaredError) Compute(pred, y []float32, n, c int, logits bool, grad []float32) float32 {
	var total float32
	scale := 2 / float32(n*c)
	for r := 0; r < n; r++ {
		var s float32
		for j := 0; j < c; j++ {
			i := r*c + j
			d := pred[i] - y[i]
			s += d * d
			if grad != nil {
				grad[i] = d * scale
			}
		}
		total += s / float32(c)
	}
	return total / float32(n)
}
