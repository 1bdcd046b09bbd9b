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
		vars := randVars(rng, sizes)
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

// TestSplitFollowsThePool: an update of a few minSpread weights stays on
// the caller while nothing else ran on the pool, and is split once the
// layers have run there since the last update (their gradients were made
// on several cores); either way the weights are the serial ones, bit for
// bit.
func TestSplitFollowsThePool(t *testing.T) {
	sizes := []int{2*minSpread + 5, 3, minSpread + 9}
	run := func(threads int, layers bool) ([]*tensor.Variable, []uint64) {
		rng := rand.New(rand.NewPCG(3, 4))
		vars := randVars(rng, sizes)
		o := NewAdam(0.001)
		pool := parallel.New(threads)
		defer pool.Close()
		o.SetPool(pool)
		o.Build(vars)
		var split []uint64 // jobs each update ran on the pool
		for step := 0; step < 3; step++ {
			for _, v := range vars {
				for j := range v.Grad {
					v.Grad[j] = float32(rng.NormFloat64())
				}
			}
			if layers {
				pool.Run(2, func(int) {}) // a layer's job
			}
			before := pool.Jobs()
			o.Apply()
			split = append(split, pool.Jobs()-before)
		}
		return vars, split
	}
	want, _ := run(1, false)
	for _, layers := range []bool{false, true} {
		got, split := run(2, layers)
		wantSplit := uint64(0)
		if layers {
			wantSplit = 1
		}
		for step, s := range split {
			if s != wantSplit {
				t.Errorf("layers on the pool %v: update %d ran %d jobs on the pool, want %d", layers, step, s, wantSplit)
			}
		}
		for i := range want {
			for j, w := range want[i].Value {
				if math.Float32bits(w) != math.Float32bits(got[i].Value[j]) {
					t.Fatalf("layers on the pool %v: variable %d weight %d = %v, serial %v", layers, i, j, got[i].Value[j], w)
				}
			}
		}
	}
}

// randVars returns variables a, b, … of the given sizes, with normal
// random values.
func randVars(rng *rand.Rand, sizes []int) []*tensor.Variable {
	var vars []*tensor.Variable
	for i, n := range sizes {
		v := tensor.NewVariable(string(rune('a'+i)), n)
		for j := range v.Value {
			v.Value[j] = float32(rng.NormFloat64())
		}
		vars = append(vars, v)
	}
	return vars
}
