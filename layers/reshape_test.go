package layers

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestReshape(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		in, target, want []int
	}{
		{[]int{784}, []int{28, 28, 1}, []int{28, 28, 1}},
		{[]int{28, 28}, []int{-1, 14}, []int{56, 14}},
		{[]int{6}, []int{2, -1}, []int{2, 3}},
	} {
		r, err := NewReshape(c.target...)
		if err != nil {
			t.Fatal(err)
		}
		out, err := r.Build(c.in, rng)
		if err != nil || !slices.Equal(out, c.want) {
			t.Errorf("Reshape%v on %v: %v, %v; want %v", c.target, c.in, out, err, c.want)
		}
	}
	r, _ := NewReshape(2, 3)
	r.Build([]int{6}, rng)
	x := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	if y := r.Forward(x, 2, true); !slices.Equal(y, x) {
		t.Errorf("Forward moved data: %v", y)
	}
	if g := r.Backward(x, 2); !slices.Equal(g, x) {
		t.Errorf("Backward moved data: %v", g)
	}
	dst := make([]float32, 12)
	r.Infer(dst, x, 2)
	if !slices.Equal(dst, x) {
		t.Errorf("Infer: %v", dst)
	}
	for _, c := range []struct {
		target []int
		in     []int
		want   string
	}{
		{[]int{}, nil, "target_shape is empty"},
		{[]int{-1, -1}, nil, "more than one -1"},
		{[]int{0, 3}, nil, "has a dimension 0"},
		{[]int{4, 4}, []int{6}, "sizes must match"},
		{[]int{-1, 4}, []int{6}, "not a multiple of 4"},
	} {
		r, err := NewReshape(c.target...)
		if err == nil {
			_, err = r.Build(c.in, rng)
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Reshape%v on %v: %v; want %q", c.target, c.in, err, c.want)
		}
	}
}

func TestGlobalAveragePooling2D(t *testing.T) {
	checkLayer(t, "GlobalAveragePooling2D", NewGlobalAveragePooling2D(), []int{3, 2, 4}, 2)
	g := NewGlobalAveragePooling2D()
	if _, err := g.Build([]int{3, 2, 2}, rand.New(rand.NewPCG(1, 1))); err != nil {
		t.Fatal(err)
	}
	g.Allocate(1, false)
	// Pixels (1,2) (3,4) (5,6) (7,8) (9,10) (11,12): channel means 6 and 7.
	x := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	if y := g.Forward(x, 1, true); !slices.Equal(y, []float32{6, 7}) {
		t.Errorf("means %v, want [6 7]", y)
	}
	if _, err := g.Build([]int{784}, nil); err == nil || !strings.Contains(err.Error(), "(height, width, channels)") {
		t.Errorf("flat input: %v", err)
	}
}

func TestAveragePooling2D(t *testing.T) {
	for _, c := range []struct {
		name string
		in   []int
		opts []Option
		pool [2]int
	}{
		{"valid 2x2", []int{4, 6, 3}, nil, [2]int{2, 2}},
		{"same 3x3 stride 2", []int{5, 5, 2}, []Option{WithStrides(2, 2), WithPadding("same")}, [2]int{3, 3}},
		{"overlapping 2x3 stride 1", []int{4, 5, 1}, []Option{WithStrides(1, 1)}, [2]int{2, 3}},
	} {
		a, err := NewAveragePooling2D(c.pool, c.opts...)
		if err != nil {
			t.Fatal(err)
		}
		checkLayer(t, "AveragePooling2D/"+c.name, a, c.in, 2)
	}
	// "same" does not count padded cells: a 3×3 window on a 2×2 image of
	// ones averages to 1 everywhere, not 4/9.
	a, _ := NewAveragePooling2D([2]int{3, 3}, WithStrides(1, 1), WithPadding("same"))
	if _, err := a.Build([]int{2, 2, 1}, nil); err != nil {
		t.Fatal(err)
	}
	a.Allocate(1, false)
	if y := a.Forward([]float32{1, 1, 1, 1}, 1, false); !slices.Equal(y, []float32{1, 1, 1, 1}) {
		t.Errorf("same padding counted padded cells: %v", y)
	}
	if _, err := NewAveragePooling2D([2]int{0, 2}); err == nil {
		t.Error("pool_size 0 accepted")
	}
	b, _ := NewAveragePooling2D([2]int{2, 2})
	if _, err := b.Build([]int{784}, nil); err == nil || !strings.Contains(err.Error(), "Reshape") {
		t.Errorf("flat input: %v", err)
	}
}
