package layers

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/kiln-ml/kiln/internal/kernels"
)

// bnBench builds a BatchNormalization on the activations of
// examples/cnn_bn.yaml's convolution (26×26×32) for a batch of 128 and
// returns it with an input and an output gradient.
func bnBench(b *testing.B) (*BatchNormalization, []float32, []float32, int) {
	const n = 128
	l := mustBN(b)
	if _, err := l.Build([]int{26, 26, 32}, nil); err != nil {
		b.Fatal(err)
	}
	l.Allocate(n, true)
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, n*l.inWidth)
	dy := make([]float32, len(x))
	for i := range x {
		x[i] = float32(rng.NormFloat64()*0.7 + 0.2)
		dy[i] = float32(rng.NormFloat64() * 1e-3)
	}
	return l, x, dy, n
}

// BenchmarkBatchNorm times a training step of BatchNormalization (Forward
// with the batch statistics, then Backward with the input gradient), and
// Forward, Backward and Infer alone, at every kernel level (generic is the
// pure-Go loops).
func BenchmarkBatchNorm(b *testing.B) {
	for _, op := range []string{"ForwardBackward", "Forward", "Backward", "Infer"} {
		b.Run("op="+op, func(b *testing.B) {
			for _, lv := range kernels.Supported() {
				b.Run("level="+lv.String(), func(b *testing.B) {
					prev, err := kernels.Use(lv)
					if err != nil {
						b.Fatal(err)
					}
					defer kernels.Use(prev)
					l, x, dy, n := bnBench(b)
					dst := make([]float32, len(x))
					if op == "Backward" {
						l.Forward(x, n, true)
					}
					b.SetBytes(int64(4 * len(x)))
					b.ReportAllocs()
					for b.Loop() {
						switch op {
						case "ForwardBackward":
							l.Forward(x, n, true)
							l.Backward(dy, n)
						case "Forward":
							l.Forward(x, n, true)
						case "Backward":
							l.Backward(dy, n)
						case "Infer":
							l.Infer(dst, x, n)
						}
					}
				})
			}
		})
	}
}

// TestBatchNormKernelLevels checks that BatchNormalization computes the
// same bits at every kernel level, for channel counts on and off the
// vector widths.
func TestBatchNormKernelLevels(t *testing.T) {
	type result struct{ y, dx, yi, dg, db, mm, mv []float32 }
	run := func(c, n int) result {
		l := mustBN(t)
		in := []int{3, c}
		if _, err := l.Build(in, nil); err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(uint64(c), uint64(n)))
		for k := range c {
			l.Gamma.Value[k] = float32(1 + rng.NormFloat64()*0.3)
			l.Beta.Value[k] = float32(rng.NormFloat64())
		}
		l.Allocate(n, true)
		x := make([]float32, n*l.inWidth)
		dy := make([]float32, len(x))
		for i := range x {
			x[i] = float32(rng.NormFloat64()*float64(1+i%c%4) + float64(i%c%3))
			dy[i] = float32(rng.NormFloat64())
		}
		var r result
		r.y = append(r.y, l.Forward(x, n, true)...)
		r.dx = append(r.dx, l.Backward(dy, n)...)
		r.dg = append(r.dg, l.Gamma.Grad...)
		r.db = append(r.db, l.Beta.Grad...)
		r.mm = append(r.mm, l.MovingMean.Value...)
		r.mv = append(r.mv, l.MovingVariance.Value...)
		r.yi = make([]float32, len(x))
		l.Infer(r.yi, x, n)
		return r
	}
	for _, c := range []int{1, 3, 8, 12, 16, 24, 32, 40, 64, 100, 128, 136} {
		for _, n := range []int{1, 5} {
			var ref result
			for i, lv := range kernels.Supported() {
				prev, err := kernels.Use(lv)
				if err != nil {
					t.Fatal(err)
				}
				r := run(c, n)
				kernels.Use(prev)
				if i == 0 {
					ref = r
					continue
				}
				for _, p := range []struct {
					name      string
					got, want []float32
				}{{"y", r.y, ref.y}, {"dx", r.dx, ref.dx}, {"inference y", r.yi, ref.yi}, {"dgamma", r.dg, ref.dg},
					{"dbeta", r.db, ref.db}, {"moving_mean", r.mm, ref.mm}, {"moving_variance", r.mv, ref.mv}} {
					for j := range p.want {
						if math.Float32bits(p.got[j]) != math.Float32bits(p.want[j]) {
							t.Fatalf("c=%d n=%d level %v: %s[%d] = %v, generic %v", c, n, lv, p.name, j, p.got[j], p.want[j])
						}
					}
				}
			}
		}
	}
}
