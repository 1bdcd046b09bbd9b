// Package kiln trains neural networks in pure Go with Keras' semantics:
// Sequential models, Compile, Fit, Evaluate, Predict, Summary and History
// behave as in Keras 2 (TF backend), including its console output.
//
//	m := kiln.NewSequential(
//		layers.NewInput(28, 28),
//		layers.NewFlatten(),
//		layers.MustNewDense(10, layers.WithActivation("sigmoid")),
//	)
//	err := m.Compile(kiln.CompileOptions{Optimizer: "sgd", Loss: "categorical_crossentropy", Metrics: []string{"accuracy"}})
//	hist, err := m.Fit(ctx, xTrain, yTrain, kiln.FitOptions{BatchSize: 32, Epochs: 10, Verbose: 1,
//		ValidationData: &kiln.XY{X: xTest, Y: yTest}})
//
// The sub-packages hold the parts: layers, activations, losses, optimizers,
// metrics, callbacks, data (arrays and file readers) and datasets/mnist.
package kiln

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"regexp"
	"strings"

	"github.com/kiln-ml/kiln/layers"
	"github.com/kiln-ml/kiln/losses"
	"github.com/kiln-ml/kiln/metrics"
	"github.com/kiln-ml/kiln/optimizers"
	"github.com/kiln-ml/kiln/tensor"
)

// LossSemantics chooses how a cross-entropy treats a sigmoid or softmax output.
type LossSemantics string

const (
	// LogitsSemantics is Keras' TF backend (the default): the loss is computed
	// from the logits the activation cached, unbounded and unclipped.
	LogitsSemantics LossSemantics = "logits"
	// ProbabilitySemantics is TF.js and Keras 3's JAX/torch backends: the loss
	// sees probabilities, renormalised and clipped to [1e-7, 1−1e-7].
	ProbabilitySemantics LossSemantics = "probabilities"
)

// Sequential is a linear stack of layers, like keras.Sequential.
type Sequential struct {
	// Name is the model's name ("sequential" by default).
	Name string

	input  *layers.Input
	layers []layers.Layer
	graph  *layers.Graph // a Functional model's body (layers is just it)
	built  bool
	c      *compiled
	tob    *trainer // TrainOnBatch's buffers
}

type compiled struct {
	opt        optimizers.Optimizer
	loss       losses.Loss
	metricArgs []string
	semantics  LossSemantics
	plan       *LossPlan
	useLogits  bool // plan.ReadsLogits: feed the last layer's logits to the loss
	haveLogits bool // plan.MetricsReadLogits: the last layer is a sigmoid/softmax with logits to read
	fromLogits bool // plan.LogitsPath: the loss's logits path is taken
	warnings   []string
	vars       []*tensor.Variable
	seed       uint64
}

// NewSequential returns a model of the given layers. A leading *layers.Input
// sets the input shape; other arguments must implement layers.Layer.
func NewSequential(items ...any) *Sequential {
	m := &Sequential{Name: "sequential"}
	for _, it := range items {
		m.Add(it)
	}
	return m
}

// Add appends an Input (only first) or a layer. It panics on other types,
// which is a programming error.
func (m *Sequential) Add(item any) {
	if m.graph != nil {
		panic("kiln: Add on a Functional model: apply the layer to the output node (layers.Apply) and call NewFunctional again")
	}
	switch v := item.(type) {
	case *layers.Input:
		m.input = v
	case layers.Layer:
		m.layers = append(m.layers, v)
	default:
		panic(fmt.Sprintf("kiln: Sequential.Add(%T): want *layers.Input or a layers.Layer", item))
	}
	m.built = false
}

// Layers returns the model's layers in order.
func (m *Sequential) Layers() []layers.Layer { return m.layers }

// InputShape returns the per-sample input shape (nil before an Input is given).
func (m *Sequential) InputShape() []int {
	if m.input == nil {
		return nil
	}
	return m.input.Shape
}

// OutputShape returns the per-sample output shape of the built model.
func (m *Sequential) OutputShape() []int {
	if len(m.layers) == 0 {
		return m.InputShape()
	}
	return m.layers[len(m.layers)-1].OutputShape()
}

// build names the layers like Keras (dense, dense_1, …), builds them in order
// and draws the initial weights from seed.
func (m *Sequential) build(seed uint64) error {
	if m.input == nil {
		return fmt.Errorf("model %q has no Input: add layers.NewInput(shape...) first (in an experiment file: - Input: {shape: [28, 28]})", m.Name)
	}
	if err := m.input.Validate(); err != nil {
		return err
	}
	if len(m.layers) == 0 {
		return fmt.Errorf("model %q has no layers: add at least one Dense layer", m.Name)
	}
	counts := map[string]int{}
	taken := map[string]bool{}
	for _, l := range m.layers {
		if l.Name() != "" {
			taken[l.Name()] = true
		}
	}
	rng := rand.New(rand.NewPCG(seed, 0x6b696c6e))
	shape := m.input.Shape
	unique := func(class string) string {
		base := snake(class)
		for {
			name := base
			if counts[base] > 0 {
				name = fmt.Sprintf("%s_%d", base, counts[base])
			}
			counts[base]++
			if !taken[name] {
				taken[name] = true
				return name
			}
		}
	}
	if m.graph != nil {
		m.graph.SetName(m.Name)
		nameGraph(m.graph, unique, taken)
	}
	for i, l := range m.layers {
		if l.Name() == "" {
			l.SetName(unique(l.ClassName()))
		}
		out, err := l.Build(shape, rng)
		if err != nil {
			if m.graph != nil {
				return fmt.Errorf("model %q: %w", m.Name, err)
			}
			return fmt.Errorf("layer %d (%s): %w", i+1, l.Name(), err)
		}
		shape = out
	}
	m.built = true
	return nil
}

// snake turns a class name into Keras' default layer name: Dense → dense,
// BatchNormalization → batch_normalization.
func snake(s string) string {
	// Keras' to_snake_case: "MaxPooling2D" → "max_pooling2d", "Conv2D" → "conv2d".
	s = snakeWord.ReplaceAllString(s, "${1}_${2}")
	return strings.ToLower(snakeCase.ReplaceAllString(s, "${1}_${2}"))
}

var (
	snakeWord = regexp.MustCompile(`(.)([A-Z][a-z0-9]+)`)
	snakeCase = regexp.MustCompile(`([a-z])([A-Z])`)
)

// CompileOptions are the arguments of Keras' model.compile, plus the seed.
type CompileOptions struct {
	// Optimizer is a name ("sgd", "rmsprop", "adam", "adagrad") with Keras'
	// defaults, or an optimizers.Optimizer.
	Optimizer any
	// Loss is a name ("categorical_crossentropy", …) or a losses.Loss.
	Loss any
	// Metrics are metric names; "accuracy" resolves like Keras.
	Metrics []string
	// LossSemantics is LogitsSemantics (default) or ProbabilitySemantics.
	LossSemantics LossSemantics
	// Seed determines the initial weights, dropout masks and shuffling.
	Seed uint64
	// Warnings receives one line per activation/loss mismatch found
	// (default os.Stderr; use io.Discard to silence). The lines are also
	// available from Warnings() and, structured, from LossPlan().
	Warnings io.Writer
}

// Compile builds the model (drawing its initial weights from opts.Seed) and
// configures training, like Keras' compile.
func (m *Sequential) Compile(opts CompileOptions) error {
	c := &compiled{seed: opts.Seed, metricArgs: opts.Metrics}
	switch o := opts.Optimizer.(type) {
	case nil:
		c.opt = optimizers.NewRMSprop(0.001) // Keras' default optimizer
	case string:
		opt, err := optimizers.Get(o, nil)
		if err != nil {
			return err
		}
		c.opt = opt
	case optimizers.Optimizer:
		c.opt = o
	default:
		return fmt.Errorf("compile: optimizer must be a name or an optimizers.Optimizer, got %T", opts.Optimizer)
	}
	if lr := c.opt.LearningRate(); !(lr > 0) {
		return fmt.Errorf("compile: learning_rate must be positive, got %g", lr)
	}
	switch l := opts.Loss.(type) {
	case string:
		loss, err := losses.Get(l, losses.Options{})
		if err != nil {
			return err
		}
		c.loss = loss
	case losses.Loss:
		c.loss = l
	default:
		return fmt.Errorf("compile: loss is required (a name like %q or a losses.Loss), got %T", "categorical_crossentropy", opts.Loss)
	}
	switch opts.LossSemantics {
	case "", LogitsSemantics:
		c.semantics = LogitsSemantics
	case ProbabilitySemantics:
		c.semantics = ProbabilitySemantics
	default:
		return fmt.Errorf("compile: loss_semantics must be %q or %q, got %q", LogitsSemantics, ProbabilitySemantics, opts.LossSemantics)
	}
	for _, name := range opts.Metrics {
		// Resolution needs label shapes; check the name now, resolve in Fit.
		if _, err := metrics.Get(name, metrics.Shapes{TargetRank: 2, TargetLastDim: 2, PredLastDim: 2}); err != nil {
			return err
		}
	}
	if !m.built || m.c == nil || m.c.seed != opts.Seed {
		if err := m.build(opts.Seed); err != nil {
			return err
		}
	}
	if out := m.OutputShape(); len(out) != 1 {
		lastClass := m.layers[len(m.layers)-1].ClassName()
		if m.graph != nil {
			lastClass = m.graph.OutputNode().ClassName()
		}
		return fmt.Errorf("compile: the model's output %s is not flat; kiln's losses need (None, units): add Flatten and a Dense layer after the last %s",
			layers.ShapeTuple(out), lastClass)
	}
	for _, l := range m.layers {
		c.vars = append(c.vars, l.Variables()...)
	}
	c.opt.Build(c.vars)
	m.resolveLossPath(c)
	m.c = c
	m.tob = nil
	w := opts.Warnings
	if w == nil {
		w = os.Stderr
	}
	for _, line := range c.warnings {
		fmt.Fprintln(w, "kiln: warning:", line)
	}
	return nil
}

// resolveLossPath resolves, once, what the loss and the metrics read (see
// LossPlan); training and evaluation use the fields derived here.
func (m *Sequential) resolveLossPath(c *compiled) {
	p := planLoss(m.layers, c)
	c.plan = p
	c.useLogits = p.ReadsLogits
	c.haveLogits = p.MetricsReadLogits
	c.fromLogits = p.LogitsPath
	c.warnings = nil
	for _, f := range p.Findings {
		c.warnings = append(c.warnings, f.Message)
	}
}

// Warnings returns the activation/loss mismatch warnings found by Compile.
func (m *Sequential) Warnings() []string {
	if m.c == nil {
		return nil
	}
	return m.c.warnings
}

// Variables returns the trainable weights in layer order (built models only).
func (m *Sequential) Variables() []*tensor.Variable {
	var vs []*tensor.Variable
	for _, l := range m.layers {
		vs = append(vs, l.Variables()...)
	}
	return vs
}

// Optimizer returns the compiled optimizer (nil before Compile).
func (m *Sequential) Optimizer() optimizers.Optimizer {
	if m.c == nil {
		return nil
	}
	return m.c.opt
}

// Loss returns the compiled loss (nil before Compile).
func (m *Sequential) Loss() losses.Loss {
	if m.c == nil {
		return nil
	}
	return m.c.loss
}

// LossFromLogits reports whether the compiled loss is computed from logits
// (Keras' cached-logits rule or from_logits=True).
func (m *Sequential) LossFromLogits() bool { return m.c != nil && m.c.fromLogits }

// Weights returns every weight in Keras' model.weights order: layer by
// layer, the trainable ones (Variables) then the non-trainable ones (e.g.
// BatchNormalization's moving statistics). Saving, GetWeights and
// SetWeights use this list.
func (m *Sequential) Weights() []*tensor.Variable {
	if m.graph != nil {
		return m.graph.Weights()
	}
	var vs []*tensor.Variable
	for _, l := range m.layers {
		vs = append(vs, layerWeights(l)...)
	}
	return vs
}

// layerWeights returns l's trainable then non-trainable weights.
func layerWeights(l layers.Layer) []*tensor.Variable {
	vs := l.Variables()
	if nt, ok := l.(layers.NonTrainable); ok {
		vs = append(vs[:len(vs):len(vs)], nt.NonTrainableVariables()...)
	}
	return vs
}

// CountParams returns the number of weights, trainable or not, like Keras'
// count_params().
func (m *Sequential) CountParams() int {
	n := 0
	for _, v := range m.Weights() {
		n += len(v.Value)
	}
	return n
}

// Config returns the model's architecture in the shape of Keras'
// model.get_config() / to_json(): {"class_name": "Sequential", "config": {...}}.
func (m *Sequential) Config() map[string]any {
	if m.graph != nil {
		m.graph.SetName(m.Name)
		cfg := map[string]any{"class_name": "Functional", "config": m.graph.Config()}
		m.addCompileConfig(cfg)
		return cfg
	}
	ls := []any{map[string]any{"class_name": "InputLayer", "config": map[string]any{
		"batch_input_shape": append([]any{nil}, intsToAny(m.InputShape())...), "dtype": "float32", "name": "input_1"}}}
	for _, l := range m.layers {
		ls = append(ls, map[string]any{"class_name": l.ClassName(), "config": l.Config()})
	}
	cfg := map[string]any{"class_name": "Sequential", "config": map[string]any{"name": m.Name, "layers": ls}}
	m.addCompileConfig(cfg)
	return cfg
}

// addCompileConfig adds Keras' compile_config to a model config.
func (m *Sequential) addCompileConfig(cfg map[string]any) {
	if m.c != nil {
		cfg["compile_config"] = map[string]any{"optimizer": m.c.opt.Config(), "loss": m.c.loss.Config(),
			"metrics": m.c.metricArgs, "loss_semantics": string(m.c.semantics)}
	}
}

func intsToAny(s []int) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
