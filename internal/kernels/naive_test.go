package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// The other tests in this package compare each kernel with its ref* loop.
// At the generic level (the only one with -tags purego) the kernel is that
// loop, so they compare it with itself and a wrong reference passes. The
// tests here check every level against naive loops written from the doc
// comments' specifications, independently of ref.go: index by index, with
// the documented float32 roundings (so bit for bit), and for the float64
// sums of the channel kernels the documented float64 loop.
//
// catches (at the generic level, e.g. go test -tags purego, where the
// level-versus-reference tests cannot): refAccumRows overwriting instead
// of adding, refScatterRows subtracting, refCopyRows not clearing src,
// refSGD adding, refAdam without c2, refU8Lookup reading the wrong entry,
// refChannelAffine without off, refNormGrad with + r·x̂, refChannelMoments
// skipping the first row, refConvForward without the bias, refConvGrad
// ignoring the mask, refMaxPool taking the minimum.

func TestNaiveAccumScatter(t *testing.T) {
	eachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(41, 42))
		for _, u := range []int{1, 3, 8, 17, 33, 64, 100, 257} {
			for _, rows := range []int{0, 1, 6, 40} {
				const nrows = 45
				stride := u + rng.IntN(9)
				name := fmt.Sprintf("u=%d rows=%d stride=%d", u, rows, stride)
				w := randVec(rng, (nrows-1)*stride+u, 1)
				idx := make([]int32, rows)
				for i, p := range rng.Perm(nrows)[:rows] {
					idx[i] = int32(p)
				}
				val := randVec(rng, rows, 0.8)

				// AccumRows: z += Σ_i val[i]·w[idx[i]·stride:], i in order.
				z0 := randVec(rng, u, 1)
				want := slices.Clone(z0)
				for j := range want {
					for i := range val {
						want[j] += float32(val[i] * w[int(idx[i])*stride+j])
					}
				}
				got := slices.Clone(z0)
				AccumRows(got, w, stride, idx, val)
				if i := sameBits(want, got); i >= 0 {
					t.Fatalf("AccumRows %s: z[%d] = %v, naive %v", name, i, got[i], want[i])
				}
				z1 := randVec(rng, u, 1)
				want1 := slices.Clone(z1)
				for j := range want1 {
					for i := rows - 1; i >= 0; i-- { // second row: the lists reversed
						want1[j] += float32(val[rows-1-i] * w[int(idx[i])*stride+j])
					}
				}
				rIdx := slices.Clone(idx)
				slices.Reverse(rIdx)
				got0, got1 := slices.Clone(z0), slices.Clone(z1)
				AccumRows2(got0, got1, w, stride, idx, val, rIdx, val)
				if i := sameBits(want, got0); i >= 0 {
					t.Fatalf("AccumRows2 %s: z0[%d] = %v, naive %v", name, i, got0[i], want[i])
				}
				if i := sameBits(want1, got1); i >= 0 {
					t.Fatalf("AccumRows2 %s: z1[%d] = %v, naive %v", name, i, got1[i], want1[i])
				}

				// ScatterRows: g[idx[i]·stride+j] += val[i]·d[j] (distinct rows).
				d := randVec(rng, u, 1)
				g0 := randVec(rng, (nrows-1)*stride+u+3, 1)
				wantG := slices.Clone(g0)
				for i, v := range val {
					for j := range d {
						wantG[int(idx[i])*stride+j] += float32(v * d[j])
					}
				}
				gotG := slices.Clone(g0)
				ScatterRows(gotG, stride, idx, val, d)
				if i := sameBits(wantG, gotG); i >= 0 {
					t.Fatalf("ScatterRows %s: g[%d] = %v, naive %v", name, i, gotG[i], wantG[i])
				}
			}
		}
	})
}

func TestNaiveScatterBatchCopyRows(t *testing.T) {
	eachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(43, 44))
		for _, u := range []int{1, 7, 16, 17, 40} {
			for _, rows := range []int{1, 3, 32} {
				const in = 50
				stride := (u + 15) &^ 15
				var idx []int32
				var val []float32
				start := []int{0}
				for r := 0; r < rows; r++ {
					for k := 0; k < in; k++ {
						if rng.IntN(3) == 0 {
							idx = append(idx, int32(k))
							val = append(val, float32(rng.NormFloat64()))
						}
					}
					start = append(start, len(idx))
				}
				dz := randVec(rng, rows*u, 1)
				g0 := randVec(rng, in*stride, 1)
				want := slices.Clone(g0)
				for r := 0; r < rows; r++ {
					for e := start[r]; e < start[r+1]; e++ {
						for j := 0; j < u; j++ {
							want[int(idx[e])*stride+j] += float32(val[e] * dz[r*u+j])
						}
					}
				}
				got := slices.Clone(g0)
				ScatterBatch(got, stride, idx, val, start, dz)
				if i := sameBits(want, got); i >= 0 {
					t.Fatalf("ScatterBatch u=%d rows=%d: g[%d] = %v, naive %v", u, rows, i, got[i], want[i])
				}
			}
		}
		for _, width := range []int{1, 5, 16, 33, 100} {
			for _, clearSrc := range []bool{false, true} {
				const rows = 6
				ss, ds := width+rng.IntN(5), width+rng.IntN(5)
				src := randVec(rng, (rows-1)*ss+width, 1)
				dst := randVec(rng, (rows-1)*ds+width+2, 1)
				wantD, wantS := slices.Clone(dst), slices.Clone(src)
				for r := 0; r < rows; r++ {
					for j := 0; j < width; j++ {
						wantD[r*ds+j] = src[r*ss+j]
						if clearSrc {
							wantS[r*ss+j] = 0
						}
					}
				}
				gotD, gotS := slices.Clone(dst), slices.Clone(src)
				CopyRows(gotD, ds, gotS, ss, rows, width, clearSrc)
				if i := sameBits(wantD, gotD); i >= 0 {
					t.Fatalf("CopyRows width=%d clear=%v: dst[%d] = %v, naive %v", width, clearSrc, i, gotD[i], wantD[i])
				}
				if i := sameBits(wantS, gotS); i >= 0 {
					t.Fatalf("CopyRows width=%d clear=%v: src[%d] = %v, naive %v", width, clearSrc, i, gotS[i], wantS[i])
				}
			}
		}
	})
}

func TestNaiveNonZeroAccumCols(t *testing.T) {
	eachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(45, 46))
		for _, sh := range [][2]int{{1, 1}, {9, 10}, {70, 17}, {130, 33}} {
			in, u := sh[0], sh[1]
			for _, n := range []int{1, 5, 64, 70} {
				x := randVec(rng, n*in, 0.3)
				x[rng.IntN(len(x))] = float32(math.Copysign(0, -1)) // −0 is zero
				words := (n + 63) / 64
				mask := make([]uint64, words*in)
				idx, val := make([]int32, in+Pad), make([]float32, in+Pad)
				for r := 0; r < n; r++ {
					row := x[r*in : (r+1)*in]
					c := NonZero(idx, val, row, mask[(r/64)*in:(r/64+1)*in], 1<<(r%64))
					var wantIdx []int32
					for k, v := range row {
						if v != 0 {
							wantIdx = append(wantIdx, int32(k))
						}
					}
					if !slices.Equal(idx[:c], wantIdx) {
						t.Fatalf("NonZero in=%d row %d: indices %v, naive %v", in, r, idx[:c], wantIdx)
					}
					for e, k := range wantIdx {
						if val[e] != row[k] {
							t.Fatalf("NonZero in=%d row %d: val[%d] = %v, want %v", in, r, e, val[e], row[k])
						}
					}
				}
				for r := 0; r < n; r++ {
					for k := 0; k < in; k++ {
						if set := mask[(r/64)*in+k]>>(r%64)&1 == 1; set != (x[r*in+k] != 0) {
							t.Fatalf("NonZero in=%d: mask bit (row %d, column %d) = %v, x = %v", in, r, k, set, x[r*in+k])
						}
					}
				}
				// AccumCols: z[r,:] += x[r,k]·w[k,:] over the set bits, k in order.
				w := randVec(rng, in*u, 1)
				z0 := randVec(rng, n*u, 1)
				want := slices.Clone(z0)
				for r := 0; r < n; r++ {
					for j := 0; j < u; j++ {
						for k := 0; k < in; k++ {
							if x[r*in+k] != 0 {
								want[r*u+j] += float32(x[r*in+k] * w[k*u+j])
							}
						}
					}
				}
				got := slices.Clone(z0)
				if !AccumCols(got, w, x, in, u, mask, n) {
					// No fast version: Dense uses AccumRows on each row's list.
					for r := 0; r < n; r++ {
						c := NonZero(idx, val, x[r*in:(r+1)*in], nil, 0)
						AccumRows(got[r*u:(r+1)*u], w, u, idx[:c], val[:c])
					}
				}
				if i := sameBits(want, got); i >= 0 {
					t.Fatalf("AccumCols in=%d u=%d n=%d: z[%d] = %v, naive %v", in, u, n, i, got[i], want[i])
				}
			}
		}
	})
}

func TestNaiveOptimizersAndBytes(t *testing.T) {
	eachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(47, 48))
		for _, n := range []int{1, 7, 16, 17, 100, 1029} {
			w, g := randVec(rng, n, 1), randVec(rng, n, 0.7)
			const lr = 0.037
			got := slices.Clone(w)
			SGD(got, g, lr)
			for j := range w {
				want := w[j] - float32(lr*g[j])
				// And in float64, to the float32 rounding of one step.
				if got[j] != want || math.Abs(float64(got[j])-(float64(w[j])-lr*float64(g[j]))) > 1e-6*math.Max(1, math.Abs(float64(w[j]))) {
					t.Fatalf("SGD n=%d: w[%d] = %v, want %v", n, j, got[j], want)
				}
			}

			m := randVec(rng, n, 1)
			v := randVec(rng, n, 1)
			for j := range v {
				v[j] *= v[j]
			}
			const alpha, c1, c2, eps = 0.0021, 0.1, 0.001, 1e-7
			gw, gm, gv := slices.Clone(w), slices.Clone(m), slices.Clone(v)
			Adam(gw, g, gm, gv, alpha, c1, c2, eps)
			for j := range w {
				mj := m[j] + float32((g[j]-m[j])*c1)
				vj := v[j] + float32((float32(g[j]*g[j])-v[j])*c2)
				wj := w[j] - float32(alpha*mj)/(float32(math.Sqrt(float64(vj)))+eps)
				if gm[j] != mj || gv[j] != vj || gw[j] != wj {
					t.Fatalf("Adam n=%d element %d: w, m, v = %v %v %v, naive %v %v %v", n, j, gw[j], gm[j], gv[j], wj, mj, vj)
				}
			}

			src := make([]uint8, n)
			for i := range src {
				src[i] = uint8(rng.IntN(256))
			}
			var lut [256]float32
			for i := range lut {
				lut[i] = float32(i)*0.5 - 3
			}
			a, b := make([]float32, n), make([]float32, n)
			U8ToF32(a, src)
			U8Lookup(b, src, &lut)
			for j, s := range src {
				if a[j] != float32(s) || b[j] != float32(s)*0.5-3 {
					t.Fatalf("n=%d byte %d: U8ToF32 %v, U8Lookup %v; want %v and %v", n, s, a[j], b[j], float32(s), float32(s)*0.5-3)
				}
			}
		}
	})
}

func TestNaiveChannelKernels(t *testing.T) {
	eachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(49, 50))
		for _, c := range []int{1, 3, 8, 16, 17, 33, 64, 100} {
			for _, rows := range []int{1, 4, 19} {
				name := fmt.Sprintf("c=%d rows=%d", c, rows)
				x, dy := randVec(rng, rows*c, 1), randVec(rng, rows*c, 1)
				a, off, q, r, mean := randVec(rng, c, 1), randVec(rng, c, 1), randVec(rng, c, 1), randVec(rng, c, 1), randVec(rng, c, 1)
				inv := randVec(rng, c, 1)
				for k := range inv {
					inv[k] = float32(math.Abs(float64(inv[k]))) + 0.1
				}
				s0, q0 := make([]float64, c), make([]float64, c)
				for k := range s0 {
					s0[k], q0[k] = rng.NormFloat64(), rng.Float64()
				}

				sum, sq := slices.Clone(s0), slices.Clone(q0)
				ChannelMoments(sum, sq, x)
				sumX, sumXh := slices.Clone(s0), slices.Clone(q0)
				NormGradSums(sumX, sumXh, x, dy, mean, inv)
				y := make([]float32, len(x))
				ChannelAffine(y, x, a, off)
				dx := make([]float32, len(x))
				NormGrad(dx, x, dy, a, q, r, mean, inv)
				for k := 0; k < c; k++ {
					ws, wq, wsd, wsx := s0[k], q0[k], s0[k], q0[k]
					for i := 0; i < rows; i++ {
						v, g := x[i*c+k], dy[i*c+k]
						ws += float64(v)
						wq += float64(v) * float64(v)
						xh := (v - mean[k]) * inv[k]
						wsd += float64(g)
						wsx += float64(g) * float64(xh)
						if want := float32(v*a[k]) + off[k]; y[i*c+k] != want {
							t.Fatalf("ChannelAffine %s: y[%d,%d] = %v, naive %v", name, i, k, y[i*c+k], want)
						}
						if want := float32(a[k]*g) + q[k] - float32(r[k]*xh); dx[i*c+k] != want {
							t.Fatalf("NormGrad %s: dx[%d,%d] = %v, naive %v", name, i, k, dx[i*c+k], want)
						}
					}
					if sum[k] != ws || sq[k] != wq {
						t.Fatalf("ChannelMoments %s: channel %d sums %v %v, naive %v %v", name, k, sum[k], sq[k], ws, wq)
					}
					if sumX[k] != wsd || sumXh[k] != wsx {
						t.Fatalf("NormGradSums %s: channel %d sums %v %v, naive %v %v", name, k, sumX[k], sumXh[k], wsd, wsx)
					}
				}
			}
		}
	})
}

func TestNaiveConvPool(t *testing.T) {
	eachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(51, 52))
		for _, f := range []int{1, 5, 8, 16, 32, 33, 70} {
			ms := MaskStride(f)
			for _, k := range []int{1, 4, 9} {
				for _, n := range []int{1, 7, 20} {
					name := fmt.Sprintf("f=%d k=%d n=%d", f, k, n)
					x, pix, koff := convCase(rng, n, k, 0.6)
					win := NewWindows(pix, koff, nil)
					w, bias := randVec(rng, k*f, 1), randVec(rng, f, 1)
					z, y := make([]float32, n*f), make([]float32, n*f)
					mask := make([]uint8, n*ms)
					ConvForward(z, y, mask, x, win, 0, n, w, f, bias)
					for q := 0; q < n; q++ {
						for j := 0; j < f; j++ {
							s := bias[j]
							for kk, o := range koff {
								s += float32(x[pix[q]+o] * w[kk*f+j])
							}
							if z[q*f+j] != s || y[q*f+j] != max(s, 0) || (mask[q*ms+j/8]>>(j%8)&1 == 1) != (s > 0) {
								t.Fatalf("ConvForward %s: (%d, %d) z %v y %v, naive %v", name, q, j, z[q*f+j], y[q*f+j], s)
							}
						}
					}

					dz := randVec(rng, n*f, 0.9)
					g0, gb0 := randVec(rng, k*f, 1), randVec(rng, f, 1)
					g, gb := slices.Clone(g0), slices.Clone(gb0)
					ConvGrad(g, gb, x, win, 0, n, dz, mask, f)
					for j := 0; j < f; j++ {
						wantB := gb0[j]
						wantG := make([]float32, k)
						for kk := range wantG {
							wantG[kk] = g0[kk*f+j]
						}
						for q := 0; q < n; q++ {
							d := dz[q*f+j]
							if mask[q*ms+j/8]>>(j%8)&1 == 0 {
								d = 0
							}
							wantB += d
							for kk, o := range koff {
								wantG[kk] += float32(x[pix[q]+o] * d)
							}
						}
						if gb[j] != wantB {
							t.Fatalf("ConvGrad %s: gb[%d] = %v, naive %v", name, j, gb[j], wantB)
						}
						for kk := range wantG {
							if g[kk*f+j] != wantG[kk] {
								t.Fatalf("ConvGrad %s: g[%d, %d] = %v, naive %v", name, kk, j, g[kk*f+j], wantG[kk])
							}
						}
					}
				}
			}
		}
		for _, c := range []int{1, 3, 16, 17, 40} {
			// 2×2 windows, stride 2, over a 6×8 image: they do not overlap.
			x, pix, out, cells := poolCase(rng, 6, 8, c, 2, 2, 2, 2)
			win := NewWindows(pix, cells, out)
			ny := len(pix) * c
			y, arg := make([]float32, ny), make([]int32, ny)
			MaxPool(y, arg, x, win, c)
			dy := randVec(rng, ny, 1)
			dx := randVec(rng, len(x), 1)
			MaxPoolGrad(dx, dy, arg, win, c)
			for q := range pix {
				for ch := 0; ch < c; ch++ {
					best, at := float32(math.Inf(-1)), int32(-1)
					for _, o := range cells {
						if i := pix[q] + o + int32(ch); x[i] > best {
							best, at = x[i], i
						}
					}
					if y[out[q]+int32(ch)] != best || arg[out[q]+int32(ch)] != at {
						t.Fatalf("MaxPool c=%d window %d channel %d: %v at %d, naive %v at %d", c, q, ch, y[out[q]+int32(ch)], arg[out[q]+int32(ch)], best, at)
					}
					for _, o := range cells {
						i := pix[q] + o + int32(ch)
						want := float32(0)
						if i == at {
							want = dy[out[q]+int32(ch)]
						}
						if dx[i] != want {
							t.Fatalf("MaxPoolGrad c=%d cell %d: %v, naive %v", c, i, dx[i], want)
						}
					}
				}
			}
		}
	})
}
