package optimizers

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/kiln-ml/kiln/internal/parallel"
	"github.com/kiln-ml/kiln/tensor"
)

// Above minUpdate weights per thread, Apply splits the update over the
// pool, across variable boundaries; the weights and slots after a few
// steps must be the serial ones, bit for bit, for every thread count.
func TestSplitUpdateBitIdentical(t *testing.T) {
	makers := map[string]func() Optimizer{
		"sgd":          func() Optimizer { return NewSGD(0.01) },
		"sgd-nesterov": func() Optimizer { o := NewSGD(0.01); o.Momentum, o.Nesterov = 0.9, true; return o },
		"rmsprop":      func() Optimizer { o := NewRMSprop(0.001); o.Centered, o.Momentum = true, 0.5; return o },
		"adam":         func() Optimizer { return NewAdam(0.001) },
		"adagrad":      func() Optimizer { return NewAdagrad(0.01) },
	}
	// Uneven sizes, so that part boundaries fall inside variables.
	sizes := []int{3*minUpdate + 17, 5, minUpdate/3 + 1, 2*minUpdate - 7}
	run := func(make func() Optimizer, threads int) []*tensor.Variable {
		rng := rand.New(rand.NewPCG(7, 8))
		var vars []*tensor.Variable
		for i, n := range sizes {
			v := tensor.NewVariable(string(rune('a'+i)), n)
			for j := range v.Value {
				v.Value[j] = float32(rng.NormFloat64())
			}
			vars = append(vars, v)
		}
		o := make()
		pool := parallel.New(threads)
		defer pool.Close()
		o.(Threaded).SetPool(pool)
		o.Build(vars)
		for step := 0; step < 3; step++ {
			for _, v := range vars {
				for j := range v.Grad {
					v.Grad[j] = float32(rng.NormFloat64())
				}
			}
			o.Apply()
		}
		return vars
	}
	for name, make := range makers {
		want := run(make, 1)
		for _, threads := range []int{2, 3} {
			got := run(make, threads)
			for i := range want {
				for j, w := range want[i].Value {
					if math.Float32bits(w) != math.Float32bits(got[i].Value[j]) {
						t.Fatalf("%s, %d threads: variable %d weight %d = %v, serial %v", name, threads, i, j, got[i].Value[j], w)
					}
				}
			}
		}
	}
}
