//go:build !purego

package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"golang.org/x/sys/cpu"
)

// TestExpVectorMatchesMathExp checks the assembly itself against math.Exp
// (TestExp goes through the start-up probe, which would quietly fall back
// to math.Exp if the vector code were wrong) and that the probe enabled it.
func TestExpVectorMatchesMathExp(t *testing.T) {
	if best() < AVX2 || !(cpu.X86.HasAVX && cpu.X86.HasFMA) {
		t.Skip("math.Exp does not use its FMA variant on this CPU")
	}
	if expVariant != 2 {
		t.Errorf("the start-up probe did not enable the FMA vector exp (variant %d)", expVariant)
	}
	rng := rand.New(rand.NewPCG(27, 28))
	var xs []float64
	for i := 0; i < 300000; i++ {
		xs = append(xs, (rng.Float64()*2-1)*760, rng.NormFloat64()*5)
	}
	for x := -746.0; x < -700; x += 0.0007 {
		xs = append(xs, x)
	}
	for x := 700.0; x < 710; x += 0.0007 {
		xs = append(xs, x)
	}
	got := make([]float64, len(xs))
	for _, l := range Supported()[1:] {
		expRun(l, 2, got, xs)
		for i, x := range xs {
			if want := math.Exp(x); math.Float64bits(got[i]) != math.Float64bits(want) {
				t.Fatalf("%v FMA exp(%v) = %v, math.Exp %v", l, x, got[i], want)
			}
		}
	}
}

// goExpNoFMA is the non-FMA path of Go's amd64 math.Exp (exp_amd64.s)
// for the inputs it finishes itself, transcribed to Go; the float64()
// conversions forbid the compiler to fuse.
func goExpNoFMA(x float64) float64 {
	const (
		log2e = 1.4426950408889634073599246810018920
		ln2u  = 0.69314718055966295651160180568695068359375
		ln2l  = 0.28235290563031577122588448175013436025525412068e-12
	)
	k := math.RoundToEven(float64(log2e * x))
	f := k
	x = x - float64(f*ln2u)
	x = x - float64(f*ln2l)
	x *= 0.0625
	p := 2.4801587301587301587e-5
	for _, c := range []float64{1.9841269841269841270e-4, 1.3888888888888888889e-3, 8.3333333333333333333e-3,
		4.1666666666666666667e-2, 1.6666666666666666667e-1, 0.5, 1.0} {
		p = float64(p*x) + c
	}
	x = x * p
	for i := 0; i < 4; i++ {
		x = x * (x + 2)
	}
	x += 1
	if b := int64(k) + 0x3ff; b <= 0 { // the denormal path
		if b < -52 {
			return 0
		}
		x *= math.Float64frombits(uint64(b+0x3fe) << 52)
		return x * 0x1p-1022
	}
	return x * math.Float64frombits(uint64(int64(k)+0x3ff)<<52)
}

// TestExpNoFMA checks the non-FMA vector variant against goExpNoFMA, since
// math.Exp on an FMA machine cannot.
func TestExpNoFMA(t *testing.T) {
	if best() < AVX2 {
		t.Skip("no vector exp in this build")
	}
	rng := rand.New(rand.NewPCG(19, 20))
	xs := make([]float64, 100000)
	for i := range xs {
		xs[i] = (rng.Float64()*2 - 1) * 700
		if i%3 == 0 {
			xs[i] = rng.NormFloat64() * 3
		}
		if i%5 == 0 {
			xs[i] = -708 - rng.Float64()*40 // subnormal and zero results
		}
	}
	got := make([]float64, len(xs))
	for _, l := range Supported()[1:] {
		expRun(l, 1, got, xs)
		for i, x := range xs {
			if want := goExpNoFMA(x); math.Float64bits(got[i]) != math.Float64bits(want) {
				t.Fatalf("%v non-FMA exp(%v) = %v, transcription %v", l, x, got[i], want)
			}
		}
	}
}

// TestExp256Finishes checks that the AVX2 exp kernels finish subnormal and
// zero results themselves (only NaN, overflow and infinite results go back
// to math.Exp) and leave the lanes they hand back untouched in dst.
func TestExp256Finishes(t *testing.T) {
	if best() < AVX2 || expVariant == 0 {
		t.Skip("no vector exp in this build")
	}
	rng := rand.New(rand.NewPCG(31, 32))
	for iter := 0; iter < 2000; iter++ {
		n := 1 + rng.IntN(64)
		x := make([]float64, n)
		want := uint64(0)
		for i := range x {
			switch rng.IntN(8) {
			case 0:
				x[i] = math.NaN()
				want |= 1 << i
			case 1:
				x[i] = 710 + rng.Float64()*100
				want |= 1 << i
			case 2:
				x[i] = math.Inf(-1)
			default:
				x[i] = -700 - rng.Float64()*50
			}
		}
		dst := make([]float64, n+1)
		for i := range dst {
			dst[i] = 42
		}
		var bad uint64
		if expVariant == 2 {
			bad = expFMA256(&dst[0], &x[0], n)
		} else {
			bad = exp256(&dst[0], &x[0], n)
		}
		if bad != want {
			t.Fatalf("x=%v: bad lanes %b, want %b", x, bad, want)
		}
		for i, v := range x {
			switch {
			case want&(1<<i) != 0:
				if dst[i] != 42 {
					t.Fatalf("exp(%v): lane handed back but overwritten with %v", v, dst[i])
				}
			case math.Float64bits(dst[i]) != math.Float64bits(math.Exp(v)):
				t.Fatalf("exp(%v) = %v, math.Exp %v", v, dst[i], math.Exp(v))
			}
		}
		if dst[n] != 42 {
			t.Fatalf("wrote past n = %d", n)
		}
	}
}
