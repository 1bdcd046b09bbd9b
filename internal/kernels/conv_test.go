package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// convCase makes a random sample x and offset tables for n pixels and k
// kernel positions (offsets may repeat, as overlapping windows do).
func convCase(rng *rand.Rand, n, k int, density float64) (x []float32, pix, koff []int32) {
	x = randVec(rng, 40+3*k+2*n, density)
	pix = make([]int32, n)
	for q := range pix {
		pix[q] = int32(rng.IntN(2*n + 1))
	}
	koff = make([]int32, k)
	for i := range koff {
		koff[i] = int32(rng.IntN(3*k + 40))
	}
	return x, pix, koff
}

// specials puts NaN, ±Inf, -0 and tiny values into v.
func specials(rng *rand.Rand, v []float32) {
	for _, s := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)),
		float32(math.Copysign(0, -1)), 1e-38, -1e-45} {
		v[rng.IntN(len(v))] = s
	}
}

// sameNaN is sameBits except that any two NaNs match: a NaN's payload
// depends on the operand order the compiler picks (as in TestSpecialValues).
func sameNaN(a, b []float32) int {
	if len(a) != len(b) {
		return 0
	}
	for i := range a {
		an, bn := a[i] != a[i], b[i] != b[i]
		if an != bn || (!an && math.Float32bits(a[i]) != math.Float32bits(b[i])) {
			return i
		}
	}
	return -1
}

var convFilters = []int{1, 3, 8, 9, 15, 16, 17, 24, 31, 32, 33, 47, 48, 64, 65, 100}

func TestConvForward(t *testing.T) {
	eachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(31, 32))
		for _, f := range convFilters {
			ms := MaskStride(f)
			for _, k := range []int{1, 2, 9, 13, 27} {
				for _, n := range []int{1, 3, 8, 9, 17, 26} {
					x, pix, koff := convCase(rng, n, k, 0.6)
					w := randVec(rng, k*f, 1)
					bias := randVec(rng, f, 0.8)
					if n > 8 && f > 8 {
						specials(rng, x)
						specials(rng, w)
					}
					win := NewWindows(pix, koff, nil)
					for mode := 1; mode < 16; mode++ {
						if mode&11 == 0 {
							continue // no output
						}
						var b []float32
						if mode&4 != 0 {
							b = bias
						}
						mk := func(bit int) []float32 {
							if mode&bit == 0 {
								return nil
							}
							return randVec(rng, n*f+5, 1) // values that must be overwritten, and a guard
						}
						z1, y1 := mk(1), mk(2)
						z2, y2 := slices.Clone(z1), slices.Clone(y1)
						var m1, m2 []uint8
						if mode&8 != 0 {
							m1 = make([]uint8, n*ms+3)
							for i := range m1 {
								m1[i] = uint8(rng.Uint32()) // to be cleared
							}
							m2 = slices.Clone(m1)
							clear(m1[:n*ms])
						}
						refConvForward(z1, y1, m1, x, pix, koff, w, f, b)
						ConvForward(z2, y2, m2, x, win, 0, n, w, f, b)
						name := fmt.Sprintf("f=%d k=%d n=%d mode=%d", f, k, n, mode)
						if i := sameNaN(z1, z2); i >= 0 {
							t.Fatalf("%s: z[%d] = %v, reference %v", name, i, z2[i], z1[i])
						}
						if i := sameNaN(y1, y2); i >= 0 {
							t.Fatalf("%s: y[%d] = %v, reference %v", name, i, y2[i], y1[i])
						}
						if !slices.Equal(m1, m2) {
							t.Fatalf("%s: mask %v, reference %v", name, m2, m1)
						}
						if m2 != nil && y2 != nil {
							for q := 0; q < n; q++ {
								for j := 0; j < f; j++ {
									if (m2[q*ms+j/8]>>(j%8)&1 == 1) != (y2[q*f+j] > 0) {
										t.Fatalf("%s: mask bit (%d, %d) disagrees with y", name, q, j)
									}
								}
							}
						}
					}
				}
			}
		}
	})
}

func TestConvGrad(t *testing.T) {
	eachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(33, 34))
		for _, f := range convFilters {
			for _, k := range []int{1, 2, 3, 4, 5, 9, 10, 12, 13, 24, 25, 27, 50} {
				for _, n := range []int{1, 2, 7, 30} {
					x, pix, koff := convCase(rng, n, k, 0.5)
					dz := randVec(rng, n*f, 0.9)
					mask := make([]uint8, n*MaskStride(f))
					for i := range mask {
						mask[i] = uint8(rng.Uint32())
					}
					if n > 2 {
						specials(rng, dz)
						specials(rng, x)
					}
					win := NewWindows(pix, koff, nil)
					for _, withMask := range []bool{false, true} {
						for _, withB := range []bool{false, true} {
							g1 := randVec(rng, k*f+3, 1) // the sums start from g
							g2 := slices.Clone(g1)
							var gb1, gb2 []float32
							var m []uint8
							if withB {
								gb1 = randVec(rng, f+3, 1)
								gb2 = slices.Clone(gb1)
							}
							if withMask {
								m = mask
							}
							refConvGrad(g1, gb1, x, pix, koff, dz, m, f)
							ConvGrad(g2, gb2, x, win, 0, n, dz, m, f)
							name := fmt.Sprintf("f=%d k=%d n=%d mask=%v bias=%v", f, k, n, withMask, withB)
							if i := sameNaN(g1, g2); i >= 0 {
								t.Fatalf("%s: g[%d] = %v, reference %v", name, i, g2[i], g1[i])
							}
							if i := sameNaN(gb1, gb2); i >= 0 {
								t.Fatalf("%s: gb[%d] = %v, reference %v", name, i, gb2[i], gb1[i])
							}
						}
					}
				}
			}
		}
	})
}

// TestConvGradZeroWindows checks windows of zeros, where a kernel that
// skipped their products (±0) would go wrong: a gradient of −0 (adding a
// +0 product makes it +0), and an infinite or NaN d (0·d is NaN). Such a
// skip, tried with a branch per pixel, made ConvGrad 18–26% slower on
// random samples and no faster on digit-shaped ones (63% windows of zeros,
// as over MNIST), the branch mispredicted.
func TestConvGradZeroWindows(t *testing.T) {
	eachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(39, 40))
		negZero := float32(math.Copysign(0, -1))
		for _, f := range []int{3, 8, 16, 17, 32, 33} {
			for _, k := range []int{1, 3, 9, 13} {
				n := 40
				// Sparse, or all zeros: a gradient element that only ever
				// receives ±0 shows whether −0 was turned into +0.
				x, pix, koff := convCase(rng, n, k, float64(k%3)*0.1)
				for i := range x {
					if x[i] == 0 && rng.IntN(3) == 0 {
						x[i] = negZero
					}
				}
				dz := randVec(rng, n*f, 0.9)
				for range 3 {
					dz[rng.IntN(len(dz))] = float32(math.Inf(1 - 2*rng.IntN(2)))
					dz[rng.IntN(len(dz))] = float32(math.NaN())
				}
				mask := make([]uint8, n*MaskStride(f))
				for i := range mask {
					mask[i] = uint8(rng.Uint32())
				}
				win := NewWindows(pix, koff, nil)
				for gcase := 0; gcase < 4; gcase++ {
					g1 := randVec(rng, k*f, 1)
					switch gcase {
					case 1:
						clear(g1)
					case 2:
						for i := range g1 {
							g1[i] = negZero
						}
					case 3:
						g1[rng.IntN(len(g1))] = negZero
					}
					for _, m := range [][]uint8{nil, mask} {
						g2 := slices.Clone(g1)
						gb1, gb2 := make([]float32, f), make([]float32, f)
						g1 := slices.Clone(g1)
						refConvGrad(g1, gb1, x, pix, koff, dz, m, f)
						ConvGrad(g2, gb2, x, win, 0, n, dz, m, f)
						name := fmt.Sprintf("f=%d k=%d g case %d mask=%v", f, k, gcase, m != nil)
						if i := sameNaN(g1, g2); i >= 0 {
							t.Fatalf("%s: g[%d] = %v, reference %v", name, i, g2[i], g1[i])
						}
						if i := sameNaN(gb1, gb2); i >= 0 {
							t.Fatalf("%s: gb[%d] = %v, reference %v", name, i, gb2[i], gb1[i])
						}
					}
				}
			}
		}
	})
}

// TestConvGradSplits checks that calls over consecutive runs of windows
// give the bits of one call over all of them.
func TestConvGradSplits(t *testing.T) {
	eachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(35, 36))
		f, k, n := 32, 9, 50
		x, pix, koff := convCase(rng, n, k, 0.3)
		dz := randVec(rng, n*f, 1)
		win := NewWindows(pix, koff, nil)
		w := randVec(rng, k*f, 1)
		ms := MaskStride(f)
		z1, m1 := make([]float32, n*f), make([]uint8, n*ms)
		ConvForward(z1, nil, m1, x, win, 0, n, w, f, nil)
		g1, gb1 := make([]float32, k*f), make([]float32, f)
		ConvGrad(g1, gb1, x, win, 0, n, dz, m1, f)
		g2, gb2 := make([]float32, k*f), make([]float32, f)
		z2, m2 := make([]float32, n*f), make([]uint8, n*ms)
		for q0 := 0; q0 < n; q0 += 7 {
			q1 := min(q0+7, n)
			ConvForward(z2[q0*f:q1*f], nil, m2[q0*ms:q1*ms], x, win, q0, q1, w, f, nil)
			ConvGrad(g2, gb2, x, win, q0, q1, dz[q0*f:q1*f], m2[q0*ms:q1*ms], f)
		}
		if sameBits(g1, g2) >= 0 || sameBits(gb1, gb2) >= 0 {
			t.Fatal("split calls differ from one call")
		}
		if sameBits(z1, z2) >= 0 || !slices.Equal(m1, m2) {
			t.Fatal("split forward calls differ from one call")
		}
	})
}

// poolCase makes a sample of h×w cells of c channels and the windows of a
// kh×kw pool with strides s (valid padding).
func poolCase(rng *rand.Rand, h, w, c, kh, kw, sh, sw int) (x []float32, pix, out, cells []int32) {
	x = make([]float32, h*w*c)
	for i := range x {
		x[i] = float32(rng.IntN(7) - 3) // many ties
	}
	for i := 0; i < kh; i++ {
		for j := 0; j < kw; j++ {
			cells = append(cells, int32((i*w+j)*c))
		}
	}
	oh, ow := (h-kh)/sh+1, (w-kw)/sw+1
	for a := 0; a < oh; a++ {
		for b := 0; b < ow; b++ {
			pix = append(pix, int32((a*sh*w+b*sw)*c))
			out = append(out, int32((a*ow+b)*c))
		}
	}
	return x, pix, out, cells
}

// poolGeometries are {kh, kw, sh, sw, h, w}: 2×2 and 3×3 windows (the
// unrolled kernels), disjoint and overlapping, and other sizes, up to 5×5
// (more cells than the wrappers' table on the stack holds at AVX-512).
var poolGeometries = [][6]int{{2, 2, 2, 2, 6, 6}, {3, 3, 2, 2, 7, 8}, {3, 3, 1, 1, 5, 5}, {3, 3, 3, 3, 9, 7},
	{1, 1, 1, 1, 3, 2}, {2, 3, 3, 3, 7, 9}, {5, 5, 5, 5, 10, 11}}

func TestMaxPool(t *testing.T) {
	eachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(37, 38))
		for _, c := range []int{1, 3, 8, 15, 16, 17, 32, 33, 64, 70} {
			for _, g := range poolGeometries {
				x, pix, out, cells := poolCase(rng, g[4], g[5], c, g[0], g[1], g[2], g[3])
				specials(rng, x)
				ny := len(pix) * c
				y1, y2 := randVec(rng, ny+3, 1), make([]float32, ny+3)
				copy(y2, y1)
				a1, a2 := make([]int32, ny+3), make([]int32, ny+3)
				a1[ny], a2[ny] = 7, 7
				win := NewWindows(pix, cells, out)
				refMaxPool(y1, a1, x, pix, out, cells, c)
				MaxPool(y2, a2, x, win, c)
				name := fmt.Sprintf("c=%d geometry=%v", c, g)
				if i := sameNaN(y1, y2); i >= 0 {
					t.Fatalf("%s: y[%d] = %v, reference %v", name, i, y2[i], y1[i])
				}
				if !slices.Equal(a1, a2) {
					t.Fatalf("%s: arg differs", name)
				}
				y3 := make([]float32, ny)
				MaxPool(y3, nil, x, win, c)
				if sameNaN(y3, y1[:ny]) >= 0 {
					t.Fatalf("%s: without arg, y differs", name)
				}
				// MaxPool8: the same maxima, the cells' indices as bytes.
				y4, a8 := make([]float32, ny), make([]uint8, ny+3)
				a8[ny] = 7
				MaxPool8(y4, a8, x, win, c)
				if i := sameNaN(y4, y1[:ny]); i >= 0 {
					t.Fatalf("%s: MaxPool8's y[%d] = %v, reference %v", name, i, y4[i], y1[i])
				}
				for q := range pix {
					for ch := 0; ch < c; ch++ {
						i := int(out[q]) + ch
						if int(a8[i]) >= len(cells) || pix[q]+cells[a8[i]]+int32(ch) != a1[i] {
							t.Fatalf("%s: MaxPool8's arg[%d] = %d, but the maximum is at %d", name, i, a8[i], a1[i])
						}
					}
				}
				if a8[ny] != 7 {
					t.Fatalf("%s: MaxPool8 wrote past its outputs", name)
				}
				if g[2] < g[0] || g[3] < g[1] {
					continue // overlapping windows: no MaxPoolGrad
				}
				dy := randVec(rng, ny, 0.8)
				dy[rng.IntN(ny)] = float32(math.Copysign(0, -1))
				dx1 := randVec(rng, len(x), 1)
				dx2 := slices.Clone(dx1)
				dx3 := slices.Clone(dx1)
				refMaxPoolGrad(dx1, dy, a1, pix, out, cells, c)
				MaxPoolGrad(dx2, dy, a1, win, c)
				if i := sameNaN(dx1, dx2); i >= 0 {
					t.Fatalf("%s: dx[%d] = %v, reference %v", name, i, dx2[i], dx1[i])
				}
				MaxPoolGrad8(dx3, dy, a8, win, c)
				if i := sameNaN(dx1, dx3); i >= 0 {
					t.Fatalf("%s: MaxPoolGrad8's dx[%d] = %v, reference %v", name, i, dx3[i], dx1[i])
				}
			}
		}
	})
}

func TestConvPanics(t *testing.T) {
	mustPanic := func(name string, f func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s: no panic", name)
			}
		}()
		f()
	}
	x := make([]float32, 10)
	w := make([]float32, 4)
	z := make([]float32, 4)
	win := NewWindows([]int32{8}, []int32{0, 2}, nil)
	mustPanic("offset past x", func() { ConvForward(z, nil, nil, x, win, 0, 1, w, 2, nil) })
	mustPanic("negative offset", func() { NewWindows([]int32{-1}, []int32{0, 2}, nil) })
	mustPanic("empty table", func() { NewWindows(nil, []int32{0, 2}, nil) })
	mustPanic("window past the table", func() { ConvForward(z, nil, nil, make([]float32, 20), win, 0, 2, w, 2, nil) })
	mustPanic("short w", func() {
		ConvForward(z, nil, nil, x, NewWindows([]int32{0}, []int32{0, 2, 3}, nil), 0, 1, w, 2, nil)
	})
	mustPanic("no output", func() { ConvForward(nil, nil, nil, x, NewWindows([]int32{0}, []int32{0}, nil), 0, 1, w, 2, nil) })
	mustPanic("short dz", func() {
		ConvGrad(w, nil, x, NewWindows([]int32{0, 1, 2}, []int32{0, 1}, nil), 0, 3, z, nil, 2)
	})
	mustPanic("short mask", func() {
		ConvForward(nil, nil, make([]uint8, 3), x, NewWindows([]int32{0}, []int32{0}, nil), 0, 1, w, 2, nil)
	})
	mustPanic("pool past x", func() { MaxPool(z, nil, x, NewWindows([]int32{8}, []int32{0}, []int32{0}), 3) })
	mustPanic("pool without out", func() { MaxPool(z, nil, x, NewWindows([]int32{0}, []int32{0}, nil), 1) })
}

// mnistConv is the convolution of Conv2D(32, 3×3) over a 28×28×1 sample:
// 676 windows of 9 cells.
func mnistConv() (x []float32, win *Windows, f int) {
	pix := make([]int32, 26*26)
	for q := range pix {
		pix[q] = int32(q/26*28 + q%26)
	}
	var koff []int32
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			koff = append(koff, int32(i*28+j))
		}
	}
	x = randVec(rand.New(rand.NewPCG(1, 2)), 784, 0.19)
	return x, NewWindows(pix, koff, nil), 32
}

// BenchmarkConvForward times the forward pass of Conv2D(32, 3×3, relu) over
// one MNIST sample whose outputs stay in the caches (as the relu layer
// stores them: outputs and mask).
func BenchmarkConvForward(b *testing.B) {
	benchLevels(b, func(b *testing.B) {
		x, win, f := mnistConv()
		w := randVec(rand.New(rand.NewPCG(3, 4)), 9*f, 1)
		bias := make([]float32, f)
		y := make([]float32, win.Len()*f)
		m := make([]uint8, win.Len()*MaskStride(f))
		for b.Loop() {
			ConvForward(nil, y, m, x, win, 0, win.Len(), w, f, bias)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*win.Len()), "ns/pixel")
	})
}

// BenchmarkConvGrad times the kernel and bias gradients of Conv2D(32, 3×3,
// relu) over one MNIST sample, relu's mask applied.
func BenchmarkConvGrad(b *testing.B) {
	benchLevels(b, func(b *testing.B) {
		x, win, f := mnistConv()
		rng := rand.New(rand.NewPCG(5, 6))
		dz := randVec(rng, win.Len()*f, 1)
		m := make([]uint8, win.Len()*MaskStride(f))
		for i := range m {
			m[i] = uint8(rng.Uint32())
		}
		g, gb := make([]float32, 9*f), make([]float32, f)
		for b.Loop() {
			ConvGrad(g, gb, x, win, 0, win.Len(), dz, m, f)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*win.Len()), "ns/pixel")
	})
}

// mnistPool is MaxPooling2D(2) over the 26×26×32 output of mnistConv, for
// a batch of samples one after the other (11 MB for 128: beyond the
// caches, as the layer reads them after the convolution's forward pass).
func mnistPool(batch int) (x []float32, win *Windows, c int) {
	rng := rand.New(rand.NewPCG(7, 8))
	x, pix, out, cells := poolCase(rng, 26, 26, 32, 2, 2, 2, 2)
	for i := range x {
		x[i] = max(0, float32(rng.NormFloat64())) // relu's output: half zeros
	}
	xs := make([]float32, 0, batch*len(x))
	for s := 0; s < batch; s++ {
		xs = append(xs, x...)
	}
	return xs, NewWindows(pix, cells, out), 32
}

// BenchmarkMaxPool times MaxPool with arg over one sample (ns/op), either
// the same one (cached) or each of a batch of 128 in turn (streamed), and
// MaxPool8 (its cells as bytes: arg8) likewise.
func BenchmarkMaxPool(b *testing.B) {
	for _, bytes := range []bool{false, true} {
		for _, batch := range []int{1, 128, 1024} {
			name := map[int]string{1: "cached", 128: "streamed", 1024: "dram"}[batch]
			if bytes {
				name = "arg8/" + name
			}
			b.Run(name, func(b *testing.B) {
				benchLevels(b, func(b *testing.B) {
					x, win, c := mnistPool(batch)
					in, out := len(x)/batch, win.Len()*c
					y, arg, arg8 := make([]float32, batch*out), make([]int32, batch*out), make([]uint8, batch*out)
					s := 0
					for b.Loop() {
						if bytes {
							MaxPool8(y[s*out:(s+1)*out], arg8[s*out:(s+1)*out], x[s*in:(s+1)*in], win, c)
						} else {
							MaxPool(y[s*out:(s+1)*out], arg[s*out:(s+1)*out], x[s*in:(s+1)*in], win, c)
						}
						if s++; s == batch {
							s = 0
						}
					}
				})
			})
		}
	}
}

// BenchmarkMaxPoolGrad times MaxPoolGrad over one sample (ns/op), cached
// or streamed as BenchmarkMaxPool.
func BenchmarkMaxPoolGrad(b *testing.B) {
	for _, batch := range []int{1, 128, 1024} {
		name := map[int]string{1: "cached", 128: "streamed", 1024: "dram"}[batch]
		b.Run(name, func(b *testing.B) {
			benchLevels(b, func(b *testing.B) {
				x, win, c := mnistPool(batch)
				in, out := len(x)/batch, win.Len()*c
				y, arg := make([]float32, batch*out), make([]int32, batch*out)
				for s := 0; s < batch; s++ {
					refMaxPool(y[s*out:], arg[s*out:], x[s*in:], win.pix, win.out, win.cells, c)
				}
				dx := make([]float32, len(x))
				s := 0
				for b.Loop() {
					MaxPoolGrad(dx[s*in:(s+1)*in], y[s*out:(s+1)*out], arg[s*out:(s+1)*out], win, c)
					if s++; s == batch {
						s = 0
					}
				}
			})
		})
	}
}
