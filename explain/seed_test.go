package explain_test

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kiln-ml/kiln/explain"
)

func num(t *testing.T, m map[string]any, k string) float64 {
	t.Helper()
	v, ok := m[k].(float64)
	if !ok {
		t.Fatalf("evidence %q missing or not a number: %v", k, m[k])
	}
	return v
}

// TestSeed is the acceptance test of the issue: explain on the Stack
// Overflow 69485339 program (full MNIST).
func TestSeed(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on full MNIST")
	}
	start := time.Now()
	rep, err := explain.File(context.Background(), "../examples/seed.yaml", explain.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > explain.DefaultBudget {
		t.Errorf("explain took %v, over the default budget of %v", d, explain.DefaultBudget)
	}
	for _, id := range []string{explain.IDInputsNotNormalized, explain.IDSigmoidWithCCE, explain.IDLossScalesWithLearningRate} {
		if !rep.Has(id) {
			t.Errorf("missing %s", id)
		}
	}
	for _, f := range rep.Findings {
		if f.Severity != explain.Info && !slices.Contains([]string{explain.IDInputsNotNormalized, explain.IDSigmoidWithCCE,
			explain.IDLossScalesWithLearningRate}, f.ID) {
			t.Errorf("unexpected %s %s: %s", f.Severity, f.ID, f.Summary)
		}
	}

	// The inputs: raw 0..255 pixels.
	in := rep.Find(explain.IDInputsNotNormalized)
	if in == nil || num(t, in.Evidence, "max") != 255 || !slices.Equal(in.FixSets, []string{"data.scale=1/255"}) {
		t.Fatalf("inputs finding: %+v", in)
	}

	// The learning-rate probe: loss and weights ×≈3, accuracy unchanged.
	ls := rep.Find(explain.IDLossScalesWithLearningRate)
	ev := ls.Evidence
	if r := num(t, ev, "loss_ratio"); math.Abs(r-3) > 0.3 {
		t.Errorf("loss ratio %g, want ≈ 3", r)
	}
	if r := num(t, ev, "weight_change_ratio"); math.Abs(r-3) > 0.3 {
		t.Errorf("weight ratio %g, want ≈ 3", r)
	}
	if r := num(t, ev, "logit_ratio"); math.Abs(r-3) > 0.5 {
		t.Errorf("logit ratio %g, want ≈ 3", r)
	}
	if rep.Plan.FullData {
		// The probe's first epoch is the user's: the question's 315 / ~931.
		if l := num(t, ev, "epoch1_loss"); math.Abs(l-314.8) > 1 {
			t.Errorf("epoch-1 loss %g, want 314.8 (kiln fit's number)", l)
		}
		if l := num(t, ev, "epoch1_loss_k"); l < 850 || l > 1050 {
			t.Errorf("epoch-1 loss at lr 0.03 %g, want ≈ 930-960", l)
		}
	}
	if d := math.Abs(num(t, ev, "epoch1_accuracy") - num(t, ev, "epoch1_accuracy_k")); d > 0.02 {
		t.Errorf("accuracy moved by %g between lr and lr×3", d)
	}
	for _, w := range []string{"scale-equivariant", "argmax"} {
		if !strings.Contains(ls.Why, w) {
			t.Errorf("the explanation does not mention %q", w)
		}
	}
	// Its fix, verified at lr and lr×3.
	if !slices.Equal(ls.FixSets, []string{"data.scale=1/255", "model.2.Dense.activation=softmax"}) {
		t.Errorf("fix %v", ls.FixSets)
	}
	v := ls.Verified
	if v == nil || !v.Confirmed {
		t.Fatalf("fix not confirmed: %+v", v)
	}
	if l := v.After["epoch1_loss"]; !(l > 0.2 && l < 1) {
		t.Errorf("fixed epoch-1 loss %g, want a log-probability below 1", l)
	}
	if r := v.Extra["loss_ratio_after"].(float64); r >= 1 {
		t.Errorf("with the fix, lr×3 should lower the loss; ratio %g", r)
	}
	if a := v.After["val_accuracy"]; a < 0.88 {
		t.Errorf("fixed validation accuracy %g", a)
	}

	// The loss semantics: the TF backend's loss from the logits vs the bounded probability path.
	s := rep.LossSemantics
	if s == nil || s.Used != "logits" || !(s.TFBackend > 50) || !(s.ProbabilityPath < 16.2) || !(s.InitTFBackend > 10*s.InitProbabilityPath) {
		t.Errorf("loss semantics: %+v", s)
	}
	sg := rep.Find(explain.IDSigmoidWithCCE)
	if sg.Verified == nil || !sg.Verified.Confirmed || !strings.Contains(sg.Verified.Note, "TF backend") {
		t.Errorf("sigmoid finding verification: %+v", sg.Verified)
	}

	// All fixes together.
	cf := rep.CombinedFix
	if cf == nil || !cf.Verified.Confirmed || !slices.Contains(cf.Sets, "data.scale=1/255") || !slices.Contains(cf.Sets, "model.2.Dense.activation=softmax") {
		t.Errorf("combined fix: %+v", cf)
	}
	var sb strings.Builder
	rep.WriteText(&sb)
	t.Log("\n" + sb.String())
}
