package layers

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/kiln-ml/kiln/activations"
	"github.com/kiln-ml/kiln/internal/kernels"
)

// Dense on inputs of rank > 1 acts on the last axis, as Keras' Dense does:
// (d1, ..., dk, F) → (d1, ..., dk, units) with one (F, units) kernel.

// TestDenseLastAxisShapes checks the output shape, the kernel's shape and
// glorot_uniform fans, and Keras' parameter count on inputs of rank 1 to 4.
func TestDenseLastAxisShapes(t *testing.T) {
	for _, c := range []struct {
		in     []int
		units  int
		out    []int
		params int
	}{
		{[]int{784}, 10, []int{10}, 7850},
		{[]int{28, 28}, 16, []int{28, 16}, 464}, // Keras: 28·16 + 16
		{[]int{4, 5}, 8, []int{4, 8}, 48},
		{[]int{3, 4, 5}, 2, []int{3, 4, 2}, 12},
		{[]int{2, 3, 4, 6}, 7, []int{2, 3, 4, 7}, 49},
	} {
		d := MustNewDense(c.units)
		d.SetName("dense")
		out, err := d.Build(c.in, rand.New(rand.NewPCG(1, 1)))
		if err != nil {
			t.Fatalf("%v: %v", c.in, err)
		}
		f := c.in[len(c.in)-1]
		if !slices.Equal(out, c.out) || !slices.Equal(d.OutputShape(), c.out) {
			t.Errorf("%v: output %v (OutputShape %v), want %v", c.in, out, d.OutputShape(), c.out)
		}
		if !slices.Equal(d.Kernel.Shape, []int{f, c.units}) || len(d.Kernel.Value) != f*c.units {
			t.Errorf("%v: kernel shape %v with %d values, want (%d, %d)", c.in, d.Kernel.Shape, len(d.Kernel.Value), f, c.units)
		}
		params := 0
		for _, v := range d.Variables() {
			params += len(v.Value)
		}
		if params != c.params {
			t.Errorf("%v: %d params, want %d", c.in, params, c.params)
		}
		// glorot_uniform with fans (F, units): the largest |w| is near the
		// limit √(6/(F + units)) and never above it.
		limit := math.Sqrt(6 / float64(f+c.units))
		maxAbs := 0.0
		for _, v := range d.Kernel.Value {
			maxAbs = math.Max(maxAbs, math.Abs(float64(v)))
		}
		if maxAbs > limit || len(d.Kernel.Value) >= 100 && maxAbs < 0.9*limit {
			t.Errorf("%v: max |w| = %g, glorot_uniform limit for fans (%d, %d) is %g", c.in, maxAbs, f, c.units, limit)
		}
	}
	if _, err := MustNewDense(3).Build(nil, rand.New(rand.NewPCG(1, 1))); err == nil {
		t.Error("Dense on a shape without axes accepted")
	}
}

// TestDenseRankGradients is checkLayer (finite differences of the input,
// kernel and bias gradients; Infer equal to Forward) on rank-2 and rank-3
// inputs, narrow and wide (units > narrow: the bit-mask path), every
// activation (softmax over the last axis at each position).
func TestDenseRankGradients(t *testing.T) {
	for _, act := range activations.Names() {
		d := MustNewDense(4, WithActivation(act))
		d.SetName("dense")
		checkLayer(t, "Dense(3,5)/"+act, d, []int{3, 5}, 2)
		d = MustNewDense(3, WithActivation(act))
		d.SetName("dense")
		checkLayer(t, "Dense(2,3,4)/"+act, d, []int{2, 3, 4}, 2)
	}
	checkLayer(t, "Dense(2,3,4)/nobias", MustNewDense(3, WithoutBias()), []int{2, 3, 4}, 3)
	checkLayer(t, "Dense(2,3)/wide", MustNewDense(narrow+3, WithActivation("tanh")), []int{2, 3}, 2)
	checkLayer(t, "Dense(2,2,3)/wide/softmax", MustNewDense(narrow+8, WithActivation("softmax")), []int{2, 2, 3}, 2)
}

// denseResult is everything a Dense layer computes in a training step and
// at inference.
type denseResult struct {
	y, z, dx, gk, gb, inf, infLogits []float32
}

// denseStep runs Forward(training), Backward and Infer of d (built, its
// weights set) on n samples x with upstream gradient dy, and copies the
// results.
func denseStep(d *Dense, x, dy []float32, n int) denseResult {
	var r denseResult
	r.y = slices.Clone(d.Forward(x, n, true))
	r.z = slices.Clone(d.Logits()[:len(r.y)])
	r.dx = slices.Clone(d.Backward(dy, n))
	r.gk = slices.Clone(d.Kernel.Grad)
	if d.Bias != nil {
		r.gb = slices.Clone(d.Bias.Grad)
	}
	r.inf = make([]float32, len(r.y))
	d.Infer(r.inf, x, n)
	r.infLogits = make([]float32, len(r.y))
	d.InferLogits(r.infLogits, x, n)
	return r
}

// sameBits reports whether a and b hold the same float32 bits.
func sameBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// sparseInput returns n values, about a third of them zero (Dense skips
// zero inputs).
func sparseInput(rng *rand.Rand, n int) []float32 {
	x := randSlice(rng, n, 1)
	for i := range x {
		if rng.IntN(3) == 0 {
			x[i] = 0
		}
	}
	return x
}

// denseCase is a Dense configuration for the rank tests.
type denseCase struct {
	name  string
	in    []int // per-sample input shape
	units int
	opts  []Option
}

var denseRankCases = []denseCase{
	{"relu_4x5_u8", []int{4, 5}, 8, []Option{WithActivation("relu")}},
	{"softmax_3x2x7_u5", []int{3, 2, 7}, 5, []Option{WithActivation("softmax")}},
	{"linear_nobias_5x9_u3", []int{5, 9}, 3, []Option{WithoutBias()}},
	{"sigmoid_wide_3x70_u40", []int{3, 70}, narrow + 8, []Option{WithActivation("sigmoid")}},
	{"tanh_wide_2x3x65_u33", []int{2, 3, 65}, narrow + 1, []Option{WithActivation("tanh")}},
}

// newDenseCase builds c's layer and a flat Dense with the same weights
// (input (F)), both allocated for maxBatch samples (the flat one for the
// same number of rows), with a random bias.
func newDenseCase(t *testing.T, c denseCase, maxBatch int, needDX bool, rng *rand.Rand) (rank, flat *Dense) {
	t.Helper()
	f := c.in[len(c.in)-1]
	p := 1 // positions per sample
	for _, v := range c.in[:len(c.in)-1] {
		p *= v
	}
	rank, err := NewDense(c.units, c.opts...)
	if err != nil {
		t.Fatal(err)
	}
	rank.SetName("rank")
	if _, err := rank.Build(c.in, rng); err != nil {
		t.Fatal(err)
	}
	if rank.Bias != nil {
		copy(rank.Bias.Value, randSlice(rng, c.units, 0.5))
	}
	flat, err = NewDense(c.units, c.opts...)
	if err != nil {
		t.Fatal(err)
	}
	flat.SetName("flat")
	if _, err := flat.Build([]int{f}, rng); err != nil {
		t.Fatal(err)
	}
	copy(flat.Kernel.Value, rank.Kernel.Value)
	if rank.Bias != nil {
		copy(flat.Bias.Value, rank.Bias.Value)
	}
	rank.Allocate(maxBatch, needDX)
	flat.Allocate(maxBatch*p, needDX)
	return rank, flat
}

// TestDenseRankMatchesRows requires, bit for bit, that Dense on n samples
// of shape (d1, ..., dk, F) computes what the same Dense on flat (F) inputs
// computes on the n·d1·…·dk rows: in one batch (Forward, the logits,
// Backward's input, kernel and bias gradients, Infer, InferLogits), and at
// inference one row at a time.
func TestDenseRankMatchesRows(t *testing.T) {
	for _, c := range denseRankCases {
		for _, needDX := range []bool{false, true} {
			name := fmt.Sprintf("%s/dx=%v", c.name, needDX)
			rng := rand.New(rand.NewPCG(11, 12))
			const n = 3
			rank, flat := newDenseCase(t, c, n+1, needDX, rng)
			p := rank.pos
			f := rank.feat
			x := sparseInput(rng, n*rank.inWidth)
			dy := randSlice(rng, n*rank.outWidth, 1)
			if len(rank.OutputShape()) != len(c.in) || rank.outWidth != p*c.units {
				t.Fatalf("%s: output shape %v", name, rank.OutputShape())
			}
			got := denseStep(rank, x, dy, n)
			want := denseStep(flat, x, dy, n*p)
			for _, v := range []struct {
				what      string
				got, want []float32
			}{
				{"Forward", got.y, want.y}, {"logits", got.z, want.z}, {"input gradient", got.dx, want.dx},
				{"kernel gradient", got.gk, want.gk}, {"bias gradient", got.gb, want.gb},
				{"Infer", got.inf, want.inf}, {"InferLogits", got.infLogits, want.infLogits},
			} {
				if !sameBits(v.got, v.want) {
					t.Errorf("%s: %s differs from the flat Dense on %d rows", name, v.what, n*p)
				}
			}
			if needDX != (got.dx != nil) {
				t.Errorf("%s: input gradient %v with needInputGrad %v", name, got.dx != nil, needDX)
			}
			if !sameBits(got.inf, got.y) {
				t.Errorf("%s: Infer differs from Forward", name)
			}
			// Each position alone, through the flat layer's Infer and its
			// training Forward: the same bits as in the batch.
			for r := 0; r < n*p; r++ {
				one := make([]float32, c.units)
				flat.Infer(one, x[r*f:(r+1)*f], 1)
				if !sameBits(one, got.inf[r*c.units:(r+1)*c.units]) {
					t.Errorf("%s: sample %d position %d: Infer of the row alone %v, in the batch %v", name, r/p, r%p, one, got.inf[r*c.units:(r+1)*c.units])
				}
				y1 := flat.Forward(x[r*f:(r+1)*f], 1, true)
				if !sameBits(y1, got.y[r*c.units:(r+1)*c.units]) {
					t.Errorf("%s: sample %d position %d: Forward of the row alone %v, in the batch %v", name, r/p, r%p, y1, got.y[r*c.units:(r+1)*c.units])
				}
			}
		}
	}
}

// TestDenseRankLevels runs Dense on rank-2 and rank-3 inputs at every
// kernel level and requires the generic level's bits, bytes paths
// included.
func TestDenseRankLevels(t *testing.T) {
	for _, c := range denseRankCases {
		for _, needDX := range []bool{false, true} {
			var ref *denseResult
			var refBytes []float32
			for _, l := range kernels.Supported() {
				prev, err := kernels.Use(l)
				if err != nil {
					t.Fatal(err)
				}
				rng := rand.New(rand.NewPCG(21, 22))
				const n = 5
				rank, _ := newDenseCase(t, c, n, needDX, rng)
				x := sparseInput(rng, n*rank.inWidth)
				dy := randSlice(rng, n*rank.outWidth, 1)
				r := denseStep(rank, x, dy, n)
				b := make([]uint8, n*rank.inWidth)
				for i := range b {
					b[i] = uint8(rng.IntN(4) * rng.IntN(256))
				}
				inf := make([]float32, n*rank.outWidth)
				rank.InferBytes(inf, b, n, nil, false)
				kernels.Use(prev)
				name := fmt.Sprintf("%s dx=%v level=%v", c.name, needDX, l)
				if ref == nil {
					ref, refBytes = &r, inf
					continue
				}
				if !reflect.DeepEqual(r, *ref) || !sameBits(inf, refBytes) {
					t.Errorf("%s: results differ from level %v", name, kernels.Supported()[0])
				}
			}
		}
	}
}

// TestDenseRankBytes checks ForwardBytes and InferBytes on inputs of rank
// > 1 against Forward and Infer on the same values as float32: samples
// taken out of order (each sample's positions are consecutive rows of the
// byte array), with and without a lookup table, then the gradients
// Backward computes from each.
func TestDenseRankBytes(t *testing.T) {
	var lut [256]float32
	for b := range lut {
		lut[b] = float32(b) / 255
	}
	for _, c := range denseRankCases {
		for _, table := range []*[256]float32{nil, &lut} {
			name := fmt.Sprintf("%s/lut=%v", c.name, table != nil)
			rng := rand.New(rand.NewPCG(31, 32))
			const total, n = 7, 4
			rank, _ := newDenseCase(t, c, n, false, rng)
			if rank.CanForwardBytes() != (c.units <= narrow) {
				t.Errorf("%s: CanForwardBytes %v for %d units", name, rank.CanForwardBytes(), c.units)
			}
			w := rank.inWidth
			src := make([]uint8, total*w)
			for i := range src {
				if rng.IntN(3) > 0 {
					src[i] = uint8(1 + rng.IntN(255))
				}
			}
			value := func(b uint8) float32 {
				if table != nil {
					return table[b]
				}
				return float32(b)
			}
			rows := []int{5, 0, 6, 2}
			x := make([]float32, n*w)
			for i, s := range rows {
				for k := range w {
					x[i*w+k] = value(src[s*w+k])
				}
			}
			dy := randSlice(rng, n*rank.outWidth, 1)

			// InferBytes reads consecutive samples: rows 2, 3 and 4.
			gotInf := make([]float32, 3*rank.outWidth)
			rank.InferBytes(gotInf, src[2*w:5*w], 3, table, false)
			xc := make([]float32, 3*w)
			for i := range xc {
				xc[i] = value(src[2*w+i])
			}
			wantInf := make([]float32, len(gotInf))
			rank.Infer(wantInf, xc, 3)
			if !sameBits(gotInf, wantInf) {
				t.Errorf("%s: InferBytes differs from Infer", name)
			}
			rank.InferBytes(gotInf, src[2*w:5*w], 3, table, true)
			rank.InferLogits(wantInf, xc, 3)
			if !sameBits(gotInf, wantInf) {
				t.Errorf("%s: InferBytes(logitsOnly) differs from InferLogits", name)
			}

			if !rank.CanForwardBytes() {
				continue
			}
			for _, logitsOnly := range []bool{false, true} {
				// With logitsOnly, ForwardLogits and BackwardLogits (the
				// activation is the loss's business).
				forward, backward := func() []float32 { return rank.Forward(x, n, true) }, rank.Backward
				if logitsOnly {
					forward, backward = func() []float32 { return rank.ForwardLogits(x, n) }, rank.BackwardLogits
				}
				want := slices.Clone(forward())
				backward(dy, n)
				wgk, wgb := slices.Clone(rank.Kernel.Grad), []float32(nil)
				if rank.Bias != nil {
					wgb = slices.Clone(rank.Bias.Grad)
				}
				clear(rank.Kernel.Grad)
				got := slices.Clone(rank.ForwardBytes(src, rows, table, logitsOnly))
				if !sameBits(got, want) {
					t.Errorf("%s: ForwardBytes(logitsOnly %v) differs from Forward", name, logitsOnly)
				}
				backward(dy, n)
				if !sameBits(rank.Kernel.Grad, wgk) {
					t.Errorf("%s: kernel gradient after ForwardBytes differs", name)
				}
				if rank.Bias != nil && !sameBits(rank.Bias.Grad, wgb) {
					t.Errorf("%s: bias gradient after ForwardBytes differs", name)
				}
			}
		}
	}
}
