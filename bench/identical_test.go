package bench

import (
	"context"
	"math"
	"testing"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/internal/kernels"
)

// TestKernelLevelsBitIdentical trains every workload (a slice of MNIST,
// shuffled, with validation) at every kernel level this CPU supports and
// requires the same weights and History, bit for bit, as the pure-Go
// reference level.
func TestKernelLevelsBitIdentical(t *testing.T) {
	for _, w := range Names() {
		t.Run(w, func(t *testing.T) {
			needMNIST(t) // catches: NewSetup failing, once skipped as "no data"
			type run struct {
				weights [][]float32
				hist    *kiln.History
			}
			var ref *run
			for _, l := range kernels.Supported() {
				prev, err := kernels.Use(l)
				if err != nil {
					t.Fatal(err)
				}
				s, err := NewSetup(w)
				if err != nil {
					kernels.Use(prev)
					t.Fatal(err)
				}
				h, err := s.Model.Fit(context.Background(), s.X.Slice(0, 4000), s.Y.Slice(0, 4000), kiln.FitOptions{
					BatchSize: 32, Epochs: 2, ValidationData: &kiln.XY{X: s.XVal.Slice(0, 2000), Y: s.YVal.Slice(0, 2000)}})
				kernels.Use(prev)
				if err != nil {
					t.Fatal(err)
				}
				r := &run{hist: h}
				for _, v := range s.Model.Variables() {
					r.weights = append(r.weights, append([]float32(nil), v.Value...))
				}
				if ref == nil {
					ref = r
					continue
				}
				for i, ws := range r.weights {
					for j, v := range ws {
						if math.Float32bits(v) != math.Float32bits(ref.weights[i][j]) {
							t.Fatalf("level %v: variable %d element %d = %v, generic %v", l, i, j, v, ref.weights[i][j])
						}
					}
				}
				for _, k := range ref.hist.Keys {
					for e, v := range ref.hist.History[k] {
						if got := r.hist.History[k][e]; math.Float64bits(got) != math.Float64bits(v) {
							t.Fatalf("level %v: %s[%d] = %v, generic %v", l, k, e, got, v)
						}
					}
				}
			}
		})
	}
}
