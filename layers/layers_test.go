package layers

import (
	"github.com/kiln-ml/kiln/internal/parallel"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/kiln-ml/kiln/activations"
)

// lossOf is L = Σ w·y for a fixed random w, so dL/dy = w.
func lossOf(y, w []float32) float64 {
	var s float64
	for i := range y {
		s += float64(w[i]) * float64(y[i])
	}
	return s
}

func randSlice(rng *rand.Rand, n int, scale float64) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64() * scale)
	}
	return s
}

// checkLayer compares Backward's input and weight gradients with central
// differences of L = Σ w·Forward(x).
func checkLayer(t *testing.T, name string, l Layer, in []int, n int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 8))
	out, err := l.Build(in, rng)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	l.Allocate(n, true)
	inW, outW := 1, 1
	for _, d := range in {
		inW *= d
	}
	for _, d := range out {
		outW *= d
	}
	x := randSlice(rng, n*inW, 1)
	w := randSlice(rng, n*outW, 1)
	forward := func() float64 { return lossOf(l.Forward(x, n, false), w) }
	forward()
	dx := append([]float32(nil), l.Backward(w, n)...)
	const h = 1e-2
	tol := func(num float64) float64 { return 3e-3 * math.Max(1, math.Abs(num)) }
	for i := range x {
		old := x[i]
		x[i] = old + h
		lp := forward()
		x[i] = old - h
		lm := forward()
		x[i] = old
		num := (lp - lm) / (2 * h)
		if math.Abs(num-float64(dx[i])) > tol(num) {
			t.Errorf("%s: dL/dx[%d] = %g, finite difference %g", name, i, dx[i], num)
		}
	}
	forward()
	l.Backward(w, n)
	for _, v := range l.Variables() {
		grad := append([]float32(nil), v.Grad...)
		for i := range v.Value {
			old := v.Value[i]
			v.Value[i] = old + h
			lp := forward()
			v.Value[i] = old - h
			lm := forward()
			v.Value[i] = old
			num := (lp - lm) / (2 * h)
			if math.Abs(num-float64(grad[i])) > tol(num) {
				t.Errorf("%s: dL/d%s[%d] = %g, finite difference %g", name, v.Name, i, grad[i], num)
			}
		}
	}
	// Infer must equal the inference Forward.
	want := append([]float32(nil), l.Forward(x, n, false)...)
	got := make([]float32, n*outW)
	l.Infer(got, x, n)
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: Infer[%d] = %g, Forward = %g", name, i, got[i], want[i])
		}
	}
}

func TestDenseGradients(t *testing.T) {
	for _, act := range activations.Names() {
		d := MustNewDense(4, WithActivation(act))
		d.SetName("dense")
		checkLayer(t, "Dense/"+act, d, []int{5}, 3)
	}
	checkLayer(t, "Dense/nobias", MustNewDense(3, WithoutBias()), []int{4}, 2)
}

func TestActivationGradients(t *testing.T) {
	for _, act := range activations.Names() {
		a, err := NewActivation(act)
		if err != nil {
			t.Fatal(err)
		}
		checkLayer(t, "Activation/"+act, a, []int{6}, 3)
	}
}

func TestFlattenGradients(t *testing.T) {
	checkLayer(t, "Flatten", NewFlatten(), []int{2, 3}, 2)
}

func TestDropout(t *testing.T) {
	d, err := NewDropout(0.5)
	if err != nil {
		t.Fatal(err)
	}
	checkLayer(t, "Dropout(inference)", d, []int{8}, 2)
	// Training: kept units are scaled by 2, dropped ones are 0, and the
	// gradient is masked the same way.
	x := make([]float32, 2000)
	for i := range x {
		x[i] = 1
	}
	d.setShapes([]int{2000}, []int{2000})
	d.Allocate(1, true)
	y := d.Forward(x, 1, true)
	zeros := 0
	for _, v := range y {
		switch v {
		case 0:
			zeros++
		case 2:
		default:
			t.Fatalf("dropout output %g, want 0 or 2", v)
		}
	}
	if zeros < 900 || zeros > 1100 {
		t.Errorf("dropped %d of 2000 at rate 0.5", zeros)
	}
	dx := d.Backward(x, 1)
	for i := range dx {
		if dx[i] != y[i] {
			t.Fatalf("dropout gradient not masked like the output at %d", i)
		}
	}
	if _, err := NewDropout(1); err == nil {
		t.Error("rate 1 accepted")
	}
}

func TestGlorotUniformBounds(t *testing.T) {
	d := MustNewDense(10)
	d.SetName("dense")
	if _, err := d.Build([]int{784}, rand.New(rand.NewPCG(1, 1))); err != nil {
		t.Fatal(err)
	}
	limit := math.Sqrt(6.0 / (784 + 10))
	var maxAbs, sum float64
	for _, v := range d.Kernel.Value {
		maxAbs = math.Max(maxAbs, math.Abs(float64(v)))
		sum += float64(v)
	}
	if maxAbs > limit || maxAbs < 0.95*limit {
		t.Errorf("max |w| = %g, limit %g", maxAbs, limit)
	}
	if mean := sum / 7840; math.Abs(mean) > 0.01*limit*10 {
		t.Errorf("mean %g not ≈ 0", mean)
	}
	for _, b := range d.Bias.Value {
		if b != 0 {
			t.Fatal("bias not zero")
		}
	}
	if d.Kernel.Name != "dense/kernel" {
		t.Errorf("kernel name %q", d.Kernel.Name)
	}
}

// TestDenseRank2 replaces the old refusal of inputs of rank > 1: like
// Keras, Dense on (28, 28) acts on the last axis, (None, 28, 16) with a
// (28, 16) kernel and 28·16 + 16 = 464 parameters.
func TestDenseRank2(t *testing.T) {
	d := MustNewDense(16)
	d.SetName("dense")
	out, err := d.Build([]int{28, 28}, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatalf("Dense on (28, 28): %v", err)
	}
	if ShapeTuple(out) != "(None, 28, 16)" || len(d.Kernel.Value) != 28*16 || len(d.Kernel.Value)+len(d.Bias.Value) != 464 {
		t.Errorf("Dense(16) on (28, 28): output %s, kernel %v, %d params; want (None, 28, 16), [28 16], 464",
			ShapeTuple(out), d.Kernel.Shape, len(d.Kernel.Value)+len(d.Bias.Value))
	}
}

// TestDropoutThreads draws a Dropout mask over more than three jobs'
// worth of elements on 1, 2 and 3 threads and checks it against
// rand.PCG drawing one number per element in order (Float32() < Rate
// drops), the stream's state afterwards, and that every thread count
// gives the same outputs and input gradient, bit for bit.
func TestDropoutThreads(t *testing.T) {
	const width = 1000
	n := 3*(1<<15)/width + 7
	rng := rand.New(rand.NewPCG(7, 8))
	x := randSlice(rng, n*width, 1)
	dy := randSlice(rng, n*width, 1)
	var ref []float32
	for _, threads := range []int{1, 2, 3} {
		d, err := NewDropout(0.3)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.Build([]int{width}, rand.New(rand.NewPCG(1, 2))); err != nil {
			t.Fatal(err)
		}
		pool := poolFor(t, threads, d)
		d.Allocate(n, true)
		st0, _ := d.RandomState()
		stream := rand.NewPCG(0, 0)
		if err := stream.UnmarshalBinary(st0); err != nil {
			t.Fatal(err)
		}
		want := rand.New(stream)
		y := clone(d.Forward(x, n, true))
		for i, v := range y {
			keep := want.Float32() >= 0.3
			if w := float32(0); keep && x[i]*(1/(1-float32(0.3))) != v || !keep && v != w {
				t.Fatalf("%d threads: element %d = %v, keep=%v for x=%v", threads, i, v, keep, x[i])
			}
		}
		st1, _ := d.RandomState()
		wantSt, _ := stream.MarshalBinary()
		if string(st1) != string(wantSt) {
			t.Fatalf("%d threads: the stream's state after Forward is not rand.PCG's after %d draws", threads, n*width)
		}
		got := append(y, d.Backward(dy, n)...)
		pool.Close()
		if ref == nil {
			ref = got
		} else if diff := bitDiff(ref, got); diff != "" {
			t.Fatalf("%d threads: outputs or input gradient differ from one thread's at %s", threads, diff)
		}
	}
}

// poolFor returns a pool of threads threads, set on every layer of ls and
// closed when the test ends (Close may also be called earlier).
func poolFor(tb testing.TB, threads int, ls ...Layer) *parallel.Pool {
	pool := parallel.New(threads)
	tb.Cleanup(pool.Close)
	for _, l := range ls {
		SetPool(l, pool)
	}
	return pool
}
