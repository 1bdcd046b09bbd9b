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
