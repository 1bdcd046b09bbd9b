package config_test

import (
	"encoding/json"
	"io"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/kiln-ml/kiln/config"
	"github.com/kiln-ml/kiln/datasets/mnist"
)

const cwBase = `data: {dataset: mnist, labels: onehot, limit: 600}
model:
  - Input: {shape: [28, 28]}
  - Flatten: {}
  - Dense: {units: 10, activation: softmax}
compile: {optimizer: sgd, loss: categorical_crossentropy}
fit:
  epochs: 1
`

func TestClassWeightParsesAndRoundTrips(t *testing.T) {
	e, err := config.Parse([]byte(cwBase+"  class_weight: {0: 1, 1: 2.5, 2: 0}\n"), "cw.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[int]float64{0: 1, 1: 2.5, 2: 0}; !reflect.DeepEqual(e.Fit.ClassWeight, want) {
		t.Errorf("class_weight %v, want %v", e.Fit.ClassWeight, want)
	}
	b := roundTrip(t, e)
	if !strings.Contains(string(b), "class_weight: {0: 1.0, 1: 2.5, 2: 0.0}") {
		t.Errorf("canonical form:\n%s", b)
	}
	if _, err := json.Marshal(e.Canonical()); err != nil || e.Canonical()["fit"] == nil {
		t.Errorf("Canonical with class_weight: %v", err)
	}
	e, err = config.Parse([]byte(cwBase), "cw.yaml", []string{"fit.class_weight=balanced"})
	if err != nil || !e.Fit.ClassWeightBalanced {
		t.Fatalf("--set fit.class_weight=balanced: %v %+v", err, e.Fit)
	}
	roundTrip(t, e)
}

func TestClassWeightErrors(t *testing.T) {
	for _, c := range []struct{ line, want string }{
		{"  class_weight: heavy\n", `fit.class_weight: is "heavy"`},
		{"  class_weight: [1, 2]\n", "expected a map from class index to weight"},
		{"  class_weight: {a: 1}\n", "the keys are class indices"},
		{"  class_weight: {-1: 1}\n", "the keys are class indices"},
		{"  class_weight: {0: -2}\n", "fit.class_weight.0: must be a finite non-negative number"},
		{"  class_weight: {0: .nan}\n", "must be a finite non-negative number"},
	} {
		_, err := config.Parse([]byte(cwBase+c.line), "cw.yaml", nil)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "cw.yaml:9") {
			t.Errorf("%q: %v; want an error at cw.yaml:9 containing %q", c.line, err, c.want)
		}
	}
}

// TestBalancedClassWeight: "balanced" gives n / (classes · count) per class
// of the training labels, which Build hands to Fit.
func TestBalancedClassWeight(t *testing.T) {
	if _, err := mnist.Locate(); err != nil {
		t.Skip(err)
	}
	e, err := config.Parse([]byte(cwBase+"  class_weight: balanced\n"), "cw.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := config.Build(e, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	counts := make([]int, 10)
	for i := 0; i < r.Y.Rows(); i++ {
		for c := 0; c < 10; c++ {
			if r.Y.At(i*10+c) == 1 {
				counts[c]++
			}
		}
	}
	for c, k := range counts {
		want := 600.0 / (10 * float64(k))
		if got := r.Fit.ClassWeight[c]; math.Abs(got-want) > 1e-12 {
			t.Errorf("class %d (count %d): weight %v, want %v", c, k, got, want)
		}
	}
}
