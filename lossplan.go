package kiln

import (
	"fmt"

	"github.com/kiln-ml/kiln/layers"
)

// LossPlan is how Compile resolved the model's output and loss, once: which
// values the loss and the metrics read, and what is wrong with the pairing.
// Fit, Evaluate and TrainOnBatch compute from it; kiln explain renders its
// findings.
type LossPlan struct {
	// Layer is the output layer's name.
	Layer string
	// Activation is the activation of the values the model outputs: the
	// output layer's, or, when the model ends in Dropout or Flatten (which
	// pass values through at inference), that of the layer before them;
	// "linear" when no layer applies one.
	Activation string
	// ActivationLayer names the layer that applies Activation (Layer when
	// no layer does).
	ActivationLayer string
	// Units is the width of the output.
	Units int
	// Loss is the loss's Keras name; CrossEntropy reports whether it is a
	// cross-entropy (the only losses with a logits path).
	Loss         string
	CrossEntropy bool
	// Semantics is the compiled LossSemantics.
	Semantics LossSemantics
	// FromLogits is the loss's from_logits argument as given.
	FromLogits bool
	// OutputLogits reports that the output layer itself applies sigmoid or
	// softmax, so its pre-activation logits exist (Keras' TF backend caches
	// them on the output tensor; after a Dropout or Flatten they are gone).
	OutputLogits bool
	// ReadsLogits reports that the loss is computed from those cached
	// logits, as Keras' TF backend does: a cross-entropy, OutputLogits and
	// LogitsSemantics.
	ReadsLogits bool
	// LogitsPath reports that the cross-entropy takes its from-logits path:
	// ReadsLogits or FromLogits.
	LogitsPath bool
	// MetricsReadLogits reports that argmax metrics (accuracy and its
	// categorical, sparse and top-k forms) score the output layer's logits
	// rather than its outputs: true with OutputLogits, whatever the
	// semantics (the argmax is the same, and logits do not saturate).
	// binary_accuracy always scores the outputs.
	MetricsReadLogits bool
	// Findings are the activation/loss mismatches, in the order Compile
	// prints them.
	Findings []LossFinding
}

// LossFinding is one activation/loss mismatch found by Compile.
type LossFinding struct {
	// Kind is one of the LossFinding* constants; where kiln explain has a
	// finding for the mismatch, it is that finding's id.
	Kind string
	// Message is the warning Compile prints (without "kiln: warning: ").
	Message string
}

// Kinds of LossFinding.
const (
	// LossFindingSigmoidWithCCE: sigmoid over > 1 units with a categorical
	// cross-entropy.
	LossFindingSigmoidWithCCE = "sigmoid-with-categorical-crossentropy"
	// LossFindingSoftmaxWithBCE: softmax over > 1 units with
	// binary_crossentropy.
	LossFindingSoftmaxWithBCE = "binary-crossentropy-multiclass"
	// LossFindingSingleUnitSoftmax: softmax over one unit (always 1.0).
	LossFindingSingleUnitSoftmax = "single-unit-softmax"
	// LossFindingSingleUnitCCE: a categorical cross-entropy over one unit
	// without softmax, which is 0 whatever the weights.
	LossFindingSingleUnitCCE = "single-unit-categorical-crossentropy"
	// LossFindingFromLogitsAfterActivation: from_logits=true after a
	// sigmoid/softmax output (explain calls it double-softmax).
	LossFindingFromLogitsAfterActivation = "double-softmax"
	// LossFindingLogitsWithoutFromLogits: a cross-entropy with from_logits
	// false after an output that is not sigmoid/softmax.
	LossFindingLogitsWithoutFromLogits = "logits-without-from-logits"
)

// Has reports whether the plan holds a finding of kind.
func (p *LossPlan) Has(kind string) bool {
	if p == nil {
		return false
	}
	for _, f := range p.Findings {
		if f.Kind == kind {
			return true
		}
	}
	return false
}

// LossPlan returns how Compile resolved the output and the loss (nil before
// Compile). The result is shared: do not modify it.
func (m *Sequential) LossPlan() *LossPlan {
	if m.c == nil {
		return nil
	}
	return m.c.plan
}

// outputName names the layer that computes l's output: l itself, or for a
// Functional model's body its output layer, as Keras would name it.
func outputName(l layers.Layer) string {
	if g, ok := l.(interface{ OutputNode() *layers.Node }); ok {
		return g.OutputNode().Name()
	}
	return l.Name()
}

// planLoss resolves the output/loss pairing of the built model ls compiled
// with c's loss and semantics.
func planLoss(ls []layers.Layer, c *compiled) *LossPlan {
	last := ls[len(ls)-1]
	p := &LossPlan{Layer: outputName(last), Activation: "linear", ActivationLayer: outputName(last), Units: 1,
		Loss: c.loss.Name(), CrossEntropy: c.loss.IsCrossEntropy(), Semantics: c.semantics, FromLogits: c.loss.FromLogits()}
	if s := last.OutputShape(); len(s) > 0 {
		p.Units = s[len(s)-1]
	}
	for i := len(ls) - 1; i >= 0; i-- {
		if a, ok := ls[i].(layers.Activated); ok {
			p.Activation, p.ActivationLayer = a.ActivationName(), outputName(ls[i])
			break
		}
		if !layers.PassesValues(ls[i]) {
			break
		}
	}
	act, ce, loss, units := p.Activation, p.CrossEntropy, p.Loss, p.Units
	probs := act == "sigmoid" || act == "softmax"
	_, lastActivated := last.(layers.Activated)
	p.OutputLogits = probs && lastActivated
	p.ReadsLogits = p.OutputLogits && ce && p.Semantics == LogitsSemantics
	p.LogitsPath = ce && (p.ReadsLogits || p.FromLogits)
	p.MetricsReadLogits = p.OutputLogits
	add := func(kind, format string, a ...any) {
		p.Findings = append(p.Findings, LossFinding{Kind: kind, Message: fmt.Sprintf(format, a...)})
	}
	name := p.ActivationLayer
	categorical := loss == "categorical_crossentropy" || loss == "sparse_categorical_crossentropy"
	switch {
	case act == "sigmoid" && categorical && units > 1:
		how := "from the pre-sigmoid logits as softmax cross-entropy (unbounded)"
		if !p.ReadsLogits {
			how = "from the sigmoid outputs renormalised to sum to 1"
		}
		add(LossFindingSigmoidWithCCE, "layer %q uses sigmoid with %s: the loss is computed %s; use activation softmax for one class per sample (kiln explain shows the effect)", name, loss, how)
	case act == "softmax" && loss == "binary_crossentropy" && units > 1:
		add(LossFindingSoftmaxWithBCE, "layer %q uses softmax with binary_crossentropy over %d units: softmax makes the classes compete, binary cross-entropy scores each independently; use sigmoid for multi-label or categorical_crossentropy for one class per sample", name, units)
	case act == "softmax" && units == 1:
		add(LossFindingSingleUnitSoftmax, "layer %q applies softmax to a single unit, which always outputs 1.0 and cannot learn; use sigmoid with binary_crossentropy", name)
	case categorical && units == 1:
		// A distribution over one class: softmax(z) = 1 and the
		// renormalised output is 1, so the loss is 0 for every weight.
		add(LossFindingSingleUnitCCE, "layer %q has a single unit, but %s scores a distribution over the units: over one unit it is 0 whatever the weights, so nothing is learned; use sigmoid with binary_crossentropy", name, loss)
	}
	if ce && p.FromLogits && probs {
		add(LossFindingFromLogitsAfterActivation, "%q received from_logits=True, but layer %q applies %s, so its output is not logits; remove the activation or set from_logits false", loss, name, act)
	}
	if ce && !p.FromLogits && !probs {
		add(LossFindingLogitsWithoutFromLogits, "layer %q outputs %s values but %s expects probabilities; add a softmax/sigmoid activation or set from_logits true", name, act, loss)
	}
	return p
}
