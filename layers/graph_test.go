package layers

import (
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
)

// residualGraph is Input(6) → Dense(5, relu) = h → Add(Dense(5, tanh)(h), h)
// = r → a = Dense(3, sigmoid)(r), b = Dense(3)(r) → Concatenate(a, b,
// Multiply(a, b)) = c → Average(c, c) → Dense(4, softmax).
func residualGraph(t *testing.T) (*Graph, []*Node) {
	t.Helper()
	x := NewInputNode(6)
	h := Apply(MustNewDense(5, WithActivation("relu")), x)
	r := ApplyMerge(NewAdd(), Apply(MustNewDense(5, WithActivation("tanh")), h), h)
	a := Apply(MustNewDense(3, WithActivation("sigmoid")), r)
	b := Apply(MustNewDense(3), r)
	c := ApplyMerge(NewConcatenate(-1), a, b, ApplyMerge(NewMultiply(), a, b))
	av := ApplyMerge(NewAverage(), c, c)
	y := Apply(MustNewDense(4, WithActivation("softmax")), av)
	g, err := NewGraph([]*Node{x}, []*Node{y})
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range g.Nodes() {
		n.SetName(strings.ToLower(n.ClassName()) + "_" + string(rune('a'+i)))
	}
	return g, []*Node{x, h, r, a, b, c, av, y}
}

// TestGraphGradients: the graph's input and weight gradients (summed where
// a tensor feeds several layers) match finite differences.
func TestGraphGradients(t *testing.T) {
	g, _ := residualGraph(t)
	checkLayer(t, "graph", g, []int{6}, 3)
}

// TestGraphLogits: BackwardLogits and InferLogits go through the output
// layer's logits; Infer matches Forward, also run concurrently.
func TestGraphLogits(t *testing.T) {
	g, _ := residualGraph(t)
	rng := rand.New(rand.NewPCG(1, 2))
	if _, err := g.Build([]int{6}, rng); err != nil {
		t.Fatal(err)
	}
	const n = 5
	g.Allocate(n, false)
	x := randSlice(rng, n*6, 1)
	y := append([]float32(nil), g.Forward(x, n, false)...)
	z := append([]float32(nil), g.Logits()[:n*4]...)
	if g.ActivationName() != "softmax" {
		t.Errorf("ActivationName = %q, want softmax", g.ActivationName())
	}
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for rows := 1; rows <= n; rows++ {
				out := make([]float32, rows*4)
				g.Infer(out, x, rows)
				lg := make([]float32, rows*4)
				g.InferLogits(lg, x, rows)
				for i := range out {
					if math.Abs(float64(out[i]-y[i])) > 1e-6 || math.Abs(float64(lg[i]-z[i])) > 1e-6 {
						t.Errorf("rows %d: Infer %v / %v, Forward %v / %v", rows, out[i], lg[i], y[i], z[i])
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	if lz := g.ForwardLogits(x, n); math.Abs(float64(lz[0]-z[0])) > 0 {
		t.Errorf("ForwardLogits %v, Logits %v", lz[0], z[0])
	}
}

// TestGraphOrder: nodes are in Keras' model.layers order (decreasing depth
// from the output, ties in depth-first visit order).
func TestGraphOrder(t *testing.T) {
	x := NewInputNode(4)
	d0 := Apply(MustNewDense(3), x)
	d1 := Apply(MustNewDense(3), d0)
	add := ApplyMerge(NewAdd(), d1, d0)
	b0 := Apply(MustNewDense(2), add)
	b1 := Apply(MustNewDense(2), add)
	cat := ApplyMerge(NewConcatenate(-1), b0, b1)
	out := Apply(MustNewDense(1), cat)
	g, err := NewGraph([]*Node{x}, []*Node{out})
	if err != nil {
		t.Fatal(err)
	}
	want := []*Node{x, d0, d1, add, b0, b1, cat, out}
	for i, n := range g.Nodes() {
		if n != want[i] {
			t.Fatalf("node %d is a %s, want order input, d0, d1, add, b0, b1, concatenate, out", i, n.ClassName())
		}
	}
}

func TestGraphErrors(t *testing.T) {
	x := NewInputNode(4)
	shared := MustNewDense(4)
	h := Apply(shared, x)
	twice := Apply(shared, h)
	other := NewInputNode(4)
	mixed := ApplyMerge(NewAdd(), Apply(MustNewDense(4), x), other)
	cases := []struct {
		in, out []*Node
		want    string
	}{
		{[]*Node{x, other}, []*Node{h}, "exactly one input and one output"},
		{[]*Node{x}, []*Node{h, twice}, "exactly one input and one output"},
		{[]*Node{x}, []*Node{twice}, "shared layer"},
		{[]*Node{x}, []*Node{mixed}, "not the model's input"},
		{[]*Node{h}, []*Node{twice}, "not an input"},
		{[]*Node{x}, []*Node{x}, "apply at least one layer"},
		{[]*Node{x}, []*Node{Apply(MustNewDense(2), nil)}, "input node is nil"},
		{[]*Node{x}, []*Node{Apply(MustNewDense(2), other)}, "not the model's input"},
	}
	for _, c := range cases {
		_, err := NewGraph(c.in, c.out)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want it to contain %q", err, c.want)
		}
	}
	// Shape errors surface at Build with the layer's name.
	y := ApplyMerge(NewAdd(), Apply(MustNewDense(3), x), Apply(MustNewDense(2), x))
	g, err := NewGraph([]*Node{x}, []*Node{y})
	if err != nil {
		t.Fatal(err)
	}
	g.Nodes()[3].SetName("add")
	if _, err := g.Build([]int{4}, rand.New(rand.NewPCG(1, 1))); err == nil || !strings.Contains(err.Error(), `layer add (Add): Add "add": inputs have incompatible shapes [(None, 3), (None, 2)]`) {
		t.Errorf("Build error %v", err)
	}
}
