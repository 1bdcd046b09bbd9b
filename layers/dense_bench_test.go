package layers

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/kiln-ml/kiln/internal/parallel"
)

// BenchmarkDenseConvHead times a training step (ForwardLogits and
// BackwardLogits, with the input gradient) of the cnn workload's Dense: 10
// units on 13×13×32 pooled relu activations (about half of them zero),
// batch 128, on 1 and 2 threads.
func BenchmarkDenseConvHead(b *testing.B) {
	const n, in, units = 128, 13 * 13 * 32, 10
	rng := rand.New(rand.NewPCG(3, 4))
	x := make([]float32, n*in)
	for i := range x {
		if rng.IntN(2) == 0 {
			x[i] = rng.Float32()
		}
	}
	dz := make([]float32, n*units)
	for i := range dz {
		dz[i] = rng.Float32() - 0.5
	}
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
			d := MustNewDense(units, WithActivation("softmax"))
			if _, err := d.Build([]int{in}, rand.New(rand.NewPCG(1, 1))); err != nil {
				b.Fatal(err)
			}
			pool := parallel.New(threads)
			defer pool.Close()
			d.SetPool(pool)
			d.Allocate(n, true)
			b.ResetTimer()
			for range b.N {
				d.ForwardLogits(x, n)
				d.BackwardLogits(dz, n)
			}
		})
	}
}
