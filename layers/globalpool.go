package layers

import (
	"fmt"
	"math/rand/v2"

	"github.com/kiln-ml/kiln/schema"
	"github.com/kiln-ml/kiln/tensor"
)

// GlobalAveragePooling2D averages each channel of an image, (height, width,
// channels) → (channels), like Keras' GlobalAveragePooling2D (channels_last,
// keepdims false). The sum runs over the pixels in row-major order in
// float32, then is divided by height·width, as TF's reduce_mean divides.
type GlobalAveragePooling2D struct {
	base
	y, dx  []float32
	needDX bool
}

// NewGlobalAveragePooling2D returns a GlobalAveragePooling2D layer.
func NewGlobalAveragePooling2D() *GlobalAveragePooling2D { return &GlobalAveragePooling2D{} }

// ClassName returns "GlobalAveragePooling2D".
func (*GlobalAveragePooling2D) ClassName() string { return "GlobalAveragePooling2D" }

// Build checks for an image input and returns (channels).
func (g *GlobalAveragePooling2D) Build(in []int, _ *rand.Rand) ([]int, error) {
	if len(in) != 3 {
		return nil, fmt.Errorf("GlobalAveragePooling2D needs inputs of shape (height, width, channels); got %s; put it after a Conv2D or MaxPooling2D", ShapeTuple(in))
	}
	g.setShapes(in, []int{in[2]})
	return g.out, nil
}

// Variables returns nil.
func (*GlobalAveragePooling2D) Variables() []*tensor.Variable { return nil }

// Allocate sizes the output and input-gradient buffers.
func (g *GlobalAveragePooling2D) Allocate(maxBatch int, needInputGrad bool) {
	g.y = make([]float32, maxBatch*g.outWidth)
	g.needDX = needInputGrad
	if needInputGrad {
		g.dx = make([]float32, maxBatch*g.inWidth)
	}
}

func (g *GlobalAveragePooling2D) pool(dst, x []float32, n int) {
	c := g.out[0]
	pixels := g.in[0] * g.in[1]
	count := float32(pixels)
	for s := 0; s < n; s++ {
		row := dst[s*c : (s+1)*c]
		clear(row)
		src := x[s*g.inWidth : (s+1)*g.inWidth]
		for p := 0; p < pixels; p++ {
			px := src[p*c : (p+1)*c]
			for j, v := range px {
				row[j] += v
			}
		}
		for j := range row {
			row[j] /= count
		}
	}
}

// Forward averages each sample's channels.
func (g *GlobalAveragePooling2D) Forward(x []float32, n int, _ bool) []float32 {
	g.pool(g.y, x, n)
	return g.y[:n*g.outWidth]
}

// Backward spreads each channel's gradient evenly over its pixels.
func (g *GlobalAveragePooling2D) Backward(dy []float32, n int) []float32 {
	if !g.needDX {
		return nil
	}
	c := g.out[0]
	pixels := g.in[0] * g.in[1]
	count := float32(pixels)
	for s := 0; s < n; s++ {
		d := dy[s*c : (s+1)*c]
		dst := g.dx[s*g.inWidth : (s+1)*g.inWidth]
		for p := 0; p < pixels; p++ {
			px := dst[p*c : (p+1)*c]
			for j, v := range d {
				px[j] = v / count
			}
		}
	}
	return g.dx[:n*g.inWidth]
}

// Infer writes the averages of n samples into dst.
func (g *GlobalAveragePooling2D) Infer(dst, x []float32, n int) { g.pool(dst, x, n) }

// Config returns Keras' keys.
func (g *GlobalAveragePooling2D) Config() map[string]any {
	return map[string]any{"name": g.name, "trainable": true, "dtype": "float32", "data_format": "channels_last", "keepdims": false}
}

func init() {
	Register(Spec{
		Class: "GlobalAveragePooling2D",
		Doc:   "averages each channel of an image: (height, width, channels) → (channels)",
		New:   func(schema.Values) (Layer, error) { return NewGlobalAveragePooling2D(), nil },
		Keras: func(k *KerasConfig) error {
			if err := k.ChannelsLast(); err != nil {
				return err
			}
			if kd, ok := k.Get("keepdims").(bool); ok && kd {
				return k.Errorf("keepdims true; kiln's GlobalAveragePooling2D gives (channels)")
			}
			return nil
		},
		ExampleInput: []int{5, 5, 3},
	})
}
