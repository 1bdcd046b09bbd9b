package layers

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/kiln-ml/kiln/tensor"
)

func mustBN(t testing.TB, opts ...Option) *BatchNormalization {
	t.Helper()
	b, err := NewBatchNormalization(opts...)
	if err != nil {
		t.Fatal(err)
	}
	b.SetName("bn")
	return b
}

// TestBatchNormGradients checks Backward against central differences in
// both modes: training (through the batch statistics) and inference.
func TestBatchNormGradients(t *testing.T) {
	cases := []struct {
		name string
		in   []int
		n    int
		opts []Option
	}{
		{"flat", []int{5}, 6, nil},
		{"images", []int{3, 4, 2}, 3, nil},
		{"no center, no scale", []int{4}, 5, []Option{WithCenter(false), WithScale(false)}},
		{"scale only", []int{2, 2, 3}, 2, []Option{WithCenter(false)}},
	}
	for _, c := range cases {
		b := mustBN(t, c.opts...)
		checkTrainingGradients(t, c.name+" (training)", b, c.in, c.n)
		// Inference mode, with moving statistics away from 0 and 1 and
		// gamma and beta away from their initial values.
		b = mustBN(t, c.opts...)
		checkLayer(t, c.name+" (inference)", &bnRandomised{b}, c.in, c.n)
	}
}

// bnRandomised builds b, then sets every weight to random values.
type bnRandomised struct{ *BatchNormalization }

func (r *bnRandomised) Build(in []int, rng *rand.Rand) ([]int, error) {
	out, err := r.BatchNormalization.Build(in, rng)
	for _, v := range append(r.Variables(), r.NonTrainableVariables()...) {
		for i := range v.Value {
			v.Value[i] = float32(0.5 + rng.Float64())
		}
	}
	return out, err
}

// checkTrainingGradients is checkLayer for a training Forward: the loss
// Σ w·Forward(x, training) depends on x through the batch statistics too.
func checkTrainingGradients(t *testing.T, name string, l *BatchNormalization, in []int, n int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 4))
	out, err := l.Build(in, rng)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	for _, v := range l.Variables() {
		for i := range v.Value {
			v.Value[i] = float32(0.5 + rng.Float64())
		}
	}
	l.Allocate(n, true)
	x := randSlice(rng, n*tensor.Size(in), 1)
	for i := range x {
		x[i] += float32(i % in[len(in)-1]) // channels with different means
	}
	w := randSlice(rng, n*tensor.Size(out), 1)
	forward := func() float64 { return lossOf(l.Forward(x, n, true), w) }
	forward()
	dx := append([]float32(nil), l.Backward(w, n)...)
	grads := map[*tensor.Variable][]float32{}
	for _, v := range l.Variables() {
		grads[v] = append([]float32(nil), v.Grad...)
	}
	const h = 1e-2
	tol := func(num float64) float64 { return 3e-3 * math.Max(1, math.Abs(num)) }
	diff := func(what string, p *float32, got float32) {
		old := *p
		*p = old + h
		lp := forward()
		*p = old - h
		lm := forward()
		*p = old
		if num := (lp - lm) / (2 * h); math.Abs(num-float64(got)) > tol(num) {
			t.Errorf("%s: dL/d%s = %g, finite difference %g", name, what, got, num)
		}
	}
	for i := range x {
		diff("x", &x[i], dx[i])
	}
	for v, g := range grads {
		for i := range v.Value {
			diff(v.Name, &v.Value[i], g[i])
		}
	}
}

// TestBatchNormMovingStatistics checks the moving statistics' update
// against a direct computation, and that inference uses them.
func TestBatchNormMovingStatistics(t *testing.T) {
	b := mustBN(t, WithMomentum(0.9))
	if _, err := b.Build([]int{2}, nil); err != nil {
		t.Fatal(err)
	}
	b.Allocate(4, true)
	x := []float32{1, 10, 2, 20, 3, 30, 6, 40} // channel 0: 1 2 3 6; channel 1: 10 20 30 40
	b.Forward(x, 4, true)
	// Means 3 and 25; biased variances 3.5 and 125.
	want := map[string][]float32{"moving_mean": {0.9*0 + 0.1*3, 0.9*0 + 0.1*25}, "moving_variance": {0.9*1 + 0.1*3.5, 0.9*1 + 0.1*125}}
	for _, v := range b.NonTrainableVariables() {
		name := strings.TrimPrefix(v.Name, "bn/")
		for k := range v.Value {
			if math.Abs(float64(v.Value[k]-want[name][k])) > 1e-5 {
				t.Errorf("%s = %v, want %v", v.Name, v.Value, want[name])
			}
		}
	}
	got := make([]float32, 2)
	b.Infer(got, []float32{1.3, 10}, 1)
	for k, xv := range []float64{1.3, 10} {
		mm, mv := float64(b.MovingMean.Value[k]), float64(b.MovingVariance.Value[k])
		if w := (xv - mm) / math.Sqrt(mv+1e-3); math.Abs(float64(got[k])-w) > 1e-5 {
			t.Errorf("Infer channel %d = %g, want %g", k, got[k], w)
		}
	}
	// An inference Forward must leave the statistics alone.
	before := append([]float32(nil), b.MovingVariance.Value...)
	b.Forward(x, 4, false)
	if !reflect.DeepEqual(before, b.MovingVariance.Value) {
		t.Error("an inference Forward changed the moving variance")
	}
}

type bnGolden struct {
	Name                                       string
	Shape                                      []int
	Momentum, Epsilon                          float64
	Center, Scale                              bool
	X, Gamma, Beta, MovingMean, MovingVariance []float32
	DY                                         []float32
	Y, DX, DGamma, DBeta                       []float64
	NewMovingMean, NewMovingVariance           []float64
	YInference                                 []float64
}

func (g *bnGolden) UnmarshalJSON(b []byte) error {
	// The file uses Keras' snake_case names.
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	fields := map[string]any{"name": &g.Name, "shape": &g.Shape, "momentum": &g.Momentum, "epsilon": &g.Epsilon,
		"center": &g.Center, "scale": &g.Scale, "x": &g.X, "gamma": &g.Gamma, "beta": &g.Beta,
		"moving_mean": &g.MovingMean, "moving_variance": &g.MovingVariance, "dy": &g.DY, "y": &g.Y, "dx": &g.DX,
		"dgamma": &g.DGamma, "dbeta": &g.DBeta, "new_moving_mean": &g.NewMovingMean,
		"new_moving_variance": &g.NewMovingVariance, "y_inference": &g.YInference}
	for k, dst := range fields {
		if err := json.Unmarshal(raw[k], dst); err != nil {
			return err
		}
	}
	return nil
}

// TestBatchNormGolden compares a training step and inference with PyTorch
// (testdata/batchnorm/gen_batchnorm.py).
func TestBatchNormGolden(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "batchnorm", "batchnorm.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct{ Cases []bnGolden }
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Cases) == 0 {
		t.Fatal("no cases")
	}
	for _, gc := range f.Cases {
		l := mustBN(t, WithMomentum(gc.Momentum), WithEpsilon(gc.Epsilon), WithCenter(gc.Center), WithScale(gc.Scale))
		n, in := gc.Shape[0], gc.Shape[1:]
		if _, err := l.Build(in, nil); err != nil {
			t.Fatal(err)
		}
		if l.Gamma != nil {
			copy(l.Gamma.Value, gc.Gamma)
		}
		if l.Beta != nil {
			copy(l.Beta.Value, gc.Beta)
		}
		copy(l.MovingMean.Value, gc.MovingMean)
		copy(l.MovingVariance.Value, gc.MovingVariance)
		check := func(what string, got []float32, want []float64) {
			t.Helper()
			if m := mismatch(got, want); m != "" {
				t.Errorf("%s %s: %s", gc.Name, what, m)
			}
		}
		yi := make([]float32, len(gc.X))
		l.Infer(yi, gc.X, n)
		check("inference y", yi, gc.YInference)

		l.Allocate(n, true)
		check("y", l.Forward(gc.X, n, true), gc.Y)
		check("dx", l.Backward(gc.DY, n), gc.DX)
		if l.Gamma != nil {
			check("dgamma", l.Gamma.Grad, gc.DGamma)
		}
		if l.Beta != nil {
			check("dbeta", l.Beta.Grad, gc.DBeta)
		}
		check("moving_mean", l.MovingMean.Value, gc.NewMovingMean)
		check("moving_variance", l.MovingVariance.Value, gc.NewMovingVariance)
	}
}

func TestBatchNormErrorsAndConfig(t *testing.T) {
	for _, o := range []Option{WithMomentum(1.5), WithMomentum(math.NaN()), WithEpsilon(0), WithEpsilon(-1)} {
		if _, err := NewBatchNormalization(o); err == nil {
			t.Error("a bad momentum or epsilon was accepted")
		}
	}
	b := mustBN(t, WithAxis(1))
	if _, err := b.Build([]int{4, 4, 2}, nil); err == nil || !strings.Contains(err.Error(), "axis -1") {
		t.Errorf("axis 1 of a (None, 4, 4, 2) input: %v", err)
	}
	b = mustBN(t, WithAxis(3))
	if _, err := b.Build([]int{4, 4, 2}, nil); err != nil {
		t.Errorf("axis 3 (the last) of a (None, 4, 4, 2) input: %v", err)
	}
	var names []string
	for _, v := range append(b.Variables(), b.NonTrainableVariables()...) {
		names = append(names, v.Name)
	}
	if want := "bn/gamma bn/beta bn/moving_mean bn/moving_variance"; strings.Join(names, " ") != want {
		t.Errorf("weights %v, want %s", names, want)
	}
	if cfg := b.Config(); cfg["axis"] != 3 || cfg["momentum"] != float64(float32(0.99)) || cfg["center"] != true {
		t.Errorf("config %v", cfg)
	}
}

// TestBatchNormGroupSums checks the channel sums' fixed grouping: a batch
// of 3 full groups of sumGroup rows and a part of one, on 1, 2 and 3
// threads, against the sums written out here (each group from zero, the
// groups added in order), and that every thread count gives the same
// statistics, gradients and input gradient, bit for bit.
func TestBatchNormGroupSums(t *testing.T) {
	const c, pix = 8, 64 // 64 pixels of 8 channels a sample: 512 values
	rows := 3*sumGroup + 1000
	n := rows / pix
	rng := rand.New(rand.NewPCG(5, 6))
	x := make([]float32, n*pix*c)
	dy := make([]float32, len(x))
	for i := range x {
		// Magnitudes over 12 decades: float64 sums of them round, so the
		// grouping shows in their last bits.
		x[i] = float32(rng.NormFloat64() * math.Pow(10, rng.Float64()*12-6))
		dy[i] = float32(rng.NormFloat64() * 1e-2)
	}
	// The documented sums: Σx by groups of sumGroup rows, in order.
	want := make([]float64, c)
	for g := 0; g*sumGroup < n*pix; g++ {
		part := make([]float64, c)
		for r := g * sumGroup; r < min(n*pix, (g+1)*sumGroup); r++ {
			for k := range c {
				part[k] += float64(x[r*c+k])
			}
		}
		for k := range c {
			want[k] += part[k]
		}
	}
	type result struct{ mean, inv, dx, gg, gb []float32 }
	var ref *result
	for _, threads := range []int{1, 2, 3} {
		l := mustBN(t)
		if _, err := l.Build([]int{8, 8, c}, nil); err != nil {
			t.Fatal(err)
		}
		pool := poolFor(t, threads, l)
		l.Allocate(n, true)
		l.Forward(x, n, true)
		for k := range c {
			if l.sum[k] != want[k] {
				t.Fatalf("%d threads: channel %d Σx = %v, want %v (by groups of %d rows)", threads, k, l.sum[k], want[k], sumGroup)
			}
		}
		dx := l.Backward(dy, n)
		r := &result{slices.Clone(l.mean[:c]), slices.Clone(l.invStd[:c]), slices.Clone(dx), slices.Clone(l.Gamma.Grad), slices.Clone(l.Beta.Grad)}
		pool.Close()
		if ref == nil {
			ref = r
			continue
		}
		for name, pair := range map[string][2][]float32{"mean": {ref.mean, r.mean}, "invStd": {ref.inv, r.inv}, "dx": {ref.dx, r.dx}, "gamma grad": {ref.gg, r.gg}, "beta grad": {ref.gb, r.gb}} {
			for i := range pair[0] {
				if math.Float32bits(pair[0][i]) != math.Float32bits(pair[1][i]) {
					t.Fatalf("%d threads: %s[%d] = %v, 1 thread %v", threads, name, i, pair[1][i], pair[0][i])
				}
			}
		}
	}
}
