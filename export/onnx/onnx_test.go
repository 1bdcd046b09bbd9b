package onnx

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/activations"
	"github.com/kiln-ml/kiln/layers"
	"github.com/kiln-ml/kiln/tensor"
)

// tolerance is the largest difference allowed between kiln's Predict and
// onnxruntime's outputs.
const tolerance = 1e-5

func encodeModel(t *testing.T, m *kiln.Sequential, o Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, m, o); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// ortOutput is testdata/*.ort.json, written by ort_check.js.
type ortOutput struct {
	ONNX       string    `json:"onnx"`
	SHA256     string    `json:"onnx_sha256"`
	ORTVersion string    `json:"onnxruntime"`
	Shape      []int     `json:"shape"`
	Data       []float64 `json:"data"`
}

const regenHint = "regenerate the fixtures as the top of testdata/ort_check.js says"

// TestFixtures checks each fixture model: (a) the export equals the
// committed .onnx byte for byte, (b) kiln's Predict on the committed inputs
// matches onnxruntime's committed outputs for that file, and (c) the
// decoded graph has the expected structure and carries the weights exactly.
func TestFixtures(t *testing.T) {
	for _, f := range fixtures {
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
				i := 0
				for i < len(got) && i < len(want) && got[i] == want[i] {
					i++
				}
				t.Errorf("export differs from testdata/%s.onnx at byte %d (len %d, committed %d); if the change is intended, %s",
					f.name, i, len(got), len(want), regenHint)
			}

			// (b) kiln vs onnxruntime.
			in, vals, err := readArray(filepath.Join("testdata", f.name+".input.json"))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(in.Shape[1:], m.InputShape()) {
				t.Fatalf("input fixture shape %v does not fit Input %v", in.Shape, m.InputShape())
			}
			x, err := f.kilnInput(in.Shape, vals)
			if err != nil {
				t.Fatal(err)
			}
			p, err := m.Predict(context.Background(), x, kiln.EvaluateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			ort := readORT(t, f.name)
			sum := sha256.Sum256(want)
			if ort.SHA256 != hex.EncodeToString(sum[:]) {
				t.Errorf("testdata/%s.ort.json was computed from another .onnx (sha256 %s, committed file %x); %s", f.name, ort.SHA256, sum, regenHint)
			}
			if !slices.Equal(ort.Shape, p.Shape) {
				t.Fatalf("onnxruntime output shape %v, kiln Predict %v", ort.Shape, p.Shape)
			}
			if d, i := maxDiff(p.F32, ort.Data); d > tolerance {
				t.Errorf("kiln Predict and onnxruntime %s differ by %g at %d (kiln %v, onnxruntime %v); tolerance %g",
					ort.ORTVersion, d, i, p.F32[i], ort.Data[i], tolerance)
			} else {
				t.Logf("max |kiln − onnxruntime %s| = %.3g over %d values", ort.ORTVersion, d, len(p.F32))
			}

			// (c) structure.
			checkStructure(t, f, m, got)
		})
	}
}

func readORT(t *testing.T, name string) *ortOutput {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".ort.json"))
	if err != nil {
		t.Fatalf("%v; %s", err, regenHint)
	}
	var o ortOutput
	if err := json.Unmarshal(b, &o); err != nil {
		t.Fatalf("testdata/%s.ort.json: %v", name, err)
	}
	return &o
}

// maxDiff is the largest |a[i] − float32(b[i])| and its index.
func maxDiff(a []float32, b []float64) (float64, int) {
	if len(a) != len(b) {
		return math.Inf(1), 0
	}
	worst, at := 0.0, 0
	for i := range a {
		d := math.Abs(float64(a[i]) - float64(float32(b[i])))
		if math.IsNaN(d) {
			d = math.Inf(1)
		}
		if d > worst {
			worst, at = d, i
		}
	}
	return worst, at
}

// TestFixturesDetectWrongWeights shows the comparison with onnxruntime has
// teeth: kiln with a weight read the way an exporter with a layout error
// would hand it to onnxruntime, or with BatchNormalization's constants
// folded as a careless exporter would, is far outside the tolerance.
func TestFixturesDetectWrongWeights(t *testing.T) {
	transposeFirstKernel := func(t *testing.T, m *kiln.Sequential) {
		k := m.Variables()[0] // (in, units)
		in, units := k.Shape[0], k.Shape[1]
		tr := make([]float32, len(k.Value))
		// The buffer read as (units, in) row-major: W'[i][j] = buf[j*in + i].
		for i := 0; i < in; i++ {
			for j := 0; j < units; j++ {
				tr[i*units+j] = k.Value[j*in+i]
			}
		}
		copy(k.Value, tr)
	}
	cases := []struct {
		fixture, what string
		spoil         func(t *testing.T, m *kiln.Sequential)
	}{
		{"relu_softmax", "first Dense kernel read as (units, in), as without transB", transposeFirstKernel},
		{"dense_rank2_opset11", "rank-2 Dense kernel read as (units, in)", transposeFirstKernel},
		{"conv_relu_pool", "Conv2D kernel not transposed to (filters, cin, kh, kw)", func(t *testing.T, m *kiln.Sequential) {
			k := m.Layers()[0].(*layers.Conv2D).Kernel
			kh, kw, cin, f := k.Shape[0], k.Shape[1], k.Shape[2], k.Shape[3]
			tr := make([]float32, len(k.Value))
			// ONNX would read the buffer as W[o][c][i][j] = buf[((o·cin+c)·kh+i)·kw+j].
			for i := 0; i < kh; i++ {
				for j := 0; j < kw; j++ {
					for c := 0; c < cin; c++ {
						for o := 0; o < f; o++ {
							tr[((i*kw+j)*cin+c)*f+o] = k.Value[((o*cin+c)*kh+i)*kw+j]
						}
					}
				}
			}
			copy(k.Value, tr)
		}},
		{"conv_relu_pool", "Flatten in NCHW order (no Transpose back to NHWC)", func(t *testing.T, m *kiln.Sequential) {
			// The Dense kernel's row for feature (c, h, w) of an NCHW
			// Flatten is row (h, w, c) of kiln's.
			d := m.Layers()[3].(*layers.Dense)
			in := m.Layers()[1].OutputShape() // the MaxPooling2D output (h, w, c)
			hh, ww, cc := in[0], in[1], in[2]
			units := d.Units
			k := d.Kernel.Value
			tr := make([]float32, len(k))
			for h := 0; h < hh; h++ {
				for w := 0; w < ww; w++ {
					for c := 0; c < cc; c++ {
						copy(tr[((h*ww+w)*cc+c)*units:][:units], k[((c*hh+h)*ww+w)*units:][:units])
					}
				}
			}
			copy(k, tr)
		}},
		{"conv_batchnorm", "BatchNormalization's moving statistics left at 0 and 1", func(t *testing.T, m *kiln.Sequential) {
			for _, l := range m.Layers() {
				if b, ok := l.(*layers.BatchNormalization); ok {
					clear(b.MovingMean.Value)
					for i := range b.MovingVariance.Value {
						b.MovingVariance.Value[i] = 1
					}
				}
			}
		}},
		{"dense_batchnorm_opset11", "BatchNormalization's epsilon left out", func(t *testing.T, m *kiln.Sequential) {
			for _, l := range m.Layers() {
				if b, ok := l.(*layers.BatchNormalization); ok {
					b.Epsilon = 0
				}
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.fixture+"/"+c.what, func(t *testing.T) {
			i := slices.IndexFunc(fixtures, func(f fixture) bool { return f.name == c.fixture })
			if i < 0 {
				t.Fatalf("no fixture %s", c.fixture)
			}
			f := fixtures[i]
			m, err := f.model()
			if err != nil {
				t.Fatal(err)
			}
			c.spoil(t, m)
			inArr, vals, err := readArray(filepath.Join("testdata", f.name+".input.json"))
			if err != nil {
				t.Fatal(err)
			}
			x, err := f.kilnInput(inArr.Shape, vals)
			if err != nil {
				t.Fatal(err)
			}
			p, err := m.Predict(context.Background(), x, kiln.EvaluateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if d, _ := maxDiff(p.F32, readORT(t, f.name).Data); d < 100*tolerance {
				t.Fatalf("this error changes the outputs by only %g; the fixture cannot catch it", d)
			} else {
				t.Logf("changes the outputs by %.3g", d)
			}
		})
	}
}

func attr(n dNode, name string) (dAttr, bool) {
	for _, a := range n.Attrs {
		if a.Name == name {
			return a, true
		}
	}
	return dAttr{}, false
}

func dimsString(ds []dDim) string {
	var s []string
	for _, d := range ds {
		if d.Param != "" {
			s = append(s, d.Param)
		} else {
			s = append(s, formatInt(d.Value))
		}
	}
	return "[" + strings.Join(s, " ") + "]"
}

func formatInt(v int64) string { return strconv.FormatInt(v, 10) }

func wantDims(shape []int) string {
	s := []string{"batch"}
	for _, d := range shape {
		s = append(s, formatInt(int64(d)))
	}
	return "[" + strings.Join(s, " ") + "]"
}

// checkStructure decodes b and checks it against the fixture and model.
func checkStructure(t *testing.T, f fixture, m *kiln.Sequential, b []byte) {
	t.Helper()
	d, err := decodeModel(b)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	opset := f.opts.Opset
	if opset == 0 {
		opset = 13
	}
	wantIR := map[int]int64{11: 6, 13: 7, 21: 10}[opset]
	if d.IRVersion != wantIR {
		t.Errorf("ir_version %d, want %d for opset %d", d.IRVersion, wantIR, opset)
	}
	if d.ProducerName != "kiln" || d.ProducerVersion != f.opts.ProducerVersion {
		t.Errorf("producer %q %q, want kiln %q", d.ProducerName, d.ProducerVersion, f.opts.ProducerVersion)
	}
	if len(d.Opsets) != 1 || d.Opsets[0].Domain != "" || d.Opsets[0].Version != int64(opset) {
		t.Errorf("opset_import %+v, want one entry {\"\" %d}", d.Opsets, opset)
	}
	g := d.Graph
	if g.Name != m.Name {
		t.Errorf("graph name %q, want %q", g.Name, m.Name)
	}
	var ops []string
	for _, n := range g.Nodes {
		ops = append(ops, n.Op)
		if n.Domain != "" {
			t.Errorf("node %s: domain %q", n.Name, n.Domain)
		}
	}
	if !slices.Equal(ops, f.ops) {
		t.Errorf("ops %v, want %v", ops, f.ops)
	}

	// Inputs and outputs.
	if len(g.Inputs) != 1 || g.Inputs[0].Name != "input" || g.Inputs[0].ElemType != 1 || dimsString(g.Inputs[0].Dims) != wantDims(m.InputShape()) {
		t.Errorf("graph inputs %+v, want input float %s", g.Inputs, wantDims(m.InputShape()))
	}
	if len(g.Outputs) != 1 || g.Outputs[0].Name != "output" || g.Outputs[0].ElemType != 1 || dimsString(g.Outputs[0].Dims) != wantDims(m.OutputShape()) {
		t.Errorf("graph outputs %+v, want output float %s", g.Outputs, wantDims(m.OutputShape()))
	}

	// Values: defined once, before use (SSA, topological order).
	init := map[string]dTensor{}
	defined := map[string]bool{"input": true}
	for _, it := range g.Init {
		if defined[it.Name] {
			t.Errorf("initializer %q defined twice", it.Name)
		}
		defined[it.Name] = true
		init[it.Name] = it
		width := 4 // FLOAT; INT64 only for Reshape's shape
		if it.DataType == 7 && strings.HasSuffix(it.Name, "/shape") {
			width = 8
		} else if it.DataType != 1 {
			width = -1
		}
		if width < 0 || len(it.Raw) != width*int(size64(it.Dims)) {
			t.Errorf("initializer %q: data_type %d, %d raw bytes for dims %v", it.Name, it.DataType, len(it.Raw), it.Dims)
		}
	}
	nodeNames := map[string]bool{}
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			if !defined[in] {
				t.Errorf("node %s reads %q before it is defined", n.Name, in)
			}
		}
		if len(n.Outputs) != 1 || defined[n.Outputs[0]] {
			t.Errorf("node %s outputs %v: want one new value", n.Name, n.Outputs)
		}
		for _, o := range n.Outputs {
			defined[o] = true
		}
		if n.Name == "" || nodeNames[n.Name] {
			t.Errorf("node name %q empty or repeated", n.Name)
		}
		nodeNames[n.Name] = true
	}
	if last := g.Nodes[len(g.Nodes)-1]; last.Outputs[0] != "output" {
		t.Errorf("last node writes %v, want output", last.Outputs)
	}

	// Attributes and weights, node by node.
	vars := m.Variables()
	var spatial []layers.Layer // the Conv2D and pooling layers, in order
	var bns []*layers.BatchNormalization
	for _, l := range m.Layers() {
		switch v := l.(type) {
		case *layers.Conv2D, *layers.MaxPooling2D, *layers.AveragePooling2D:
			spatial = append(spatial, l)
		case *layers.BatchNormalization:
			bns = append(bns, v)
		}
	}
	pads := f.pads
	bnAdds := map[string]bool{}    // the names of the Add nodes of BatchNormalization layers
	denseAdds := map[string]bool{} // and of Dense layers' biases after MatMul
	for i, n := range g.Nodes {
		switch n.Op {
		case "Flatten":
			if a, ok := attr(n, "axis"); !ok || a.Type != 2 || a.I != 1 || len(n.Attrs) != 1 {
				t.Errorf("Flatten %s attributes %+v, want axis=1 (INT)", n.Name, n.Attrs)
			}
		case "Softmax":
			// Which axis is right depends on the layout: checkLayout.
			if a, ok := attr(n, "axis"); !ok || a.Type != 2 || len(n.Attrs) != 1 {
				t.Errorf("Softmax %s attributes %+v, want axis (INT)", n.Name, n.Attrs)
			}
		case "Transpose":
			a, ok := attr(n, "perm")
			if !ok || a.Type != 7 || len(n.Attrs) != 1 ||
				!slices.Equal(a.Ints, []int64{0, 3, 1, 2}) && !slices.Equal(a.Ints, []int64{0, 2, 3, 1}) {
				t.Errorf("Transpose %s attributes %+v, want perm (INTS) [0 3 1 2] or [0 2 3 1]", n.Name, n.Attrs)
			}
		case "Gemm":
			// Default alpha, beta, transA, transB: Y = A·B + C with B (in, units).
			if len(n.Attrs) != 0 {
				t.Errorf("Gemm %s attributes %+v, want none (transB = 0)", n.Name, n.Attrs)
			}
			if len(vars) == 0 {
				t.Fatalf("more Gemm nodes than kernels")
			}
			k := vars[0]
			vars = vars[1:]
			checkInit(t, init, n.Inputs[1], k)
			if len(n.Inputs) == 3 {
				if len(vars) == 0 {
					t.Fatalf("Gemm %s has C but the model has no bias left", n.Name)
				}
				checkInit(t, init, n.Inputs[2], vars[0])
				vars = vars[1:]
			} else if len(n.Inputs) != 2 {
				t.Errorf("Gemm %s inputs %v", n.Name, n.Inputs)
			}
		case "MatMul":
			// A Dense on an input of rank > 1: MatMul by its (in, units)
			// kernel, then Add of its bias if it has one.
			if len(n.Attrs) != 0 || len(n.Inputs) != 2 {
				t.Errorf("MatMul %s attributes %+v, inputs %v; want none, (x, kernel)", n.Name, n.Attrs, n.Inputs)
			}
			if len(vars) == 0 {
				t.Fatalf("more MatMul nodes than kernels")
			}
			d := denseOf(m, vars[0])
			if d == nil {
				t.Fatalf("MatMul %s: variable %q is not a Dense kernel", n.Name, vars[0].Name)
			}
			checkInit(t, init, n.Inputs[1], vars[0])
			vars = vars[1:]
			if d.Bias != nil {
				if i+1 == len(g.Nodes) || g.Nodes[i+1].Op != "Add" || len(g.Nodes[i+1].Inputs) != 2 || g.Nodes[i+1].Inputs[0] != n.Outputs[0] {
					t.Fatalf("MatMul %s (layer %q) is not followed by Add of its output and the bias", n.Name, d.Name())
				}
				add := g.Nodes[i+1]
				denseAdds[add.Name] = true
				if len(vars) == 0 || vars[0] != d.Bias {
					t.Fatalf("layer %q: the bias is not next in the model's variables", d.Name())
				}
				checkInit(t, init, add.Inputs[1], vars[0])
				vars = vars[1:]
			}
		case "Conv", "MaxPool", "AveragePool":
			if len(spatial) == 0 || len(pads) == 0 {
				t.Fatalf("%s %s: more Conv and MaxPool nodes than the model's Conv2D and MaxPooling2D layers or the fixture's pads", n.Op, n.Name)
			}
			l, p := spatial[0], pads[0]
			spatial, pads = spatial[1:], pads[1:]
			var kernel, strides [2]int
			want := map[string]attrWant{}
			switch v := l.(type) {
			case *layers.Conv2D:
				if n.Op != "Conv" {
					t.Fatalf("node %s is %s, want Conv for layer %q", n.Name, n.Op, v.Name())
				}
				kernel, strides = v.KernelSize, v.Strides
				want["dilations"] = attrWant{typ: 7, ints: []int64{1, 1}}
				want["group"] = attrWant{typ: 2, i: 1}
				if len(vars) == 0 {
					t.Fatalf("more Conv nodes than kernels")
				}
				checkConvInit(t, init, n.Inputs[1], vars[0])
				vars = vars[1:]
				if len(n.Inputs) == 3 {
					if v.Bias == nil || len(vars) == 0 || vars[0] != v.Bias {
						t.Fatalf("Conv %s has B but layer %q has no bias", n.Name, v.Name())
					}
					checkInit(t, init, n.Inputs[2], vars[0])
					vars = vars[1:]
				} else if len(n.Inputs) != 2 || v.Bias != nil {
					t.Errorf("Conv %s inputs %v (layer bias %v)", n.Name, n.Inputs, v.Bias != nil)
				}
			case *layers.MaxPooling2D:
				if n.Op != "MaxPool" || len(n.Inputs) != 1 {
					t.Fatalf("node %s is %s with inputs %v, want MaxPool(x) for layer %q", n.Name, n.Op, n.Inputs, v.Name())
				}
				kernel, strides = v.PoolSize, v.Strides
			case *layers.AveragePooling2D:
				if n.Op != "AveragePool" || len(n.Inputs) != 1 {
					t.Fatalf("node %s is %s with inputs %v, want AveragePool(x) for layer %q", n.Name, n.Op, n.Inputs, v.Name())
				}
				kernel, strides = v.PoolSize, v.Strides
				want["count_include_pad"] = attrWant{typ: 2, i: 0}
			}
			want["kernel_shape"] = attrWant{typ: 7, ints: []int64{int64(kernel[0]), int64(kernel[1])}}
			want["strides"] = attrWant{typ: 7, ints: []int64{int64(strides[0]), int64(strides[1])}}
			want["pads"] = attrWant{typ: 7, ints: p}
			if len(n.Attrs) != len(want) {
				t.Errorf("%s %s attributes %+v, want %v", n.Op, n.Name, n.Attrs, want)
			}
			for name, w := range want {
				a, ok := attr(n, name)
				if !ok || a.Type != w.typ || a.Type == 2 && a.I != w.i || a.Type == 7 && !slices.Equal(a.Ints, w.ints) {
					t.Errorf("%s %s attribute %s: %+v (present %v), want %+v", n.Op, n.Name, name, a, ok, w)
				}
			}
		case "Mul":
			if i == 0 && f.opts.InputScale != 0 && f.opts.InputScale != 1 {
				s, ok := init[n.Inputs[1]]
				if n.Inputs[0] != "input" || !ok || len(s.Dims) != 0 || len(s.Floats()) != 1 || s.Floats()[0] != f.opts.InputScale {
					t.Errorf("Mul %s: inputs %v, scale %+v; want input × scalar %v", n.Name, n.Inputs, s, f.opts.InputScale)
				}
				break
			}
			// A BatchNormalization layer: Mul then Add.
			if len(bns) == 0 {
				t.Fatalf("Mul %s: more Mul nodes than BatchNormalization layers", n.Name)
			}
			bn := bns[0]
			bns = bns[1:]
			if i+1 == len(g.Nodes) || g.Nodes[i+1].Op != "Add" || len(g.Nodes[i+1].Inputs) != 2 || g.Nodes[i+1].Inputs[0] != n.Outputs[0] {
				t.Fatalf("Mul %s (layer %q) is not followed by Add of its output", n.Name, bn.Name())
			}
			add := g.Nodes[i+1]
			bnAdds[add.Name] = true
			checkBNInit(t, init, n.Inputs[1], add.Inputs[1], bn)
			// gamma and beta are folded into the constants.
			for _, v := range bn.Variables() {
				if len(vars) == 0 || vars[0] != v {
					t.Fatalf("layer %q: variable %q is not next in the model's variables", bn.Name(), v.Name)
				}
				vars = vars[1:]
			}
		case "Add":
			if !bnAdds[n.Name] && !denseAdds[n.Name] || len(n.Attrs) != 0 {
				t.Errorf("Add %s (attributes %+v) does not follow a BatchNormalization's Mul or a Dense's MatMul", n.Name, n.Attrs)
			}
		default:
			if len(n.Attrs) != 0 {
				t.Errorf("%s %s attributes %+v, want none", n.Op, n.Name, n.Attrs)
			}
		}
	}
	if len(vars) != 0 {
		t.Errorf("%d variables not exported", len(vars))
	}
	if len(spatial) != 0 || len(pads) != 0 {
		t.Errorf("%d Conv2D or MaxPooling2D layers and %d pads of the fixture left over", len(spatial), len(pads))
	}
	if len(bns) != 0 {
		t.Errorf("%d BatchNormalization layers not exported", len(bns))
	}
	checkLayout(t, g, init, m.InputShape(), m.OutputShape(), opset)
}

// attrWant is an expected attribute: type INT (2) with i, or INTS (7).
type attrWant struct {
	typ  int64
	i    int64
	ints []int64
}

// checkLayout follows the values through the graph, with each axis of a
// 4-D value labelled N, H, W or C, and checks that every node gets the
// layout and shape it needs: Conv and MaxPool NCHW (their output size
// recomputed from the attributes as ONNX defines it), Flatten kiln's NHWC
// (its row-major order is then kiln's), Softmax an axis that normalises
// over C alone, and the output kiln's NHWC with kiln's shape.
func checkLayout(t *testing.T, g *dGraph, init map[string]dTensor, in, out []int, opset int) {
	t.Helper()
	dims := append([]int64{-1}, ints64(in)...) // -1: the batch
	labels := "N" + strings.Repeat("?", len(in))
	if len(in) == 3 {
		labels = "NHWC"
	}
	for _, n := range g.Nodes {
		fail := func(format string, args ...any) {
			t.Helper()
			t.Errorf("%s %s on %s %v: %s", n.Op, n.Name, labels, dims, fmt.Sprintf(format, args...))
		}
		switch n.Op {
		case "Relu", "Sigmoid", "Tanh", "Identity":
		case "Mul", "Add":
			// By a scalar (InputScale) or by per-channel constants
			// (BatchNormalization), which must broadcast along the
			// channels: the last axis, or axis 1 of NCHW.
			c, ok := init[n.Inputs[1]]
			if len(n.Inputs) != 2 || !ok {
				fail("inputs %v: want the value and an initializer", n.Inputs)
				return
			}
			last := dims[len(dims)-1]
			switch {
			case len(c.Dims) == 0:
			case len(dims) == 4 && labels == "NCHW":
				if !slices.Equal(c.Dims, []int64{dims[1], 1, 1}) {
					fail("constant dims %v, want (C, 1, 1) = (%d, 1, 1)", c.Dims, dims[1])
				}
			case len(dims) == 4 && labels != "NHWC":
				fail("constant dims %v on a value without C last or at axis 1", c.Dims)
			default:
				if !slices.Equal(c.Dims, []int64{last}) {
					fail("constant dims %v, want (%d), the last axis", c.Dims, last)
				}
			}
		case "Transpose":
			a, _ := attr(n, "perm")
			if len(a.Ints) != len(dims) {
				fail("perm %v", a.Ints)
				return
			}
			nd, nl := make([]int64, len(dims)), make([]byte, len(dims))
			for i, p := range a.Ints {
				nd[i], nl[i] = dims[p], labels[p]
			}
			dims, labels = nd, string(nl)
		case "Conv", "MaxPool", "AveragePool":
			if labels != "NCHW" {
				fail("want NCHW")
				return
			}
			k, _ := attr(n, "kernel_shape")
			s, _ := attr(n, "strides")
			p, _ := attr(n, "pads")
			if len(k.Ints) != 2 || len(s.Ints) != 2 || len(p.Ints) != 4 {
				fail("kernel_shape %v, strides %v, pads %v", k.Ints, s.Ints, p.Ints)
				return
			}
			if n.Op == "Conv" {
				w := init[n.Inputs[1]]
				if len(w.Dims) != 4 || w.Dims[1] != dims[1] || w.Dims[2] != k.Ints[0] || w.Dims[3] != k.Ints[1] {
					fail("W dims %v, kernel_shape %v", w.Dims, k.Ints)
					return
				}
				dims[1] = w.Dims[0]
				if len(n.Inputs) == 3 && !slices.Equal(init[n.Inputs[2]].Dims, w.Dims[:1]) {
					fail("B dims %v", init[n.Inputs[2]].Dims)
				}
			}
			for a := 0; a < 2; a++ {
				// ONNX: ⌊(in + pad_begin + pad_end − k)/s⌋ + 1 (ceil_mode 0).
				dims[2+a] = (dims[2+a]+p.Ints[a]+p.Ints[2+a]-k.Ints[a])/s.Ints[a] + 1
				if p.Ints[a] >= k.Ints[a] || p.Ints[2+a] >= k.Ints[a] {
					fail("a window lies wholly in the padding (pads %v, kernel_shape %v)", p.Ints, k.Ints)
				}
			}
		case "Flatten":
			if len(dims) == 4 && labels != "NHWC" && !(dims[2] == 1 && dims[3] == 1) {
				fail("want kiln's NHWC before Flatten")
			}
			dims = []int64{-1, size64(dims[1:])}
			labels = "N?"
		case "GlobalAveragePool":
			if labels != "NCHW" {
				fail("want NCHW")
				return
			}
			dims = []int64{-1, dims[1], 1, 1}
			labels = "N???"
		case "Reshape":
			if len(dims) == 4 && labels != "NHWC" {
				fail("want kiln's NHWC before Reshape")
			}
			sh := init[n.Inputs[1]]
			var target []int64
			for i := 0; i+8 <= len(sh.Raw); i += 8 {
				target = append(target, int64(binary.LittleEndian.Uint64(sh.Raw[i:])))
			}
			if len(target) < 2 || target[0] != 0 || size64(target[1:]) != size64(dims[1:]) {
				fail("shape %v (0 keeps the batch)", target)
				return
			}
			dims = append([]int64{-1}, target[1:]...)
			labels = "N" + strings.Repeat("?", len(target)-1)
			if len(target) == 4 {
				labels = "NHWC"
			}
		case "Gemm":
			b := init[n.Inputs[1]]
			if len(dims) != 2 || len(b.Dims) != 2 || b.Dims[0] != dims[1] {
				fail("B dims %v", b.Dims)
				return
			}
			dims = []int64{-1, b.Dims[1]}
		case "MatMul":
			// A Dense on the last axis of a value of rank > 2: on an
			// image, that must be the channels (kiln's NHWC).
			b := init[n.Inputs[1]]
			if len(dims) < 3 || len(b.Dims) != 2 || b.Dims[0] != dims[len(dims)-1] {
				fail("B dims %v", b.Dims)
				return
			}
			if len(dims) == 4 && labels != "NHWC" {
				fail("want kiln's NHWC before a Dense on the channels")
			}
			dims[len(dims)-1] = b.Dims[1]
		case "Softmax":
			a, _ := attr(n, "axis")
			axis := a.I
			if axis < 0 {
				axis += int64(len(dims))
			}
			// From opset 13 Softmax normalises along axis; before, over
			// all of axis..rank−1 (the input coerced to 2-D at axis).
			last := axis
			if opset < 13 {
				last = int64(len(dims)) - 1
			}
			if axis < 1 || axis != last || len(dims) == 4 && labels[axis] != 'C' {
				fail("axis %d does not normalise over the channels or features alone (opset %d)", a.I, opset)
			}
		default:
			fail("unexpected op")
		}
	}
	want := append([]int64{-1}, ints64(out)...)
	if !slices.Equal(dims, want) || len(out) == 3 && labels != "NHWC" {
		t.Errorf("the graph computes %s %v, want kiln's output shape %v", labels, dims, want)
	}
}

// denseOf returns the Dense layer of m whose kernel is k, or nil.
func denseOf(m *kiln.Sequential, k *tensor.Variable) *layers.Dense {
	for _, l := range m.Layers() {
		if d, ok := l.(*layers.Dense); ok && d.Kernel == k {
			return d
		}
	}
	return nil
}

func ints64(v []int) []int64 {
	out := make([]int64, len(v))
	for i, d := range v {
		out[i] = int64(d)
	}
	return out
}

// checkConvInit checks that initializer name holds kiln's Conv2D kernel k,
// (kh, kw, cin, filters), as ONNX's Conv weight (filters, cin, kh, kw).
func checkConvInit(t *testing.T, init map[string]dTensor, name string, k *tensor.Variable) {
	t.Helper()
	it, ok := init[name]
	if !ok {
		t.Errorf("%q is not an initializer", name)
		return
	}
	if name != k.Name {
		t.Errorf("initializer %q, want the variable's name %q", name, k.Name)
	}
	if len(k.Shape) != 4 {
		t.Fatalf("kernel %q shape %v", k.Name, k.Shape)
	}
	kh, kw, cin, f := k.Shape[0], k.Shape[1], k.Shape[2], k.Shape[3]
	if !slices.Equal(it.Dims, []int64{int64(f), int64(cin), int64(kh), int64(kw)}) {
		t.Errorf("initializer %q dims %v, want (filters, cin, kh, kw) = (%d, %d, %d, %d)", name, it.Dims, f, cin, kh, kw)
		return
	}
	got := it.Floats()
	if len(got) != len(k.Value) {
		t.Errorf("initializer %q has %d values, want %d", name, len(got), len(k.Value))
		return
	}
	// Walk ONNX's order; kiln's index of W[o][c][i][j] is K[i][j][c][o].
	at := 0
	for o := 0; o < f; o++ {
		for c := 0; c < cin; c++ {
			for i := 0; i < kh; i++ {
				for j := 0; j < kw; j++ {
					want := k.Value[i*kw*cin*f+j*cin*f+c*f+o]
					if math.Float32bits(got[at]) != math.Float32bits(want) {
						t.Errorf("initializer %q W[%d][%d][%d][%d] is %v, want kernel[%d][%d][%d][%d] = %v", name, o, c, i, j, got[at], i, j, c, o, want)
						return
					}
					at++
				}
			}
		}
	}
}

func size64(dims []int64) int64 {
	n := int64(1)
	for _, d := range dims {
		n *= d
	}
	return n
}

// checkInit checks that initializer name holds v exactly, with v's shape.
func checkInit(t *testing.T, init map[string]dTensor, name string, v *tensor.Variable) {
	t.Helper()
	it, ok := init[name]
	if !ok {
		t.Errorf("%q is not an initializer", name)
		return
	}
	if name != v.Name {
		t.Errorf("initializer %q, want the variable's name %q", name, v.Name)
	}
	var dims []int64
	for _, d := range v.Shape {
		dims = append(dims, int64(d))
	}
	if !slices.Equal(it.Dims, dims) {
		t.Errorf("initializer %q dims %v, want %v", name, it.Dims, dims)
	}
	got := it.Floats()
	if len(got) != len(v.Value) {
		t.Errorf("initializer %q has %d values, want %d", name, len(got), len(v.Value))
		return
	}
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(v.Value[i]) {
			t.Errorf("initializer %q value %d is %v, want %v", name, i, got[i], v.Value[i])
			return
		}
	}
}

// bnWant returns what a BatchNormalization layer computes at inference,
// y = x·a + off per channel, as its Infer rounds them (float32).
func bnWant(bn *layers.BatchNormalization) (a, off []float32) {
	for k := range bn.MovingMean.Value {
		gamma, beta := float32(1), float32(0)
		if bn.Gamma != nil {
			gamma = bn.Gamma.Value[k]
		}
		if bn.Beta != nil {
			beta = bn.Beta.Value[k]
		}
		inv := float32(1 / math.Sqrt(float64(bn.MovingVariance.Value[k]+bn.Epsilon)))
		a = append(a, inv*gamma)
		off = append(off, beta-bn.MovingMean.Value[k]*a[k])
	}
	return a, off
}

// checkBNInit checks that initializers scale and offset hold the factors
// and offsets of bn exactly, named after the layer; their dims are
// checkLayout's business.
func checkBNInit(t *testing.T, init map[string]dTensor, scale, offset string, bn *layers.BatchNormalization) {
	t.Helper()
	a, off := bnWant(bn)
	for _, c := range []struct {
		name, want string
		vals       []float32
	}{{scale, bn.Name() + "/scale", a}, {offset, bn.Name() + "/offset", off}} {
		it, ok := init[c.name]
		if !ok {
			t.Errorf("layer %q: %q is not an initializer", bn.Name(), c.name)
			continue
		}
		if c.name != c.want {
			t.Errorf("layer %q: initializer %q, want %q", bn.Name(), c.name, c.want)
		}
		if size64(it.Dims) != int64(len(c.vals)) {
			t.Errorf("initializer %q dims %v, want %d values", c.name, it.Dims, len(c.vals))
			continue
		}
		got := it.Floats()
		for k := range got {
			if math.Float32bits(got[k]) != math.Float32bits(c.vals[k]) {
				t.Errorf("initializer %q value %d is %v, want %v", c.name, k, got[k], c.vals[k])
				break
			}
		}
	}
}

func compiled(t *testing.T, items ...any) *kiln.Sequential {
	t.Helper()
	m := kiln.NewSequential(items...)
	if err := m.Compile(kiln.CompileOptions{Optimizer: "sgd", Loss: "mse", Seed: 3, Warnings: io.Discard}); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestDeterministic(t *testing.T) {
	build := func() []byte {
		m := compiled(t, layers.NewInput(28, 28), layers.NewFlatten(), layers.MustNewDense(16, layers.WithActivation("relu")),
			layers.MustNewDense(10, layers.WithActivation("softmax")))
		return encodeModel(t, m, Options{InputScale: 1.0 / 255, ProducerVersion: "v1"})
	}
	a, b := build(), build()
	if !bytes.Equal(a, b) {
		t.Fatal("two exports of the same model differ")
	}
	if _, err := decodeModel(a); err != nil {
		t.Fatal(err)
	}
}

func TestSave(t *testing.T) {
	m := compiled(t, layers.NewInput(3), layers.MustNewDense(2, layers.WithActivation("sigmoid")))
	path := filepath.Join(t.TempDir(), "model.onnx")
	if err := Save(path, m, Options{}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, encodeModel(t, m, Options{})) {
		t.Error("Save and Write give different bytes")
	}
	missing := filepath.Join(t.TempDir(), "no", "such", "dir", "model.onnx")
	if err := Save(missing, m, Options{}); err == nil {
		t.Error("Save into a missing directory: no error")
	}
	bad := filepath.Join(t.TempDir(), "bad.onnx")
	if err := Save(bad, m, Options{Opset: 99}); err == nil {
		t.Error("Save with opset 99: no error")
	} else if _, serr := os.Stat(bad); !errors.Is(serr, os.ErrNotExist) {
		t.Errorf("Save failed (%v) but left %s", err, bad)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteError(t *testing.T) {
	m := compiled(t, layers.NewInput(3), layers.MustNewDense(2))
	if err := Write(failWriter{}, m, Options{}); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Write to a failing writer: %v", err)
	}
}

// squash is a layer the exporter does not know.
type squash struct{ *layers.Activation }

func (squash) ClassName() string { return "Squash" }

func TestUnsupported(t *testing.T) {
	act, err := layers.NewActivation("tanh")
	if err != nil {
		t.Fatal(err)
	}
	custom := compiled(t, layers.NewInput(4), layers.MustNewDense(3), squash{act})
	uncompiled := kiln.NewSequential(layers.NewInput(4), layers.NewFlatten(), layers.MustNewDense(3))
	cases := []struct {
		name string
		m    *kiln.Sequential
		o    Options
		want []string
	}{
		{"custom layer", custom, Options{}, []string{`layer 2 ("squash", Squash)`, "onnx.squash", "supported layers: Activation, AveragePooling2D, BatchNormalization, Conv2D, Dense, Dropout, Flatten, GlobalAveragePooling2D, Graph, MaxPooling2D, Reshape"}},
		{"not compiled", uncompiled, Options{}, []string{`layer 1 ("", Flatten)`, "not built", "compile"}},
		{"nil model", nil, Options{}, []string{"nil"}},
		{"no input", kiln.NewSequential(layers.MustNewDense(3)), Options{}, []string{"no Input"}},
		{"opset 10", compiled(t, layers.NewInput(2), layers.MustNewDense(1)), Options{Opset: 10}, []string{"opset 10", "11 to 21"}},
		{"opset 22", compiled(t, layers.NewInput(2), layers.MustNewDense(1)), Options{Opset: 22}, []string{"opset 22"}},
		{"NaN scale", compiled(t, layers.NewInput(2), layers.MustNewDense(1)), Options{InputScale: float32(math.NaN())}, []string{"InputScale", "finite"}},
		{"Inf scale", compiled(t, layers.NewInput(2), layers.MustNewDense(1)), Options{InputScale: float32(math.Inf(1))}, []string{"InputScale"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkWriteError(t, c.m, c.o, c.want)
		})
	}
}

// TestActivationMapping checks every activation kiln registers is mapped,
// and that an unknown one gives an error naming it and the supported ones.
func TestActivationMapping(t *testing.T) {
	for _, name := range []string{"linear", "relu", "sigmoid", "softmax", "tanh"} {
		if _, _, err := activationOp(name, 1, 13); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	_, _, err := activationOp("elu", 1, 13)
	if err == nil || !strings.Contains(err.Error(), `"elu"`) || !strings.Contains(err.Error(), activationNames) {
		t.Errorf("elu: %v", err)
	}
	// Softmax over the last axis, whatever the rank (a Dense on an input
	// of rank > 1): axis -1 from opset 13, before it the last axis, so
	// that the input coerced to 2-D at axis has the units as its rows.
	for _, c := range []struct {
		rank, opset int
		axis        int64
	}{{1, 13, -1}, {1, 11, 1}, {2, 13, -1}, {2, 11, 2}, {3, 12, 3}, {3, 21, -1}} {
		op, attrs, err := activationOp("softmax", c.rank, c.opset)
		if err != nil || op != "Softmax" || len(attrs) != 1 || attrs[0].name != "axis" || attrs[0].i != c.axis {
			t.Errorf("softmax on rank %d, opset %d: %s %+v %v; want Softmax axis %d", c.rank, c.opset, op, attrs, err, c.axis)
		}
	}
	if _, _, err := activationOp("softmax", 0, 13); err == nil {
		t.Error("softmax on rank 0: no error")
	}
}

// TestAllKilnActivationsMapped builds a Dense layer with every activation
// the activations package registers and exports it, so that a new kiln
// activation without an ONNX mapping fails here rather than at a user's.
func TestAllKilnActivationsMapped(t *testing.T) {
	for _, name := range activations.Names() {
		m := compiled(t, layers.NewInput(3), layers.MustNewDense(2, layers.WithActivation(name)))
		var buf bytes.Buffer
		if err := Write(&buf, m, Options{}); err != nil {
			t.Errorf("activation %s: %v", name, err)
		}
	}
}

// TestDuplicateNames: layers the user named alike still give distinct
// ONNX values, nodes and initializers.
func TestDuplicateNames(t *testing.T) {
	a, b := layers.MustNewDense(3, layers.WithActivation("relu")), layers.MustNewDense(2)
	a.SetName("d")
	b.SetName("d")
	m := compiled(t, layers.NewInput(4), a, b)
	d, err := decodeModel(encodeModel(t, m, Options{}))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{"input": true}
	for _, it := range d.Graph.Init {
		if seen[it.Name] {
			t.Errorf("value %q twice", it.Name)
		}
		seen[it.Name] = true
	}
	for _, n := range d.Graph.Nodes {
		for _, o := range n.Outputs {
			if seen[o] {
				t.Errorf("value %q twice", o)
			}
			seen[o] = true
		}
	}
}

// TestOnlyDropout: a model whose layers all vanish at inference still has
// a node producing "output".
func TestOnlyDropout(t *testing.T) {
	m := compiled(t, layers.NewInput(3), must(layers.NewDropout(0.5)))
	d, err := decodeModel(encodeModel(t, m, Options{}))
	if err != nil {
		t.Fatal(err)
	}
	n := d.Graph.Nodes
	if len(n) != 1 || n[0].Op != "Identity" || n[0].Inputs[0] != "input" || n[0].Outputs[0] != "output" {
		t.Errorf("nodes %+v, want Identity(input) → output", n)
	}
}
