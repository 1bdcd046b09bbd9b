//go:build !purego

package kernels

import (
	"math"
	"math/bits"
)

func softmaxShiftArch(e []float64, m []float32, z []float32, c int) bool {
	if level < AVX2 || c > 16 {
		return false
	}
	if level == AVX512 {
		maxShift512(&e[0], &m[0], &z[0], len(m), c)
	} else {
		maxShift256(&e[0], &m[0], &z[0], len(m), c)
	}
	return true
}

// logVector reports whether log512 and log256 reproduce math.Log (see
// logProbe).
var logVector = logProbe()

// logProbe runs the vector logs on a spread of inputs (subnormal to
// MaxFloat64, around the √2/2 boundary of the reduction, powers of two,
// and the special cases) and compares them with math.Log bit for bit.
func logProbe() bool {
	if best() < AVX2 {
		return false
	}
	xs := make([]float64, 0, 8192)
	for i := -1080; i <= 1030; i++ {
		f := math.Ldexp(1, i)
		h := f * 0.7071067811865476 // the reduction's boundary: its compare decides
		xs = append(xs, h)
		if i%3 == 0 {
			xs = append(xs, f, math.Nextafter(f, 0), math.Nextafter(h, 0), math.Nextafter(h, math.Inf(1)), f*1.2345678901234567)
		}
	}
	for i := 0; i < 1000; i++ {
		xs = append(xs, 1+float64(i)*0.0317, float64(i)*0.377+1e-300, math.Exp(float64(i)*0.7-350))
	}
	xs = append(xs, 0, math.Copysign(0, -1), -1, math.Inf(1), math.Inf(-1), math.NaN(), math.MaxFloat64, math.SmallestNonzeroFloat64)
	for len(xs)%64 != 0 {
		xs = append(xs, 1)
	}
	got := make([]float64, len(xs))
	for _, l := range []Level{AVX2, AVX512} {
		if l > best() {
			continue
		}
		logRun(l, got, xs)
		for i, x := range xs {
			if math.Float64bits(got[i]) != math.Float64bits(math.Log(x)) {
				return false
			}
		}
	}
	return true
}

// logArch computes dst[i] = math.Log(x[i]) for a prefix of x and returns
// its length.
func logArch(dst, x []float64) int {
	if level < AVX2 || !logVector {
		return 0
	}
	return logRun(level, dst, x)
}

// logRun is logArch at level l (AVX2 does whole vectors of 4 only).
func logRun(l Level, dst, x []float64) int {
	n := len(x)
	if l == AVX2 {
		n &^= 3
	}
	for i := 0; i < n; i += 64 {
		k := min(64, n-i)
		var bad uint64
		if l == AVX512 {
			bad = log512(&dst[i], &x[i], k)
		} else {
			bad = log256(&dst[i], &x[i], k)
		}
		for ; bad != 0; bad &= bad - 1 {
			j := i + bits.TrailingZeros64(bad)
			dst[j] = math.Log(x[j])
		}
	}
	return n
}

func logVectorForTest() bool { return logVector }

func argmaxRowsArch(idx []int32, x []float32, c int) bool {
	if level < AVX2 || c > 16 {
		return false
	}
	if level == AVX512 {
		argmaxRows512(&idx[0], &x[0], len(idx), c)
	} else {
		argmaxRows256(&idx[0], &x[0], len(idx), c)
	}
	return true
}

func xentRowsArch(g []float32, loss, e []float64, z, t, m []float32, lg, s []float64, c int, inv float32) bool {
	if level < AVX2 || c > 16 {
		return false
	}
	var gp *float32
	if g != nil {
		gp = &g[0]
	}
	xentRows256(gp, &loss[0], &e[0], &z[0], &t[0], &m[0], &lg[0], &s[0], len(loss), c, inv)
	return true
}
