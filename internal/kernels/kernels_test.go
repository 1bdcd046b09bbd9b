package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// eachLevel runs f at every level this CPU and build support.
func eachLevel(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	for _, l := range Supported() {
		t.Run(l.String(), func(t *testing.T) {
			prev, err := Use(l)
			if err != nil {
				t.Fatal(err)
			}
			defer Use(prev)
			f(t)
		})
	}
}

// withLevel runs f at level l and restores the previous level.
func withLevel(l Level, f func()) {
	prev, err := Use(l)
	if err != nil {
		panic(err)
	}
	defer Use(prev)
	f()
}

func sameBits(a, b []float32) int {
	if len(a) != len(b) {
		return 0
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return i
		}
	}
	return -1
}

func randVec(rng *rand.Rand, n int, density float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		if rng.Float64() < density {
			v[i] = float32(rng.NormFloat64())
		}
	}
	return v
}

// sizes are the lengths the tests try: small, around every vector width,
// and the shapes kiln trains.
var sizes = []int{1, 2, 3, 7, 8, 9, 10, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 127, 128, 129, 130, 255, 256, 257, 300, 784}

func TestNonZero(t *testing.T) {
	eachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		for _, n := range sizes {
			for _, density := range []float64{0, 0.05, 0.19, 0.5, 1} {
				for _, withMask := range []bool{false, true} {
					x := randVec(rng, n, density)
					if n > 3 && density > 0 {
						x[rng.IntN(n)] = float32(math.NaN())
						x[rng.IntN(n)] = float32(math.Copysign(0, -1))
						x[rng.IntN(n)] = float32(math.Inf(1))
					}
					bit := uint64(1) << rng.IntN(64)
					var m1, m2 []uint64
					if withMask {
						m1 = make([]uint64, n)
						for i := range m1 {
							m1[i] = rng.Uint64() &^ bit
						}
						m2 = slices.Clone(m1)
					}
					off1, val1 := make([]int32, n+Pad), make([]float32, n+Pad)
					off2, val2 := make([]int32, n+Pad), make([]float32, n+Pad)
					c1 := refNonZero(off1, val1, x, m1, bit)
					c2 := NonZero(off2, val2, x, m2, bit)
					name := fmt.Sprintf("n=%d density=%g mask=%v", n, density, withMask)
					if c1 != c2 {
						t.Fatalf("%s: count %d, reference %d", name, c2, c1)
					}
					if !slices.Equal(off1[:c1], off2[:c1]) {
						t.Fatalf("%s: indices %v, reference %v", name, off2[:c1], off1[:c1])
					}
					if i := sameBits(val1[:c1], val2[:c1]); i >= 0 {
						t.Fatalf("%s: val[%d] = %v, reference %v", name, i, val2[i], val1[i])
					}
					if !slices.Equal(m1, m2) {
						t.Fatalf("%s: masks differ", name)
					}
				}
			}
		}
	})
}

func TestNonZeroU8(t *testing.T) {
	var lut [256]float32
	for i := range lut {
		lut[i] = float32(float64(i) / 255)
	}
	if !LUTZeroExact(&lut) {
		t.Fatal("1/255 table should be zero-exact")
	}
	eachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(23, 24))
		for _, n := range append(sizes, 1000) {
			for _, density := range []float64{0, 0.19, 0.7, 1} {
				for _, l := range []*[256]float32{nil, &lut} {
					src := make([]uint8, n)
					for i := range src {
						if rng.Float64() < density {
							src[i] = uint8(1 + rng.IntN(255))
						}
					}
					i1, v1 := make([]int32, n+Pad), make([]float32, n+Pad)
					i2, v2 := make([]int32, n+Pad), make([]float32, n+Pad)
					c1 := refNonZeroU8(i1, v1, src, l)
					c2 := NonZeroU8(i2, v2, src, l)
					if c1 != c2 || !slices.Equal(i1[:c1], i2[:c1]) || sameBits(v1[:c1], v2[:c1]) >= 0 {
						t.Fatalf("n=%d density=%g lut=%v: %d %v %v, reference %d %v %v", n, density, l != nil, c2, i2[:c2], v2[:c2], c1, i1[:c1], v1[:c1])
					}
					// It must list what NonZero lists on the converted row.
					x := make([]float32, n)
					for i, b := range src {
						x[i] = float32(b)
						if l != nil {
							x[i] = l[b]
						}
					}
					i3, v3 := make([]int32, n+Pad), make([]float32, n+Pad)
					c3 := refNonZero(i3, v3, x, nil, 0)
					if c3 != c1 || !slices.Equal(i1[:c1], i3[:c1]) || sameBits(v1[:c1], v3[:c1]) >= 0 {
						t.Fatalf("n=%d: NonZeroU8 and NonZero on the converted row differ", n)
					}
				}
			}
		}
	})
}

func TestAccumRows(t *testing.T) {
	eachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 4))
		for _, u := range sizes {
			for _, rows := range []int{0, 1, 5, 150} {
				// Any stride, even one that makes rows overlap, and an
				// unaligned start.
				stride := 1 + rng.IntN(2*u+3)
				const nrows = 40
				w := randVec(rng, (nrows-1)*stride+u+rng.IntN(5), 1)
				idx := make([]int32, rows)
				for i := range idx {
					idx[i] = int32(rng.IntN(nrows))
				}
				val := randVec(rng, rows, 0.8)
				z0 := randVec(rng, u, 1)
				z1, z2 := slices.Clone(z0), slices.Clone(z0)
				refAccumRows(z1, w, stride, idx, val)
				AccumRows(z2, w, stride, idx, val)
				if i := sameBits(z1, z2); i >= 0 {
					t.Fatalf("u=%d stride=%d rows=%d: z[%d] = %v, reference %v", u, stride, rows, i, z2[i], z1[i])
				}
			}
		}
	})
}

func TestAccumRows2(t *testing.T) {
	eachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(21, 22))
		for _, u := range sizes {
			for _, rows := range [][2]int{{0, 0}, {1, 0}, {0, 3}, {1, 1}, {5, 17}, {150, 120}, {33, 160}} {
				stride := u + rng.IntN(7)
				const nrows = 50
				w := randVec(rng, (nrows-1)*stride+u, 1)
				if rng.IntN(2) == 0 {
					// Spare capacity after the last row, as tensor.NewVariable
					// leaves (the AVX2 kernel then reads whole vectors): NaNs
					// there must not reach z.
					spare := make([]float32, len(w), len(w)+16)
					copy(spare, w)
					for i := len(w); i < cap(spare); i++ {
						spare[:cap(spare)][i] = float32(math.NaN())
					}
					w = spare
				}
				list := func(n int) ([]int32, []float32) {
					idx := make([]int32, n)
					for i := range idx {
						idx[i] = int32(rng.IntN(nrows))
					}
					return idx, randVec(rng, n, 0.9)
				}
				idx0, val0 := list(rows[0])
				idx1, val1 := list(rows[1])
				z0, z1 := randVec(rng, u, 1), randVec(rng, u, 1)
				r0, r1 := slices.Clone(z0), slices.Clone(z1)
				refAccumRows(r0, w, stride, idx0, val0)
				refAccumRows(r1, w, stride, idx1, val1)
				AccumRows2(z0, z1, w, stride, idx0, val0, idx1, val1)
				if i := sameBits(r0, z0); i >= 0 {
					t.Fatalf("u=%d rows=%v: z0[%d] = %v, reference %v", u, rows, i, z0[i], r0[i])
				}
				if i := sameBits(r1, z1); i >= 0 {
					t.Fatalf("u=%d rows=%v: z1[%d] = %v, reference %v", u, rows, i, z1[i], r1[i])
				}
			}
		}
	})
}

func TestScatterRows(t *testing.T) {
	eachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(13, 14))
		for _, u := range sizes {
			for _, rows := range []int{0, 1, 5, 40} {
				stride := u + rng.IntN(20)
				if rng.IntN(2) == 0 {
					stride = (u + 15) &^ 15
				}
				const nrows = 41
				g0 := randVec(rng, (nrows-1)*stride+u+rng.IntN(5), 1)
				idx := make([]int32, rows)
				for i, p := range rng.Perm(nrows)[:rows] {
					idx[i] = int32(p)
				}
				val := randVec(rng, rows, 0.8)
				d := randVec(rng, u, 1)
				g1, g2 := slices.Clone(g0), slices.Clone(g0)
				refScatterRows(g1, stride, idx, val, d)
				ScatterRows(g2, stride, idx, val, d)
				if i := sameBits(g1, g2); i >= 0 {
					t.Fatalf("u=%d stride=%d rows=%d: g[%d] = %v, reference %v", u, stride, rows, i, g2[i], g1[i])
				}
			}
		}
	})
}

func TestScatterBatch(t *testing.T) {
	eachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(31, 32))
		for _, u := range []int{1, 7, 8, 9, 10, 16, 17, 32} {
			// Rows padded to whole vectors (the AVX2 kernels then update
			// them whole: the padding must keep its bits) and unpadded.
			for i, rows := range []int{1, 2, 31, 32, 5, 32} {
				const in = 60
				stride := (u + 15) &^ 15
				if i >= 4 {
					stride = u
				}
				var idx []int32
				var val []float32
				start := []int{0}
				for r := 0; r < rows; r++ {
					for k := 0; k < in; k++ {
						if rng.IntN(4) == 0 {
							idx = append(idx, int32(k))
							val = append(val, float32(rng.NormFloat64()))
						}
					}
					start = append(start, len(idx))
				}
				dz := randVec(rng, rows*u, 1)
				g0 := randVec(rng, in*stride, 1)
				g1, g2 := slices.Clone(g0), slices.Clone(g0)
				for r := 0; r < rows; r++ {
					refScatterRows(g1, stride, idx[start[r]:start[r+1]], val[start[r]:start[r+1]], dz[r*u:(r+1)*u])
				}
				ScatterBatch(g2, stride, idx, val, start, dz)
				if i := sameBits(g1, g2); i >= 0 {
					t.Fatalf("u=%d rows=%d: g[%d] = %v, reference %v", u, rows, i, g2[i], g1[i])
				}
			}
		}
	})
}

func TestCopyRows(t *testing.T) {
	eachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(15, 16))
		for _, width := range sizes {
			for _, rows := range []int{1, 2, 7, 100} {
				for _, clearSrc := range []bool{false, true} {
					ss, ds := width+rng.IntN(20), width+rng.IntN(20)
					s0 := randVec(rng, (rows-1)*ss+width, 1)
					d0 := randVec(rng, (rows-1)*ds+width+3, 1)
					s1, s2 := slices.Clone(s0), slices.Clone(s0)
					d1, d2 := slices.Clone(d0), slices.Clone(d0)
					refCopyRows(d1, ds, s1, ss, rows, width, clearSrc)
					CopyRows(d2, ds, s2, ss, rows, width, clearSrc)
					if i := sameBits(d1, d2); i >= 0 {
						t.Fatalf("width=%d rows=%d clear=%v: dst[%d] = %v, reference %v", width, rows, clearSrc, i, d2[i], d1[i])
					}
					if i := sameBits(s1, s2); i >= 0 {
						t.Fatalf("width=%d rows=%d clear=%v: src[%d] = %v, reference %v", width, rows, clearSrc, i, s2[i], s1[i])
					}
				}
			}
		}
	})
}

// rowMajorGrad is the loop Dense used before the kernels: the oracle that
// GradRows' k-major order must reproduce bit for bit.
func rowMajorGrad(g, x []float32, in int, dz []float32, u, n int) {
	clear(g[:in*u])
	for r := 0; r < n; r++ {
		dzr := dz[r*u : (r+1)*u]
		for k, xv := range x[r*in : (r+1)*in] {
			if xv == 0 {
				continue
			}
			gk := g[k*u : (k+1)*u]
			for j, d := range dzr {
				gk[j] += float32(xv * d)
			}
		}
	}
}

func TestGradRows(t *testing.T) {
	shapes := [][2]int{{1, 1}, {3, 10}, {784, 10}, {784, 128}, {128, 10}, {17, 129}, {9, 257}, {5, 300}, {33, 16}, {20, 17}}
	eachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(5, 6))
		for _, sh := range shapes {
			in, u := sh[0], sh[1]
			for _, n := range []int{1, 2, 31, 32, 33, 64, 65, 100, 128, 130} {
				{
					x := randVec(rng, n*in, 0.19)
					dz := randVec(rng, n*u, 1)
					words := (n + 63) / 64
					mask := make([]uint64, words*in)
					scratchO, scratchV := make([]int32, in+Pad), make([]float32, in+Pad)
					for r := 0; r < n; r++ {
						refNonZero(scratchO, scratchV, x[r*in:(r+1)*in], mask[(r/64)*in:(r/64+1)*in], 1<<(r%64))
					}
					// Bits of rows ≥ n must be ignored.
					if n%64 != 0 {
						for k := 0; k < in; k++ {
							mask[(words-1)*in+k] |= ^uint64(0) << (n % 64)
						}
					}
					g0 := randVec(rng, in*u, 1)
					g1, g2 := slices.Clone(g0), slices.Clone(g0)
					refGradRows(g1, x, in, dz, u, mask, n, 0, in)
					GradRows(g2, x, in, dz, u, mask, n)
					name := fmt.Sprintf("in=%d u=%d n=%d", in, u, n)
					if i := sameBits(g1, g2); i >= 0 {
						t.Fatalf("%s: g[%d] = %v, reference %v", name, i, g2[i], g1[i])
					}
					g3 := slices.Clone(g0)
					rowMajorGrad(g3, x, in, dz, u, n)
					if i := sameBits(g1, g3); i >= 0 {
						t.Fatalf("%s: reference g[%d] = %v, row-major loop %v", name, i, g1[i], g3[i])
					}
					// By blocks of inputs: each block's rows of g as GradRows
					// sets them, the others untouched.
					for _, b := range blocks(in) {
						g4 := slices.Clone(g0)
						GradRowsBlock(g4, x, in, dz, u, mask, n, b[0], b[1])
						want := slices.Clone(g0)
						copy(want[b[0]*u:b[1]*u], g1[b[0]*u:b[1]*u])
						if i := sameBits(want, g4); i >= 0 {
							t.Fatalf("%s inputs %d…%d: g[%d] = %v, want %v", name, b[0], b[1]-1, i, g4[i], want[i])
						}
					}
				}
			}
		}
	})
}

// blocks returns ranges [a, b) of 0 … n−1 to test the block kernels on:
// halves and a third (as threads split a layer), one across a 64-row word
// of the masks when n has one, and an empty one.
func blocks(n int) [][2]int {
	return [][2]int{{0, n / 2}, {n / 2, n}, {n / 3, 2 * n / 3}, {min(n, 60), min(n, 70)}, {n / 2, n / 2}}
}

func TestAccumCols(t *testing.T) {
	shapes := [][2]int{{1, 1}, {3, 10}, {784, 128}, {128, 10}, {17, 129}, {9, 257}, {5, 300}, {33, 16}, {20, 17}}
	eachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(33, 34))
		for i, sh := range shapes {
			in, u := sh[0], sh[1]
			for j, n := range []int{1, 2, 31, 32, 33, 64, 65, 130} {
				// Pixel-like inputs, mostly zeros, and computed features,
				// half or all non-zero (4-row tiles where dense).
				x := randVec(rng, n*in, []float64{0.19, 0.7, 1}[(i+j)%3])
				w := randVec(rng, in*u, 1)
				words := (n + 63) / 64
				mask := make([]uint64, words*in)
				idx, val := make([]int32, in+Pad), make([]float32, in+Pad)
				z0 := randVec(rng, n*u, 1)
				z1 := slices.Clone(z0) // row-major reference: AccumRows over each row's list
				for r := 0; r < n; r++ {
					c := refNonZero(idx, val, x[r*in:(r+1)*in], mask[(r/64)*in:(r/64+1)*in], 1<<(r%64))
					refAccumRows(z1[r*u:(r+1)*u], w, u, idx[:c], val[:c])
				}
				if n%64 != 0 {
					for k := 0; k < in; k++ {
						mask[(words-1)*in+k] |= ^uint64(0) << (n % 64) // rows ≥ n: ignored
					}
				}
				z2 := slices.Clone(z0)
				if !AccumCols(z2, w, x, in, u, mask, n) {
					refAccumCols(z2, w, x, in, u, mask, 0, n, 0, in, 0, u)
				}
				if i := sameBits(z1, z2); i >= 0 {
					t.Fatalf("in=%d u=%d n=%d: z[%d] = %v, row-major %v", in, u, n, i, z2[i], z1[i])
				}
				z3 := slices.Clone(z0)
				refAccumCols(z3, w, x, in, u, mask, 0, n, 0, in, 0, u)
				if i := sameBits(z1, z3); i >= 0 {
					t.Fatalf("in=%d u=%d n=%d: reference z[%d] = %v, row-major %v", in, u, n, i, z3[i], z1[i])
				}
				// By blocks of rows, each through blocks of inputs in
				// order (as threads owning the inputs hand rows on): the
				// block's rows as AccumCols makes them, the others
				// untouched.
				for _, rb := range blocks(n) {
					z4 := slices.Clone(z0)
					for _, kb := range [][2]int{{0, in / 3}, {in / 3, in / 2}, {in / 2, in / 2}, {in / 2, in}} {
						if !AccumColsBlock(z4, w, x, in, u, mask, rb[0], rb[1], kb[0], kb[1]) {
							refAccumCols(z4, w, x, in, u, mask, rb[0], rb[1], kb[0], kb[1], 0, u)
						}
					}
					want := slices.Clone(z0)
					copy(want[rb[0]*u:rb[1]*u], z1[rb[0]*u:rb[1]*u])
					if i := sameBits(want, z4); i >= 0 {
						t.Fatalf("in=%d u=%d n=%d rows %d…%d: z[%d] = %v, want %v", in, u, n, rb[0], rb[1]-1, i, z4[i], want[i])
					}
				}
				// By blocks of output columns: the block's columns as
				// AccumCols makes them, the others untouched.
				for _, cb := range blocks(u) {
					z5 := slices.Clone(z0)
					if !AccumColsOut(z5, w, x, in, u, mask, n, cb[0], cb[1]) {
						refAccumCols(z5, w, x, in, u, mask, 0, n, 0, in, cb[0], cb[1])
					}
					want := slices.Clone(z0)
					for r := 0; r < n; r++ {
						copy(want[r*u+cb[0]:r*u+cb[1]], z1[r*u+cb[0]:r*u+cb[1]])
					}
					if i := sameBits(want, z5); i >= 0 {
						t.Fatalf("in=%d u=%d n=%d columns %d…%d: z[%d] = %v, want %v", in, u, n, cb[0], cb[1]-1, i, z5[i], want[i])
					}
				}
			}
		}
	})
}

func TestSGD(t *testing.T) {
	eachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(7, 8))
		for _, n := range append(sizes, 7850, 100000) {
			w, g := randVec(rng, n, 1), randVec(rng, n, 0.5)
			w1, w2 := slices.Clone(w), slices.Clone(w)
			refSGD(w1, g, 0.01)
			SGD(w2, g, 0.01)
			if i := sameBits(w1, w2); i >= 0 {
				t.Fatalf("n=%d: w[%d] = %v, reference %v", n, i, w2[i], w1[i])
			}
		}
	})
}

func TestAdam(t *testing.T) {
	eachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(9, 10))
		for _, n := range append(sizes, 1290, 100480) {
			w, g, m := randVec(rng, n, 1), randVec(rng, n, 0.5), randVec(rng, n, 1)
			v := randVec(rng, n, 0.7)
			for i := range v {
				v[i] = v[i] * v[i]
			}
			w1, m1, v1 := slices.Clone(w), slices.Clone(m), slices.Clone(v)
			w2, m2, v2 := slices.Clone(w), slices.Clone(m), slices.Clone(v)
			const alpha, c1, c2, eps = 0.00031622776, 1 - float32(0.9), 1 - float32(0.999), 1e-7
			refAdam(w1, g, m1, v1, alpha, c1, c2, eps)
			Adam(w2, g, m2, v2, alpha, c1, c2, eps)
			for _, p := range [][2][]float32{{w1, w2}, {m1, m2}, {v1, v2}} {
				if i := sameBits(p[0], p[1]); i >= 0 {
					t.Fatalf("n=%d: element %d = %v, reference %v", n, i, p[1][i], p[0][i])
				}
			}
		}
	})
}

func TestRMSprop(t *testing.T) {
	eachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(19, 20))
		for _, n := range append(sizes, 1290, 100480) {
			w, g, r := randVec(rng, n, 1), randVec(rng, n, 0.5), randVec(rng, n, 0.7)
			for i := range r {
				r[i] = r[i] * r[i]
			}
			w1, r1 := slices.Clone(w), slices.Clone(r)
			w2, r2 := slices.Clone(w), slices.Clone(r)
			var lr, rho, eps float32 = 0.001, 0.9, 1e-7 // 1−rho in float32, as the optimizer has it
			refRMSprop(w1, g, r1, lr, rho, 1-rho, eps)
			RMSprop(w2, g, r2, lr, rho, eps)
			for _, p := range [][2][]float32{{w1, w2}, {r1, r2}} {
				if i := sameBits(p[0], p[1]); i >= 0 {
					t.Fatalf("n=%d: element %d = %v, reference %v", n, i, p[1][i], p[0][i])
				}
			}
			// The reference is the plain loop's order (the optimizer's).
			w3, r3 := slices.Clone(w), slices.Clone(r)
			for j := range w3 {
				r3[j] = rho*r3[j] + (1-rho)*g[j]*g[j]
				w3[j] -= lr * g[j] / sqrt32(r3[j]+eps)
			}
			if i := sameBits(w1, w3); i >= 0 {
				t.Fatalf("n=%d: reference w[%d] = %v, plain loop %v", n, i, w1[i], w3[i])
			}
		}
	})
}

func TestTranspose(t *testing.T) {
	eachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(21, 22))
		// Dense kernels' shapes (the cnn's 5408×10, mnist_mlp's 512×512),
		// row counts around the 16-row gathers, padded leading dimensions.
		for _, sh := range [][4]int{{5408, 10, 10, 5408}, {512, 512, 512, 512}, {1, 1, 1, 1}, {15, 3, 3, 15}, {16, 7, 9, 20},
			{17, 33, 33, 17}, {31, 16, 16, 40}, {676, 10, 10, 5408}, {100, 130, 130, 100}} {
			rows, cols, lds, ldd := sh[0], sh[1], sh[2], sh[3]
			src := randVec(rng, (rows-1)*lds+cols, 1)
			src[0] = float32(math.Copysign(0, -1)) // −0 and a NaN's bits must be copied as they are
			src[len(src)-1] = math.Float32frombits(0x7fc01234)
			want := randVec(rng, (cols-1)*ldd+rows, 1)
			got := slices.Clone(want)
			for i := 0; i < rows; i++ {
				for j := 0; j < cols; j++ {
					want[j*ldd+i] = src[i*lds+j]
				}
			}
			Transpose(got, ldd, src, lds, rows, cols)
			if i := sameBits(want, got); i >= 0 {
				t.Fatalf("%v: dst[%d] = %v, want %v", sh, i, got[i], want[i])
			}
		}
	})
}

func TestU8(t *testing.T) {
	var lut [256]float32
	for i := range lut {
		lut[i] = float32(float64(i)/255) - 0.25 // lut[0] != 0 too
	}
	eachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(11, 12))
		for _, n := range append(sizes, 1000) {
			src := make([]uint8, n)
			for i := range src {
				if rng.IntN(3) == 0 { // mostly zeros, like MNIST, and whole zero chunks
					src[i] = uint8(rng.IntN(256))
				}
			}
			if n > 40 {
				clear(src[8:40])
			}
			// Write past the end to catch overruns.
			a, b := make([]float32, n+1), make([]float32, n+1)
			a[n], b[n] = 42, 42
			refU8ToF32(a[:n], src)
			U8ToF32(b[:n], src)
			if i := sameBits(a, b); i >= 0 {
				t.Fatalf("U8ToF32 n=%d: dst[%d] = %v, reference %v", n, i, b[i], a[i])
			}
			refU8Lookup(a[:n], src, &lut)
			U8Lookup(b[:n], src, &lut)
			if i := sameBits(a, b); i >= 0 {
				t.Fatalf("U8Lookup n=%d: dst[%d] = %v, reference %v", n, i, b[i], a[i])
			}
		}
	})
}

// TestSpecialValues feeds infinities and NaNs through the arithmetic
// kernels: NaN results must appear in the same places.
func TestSpecialValues(t *testing.T) {
	specials := []float32{float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 0, float32(math.Copysign(0, -1)), 1e38, -1e38, 1e-45}
	same := func(a, b []float32) bool {
		for i := range a {
			an, bn := a[i] != a[i], b[i] != b[i]
			if an != bn || (!an && math.Float32bits(a[i]) != math.Float32bits(b[i])) {
				return false
			}
		}
		return true
	}
	eachLevel(t, func(t *testing.T) {
		u := 37
		w := make([]float32, 8*u)
		for i := range w {
			w[i] = specials[i%len(specials)]
		}
		idx := []int32{0, 1, 2, 5, 7}
		val := []float32{1, specials[0], specials[2], -2, specials[4]}
		z1, z2 := make([]float32, u), make([]float32, u)
		refAccumRows(z1, w, u, idx, val)
		AccumRows(z2, w, u, idx, val)
		if !same(z1, z2) {
			t.Fatalf("AccumRows with specials: %v, reference %v", z2, z1)
		}
		w1, w2 := slices.Clone(w), slices.Clone(w)
		g := slices.Clone(w)
		slices.Reverse(g)
		refSGD(w1, g, 0.5)
		SGD(w2, g, 0.5)
		if !same(w1, w2) {
			t.Fatalf("SGD with specials: %v, reference %v", w2, w1)
		}
	})
}

// TestExp compares Exp with math.Exp bit for bit over the whole float64
// range the losses and activations use, with dense sampling of the
// polynomial's reduced range and of the subnormal and overflow edges.
func TestExp(t *testing.T) {
	var xs []float64
	rng := rand.New(rand.NewPCG(17, 18))
	for i := 0; i < 200000; i++ {
		xs = append(xs, (rng.Float64()*2-1)*750, (rng.Float64()*2-1)*20, -rng.ExpFloat64()*50, rng.NormFloat64()*1e-6)
	}
	for x := -746.0; x < -700; x += 0.0137 {
		xs = append(xs, x)
	}
	for x := 700.0; x < 711; x += 0.0013 {
		xs = append(xs, x)
	}
	xs = append(xs, 0, math.Copysign(0, -1), math.Inf(1), math.Inf(-1), math.NaN(), 1e300, -1e300, 5e-324, -5e-324,
		math.MaxFloat64, -math.MaxFloat64, 709.782712893384, 709.782712893383, -745.1332191019411, -745.1332191019412)
	eachLevel(t, func(t *testing.T) {
		for _, n := range []int{1, 3, 4, 5, 7, 8, 9, 10, 16, 17, len(xs)} {
			for lo := 0; lo+n <= len(xs); lo += max(n, len(xs)/50) {
				x := xs[lo : lo+n]
				dst := make([]float64, n+1)
				dst[n] = 42
				Exp(dst[:n], x)
				for i, v := range x {
					want := math.Exp(v)
					if math.Float64bits(dst[i]) != math.Float64bits(want) && !(want != want && dst[i] != dst[i]) {
						t.Fatalf("Exp(%v) = %v (%#x), math.Exp %v (%#x)", v, dst[i], math.Float64bits(dst[i]), want, math.Float64bits(want))
					}
				}
				if dst[n] != 42 {
					t.Fatalf("Exp wrote past len(x) = %d", n)
				}
				inPlace := slices.Clone(x)
				Exp(inPlace, inPlace)
				for i := range x {
					if math.Float64bits(inPlace[i]) != math.Float64bits(dst[i]) && dst[i] == dst[i] {
						t.Fatalf("Exp in place: exp(%v) = %v, want %v", x[i], inPlace[i], dst[i])
					}
				}
			}
		}
	})
	t.Logf("vector variant in use: %d (0 none, 1 non-FMA, 2 FMA)", expVariantForTest())
}

func TestRelu(t *testing.T) {
	specials := []float32{0, float32(math.Copysign(0, -1)), float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 1e-45, -1e-45}
	eachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(25, 26))
		for _, n := range append(sizes, 4096) {
			x := randVec(rng, n, 0.9)
			dy := randVec(rng, n, 0.9)
			for i := 0; i < n; i += 3 {
				x[i] = specials[(i/3)%len(specials)]
				dy[i] = specials[(i/3+2)%len(specials)]
			}
			want, got := make([]float32, n), make([]float32, n)
			for j, v := range x {
				if v > 0 {
					want[j] = v
				}
			}
			Relu(got, x)
			if i := sameBits(want, got); i >= 0 {
				t.Fatalf("Relu n=%d: relu(%v) = %v, want %v", n, x[i], got[i], want[i])
			}
			inPlace := slices.Clone(x)
			Relu(inPlace, inPlace)
			if i := sameBits(want, inPlace); i >= 0 {
				t.Fatalf("Relu in place n=%d: element %d", n, i)
			}
			for j, v := range x {
				want[j] = 0
				if v > 0 {
					want[j] = dy[j]
				}
			}
			yy := make([]float32, n)
			Relu(yy, x)
			ReluGrad(got, yy, dy)
			if i := sameBits(want, got); i >= 0 {
				t.Fatalf("ReluGrad n=%d: element %d = %v, want %v", n, i, got[i], want[i])
			}
		}
	})
}

// expSumLoop is ExpSum's documented loop.
func expSumLoop(p []float32, z []float32, m float32) float64 {
	var s float64
	e := make([]float64, len(z))
	for j, v := range z {
		e[j] = math.Exp(float64(v - m))
		s += e[j]
	}
	if p != nil {
		inv := 1 / s
		for j := range z {
			p[j] = float32(float64(float32(e[j])) * inv)
		}
	}
	return s
}

func TestExpSum(t *testing.T) {
	eachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(29, 30))
		used := 0
		for iter := 0; iter < 20000; iter++ {
			n := 1 + rng.IntN(17)
			z := make([]float32, n)
			scale := []float64{1, 10, 300, 2000}[rng.IntN(4)]
			for j := range z {
				z[j] = float32(rng.NormFloat64() * scale)
			}
			if iter%50 == 0 {
				z[rng.IntN(n)] = float32(math.NaN())
			}
			m := z[0]
			for _, v := range z {
				if v > m {
					m = v
				}
			}
			p1, p2 := make([]float32, n), make([]float32, n)
			s1 := expSumLoop(p1, z, m)
			s2, ok := ExpSum(p2, z, m)
			if !ok {
				continue
			}
			used++
			if math.Float64bits(s1) != math.Float64bits(s2) || sameBits(p1, p2) >= 0 {
				t.Fatalf("z=%v m=%v: s=%v p=%v, loop s=%v p=%v", z, m, s2, p2, s1, p1)
			}
			if s3, ok := ExpSum(nil, z, m); !ok || math.Float64bits(s3) != math.Float64bits(s1) {
				t.Fatalf("z=%v: without p s=%v ok=%v, loop %v", z, s3, ok, s1)
			}
		}
		t.Logf("%d of 20000 rows done by the kernel", used)
		if Current() >= AVX2 && expVariantForTest() != 0 && used < 15000 {
			t.Errorf("the %v kernel handled only %d rows", Current(), used)
		}
	})
}

// channelCounts are the channel counts the channel-kernel tests try: every
// count up to 40 (so every tail of every vector width, and blocks of 1 to 5
// vectors), and wider ones that take several blocks.
var channelCounts = func() []int {
	var cs []int
	for c := 1; c <= 40; c++ {
		cs = append(cs, c)
	}
	return append(cs, 48, 63, 64, 65, 72, 100, 127, 128, 129, 136, 200, 256, 300)
}()

// channelRows returns rows×c values with per-channel offsets and scales
// (like activations), with some zeros, -0 and subnormals.
func channelRows(rng *rand.Rand, rows, c int) []float32 {
	x := make([]float32, rows*c)
	for i := range x {
		k := i % c
		x[i] = float32(rng.NormFloat64()*float64(1+k%5) + float64(k%3) - 0.5)
		switch rng.IntN(50) {
		case 0:
			x[i] = 0
		case 1:
			x[i] = float32(math.Copysign(0, -1))
		case 2:
			x[i] = 1e-40 * float32(rng.NormFloat64())
		}
	}
	return x
}

// padded returns s followed by a few sentinel values, and s's length.
func paddedF32(s []float32) []float32 { return append(slices.Clone(s), 42, 43, 44) }
func paddedF64(s []float64) []float64 { return append(slices.Clone(s), 42, 43, 44) }

func sameBits64(a, b []float64) int {
	if len(a) != len(b) {
		return 0
	}
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return i
		}
	}
	return -1
}

func TestChannelKernels(t *testing.T) {
	eachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(31, 32))
		for _, c := range channelCounts {
			for _, rows := range []int{1, 2, 3, 17, 130} {
				// 64-byte aligned parameters or not: AVX-512 runs
				// ChannelAffine and NormGrad on 16 lanes only if they are.
				aligned := rows%2 == 1
				name := fmt.Sprintf("c=%d rows=%d aligned=%v", c, rows, aligned)
				x, dy := channelRows(rng, rows, c), channelRows(rng, rows, c)
				params := func() []float32 {
					p := AlignedFloats(c + 1)
					if !aligned {
						p = p[1:]
					}
					copy(p, channelRows(rng, 1, c))
					return p[:c]
				}
				a, off, q, r, mean := params(), params(), params(), params(), params()
				inv := params()
				for k := range inv {
					inv[k] = float32(math.Abs(float64(inv[k]))) + 0.1
				}
				// The sums add to what is there.
				s0, q0 := make([]float64, c), make([]float64, c)
				for k := range s0 {
					s0[k], q0[k] = rng.NormFloat64(), rng.Float64()
				}

				s1, sq1 := slices.Clone(s0), slices.Clone(q0)
				s2, sq2 := paddedF64(s0), paddedF64(q0)
				refChannelMoments(s1, sq1, x)
				ChannelMoments(s2[:c], sq2[:c], x)
				if i := sameBits64(paddedF64(s1), s2); i >= 0 {
					t.Fatalf("ChannelMoments %s: sum[%d] = %v, reference %v", name, i, s2[i], paddedF64(s1)[i])
				}
				if i := sameBits64(paddedF64(sq1), sq2); i >= 0 {
					t.Fatalf("ChannelMoments %s: sq[%d] = %v, reference %v", name, i, sq2[i], paddedF64(sq1)[i])
				}

				s1, sq1 = slices.Clone(s0), slices.Clone(q0)
				s2, sq2 = paddedF64(s0), paddedF64(q0)
				refNormGradSums(s1, sq1, x, dy, mean, inv)
				NormGradSums(s2[:c], sq2[:c], x, dy, mean, inv)
				if i := sameBits64(paddedF64(s1), s2); i >= 0 {
					t.Fatalf("NormGradSums %s: sum[%d] = %v, reference %v", name, i, s2[i], paddedF64(s1)[i])
				}
				if i := sameBits64(paddedF64(sq1), sq2); i >= 0 {
					t.Fatalf("NormGradSums %s: sumXhat[%d] = %v, reference %v", name, i, sq2[i], paddedF64(sq1)[i])
				}

				m := len(x)
				y1, y2 := make([]float32, m), paddedF32(make([]float32, m))
				refChannelAffine(y1, x, a, off)
				ChannelAffine(y2[:m], x, a, off)
				if i := sameBits(paddedF32(y1), y2); i >= 0 {
					t.Fatalf("ChannelAffine %s: y[%d] = %v, reference %v", name, i, y2[i], paddedF32(y1)[i])
				}
				inPlace := slices.Clone(x)
				ChannelAffine(inPlace, inPlace, a, off)
				if i := sameBits(y1, inPlace); i >= 0 {
					t.Fatalf("ChannelAffine in place %s: y[%d] = %v, reference %v", name, i, inPlace[i], y1[i])
				}

				d1, d2 := make([]float32, m), paddedF32(make([]float32, m))
				refNormGrad(d1, x, dy, a, q, r, mean, inv)
				NormGrad(d2[:m], x, dy, a, q, r, mean, inv)
				if i := sameBits(paddedF32(d1), d2); i >= 0 {
					t.Fatalf("NormGrad %s: dx[%d] = %v, reference %v", name, i, d2[i], paddedF32(d1)[i])
				}
				inPlace = slices.Clone(dy)
				NormGrad(inPlace, x, inPlace, a, q, r, mean, inv)
				if i := sameBits(d1, inPlace); i >= 0 {
					t.Fatalf("NormGrad in place %s: dx[%d] = %v, reference %v", name, i, inPlace[i], d1[i])
				}
			}
		}
	})
}

// TestChannelKernelsSpecial feeds infinities and NaNs through the channel
// kernels: NaN results must appear in the same places, other results be
// identical.
func TestChannelKernelsSpecial(t *testing.T) {
	specials := []float32{float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 0, float32(math.Copysign(0, -1)), 3e38, -3e38, 1e-45}
	same32 := func(a, b []float32) bool {
		for i := range a {
			an, bn := a[i] != a[i], b[i] != b[i]
			if an != bn || (!an && math.Float32bits(a[i]) != math.Float32bits(b[i])) {
				return false
			}
		}
		return true
	}
	same64 := func(a, b []float64) bool {
		for i := range a {
			an, bn := a[i] != a[i], b[i] != b[i]
			if an != bn || (!an && math.Float64bits(a[i]) != math.Float64bits(b[i])) {
				return false
			}
		}
		return true
	}
	eachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(33, 34))
		for _, c := range []int{5, 8, 16, 37} {
			const rows = 9
			x, dy := channelRows(rng, rows, c), channelRows(rng, rows, c)
			for i := range x {
				if rng.IntN(4) == 0 {
					x[i] = specials[rng.IntN(len(specials))]
				}
				if rng.IntN(4) == 0 {
					dy[i] = specials[rng.IntN(len(specials))]
				}
			}
			p := make([][]float32, 6)
			for j := range p {
				p[j] = channelRows(rng, 1, c)
				p[j][rng.IntN(c)] = specials[rng.IntN(len(specials))]
			}
			a, off, q, r, mean, inv := p[0], p[1], p[2], p[3], p[4], p[5]
			s1, h1 := make([]float64, c), make([]float64, c)
			s2, h2 := make([]float64, c), make([]float64, c)
			refChannelMoments(s1, h1, x)
			ChannelMoments(s2, h2, x)
			if !same64(s1, s2) || !same64(h1, h2) {
				t.Fatalf("ChannelMoments c=%d: %v %v, reference %v %v", c, s2, h2, s1, h1)
			}
			clear(s1)
			clear(h1)
			clear(s2)
			clear(h2)
			refNormGradSums(s1, h1, x, dy, mean, inv)
			NormGradSums(s2, h2, x, dy, mean, inv)
			if !same64(s1, s2) || !same64(h1, h2) {
				t.Fatalf("NormGradSums c=%d: %v %v, reference %v %v", c, s2, h2, s1, h1)
			}
			y1, y2 := make([]float32, len(x)), make([]float32, len(x))
			refChannelAffine(y1, x, a, off)
			ChannelAffine(y2, x, a, off)
			if !same32(y1, y2) {
				t.Fatalf("ChannelAffine c=%d: %v, reference %v", c, y2, y1)
			}
			refNormGrad(y1, x, dy, a, q, r, mean, inv)
			NormGrad(y2, x, dy, a, q, r, mean, inv)
			if !same32(y1, y2) {
				t.Fatalf("NormGrad c=%d: %v, reference %v", c, y2, y1)
			}
		}
	})
}

func TestChannelKernelsShapes(t *testing.T) {
	for _, f := range []func(){
		func() { ChannelMoments(make([]float64, 3), make([]float64, 3), make([]float32, 7)) },
		func() { ChannelMoments(make([]float64, 3), make([]float64, 2), make([]float32, 6)) },
		func() { ChannelAffine(make([]float32, 5), make([]float32, 6), make([]float32, 3), make([]float32, 3)) },
		func() {
			NormGradSums(make([]float64, 3), make([]float64, 3), make([]float32, 6), make([]float32, 3), make([]float32, 3), make([]float32, 3))
		},
		func() {
			NormGrad(make([]float32, 6), make([]float32, 6), make([]float32, 6), make([]float32, 3), make([]float32, 2), make([]float32, 3), make([]float32, 3), make([]float32, 3))
		},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("no panic on bad shapes")
				}
			}()
			f()
		}()
	}
	// Empty batches do nothing.
	ChannelMoments(nil, nil, nil)
	ChannelAffine(nil, nil, nil, nil)
	NormGradSums(nil, nil, nil, nil, nil, nil)
	NormGrad(nil, nil, nil, nil, nil, nil, nil, nil)
}

// TestHasAccumCols checks that HasAccumCols reports exactly whether
// AccumCols does the work at each level.
func TestHasAccumCols(t *testing.T) {
	eachLevel(t, func(t *testing.T) {
		in, u, n := 5, 3, 2
		z, w, x := make([]float32, n*u), make([]float32, in*u), make([]float32, n*in)
		mask := make([]uint64, in)
		if got := AccumCols(z, w, x, in, u, mask, n); got != HasAccumCols() {
			t.Fatalf("AccumCols reported %v, HasAccumCols %v", got, HasAccumCols())
		}
	})
}
