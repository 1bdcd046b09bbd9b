package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestLog compares Log with math.Log bit for bit on random values of every
// magnitude (subnormals included), values near the reduction's √2/2
// boundary, and the special cases, at every level and every length up to
// 70 (AVX2's tail of fewer than 4 values goes to math.Log).
//
// catches: a subtraction's operands swapped, the boundary compare taken as
// < instead of log_amd64.s's not-less-than, the exponent taken without its
// bias, a fused multiply-add anywhere.
func TestLog(t *testing.T) {
	t.Logf("vector log in use: %v", logVectorForTest())
	eachLevel(t, func(t *testing.T) {
		if Current() >= AVX2 && !logVectorForTest() {
			t.Errorf("the vector log does not match math.Log on its probe values: not in use")
		}
		rng := rand.New(rand.NewPCG(31, 32))
		specials := []float64{0, math.Copysign(0, -1), -1, -math.SmallestNonzeroFloat64, math.Inf(1), math.Inf(-1), math.NaN(),
			math.MaxFloat64, math.SmallestNonzeroFloat64, 1, 2, 0.7071067811865476, math.Nextafter(0.7071067811865476, 1)}
		for iter := 0; iter < 3000; iter++ {
			n := iter%70 + 1
			x := make([]float64, n)
			for i := range x {
				switch rng.IntN(6) {
				case 0:
					x[i] = math.Float64frombits(rng.Uint64() &^ (1 << 63)) // any positive bits (Inf and NaN too)
				case 1:
					x[i] = 1 + rng.Float64()*16 // a log-sum-exp's sum
				case 2:
					x[i] = math.Ldexp(0.7071067811865476*(1+(rng.Float64()-0.5)*1e-15), rng.IntN(2000)-1000)
				case 3:
					x[i] = specials[rng.IntN(len(specials))]
				default:
					x[i] = math.Exp(rng.NormFloat64() * 100)
				}
			}
			got := make([]float64, n)
			Log(got, x)
			for i, v := range x {
				if w := math.Log(v); math.Float64bits(got[i]) != math.Float64bits(w) {
					t.Fatalf("Log(%v) (%#x) = %v (%#x), math.Log %v (%#x)", v, math.Float64bits(v), got[i], math.Float64bits(got[i]), w, math.Float64bits(w))
				}
			}
		}
	})
}

// softmaxShiftLoop is SoftmaxShift with logSumExp's sequential maximum.
func softmaxShiftLoop(e []float64, m []float32, z []float32, c int) {
	for r := range m {
		zr := z[r*c : (r+1)*c]
		mr := zr[0]
		for _, v := range zr[1:] {
			if v > mr {
				mr = v
			}
		}
		m[r] = mr
		for j, v := range zr {
			e[r*c+j] = float64(v - mr)
		}
	}
}

// TestSoftmaxShift compares SoftmaxShift with a sequential loop at every
// level, c = 1..20 (the vector kernels take c ≤ 16), on rows with ties,
// ±0, infinities and NaN: rows without NaN must match bit for bit, but for
// the sign of zeros (a maximum of ±0), rows with NaN must have a NaN in e. It also checks that
// nothing past the rows is written.
//
// catches: a masked lane's 0 taken into the maximum (rows of negative
// values), a row stride off by one, a store past the last row.
func TestSoftmaxShift(t *testing.T) {
	eachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(33, 34))
		specials := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 3e38, -3e38}
		for iter := 0; iter < 2000; iter++ {
			c := iter%20 + 1
			rows := 1 + rng.IntN(40)
			z := make([]float32, rows*c)
			for i := range z {
				switch rng.IntN(10) {
				case 0:
					z[i] = specials[rng.IntN(len(specials))]
				case 1, 2:
					z[i] = float32(rng.IntN(3)) - 5 // ties
				default:
					z[i] = float32(rng.NormFloat64()*10) - 20
				}
			}
			e1, e2 := make([]float64, rows*c+20), make([]float64, rows*c+20)
			for i := range e2 {
				e2[i] = 12345
			}
			m1, m2 := make([]float32, rows), make([]float32, rows)
			softmaxShiftLoop(e1, m1, z, c)
			SoftmaxShift(e2, m2, z, c)
			for i := rows * c; i < len(e2); i++ {
				if e2[i] != 12345 {
					t.Fatalf("c=%d rows=%d: e[%d] written past the rows", c, rows, i)
				}
			}
			for r := 0; r < rows; r++ {
				nan := false
				for _, v := range z[r*c : (r+1)*c] {
					nan = nan || v != v
				}
				er1, er2 := e1[r*c:(r+1)*c], e2[r*c:(r+1)*c]
				if nan {
					has := false
					for _, v := range er2 {
						has = has || v != v
					}
					if !has {
						t.Fatalf("c=%d row %v: e %v has no NaN", c, z[r*c:(r+1)*c], er2)
					}
					continue
				}
				same := m1[r] == m2[r]
				for j := range er1 {
					same = same && (math.Float64bits(er1[j]) == math.Float64bits(er2[j]) || er1[j] == 0 && er2[j] == 0)
				}
				if !same {
					t.Fatalf("c=%d row %v: m=%v e=%v, loop m=%v e=%v", c, z[r*c:(r+1)*c], m2[r], er2, m1[r], er1)
				}
			}
		}
	})
}

// TestArgmaxRows compares ArgmaxRows with its loop at every level, c =
// 1..20, on rows with ties, ±0, infinities and NaN (first or elsewhere).
//
// catches: ties resolved to the last index, a NaN taken as the largest or
// a leading NaN not giving 0, a masked lane counted as a candidate.
func TestArgmaxRows(t *testing.T) {
	eachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(35, 36))
		specials := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())}
		for iter := 0; iter < 3000; iter++ {
			c := iter%20 + 1
			rows := 1 + rng.IntN(40)
			x := make([]float32, rows*c)
			for i := range x {
				switch rng.IntN(8) {
				case 0:
					x[i] = specials[rng.IntN(len(specials))]
				case 1, 2:
					x[i] = float32(rng.IntN(3)) - 5 // ties
				default:
					x[i] = float32(rng.NormFloat64()*10) - 20
				}
			}
			if iter%7 == 0 { // a row of all −Inf, NaN or equal values
				r := rng.IntN(rows)
				v := specials[2+rng.IntN(3)]
				for j := range c {
					x[r*c+j] = v
				}
			}
			i1, i2 := make([]int32, rows), make([]int32, rows)
			refArgmaxRows(i1, x, c)
			ArgmaxRows(i2, x, c)
			for r := range i1 {
				if i1[r] != i2[r] {
					t.Fatalf("c=%d row %v: %d, loop %d", c, x[r*c:(r+1)*c], i2[r], i1[r])
				}
			}
		}
	})
}

// TestXentRows compares XentRows with its loop at every level, c = 1..20,
// with and without a gradient, on exponentials down to subnormals and 0,
// infinite logits and targets that are soft, negative, infinite or NaN.
// Results must match bit for bit, except that two NaNs may differ in
// payload (losses redoes such rows by its per-row code).
//
// catches: Σt added in another order or from the float64 values, the loss
// terms subtracted in another order, p·Σt − t scaled before the
// subtraction, a subnormal exponential not mapped to 0.
func TestXentRows(t *testing.T) {
	eachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(37, 38))
		same := func(a, b float64) bool {
			return math.Float64bits(a) == math.Float64bits(b) || a != a && b != b
		}
		for iter := 0; iter < 3000; iter++ {
			c := iter%20 + 1
			rows := 1 + rng.IntN(40)
			z, tt, e := make([]float32, rows*c), make([]float32, rows*c), make([]float64, rows*c)
			m, s, lg := make([]float32, rows), make([]float64, rows), make([]float64, rows)
			for r := 0; r < rows; r++ {
				m[r] = float32(rng.NormFloat64() * 20)
				s[r] = 1 + rng.Float64()*float64(c)
				lg[r] = math.Log(s[r])
				kind := rng.IntN(5)
				for j := 0; j < c; j++ {
					i := r*c + j
					z[i] = m[r] - float32(rng.ExpFloat64()*30)
					e[i] = math.Exp(float64(z[i] - m[r]))
					switch rng.IntN(12) {
					case 0:
						e[i] = math.Float64frombits(rng.Uint64N(1 << 52)) // subnormal
					case 1:
						e[i] = 0
					case 2:
						z[i] = float32(math.Inf(-1))
					}
					switch kind {
					case 0:
						tt[i] = float32(rng.IntN(2))
					case 1:
						tt[i] = float32(rng.Float64())
					case 2:
						tt[i] = float32(rng.NormFloat64() * 3)
					case 3:
						tt[i] = []float32{0, 1, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 1e30}[rng.IntN(6)]
					}
				}
			}
			inv := 1 / float32(rows)
			for _, withG := range []bool{false, true} {
				var g1, g2 []float32
				if withG {
					g1, g2 = make([]float32, rows*c), make([]float32, rows*c)
				}
				l1, l2 := make([]float64, rows), make([]float64, rows)
				refXentRows(g1, l1, e, z, tt, m, lg, s, c, inv)
				XentRows(g2, l2, e, z, tt, m, lg, s, c, inv)
				for r := range l1 {
					if !same(l1[r], l2[r]) {
						t.Fatalf("c=%d row %d t=%v: loss %v, loop %v", c, r, tt[r*c:(r+1)*c], l2[r], l1[r])
					}
				}
				for i := range g1 {
					if !same(float64(g1[i]), float64(g2[i])) || math.Float32bits(g1[i]) != math.Float32bits(g2[i]) && g1[i] == g1[i] {
						t.Fatalf("c=%d g[%d] = %v (e %v), loop %v", c, i, g2[i], e[i], g1[i])
					}
				}
			}
		}
	})
}
