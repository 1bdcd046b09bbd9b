package onnx

// The fixture models: small deterministic kiln models whose ONNX export and
// onnxruntime's outputs on fixed inputs are committed in testdata/. See
// testdata/ort_check.js for how to regenerate them.

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/data"
	"github.com/kiln-ml/kiln/layers"
)

type fixture struct {
	name   string
	opts   Options
	layers func() []any // Input first
	loss   string
	rows   int
	// bytes: the inputs are integers 0..255 that kiln reads as uint8 with
	// data.scale 1/255 (what an MNIST experiment does) while the ONNX
	// model (with InputScale) takes them as raw float32 values.
	bytes bool
	ops   []string // the ONNX op types, in order
	// pads are the pads attributes, [top, left, bottom, right], of the
	// Conv and MaxPool nodes in order, worked out by hand from TensorFlow's
	// "same" rule (out = ⌈in/stride⌉, total = max((out−1)·stride + k − in,
	// 0), the odd cell at the bottom or right).
	pads [][]int64
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

var fixtures = []fixture{
	{
		name: "relu_softmax",
		layers: func() []any {
			return []any{layers.NewInput(4, 3), layers.NewFlatten(),
				layers.MustNewDense(5, layers.WithActivation("relu")),
				layers.MustNewDense(3, layers.WithActivation("softmax"))}
		},
		loss: "categorical_crossentropy", rows: 5,
		ops: []string{"Flatten", "Gemm", "Relu", "Gemm", "Softmax"},
	},
	{
		name: "tanh_sigmoid",
		layers: func() []any {
			return []any{layers.NewInput(2, 3), must(layers.NewActivation("tanh")), layers.NewFlatten(),
				layers.MustNewDense(4), must(layers.NewDropout(0.25)),
				layers.MustNewDense(2, layers.WithActivation("sigmoid"))}
		},
		loss: "binary_crossentropy", rows: 5,
		ops: []string{"Tanh", "Flatten", "Gemm", "Gemm", "Sigmoid"},
	},
	{
		name: "scaled_bytes",
		opts: Options{InputScale: 1.0 / 255, ProducerVersion: "test"},
		layers: func() []any {
			return []any{layers.NewInput(3, 4), layers.NewFlatten(),
				layers.MustNewDense(6, layers.WithActivation("relu"), layers.WithoutBias()),
				layers.MustNewDense(3), must(layers.NewActivation("softmax"))}
		},
		loss: "categorical_crossentropy", rows: 7, bytes: true,
		ops: []string{"Mul", "Flatten", "Gemm", "Relu", "Gemm", "Softmax"},
	},
	{
		name: "relu_softmax_opset11",
		opts: Options{Opset: 11},
		layers: func() []any {
			return []any{layers.NewInput(4, 3), layers.NewFlatten(),
				layers.MustNewDense(5, layers.WithActivation("relu")),
				layers.MustNewDense(3, layers.WithActivation("softmax"))}
		},
		loss: "categorical_crossentropy", rows: 5,
		ops: []string{"Flatten", "Gemm", "Relu", "Gemm", "Softmax"},
	},
	{
		name: "dropout_last_opset21",
		opts: Options{Opset: 21},
		layers: func() []any {
			return []any{layers.NewInput(5), layers.MustNewDense(4, layers.WithActivation("tanh")),
				layers.MustNewDense(3, layers.WithActivation("relu")), must(layers.NewDropout(0.5))}
		},
		loss: "mse", rows: 4,
		ops: []string{"Gemm", "Tanh", "Gemm", "Relu"},
	},
	{
		// (8, 7, 3) → conv 3×3 valid → (6, 5, 4) → pool 2 → (3, 2, 4) → 24.
		name: "conv_relu_pool",
		layers: func() []any {
			return []any{layers.NewInput(8, 7, 3),
				must(layers.NewConv2D(4, [2]int{3, 3}, layers.WithActivation("relu"))),
				must(layers.NewMaxPooling2D([2]int{2, 2})), layers.NewFlatten(),
				layers.MustNewDense(5, layers.WithActivation("softmax"))}
		},
		loss: "categorical_crossentropy", rows: 4,
		ops:  []string{"Transpose", "Conv", "Relu", "MaxPool", "Transpose", "Flatten", "Gemm", "Softmax"},
		pads: [][]int64{{0, 0, 0, 0}, {0, 0, 0, 0}},
	},
	{
		// (9, 9, 2) → conv [3, 2] stride 2 same → (5, 5, 3): rows 2 padding
		// cells, one above and one below; columns (4·2 + 2 − 9 =) 1, on the
		// right. Pool 3 stride 2 same → (3, 3, 3): 2·2 + 3 − 5 = 2 cells
		// each way, one on each side (tanh is negative: padding must not
		// count as 0). Conv 1×1 → (3, 3, 2) → 18.
		name: "conv_same_strides_opset21",
		opts: Options{Opset: 21},
		layers: func() []any {
			return []any{layers.NewInput(9, 9, 2),
				must(layers.NewConv2D(3, [2]int{3, 2}, layers.WithStrides(2, 2), layers.WithPadding("same"),
					layers.WithActivation("tanh"), layers.WithoutBias())),
				must(layers.NewMaxPooling2D([2]int{3, 3}, layers.WithStrides(2, 2), layers.WithPadding("same"))),
				must(layers.NewConv2D(2, [2]int{1, 1}, layers.WithActivation("sigmoid"))),
				layers.NewFlatten(), layers.MustNewDense(3)}
		},
		loss: "mse", rows: 4,
		ops:  []string{"Transpose", "Conv", "Tanh", "MaxPool", "Conv", "Sigmoid", "Transpose", "Flatten", "Gemm"},
		pads: [][]int64{{1, 0, 1, 1}, {1, 1, 1, 1}, {0, 0, 0, 0}},
	},
	{
		// (6, 5, 2) → conv [2, 3] same, softmax over the filters → (6, 5, 4):
		// rows (5 + 2 − 6 =) 1 padding cell, below; columns 4 + 3 − 5 = 2,
		// one each side. Conv 3×3 stride 2 valid → (2, 2, 2), an Activation
		// in NCHW, then Flatten (kiln's losses need a flat output).
		name: "conv_softmax",
		layers: func() []any {
			return []any{layers.NewInput(6, 5, 2),
				must(layers.NewConv2D(4, [2]int{2, 3}, layers.WithPadding("same"), layers.WithActivation("softmax"))),
				must(layers.NewDropout(0.5)),
				must(layers.NewConv2D(2, [2]int{3, 3}, layers.WithStrides(2, 2))),
				must(layers.NewActivation("tanh")), layers.NewFlatten()}
		},
		loss: "mse", rows: 3,
		ops:  []string{"Transpose", "Conv", "Softmax", "Conv", "Tanh", "Transpose", "Flatten"},
		pads: [][]int64{{0, 1, 1, 1}, {0, 0, 0, 0}},
	},
	{
		// conv_softmax before opset 13: Softmax coerces its input to 2-D, so
		// it runs on NHWC with axis 3, between Transposes.
		name: "conv_softmax_opset11",
		opts: Options{Opset: 11},
		layers: func() []any {
			return []any{layers.NewInput(6, 5, 2),
				must(layers.NewConv2D(4, [2]int{2, 3}, layers.WithPadding("same"), layers.WithActivation("softmax"))),
				must(layers.NewDropout(0.5)),
				must(layers.NewConv2D(2, [2]int{3, 3}, layers.WithStrides(2, 2))),
				must(layers.NewActivation("tanh")), layers.NewFlatten()}
		},
		loss: "mse", rows: 3,
		ops:  []string{"Transpose", "Conv", "Transpose", "Softmax", "Transpose", "Conv", "Tanh", "Transpose", "Flatten"},
		pads: [][]int64{{0, 1, 1, 1}, {0, 0, 0, 0}},
	},
	{
		// Flat rows reshaped into images (Keras' Reshape((6, 4, 2))), a
		// conv, then a Reshape of the image back to rows.
		name: "reshape_conv",
		layers: func() []any {
			return []any{layers.NewInput(48),
				must(layers.NewReshape(6, -1, 2)),
				must(layers.NewConv2D(3, [2]int{3, 3}, layers.WithActivation("relu"))),
				must(layers.NewReshape(-1)),
				layers.MustNewDense(4, layers.WithActivation("softmax"))}
		},
		loss: "categorical_crossentropy", rows: 3,
		ops:  []string{"Reshape", "Transpose", "Conv", "Relu", "Transpose", "Reshape", "Gemm", "Softmax"},
		pads: [][]int64{{0, 0, 0, 0}},
	},
	{
		// A conv head ending in global average pooling, as in modern
		// convnets.
		name: "conv_global_average",
		layers: func() []any {
			return []any{layers.NewInput(7, 6, 2),
				must(layers.NewConv2D(5, [2]int{3, 3}, layers.WithPadding("same"), layers.WithActivation("relu"))),
				layers.NewGlobalAveragePooling2D(),
				layers.MustNewDense(3, layers.WithActivation("softmax"))}
		},
		loss: "categorical_crossentropy", rows: 3,
		ops:  []string{"Transpose", "Conv", "Relu", "GlobalAveragePool", "Flatten", "Gemm", "Softmax"},
		pads: [][]int64{{1, 1, 1, 1}},
	},
	{
		// LeNet-style: tanh convs and average pooling; the second pool is
		// "same" with stride 2 on a 3×3 image, so its windows are clipped
		// (padded cells must not count).
		name: "lenet_average_pool",
		layers: func() []any {
			return []any{layers.NewInput(10, 10, 1),
				must(layers.NewConv2D(3, [2]int{3, 3}, layers.WithActivation("tanh"))),
				must(layers.NewAveragePooling2D([2]int{2, 2})),
				must(layers.NewConv2D(4, [2]int{2, 2}, layers.WithActivation("tanh"))),
				must(layers.NewAveragePooling2D([2]int{2, 2}, layers.WithStrides(2, 2), layers.WithPadding("same"))),
				layers.NewFlatten(),
				layers.MustNewDense(3, layers.WithActivation("softmax"))}
		},
		loss: "categorical_crossentropy", rows: 3,
		ops:  []string{"Transpose", "Conv", "Tanh", "AveragePool", "Conv", "Tanh", "AveragePool", "Transpose", "Flatten", "Gemm", "Softmax"},
		pads: [][]int64{{0, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 1, 1}},
	},
	{
		// BatchNormalization on Dense outputs (Mul and Add by constants of
		// shape (units)), the second without beta, at the lowest opset.
		name: "dense_batchnorm_opset11",
		opts: Options{Opset: 11},
		layers: func() []any {
			return []any{layers.NewInput(6), layers.MustNewDense(5),
				must(layers.NewBatchNormalization()), must(layers.NewActivation("relu")),
				layers.MustNewDense(4, layers.WithActivation("tanh")),
				must(layers.NewBatchNormalization(layers.WithCenter(false), layers.WithEpsilon(0.01))),
				layers.MustNewDense(3, layers.WithActivation("softmax"))}
		},
		loss: "categorical_crossentropy", rows: 5,
		ops: []string{"Gemm", "Mul", "Add", "Relu", "Gemm", "Tanh", "Mul", "Add", "Gemm", "Softmax"},
	},
	{
		// BatchNormalization on the input image (NHWC: constants of shape
		// (3)), between a Conv2D and its activation and after a pooling
		// layer (NCHW: constants of shape (channels, 1, 1)), the last
		// without gamma. (8, 7, 3) → conv 3×3 same: 2 padding cells each
		// way → (8, 7, 4) → pool 2 → (4, 3, 4) → 48.
		name: "conv_batchnorm",
		layers: func() []any {
			return []any{layers.NewInput(8, 7, 3),
				must(layers.NewBatchNormalization()),
				must(layers.NewConv2D(4, [2]int{3, 3}, layers.WithPadding("same"), layers.WithoutBias())),
				must(layers.NewBatchNormalization()), must(layers.NewActivation("relu")),
				must(layers.NewMaxPooling2D([2]int{2, 2})),
				must(layers.NewBatchNormalization(layers.WithScale(false))),
				layers.NewFlatten(), layers.MustNewDense(3)}
		},
		// A linear output: a softmax would saturate and hide differences.
		loss: "mse", rows: 4,
		ops: []string{"Mul", "Add", "Transpose", "Conv", "Mul", "Add", "Relu", "MaxPool", "Mul", "Add",
			"Transpose", "Flatten", "Gemm"},
		pads: [][]int64{{1, 1, 1, 1}, {0, 0, 0, 0}},
	},
	{
		// Dense on the last axis of a rank-2 input (Keras' Dense on (4, 5)
		// → (4, 6)): MatMul by the (5, 6) kernel, without bias, then a
		// second one with its bias Add and a softmax over each position's
		// units, which before opset 13 is Softmax with axis 2 (the input
		// coerced to (batch·4, 5)).
		name: "dense_rank2_opset11",
		opts: Options{Opset: 11},
		layers: func() []any {
			return []any{layers.NewInput(4, 5),
				layers.MustNewDense(6, layers.WithActivation("relu"), layers.WithoutBias()),
				layers.MustNewDense(5, layers.WithActivation("softmax")),
				layers.NewFlatten(), layers.MustNewDense(3, layers.WithActivation("sigmoid"))}
		},
		loss: "binary_crossentropy", rows: 5,
		ops: []string{"MatMul", "Relu", "MatMul", "Add", "Softmax", "Flatten", "Gemm", "Sigmoid"},
	},
	{
		// A Dense on each pixel of a Conv2D's output, (7, 6, 2) → conv 3×3
		// valid → (5, 4, 3) → Dense(4) on the channels → (5, 4, 4): back
		// to NHWC before the MatMul; softmax over each pixel's 4 units.
		name: "conv_dense_pixels",
		layers: func() []any {
			return []any{layers.NewInput(7, 6, 2),
				must(layers.NewConv2D(3, [2]int{3, 3}, layers.WithActivation("relu"))),
				layers.MustNewDense(4, layers.WithActivation("softmax")),
				layers.NewFlatten(), layers.MustNewDense(3)}
		},
		loss: "mse", rows: 3,
		ops:  []string{"Transpose", "Conv", "Relu", "Transpose", "MatMul", "Add", "Softmax", "Flatten", "Gemm"},
		pads: [][]int64{{0, 0, 0, 0}},
	},
}

// rng is xorshift64*: a fixed stream, so fixtures do not depend on any
// library's random numbers.
type rng uint64

func (r *rng) next() uint64 {
	x := uint64(*r)
	x ^= x >> 12
	x ^= x << 25
	x ^= x >> 27
	*r = rng(x)
	return x * 2685821657736338717
}

// grid returns a value in [-lim, lim] on a grid of lim/1024, exact in float32.
func (r *rng) grid(lim float32) float32 {
	return float32(int(r.next()>>40%2049)-1024) / 1024 * lim
}

// model builds and compiles the fixture's model and sets every weight
// (biases included) from a fixed stream, then BatchNormalization's moving
// statistics: means in [-0.9, 0.9], variances in [1/16, 2 + 1/16].
func (f fixture) model() (*kiln.Sequential, error) {
	m := kiln.NewSequential(f.layers()...)
	if err := m.Compile(kiln.CompileOptions{Optimizer: "sgd", Loss: f.loss, Seed: 1, Warnings: io.Discard}); err != nil {
		return nil, err
	}
	r := rng(0x9e3779b97f4a7c15 ^ uint64(len(f.name)))
	for _, v := range m.Variables() {
		for i := range v.Value {
			v.Value[i] = r.grid(0.9)
		}
	}
	for _, l := range m.Layers() {
		if bn, ok := l.(*layers.BatchNormalization); ok {
			for i := range bn.MovingMean.Value {
				bn.MovingMean.Value[i] = r.grid(0.9)
				bn.MovingVariance.Value[i] = 1.0/16 + abs32(r.grid(2))
			}
		}
	}
	return m, nil
}

func abs32(v float32) float32 { return float32(math.Abs(float64(v))) }

// inputs returns the fixture's input rows as the ONNX model takes them.
func (f fixture) inputs(inShape []int) (shape []int, vals []float32) {
	shape = append([]int{f.rows}, inShape...)
	n := f.rows
	for _, d := range inShape {
		n *= d
	}
	r := rng(0x1234567 + uint64(len(f.name)))
	vals = make([]float32, n)
	for i := range vals {
		switch {
		case r.next()%5 == 0:
			vals[i] = 0 // kiln skips zero inputs: include some
		case f.bytes:
			vals[i] = float32(r.next() % 256)
		default:
			vals[i] = r.grid(2)
		}
	}
	return shape, vals
}

// kilnInput is what kiln's Predict takes for the same samples.
func (f fixture) kilnInput(shape []int, vals []float32) (*data.Array, error) {
	if !f.bytes {
		return data.NewFloat32(vals, shape...), nil
	}
	b := make([]uint8, len(vals))
	for i, v := range vals {
		if v != float32(uint8(v)) {
			return nil, fmt.Errorf("input %d is %v, not a byte", i, v)
		}
		b[i] = uint8(v)
	}
	return data.NewUint8(b, shape...).WithScale(1.0 / 255), nil
}

// arrayJSON is the fixtures' array format: {"shape": [...], "data": [...]}.
type arrayJSON struct {
	Shape []int     `json:"shape"`
	Data  []float64 `json:"data"`
}

// inputJSON formats an input fixture; each float32 in its shortest form,
// which JavaScript's Float32Array reads back exactly.
func inputJSON(shape []int, vals []float32) []byte {
	var b strings.Builder
	b.WriteString(`{"shape": [`)
	for i, d := range shape {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Itoa(d))
	}
	b.WriteString("],\n \"data\": [")
	for i, v := range vals {
		if i > 0 {
			b.WriteString(",")
		}
		if i%12 == 0 {
			b.WriteString("\n  ")
		}
		b.WriteString(strconv.FormatFloat(float64(v), 'g', -1, 32))
	}
	b.WriteString("\n]}\n")
	return []byte(b.String())
}

// TestRegenerateFixtures writes testdata/*.onnx and testdata/*.input.json.
// It runs only with KILN_ONNX_REGEN=1; then run testdata/ort_check.js to
// write onnxruntime's outputs (see the top of that file).
func TestRegenerateFixtures(t *testing.T) {
	if os.Getenv("KILN_ONNX_REGEN") != "1" {
		t.Skip("set KILN_ONNX_REGEN=1 to rewrite the fixtures in testdata/")
	}
	for _, f := range fixtures {
		m, err := f.model()
		if err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		if err := Save(filepath.Join("testdata", f.name+".onnx"), m, f.opts); err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		shape, vals := f.inputs(m.InputShape())
		if err := os.WriteFile(filepath.Join("testdata", f.name+".input.json"), inputJSON(shape, vals), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote testdata/%s.onnx and .input.json", f.name)
	}
}

// readArray reads a fixture array file as float32s (exact for values that
// were float32).
func readArray(path string) (*arrayJSON, []float32, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	var a arrayJSON
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, nil, fmt.Errorf("%s: %v", path, err)
	}
	vals := make([]float32, len(a.Data))
	for i, v := range a.Data {
		vals[i] = float32(v)
	}
	return &a, vals, nil
}
