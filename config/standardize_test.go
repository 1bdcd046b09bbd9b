package config

import (
	"io"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-ml/kiln/data"
)

// data.standardize: per-feature statistics of the training rows, applied
// to the training and the test split alike; written back by Marshal.
func TestDataStandardize(t *testing.T) {
	dir := t.TempDir()
	// Two features on scales 1000 and 0.01; the test split is shifted.
	xtr := []float32{1000, 0.01, 3000, 0.03, 2000, 0.02, 4000, 0.04}
	xte := []float32{2500, 0.025, 5000, 0.05}
	err := data.WriteNPZ(filepath.Join(dir, "d.npz"), []string{"x_train", "y_train", "x_test", "y_test"}, map[string]*data.Array{
		"x_train": data.NewFloat32(xtr, 4, 2), "y_train": data.NewFloat32([]float32{0, 1, 0, 1}, 4),
		"x_test": data.NewFloat32(xte, 2, 2), "y_test": data.NewFloat32([]float32{0, 1}, 2)})
	if err != nil {
		t.Fatal(err)
	}
	src := "data: {npz: d.npz, standardize: true}\nmodel:\n  - Input: {shape: [2]}\n  - Dense: {units: 1, activation: sigmoid}\n" +
		"compile: {optimizer: sgd, loss: binary_crossentropy}\nfit: {epochs: 1}\n"
	e, err := Parse([]byte(src), filepath.Join(dir, "e.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !e.Data.Standardize {
		t.Fatal("standardize: true not decoded")
	}
	e.Path = filepath.Join(dir, "e.yaml")
	r, err := Build(e, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	for j := 0; j < 2; j++ {
		var m, sq float64
		for i := 0; i < 4; i++ {
			v := r.X.At(i*2 + j)
			m += v / 4
			sq += v * v / 4
		}
		if math.Abs(m) > 1e-5 || math.Abs(sq-1) > 1e-4 {
			t.Errorf("feature %d: mean %g, mean square %g; want 0 and 1", j, m, sq)
		}
	}
	// The test split uses the training statistics (mean 2500, std √1.25e6).
	if v := r.Test.X.At(0); math.Abs(v) > 1e-5 {
		t.Errorf("test row 0 feature 0 = %g, want 0 (the training mean)", v)
	}
	if v, want := r.Test.X.At(2), 2500/math.Sqrt(1.25e6); math.Abs(v-want) > 1e-4 {
		t.Errorf("test row 1 feature 0 = %g, want %g", v, want)
	}
	b, err := e.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "standardize: true") {
		t.Errorf("Marshal lost standardize:\n%s", b)
	}
	// --set turns it on.
	e2, err := Parse([]byte(strings.Replace(src, ", standardize: true", "", 1)), filepath.Join(dir, "e.yaml"), []string{"data.standardize=true"})
	if err != nil || !e2.Data.Standardize {
		t.Errorf("--set data.standardize=true: %v, %v", err, e2 != nil && e2.Data.Standardize)
	}
}
