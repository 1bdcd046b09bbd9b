package kiln

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/kiln-ml/kiln/layers"
	"github.com/kiln-ml/kiln/losses"
)

func compiledPlan(t *testing.T, m *Sequential, loss string, fromLogits bool, sem LossSemantics) *LossPlan {
	t.Helper()
	l, err := losses.Get(loss, losses.Options{FromLogits: fromLogits})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Compile(CompileOptions{Optimizer: "sgd", Loss: l, LossSemantics: sem, Warnings: io.Discard}); err != nil {
		t.Fatal(err)
	}
	return m.LossPlan()
}

func kinds(p *LossPlan) []string {
	var ks []string
	for _, f := range p.Findings {
		ks = append(ks, f.Kind)
	}
	return ks
}

func withDropout(act string) *Sequential {
	d, err := layers.NewDropout(0.2)
	if err != nil {
		panic(err)
	}
	return NewSequential(layers.NewInput(4), layers.MustNewDense(8, layers.WithActivation("relu")),
		layers.MustNewDense(3, layers.WithActivation(act)), d)
}

// The case where Compile's and explain's rules disagreed: a softmax output
// followed by Dropout. Compile looked at the last layer only and warned
// that "dropout" outputs linear values; explain looked through the Dropout,
// saw softmax and assumed the loss reads cached logits, which it does not
// (the Dropout's output carries none, as in Keras' TF backend).
func TestLossPlanLooksThroughDropout(t *testing.T) {
	var w bytes.Buffer
	m := withDropout("softmax")
	if err := m.Compile(CompileOptions{Optimizer: "sgd", Loss: "categorical_crossentropy", Warnings: &w}); err != nil {
		t.Fatal(err)
	}
	p := m.LossPlan()
	if w.Len() != 0 || len(p.Findings) != 0 {
		t.Errorf("softmax→Dropout with categorical_crossentropy: warnings %q, findings %v; want none", w.String(), kinds(p))
	}
	if p.Activation != "softmax" || p.ActivationLayer != "dense_1" || p.Layer != "dropout" {
		t.Errorf("activation %q of %q, output layer %q; want softmax of dense_1, output dropout", p.Activation, p.ActivationLayer, p.Layer)
	}
	if p.OutputLogits || p.ReadsLogits || p.LogitsPath || p.MetricsReadLogits {
		t.Errorf("the loss/metrics read logits after a Dropout: %+v", p)
	}
	// from_logits=true after softmax→Dropout is a real double softmax here.
	p = compiledPlan(t, withDropout("softmax"), "categorical_crossentropy", true, "")
	if got := kinds(p); len(got) != 1 || got[0] != LossFindingFromLogitsAfterActivation || !p.LogitsPath || p.ReadsLogits {
		t.Errorf("from_logits after softmax→Dropout: %v %+v", got, p)
	}
	// A linear output before Dropout is still logits.
	p = compiledPlan(t, withDropout("linear"), "categorical_crossentropy", false, "")
	if got := kinds(p); len(got) != 1 || got[0] != LossFindingLogitsWithoutFromLogits || !strings.Contains(p.Findings[0].Message, `"dense_1"`) {
		t.Errorf("linear→Dropout: %v %v", got, p.Findings)
	}
}

func TestLossPlanPaths(t *testing.T) {
	cases := []struct {
		name                       string
		act, loss                  string
		fromLogits                 bool
		sem                        LossSemantics
		reads, path, metricsLogits bool
		kinds                      string
	}{
		{"softmax cce", "softmax", "categorical_crossentropy", false, "", true, true, true, ""},
		{"softmax cce probabilities", "softmax", "categorical_crossentropy", false, ProbabilitySemantics, false, false, true, ""},
		{"linear cce from_logits", "linear", "categorical_crossentropy", true, "", false, true, false, ""},
		{"softmax mse", "softmax", "mean_squared_error", false, "", false, false, true, ""},
		{"sigmoid cce", "sigmoid", "categorical_crossentropy", false, "", true, true, true, LossFindingSigmoidWithCCE},
		{"softmax bce", "softmax", "binary_crossentropy", false, "", true, true, true, LossFindingSoftmaxWithBCE},
		{"softmax from_logits", "softmax", "categorical_crossentropy", true, "", true, true, true, LossFindingFromLogitsAfterActivation},
		{"softmax from_logits probabilities", "softmax", "categorical_crossentropy", true, ProbabilitySemantics, false, true, true, LossFindingFromLogitsAfterActivation},
		{"relu cce", "relu", "sparse_categorical_crossentropy", false, "", false, false, false, LossFindingLogitsWithoutFromLogits},
	}
	for _, c := range cases {
		p := compiledPlan(t, mlp(c.act), c.loss, c.fromLogits, c.sem)
		if p.ReadsLogits != c.reads || p.LogitsPath != c.path || p.MetricsReadLogits != c.metricsLogits || strings.Join(kinds(p), ",") != c.kinds {
			t.Errorf("%s: reads %v path %v metrics-logits %v findings %v; want %v %v %v %q", c.name,
				p.ReadsLogits, p.LogitsPath, p.MetricsReadLogits, kinds(p), c.reads, c.path, c.metricsLogits, c.kinds)
		}
		if p.Units != 3 || p.Layer != "dense_1" || p.Activation != c.act || p.Loss != c.loss {
			t.Errorf("%s: %+v", c.name, p)
		}
		if m := mlp(c.act); m.Compile(CompileOptions{Optimizer: "sgd", Loss: c.loss, Warnings: io.Discard}) == nil && !c.fromLogits && c.sem == "" && m.LossFromLogits() != p.LogitsPath {
			t.Errorf("%s: LossFromLogits disagrees with the plan", c.name)
		}
	}
}

// A categorical cross-entropy over one unit is 0 whatever the weights; the
// old warning said the sigmoid loss was unbounded and advised softmax,
// which over one unit is the single-unit-softmax mistake.
func TestLossPlanSingleUnitCCE(t *testing.T) {
	m := NewSequential(layers.NewInput(4), layers.MustNewDense(1, layers.WithActivation("sigmoid")))
	p := compiledPlan(t, m, "categorical_crossentropy", false, "")
	if got := kinds(p); len(got) != 1 || got[0] != LossFindingSingleUnitCCE {
		t.Errorf("sigmoid over 1 unit with categorical_crossentropy: %v", p.Findings)
	}
	m = NewSequential(layers.NewInput(4), layers.MustNewDense(1, layers.WithActivation("softmax")))
	if got := kinds(compiledPlan(t, m, "categorical_crossentropy", false, "")); len(got) != 1 || got[0] != LossFindingSingleUnitSoftmax {
		t.Errorf("softmax over 1 unit: %v", got)
	}
}

// Compile prints exactly the plan's findings.
func TestCompileWarningsAreThePlan(t *testing.T) {
	var w bytes.Buffer
	m := mlp("sigmoid")
	l, _ := losses.Get("categorical_crossentropy", losses.Options{FromLogits: true})
	if err := m.Compile(CompileOptions{Optimizer: "sgd", Loss: l, Warnings: &w}); err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	for _, f := range m.LossPlan().Findings {
		want.WriteString("kiln: warning: " + f.Message + "\n")
	}
	if len(m.LossPlan().Findings) != 2 || w.String() != want.String() || len(m.Warnings()) != 2 {
		t.Errorf("printed %q; plan %q", w.String(), want.String())
	}
}
