//go:build !purego

package kernels

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestConvGradVariants calls every convGrad variant (each level's vector
// count nv, kernel rows kb, whole or masked last vector) on one block of
// filters inside wider rows and compares it with the reference: the
// block's elements must be the reference's, every other element of g and
// gb untouched. TestConvGrad reaches only the variants gradPlan picks.
func TestConvGradVariants(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	for _, l := range Supported() {
		if l < AVX2 {
			continue
		}
		lanes, kbMax, run := 8, convGradKB256, convGrad256
		if l == AVX512 {
			lanes, kbMax, run = 16, convGradKB512, convGrad512
		}
		for nv := 1; nv <= 2; nv++ {
			for kb := 1; kb <= kbMax[nv]; kb++ {
				for _, full := range []bool{true, false} {
					tail := lanes
					if !full {
						tail = 1 + rng.IntN(lanes-1)
					}
					width := (nv-1)*lanes + tail
					jb := 8                       // the block starts inside the rows (at a mask byte)
					f := jb + width + rng.IntN(5) // and other filters may follow
					k0 := rng.IntN(3)             // the block's first kernel row
					k := k0 + kb + rng.IntN(3)
					n := 1 + rng.IntN(40)
					x, pix, koff := convCase(rng, n, k, 0.6)
					dz := randVec(rng, n*f, 0.9)
					ms := MaskStride(f)
					m := make([]uint8, n*ms)
					for i := range m {
						m[i] = uint8(rng.Uint32())
					}
					specials(rng, dz)
					for _, withMask := range []bool{false, true} {
						for _, withB := range []bool{false, true} {
							g0 := randVec(rng, k*f, 1)
							gb0 := randVec(rng, f, 1)
							var mm []uint8
							if withMask {
								mm = m
							}
							// Expected: the reference over all filters and the
							// block's rows, kept inside the block only.
							gr, gbr := slices.Clone(g0), slices.Clone(gb0)
							refConvGrad(gr[k0*f:], gbr, x, pix, koff[k0:k0+kb], dz, mm, f)
							want, wantB := slices.Clone(g0), slices.Clone(gb0)
							for kk := k0; kk < k0+kb; kk++ {
								copy(want[kk*f+jb:kk*f+jb+width], gr[kk*f+jb:])
							}
							got, gotB := slices.Clone(g0), slices.Clone(gb0)
							var gbp *float32
							if withB {
								copy(wantB[jb:jb+width], gbr[jb:])
								gbp = &gotB[jb]
							}
							run(nv, kb, full, &got[k0*f+jb], gbp, &x[0], &pix[0], n, &koff[k0], &dz[jb], bptr(mm, jb/8), ms, f, tail)
							name := fmt.Sprintf("%v nv=%d kb=%d full=%v tail=%d f=%d n=%d mask=%v bias=%v", l, nv, kb, full, tail, f, n, withMask, withB)
							if i := sameNaN(want, got); i >= 0 {
								t.Fatalf("%s: g[%d] = %v, want %v", name, i, got[i], want[i])
							}
							if i := sameNaN(wantB, gotB); i >= 0 {
								t.Fatalf("%s: gb[%d] = %v, want %v", name, i, gotB[i], wantB[i])
							}
						}
					}
				}
			}
		}
	}
}

// TestMaxPool8Vector checks which windows and channel counts the byte
// pooling kernels take at each level (TestMaxPool checks their results).
func TestMaxPool8Vector(t *testing.T) {
	for _, l := range Supported() {
		withLevel(l, func() {
			for _, c := range []struct {
				nc, c int
				want  bool
			}{{4, 32, l >= AVX2}, {9, 64, l >= AVX2}, {4, 8, l == AVX2}, {4, 12, false}, {5, 32, false}, {1, 32, false}} {
				if got := MaxPool8Vector(c.nc, c.c); got != c.want {
					t.Errorf("%s: MaxPool8Vector(%d, %d) = %v, want %v", l, c.nc, c.c, got, c.want)
				}
			}
		})
	}
}
