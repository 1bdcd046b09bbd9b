package onnx

// A reference evaluator for the ONNX graphs the exporter writes: it runs
// the decoded graph (decode_test.go) op by op as the ONNX operator
// specifications define them, on float32 values, for the ops and
// attributes the exporter uses; anything else is an error. It lets tests
// compare an export with kiln's Predict without onnxruntime, and
// TestEvaluatorMatchesORT checks it against onnxruntime's committed
// outputs.

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
)

// tval is a float32 tensor, row-major.
type tval struct {
	dims []int
	v    []float32
}

func sizeOf(dims []int) int {
	n := 1
	for _, d := range dims {
		n *= d
	}
	return n
}

// strides returns the row-major strides of dims.
func strides(dims []int) []int {
	s := make([]int, len(dims))
	k := 1
	for i := len(dims) - 1; i >= 0; i-- {
		s[i] = k
		k *= dims[i]
	}
	return s
}

// evalGraph runs g, of operator set opset, on input x (the graph's
// "input") and returns "output".
func evalGraph(g *dGraph, opset int, x tval) (tval, error) {
	vals := map[string]tval{"input": x}
	raw := map[string]dTensor{}
	for _, it := range g.Init {
		raw[it.Name] = it
		if it.DataType == 1 {
			dims := make([]int, len(it.Dims))
			for i, d := range it.Dims {
				dims[i] = int(d)
			}
			vals[it.Name] = tval{dims: dims, v: it.Floats()}
		}
	}
	for _, n := range g.Nodes {
		in := make([]tval, len(n.Inputs))
		for i, name := range n.Inputs {
			v, ok := vals[name]
			if !ok && !(n.Op == "Reshape" && i == 1) {
				return tval{}, fmt.Errorf("node %s: input %q undefined", n.Name, name)
			}
			in[i] = v
		}
		out, err := evalNode(n, opset, in, raw)
		if err != nil {
			return tval{}, fmt.Errorf("node %s (%s): %v", n.Name, n.Op, err)
		}
		vals[n.Outputs[0]] = out
	}
	out, ok := vals["output"]
	if !ok {
		return tval{}, fmt.Errorf("no output")
	}
	return out, nil
}

func intsAttr(n dNode, name string, def []int64) []int {
	a, ok := attr(n, name)
	v := def
	if ok {
		v = a.Ints
	}
	out := make([]int, len(v))
	for i, d := range v {
		out[i] = int(d)
	}
	return out
}

func intAttr(n dNode, name string, def int64) int {
	if a, ok := attr(n, name); ok {
		return int(a.I)
	}
	return int(def)
}

// checkAttrs fails on attributes the evaluator does not implement.
func checkAttrs(n dNode, known ...string) error {
	for _, a := range n.Attrs {
		if !slices.Contains(known, a.Name) {
			return fmt.Errorf("attribute %s not implemented", a.Name)
		}
	}
	return nil
}

func evalNode(n dNode, opset int, in []tval, raw map[string]dTensor) (tval, error) {
	unary := func(f func(float32) float32) (tval, error) {
		if err := checkAttrs(n); err != nil {
			return tval{}, err
		}
		out := tval{dims: in[0].dims, v: make([]float32, len(in[0].v))}
		for i, v := range in[0].v {
			out.v[i] = f(v)
		}
		return out, nil
	}
	switch n.Op {
	case "Identity":
		return unary(func(v float32) float32 { return v })
	case "Relu":
		return unary(func(v float32) float32 { return max(v, 0) })
	case "Sigmoid":
		return unary(func(v float32) float32 { return float32(1 / (1 + math.Exp(-float64(v)))) })
	case "Tanh":
		return unary(func(v float32) float32 { return float32(math.Tanh(float64(v))) })
	case "Mul":
		return broadcast(n, in, func(a, b float32) float32 { return a * b })
	case "Add":
		return broadcast(n, in, func(a, b float32) float32 { return a + b })
	case "Transpose":
		if err := checkAttrs(n, "perm"); err != nil {
			return tval{}, err
		}
		return transpose(in[0], intsAttr(n, "perm", nil))
	case "Flatten":
		if err := checkAttrs(n, "axis"); err != nil {
			return tval{}, err
		}
		axis := intAttr(n, "axis", 1)
		d := in[0].dims
		return tval{dims: []int{sizeOf(d[:axis]), sizeOf(d[axis:])}, v: in[0].v}, nil
	case "Reshape":
		if err := checkAttrs(n); err != nil {
			return tval{}, err
		}
		sh := raw[n.Inputs[1]]
		if sh.DataType != 7 {
			return tval{}, fmt.Errorf("shape is not INT64")
		}
		var dims []int
		infer := -1
		for i := 0; i+8 <= len(sh.Raw); i += 8 {
			d := int(int64(binary.LittleEndian.Uint64(sh.Raw[i:])))
			switch d {
			case 0:
				d = in[0].dims[len(dims)]
			case -1:
				infer = len(dims)
				d = 1
			}
			dims = append(dims, d)
		}
		if infer >= 0 {
			dims[infer] = len(in[0].v) / sizeOf(dims)
		}
		if sizeOf(dims) != len(in[0].v) {
			return tval{}, fmt.Errorf("shape %v for %d values", dims, len(in[0].v))
		}
		return tval{dims: dims, v: in[0].v}, nil
	case "Gemm":
		if err := checkAttrs(n); err != nil {
			return tval{}, err
		}
		a, b := in[0], in[1]
		if len(a.dims) != 2 || len(b.dims) != 2 || a.dims[1] != b.dims[0] {
			return tval{}, fmt.Errorf("A %v, B %v", a.dims, b.dims)
		}
		m, k, nn := a.dims[0], a.dims[1], b.dims[1]
		out := tval{dims: []int{m, nn}, v: make([]float32, m*nn)}
		for i := 0; i < m; i++ {
			for j := 0; j < nn; j++ {
				s := 0.0
				for p := 0; p < k; p++ {
					s += float64(a.v[i*k+p]) * float64(b.v[p*nn+j])
				}
				if len(in) == 3 {
					c := in[2]
					if !slices.Equal(c.dims, []int{nn}) {
						return tval{}, fmt.Errorf("C %v", c.dims)
					}
					s += float64(c.v[j])
				}
				out.v[i*nn+j] = float32(s)
			}
		}
		return out, nil
	case "MatMul":
		// numpy's matmul, for the case the exporter writes: A of rank ≥ 2
		// times a 2-D B, stacked over A's leading axes.
		if err := checkAttrs(n); err != nil {
			return tval{}, err
		}
		a, b := in[0], in[1]
		if len(a.dims) < 2 || len(b.dims) != 2 || a.dims[len(a.dims)-1] != b.dims[0] {
			return tval{}, fmt.Errorf("A %v, B %v", a.dims, b.dims)
		}
		k, nn := b.dims[0], b.dims[1]
		m := len(a.v) / k
		dims := append(slices.Clone(a.dims[:len(a.dims)-1]), nn)
		out := tval{dims: dims, v: make([]float32, m*nn)}
		for i := 0; i < m; i++ {
			for j := 0; j < nn; j++ {
				s := 0.0
				for p := 0; p < k; p++ {
					s += float64(a.v[i*k+p]) * float64(b.v[p*nn+j])
				}
				out.v[i*nn+j] = float32(s)
			}
		}
		return out, nil
	case "Conv":
		if err := checkAttrs(n, "dilations", "group", "kernel_shape", "pads", "strides"); err != nil {
			return tval{}, err
		}
		if intAttr(n, "group", 1) != 1 || !slices.Equal(intsAttr(n, "dilations", []int64{1, 1}), []int{1, 1}) {
			return tval{}, fmt.Errorf("group or dilations not 1")
		}
		x, w := in[0], in[1]
		if len(x.dims) != 4 || len(w.dims) != 4 || w.dims[1] != x.dims[1] ||
			!slices.Equal(intsAttr(n, "kernel_shape", nil), w.dims[2:]) {
			return tval{}, fmt.Errorf("X %v, W %v", x.dims, w.dims)
		}
		var bias []float32
		if len(in) == 3 {
			bias = in[2].v
		}
		return window(x, w.dims[0], w.dims[2:], intsAttr(n, "strides", nil), intsAttr(n, "pads", nil),
			func(nb, o int, cells func(f func(c, h, w, i, j int))) float32 {
				s := 0.0
				cells(func(c, h, ww, i, j int) {
					s += float64(x.v[((nb*x.dims[1]+c)*x.dims[2]+h)*x.dims[3]+ww]) *
						float64(w.v[((o*w.dims[1]+c)*w.dims[2]+i)*w.dims[3]+j])
				})
				if bias != nil {
					s += float64(bias[o])
				}
				return float32(s)
			}, false)
	case "MaxPool", "AveragePool":
		known := []string{"kernel_shape", "pads", "strides"}
		if n.Op == "AveragePool" {
			known = append(known, "count_include_pad")
			if intAttr(n, "count_include_pad", 0) != 0 {
				return tval{}, fmt.Errorf("count_include_pad not 0")
			}
		}
		if err := checkAttrs(n, known...); err != nil {
			return tval{}, err
		}
		x := in[0]
		if len(x.dims) != 4 {
			return tval{}, fmt.Errorf("X %v", x.dims)
		}
		return window(x, x.dims[1], intsAttr(n, "kernel_shape", nil), intsAttr(n, "strides", nil), intsAttr(n, "pads", nil),
			func(nb, o int, cells func(f func(c, h, w, i, j int))) float32 {
				best, s, count := float32(math.Inf(-1)), 0.0, 0
				cells(func(c, h, w, _, _ int) {
					v := x.v[((nb*x.dims[1]+c)*x.dims[2]+h)*x.dims[3]+w]
					best = max(best, v)
					s += float64(v)
					count++
				})
				if n.Op == "MaxPool" {
					return best
				}
				return float32(s / float64(count))
			}, true)
	case "GlobalAveragePool":
		if err := checkAttrs(n); err != nil {
			return tval{}, err
		}
		x := in[0]
		if len(x.dims) != 4 {
			return tval{}, fmt.Errorf("X %v", x.dims)
		}
		hw := x.dims[2] * x.dims[3]
		out := tval{dims: []int{x.dims[0], x.dims[1], 1, 1}, v: make([]float32, x.dims[0]*x.dims[1])}
		for i := range out.v {
			s := 0.0
			for _, v := range x.v[i*hw : (i+1)*hw] {
				s += float64(v)
			}
			out.v[i] = float32(s / float64(hw))
		}
		return out, nil
	case "Softmax":
		// From opset 13 along axis; before, over axis..rank−1 (the input
		// coerced to 2-D), implemented here for the last axis only.
		if err := checkAttrs(n, "axis"); err != nil {
			return tval{}, err
		}
		x := in[0]
		def := int64(-1)
		if opset < 13 {
			def = 1
		}
		axis := intAttr(n, "axis", def)
		if axis < 0 {
			axis += len(x.dims)
		}
		if opset < 13 && axis != len(x.dims)-1 {
			return tval{}, fmt.Errorf("opset %d: axis %d is not the last", opset, axis)
		}
		st := strides(x.dims)
		out := tval{dims: x.dims, v: make([]float32, len(x.v))}
		for i := range x.v {
			if i/st[axis]%x.dims[axis] != 0 {
				continue // not the first element of its line along axis
			}
			m := math.Inf(-1)
			for k := 0; k < x.dims[axis]; k++ {
				m = max(m, float64(x.v[i+k*st[axis]]))
			}
			s := 0.0
			for k := 0; k < x.dims[axis]; k++ {
				s += math.Exp(float64(x.v[i+k*st[axis]]) - m)
			}
			for k := 0; k < x.dims[axis]; k++ {
				out.v[i+k*st[axis]] = float32(math.Exp(float64(x.v[i+k*st[axis]])-m) / s)
			}
		}
		return out, nil
	}
	return tval{}, fmt.Errorf("op not implemented")
}

// broadcast applies f element-wise with numpy's (ONNX's multidirectional)
// broadcasting.
func broadcast(n dNode, in []tval, f func(a, b float32) float32) (tval, error) {
	if err := checkAttrs(n); err != nil {
		return tval{}, err
	}
	if len(in) != 2 {
		return tval{}, fmt.Errorf("%d inputs", len(in))
	}
	a, b := in[0], in[1]
	rank := max(len(a.dims), len(b.dims))
	pad := func(d []int) []int { return append(slices.Repeat([]int{1}, rank-len(d)), d...) }
	da, db := pad(a.dims), pad(b.dims)
	dims := make([]int, rank)
	for i := range dims {
		switch {
		case da[i] == db[i] || db[i] == 1:
			dims[i] = da[i]
		case da[i] == 1:
			dims[i] = db[i]
		default:
			return tval{}, fmt.Errorf("shapes %v and %v do not broadcast", a.dims, b.dims)
		}
	}
	sa, sb, so := strides(da), strides(db), strides(dims)
	out := tval{dims: dims, v: make([]float32, sizeOf(dims))}
	for i := range out.v {
		ia, ib := 0, 0
		for k := range dims {
			c := i / so[k] % dims[k]
			if da[k] != 1 {
				ia += c * sa[k]
			}
			if db[k] != 1 {
				ib += c * sb[k]
			}
		}
		out.v[i] = f(a.v[ia], b.v[ib])
	}
	return out, nil
}

func transpose(x tval, perm []int) (tval, error) {
	if len(perm) != len(x.dims) {
		return tval{}, fmt.Errorf("perm %v for dims %v", perm, x.dims)
	}
	dims := make([]int, len(perm))
	for i, p := range perm {
		dims[i] = x.dims[p]
	}
	sx, so := strides(x.dims), strides(dims)
	out := tval{dims: dims, v: make([]float32, len(x.v))}
	for i := range out.v {
		src := 0
		for k, p := range perm {
			src += i / so[k] % dims[k] * sx[p]
		}
		out.v[i] = x.v[src]
	}
	return out, nil
}

// window evaluates a Conv or pooling node on x (NCHW) with outC output
// channels, kernel (kh, kw), strides and pads [top, left, bottom, right]
// (ceil_mode 0): cell computes output channel o of sample nb from the
// input cells of its window, padding excluded, that cells enumerates
// (input channel c, row h, column w, kernel row i, column j); perChannel
// restricts them to channel o (pooling) rather than all channels (Conv).
func window(x tval, outC int, kernel, strides, pads []int,
	cell func(nb, o int, cells func(f func(c, h, w, i, j int))) float32, perChannel bool) (tval, error) {
	if len(kernel) != 2 || len(strides) != 2 || len(pads) != 4 {
		return tval{}, fmt.Errorf("kernel_shape %v, strides %v, pads %v", kernel, strides, pads)
	}
	nb, ch, hh, ww := x.dims[0], x.dims[1], x.dims[2], x.dims[3]
	oh := (hh+pads[0]+pads[2]-kernel[0])/strides[0] + 1
	ow := (ww+pads[1]+pads[3]-kernel[1])/strides[1] + 1
	out := tval{dims: []int{nb, outC, oh, ow}, v: make([]float32, nb*outC*oh*ow)}
	at := 0
	for s := 0; s < nb; s++ {
		for o := 0; o < outC; o++ {
			for y := 0; y < oh; y++ {
				for z := 0; z < ow; z++ {
					cells := func(f func(c, h, w, i, j int)) {
						c0, c1 := 0, ch
						if perChannel {
							c0, c1 = o, o+1
						}
						for c := c0; c < c1; c++ {
							for i := 0; i < kernel[0]; i++ {
								h := y*strides[0] - pads[0] + i
								if h < 0 || h >= hh {
									continue
								}
								for j := 0; j < kernel[1]; j++ {
									w := z*strides[1] - pads[1] + j
									if w < 0 || w >= ww {
										continue
									}
									f(c, h, w, i, j)
								}
							}
						}
					}
					out.v[at] = cell(s, o, cells)
					at++
				}
			}
		}
	}
	return out, nil
}
