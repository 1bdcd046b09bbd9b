package onnx

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/data"
	"github.com/kiln-ml/kiln/layers"
)

// graphFixture is a Functional model fixture: exported to
// testdata/NAME.onnx, run by onnxruntime (testdata/ort_check.js) on
// testdata/NAME.input.json into testdata/NAME.ort.json, like fixtures.
type graphFixture struct {
	name  string
	opts  Options
	graph func() (in, out *layers.Node)
	loss  string
	rows  int
	ops   []string // the ONNX op types, in order
}

var graphFixtures = []graphFixture{
	{
		// The golden network (testdata/golden/gen_functional.py in the
		// module root) on (4, 5) inputs: a residual Add and two branches
		// joined by Concatenate.
		name: "graph_residual_concat",
		graph: func() (*layers.Node, *layers.Node) {
			x := kiln.Input(4, 5)
			f := layers.Apply(layers.NewFlatten(), x)
			h := layers.Apply(layers.MustNewDense(8, layers.WithActivation("relu")), f)
			r := layers.Apply(layers.MustNewDense(8, layers.WithActivation("relu")), h)
			a := layers.ApplyMerge(layers.NewAdd(), r, h)
			b1 := layers.Apply(layers.MustNewDense(4, layers.WithActivation("relu")), a)
			b2 := layers.Apply(layers.MustNewDense(4, layers.WithActivation("tanh")), a)
			c := layers.ApplyMerge(layers.NewConcatenate(-1), b1, b2)
			return x, layers.Apply(layers.MustNewDense(3, layers.WithActivation("softmax")), c)
		},
		loss: "categorical_crossentropy", rows: 5,
		ops: []string{"Flatten", "Gemm", "Relu", "Gemm", "Relu", "Add", "Gemm", "Relu", "Gemm", "Tanh", "Concat", "Gemm", "Softmax"},
	},
	{
		// Multiply, Subtract and Average of three, at opset 11, and a
		// Concatenate on axis 1 of (rows, features) maps; the output is a
		// merge (no activation: the logits are the output).
		name: "graph_merges_opset11",
		opts: Options{Opset: 11},
		graph: func() (*layers.Node, *layers.Node) {
			x := kiln.Input(3, 4)
			g := layers.Apply(layers.MustNewDense(4, layers.WithActivation("sigmoid")), x)
			v := layers.Apply(layers.MustNewDense(4, layers.WithActivation("tanh")), x)
			m := layers.ApplyMerge(layers.NewMultiply(), g, v, x)
			s := layers.ApplyMerge(layers.NewSubtract(), m, x)
			av := layers.ApplyMerge(layers.NewAverage(), s, g, v)
			c := layers.ApplyMerge(layers.NewConcatenate(1), av, x)
			f := layers.Apply(layers.NewFlatten(), c)
			d := layers.Apply(layers.MustNewDense(3), f)
			e := layers.Apply(layers.MustNewDense(3, layers.WithActivation("relu")), f)
			return x, layers.ApplyMerge(layers.NewAdd(), d, e)
		},
		loss: "mse", rows: 4,
		ops: []string{"MatMul", "Add", "Sigmoid", "MatMul", "Add", "Tanh", "Mul", "Mul", "Sub", "Add", "Add", "Div", "Concat", "Flatten",
			"Gemm", "Gemm", "Relu", "Add"},
	},
	{
		// Convolutions (NCHW inside) whose outputs are added (back to
		// kiln's layout first), then pooled, and a Dropout as the output
		// layer (no node: the Sigmoid before it writes the output).
		name: "graph_conv_residual",
		graph: func() (*layers.Node, *layers.Node) {
			x := kiln.Input(6, 5, 2)
			c1 := layers.Apply(must(layers.NewConv2D(3, [2]int{3, 3}, layers.WithPadding("same"), layers.WithActivation("relu"))), x)
			c2 := layers.Apply(must(layers.NewConv2D(3, [2]int{3, 3}, layers.WithPadding("same"))), c1)
			bn := layers.Apply(must(layers.NewBatchNormalization()), c2)
			a := layers.ApplyMerge(layers.NewAdd(), bn, c1)
			p := layers.Apply(layers.NewGlobalAveragePooling2D(), a)
			d := layers.Apply(layers.MustNewDense(2, layers.WithActivation("sigmoid")), p)
			return x, layers.Apply(must(layers.NewDropout(0.5)), d)
		},
		loss: "binary_crossentropy", rows: 3,
		ops: []string{"Transpose", "Conv", "Relu", "Conv", "Mul", "Add", "Transpose", "Transpose", "Add", "Transpose", "GlobalAveragePool", "Flatten",
			"Gemm", "Sigmoid"},
	},
}

// model builds the fixture's Functional model and sets its weights from a
// fixed stream, as fixture.model does.
func (f graphFixture) model() (*kiln.Sequential, error) {
	in, out := f.graph()
	m, err := kiln.NewFunctional([]*layers.Node{in}, []*layers.Node{out})
	if err != nil {
		return nil, err
	}
	if err := m.Compile(kiln.CompileOptions{Optimizer: "sgd", Loss: f.loss, Seed: 1, Warnings: io.Discard}); err != nil {
		return nil, err
	}
	r := rng(0x9e3779b97f4a7c15 ^ uint64(len(f.name)))
	for _, v := range m.Variables() {
		for i := range v.Value {
			v.Value[i] = r.grid(0.9)
		}
	}
	for _, n := range m.Graph().Nodes() {
		if bn, ok := n.Layer().(*layers.BatchNormalization); ok {
			for i := range bn.MovingMean.Value {
				bn.MovingMean.Value[i] = r.grid(0.9)
				bn.MovingVariance.Value[i] = 1.0/16 + abs32(r.grid(2))
			}
		}
	}
	return m, nil
}

// TestRegenerateFixturesGraph writes testdata/graph_*.onnx and their
// inputs with KILN_ONNX_REGEN=1 (then run testdata/ort_check.js on them).
func TestRegenerateFixturesGraph(t *testing.T) {
	if os.Getenv("KILN_ONNX_REGEN") != "1" {
		t.Skip("set KILN_ONNX_REGEN=1 to rewrite the fixtures in testdata/")
	}
	for _, f := range graphFixtures {
		m, err := f.model()
		if err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		if err := Save(filepath.Join("testdata", f.name+".onnx"), m, f.opts); err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		shape, vals := fixture{name: f.name, rows: f.rows}.inputs(m.InputShape())
		if err := os.WriteFile(filepath.Join("testdata", f.name+".input.json"), inputJSON(shape, vals), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestGraphFixtures: each Functional fixture exports to the committed
// .onnx byte for byte, with the expected operators in order, and kiln's
// Predict matches onnxruntime's outputs for that file.
func TestGraphFixtures(t *testing.T) {
	for _, f := range graphFixtures {
		t.Run(f.name, func(t *testing.T) {
			m, err := f.model()
			if err != nil {
				t.Fatal(err)
			}
			got := encodeModel(t, m, f.opts)
			want, err := os.ReadFile(filepath.Join("testdata", f.name+".onnx"))
			if err != nil {
				t.Fatalf("%v; %s", err, regenHint)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("export differs from testdata/%s.onnx; if the change is intended, %s", f.name, regenHint)
			}
			d, err := decodeModel(got)
			if err != nil {
				t.Fatal(err)
			}
			var ops []string
			for _, n := range d.Graph.Nodes {
				ops = append(ops, n.Op)
			}
			if !slices.Equal(ops, f.ops) {
				t.Errorf("ops %v\nwant %v", ops, f.ops)
			}
			if last := d.Graph.Nodes[len(d.Graph.Nodes)-1]; last.Outputs[0] != "output" {
				t.Errorf("the last node writes %q, not output", last.Outputs[0])
			}
			in, vals, err := readArray(filepath.Join("testdata", f.name+".input.json"))
			if err != nil {
				t.Fatal(err)
			}
			p, err := m.Predict(context.Background(), data.NewFloat32(vals, in.Shape...), kiln.EvaluateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			ort := readORT(t, f.name)
			sum := sha256.Sum256(want)
			if ort.SHA256 != hex.EncodeToString(sum[:]) {
				t.Errorf("testdata/%s.ort.json was computed from another .onnx; %s", f.name, regenHint)
			}
			if !slices.Equal(ort.Shape, p.Shape) {
				t.Fatalf("onnxruntime output shape %v, kiln Predict %v", ort.Shape, p.Shape)
			}
			if diff, i := maxDiff(p.F32, ort.Data); diff > tolerance {
				t.Errorf("kiln Predict and onnxruntime %s differ by %g at %d; tolerance %g", ort.ORTVersion, diff, i, tolerance)
			} else {
				t.Logf("max |kiln − onnxruntime %s| = %.3g over %d values", ort.ORTVersion, diff, len(p.F32))
			}
		})
	}
}

// TestGraphExportRefuses: a layer the exporter lacks inside a graph is an
// error naming it.
func TestGraphExportRefuses(t *testing.T) {
	x := kiln.Input(4)
	y := layers.ApplyMerge(&otherMerge{layers.NewAdd()}, layers.Apply(layers.MustNewDense(4), x), x)
	m, err := kiln.NewFunctional([]*layers.Node{x}, []*layers.Node{y})
	if err != nil {
		t.Fatal(err)
	}
	err = Write(io.Discard, m, Options{})
	if err == nil || !strings.Contains(err.Error(), `layer "add" (Add): merge layer type *onnx.otherMerge is not supported`) {
		t.Errorf("error %v", err)
	}
}

// otherMerge is a merge layer the exporter does not know.
type otherMerge struct{ *layers.Add }
