package layers

import (
	"fmt"
	"slices"
	"strings"
)

// Option sets an optional argument of a layer constructor. Options are
// named alike across layers, after Keras' arguments: WithActivation serves
// Dense and Conv2D, WithStrides Conv2D and the poolings. A constructor
// refuses an option its layer does not have, naming both.
type Option func(s *settings)

// settings collects the options given to one constructor.
type settings struct {
	given      []string // Keras argument names, in order
	activation string
	noBias     bool
	strides    [2]int
	padding    string
	momentum   float64
	epsilon    float64
	axis       int
	center     bool
	scale      bool
	kernelInit string
	biasInit   string
}

func (s *settings) set(arg string) { s.given = append(s.given, arg) }

func (s *settings) has(arg string) bool { return slices.Contains(s.given, arg) }

// collect applies opts for the layer class, which accepts the Keras
// arguments allowed.
func collect(class string, opts []Option, allowed ...string) (*settings, error) {
	s := &settings{}
	for _, o := range opts {
		o(s)
	}
	for _, g := range s.given {
		if !slices.Contains(allowed, g) {
			return nil, fmt.Errorf("%s has no %s option; its options set %s", class, g, strings.Join(allowed, ", "))
		}
	}
	return s, nil
}

// WithActivation sets the activation by Keras name ("relu", "softmax", …;
// softmax normalises over the last axis). Dense, Conv2D.
func WithActivation(name string) Option {
	return func(s *settings) { s.set("activation"); s.activation = name }
}

// WithoutBias drops the bias (Keras' use_bias=False). Dense, Conv2D.
func WithoutBias() Option {
	return func(s *settings) { s.set("use_bias"); s.noBias = true }
}

// WithStrides sets the strides (Keras' strides=(rows, cols)). Conv2D
// (default (1, 1)), MaxPooling2D and AveragePooling2D (default: the pool
// size).
func WithStrides(rows, cols int) Option {
	return func(s *settings) { s.set("strides"); s.strides = [2]int{rows, cols} }
}

// WithPadding sets the padding, "valid" (the default) or "same". Conv2D,
// MaxPooling2D, AveragePooling2D.
func WithPadding(padding string) Option {
	return func(s *settings) { s.set("padding"); s.padding = padding }
}

// WithMomentum sets the moving statistics' momentum, in [0, 1] (default
// 0.99). BatchNormalization.
func WithMomentum(m float64) Option {
	return func(s *settings) { s.set("momentum"); s.momentum = m }
}

// WithEpsilon sets the small positive number added to the variance
// (default 0.001). BatchNormalization.
func WithEpsilon(e float64) Option {
	return func(s *settings) { s.set("epsilon"); s.epsilon = e }
}

// WithAxis sets the axis to normalise: -1 (the default) or the last axis'
// index counting the batch axis (checked by Build, which knows the rank).
// BatchNormalization.
func WithAxis(axis int) Option {
	return func(s *settings) { s.set("axis"); s.axis = axis }
}

// WithCenter sets center, the beta offset (default true).
// BatchNormalization.
func WithCenter(on bool) Option {
	return func(s *settings) { s.set("center"); s.center = on }
}

// WithScale sets scale, the gamma factor (default true).
// BatchNormalization.
func WithScale(on bool) Option {
	return func(s *settings) { s.set("scale"); s.scale = on }
}

// WithKernelInitializer sets the kernel's initializer by Keras name
// ("he_normal", …; default glorot_uniform). Dense, Conv2D.
func WithKernelInitializer(name string) Option {
	return func(s *settings) { s.set("kernel_initializer"); s.kernelInit = name }
}

// WithBiasInitializer sets the bias' initializer by Keras name (default
// zeros). Dense, Conv2D.
func WithBiasInitializer(name string) Option {
	return func(s *settings) { s.set("bias_initializer"); s.biasInit = name }
}

// initializers reads the initializer options of Dense and Conv2D: nil for
// the defaults (glorot_uniform, zeros), which keep their exact draws.
func (s *settings) initializers(class string) (kernel, bias *Initializer, err error) {
	if s.has("kernel_initializer") && s.kernelInit != "glorot_uniform" {
		if kernel, err = GetInitializer(s.kernelInit); err != nil {
			return nil, nil, fmt.Errorf("%s: kernel_initializer: %w", class, err)
		}
	}
	if s.has("bias_initializer") && s.biasInit != "zeros" {
		if bias, err = GetInitializer(s.biasInit); err != nil {
			return nil, nil, fmt.Errorf("%s: bias_initializer: %w", class, err)
		}
	}
	return kernel, bias, nil
}

// must panics on err; the MustNewX constructors use it.
func must[L any](l L, err error) L {
	if err != nil {
		panic(err)
	}
	return l
}
