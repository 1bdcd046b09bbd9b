package losses

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/kiln-ml/kiln/internal/kernels"
	"github.com/kiln-ml/kiln/internal/kernels/kerneltest"
)

// bitInputs makes n rows of c logits and targets of one of several kinds:
// ordinary, extreme (huge, infinite, NaN, ±0, underflowing exponentials),
// ties, and targets that are one-hot, soft, not summing to 1, or not finite.
func bitInputs(rng *rand.Rand, kind, n, c int) (z, y, ys []float32) {
	z = make([]float32, n*c)
	y = make([]float32, n*c)
	ys = make([]float32, n)
	special := []float32{0, float32(math.Copysign(0, -1)), 1e30, -1e30, math.MaxFloat32, -math.MaxFloat32,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 88.7, -103.9, 745, -745, 1e-40, -1e-45}
	for r := 0; r < n; r++ {
		zr, yr := z[r*c:(r+1)*c], y[r*c:(r+1)*c]
		ys[r] = float32(rng.IntN(c))
		base := float32(rng.NormFloat64() * 3)
		for j := range zr {
			switch kind {
			case 0: // ordinary
				zr[j] = float32(rng.NormFloat64() * 2)
			case 1: // wide spread: exponentials that underflow to subnormals and 0
				zr[j] = float32(rng.NormFloat64() * 300)
			case 2: // ties and near-ties
				zr[j] = base + float32(rng.IntN(3))*float32(rng.IntN(2))
			default: // extremes, sometimes
				if rng.IntN(4) == 0 {
					zr[j] = special[rng.IntN(len(special))]
				} else {
					zr[j] = float32(rng.NormFloat64() * 50)
				}
			}
		}
		switch rng.IntN(6) {
		case 0, 1: // one-hot
			yr[rng.IntN(c)] = 1
		case 2: // soft, not summing to 1
			for j := range yr {
				yr[j] = float32(rng.Float64())
			}
		case 3: // multi-hot, zero rows, negative and scaled targets
			for j := range yr {
				yr[j] = float32(rng.IntN(5) - 1)
			}
		case 4: // all zero
		default:
			for j := range yr {
				yr[j] = float32(rng.NormFloat64())
			}
			if kind == 3 && rng.IntN(3) == 0 {
				yr[rng.IntN(c)] = special[6+rng.IntN(3)] // ±Inf or NaN
			}
		}
	}
	return
}

// sameBits reports whether a and b hold the same float32 bit patterns.
func sameBits(a, b []float32) int {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return i
		}
	}
	return -1
}

// TestBatchedBitIdentical compares CategoricalCrossentropy.Compute and
// SparseCategoricalCrossentropy.Compute (logits, with a gradient and
// without: the batched paths) with the code they replaced (reference_test.go), bit for
// bit (NaN payloads included), on ordinary and extreme logits, ties, and
// targets that are not one-hot or do not sum to 1, at every kernel level.
//
// catches: any change in the order or the rounding of the operations (e.g.
// the gradient's Σy scaling applied after the 1/n, the row sum taken in
// another order, p = e/s instead of e·(1/s)).
func TestBatchedBitIdentical(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	kerneltest.ForLevels(t, func(l kernels.Level) {
		for _, c := range []int{1, 2, 3, 10, 16, 17, 33, 100} {
			for n := 1; n <= 64; n++ {
				for kind := 0; kind < 4; kind++ {
					z, y, ys := bitInputs(rng, kind, n, c)
					name := fmt.Sprintf("%v c=%d n=%d kind=%d", l, c, n, kind)
					g1, g2 := make([]float32, n*c), make([]float32, n*c)
					cce := &CategoricalCrossentropy{}
					l1 := refCCE(cce, z, y, n, c, true, g1)
					l2 := cce.Compute(z, y, n, c, true, g2)
					if math.Float32bits(l1) != math.Float32bits(l2) {
						t.Fatalf("cce %s: loss %v, reference %v", name, l2, l1)
					}
					if i := sameBits(g1, g2); i >= 0 {
						t.Fatalf("cce %s: grad[%d] = %v (%#x), reference %v (%#x)", name, i, g2[i], math.Float32bits(g2[i]), g1[i], math.Float32bits(g1[i]))
					}
					if l1, l2 := refCCE(cce, z, y, n, c, true, nil), cce.Compute(z, y, n, c, true, nil); math.Float32bits(l1) != math.Float32bits(l2) {
						t.Fatalf("cce %s without gradient: loss %v, reference %v", name, l2, l1)
					}
					scce := &SparseCategoricalCrossentropy{}
					if l1, l2 := refSCCE(scce, z, ys, n, c, true, nil), scce.Compute(z, ys, n, c, true, nil); math.Float32bits(l1) != math.Float32bits(l2) {
						t.Fatalf("scce %s without gradient: loss %v, reference %v", name, l2, l1)
					}
					l1 = refSCCE(scce, z, ys, n, c, true, g1)
					l2 = scce.Compute(z, ys, n, c, true, g2)
					if math.Float32bits(l1) != math.Float32bits(l2) {
						t.Fatalf("scce %s: loss %v, reference %v", name, l2, l1)
					}
					if i := sameBits(g1, g2); i >= 0 {
						t.Fatalf("scce %s: grad[%d] = %v, reference %v", name, i, g2[i], g1[i])
					}
				}
			}
		}
	})
}

// seedBatch is a batch like the seed workload's: 32 rows of 10 logits of a
// Dense layer and one-hot targets.
func seedBatch() (z, y, ys []float32) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n, c = 32, 10
	z, y, ys = make([]float32, n*c), make([]float32, n*c), make([]float32, n)
	for i := range z {
		z[i] = float32(rng.NormFloat64() * 4)
	}
	for r := 0; r < n; r++ {
		k := rng.IntN(c)
		y[r*c+k] = 1
		ys[r] = float32(k)
	}
	return
}

// benchLevels times f, as "<level>", and the code it replaced, as
// "<level>/reference", at every kernel level.
func benchLevels(b *testing.B, f, ref func()) {
	kerneltest.ForLevels(b, func(lv kernels.Level) {
		b.Run(lv.String(), func(b *testing.B) {
			for b.Loop() {
				f()
			}
		})
		b.Run(lv.String()+"/reference", func(b *testing.B) {
			for b.Loop() {
				ref()
			}
		})
	})
}

func BenchmarkCategoricalLogits(b *testing.B) {
	z, y, _ := seedBatch()
	g := make([]float32, len(z))
	l := &CategoricalCrossentropy{}
	benchLevels(b, func() { l.Compute(z, y, 32, 10, true, g) }, func() { refCCE(l, z, y, 32, 10, true, g) })
}

func BenchmarkSparseLogits(b *testing.B) {
	z, _, ys := seedBatch()
	g := make([]float32, len(z))
	l := &SparseCategoricalCrossentropy{}
	benchLevels(b, func() { l.Compute(z, ys, 32, 10, true, g) }, func() { refSCCE(l, z, ys, 32, 10, true, g) })
}

// TestBinaryLogitsBitIdentical compares BinaryCrossentropy.Compute on
// logits (batched: sigmoidXent) with the code it replaced, bit for bit,
// with and without a gradient and label smoothing, at every kernel level,
// on ordinary and extreme logits (±0, ±Inf, NaN, exponentials that
// underflow) and targets in and beyond [0, 1].
//
// catches: the sigmoid taken as 1/(1+e) for negative logits, the loss's
// terms summed in another order, a NaN logit's gradient taken from e^−|z|.
func TestBinaryLogitsBitIdentical(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	kerneltest.ForLevels(t, func(l kernels.Level) {
		for _, c := range []int{1, 2, 3, 10, 17, 100} {
			for n := 1; n <= 64; n++ {
				for kind := 0; kind < 4; kind++ {
					z, y, _ := bitInputs(rng, kind, n, c)
					if kind == 2 {
						for i := range y {
							y[i] = float32(rng.IntN(2))
						}
					}
					for _, ls := range []float32{0, 0.1} {
						name := fmt.Sprintf("%v c=%d n=%d kind=%d ls=%v", l, c, n, kind, ls)
						b := &BinaryCrossentropy{LabelSmoothing: ls}
						g1, g2 := make([]float32, n*c), make([]float32, n*c)
						l1, l2 := refBCE(b, z, y, n, c, true, g1), b.Compute(z, y, n, c, true, g2)
						if math.Float32bits(l1) != math.Float32bits(l2) {
							t.Fatalf("bce %s: loss %v, reference %v", name, l2, l1)
						}
						if i := sameBits(g1, g2); i >= 0 {
							t.Fatalf("bce %s: grad[%d] = %v (%#x), reference %v (%#x) at z=%v", name, i, g2[i], math.Float32bits(g2[i]), g1[i], math.Float32bits(g1[i]), z[i])
						}
						l1, l2 = refBCE(b, z, y, n, c, true, nil), b.Compute(z, y, n, c, true, nil)
						if math.Float32bits(l1) != math.Float32bits(l2) {
							t.Fatalf("bce %s without gradient: loss %v, reference %v", name, l2, l1)
						}
					}
				}
			}
		}
	})
}

func BenchmarkBinaryLogits(b *testing.B) {
	z, y, _ := seedBatch()
	g := make([]float32, len(z))
	l := &BinaryCrossentropy{}
	benchLevels(b, func() { l.Compute(z, y, 32, 10, true, g) }, func() { refBCE(l, z, y, 32, 10, true, g) })
}
