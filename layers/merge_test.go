package layers

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// checkMerge compares BackwardMerge's input gradients with central
// differences of L = Σ w·ForwardMerge(xs), and InferMerge with ForwardMerge.
func checkMerge(t *testing.T, name string, m Merge, ins [][]int, n int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 4))
	out, err := m.BuildMerge(ins, rng)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	m.AllocateMerge(n)
	xs := make([][]float32, len(ins))
	for i, in := range ins {
		xs[i] = randSlice(rng, n*sizeOf(in), 1)
	}
	w := randSlice(rng, n*sizeOf(out), 1)
	forward := func() float64 { return lossOf(m.ForwardMerge(xs, n, true), w) }
	forward()
	inf := make([]float32, n*sizeOf(out))
	m.InferMerge(inf, xs, n)
	if y := m.ForwardMerge(xs, n, true); !slices.Equal(y, inf) {
		t.Errorf("%s: InferMerge differs from ForwardMerge", name)
	}
	var dxs [][]float32
	for _, d := range m.BackwardMerge(w, n) {
		dxs = append(dxs, append([]float32(nil), d...))
	}
	if len(dxs) != len(ins) {
		t.Fatalf("%s: %d input gradients for %d inputs", name, len(dxs), len(ins))
	}
	const h = 1e-2
	for k, x := range xs {
		if len(dxs[k]) != len(x) {
			t.Fatalf("%s: input %d gradient has %d values, want %d", name, k, len(dxs[k]), len(x))
		}
		for i := range x {
			old := x[i]
			x[i] = old + h
			lp := forward()
			x[i] = old - h
			lm := forward()
			x[i] = old
			num := (lp - lm) / (2 * h)
			if math.Abs(num-float64(dxs[k][i])) > 3e-3*math.Max(1, math.Abs(num)) {
				t.Errorf("%s: dL/dx%d[%d] = %g, finite difference %g", name, k, i, dxs[k][i], num)
			}
		}
	}
}

func sizeOf(s []int) int {
	p := 1
	for _, d := range s {
		p *= d
	}
	return p
}

func TestMergeGradients(t *testing.T) {
	checkMerge(t, "Add", NewAdd(), [][]int{{5}, {5}, {5}}, 3)
	checkMerge(t, "Subtract", NewSubtract(), [][]int{{2, 3}, {2, 3}}, 2)
	checkMerge(t, "Multiply", NewMultiply(), [][]int{{4}, {4}, {4}}, 3)
	checkMerge(t, "Average", NewAverage(), [][]int{{4}, {4}}, 3)
	checkMerge(t, "Concatenate-1", NewConcatenate(-1), [][]int{{3}, {2}, {4}}, 3)
	checkMerge(t, "Concatenate rank3 last", NewConcatenate(-1), [][]int{{2, 2, 3}, {2, 2, 1}}, 2)
	checkMerge(t, "Concatenate axis 1", NewConcatenate(1), [][]int{{2, 3}, {1, 3}}, 2)
	checkMerge(t, "Concatenate axis 2", NewConcatenate(2), [][]int{{2, 3, 2}, {2, 1, 2}}, 2)
}

// TestMergeValues checks the outputs on small known inputs.
func TestMergeValues(t *testing.T) {
	a, b := []float32{1, 2, 3, 4}, []float32{10, 20, 30, 40}
	cases := []struct {
		m    Merge
		ins  [][]int
		want []float32
	}{
		{NewAdd(), [][]int{{2}, {2}}, []float32{11, 22, 33, 44}},
		{NewSubtract(), [][]int{{2}, {2}}, []float32{-9, -18, -27, -36}},
		{NewMultiply(), [][]int{{2}, {2}}, []float32{10, 40, 90, 160}},
		{NewAverage(), [][]int{{2}, {2}}, []float32{5.5, 11, 16.5, 22}},
		{NewConcatenate(-1), [][]int{{2}, {2}}, []float32{1, 2, 10, 20, 3, 4, 30, 40}},
		{NewConcatenate(1), [][]int{{2, 1}, {2, 1}}, []float32{1, 2, 10, 20, 3, 4, 30, 40}},
	}
	for _, c := range cases {
		if _, err := c.m.BuildMerge(c.ins, nil); err != nil {
			t.Fatal(err)
		}
		dst := make([]float32, len(c.want))
		c.m.InferMerge(dst, [][]float32{a, b}, 2)
		if !slices.Equal(dst, c.want) {
			t.Errorf("%s: got %v, want %v", c.m.ClassName(), dst, c.want)
		}
	}
}

func TestMergeShapeErrors(t *testing.T) {
	cases := []struct {
		m    Merge
		ins  [][]int
		want string
	}{
		{NewAdd(), [][]int{{3}}, "at least 2 inputs"},
		{NewAdd(), [][]int{{32}, {16}}, "incompatible shapes [(None, 32), (None, 16)]"},
		{NewSubtract(), [][]int{{2}, {2}, {2}}, "exactly 2 inputs"},
		{NewConcatenate(-1), [][]int{{2, 3}, {3, 3}}, "matching shapes except for the concatenation axis"},
		{NewConcatenate(0), [][]int{{2}, {2}}, "axis 0 is out of range"},
		{NewConcatenate(3), [][]int{{2}, {2}}, "axis 3 is out of range"},
		{NewConcatenate(-1), [][]int{{2}, {2, 1}}, "matching shapes"},
	}
	for _, c := range cases {
		_, err := c.m.BuildMerge(c.ins, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s%v: error %v, want it to contain %q", c.m.ClassName(), c.ins, err, c.want)
		}
	}
}
