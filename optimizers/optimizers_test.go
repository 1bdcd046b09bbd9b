package optimizers

import (
	"math"
	"strings"
	"testing"

	"github.com/kiln-ml/kiln/tensor"
)

func TestKerasDefaults(t *testing.T) {
	cases := map[string]float32{"sgd": 0.01, "SGD": 0.01, "rmsprop": 0.001, "adam": 0.001, "adagrad": 0.001}
	for name, lr := range cases {
		o, err := Get(name, nil)
		if err != nil || o.LearningRate() != lr {
			t.Errorf("%s: lr %v err %v, want Keras' default %v", name, o.LearningRate(), err, lr)
		}
	}
	r, _ := Get("rmsprop", nil)
	if c := r.Config(); c["rho"] != float64(float32(0.9)) || c["epsilon"] != float64(float32(1e-7)) {
		t.Errorf("rmsprop defaults %v", c)
	}
}

func TestGetErrors(t *testing.T) {
	cases := []struct {
		name string
		args map[string]any
		want string
	}{
		{"nadam", nil, "valid optimizers: adagrad, adam, rmsprop, sgd"},
		{"sgd", map[string]any{"learning_rate": 0.0}, "learning_rate must be a positive number"},
		{"sgd", map[string]any{"learning_rate": -1}, "positive"},
		{"sgd", map[string]any{"learning_rate": "fast"}, "must be a number"},
		{"sgd", map[string]any{"beta_1": 0.9}, "unknown argument \"beta_1\"; valid arguments: learning_rate, momentum, nesterov"},
		{"sgd", map[string]any{"nesterov": "yes"}, "true or false"},
		{"adam", map[string]any{"beta_1": 1.0}, "beta_1 and beta_2 must be in [0, 1)"},
	}
	for _, c := range cases {
		if _, err := Get(c.name, c.args); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Get(%s, %v) = %v, want %q", c.name, c.args, err, c.want)
		}
	}
}

// TestFirstSteps checks one or two updates of each optimizer against the
// Keras formulas worked by hand for a scalar weight.
func TestFirstSteps(t *testing.T) {
	step := func(o Optimizer, grads ...float32) float32 {
		v := tensor.NewVariable("w", 1)
		v.Value[0] = 1
		o.Build([]*tensor.Variable{v})
		for _, g := range grads {
			v.Grad[0] = g
			o.Apply()
		}
		return v.Value[0]
	}
	near := func(name string, got float32, want float64) {
		if math.Abs(float64(got)-want) > 1e-6 {
			t.Errorf("%s: w = %.8f, want %.8f", name, got, want)
		}
	}
	near("sgd", step(NewSGD(0.1), 2), 1-0.2)
	m := NewSGD(0.1)
	m.Momentum = 0.9
	near("momentum", step(m, 2, 2), 1-0.2+(0.9*-0.2-0.2)) // v1=-0.2, v2=-0.38
	n := NewSGD(0.1)
	n.Momentum, n.Nesterov = 0.9, true
	near("nesterov", step(n, 2), 1+0.9*-0.2-0.2)
	near("rmsprop", step(NewRMSprop(0.01), 2), 1-0.01*2/math.Sqrt(0.1*4+1e-7))
	near("adam", step(NewAdam(0.01), 2), 1-0.01*math.Sqrt(1-0.999)/(1-0.9)*(0.1*2)/(math.Sqrt(0.001*4)+1e-7))
	near("adagrad", step(NewAdagrad(0.1), 2), 1-0.1*2/math.Sqrt(0.1+4+1e-7))
}

// TestAdamSeveralSteps runs Adam for six steps with gradients that change
// sign and size, on a vector long enough for the vectorised kernel and its
// tail, and compares every step with Keras' update computed in float64:
// α_t = lr·√(1−β₂ᵗ)/(1−β₁ᵗ), m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g²,
// w ← w − α_t·m/(√v + ε). One step cannot tell a correct bias correction
// from one frozen at t = 1; from the second step on they differ by ×2 here.
//
// catches: Adam's bias correction wrong — frozen at t = 1 (TestFirstSteps
// passes), off by one step, dropped (α = lr), without the √(1−β₂ᵗ) factor,
// or with β₁ and β₂ swapped.
func TestAdamSeveralSteps(t *testing.T) {
	const n, steps = 19, 6
	const lr, b1, b2, eps = 0.01, 0.8, 0.99, 1e-7
	o := NewAdam(lr)
	o.Beta1, o.Beta2, o.Epsilon = b1, b2, eps
	v := tensor.NewVariable("w", n)
	w := make([]float64, n)
	m, s := make([]float64, n), make([]float64, n)
	for j := range v.Value {
		v.Value[j] = float32(j)/10 - 1
		w[j] = float64(v.Value[j])
	}
	o.Build([]*tensor.Variable{v})
	worst := 0.0
	for step := 1; step <= steps; step++ {
		for j := range v.Grad {
			// Different per element and per step, with sign changes and a zero.
			v.Grad[j] = float32(math.Sin(float64(3*j+7*step))) * float32(1+j%4)
			if j == 5 {
				v.Grad[j] = 0
			}
		}
		o.Apply()
		tt := float64(step)
		alpha := lr * math.Sqrt(1-math.Pow(b2, tt)) / (1 - math.Pow(b1, tt))
		for j := range w {
			g := float64(v.Grad[j])
			m[j] = b1*m[j] + (1-b1)*g
			s[j] = b2*s[j] + (1-b2)*g*g
			w[j] -= alpha * m[j] / (math.Sqrt(s[j]) + eps)
			// Each update moves w by about lr; float32 rounding leaves ~1e-7.
			d := math.Abs(float64(v.Value[j]) - w[j])
			if d > 1e-6 {
				t.Fatalf("step %d: w[%d] = %.8f, float64 reference %.8f (Δ %.2g)", step, j, v.Value[j], w[j], d)
			}
			worst = max(worst, d)
		}
	}
	t.Logf("largest difference from the float64 reference: %.2g", worst)
	if o.Iterations() != steps {
		t.Errorf("Iterations() = %d, want %d", o.Iterations(), steps)
	}
}
