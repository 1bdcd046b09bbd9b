package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// The benchmarks run every kernel at every supported level on the shapes
// kiln trains; names are benchstat-friendly (BenchmarkX/level=avx512/u=10).

func benchLevels(b *testing.B, f func(b *testing.B)) {
	for _, l := range Supported() {
		b.Run("level="+l.String(), func(b *testing.B) {
			withLevel(l, func() { f(b) })
		})
	}
}

// mnistLike is a 784-wide row with MNIST's density of non-zero pixels (19%).
func mnistLike(rng *rand.Rand, n int) []float32 {
	x := randVec(rng, n*784, 0.19)
	for i, v := range x {
		if v < 0 {
			x[i] = -v * 100
		}
	}
	return x
}

func BenchmarkNonZero(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	x := mnistLike(rng, 1)
	idx, val := make([]int32, 784+Pad), make([]float32, 784+Pad)
	mask := make([]uint64, 784)
	for _, withMask := range []bool{false, true} {
		b.Run(fmt.Sprintf("mask=%v", withMask), func(b *testing.B) {
			m := mask
			if !withMask {
				m = nil
			}
			benchLevels(b, func(b *testing.B) {
				b.SetBytes(784 * 4)
				for b.Loop() {
					NonZero(idx, val, x, m, 1)
				}
			})
		})
	}
}

func BenchmarkAccumRows(b *testing.B) {
	rng := rand.New(rand.NewPCG(2, 2))
	for _, sh := range [][2]int{{10, 150}, {128, 150}, {10, 128}, {784, 10}} {
		u, rows := sh[0], sh[1]
		w := randVec(rng, 784*u, 1)
		idx := make([]int32, rows)
		for i := range idx {
			idx[i] = int32(rng.IntN(784))
		}
		val := randVec(rng, rows, 1)
		z := make([]float32, u)
		b.Run(fmt.Sprintf("u=%d/rows=%d", u, rows), func(b *testing.B) {
			benchLevels(b, func(b *testing.B) {
				for b.Loop() {
					AccumRows(z, w, u, idx, val)
				}
			})
		})
	}
}

func BenchmarkGradRows(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, sh := range [][3]int{{784, 10, 32}, {784, 128, 32}, {128, 10, 32}} {
		in, u, n := sh[0], sh[1], sh[2]
		x := mnistLike(rng, n)[:n*in]
		dz := randVec(rng, n*u, 1)
		mask := make([]uint64, in)
		idx, val := make([]int32, in+Pad), make([]float32, in+Pad)
		for r := 0; r < n; r++ {
			NonZero(idx, val, x[r*in:(r+1)*in], mask, 1<<r)
		}
		g := make([]float32, in*u)
		b.Run(fmt.Sprintf("in=%d/u=%d/n=%d", in, u, n), func(b *testing.B) {
			benchLevels(b, func(b *testing.B) {
				for b.Loop() {
					GradRows(g, x, in, dz, u, mask, n)
				}
			})
		})
	}
}

// BenchmarkWeightGrad is a Dense weight gradient over a batch of n rows
// done row-major: ScatterRows into a scratch with rows padded to 16 floats
// (64-byte aligned), then CopyRows into the in×u gradient. Compare with
// BenchmarkGradRows (k-major).
func BenchmarkWeightGrad(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, sh := range [][3]int{{784, 10, 32}, {784, 128, 32}, {128, 10, 32}} {
		in, u, n := sh[0], sh[1], sh[2]
		x := mnistLike(rng, n)[:n*in]
		dz := randVec(rng, n*u, 1)
		idx, val := make([]int32, n*in+Pad), make([]float32, n*in+Pad)
		start := make([]int, n+1)
		for r := 0; r < n; r++ {
			start[r+1] = start[r] + NonZero(idx[start[r]:], val[start[r]:], x[r*in:(r+1)*in], nil, 0)
		}
		stride := (u + 15) &^ 15
		pad := AlignedFloats(in * stride)
		g := make([]float32, in*u)
		b.Run(fmt.Sprintf("in=%d/u=%d/n=%d", in, u, n), func(b *testing.B) {
			benchLevels(b, func(b *testing.B) {
				for b.Loop() {
					clear(pad)
					for r := 0; r < n; r++ {
						ScatterRows(pad, stride, idx[start[r]:start[r+1]], val[start[r]:start[r+1]], dz[r*u:(r+1)*u])
					}
					CopyRows(g, u, pad, stride, in, u, false)
				}
			})
		})
	}
}

func BenchmarkSGD(b *testing.B) {
	rng := rand.New(rand.NewPCG(4, 4))
	for _, n := range []int{7850, 101770} {
		w, g := randVec(rng, n, 1), randVec(rng, n, 1)
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			benchLevels(b, func(b *testing.B) {
				b.SetBytes(int64(n) * 12)
				for b.Loop() {
					SGD(w, g, 1e-9)
				}
			})
		})
	}
}

func BenchmarkAdam(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 5))
	for _, n := range []int{7850, 101770} {
		w, g, m, v := randVec(rng, n, 1), randVec(rng, n, 1), randVec(rng, n, 1), randVec(rng, n, 1)
		for i := range v {
			v[i] *= v[i]
		}
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			benchLevels(b, func(b *testing.B) {
				b.SetBytes(int64(n) * 28)
				for b.Loop() {
					Adam(w, g, m, v, 1e-9, 0.1, 0.001, 1e-7)
				}
			})
		})
	}
}

func BenchmarkU8(b *testing.B) {
	src := make([]uint8, 784)
	for i := range src {
		src[i] = uint8(i * 7)
	}
	dst := make([]float32, 784)
	var lut [256]float32
	for i := range lut {
		lut[i] = float32(i) / 255
	}
	b.Run("op=convert", func(b *testing.B) {
		benchLevels(b, func(b *testing.B) {
			b.SetBytes(784)
			for b.Loop() {
				U8ToF32(dst, src)
			}
		})
	})
	b.Run("op=lookup", func(b *testing.B) {
		benchLevels(b, func(b *testing.B) {
			b.SetBytes(784)
			for b.Loop() {
				U8Lookup(dst, src, &lut)
			}
		})
	})
}

// mnistBytes is a 784-byte row with MNIST's share of zero pixels.
func mnistBytes(rng *rand.Rand) []uint8 {
	b := make([]uint8, 784)
	for i := range b {
		if rng.Float64() < 0.19 {
			b[i] = uint8(1 + rng.IntN(255))
		}
	}
	return b
}

func BenchmarkNonZeroU8(b *testing.B) {
	rng := rand.New(rand.NewPCG(6, 6))
	src := mnistBytes(rng)
	var lut [256]float32
	for i := range lut {
		lut[i] = float32(i) / 255
	}
	idx, val := make([]int32, 784+Pad), make([]float32, 784+Pad)
	for _, l := range []*[256]float32{nil, &lut} {
		b.Run(fmt.Sprintf("lut=%v", l != nil), func(b *testing.B) {
			benchLevels(b, func(b *testing.B) {
				b.SetBytes(784)
				for b.Loop() {
					NonZeroU8(idx, val, src, l)
				}
			})
		})
	}
}

func BenchmarkAccumRows2(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 7))
	for _, u := range []int{10, 32} {
		w := randVec(rng, 784*u, 1)
		idx0, idx1 := make([]int32, 150), make([]int32, 140)
		for i := range idx0 {
			idx0[i] = int32(rng.IntN(784))
		}
		for i := range idx1 {
			idx1[i] = int32(rng.IntN(784))
		}
		val0, val1 := randVec(rng, 150, 1), randVec(rng, 140, 1)
		z0, z1 := make([]float32, u), make([]float32, u)
		b.Run(fmt.Sprintf("u=%d/rows=150+140", u), func(b *testing.B) {
			benchLevels(b, func(b *testing.B) {
				for b.Loop() {
					AccumRows2(z0, z1, w, u, idx0, val0, idx1, val1)
				}
			})
		})
	}
}

func BenchmarkExp(b *testing.B) {
	rng := rand.New(rand.NewPCG(8, 8))
	x := make([]float64, 1000)
	for i := range x {
		x[i] = -rng.ExpFloat64() * 200 // softmax arguments: ≤ 0, some subnormal results
	}
	dst := make([]float64, len(x))
	benchLevels(b, func(b *testing.B) {
		b.SetBytes(int64(len(x)) * 8)
		for b.Loop() {
			Exp(dst, x)
		}
	})
}

func BenchmarkExpSum(b *testing.B) {
	rng := rand.New(rand.NewPCG(9, 9))
	z := randVec(rng, 10, 1)
	for i := range z {
		z[i] *= 300 // raw-pixel logits: big gaps
	}
	m := z[0]
	for _, v := range z {
		m = max(m, v)
	}
	p := make([]float32, 10)
	benchLevels(b, func(b *testing.B) {
		for b.Loop() {
			if _, ok := ExpSum(p, z, m); !ok {
				expSumLoopBench(p, z, m)
			}
		}
	})
}

// expSumLoopBench is what losses does when ExpSum declines.
func expSumLoopBench(p []float32, z []float32, m float32) float64 {
	var e [16]float64
	for j, v := range z {
		e[j] = float64(v - m)
	}
	Exp(e[:len(z)], e[:len(z)])
	var s float64
	for j := range z {
		p[j] = float32(e[j])
		s += e[j]
	}
	inv := 1 / s
	for j := range p {
		p[j] = float32(float64(p[j]) * inv)
	}
	return s
}

func BenchmarkRelu(b *testing.B) {
	rng := rand.New(rand.NewPCG(10, 10))
	x, dy := randVec(rng, 32*128, 1), randVec(rng, 32*128, 1)
	y, dx := make([]float32, len(x)), make([]float32, len(x))
	b.Run("op=forward", func(b *testing.B) {
		benchLevels(b, func(b *testing.B) {
			for b.Loop() {
				Relu(y, x)
			}
		})
	})
	Relu(y, x)
	b.Run("op=backward", func(b *testing.B) {
		benchLevels(b, func(b *testing.B) {
			for b.Loop() {
				ReluGrad(dx, y, dy)
			}
		})
	})
}

// BenchmarkChannel runs the BatchNormalization kernels on the activations
// of examples/cnn_bn.yaml's convolution, a batch of 128×26×26 rows of c
// channels (c = 32 there).
func BenchmarkChannel(b *testing.B) {
	rng := rand.New(rand.NewPCG(11, 11))
	for _, c := range []int{8, 16, 32, 48, 64, 128} {
		rows := 128 * 26 * 26 * 32 / c
		// Normal values: the tests' subnormals would time assists.
		x, dy := randVec(rng, rows*c, 1), randVec(rng, rows*c, 1)
		p := func() []float32 { return randVec(rng, c, 1) }
		a, off, q, r, mean, inv := p(), p(), p(), p(), p(), p()
		y := make([]float32, len(x))
		s, h := make([]float64, c), make([]float64, c)
		for _, op := range []struct {
			name string
			f    func()
		}{
			{"moments", func() { ChannelMoments(s, h, x) }},
			{"affine", func() { ChannelAffine(y, x, a, off) }},
			{"gradsums", func() { NormGradSums(s, h, x, dy, mean, inv) }},
			{"grad", func() { NormGrad(y, x, dy, a, q, r, mean, inv) }},
		} {
			b.Run(fmt.Sprintf("op=%s/c=%d", op.name, c), func(b *testing.B) {
				benchLevels(b, func(b *testing.B) {
					b.SetBytes(int64(4 * len(x)))
					for b.Loop() {
						op.f()
					}
				})
			})
		}
	}
}
