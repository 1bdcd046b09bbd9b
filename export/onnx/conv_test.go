package onnx

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/activations"
	"github.com/kiln-ml/kiln/layers"
)

// TestAxisPads checks the output length and padding along one axis against
// values worked out by hand from TensorFlow's rule.
func TestAxisPads(t *testing.T) {
	cases := []struct {
		in, k, s           int
		padding            string
		out, before, after int
	}{
		{8, 3, 1, "valid", 6, 0, 0},
		{7, 2, 2, "valid", 3, 0, 0}, // the last column is dropped
		{5, 5, 1, "valid", 1, 0, 0},
		{9, 3, 2, "same", 5, 1, 1},  // 4·2 + 3 − 9 = 2
		{9, 2, 2, "same", 5, 0, 1},  // 4·2 + 2 − 9 = 1: the extra cell after
		{6, 2, 1, "same", 6, 0, 1},  // 5 + 2 − 6 = 1
		{5, 3, 1, "same", 5, 1, 1},  // 4 + 3 − 5 = 2
		{5, 4, 1, "same", 5, 1, 2},  // 4 + 4 − 5 = 3
		{10, 1, 3, "same", 4, 0, 0}, // 3·3 + 1 − 10 = 0
		{10, 2, 4, "same", 3, 0, 0}, // 2·4 + 2 − 10 = 0
		{7, 1, 4, "same", 2, 0, 0},  // 4 + 1 − 7 < 0: none
		{2, 5, 1, "same", 2, 2, 2},  // 1 + 5 − 2 = 4
	}
	for _, c := range cases {
		out, before, after, err := axisPads(c.in, c.k, c.s, c.padding)
		if err != nil || out != c.out || before != c.before || after != c.after {
			t.Errorf("axisPads(%d, %d, %d, %s) = %d, %d, %d, %v; want %d, %d, %d",
				c.in, c.k, c.s, c.padding, out, before, after, err, c.out, c.before, c.after)
			continue
		}
		// ONNX's output length with these pads (ceil_mode 0) is kiln's.
		if got := (c.in+before+after-c.k)/c.s + 1; got != out {
			t.Errorf("axisPads(%d, %d, %d, %s): ONNX computes %d outputs from pads %d, %d; kiln %d", c.in, c.k, c.s, c.padding, got, before, after, out)
		}
	}
	if _, _, _, err := axisPads(2, 3, 1, "valid"); err == nil {
		t.Error("window 3 over 2 cells, valid: no error")
	}
	if _, _, _, err := axisPads(4, 3, 1, "full"); err == nil || !strings.Contains(err.Error(), `"full"`) {
		t.Errorf("padding full: %v", err)
	}
}

func TestConvWeight(t *testing.T) {
	// A kiln kernel (kh, kw, cin, filters) = (2, 2, 2, 3) whose values
	// spell their indices: k[i][j][c][o] = 1000·i + 100·j + 10·c + o.
	kh, kw, cin, f := 2, 2, 2, 3
	k := make([]float32, kh*kw*cin*f)
	for i := 0; i < kh; i++ {
		for j := 0; j < kw; j++ {
			for c := 0; c < cin; c++ {
				for o := 0; o < f; o++ {
					k[((i*kw+j)*cin+c)*f+o] = float32(1000*i + 100*j + 10*c + o)
				}
			}
		}
	}
	w := convWeight(k, kh, kw, cin, f)
	// ONNX (filters, cin, kh, kw): W[0][0] = [[0, 100], [1000, 1100]],
	// W[0][1] = [[10, 110], ...], W[1][0] = [[1, 101], ...].
	want := []float32{0, 100, 1000, 1100, 10, 110, 1010, 1110,
		1, 101, 1001, 1101, 11, 111, 1011, 1111,
		2, 102, 1002, 1102, 12, 112, 1012, 1112}
	if !slices.Equal(w, want) {
		t.Errorf("convWeight = %v, want %v", w, want)
	}
}

// layout exports m at opset and checks the graph's layouts and shapes
// (checkLayout); it returns the op types.
func layout(t *testing.T, m *kiln.Sequential, opset int) []string {
	t.Helper()
	_, _, ops := exportLaidOut(t, m, Options{Opset: opset})
	return ops
}

// exportLaidOut exports m with o, decodes it and checks its layouts and
// shapes (checkLayout); it returns the graph, its initializers by name
// and the op types in order.
func exportLaidOut(t *testing.T, m *kiln.Sequential, o Options) (g *dGraph, init map[string]dTensor, ops []string) {
	t.Helper()
	d, err := decodeModel(encodeModel(t, m, o))
	if err != nil {
		t.Fatal(err)
	}
	g = d.Graph
	init = map[string]dTensor{}
	for _, it := range g.Init {
		init[it.Name] = it
	}
	checkLayout(t, g, init, m.InputShape(), m.OutputShape(), o.Opset)
	for _, n := range g.Nodes {
		ops = append(ops, n.Op)
	}
	return g, init, ops
}

// built returns a Sequential whose layers are built by hand (Compile
// refuses models whose output is not flat).
func built(t *testing.T, in []int, ls ...layers.Layer) *kiln.Sequential {
	t.Helper()
	items := []any{layers.NewInput(in...)}
	rng := rand.New(rand.NewPCG(1, 2))
	shape := in
	for i, l := range ls {
		l.SetName("l" + string(rune('a'+i)))
		out, err := l.Build(shape, rng)
		if err != nil {
			t.Fatal(err)
		}
		shape = out
		items = append(items, l)
	}
	return kiln.NewSequential(items...)
}

// TestImageOutput: a model ending on an image gives it back in NHWC.
func TestImageOutput(t *testing.T) {
	m := built(t, []int{5, 4, 2}, must(layers.NewMaxPooling2D([2]int{2, 2}, layers.WithPadding("same"))),
		must(layers.NewConv2D(3, [2]int{2, 2}, layers.WithActivation("relu"))), must(layers.NewDropout(0.5)))
	for _, opset := range []int{11, 13, 21} {
		ops := layout(t, m, opset)
		if want := []string{"Transpose", "MaxPool", "Conv", "Relu", "Transpose"}; !slices.Equal(ops, want) {
			t.Errorf("opset %d: ops %v, want %v", opset, ops, want)
		}
	}
}

// TestNoConvNoTranspose: images that meet no Conv2D or MaxPooling2D stay
// in kiln's layout, with no Transpose.
func TestNoConvNoTranspose(t *testing.T) {
	m := compiled(t, layers.NewInput(4, 3, 2), must(layers.NewActivation("relu")), must(layers.NewDropout(0.1)),
		layers.NewFlatten(), layers.MustNewDense(2))
	if ops := layout(t, m, 13); !slices.Equal(ops, []string{"Relu", "Flatten", "Gemm"}) {
		t.Errorf("ops %v, want Relu Flatten Gemm", ops)
	}
}

// TestConvActivations exports a Conv2D with every activation kiln
// registers, at the lowest, default and highest opsets, and checks the
// layouts (softmax over the filters included).
func TestConvActivations(t *testing.T) {
	for _, name := range activations.Names() {
		for _, opset := range []int{MinOpset, 12, DefaultOpset, MaxOpset} {
			m := compiled(t, layers.NewInput(4, 4, 3),
				must(layers.NewConv2D(2, [2]int{2, 2}, layers.WithActivation(name), layers.WithPadding("same"))),
				must(layers.NewConv2D(2, [2]int{3, 3})), layers.NewFlatten(), layers.MustNewDense(1))
			ops := layout(t, m, opset)
			if name == "softmax" {
				want := []string{"Transpose", "Conv", "Softmax", "Conv", "Transpose", "Flatten", "Gemm"}
				if opset < 13 {
					want = []string{"Transpose", "Conv", "Transpose", "Softmax", "Transpose", "Conv", "Transpose", "Flatten", "Gemm"}
				}
				if !slices.Equal(ops, want) {
					t.Errorf("softmax, opset %d: ops %v, want %v", opset, ops, want)
				}
			}
		}
	}
}

func TestConvErrors(t *testing.T) {
	conv := func(opts ...layers.Option) *layers.Conv2D {
		return must(layers.NewConv2D(2, [2]int{3, 3}, opts...))
	}
	uncompiled := kiln.NewSequential(layers.NewInput(5, 5, 1), conv(), layers.NewFlatten(), layers.MustNewDense(1))
	badPadding := compiled(t, layers.NewInput(5, 5, 1), conv(), layers.NewFlatten(), layers.MustNewDense(1))
	badPadding.Layers()[0].(*layers.Conv2D).Padding = "full"
	restrided := compiled(t, layers.NewInput(5, 5, 1), conv(), layers.NewFlatten(), layers.MustNewDense(1))
	restrided.Layers()[0].(*layers.Conv2D).Strides = [2]int{2, 2}
	zeroStride := compiled(t, layers.NewInput(5, 5, 1), must(layers.NewMaxPooling2D([2]int{2, 2})), layers.NewFlatten(), layers.MustNewDense(1))
	zeroStride.Layers()[0].(*layers.MaxPooling2D).Strides = [2]int{0, 1}
	cases := []struct {
		name string
		m    *kiln.Sequential
		want []string
	}{
		{"not compiled", uncompiled, []string{`layer 1 ("", Conv2D)`, "not built"}},
		{"bad padding", badPadding, []string{`layer 1 ("conv2d", Conv2D)`, `padding "full"`}},
		{"strides changed", restrided, []string{"does not follow"}},
		{"zero stride", zeroStride, []string{"MaxPooling2D", "positive"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := Write(&buf, c.m, Options{})
			if err == nil {
				t.Fatal("no error")
			}
			t.Log(err)
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if buf.Len() != 0 {
				t.Errorf("wrote %d bytes despite the error", buf.Len())
			}
		})
	}
}
