// Package activations implements Keras' activation functions on row-major
// float32 batches: forward, and backward given the forward output.
//
// Every function works on a (rows × cols) block; softmax normalises along the
// last axis (each row), as Keras does.
package activations

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/kiln-ml/kiln/internal/kernels"
)

// Func is one activation: Forward computes y = f(x) (dst may alias x) and
// Backward turns dL/dy into dL/dx using the forward output y (dx may alias dy).
type Func struct {
	Name     string
	Forward  func(dst, x []float32, rows, cols int)
	Backward func(dx, y, dy []float32, rows, cols int)
}

var registry = map[string]Func{
	"linear":  {"linear", linear, linearGrad},
	"sigmoid": {"sigmoid", Sigmoid, sigmoidGrad},
	"softmax": {"softmax", Softmax, softmaxGrad},
	"relu":    {"relu", relu, reluGrad},
	"tanh":    {"tanh", tanh, tanhGrad},
}

// Names lists the activation names kiln knows, sorted.
func Names() []string {
	var n []string
	for k := range registry {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// Get returns the activation called name ("" means linear, like Keras' None).
func Get(name string) (Func, error) {
	if name == "" || name == "None" {
		name = "linear"
	}
	f, ok := registry[name]
	if !ok {
		return Func{}, fmt.Errorf("unknown activation %q; valid activations: %s", name, strings.Join(Names(), ", "))
	}
	return f, nil
}

func linear(dst, x []float32, rows, cols int) { copy(dst[:rows*cols], x[:rows*cols]) }

func linearGrad(dx, y, dy []float32, rows, cols int) { copy(dx[:rows*cols], dy[:rows*cols]) }

// Sigmoid computes 1/(1+e^-x) element-wise in float32 precision.
func Sigmoid(dst, x []float32, rows, cols int) {
	for i, v := range x[:rows*cols] {
		dst[i] = Sigmoid32(v)
	}
}

// Sigmoid32 is 1/(1+e^-v) computed in float64 and rounded to float32.
func Sigmoid32(v float32) float32 {
	// Branch on the sign so e^-|v| never overflows.
	if v >= 0 {
		return SigmoidExp(v, math.Exp(-float64(v)))
	}
	if v < 0 {
		return SigmoidExp(v, math.Exp(float64(v)))
	}
	e := math.Exp(float64(v)) // NaN
	return float32(e / (1 + e))
}

// SigmoidExp is Sigmoid32(v) for a v that is not NaN, given e = e^−|v|
// (math.Exp's value): a caller that has e already, such as the binary
// cross-entropy, which also needs log(1+e), saves the exponential.
func SigmoidExp(v float32, e float64) float32 {
	if v >= 0 {
		return float32(1 / (1 + e))
	}
	return float32(e / (1 + e))
}

func sigmoidGrad(dx, y, dy []float32, rows, cols int) {
	for i, s := range y[:rows*cols] {
		dx[i] = dy[i] * s * (1 - s)
	}
}

// Softmax computes exp(x−max)/Σexp(x−max) along each row.
func Softmax(dst, x []float32, rows, cols int) {
	for r := 0; r < rows; r++ {
		in := x[r*cols : (r+1)*cols]
		out := dst[r*cols : (r+1)*cols]
		m := in[0]
		for _, v := range in[1:] {
			if v > m {
				m = v
			}
		}
		var sum float64
		for j, v := range in {
			e := math.Exp(float64(v - m))
			out[j] = float32(e)
			sum += e
		}
		inv := 1 / sum
		for j := range out {
			out[j] = float32(float64(out[j]) * inv)
		}
	}
}

func softmaxGrad(dx, y, dy []float32, rows, cols int) {
	for r := 0; r < rows; r++ {
		yr := y[r*cols : (r+1)*cols]
		dyr := dy[r*cols : (r+1)*cols]
		dxr := dx[r*cols : (r+1)*cols]
		var dot float32
		for j := range yr {
			dot += yr[j] * dyr[j]
		}
		for j := range yr {
			dxr[j] = yr[j] * (dyr[j] - dot)
		}
	}
}

// relu is v if v > 0, else 0, for every element. kernels.Relu computes it
// without branches (a data-dependent branch per element mispredicts half the
// time on hidden activations).
func relu(dst, x []float32, rows, cols int) {
	kernels.Relu(dst[:rows*cols], x[:rows*cols])
}

// reluGrad is dy where y > 0, else 0 (kernels.ReluGrad, branch-free).
func reluGrad(dx, y, dy []float32, rows, cols int) {
	kernels.ReluGrad(dx[:rows*cols], y[:rows*cols], dy[:rows*cols])
}

func tanh(dst, x []float32, rows, cols int) {
	for i, v := range x[:rows*cols] {
		dst[i] = float32(math.Tanh(float64(v)))
	}
}

func tanhGrad(dx, y, dy []float32, rows, cols int) {
	for i, t := range y[:rows*cols] {
		dx[i] = dy[i] * (1 - t*t)
	}
}
