package kiln

import (
	"context"
	"io"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/kiln-ml/kiln/data"
	"github.com/kiln-ml/kiln/layers"
)

// TestByteInputsMatchFloatInputs trains and evaluates the same models on
// uint8 data (which the first Dense layer reads directly, see
// Dense.ForwardBytes) and on the same values as float32, and requires
// bit-identical weights, history, evaluation and predictions.
func TestByteInputsMatchFloatInputs(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n, in = 250, 6 * 6
	u8 := make([]uint8, n*in)
	for i := range u8 {
		if rng.IntN(4) == 0 {
			u8[i] = uint8(1 + rng.IntN(255))
		}
	}
	labels := make([]float32, n*3)
	for r := 0; r < n; r++ {
		labels[r*3+rng.IntN(3)] = 1
	}
	y := data.NewFloat32(labels, n, 3)
	for _, scale := range []float64{1, 1.0 / 255} {
		xb := data.NewUint8(u8, n, 6, 6)
		if scale != 1 {
			xb = xb.WithScale(scale)
		}
		f := make([]float32, n*in)
		xb.GatherRows(f, iotaInts(n))
		xf := data.NewFloat32(f, n, 6, 6)
		for _, hidden := range []int{0, 40} {
			build := func() *Sequential {
				items := []any{layers.NewInput(6, 6), layers.NewFlatten()}
				if hidden > 0 {
					items = append(items, layers.MustNewDense(hidden, layers.WithActivation("relu")))
				}
				items = append(items, layers.MustNewDense(3, layers.WithActivation("sigmoid")))
				m := NewSequential(items...)
				if err := m.Compile(CompileOptions{Optimizer: "sgd", Loss: "categorical_crossentropy",
					Metrics: []string{"accuracy"}, Seed: 3, Warnings: io.Discard}); err != nil {
					t.Fatal(err)
				}
				return m
			}
			run := func(x *data.Array) ([]float32, *History, Result, *data.Array) {
				m := build()
				h, err := m.Fit(context.Background(), x, y, FitOptions{BatchSize: 16, Epochs: 2, ValidationData: &XY{x, y}})
				if err != nil {
					t.Fatal(err)
				}
				res, err := m.Evaluate(context.Background(), x, y, EvaluateOptions{BatchSize: 32})
				if err != nil {
					t.Fatal(err)
				}
				p, err := m.Predict(context.Background(), x, EvaluateOptions{BatchSize: 32})
				if err != nil {
					t.Fatal(err)
				}
				var w []float32
				for _, v := range m.Variables() {
					w = append(w, v.Value...)
				}
				return w, h, res, p
			}
			wb, hb, rb, pb := run(xb)
			wf, hf, rf, pf := run(xf)
			for i := range wb {
				if math.Float32bits(wb[i]) != math.Float32bits(wf[i]) {
					t.Fatalf("scale %g hidden %d: weight %d = %v from bytes, %v from floats", scale, hidden, i, wb[i], wf[i])
				}
			}
			for _, k := range hf.Keys {
				for e := range hf.History[k] {
					if hb.History[k][e] != hf.History[k][e] {
						t.Fatalf("scale %g hidden %d: %s[%d] = %v from bytes, %v from floats", scale, hidden, k, e, hb.History[k][e], hf.History[k][e])
					}
				}
			}
			for i := range rf.Values {
				if rb.Values[i] != rf.Values[i] {
					t.Fatalf("scale %g hidden %d: evaluate %s = %v from bytes, %v from floats", scale, hidden, rf.Names[i], rb.Values[i], rf.Values[i])
				}
			}
			for i := range pf.F32 {
				if math.Float32bits(pb.F32[i]) != math.Float32bits(pf.F32[i]) {
					t.Fatalf("scale %g hidden %d: prediction %d = %v from bytes, %v from floats", scale, hidden, i, pb.F32[i], pf.F32[i])
				}
			}
		}
	}
}

func iotaInts(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}
