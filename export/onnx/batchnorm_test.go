package onnx

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/data"
	"github.com/kiln-ml/kiln/layers"
)

// bn returns a BatchNormalization layer with opts.
func bn(opts ...layers.Option) *layers.BatchNormalization {
	return must(layers.NewBatchNormalization(opts...))
}

// setBNStats gives every BatchNormalization layer of m gamma, beta and
// moving statistics far from their initial 1, 0, 0 and 1.
func setBNStats(m *kiln.Sequential, seed uint64) {
	r := rng(seed)
	for _, l := range m.Layers() {
		b, ok := l.(*layers.BatchNormalization)
		if !ok {
			continue
		}
		for k := range b.MovingMean.Value {
			if b.Gamma != nil {
				b.Gamma.Value[k] = 1.5 * r.grid(1)
			}
			if b.Beta != nil {
				b.Beta.Value[k] = r.grid(1)
			}
			b.MovingMean.Value[k] = r.grid(1)
			b.MovingVariance.Value[k] = 0.05 + abs32(r.grid(3))
		}
	}
}

// kilnOutput is kiln's inference output for the n samples x: Predict for a
// compiled model, else the layers' Infer one after the other (Predict needs
// a compiled model, and Compile a flat output).
func kilnOutput(t *testing.T, m *kiln.Sequential, x []float32, n int, isCompiled bool) []float32 {
	t.Helper()
	if isCompiled {
		p, err := m.Predict(context.Background(), data.NewFloat32(x, append([]int{n}, m.InputShape()...)...), kiln.EvaluateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return p.F32
	}
	for _, l := range m.Layers() {
		dst := make([]float32, n*sizeOf(l.OutputShape()))
		l.Infer(dst, x, n)
		x = dst
	}
	return x
}

// TestBatchNormalization exports models with BatchNormalization layers
// after Dense, Conv2D, pooling, Reshape and Input layers, with and
// without gamma and beta, at the lowest, default and highest opsets, and
// checks the graph (ops, layouts, the constants' shapes and values) and
// that the reference evaluator's outputs on it match kiln's.
func TestBatchNormalization(t *testing.T) {
	cases := []struct {
		name     string
		model    func() *kiln.Sequential
		compiled bool
		opts     Options
		ops      []string
		dims     [][]int64 // of each BatchNormalization's constants
	}{
		{
			name: "after Dense",
			model: func() *kiln.Sequential {
				return compiled(t, layers.NewInput(5), layers.MustNewDense(4, layers.WithActivation("relu")), bn(), layers.MustNewDense(3))
			},
			compiled: true,
			ops:      []string{"Gemm", "Relu", "Mul", "Add", "Gemm"},
			dims:     [][]int64{{4}},
		},
		{
			name: "last, without beta",
			model: func() *kiln.Sequential {
				return compiled(t, layers.NewInput(5), layers.MustNewDense(3), bn(layers.WithCenter(false)))
			},
			compiled: true,
			ops:      []string{"Gemm", "Mul", "Add"},
			dims:     [][]int64{{3}},
		},
		{
			name: "between Conv2D and relu, after pooling",
			model: func() *kiln.Sequential {
				return compiled(t, layers.NewInput(6, 5, 2),
					must(layers.NewConv2D(3, [2]int{3, 3}, layers.WithPadding("same"))), bn(), must(layers.NewActivation("relu")),
					must(layers.NewMaxPooling2D([2]int{2, 2})), bn(layers.WithScale(false), layers.WithEpsilon(0.1)),
					layers.NewFlatten(), layers.MustNewDense(2))
			},
			compiled: true,
			ops:      []string{"Transpose", "Conv", "Mul", "Add", "Relu", "MaxPool", "Mul", "Add", "Transpose", "Flatten", "Gemm"},
			dims:     [][]int64{{3, 1, 1}, {3, 1, 1}},
		},
		{
			name: "on the input image, scaled",
			model: func() *kiln.Sequential {
				return compiled(t, layers.NewInput(4, 3, 2), bn(layers.WithScale(false), layers.WithCenter(false)),
					layers.NewFlatten(), layers.MustNewDense(2))
			},
			compiled: true,
			opts:     Options{InputScale: 0.5},
			ops:      []string{"Mul", "Mul", "Add", "Flatten", "Gemm"},
			dims:     [][]int64{{2}},
		},
		{
			name: "after Reshape to rank 2",
			model: func() *kiln.Sequential {
				return compiled(t, layers.NewInput(6), must(layers.NewReshape(2, 3)), bn(), layers.NewFlatten(), layers.MustNewDense(2))
			},
			compiled: true,
			ops:      []string{"Reshape", "Mul", "Add", "Flatten", "Gemm"},
			dims:     [][]int64{{3}},
		},
		{
			name: "image output",
			model: func() *kiln.Sequential {
				return built(t, []int{5, 4, 2}, must(layers.NewConv2D(3, [2]int{2, 2})), bn())
			},
			ops:  []string{"Transpose", "Conv", "Mul", "Add", "Transpose"},
			dims: [][]int64{{3, 1, 1}},
		},
	}
	for _, c := range cases {
		for _, opset := range []int{MinOpset, DefaultOpset, MaxOpset} {
			t.Run(c.name+"/opset"+formatInt(int64(opset)), func(t *testing.T) {
				m := c.model()
				setBNStats(m, 7)
				o := c.opts
				o.Opset = opset
				g, init, ops := exportLaidOut(t, m, o)
				if !slices.Equal(ops, c.ops) {
					t.Fatalf("ops %v, want %v", ops, c.ops)
				}

				// Each BatchNormalization: Mul by LAYER/scale, then Add LAYER/offset.
				var bns []*layers.BatchNormalization
				wantDims := c.dims
				for _, l := range m.Layers() {
					if b, ok := l.(*layers.BatchNormalization); ok {
						bns = append(bns, b)
					}
				}
				for i, n := range g.Nodes {
					if n.Op != "Mul" || strings.HasPrefix(n.Name, "input/") {
						continue
					}
					if len(bns) == 0 {
						t.Fatalf("Mul %s: no BatchNormalization left", n.Name)
					}
					b, dims := bns[0], wantDims[0]
					bns, wantDims = bns[1:], wantDims[1:]
					add := g.Nodes[i+1]
					if add.Op != "Add" || add.Inputs[0] != n.Outputs[0] || !strings.HasPrefix(n.Name, b.Name()+"/") || !strings.HasPrefix(add.Name, b.Name()+"/") {
						t.Fatalf("layer %q: nodes %s(%v), %s(%v)", b.Name(), n.Op, n.Inputs, add.Op, add.Inputs)
					}
					checkBNInit(t, init, n.Inputs[1], add.Inputs[1], b)
					if !slices.Equal(init[n.Inputs[1]].Dims, dims) || !slices.Equal(init[add.Inputs[1]].Dims, dims) {
						t.Errorf("layer %q: constants dims %v and %v, want %v", b.Name(), init[n.Inputs[1]].Dims, init[add.Inputs[1]].Dims, dims)
					}
				}
				if len(bns) != 0 {
					t.Errorf("%d BatchNormalization layers without Mul", len(bns))
				}

				// Outputs: the reference evaluator against kiln.
				const rows = 3
				r := rng(11)
				x := make([]float32, rows*sizeOf(m.InputShape()))
				for i := range x {
					x[i] = r.grid(2)
				}
				checkEvaluated(t, g, opset, m, x, scaled(x, c.opts.InputScale), rows, c.compiled)
			})
		}
	}
}

// scaled returns x divided by the input scale s (0 or 1: none), which the
// graph's input Mul undoes: kiln takes x, the ONNX model x/s.
func scaled(x []float32, s float32) []float32 {
	if s == 0 || s == 1 {
		return x
	}
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = v / s
	}
	return out
}

func TestBatchNormalizationErrors(t *testing.T) {
	model := func() *kiln.Sequential {
		return compiled(t, layers.NewInput(3), layers.MustNewDense(2), bn(), layers.MustNewDense(1))
	}
	negative := model()
	negative.Layers()[1].(*layers.BatchNormalization).MovingVariance.Value[1] = -1
	zero := model()
	b := zero.Layers()[1].(*layers.BatchNormalization)
	b.MovingVariance.Value[0], b.Epsilon = 0, 0
	short := model()
	short.Layers()[1].(*layers.BatchNormalization).MovingMean.Value = []float32{0}
	axis := model()
	axis.Layers()[1].(*layers.BatchNormalization).Axis = 5
	cases := []struct {
		name string
		m    *kiln.Sequential
		want []string
	}{
		{"not compiled", kiln.NewSequential(layers.NewInput(3), bn(), layers.MustNewDense(1)), []string{`layer 1 ("", BatchNormalization)`, "not built"}},
		{"negative variance", negative, []string{`layer 2 ("batch_normalization", BatchNormalization)`, "channel 1", "finite"}},
		{"zero variance and epsilon", zero, []string{"channel 0", "finite"}},
		{"moving mean of the wrong size", short, []string{`"batch_normalization/moving_mean" has 1 values, want 2`}},
		{"axis not last", axis, []string{"axis 5", "not the last axis"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkWriteError(t, c.m, Options{}, c.want)
		})
	}
}

// TestEvaluatorMatchesORT runs the reference evaluator on every committed
// fixture and compares it with onnxruntime's committed outputs, so that
// the evaluator the other tests trust agrees with onnxruntime.
func TestEvaluatorMatchesORT(t *testing.T) {
	for _, f := range fixtures {
		t.Run(f.name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", f.name+".onnx"))
			if err != nil {
				t.Fatalf("%v; %s", err, regenHint)
			}
			d, err := decodeModel(b)
			if err != nil {
				t.Fatal(err)
			}
			in, vals, err := readArray(filepath.Join("testdata", f.name+".input.json"))
			if err != nil {
				t.Fatal(err)
			}
			out, err := evalGraph(d.Graph, int(d.Opsets[0].Version), tval{dims: in.Shape, v: vals})
			if err != nil {
				t.Fatal(err)
			}
			ort := readORT(t, f.name)
			if !slices.Equal(out.dims, ort.Shape) {
				t.Fatalf("evaluated shape %v, onnxruntime %v", out.dims, ort.Shape)
			}
			if d, i := maxDiff(out.v, ort.Data); d > tolerance {
				t.Errorf("evaluator and onnxruntime differ by %g at %d (%v, %v)", d, i, out.v[i], ort.Data[i])
			} else {
				t.Logf("max |evaluated − onnxruntime| = %.3g over %d values", d, len(out.v))
			}
		})
	}
}

// checkEvaluated runs the reference evaluator on graph g with the input
// fed (x as the exported graph takes it) and compares its output with kiln's
// on x (rows samples), within tolerance.
func checkEvaluated(t *testing.T, g *dGraph, opset int, m *kiln.Sequential, x, fed []float32, rows int, isCompiled bool) {
	t.Helper()
	want := kilnOutput(t, m, x, rows, isCompiled)
	got, err := evalGraph(g, opset, tval{dims: append([]int{rows}, m.InputShape()...), v: fed})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.dims, append([]int{rows}, m.OutputShape()...)) {
		t.Fatalf("output dims %v, want %v", got.dims, append([]int{rows}, m.OutputShape()...))
	}
	worst := 0.0
	for i := range want {
		d := math.Abs(float64(got.v[i] - want[i]))
		if !(d <= tolerance) {
			t.Fatalf("output %d: evaluated %v, kiln %v", i, got.v[i], want[i])
		}
		worst = max(worst, d)
	}
	t.Logf("max |kiln − evaluated| = %.3g over %d values", worst, len(want))
}

// checkWriteError checks that Write refuses m with an error containing
// every string of want, and writes nothing.
func checkWriteError(t *testing.T, m *kiln.Sequential, o Options, want []string) {
	t.Helper()
	var buf bytes.Buffer
	err := Write(&buf, m, o)
	if err == nil {
		t.Fatal("no error")
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
	if buf.Len() != 0 {
		t.Errorf("wrote %d bytes despite the error", buf.Len())
	}
}
