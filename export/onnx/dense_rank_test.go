package onnx

import (
	"slices"
	"testing"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/activations"
	"github.com/kiln-ml/kiln/layers"
)

// TestDenseRank exports models with a Dense on an input of rank > 1 (Keras'
// Dense on the last axis: MatMul by the (in, units) kernel, Add of the
// bias) at the lowest, default and highest opsets, checks the graph's ops
// and layouts (on an image, back to NHWC before the MatMul), and compares
// the reference evaluator's outputs with kiln's.
func TestDenseRank(t *testing.T) {
	type tc struct {
		name     string
		model    func() *kiln.Sequential
		compiled bool
		ops      []string
	}
	var cases []tc
	for _, act := range activations.Names() {
		ops := []string{"MatMul", "Add"}
		if op, _, _ := activationOp(act, 2, DefaultOpset); op != "" {
			ops = append(ops, op)
		}
		cases = append(cases, tc{"rank 2, " + act, func() *kiln.Sequential {
			return compiled(t, layers.NewInput(4, 5), layers.MustNewDense(6, layers.WithActivation(act)),
				layers.NewFlatten(), layers.MustNewDense(2))
		}, true, append(ops, "Flatten", "Gemm")})
	}
	cases = append(cases,
		tc{"rank 4, no bias", func() *kiln.Sequential {
			return compiled(t, layers.NewInput(2, 3, 4, 5), layers.MustNewDense(3, layers.WithActivation("tanh"), layers.WithoutBias()),
				layers.NewFlatten(), layers.MustNewDense(2))
		}, true, []string{"MatMul", "Tanh", "Flatten", "Gemm"}},
		tc{"after pooling, then BatchNormalization", func() *kiln.Sequential {
			return compiled(t, layers.NewInput(6, 6, 2), must(layers.NewConv2D(3, [2]int{3, 3})),
				must(layers.NewMaxPooling2D([2]int{2, 2})), layers.MustNewDense(4, layers.WithActivation("relu")), bn(),
				layers.NewFlatten(), layers.MustNewDense(2))
		}, true, []string{"Transpose", "Conv", "MaxPool", "Transpose", "MatMul", "Add", "Relu", "Mul", "Add", "Flatten", "Gemm"}},
		tc{"after Reshape", func() *kiln.Sequential {
			return compiled(t, layers.NewInput(12), must(layers.NewReshape(3, 4)), layers.MustNewDense(5, layers.WithActivation("softmax")),
				layers.NewFlatten(), layers.MustNewDense(2))
		}, true, []string{"Reshape", "MatMul", "Add", "Softmax", "Flatten", "Gemm"}},
		tc{"image output, softmax per pixel", func() *kiln.Sequential {
			return built(t, []int{5, 4, 2}, must(layers.NewConv2D(3, [2]int{2, 2}, layers.WithActivation("relu"))),
				layers.MustNewDense(2, layers.WithActivation("softmax")))
		}, false, []string{"Transpose", "Conv", "Relu", "Transpose", "MatMul", "Add", "Softmax"}},
	)
	for _, c := range cases {
		for _, opset := range []int{MinOpset, DefaultOpset, MaxOpset} {
			t.Run(c.name+"/opset"+formatInt(int64(opset)), func(t *testing.T) {
				m := c.model()
				setBNStats(m, 5)
				r := rng(17)
				for _, v := range m.Variables() {
					for i := range v.Value {
						v.Value[i] = r.grid(0.9)
					}
				}
				g, init, ops := exportLaidOut(t, m, Options{Opset: opset})
				for _, n := range g.Nodes {
					if n.Op == "MatMul" {
						// The kernel as kiln stores it, (in, units).
						var k *layers.Dense
						for _, l := range m.Layers() {
							if dl, ok := l.(*layers.Dense); ok && dl.Kernel.Name == n.Inputs[1] {
								k = dl
							}
						}
						if k == nil {
							t.Fatalf("MatMul %s: %q is no Dense kernel", n.Name, n.Inputs[1])
						}
						checkInit(t, init, n.Inputs[1], k.Kernel)
					}
				}
				if !slices.Equal(ops, c.ops) {
					t.Fatalf("ops %v, want %v", ops, c.ops)
				}
				const rows = 3
				x := make([]float32, rows*sizeOf(m.InputShape()))
				for i := range x {
					if r.next()%5 != 0 {
						x[i] = r.grid(2)
					}
				}
				checkEvaluated(t, g, opset, m, x, x, rows, c.compiled)
			})
		}
	}
}
