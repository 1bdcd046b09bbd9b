package explain

import (
	"context"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/config"
	"github.com/kiln-ml/kiln/data"
	"github.com/kiln-ml/kiln/layers"
	"github.com/kiln-ml/kiln/losses"
)

// Explain used to find the output activation through a trailing Dropout
// and then assume Keras' TF backend reads cached logits, so its "TF" loss
// applied softmax to the Dropout's outputs, which are already
// probabilities. With the model's LossPlan both semantics equal the loss
// Evaluate reports.
func TestSemanticLossesAfterDropout(t *testing.T) {
	d, err := layers.NewDropout(0.5)
	if err != nil {
		t.Fatal(err)
	}
	m := kiln.NewSequential(layers.NewInput(4), layers.MustNewDense(3, layers.WithActivation("softmax")), d)
	if err := m.Compile(kiln.CompileOptions{Optimizer: "sgd", Loss: "categorical_crossentropy", Seed: 3, Warnings: io.Discard}); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	n := 16
	xs, ys := make([]float32, n*4), make([]float32, n*3)
	for i := range xs {
		xs[i] = float32(rng.NormFloat64() * 3)
	}
	for r := 0; r < n; r++ {
		ys[r*3+r%3] = 1
	}
	x, y := data.NewFloat32(xs, n, 4), data.NewFloat32(ys, n, 3)
	var tk task
	tk.setOutput(m.LossPlan())
	if tk.act != "softmax" || tk.outputLogits || !tk.actBefore {
		t.Fatalf("task %+v", tk)
	}
	lg, err := m.PredictLogits(context.Background(), x, kiln.EvaluateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tf, prob := semanticLosses(m, &tk, lg.F32, y, n)
	ev, err := m.Evaluate(context.Background(), x, y, kiln.EvaluateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(tf-ev.Values[0]) > 1e-5 || math.Abs(prob-ev.Values[0]) > 1e-5 {
		t.Errorf("semantic losses %g (TF) and %g (probabilities); Evaluate's loss is %g", tf, prob, ev.Values[0])
	}
}

// Every kind of the plan that explain renders is a finding id.
func TestPlanKindsAreIDs(t *testing.T) {
	for _, k := range []string{kiln.LossFindingSigmoidWithCCE, kiln.LossFindingSoftmaxWithBCE, kiln.LossFindingSingleUnitSoftmax,
		kiln.LossFindingFromLogitsAfterActivation, kiln.LossFindingLogitsWithoutFromLogits} {
		if !slices.Contains(IDs, k) {
			t.Errorf("kiln.LossPlan kind %q is not an explain finding id", k)
		}
	}
}

// checkOutputLoss renders the plan: from_logits after a softmax is an
// error where nothing hides the second softmax (after a Dropout, the
// loss has no cached logits to read), a warning where Keras' TF backend
// reads the cached logits.
func TestDoubleSoftmaxSeverityFromPlan(t *testing.T) {
	for _, c := range []struct {
		dropout bool
		want    Severity
	}{{false, Warning}, {true, Error}} {
		items := []any{layers.NewInput(4), layers.MustNewDense(3, layers.WithActivation("softmax"))}
		if c.dropout {
			d, _ := layers.NewDropout(0.2)
			items = append(items, d)
		}
		m := kiln.NewSequential(items...)
		l, _ := losses.Get("categorical_crossentropy", losses.Options{FromLogits: true})
		if err := m.Compile(kiln.CompileOptions{Optimizer: "sgd", Loss: l, Warnings: io.Discard}); err != nil {
			t.Fatal(err)
		}
		a := &analysis{run: &config.Run{Model: m}, exp: &config.Experiment{}}
		a.describeModel()
		a.task.setOutput(m.LossPlan())
		a.task.kind, a.task.classes = kindMulticlass, 3
		a.checkOutputLoss()
		if len(a.findings) != 1 || a.findings[0].ID != IDDoubleSoftmax || a.findings[0].Severity != c.want {
			t.Errorf("dropout %v: findings %+v; want %s %s", c.dropout, a.findings, IDDoubleSoftmax, c.want)
		}
	}
}
