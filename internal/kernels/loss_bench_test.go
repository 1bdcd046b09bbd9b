package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// BenchmarkSoftmaxXent times the batched softmax cross-entropy's kernels
// on a seed-workload batch (32 rows of 10 logits) at every level.
func BenchmarkSoftmaxXent(b *testing.B) {
	const n, c = 32, 10
	rng := rand.New(rand.NewPCG(1, 2))
	z, t, g := make([]float32, n*c), make([]float32, n*c), make([]float32, n*c)
	for i := range z {
		z[i] = float32(rng.NormFloat64() * 4)
	}
	for r := 0; r < n; r++ {
		t[r*c+rng.IntN(c)] = 1
	}
	e, m := make([]float64, n*c), make([]float32, n)
	s, lg, loss := make([]float64, n), make([]float64, n), make([]float64, n)
	for _, l := range Supported() {
		prev, _ := Use(l)
		b.Run("shift/"+l.String(), func(b *testing.B) {
			for b.Loop() {
				SoftmaxShift(e, m, z, c)
			}
		})
		SoftmaxShift(e, m, z, c)
		b.Run("exp/"+l.String(), func(b *testing.B) {
			for b.Loop() {
				Exp(e, e)
				SoftmaxShift(e, m, z, c)
			}
		})
		Exp(e, e)
		for r := range s {
			for _, v := range e[r*c : (r+1)*c] {
				s[r] += v
			}
			lg[r] = math.Log(s[r])
		}
		b.Run("log/"+l.String(), func(b *testing.B) {
			for b.Loop() {
				Log(lg, s)
			}
		})
		b.Run("xent/"+l.String(), func(b *testing.B) {
			for b.Loop() {
				XentRows(g, loss, e, z, t, m, lg, s, c, 1./n)
			}
		})
		b.Run("argmax/"+l.String(), func(b *testing.B) {
			idx := make([]int32, n)
			for b.Loop() {
				ArgmaxRows(idx, z, c)
			}
		})
		Use(prev)
	}
}
