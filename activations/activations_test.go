package activations

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestGradientsFiniteDifference checks every Backward against central
// differences of L = Σ w·f(x) with random weights w, computed in float64 around
// float32 points.
func TestGradientsFiniteDifference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const rows, cols = 3, 5
	for _, name := range Names() {
		f, _ := Get(name)
		x := make([]float32, rows*cols)
		w := make([]float32, rows*cols)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
			if name == "relu" && math.Abs(float64(x[i])) < 0.05 {
				x[i] = 0.5 // keep away from the kink
			}
			w[i] = float32(rng.NormFloat64())
		}
		y := make([]float32, rows*cols)
		f.Forward(y, x, rows, cols)
		dx := make([]float32, rows*cols)
		f.Backward(dx, y, w, rows, cols)
		loss := func(xs []float32) float64 {
			out := make([]float32, len(xs))
			f.Forward(out, xs, rows, cols)
			var s float64
			for i := range out {
				s += float64(w[i]) * float64(out[i])
			}
			return s
		}
		const h = 1e-2
		for i := range x {
			xp := append([]float32(nil), x...)
			xm := append([]float32(nil), x...)
			xp[i] += h
			xm[i] -= h
			num := (loss(xp) - loss(xm)) / (2 * h)
			if d := math.Abs(num - float64(dx[i])); d > 2e-3*math.Max(1, math.Abs(num)) {
				t.Errorf("%s: d/dx[%d] = %g, finite difference %g", name, i, dx[i], num)
			}
		}
	}
}

func TestSoftmaxStableAndNormalised(t *testing.T) {
	x := []float32{1000, 1001, 1002, -1000, 0, 1000}
	y := make([]float32, 6)
	Softmax(y, x, 2, 3)
	for r := 0; r < 2; r++ {
		var s float32
		for _, v := range y[r*3 : r*3+3] {
			if math.IsNaN(float64(v)) {
				t.Fatalf("NaN in softmax of large inputs: %v", y)
			}
			s += v
		}
		if math.Abs(float64(s)-1) > 1e-6 {
			t.Errorf("row %d sums to %g", r, s)
		}
	}
	if y[2] < y[1] || y[1] < y[0] {
		t.Errorf("softmax not monotone: %v", y)
	}
}

func TestSigmoidExtremes(t *testing.T) {
	x := []float32{-1000, 1000, 0}
	y := make([]float32, 3)
	Sigmoid(y, x, 1, 3)
	if y[0] != 0 || y[1] != 1 || y[2] != 0.5 {
		t.Errorf("sigmoid extremes = %v, want [0 1 0.5]", y)
	}
}

func TestUnknownActivationListsValid(t *testing.T) {
	_, err := Get("gelu")
	if err == nil || !strings.Contains(err.Error(), "relu, sigmoid, softmax, tanh") {
		t.Fatalf("error = %v", err)
	}
	if f, err := Get(""); err != nil || f.Name != "linear" {
		t.Fatalf("empty name should be linear, got %v %v", f.Name, err)
	}
}
