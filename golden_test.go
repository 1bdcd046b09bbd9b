package kiln

import (
	"encoding/json"
	"io"
	"math"
	"os"
	"testing"

	"github.com/kiln-ml/kiln/data"
	"github.com/kiln-ml/kiln/layers"
	"github.com/kiln-ml/kiln/losses"
	"github.com/kiln-ml/kiln/optimizers"
)

// goldenCase is one case of testdata/golden/golden.json, made with PyTorch by
// testdata/golden/gen_golden.py.
type goldenCase struct {
	Name     string `json:"name"`
	InputDim int    `json:"input_dim"`
	Layers   []struct {
		Units      int    `json:"units"`
		Activation string `json:"activation"`
	} `json:"layers"`
	Loss struct {
		Name           string  `json:"name"`
		LabelSmoothing float64 `json:"label_smoothing"`
		Semantics      string  `json:"semantics"`
	} `json:"loss"`
	Optimizer      map[string]any `json:"optimizer"`
	BatchSize      int            `json:"batch_size"`
	X              [][]float64    `json:"x"`
	Y              json.RawMessage
	InitialWeights []goldenWeights `json:"initial_weights"`
	StepLosses     []float64       `json:"step_losses"`
	FinalWeights   []goldenWeights `json:"final_weights"`
	ClassWeight    []float64       `json:"class_weight"`
}

type goldenWeights struct {
	Kernel [][]float64 `json:"kernel"`
	Bias   []float64   `json:"bias"`
}

// TestGoldenPyTorch trains small models from identical initial weights and
// batch order (no shuffle) and compares every step's loss and the final
// weights with PyTorch's, within 1e-5 relative.
func TestGoldenPyTorch(t *testing.T) {
	raw, err := os.ReadFile("testdata/golden/golden.json")
	if err != nil {
		t.Fatalf("golden fixtures missing (regenerate with /usr/bin/python3 testdata/golden/gen_golden.py): %v", err)
	}
	var file struct {
		Cases []goldenCase `json:"cases"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Cases) < 10 {
		t.Fatalf("only %d golden cases", len(file.Cases))
	}
	for _, gc := range file.Cases {
		t.Run(gc.Name, func(t *testing.T) { runGolden(t, gc) })
	}
}

func runGolden(t *testing.T, gc goldenCase) {
	n := len(gc.X)
	xs := make([]float32, 0, n*gc.InputDim)
	for _, row := range gc.X {
		for _, v := range row {
			xs = append(xs, float32(v))
		}
	}
	x := data.NewFloat32(xs, n, gc.InputDim)
	var y *data.Array
	var rows [][]float64
	var flat []float64
	if err := json.Unmarshal(gc.Y, &rows); err == nil {
		var ys []float32
		for _, r := range rows {
			for _, v := range r {
				ys = append(ys, float32(v))
			}
		}
		y = data.NewFloat32(ys, n, len(rows[0]))
	} else if err := json.Unmarshal(gc.Y, &flat); err == nil {
		ys := make([]int64, len(flat))
		for i, v := range flat {
			ys[i] = int64(v)
		}
		y = data.NewInt64(ys, n)
	} else {
		t.Fatalf("cannot read y: %v", err)
	}
	items := []any{layers.NewInput(gc.InputDim)}
	var dense []*layers.Dense
	for _, l := range gc.Layers {
		d := layers.MustNewDense(l.Units, layers.WithActivation(l.Activation))
		dense = append(dense, d)
		items = append(items, d)
	}
	m := NewSequential(items...)
	opt, err := optimizers.Get(gc.Optimizer["name"].(string), gc.Optimizer)
	if err != nil {
		t.Fatal(err)
	}
	loss, err := losses.Get(gc.Loss.Name, losses.Options{LabelSmoothing: gc.Loss.LabelSmoothing})
	if err != nil {
		t.Fatal(err)
	}
	sem := LogitsSemantics
	if gc.Loss.Semantics == "probabilities" {
		sem = ProbabilitySemantics
	}
	if err := m.Compile(CompileOptions{Optimizer: opt, Loss: loss, LossSemantics: sem, Warnings: io.Discard}); err != nil {
		t.Fatal(err)
	}
	for i, d := range dense {
		setGolden(d, gc.InitialWeights[i])
	}
	bs := gc.BatchSize
	step := 0
	for lo := 0; lo < n; lo += bs {
		hi := min(lo+bs, n)
		var o TrainOnBatchOptions
		if gc.ClassWeight != nil {
			o.ClassWeight = map[int]float64{}
			for c, w := range gc.ClassWeight {
				o.ClassWeight[c] = w
			}
		}
		res, err := m.TrainOnBatchWith(x.Slice(lo, hi), y.Slice(lo, hi), o)
		if err != nil {
			t.Fatal(err)
		}
		want := gc.StepLosses[step]
		if !closeRel(res.Values[0], want, 1e-5) {
			t.Errorf("step %d: loss %.9g, PyTorch %.9g (rel %.2e)", step, res.Values[0], want, rel(res.Values[0], want))
		}
		step++
	}
	if step != len(gc.StepLosses) {
		t.Fatalf("ran %d steps, fixture has %d", step, len(gc.StepLosses))
	}
	// Weights are compared norm-wise: max |Δ| over the layer divided by the
	// layer's max |w|. Element-wise ratios blow up on weights that pass near
	// zero, where float32 summation order alone changes the last digits.
	for i, d := range dense {
		fw := gc.FinalWeights[i]
		var maxDiff, maxAbs float64
		cmp := func(got float32, want float64) {
			maxDiff = math.Max(maxDiff, math.Abs(float64(got)-want))
			maxAbs = math.Max(maxAbs, math.Abs(want))
		}
		for k, row := range fw.Kernel {
			for j, want := range row {
				cmp(d.Kernel.Value[k*d.Units+j], want)
			}
		}
		for j, want := range fw.Bias {
			cmp(d.Bias.Value[j], want)
		}
		if r := maxDiff / maxAbs; r > 1e-5 {
			t.Errorf("layer %d: final weights differ from PyTorch by %.2e (max |Δ| / max |w|)", i, r)
		} else {
			t.Logf("layer %d: final weights agree to %.1e", i, r)
		}
	}
}

func setGolden(d *layers.Dense, w goldenWeights) {
	for k, row := range w.Kernel {
		for j, v := range row {
			d.Kernel.Value[k*d.Units+j] = float32(v)
		}
	}
	for j, v := range w.Bias {
		d.Bias.Value[j] = float32(v)
	}
}

func rel(a, b float64) float64 { return math.Abs(a-b) / math.Max(math.Abs(b), 1e-12) }

func closeRel(a, b, tol float64) bool { return rel(a, b) <= tol }
