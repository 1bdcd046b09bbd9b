package metrics

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/kiln-ml/kiln/internal/kernels"
	"github.com/kiln-ml/kiln/internal/kernels/kerneltest"
)

// TestBatchedAccuracies compares categorical and sparse categorical
// accuracy with their row-at-a-time versions (Argmax per row) at every
// kernel level, c = 1..20 and n = 1..150 (several kernels.ArgmaxRows
// chunks), on predictions with ties, ±0, infinities and NaN, one-hot and
// soft targets, and sparse labels in and out of range.
//
// catches: a tie going to the last index, a leading NaN not giving index
// 0, a chunk's rows offset in y.
func TestBatchedAccuracies(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	specials := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())}
	kerneltest.ForLevels(t, func(l kernels.Level) {
		for iter := 0; iter < 600; iter++ {
			c := iter%20 + 1
			n := 1 + rng.IntN(150)
			pred, y, ys := make([]float32, n*c), make([]float32, n*c), make([]float32, n)
			for i := range pred {
				switch rng.IntN(8) {
				case 0:
					pred[i] = specials[rng.IntN(len(specials))]
				case 1, 2:
					pred[i] = float32(rng.IntN(2))
				default:
					pred[i] = float32(rng.NormFloat64())
				}
			}
			for r := 0; r < n; r++ {
				if rng.IntN(4) == 0 {
					for j := 0; j < c; j++ {
						y[r*c+j] = float32(rng.Float64())
					}
				} else {
					y[r*c+rng.IntN(c)] = 1
				}
				ys[r] = float32(rng.IntN(c + 1))
			}
			if got, want := categorical(pred, y, n, c), categoricalRows(pred, y, n, c); got != want {
				t.Fatalf("%v c=%d n=%d: categorical %v, per row %v", l, c, n, got, want)
			}
			if got, want := sparseCategorical(pred, ys, n, c), sparseCategoricalRows(pred, ys, n, c); got != want {
				t.Fatalf("%v c=%d n=%d: sparse %v, per row %v", l, c, n, got, want)
			}
		}
	})
}

func BenchmarkCategorical(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n, c = 32, 10
	pred, y := make([]float32, n*c), make([]float32, n*c)
	for i := range pred {
		pred[i] = float32(rng.NormFloat64())
	}
	for r := 0; r < n; r++ {
		y[r*c+rng.IntN(c)] = 1
	}
	kerneltest.ForLevels(b, func(l kernels.Level) {
		b.Run(l.String(), func(b *testing.B) {
			for b.Loop() {
				categorical(pred, y, n, c)
			}
		})
	})
	b.Run("rows", func(b *testing.B) {
		for b.Loop() {
			categoricalRows(pred, y, n, c)
		}
	})
}

// binaryRef is binary accuracy as it was (a branch per element).
func binaryRef(pred, y []float32, n, c int) float32 {
	var s float32
	for r := 0; r < n; r++ {
		var row float32
		for j := 0; j < c; j++ {
			p := pred[r*c+j] > 0.5
			if (p && y[r*c+j] == 1) || (!p && y[r*c+j] == 0) {
				row++
			}
		}
		s += row / float32(c)
	}
	return s
}

// TestBinaryAccuracy compares binary accuracy with the branchy loop it
// replaced on predictions at and around 0.5, NaN and infinities, and
// targets 0, 1, others and NaN.
//
// catches: 0.5 counted as above the threshold, a NaN prediction matching
// a 1 target.
func TestBinaryAccuracy(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	ps := []float32{0, 0.5, math.Nextafter32(0.5, 1), 1, float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), -0.5}
	ts := []float32{0, 1, 0.5, 2, float32(math.NaN()), float32(math.Copysign(0, -1))}
	for iter := 0; iter < 2000; iter++ {
		c := 1 + rng.IntN(12)
		n := 1 + rng.IntN(40)
		pred, y := make([]float32, n*c), make([]float32, n*c)
		for i := range pred {
			if rng.IntN(3) == 0 {
				pred[i] = ps[rng.IntN(len(ps))]
			} else {
				pred[i] = float32(rng.Float64())
			}
			y[i] = ts[rng.IntN(len(ts))]
		}
		if got, want := binary(pred, y, n, c), binaryRef(pred, y, n, c); math.Float32bits(got) != math.Float32bits(want) {
			t.Fatalf("c=%d n=%d: %v, branchy loop %v", c, n, got, want)
		}
	}
}

func BenchmarkBinary(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n, c = 32, 10
	pred, y := make([]float32, n*c), make([]float32, n*c)
	for i := range pred {
		pred[i] = float32(rng.Float64())
		y[i] = float32(rng.IntN(2))
	}
	b.Run("new", func(b *testing.B) {
		for b.Loop() {
			binary(pred, y, n, c)
		}
	})
	b.Run("branchy", func(b *testing.B) {
		for b.Loop() {
			binaryRef(pred, y, n, c)
		}
	})
}
