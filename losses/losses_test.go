package losses

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
)

type gradCase struct {
	name   string
	loss   Loss
	logits bool
	probs  bool // pred must be probabilities in (0,1)
	rowSum bool // pred rows must be positive (renormalised)
}

func allCases() []gradCase {
	return []gradCase{
		{"cce logits", &CategoricalCrossentropy{}, true, false, false},
		{"cce logits smoothing", &CategoricalCrossentropy{LabelSmoothing: 0.1}, true, false, false},
		{"cce probs", &CategoricalCrossentropy{}, false, true, true},
		{"cce probs smoothing", &CategoricalCrossentropy{LabelSmoothing: 0.2}, false, true, true},
		{"scce logits", &SparseCategoricalCrossentropy{}, true, false, false},
		{"scce probs", &SparseCategoricalCrossentropy{}, false, true, true},
		{"bce logits", &BinaryCrossentropy{}, true, false, false},
		{"bce logits smoothing", &BinaryCrossentropy{LabelSmoothing: 0.1}, true, false, false},
		{"bce probs", &BinaryCrossentropy{}, false, true, false},
		{"mse", MeanSquaredError{}, false, false, false},
	}
}

func makeInputs(rng *rand.Rand, gc gradCase, n, c int) (pred, y []float32) {
	pred = make([]float32, n*c)
	for i := range pred {
		if gc.probs {
			pred[i] = float32(0.05 + 0.9*rng.Float64())
		} else {
			pred[i] = float32(rng.NormFloat64() * 2)
		}
	}
	if gc.loss.Targets() == SparseTargets {
		y = make([]float32, n)
		for i := range y {
			y[i] = float32(rng.IntN(c))
		}
		return
	}
	y = make([]float32, n*c)
	for r := 0; r < n; r++ {
		switch gc.loss.(type) {
		case *CategoricalCrossentropy:
			y[r*c+rng.IntN(c)] = 1
		case *BinaryCrossentropy:
			for j := 0; j < c; j++ {
				y[r*c+j] = float32(rng.IntN(2))
			}
		default:
			for j := 0; j < c; j++ {
				y[r*c+j] = float32(rng.NormFloat64())
			}
		}
	}
	return
}

// TestGradientsFiniteDifference checks every loss, on both the logits and
// the probability path, against central differences in float64.
func TestGradientsFiniteDifference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const n, c = 4, 5
	for _, gc := range allCases() {
		pred, y := makeInputs(rng, gc, n, c)
		grad := make([]float32, n*c)
		gc.loss.Compute(pred, y, n, c, gc.logits, grad)
		for i := range pred {
			h := float32(1e-2)
			if gc.probs {
				h = 1e-3
			}
			pp := append([]float32(nil), pred...)
			pm := append([]float32(nil), pred...)
			pp[i] += h
			pm[i] -= h
			num := float64(gc.loss.Compute(pp, y, n, c, gc.logits, nil)-gc.loss.Compute(pm, y, n, c, gc.logits, nil)) / float64(2*h)
			if d := math.Abs(num - float64(grad[i])); d > 5e-3*math.Max(1, math.Abs(num)) {
				t.Errorf("%s: grad[%d] = %g, finite difference %g", gc.name, i, grad[i], num)
			}
		}
	}
}

// TestKnownValues pins values worked out by hand from Keras' formulas.
func TestKnownValues(t *testing.T) {
	// Softmax CE on logits [1,2,3], target class 2: lse − 3.
	lse := math.Log(math.Exp(1) + math.Exp(2) + math.Exp(3))
	cce := &CategoricalCrossentropy{}
	if got, want := cce.Compute([]float32{1, 2, 3}, []float32{0, 0, 1}, 1, 3, true, nil), lse-3; math.Abs(float64(got)-want) > 1e-6 {
		t.Errorf("cce logits = %v, want %v", got, want)
	}
	// Probability path bounds a hopeless prediction at −log(1e-7) = 16.1181.
	got := cce.Compute([]float32{1, 0, 0}, []float32{0, 0, 1}, 1, 3, false, nil)
	if math.Abs(float64(got)-16.118095) > 1e-4 {
		t.Errorf("clipped cce = %v, want 16.1181", got)
	}
	// The logits path is unbounded: logits in the hundreds give losses in the hundreds.
	if got := cce.Compute([]float32{300, 0, 0}, []float32{0, 0, 1}, 1, 3, true, nil); got < 299 {
		t.Errorf("cce on large logits = %v, want ≈300", got)
	}
	// BCE logits at z=0 is ln 2 whatever the target.
	bce := &BinaryCrossentropy{}
	if got := bce.Compute([]float32{0, 0}, []float32{0, 1}, 1, 2, true, nil); math.Abs(float64(got)-math.Ln2) > 1e-6 {
		t.Errorf("bce(0) = %v, want ln 2", got)
	}
	// MSE: mean over last axis then batch.
	if got := (MeanSquaredError{}).Compute([]float32{1, 2, 3, 4}, []float32{0, 0, 0, 0}, 2, 2, false, nil); got != (1+4+9+16)/4.0 {
		t.Errorf("mse = %v", got)
	}
	// Sparse and dense CE agree on the logits path.
	sc := &SparseCategoricalCrossentropy{}
	a := sc.Compute([]float32{0.5, -1, 2, 3, 1, 0}, []float32{2, 0}, 2, 3, true, nil)
	b := cce.Compute([]float32{0.5, -1, 2, 3, 1, 0}, []float32{0, 0, 1, 1, 0, 0}, 2, 3, true, nil)
	if math.Abs(float64(a-b)) > 1e-6 {
		t.Errorf("sparse %v != dense %v", a, b)
	}
}

func TestGetUnknownListsValid(t *testing.T) {
	_, err := Get("hinge", Options{})
	if err == nil || !strings.Contains(err.Error(), "categorical_crossentropy, mean_squared_error") {
		t.Fatalf("err = %v", err)
	}
	if l, err := Get("mse", Options{}); err != nil || l.Name() != "mean_squared_error" {
		t.Fatalf("mse alias: %v %v", l, err)
	}
	if _, err := Get("categorical_crossentropy", Options{LabelSmoothing: 2}); err == nil {
		t.Fatal("label_smoothing 2 accepted")
	}
}

// TestCrossEntropyTargetsNotSummingToOne checks categorical cross-entropy
// with rows whose targets do not sum to 1 (soft, multi-hot, all-zero,
// scaled): the logits-path gradient is Σy·softmax(z) − y, and only targets
// that are not one-hot tell that apart from softmax(z) − y. Analytic
// gradients are compared with central differences and with the hand formula
// in float64, on both the fast (no smoothing) and the smoothing branches, and
// on the probability path.
//
// catches: dropping the Σy factor (g = p − y) in either logits branch of
// CategoricalCrossentropy.Compute.
func TestCrossEntropyTargetsNotSummingToOne(t *testing.T) {
	const n, c = 4, 5
	y := []float32{
		0.3, 0.3, 0.3, 0.3, 0.3, // Σy = 1.5 (soft, not normalised)
		1, 0, 1, 0, 0, // Σy = 2 (multi-hot)
		0, 0, 0, 0, 0, // Σy = 0
		0, 2, 0, 0, 0.5, // Σy = 2.5 (scaled)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	logits := make([]float32, n*c)
	probs := make([]float32, n*c)
	for i := range logits {
		logits[i] = float32(rng.NormFloat64() * 2)
		probs[i] = float32(0.05 + 0.9*rng.Float64())
	}
	for _, tc := range []struct {
		name   string
		ls     float32
		logits bool
		pred   []float32
	}{
		{"logits", 0, true, logits},
		{"logits smoothing", 0.1, true, logits},
		{"probabilities", 0, false, probs},
		{"probabilities smoothing", 0.2, false, probs},
	} {
		l := &CategoricalCrossentropy{LabelSmoothing: tc.ls}
		grad := make([]float32, n*c)
		l.Compute(tc.pred, y, n, c, tc.logits, grad)
		h := float32(1e-2)
		if !tc.logits {
			h = 1e-3
		}
		for i := range tc.pred {
			pp := append([]float32(nil), tc.pred...)
			pm := append([]float32(nil), tc.pred...)
			pp[i] += h
			pm[i] -= h
			num := float64(l.Compute(pp, y, n, c, tc.logits, nil)-l.Compute(pm, y, n, c, tc.logits, nil)) / float64(2*h)
			if d := math.Abs(num - float64(grad[i])); d > 5e-3*math.Max(1, math.Abs(num)) {
				t.Errorf("%s: grad[%d] = %g, finite difference %g", tc.name, i, grad[i], num)
			}
		}
		if !tc.logits {
			continue
		}
		// The hand formula: (Σy'·softmax(z) − y') / n with y' the smoothed targets.
		for r := 0; r < n; r++ {
			z := tc.pred[r*c : (r+1)*c]
			var m, s, ys float64
			for _, v := range z {
				m = math.Max(m, float64(v))
			}
			for j, v := range z {
				s += math.Exp(float64(v) - m)
				ys += float64(y[r*c+j])*(1-float64(tc.ls)) + float64(tc.ls)/c
			}
			for j, v := range z {
				tj := float64(y[r*c+j])*(1-float64(tc.ls)) + float64(tc.ls)/c
				want := (ys*math.Exp(float64(v)-m)/s - tj) / n
				if got := float64(grad[r*c+j]); math.Abs(got-want) > 1e-6 {
					t.Errorf("%s: row %d (Σy %.2f) grad[%d] = %.7f, want (Σy·p − y)/n = %.7f", tc.name, r, ys, j, got, want)
				}
			}
		}
	}
}

// TestBinaryCrossentropyProbabilitiesGolden: binary_crossentropy on
// probabilities is Keras 3's and TF.js' formula, −[y·log(clip(p)) +
// (1−y)·log(1−clip(p))], loss and gradient, against PyTorch
// (testdata/gen_bce.py), predictions at and beyond the clip included.
//
// Catches: tf.keras 2.x's log(p+ε) (a clipped wrong sample: 15.42 instead
// of 16.12), a gradient through the clip, a clip with the ends excluded.
func TestBinaryCrossentropyProbabilitiesGolden(t *testing.T) {
	b, err := os.ReadFile("testdata/bce.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Cases []struct {
			N, C    int
			Pred, Y []float64
			Loss    float64
			Grad    []float64
		}
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	l := &BinaryCrossentropy{}
	for k, c := range g.Cases {
		pred, y := make([]float32, len(c.Pred)), make([]float32, len(c.Y))
		for i := range pred {
			pred[i], y[i] = float32(c.Pred[i]), float32(c.Y[i])
		}
		grad := make([]float32, len(pred))
		loss := l.Compute(pred, y, c.N, c.C, false, grad)
		if d := math.Abs(float64(loss) - c.Loss); d > 1e-5*math.Max(1, math.Abs(c.Loss)) {
			t.Errorf("case %d: loss %v, PyTorch %v", k, loss, c.Loss)
		}
		for i := range grad {
			if d := math.Abs(float64(grad[i]) - c.Grad[i]); d > 1e-6*math.Max(1, math.Abs(c.Grad[i])) {
				t.Errorf("case %d: grad[%d] = %v, PyTorch %v", k, i, grad[i], c.Grad[i])
			}
		}
	}
	// A confidently wrong sample costs −log(1e-7) = 16.12.
	if got := l.Compute([]float32{0}, []float32{1}, 1, 1, false, nil); math.Abs(float64(got)-16.118) > 1e-3 {
		t.Errorf("clipped wrong sample costs %v, want 16.118", got)
	}
}
