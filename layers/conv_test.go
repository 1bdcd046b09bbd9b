package layers

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"strings"
	"sync"
	"testing"

	"github.com/kiln-ml/kiln/datasets/mnist"
	"github.com/kiln-ml/kiln/internal/kernels"
)

func mustConv(t testing.TB, filters int, k [2]int, opts ...Option) *Conv2D {
	t.Helper()
	c, err := NewConv2D(filters, k, opts...)
	if err != nil {
		t.Fatal(err)
	}
	c.SetName("conv2d")
	return c
}

func mustPool(t testing.TB, k [2]int, opts ...Option) *MaxPooling2D {
	t.Helper()
	p, err := NewMaxPooling2D(k, opts...)
	if err != nil {
		t.Fatal(err)
	}
	p.SetName("max_pooling2d")
	return p
}

// TestConv2DGradients compares Backward with central differences (see
// checkLayer, which also checks Infer against the inference Forward).
func TestConv2DGradients(t *testing.T) {
	cases := []struct {
		name string
		in   []int
		c    *Conv2D
	}{
		{"valid_s1", []int{5, 6, 2}, mustConv(t, 3, [2]int{3, 3})},
		{"valid_s2", []int{7, 6, 2}, mustConv(t, 3, [2]int{3, 2}, WithStrides(2, 2))},
		{"same_s1", []int{5, 4, 3}, mustConv(t, 2, [2]int{3, 3}, WithPadding("same"))},
		{"same_s2", []int{5, 6, 2}, mustConv(t, 3, [2]int{3, 3}, WithPadding("same"), WithStrides(2, 2))},
		{"same_s2_even_kernel", []int{6, 5, 1}, mustConv(t, 2, [2]int{2, 4}, WithPadding("SAME"), WithStrides(2, 1))},
		{"valid_nobias", []int{4, 5, 2}, mustConv(t, 3, [2]int{2, 2}, WithoutBias())},
		{"same_nobias_s2", []int{5, 5, 2}, mustConv(t, 2, [2]int{3, 3}, WithoutBias(), WithPadding("same"), WithStrides(2, 2))},
		{"tanh", []int{5, 4, 2}, mustConv(t, 3, [2]int{2, 2}, WithActivation("tanh"))},
		{"sigmoid_s2", []int{6, 6, 2}, mustConv(t, 2, [2]int{3, 3}, WithActivation("sigmoid"), WithStrides(2, 2))},
		{"softmax", []int{4, 4, 2}, mustConv(t, 3, [2]int{3, 3}, WithActivation("softmax"), WithPadding("same"))},
		{"wide_channels", []int{4, 4, 33}, mustConv(t, 2, [2]int{2, 2}, WithPadding("same"))},
		{"kernel_larger_than_input_same", []int{2, 3, 1}, mustConv(t, 2, [2]int{5, 5}, WithPadding("same"))},
	}
	for _, tc := range cases {
		checkLayer(t, "Conv2D/"+tc.name, tc.c, tc.in, 3)
	}
	checkKinked(t, "Conv2D/relu_same", mustConv(t, 3, [2]int{3, 3}, WithActivation("relu"), WithPadding("same")), []int{5, 5, 2}, 3)
	checkKinked(t, "Conv2D/relu_valid_s2", mustConv(t, 4, [2]int{3, 2}, WithActivation("relu"), WithStrides(2, 2)), []int{7, 6, 2}, 3)
}

// checkKinked is checkLayer for a relu layer: a central difference whose
// step moves a logit across relu's kink at 0 measures nothing, so such
// elements are skipped (no more than a quarter of them may be).
func checkKinked(t *testing.T, name string, c *Conv2D, in []int, n int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 8))
	if _, err := c.Build(in, rng); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	c.Allocate(n, true)
	x := randSlice(rng, n*c.inWidth, 1)
	w := randSlice(rng, n*c.outWidth, 1)
	signs := func() []bool {
		s := make([]bool, n*c.outWidth)
		for i, z := range c.Logits()[:len(s)] {
			s[i] = z > 0
		}
		return s
	}
	forward := func() float64 { return lossOf(c.Forward(x, n, true), w) }
	forward()
	base := signs()
	dx := append([]float32(nil), c.Backward(w, n)...)
	grads := [][]float32{dx}
	vals := [][]float32{x}
	for _, v := range c.Variables() {
		grads = append(grads, append([]float32(nil), v.Grad...))
		vals = append(vals, v.Value)
	}
	const h = 1e-2
	checked, skipped := 0, 0
	for a, val := range vals {
		for i := range val {
			old := val[i]
			val[i] = old + h
			lp := forward()
			sp := signs()
			val[i] = old - h
			lm := forward()
			sm := signs()
			val[i] = old
			if !reflect.DeepEqual(sp, base) || !reflect.DeepEqual(sm, base) {
				skipped++
				continue
			}
			checked++
			num := (lp - lm) / (2 * h)
			if got := float64(grads[a][i]); math.Abs(num-got) > 3e-3*math.Max(1, math.Abs(num)) {
				t.Errorf("%s: gradient %d[%d] = %g, finite difference %g", name, a, i, got, num)
			}
		}
	}
	if skipped*3 > checked {
		t.Errorf("%s: %d elements checked, %d skipped at relu's kink", name, checked, skipped)
	}
}

// TestConv2DBackwardLogits checks the Activated side: BackwardLogits of
// dLoss/dLogits equals Backward of a linear layer, and InferLogits equals
// the logits of the inference Forward.
func TestConv2DBackwardLogits(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	c := mustConv(t, 4, [2]int{3, 3}, WithActivation("softmax"), WithPadding("same"))
	if _, err := c.Build([]int{5, 5, 2}, rng); err != nil {
		t.Fatal(err)
	}
	n := 2
	c.Allocate(n, true)
	x := randSlice(rng, n*50, 1)
	dz := randSlice(rng, n*100, 1)
	c.Forward(x, n, true)
	logits := append([]float32(nil), c.Logits()[:n*100]...)
	dx := append([]float32(nil), c.BackwardLogits(dz, n)...)
	gk := append([]float32(nil), c.Kernel.Grad...)

	lin := mustConv(t, 4, [2]int{3, 3}, WithPadding("same"))
	if _, err := lin.Build([]int{5, 5, 2}, rng); err != nil {
		t.Fatal(err)
	}
	copy(lin.Kernel.Value, c.Kernel.Value)
	lin.Allocate(n, true)
	y := lin.Forward(x, n, true)
	if !reflect.DeepEqual(y, logits) {
		t.Fatal("softmax layer's logits differ from a linear layer's output")
	}
	if !reflect.DeepEqual(lin.Backward(dz, n), dx) || !reflect.DeepEqual(lin.Kernel.Grad, gk) {
		t.Fatal("BackwardLogits differs from a linear layer's Backward")
	}
	got := make([]float32, n*100)
	c.InferLogits(got, x, n)
	if !reflect.DeepEqual(got, logits) {
		t.Fatal("InferLogits differs from Logits")
	}
	var _ LogitsForwarder = c
}

// TestConv2DChunked checks that a batch too large for the patch lists
// (processed in chunks, listed again in Backward) gives bit-identical
// results.
func TestConv2DChunked(t *testing.T) {
	for _, gdx := range []bool{false, true} {
		rng := rand.New(rand.NewPCG(5, 6))
		c := mustConv(t, 5, [2]int{3, 3}, WithActivation("relu"), WithPadding("same"), WithStrides(1, 2))
		if _, err := c.Build([]int{6, 7, 3}, rng); err != nil {
			t.Fatal(err)
		}
		n := 3
		c.Allocate(n, gdx)
		x := randSlice(rng, n*6*7*3, 1)
		for i := range x {
			if i%3 == 0 {
				x[i] = 0 // some zeros to skip
			}
		}
		dy := randSlice(rng, n*c.outWidth, 1)
		run := func() (y, dx, gk, gb []float32) {
			y = append([]float32(nil), c.Forward(x, n, true)...)
			dx = append([]float32(nil), c.Backward(dy, n)...)
			return y, dx, append([]float32(nil), c.Kernel.Grad...), append([]float32(nil), c.Bias.Grad...)
		}
		y0, dx0, gk0, gb0 := run()
		if !c.kept {
			t.Fatal("small batch not kept whole")
		}
		c.chunk = 7 // smaller than a sample's 24 pixels, not a divisor
		y1, dx1, gk1, gb1 := run()
		if c.kept {
			t.Fatal("chunked batch marked kept")
		}
		if !reflect.DeepEqual(y0, y1) || !reflect.DeepEqual(dx0, dx1) || !reflect.DeepEqual(gk0, gk1) || !reflect.DeepEqual(gb0, gb1) {
			t.Errorf("needInputGrad=%v: chunked results differ", gdx)
		}
		if gdx != (dx0 != nil) {
			t.Errorf("needInputGrad=%v: dx = %v", gdx, dx0 != nil)
		}
	}
}

// TestConv2DPatchBits checks the patch lists made from bit sets (kw·C ≤
// 64) against those made by kernels.NonZero, on inputs whose rows span
// several 64-bit words, with windows crossing word boundaries, clipped by
// "same" padding, and up to a whole word long.
func TestConv2DPatchBits(t *testing.T) {
	for _, tc := range []struct {
		in   []int
		k, s [2]int
		pad  string
	}{
		{[]int{9, 40, 3}, [2]int{3, 3}, [2]int{1, 1}, "same"},
		{[]int{6, 50, 5}, [2]int{2, 5}, [2]int{1, 3}, "same"},
		{[]int{5, 30, 21}, [2]int{3, 3}, [2]int{2, 1}, "valid"},
		{[]int{4, 20, 16}, [2]int{2, 4}, [2]int{1, 1}, "same"},
		{[]int{7, 70, 1}, [2]int{3, 7}, [2]int{2, 2}, "same"},
	} {
		rng := rand.New(rand.NewPCG(21, 22))
		c := mustConv(t, 2, tc.k, WithStrides(tc.s[0], tc.s[1]), WithPadding(tc.pad))
		if _, err := c.Build(tc.in, rng); err != nil {
			t.Fatal(err)
		}
		if !c.useBits() {
			t.Fatalf("%v: kernel %v does not use bit sets", tc.in, tc.k)
		}
		n := 2
		x := randSlice(rng, n*c.inWidth, 1)
		for i := range x {
			if rng.IntN(3) > 0 {
				x[i] = 0
			}
		}
		x[5] = float32(math.Copysign(0, -1)) // -0 is a zero
		rows := n * c.g.pixels()
		withBits := c.newLists(rows)
		plain := c.newLists(rows)
		plain.bits = nil
		c.lists(withBits, x, 0, rows)
		c.lists(plain, x, 0, rows)
		if !reflect.DeepEqual(withBits.start, plain.start) {
			t.Fatalf("%v %v: list lengths differ", tc.in, tc.k)
		}
		m := plain.start[rows]
		if !reflect.DeepEqual(withBits.idx[:m], plain.idx[:m]) || !reflect.DeepEqual(withBits.val[:m], plain.val[:m]) {
			t.Errorf("%v %v: lists differ", tc.in, tc.k)
		}
		if m == 0 {
			t.Errorf("%v: no entries listed", tc.in)
		}
		// And in chunks, as Infer lists them.
		chunked := c.newLists(rows)
		for r0 := 0; r0 < rows; r0 += 13 {
			r1 := min(r0+13, rows)
			c.lists(chunked, x, r0, r1)
			a, b := plain.start[r0], plain.start[r1]
			if !reflect.DeepEqual(chunked.idx[:b-a], plain.idx[a:b]) {
				t.Fatalf("%v: chunk at %d differs", tc.in, r0)
			}
		}
	}
}

// TestConv2DReusedInput: a model passes the same buffer with new values
// every step, so nothing may be cached from the last call's input.
func TestConv2DReusedInput(t *testing.T) {
	for n := 1; n <= 2; n++ {
		testReusedInput(t, n)
	}
}

func testReusedInput(t *testing.T, n int) {
	rng := rand.New(rand.NewPCG(23, 24))
	c := mustConv(t, 3, [2]int{3, 3}, WithPadding("same"))
	if _, err := c.Build([]int{6, 6, 2}, rng); err != nil {
		t.Fatal(err)
	}
	c.Allocate(n, true)
	x := make([]float32, n*c.inWidth)
	a := randSlice(rng, len(x), 1)
	b := randSlice(rng, len(x), 1)
	for i := range a {
		if i%2 == 0 {
			a[i] = 0
		} else {
			b[i] = 0
		}
	}
	dy := randSlice(rng, n*c.outWidth, 1)
	step := func() ([]float32, []float32, []float32) {
		y := append([]float32(nil), c.Forward(x, n, true)...)
		dx := append([]float32(nil), c.Backward(dy, n)...)
		return y, dx, append([]float32(nil), c.Kernel.Grad...)
	}
	copy(x, b)
	yb, dxb, gb := step()
	copy(x, a)
	step()
	copy(x, b)
	for _, chunk := range []int{c.chunk, 5} {
		c.chunk = chunk
		y, dx, g := step()
		if !reflect.DeepEqual(y, yb) || !reflect.DeepEqual(dx, dxb) || !reflect.DeepEqual(g, gb) {
			t.Errorf("n=%d, chunk %d: results depend on the previous input", n, chunk)
		}
		copy(x, a)
		step()
		copy(x, b)
	}
	copy(x, a)
	c.Forward(x, n, false)
	copy(x, b)
	if y := c.Forward(x, n, false); !reflect.DeepEqual(y, yb) {
		t.Errorf("n=%d: Forward depends on the previous Forward's input", n)
	}
	got := make([]float32, len(yb))
	c.Infer(got, a, n)
	c.Infer(got, x, n)
	if !reflect.DeepEqual(got, yb) {
		t.Errorf("n=%d: Infer depends on the previous call's input", n)
	}
}

// distinctInput returns n·size values that are a shuffled multiple of
// 0.05: no two are closer than 0.05, so no finite-difference step of 0.01
// changes a pooling window's maximum.
func distinctInput(rng *rand.Rand, size int) []float32 {
	x := make([]float32, size)
	for i, p := range rng.Perm(size) {
		x[i] = float32(p-size/2) * 0.05
	}
	return x
}

// checkPool compares MaxPooling2D's Backward with central differences on
// inputs without near-ties, and Infer with Forward.
func checkPool(t *testing.T, name string, p *MaxPooling2D, in []int, n int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(9, 10))
	out, err := p.Build(in, rng)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	p.Allocate(n, true)
	x := distinctInput(rng, n*p.inWidth)
	w := randSlice(rng, n*p.outWidth, 1)
	forward := func() float64 { return lossOf(p.Forward(x, n, true), w) }
	forward()
	dx := append([]float32(nil), p.Backward(w, n)...)
	const h = 1e-2
	for i := range x {
		old := x[i]
		x[i] = old + h
		lp := forward()
		x[i] = old - h
		lm := forward()
		x[i] = old
		num := (lp - lm) / (2 * h)
		if math.Abs(num-float64(dx[i])) > 1e-3*math.Max(1, math.Abs(num)) {
			t.Errorf("%s: dL/dx[%d] = %g, finite difference %g", name, i, dx[i], num)
		}
	}
	want := append([]float32(nil), p.Forward(x, n, false)...)
	got := make([]float32, n*tensorSize(out))
	p.Infer(got, x, n)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: Infer differs from Forward", name)
	}
}

func tensorSize(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

func TestMaxPooling2DGradients(t *testing.T) {
	checkPool(t, "2x2", mustPool(t, [2]int{2, 2}), []int{5, 6, 3}, 2)
	checkPool(t, "3x3_s2_same", mustPool(t, [2]int{3, 3}, WithStrides(2, 2), WithPadding("same")), []int{7, 6, 2}, 2)
	checkPool(t, "3x3_s1_overlap", mustPool(t, [2]int{3, 3}, WithStrides(1, 1)), []int{5, 5, 2}, 2)
	checkPool(t, "2x3_s3_same", mustPool(t, [2]int{2, 3}, WithStrides(3, 3), WithPadding("same")), []int{4, 7, 1}, 3)
	checkPool(t, "pool_larger_than_input_same", mustPool(t, [2]int{4, 4}, WithPadding("same")), []int{3, 2, 2}, 1)
}

// TestMaxPooling2DTies: on ties the first maximum in row-major window
// order takes the gradient, and padding never wins over negative inputs.
func TestMaxPooling2DTies(t *testing.T) {
	p := mustPool(t, [2]int{2, 2})
	if _, err := p.Build([]int{2, 2, 1}, nil); err != nil {
		t.Fatal(err)
	}
	p.Allocate(1, true)
	y := p.Forward([]float32{1, 3, 3, 3}, 1, true)
	dx := p.Backward([]float32{1}, 1)
	if y[0] != 3 || !reflect.DeepEqual(dx, []float32{0, 1, 0, 0}) {
		t.Errorf("tie: y = %v, dx = %v; want 3 and [0 1 0 0]", y, dx)
	}
	q := mustPool(t, [2]int{3, 3}, WithPadding("same"))
	if _, err := q.Build([]int{2, 2, 1}, nil); err != nil {
		t.Fatal(err)
	}
	q.Allocate(1, true)
	if y := q.Forward([]float32{-4, -3, -2, -5}, 1, true); !reflect.DeepEqual(y, []float32{-2}) {
		t.Errorf("same padding: y = %v, want [-2] (padded cells must not win)", y)
	}
}

// TestConvInferConcurrent runs Infer from several goroutines at once;
// every result must equal the inference Forward (run with -race).
func TestConvInferConcurrent(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	c := mustConv(t, 8, [2]int{3, 3}, WithActivation("relu"), WithPadding("same"))
	p := mustPool(t, [2]int{2, 2})
	cout, err := c.Build([]int{12, 10, 3}, rng)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Build(cout, rng); err != nil {
		t.Fatal(err)
	}
	n := 5
	c.Allocate(n, false)
	p.Allocate(n, true)
	x := randSlice(rng, n*c.inWidth, 1)
	wantC := append([]float32(nil), c.Forward(x, n, false)...)
	wantP := append([]float32(nil), p.Forward(wantC, n, false)...)
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			gotC := make([]float32, n*c.outWidth)
			gotP := make([]float32, n*p.outWidth)
			for it := 0; it < 20; it++ {
				c.Infer(gotC, x, n)
				p.Infer(gotP, gotC, n)
				if !reflect.DeepEqual(gotC, wantC) || !reflect.DeepEqual(gotP, wantP) {
					errs <- fmt.Sprintf("goroutine %d, iteration %d: Infer differs from Forward", g, it)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestConvZeroAllocs: after Allocate, a training step allocates nothing.
func TestConvZeroAllocs(t *testing.T) {
	for _, gdx := range []bool{false, true} {
		for _, chunk := range []int{0, 50} {
			rng := rand.New(rand.NewPCG(13, 14))
			c := mustConv(t, 16, [2]int{3, 3}, WithActivation("relu"), WithPadding("same"))
			p := mustPool(t, [2]int{2, 2})
			out, err := c.Build([]int{14, 14, 2}, rng)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.Build(out, rng); err != nil {
				t.Fatal(err)
			}
			n := 4
			c.Allocate(n, gdx)
			p.Allocate(n, true)
			if chunk > 0 {
				c.chunk = chunk
			}
			x := randSlice(rng, n*c.inWidth, 1)
			dy := randSlice(rng, n*p.outWidth, 1)
			step := func() {
				h := c.Forward(x, n, true)
				h = p.Forward(h, n, true)
				g := p.Backward(dy, n)
				c.Backward(g, n)
			}
			step()
			if a := testing.AllocsPerRun(20, step); a != 0 {
				t.Errorf("needInputGrad=%v chunk=%d: %v allocations per step, want 0", gdx, chunk, a)
			}
			if raceEnabled() {
				continue // the race detector makes sync.Pool drop items at random
			}
			dst := make([]float32, n*c.outWidth)
			c.Infer(dst, x, n)
			if a := testing.AllocsPerRun(20, func() { c.Infer(dst, x, n) }); a > 0.5 {
				t.Errorf("Infer: %v allocations per call with a warm pool", a)
			}
		}
	}
}

// raceEnabled reports whether the test binary was built with -race.
func raceEnabled() bool {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "-race" {
				return s.Value == "true"
			}
		}
	}
	return false
}

func TestConvErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, tc := range []struct {
		name string
		make func() error
		want []string
	}{
		{"filters 0", func() error { _, err := NewConv2D(0, [2]int{3, 3}); return err }, []string{"filters", "positive"}},
		{"kernel 0", func() error { _, err := NewConv2D(4, [2]int{3, 0}); return err }, []string{"kernel_size", "positive"}},
		{"strides -1", func() error { _, err := NewConv2D(4, [2]int{3, 3}, WithStrides(-1, 1)); return err }, []string{"strides", "positive"}},
		{"padding", func() error { _, err := NewConv2D(4, [2]int{3, 3}, WithPadding("full")); return err }, []string{`"valid" or "same"`, `"full"`}},
		{"activation", func() error { _, err := NewConv2D(4, [2]int{3, 3}, WithActivation("gelu")); return err }, []string{"Conv2D", "gelu"}},
		{"pool 0", func() error { _, err := NewMaxPooling2D([2]int{0, 2}); return err }, []string{"pool_size", "positive"}},
		{"pool strides 0", func() error { _, err := NewMaxPooling2D([2]int{2, 2}, WithStrides(2, 0)); return err }, []string{"strides", "positive"}},
		{"pool padding", func() error { _, err := NewMaxPooling2D([2]int{2, 2}, WithPadding("causal")); return err }, []string{"padding", "causal"}},
		{"rank 1", func() error { _, err := mustConv(t, 4, [2]int{3, 3}).Build([]int{784}, rng); return err },
			[]string{"Conv2D", `"conv2d"`, "(None, height, width, channels)", "(None, 784)", "Input(shape=[28, 28, 1])"}},
		{"rank 2", func() error { _, err := mustConv(t, 4, [2]int{3, 3}).Build([]int{28, 20}, rng); return err },
			[]string{"(None, 28, 20)", "Input(shape=[28, 20, 1])"}},
		{"rank 4", func() error { _, err := mustConv(t, 4, [2]int{3, 3}).Build([]int{2, 28, 28, 1}, rng); return err },
			[]string{"(None, 2, 28, 28, 1)"}},
		{"pool rank 1", func() error { _, err := mustPool(t, [2]int{2, 2}).Build([]int{10}, rng); return err },
			[]string{"MaxPooling2D", "(None, height, width, channels)"}},
		{"kernel too big", func() error { _, err := mustConv(t, 4, [2]int{5, 3}).Build([]int{4, 8, 1}, rng); return err },
			[]string{"kernel_size (5, 3)", "(4, 8)", `"valid"`}},
		{"pool too big", func() error { _, err := mustPool(t, [2]int{2, 9}).Build([]int{4, 8, 1}, rng); return err },
			[]string{"pool_size (2, 9)", "(4, 8)"}},
	} {
		err := tc.make()
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", tc.name, err, w)
			}
		}
	}
}

func TestConvShapesAndConfig(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		in       []int
		k, s     [2]int
		pad      string
		want     []int
		padT, pL int
	}{
		{[]int{28, 28, 1}, [2]int{3, 3}, [2]int{1, 1}, "valid", []int{26, 26, 32}, 0, 0},
		{[]int{28, 28, 1}, [2]int{3, 3}, [2]int{1, 1}, "same", []int{28, 28, 32}, 1, 1},
		{[]int{7, 6, 3}, [2]int{3, 3}, [2]int{2, 2}, "same", []int{4, 3, 32}, 1, 0},
		{[]int{7, 6, 3}, [2]int{3, 3}, [2]int{2, 2}, "valid", []int{3, 2, 32}, 0, 0},
		{[]int{5, 5, 3}, [2]int{4, 4}, [2]int{1, 1}, "same", []int{5, 5, 32}, 1, 1},
	} {
		c := mustConv(t, 32, tc.k, WithStrides(tc.s[0], tc.s[1]), WithPadding(tc.pad))
		out, err := c.Build(tc.in, rng)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(out, tc.want) || c.g.padT != tc.padT || c.g.padL != tc.pL {
			t.Errorf("%v %v/%v %s: out %v pad (%d, %d), want %v (%d, %d)", tc.in, tc.k, tc.s, tc.pad, out, c.g.padT, c.g.padL, tc.want, tc.padT, tc.pL)
		}
	}
	c := mustConv(t, 32, [2]int{3, 3}, WithActivation("relu"))
	if _, err := c.Build([]int{28, 28, 1}, rng); err != nil {
		t.Fatal(err)
	}
	if got := ShapeTuple(c.OutputShape()); got != "(None, 26, 26, 32)" {
		t.Errorf("output shape %s", got)
	}
	if n := len(c.Kernel.Value) + len(c.Bias.Value); n != 320 {
		t.Errorf("%d parameters, want 320 (Keras)", n)
	}
	if !reflect.DeepEqual(c.Kernel.Shape, []int{3, 3, 1, 32}) || c.Kernel.Name != "conv2d/kernel" || c.Bias.Name != "conv2d/bias" {
		t.Errorf("kernel %v %q, bias %q", c.Kernel.Shape, c.Kernel.Name, c.Bias.Name)
	}
	c.SetName("conv2d_1")
	if c.Kernel.Name != "conv2d_1/kernel" || c.Bias.Name != "conv2d_1/bias" {
		t.Errorf("after SetName: %q, %q", c.Kernel.Name, c.Bias.Name)
	}
	// glorot_uniform: fan_in = 3·3·1, fan_out = 3·3·32.
	limit := math.Sqrt(6.0 / (9 + 288))
	var maxAbs float64
	for _, v := range c.Kernel.Value {
		maxAbs = math.Max(maxAbs, math.Abs(float64(v)))
	}
	if maxAbs > limit || maxAbs < 0.9*limit {
		t.Errorf("max |w| = %g, limit %g", maxAbs, limit)
	}
	cfg, err := json.Marshal(c.Config())
	if err != nil {
		t.Fatal(err)
	}
	want := `{"activation":"relu","activity_regularizer":null,"bias_constraint":null,"bias_initializer":{"class_name":"Zeros","config":{}},` +
		`"bias_regularizer":null,"data_format":"channels_last","dilation_rate":[1,1],"dtype":"float32","filters":32,"groups":1,` +
		`"kernel_constraint":null,"kernel_initializer":{"class_name":"GlorotUniform","config":{"seed":null}},"kernel_regularizer":null,` +
		`"kernel_size":[3,3],"name":"conv2d_1","padding":"valid","strides":[1,1],"trainable":true,"use_bias":true}`
	if string(cfg) != want {
		t.Errorf("Config:\n got %s\nwant %s", cfg, want)
	}
	if c.ClassName() != "Conv2D" || c.ActivationName() != "relu" {
		t.Error(c.ClassName(), c.ActivationName())
	}

	p := mustPool(t, [2]int{2, 2})
	out, err := p.Build([]int{26, 26, 32}, rng)
	if err != nil {
		t.Fatal(err)
	}
	if got := ShapeTuple(out); got != "(None, 13, 13, 32)" {
		t.Errorf("pool output %s", got)
	}
	q := mustPool(t, [2]int{3, 3}, WithStrides(2, 2), WithPadding("Same"))
	if out, _ := q.Build([]int{7, 6, 3}, rng); !reflect.DeepEqual(out, []int{4, 3, 3}) {
		t.Errorf("pool same output %v", out)
	}
	cfg, _ = json.Marshal(q.Config())
	want = `{"data_format":"channels_last","dtype":"float32","name":"max_pooling2d","padding":"same","pool_size":[3,3],"strides":[2,2],"trainable":true}`
	if string(cfg) != want || q.ClassName() != "MaxPooling2D" || q.Variables() != nil {
		t.Errorf("pool Config:\n got %s\nwant %s", cfg, want)
	}
}

// goldenCase is one entry of testdata/conv/conv.json (gen_conv.py).
type goldenCase struct {
	Name        string    `json:"name"`
	Layer       string    `json:"layer"`
	InputShape  []int     `json:"input_shape"`
	OutputShape []int     `json:"output_shape"`
	Filters     int       `json:"filters"`
	KernelSize  [2]int    `json:"kernel_size"`
	PoolSize    [2]int    `json:"pool_size"`
	Strides     [2]int    `json:"strides"`
	Padding     string    `json:"padding"`
	Activation  string    `json:"activation"`
	UseBias     bool      `json:"use_bias"`
	X           []float32 `json:"x"`
	Kernel      []float32 `json:"kernel"`
	Bias        []float32 `json:"bias"`
	DY          []float32 `json:"dy"`
	Y           []float64 `json:"y"`
	DX          []float64 `json:"dx"`
	DKernel     []float64 `json:"dkernel"`
	DBias       []float64 `json:"dbias"`
}

func loadGolden(t *testing.T) []goldenCase {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "conv", "conv.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct{ Cases []goldenCase }
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Cases) == 0 {
		t.Fatal("no cases in conv.json")
	}
	return f.Cases
}

// mismatch compares got with PyTorch's float64 values: each element must
// be within 1e-5 of the larger of its magnitude and the array's largest.
// It returns a description of the first few differences ("" if none).
func mismatch(got []float32, want []float64) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%d values, want %d", len(got), len(want))
	}
	var scale float64
	for _, w := range want {
		scale = math.Max(scale, math.Abs(w))
	}
	var b strings.Builder
	bad := 0
	for i, w := range want {
		if d := math.Abs(float64(got[i]) - w); !(d <= 1e-5*math.Max(math.Abs(w), scale)) {
			if bad < 3 {
				fmt.Fprintf(&b, "[%d] = %g, want %g; ", i, got[i], w)
			}
			bad++
		}
	}
	if bad > 0 {
		fmt.Fprintf(&b, "%d of %d differ", bad, len(want))
	}
	return b.String()
}

// runGolden builds the case's layer with its weights (kernel transformed
// by flip, if not nil) and returns its output and gradients.
func runGolden(t *testing.T, gc goldenCase, flip func(k []float32, c *Conv2D)) (y, dx, dk, db []float32) {
	t.Helper()
	n, in := gc.InputShape[0], gc.InputShape[1:]
	var l Layer
	var c *Conv2D
	if gc.Layer == "Conv2D" {
		opts := []Option{WithStrides(gc.Strides[0], gc.Strides[1]), WithPadding(gc.Padding), WithActivation(gc.Activation)}
		if !gc.UseBias {
			opts = append(opts, WithoutBias())
		}
		c = mustConv(t, gc.Filters, gc.KernelSize, opts...)
		l = c
	} else {
		l = mustPool(t, gc.PoolSize, WithStrides(gc.Strides[0], gc.Strides[1]), WithPadding(gc.Padding))
	}
	out, err := l.Build(in, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out, gc.OutputShape[1:]) {
		t.Fatalf("%s: output shape %v, want %v", gc.Name, out, gc.OutputShape[1:])
	}
	if c != nil {
		copy(c.Kernel.Value, gc.Kernel)
		if flip != nil {
			flip(c.Kernel.Value, c)
		}
		if c.Bias != nil {
			copy(c.Bias.Value, gc.Bias)
		}
	}
	l.Allocate(n, true)
	y = append([]float32(nil), l.Forward(gc.X, n, true)...)
	dx = append([]float32(nil), l.Backward(gc.DY, n)...)
	if c != nil {
		dk = c.Kernel.Grad
		if c.Bias != nil {
			db = c.Bias.Grad
		}
	}
	inf := make([]float32, len(y))
	l.Infer(inf, gc.X, n)
	if !reflect.DeepEqual(inf, y) {
		t.Errorf("%s: Infer differs from Forward", gc.Name)
	}
	return y, dx, dk, db
}

// TestConvGolden compares Conv2D and MaxPooling2D with PyTorch (see
// testdata/conv/gen_conv.py): outputs, and gradients with respect to the
// input, kernel and bias.
func TestConvGolden(t *testing.T) {
	for _, gc := range loadGolden(t) {
		y, dx, dk, db := runGolden(t, gc, nil)
		check := func(what string, got []float32, want []float64) {
			if m := mismatch(got, want); m != "" {
				t.Errorf("%s %s: %s", gc.Name, what, m)
			}
		}
		check("y", y, gc.Y)
		check("dx", dx, gc.DX)
		if gc.Layer == "Conv2D" {
			check("dkernel", dk, gc.DKernel)
			check("dbias", db, gc.DBias)
		}
	}
}

// TestConvGoldenDetectsFlippedKernel makes sure the golden comparison can
// fail: a kernel flipped in space (a true convolution instead of Keras'
// cross-correlation) or with its in and out channels mixed up must not pass.
func TestConvGoldenDetectsFlippedKernel(t *testing.T) {
	flips := map[string]func(k []float32, c *Conv2D){
		"spatial flip": func(k []float32, c *Conv2D) {
			g := c.g
			orig := append([]float32(nil), k...)
			per := g.cin * c.Filters
			for i := 0; i < g.kh; i++ {
				for j := 0; j < g.kw; j++ {
					copy(k[(i*g.kw+j)*per:(i*g.kw+j+1)*per], orig[((g.kh-1-i)*g.kw+g.kw-1-j)*per:])
				}
			}
		},
		"channels transposed": func(k []float32, c *Conv2D) {
			g := c.g
			orig := append([]float32(nil), k...)
			for p := 0; p < g.kh*g.kw; p++ {
				blk := orig[p*g.cin*c.Filters : (p+1)*g.cin*c.Filters]
				for a := 0; a < g.cin; a++ {
					for f := 0; f < c.Filters; f++ {
						// Read the block as (filters, cin) instead of (cin, filters).
						k[p*g.cin*c.Filters+a*c.Filters+f] = blk[(f*g.cin+a)%len(blk)]
					}
				}
			}
		},
	}
	for _, gc := range loadGolden(t) {
		if gc.Name != "valid_s1" && gc.Name != "same_s2" {
			continue
		}
		for name, flip := range flips {
			y, _, _, _ := runGolden(t, gc, flip)
			if mismatch(y, gc.Y) == "" {
				t.Errorf("%s: a kernel with %s matches PyTorch; the comparison cannot fail", gc.Name, name)
			}
		}
	}
}

// mnistBatch returns the first n MNIST training images scaled by 1/255 as
// (n, 28, 28, 1), or, without the files, random images with MNIST's share
// of zero pixels (81%).
func mnistBatch(n int) ([]float32, string) {
	x := make([]float32, n*784)
	if ds, err := mnist.Load(""); err == nil {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		ds.XTrain.WithScale(1.0/255).GatherRows(x, idx)
		return x, "mnist"
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range x {
		if rng.Float64() < 0.19 {
			x[i] = rng.Float32()
		}
	}
	return x, "synthetic"
}

// BenchmarkConv2DMNIST times one training step (Forward and Backward) of
// Conv2D(32, 3×3, relu) on a batch of 32 MNIST images (32, 28, 28, 1):
// "first" as a model's first layer (no input gradient), "inputgrad" with
// the input gradient, "infer" the inference pass.
func BenchmarkConv2DMNIST(b *testing.B) {
	const n = 32
	x, src := mnistBatch(n)
	b.Logf("data: %s", src)
	for _, mode := range []string{"first", "inputgrad", "infer"} {
		b.Run(mode, func(b *testing.B) {
			c := mustConv(b, 32, [2]int{3, 3}, WithActivation("relu"))
			if _, err := c.Build([]int{28, 28, 1}, rand.New(rand.NewPCG(1, 1))); err != nil {
				b.Fatal(err)
			}
			c.Allocate(n, mode == "inputgrad")
			dy := randSlice(rand.New(rand.NewPCG(3, 3)), n*c.outWidth, 1e-3)
			dst := make([]float32, n*c.outWidth)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if mode == "infer" {
					c.Infer(dst, x, n)
					continue
				}
				c.Forward(x, n, true)
				c.Backward(dy, n)
			}
		})
	}
}

// BenchmarkConvPoolMNIST times one training step of examples/cnn.yaml's
// convolution block on a batch of 128 MNIST images: Conv2D(32, 3×3, relu)
// as the first layer, MaxPooling2D(2), their backward passes (dy is a
// gradient for the pooled outputs), and the inference pass of both.
func BenchmarkConvPoolMNIST(b *testing.B) {
	const n = 128
	x, src := mnistBatch(n)
	b.Logf("data: %s", src)
	c := mustConv(b, 32, [2]int{3, 3}, WithActivation("relu"))
	out, err := c.Build([]int{28, 28, 1}, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		b.Fatal(err)
	}
	p := mustPool(b, [2]int{2, 2})
	if _, err := p.Build(out, nil); err != nil {
		b.Fatal(err)
	}
	c.Allocate(n, false)
	p.Allocate(n, true)
	dy := randSlice(rand.New(rand.NewPCG(3, 3)), n*p.outWidth, 1e-3)
	b.Run("train", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p.Forward(c.Forward(x, n, true), n, true)
			c.Backward(p.Backward(dy, n), n)
		}
	})
	b.Run("infer", func(b *testing.B) {
		h := make([]float32, n*c.outWidth)
		dst := make([]float32, n*p.outWidth)
		b.ReportAllocs()
		for b.Loop() {
			c.Infer(h, x, n)
			p.Infer(dst, h, n)
		}
	})
}

// BenchmarkConv2DDensity times a training step (Forward, Backward without
// the input gradient, which both paths compute alike) of Conv2D(32, 3×3,
// relu) on inputs of a given density of non-zero values, forcing the dense
// or the sparse path, to place sparseDensity and sparseMinK: channels=1 is
// MNIST-like (k = 9), channels=16 and 64 make k = 144 and 576.
func BenchmarkConv2DDensity(b *testing.B) {
	const n = 16
	for _, cin := range []int{1, 16, 64} {
		for _, density := range []float64{0.01, 0.03, 0.06, 0.12, 0.25} {
			for _, path := range []string{"dense", "sparse"} {
				b.Run(fmt.Sprintf("channels=%d/density=%g/%s", cin, density, path), func(b *testing.B) {
					rng := rand.New(rand.NewPCG(1, 2))
					c := mustConv(b, 32, [2]int{3, 3}, WithActivation("relu"))
					if _, err := c.Build([]int{28, 28, cin}, rng); err != nil {
						b.Fatal(err)
					}
					c.Allocate(n, false)
					x := make([]float32, n*c.inWidth)
					for i := range x {
						if rng.Float64() < density {
							x[i] = rng.Float32()
						}
					}
					dy := randSlice(rng, n*c.outWidth, 1e-3)
					for b.Loop() {
						if path == "sparse" {
							c.forward(x, n, c.z, nil, true)
							c.act.Forward(c.y, c.z, n*c.g.pixels(), c.Filters)
						} else {
							c.forward(x, n, nil, c.y, false)
						}
						c.Backward(dy, n)
					}
				})
			}
		}
	}
}

// convStep runs a training step of c on x (n samples), on the sparse or the
// dense path whatever the input's density, as Forward would take it, and
// returns copies of the outputs and gradients.
func convStep(c *Conv2D, x, dy []float32, n int, sparse bool) (y, dx, gk, gb []float32) {
	rows, f := n*c.g.pixels(), c.Filters
	if c.relu() && !sparse {
		c.forward(x, n, nil, c.y, false)
	} else {
		c.forward(x, n, c.z, nil, sparse)
		c.act.Forward(c.y, c.z, rows, f)
	}
	y = append([]float32(nil), c.y[:rows*f]...)
	dx = append([]float32(nil), c.Backward(dy, n)...)
	gk = append([]float32(nil), c.Kernel.Grad...)
	if c.Bias != nil {
		gb = append([]float32(nil), c.Bias.Grad...)
	}
	return y, dx, gk, gb
}

// TestConv2DSparseMatchesDense: on finite inputs, the sparse path (taken by
// very sparse inputs into wide windows) and the dense path give the same
// bits: they add the same non-zero products in the same order.
func TestConv2DSparseMatchesDense(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []int
		c    *Conv2D
	}{
		{"relu_valid", []int{7, 6, 32}, mustConv(t, 5, [2]int{3, 3}, WithActivation("relu"))},
		{"relu_same_s2", []int{7, 8, 32}, mustConv(t, 40, [2]int{3, 3}, WithActivation("relu"), WithPadding("same"), WithStrides(2, 1))},
		{"linear_nobias", []int{6, 6, 64}, mustConv(t, 3, [2]int{2, 2}, WithoutBias(), WithPadding("same"))},
		{"softmax", []int{5, 5, 40}, mustConv(t, 4, [2]int{3, 3}, WithActivation("softmax"))},
	} {
		for _, gdx := range []bool{false, true} {
			rng := rand.New(rand.NewPCG(41, 42))
			c := tc.c
			if _, err := c.Build(tc.in, rng); err != nil {
				t.Fatal(err)
			}
			if c.Bias != nil {
				copy(c.Bias.Value, randSlice(rng, c.Filters, 0.1))
			}
			n := 3
			c.Allocate(n, gdx)
			x := make([]float32, n*c.inWidth)
			for i := range x {
				if rng.IntN(60) == 0 {
					x[i] = rng.Float32()*2 - 1
				}
			}
			if !c.useSparse(x) {
				t.Fatalf("%s: input not sparse enough for the sparse path", tc.name)
			}
			dy := randSlice(rng, n*c.outWidth, 1)
			y0, dx0, gk0, gb0 := convStep(c, x, dy, n, false)
			y1, dx1, gk1, gb1 := convStep(c, x, dy, n, true)
			name := fmt.Sprintf("%s gdx=%v", tc.name, gdx)
			if !reflect.DeepEqual(y0, y1) || !reflect.DeepEqual(gk0, gk1) || !reflect.DeepEqual(gb0, gb1) || !reflect.DeepEqual(dx0, dx1) {
				t.Errorf("%s: the sparse path differs from the dense one", name)
			}
			// Forward and Infer take the sparse path themselves.
			fwd := append([]float32(nil), c.Forward(x, n, true)...)
			if !c.sparse || !reflect.DeepEqual(fwd, y0) {
				t.Errorf("%s: Forward did not take the sparse path (%v) or differs", name, c.sparse)
			}
			got := make([]float32, len(y0))
			c.Infer(got, x, n)
			if !reflect.DeepEqual(got, y0) {
				t.Errorf("%s: sparse Infer differs", name)
			}
		}
	}
}

// refConv computes a convolution step in float64 from its definition:
// the logits and, from dz = dLoss/dLogits, the kernel, bias and input
// gradients.
func refConv(c *Conv2D, x, dz []float32, n int) (z, dx, gk, gb []float64) {
	g, f := c.g, c.Filters
	z = make([]float64, n*g.pixels()*f)
	dx = make([]float64, n*c.inWidth)
	gk = make([]float64, c.k*f)
	gb = make([]float64, f)
	for s := 0; s < n; s++ {
		for q := 0; q < g.pixels(); q++ {
			h0, w0 := g.origin(q)
			r := s*g.pixels() + q
			for j := 0; j < f; j++ {
				if c.Bias != nil {
					z[r*f+j] = float64(c.Bias.Value[j])
				}
				gb[j] += float64(dz[r*f+j])
			}
			for i := 0; i < g.kh; i++ {
				for jj := 0; jj < g.kw; jj++ {
					h, w := h0+i, w0+jj
					if h < 0 || w < 0 || h >= g.inH || w >= g.inW {
						continue
					}
					for ch := 0; ch < g.cin; ch++ {
						xi := s*c.inWidth + (h*g.inW+w)*g.cin + ch
						kk := (i*g.kw+jj)*g.cin + ch
						for j := 0; j < f; j++ {
							wv := float64(c.Kernel.Value[kk*f+j])
							d := float64(dz[r*f+j])
							z[r*f+j] += float64(x[xi]) * wv
							gk[kk*f+j] += float64(x[xi]) * d
							dx[xi] += wv * d
						}
					}
				}
			}
		}
	}
	return z, dx, gk, gb
}

// TestConv2DMatchesDefinition compares Conv2D at every kernel level with
// refConv on shapes the kernels split differently (filters across vector
// blocks with tails, windows longer than the gradient's register blocks,
// several channels, padding, strides), and requires the same bits at
// every level.
func TestConv2DMatchesDefinition(t *testing.T) {
	type result struct{ y, dx, gk, gb, inf []float32 }
	for _, tc := range []struct {
		name string
		in   []int
		c    func() *Conv2D
	}{
		{"f40_k3x3_c3_same_s2", []int{9, 8, 3}, func() *Conv2D {
			return mustConv(t, 40, [2]int{3, 3}, WithPadding("same"), WithStrides(2, 2))
		}},
		{"f17_k5x2_c2_relu", []int{8, 7, 2}, func() *Conv2D {
			return mustConv(t, 17, [2]int{5, 2}, WithActivation("relu"))
		}},
		{"f33_k3x3_c4_relu_same", []int{6, 7, 4}, func() *Conv2D {
			return mustConv(t, 33, [2]int{3, 3}, WithActivation("relu"), WithPadding("same"))
		}},
		{"f1_k1x1_nobias", []int{5, 5, 3}, func() *Conv2D { return mustConv(t, 1, [2]int{1, 1}, WithoutBias()) }},
		{"f64_k2x2_c1_s1x2", []int{7, 9, 1}, func() *Conv2D {
			return mustConv(t, 64, [2]int{2, 2}, WithStrides(1, 2), WithPadding("same"))
		}},
	} {
		for _, gdx := range []bool{false, true} {
			var ref *result
			for _, l := range kernels.Supported() {
				prev, err := kernels.Use(l)
				if err != nil {
					t.Fatal(err)
				}
				rng := rand.New(rand.NewPCG(43, 44))
				c := tc.c()
				if _, err := c.Build(tc.in, rng); err != nil {
					t.Fatal(err)
				}
				if c.Bias != nil {
					copy(c.Bias.Value, randSlice(rng, c.Filters, 0.3))
				}
				n := 3
				c.Allocate(n, gdx)
				x := randSlice(rng, n*c.inWidth, 1)
				for i := range x {
					if rng.IntN(4) == 0 {
						x[i] = 0
					}
				}
				dy := randSlice(rng, n*c.outWidth, 1)
				var r result
				r.y, r.dx, r.gk, r.gb = convStep(c, x, dy, n, false)
				r.inf = make([]float32, len(r.y))
				c.Infer(r.inf, x, n)
				z := c.Logits()[:len(r.y)]
				kernels.Use(prev)
				name := fmt.Sprintf("%s gdx=%v level=%v", tc.name, gdx, l)
				if !reflect.DeepEqual(r.inf, r.y) {
					t.Errorf("%s: Infer differs from Forward", name)
				}
				dz := append([]float32(nil), dy...)
				if c.relu() {
					for i, v := range r.y {
						if !(v > 0) {
							dz[i] = 0
						}
					}
				}
				wz, wdx, wgk, wgb := refConv(c, x, dz, n)
				check := func(what string, got []float32, want []float64) {
					if m := mismatch(got, want); m != "" {
						t.Errorf("%s: %s: %s", name, what, m)
					}
				}
				check("logits", z, wz)
				check("kernel gradient", r.gk, wgk)
				if c.Bias != nil {
					check("bias gradient", r.gb, wgb)
				}
				if gdx {
					check("input gradient", r.dx, wdx)
				} else if r.dx != nil {
					t.Errorf("%s: an input gradient without needInputGrad", name)
				}
				if ref == nil {
					ref = &r
					continue
				}
				if !reflect.DeepEqual(r, *ref) {
					t.Errorf("%s: results differ from level %v", name, kernels.Supported()[0])
				}
			}
		}
	}
}

// BenchmarkConv2DSecondLayer times a training step of a convnet's second
// block, Conv2D(64, 3×3, relu) on (13, 13, 32) inputs (MNIST after the
// first Conv2D and MaxPooling2D: relu outputs, about half zeros), batch 32:
// "nograd" without, "inputgrad" with the input gradient.
func BenchmarkConv2DSecondLayer(b *testing.B) {
	const n = 32
	rng := rand.New(rand.NewPCG(5, 6))
	x := randSlice(rng, n*13*13*32, 1)
	for i := range x {
		x[i] = max(x[i], 0)
	}
	for _, mode := range []string{"nograd", "inputgrad"} {
		b.Run(mode, func(b *testing.B) {
			c := mustConv(b, 64, [2]int{3, 3}, WithActivation("relu"))
			if _, err := c.Build([]int{13, 13, 32}, rand.New(rand.NewPCG(1, 1))); err != nil {
				b.Fatal(err)
			}
			c.Allocate(n, mode == "inputgrad")
			dy := randSlice(rand.New(rand.NewPCG(3, 3)), n*c.outWidth, 1e-3)
			b.ReportAllocs()
			for b.Loop() {
				c.Forward(x, n, true)
				c.Backward(dy, n)
			}
		})
	}
}

// TestMaxPooling2DLevels runs MaxPooling2D at every kernel level on inputs
// with ties and NaN, in every window arrangement (tiling, uncovered cells,
// overlapping, clipped by padding, channels across vector blocks), and
// requires the bits of the generic level, which keeps the maxima's
// places as indices; with whole windows at vector levels they are the
// windows' cells (compact, kernels.MaxPool8).
func TestMaxPooling2DLevels(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      []int
		opts    []Option
		k       [2]int
		compact bool // at vector levels
	}{
		{"tiles_c32", []int{6, 8, 32}, nil, [2]int{2, 2}, true},
		{"tiles3_c16", []int{6, 9, 16}, nil, [2]int{3, 3}, true},
		{"uncovered_c48", []int{5, 7, 48}, nil, [2]int{2, 2}, true},
		{"uncovered_c17", []int{5, 7, 17}, nil, [2]int{2, 2}, false},
		{"overlap_c3", []int{6, 6, 3}, []Option{WithStrides(1, 1)}, [2]int{2, 2}, false},
		{"same_s3_c40", []int{7, 8, 40}, []Option{WithStrides(3, 3), WithPadding("same")}, [2]int{2, 3}, false},
		{"same_overlap_c16", []int{5, 6, 16}, []Option{WithStrides(2, 2), WithPadding("same")}, [2]int{3, 3}, false},
	} {
		type result struct{ y, dx, inf []float32 }
		var ref *result
		for _, l := range kernels.Supported() {
			prev, err := kernels.Use(l)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(45, 46))
			p := mustPool(t, tc.k, tc.opts...)
			if _, err := p.Build(tc.in, nil); err != nil {
				t.Fatal(err)
			}
			n := 2
			p.Allocate(n, true)
			if want := tc.compact && l >= kernels.AVX2; p.compact() != want {
				t.Errorf("%s level %v: compact %v, want %v", tc.name, l, p.compact(), want)
			}
			x := make([]float32, n*p.inWidth)
			for i := range x {
				x[i] = float32(rng.IntN(5) - 2) // ties
			}
			x[rng.IntN(len(x))] = float32(math.NaN())
			dy := randSlice(rng, n*p.outWidth, 1)
			dy[0] = float32(math.Copysign(0, -1))
			var r result
			r.y = append([]float32(nil), p.Forward(x, n, true)...)
			r.dx = append([]float32(nil), p.Backward(dy, n)...)
			r.inf = make([]float32, len(r.y))
			p.Infer(r.inf, x, n)
			kernels.Use(prev)
			same := func(a, b []float32) bool {
				for i := range a {
					if math.Float32bits(a[i]) != math.Float32bits(b[i]) && !(a[i] != a[i] && b[i] != b[i]) {
						return false
					}
				}
				return len(a) == len(b)
			}
			if !same(r.inf, r.y) {
				t.Errorf("%s level %v: Infer differs from Forward", tc.name, l)
			}
			if ref == nil {
				ref = &r
				continue
			}
			if !same(r.y, ref.y) || !same(r.dx, ref.dx) {
				t.Errorf("%s level %v: results differ from the generic level", tc.name, l)
			}
		}
	}
}
