package explain

import (
	"context"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/callbacks"
	"github.com/kiln-ml/kiln/config"
	"github.com/kiln-ml/kiln/data"
	"github.com/kiln-ml/kiln/layers"
	"github.com/kiln-ml/kiln/tensor"
)

// The dynamic checks' rules on hand-made recordings: for each, a run that
// must fire and a healthy one that must not.

func TestVanishingGradientRule(t *testing.T) {
	three := []string{"dense/kernel", "dense_1/kernel", "dense_2/kernel"}
	vanishing := &recording{kernelNames: three, gradRMS: [][]float64{{1e-5, 1e-3, 0.1}, {2e-5, 1e-3, 0.1}, {1e-6, 1e-3, 0.2}}}
	r, cols, n, fires := vanishingGradient(vanishing)
	if !fires || n != 3 || math.Abs(r-1e-4) > 1e-12 || len(cols) != 3 || cols[0] != 1e-5 {
		t.Errorf("vanishing gradients: ratio %g, columns %v, samples %d, fires %v", r, cols, n, fires)
	}
	healthy := &recording{kernelNames: three, gradRMS: [][]float64{{0.05, 0.08, 0.1}, {0.04, 0.1, 0.1}}}
	if _, _, _, fires := vanishingGradient(healthy); fires {
		t.Error("healthy gradients fired")
	}
	two := &recording{kernelNames: three[:2], gradRMS: [][]float64{{1e-6, 0.1}}}
	if _, _, _, fires := vanishingGradient(two); fires {
		t.Error("fired with 2 kernels")
	}
}

func TestOverfittingRule(t *testing.T) {
	p := &probeResult{recording: recording{epochLoss: []float64{1, 0.5, 0.3, 0.2, 0.15}, valLoss: []float64{1, 0.6, 0.8, 0.9, 1.0}},
		valLossSE: []float64{0.02, 0.02, 0.03, 0.03, 0.03}, trainScore: []float64{0.7, 0.9, 0.95, 0.99, 1}, valScore: []float64{0.7, 0.82, 0.8, 0.8, 0.8}}
	if o := overfitting(p); !o.fires || o.best != 1 || o.rising != 3 || math.Abs(o.gap-0.2) > 1e-9 {
		t.Errorf("overfitting run: %+v", o)
	}
	// catches: the noise ignored (the old rule: a 13% rise with a 0.2
	// accuracy gap fired, though the rise is within 2·√2·SE of 150 rows).
	noisy := *p
	noisy.valLoss = []float64{1, 0.3, 0.32, 0.33, 0.34}
	noisy.valLossSE = []float64{0.03, 0.03, 0.03, 0.03, 0.03}
	if o := overfitting(&noisy); o.fires {
		t.Errorf("a rise within the noise fired: %+v", o)
	}
	// catches: one late bump counted as "several epochs".
	bump := *p
	bump.valLoss = []float64{1, 0.6, 0.61, 0.6, 0.9}
	if o := overfitting(&bump); o.fires || o.rising != 1 {
		t.Errorf("a one-epoch bump fired: %+v", o)
	}
	p.valLoss = []float64{1, 0.6, 0.55, 0.5, 0.5}
	if o := overfitting(p); o.fires {
		t.Error("falling validation loss fired")
	}
}

// TestOverfittingNotInMarginRegime: a validation loss that rises as the
// overfitting rule wants is not called overfitting when the loss scales
// with the learning rate (a margin in logit units, growing with the
// weights).
func TestOverfittingNotInMarginRegime(t *testing.T) {
	p := &probeResult{recording: recording{epochLoss: []float64{300, 260, 250, 245, 240}, valLoss: []float64{210, 204, 220, 226, 233}},
		valLossSE: []float64{4, 4, 4, 4, 4}, trainScore: []float64{0.84, 0.85, 0.85, 0.85, 0.85}, valScore: []float64{0.86, 0.88, 0.88, 0.88, 0.88}}
	if o := overfitting(p); !o.fires {
		t.Fatalf("the rule itself does not fire on this run: %+v", o)
	}
	a := &analysis{base: p}
	a.add(&Finding{ID: IDLossScalesWithLearningRate, Severity: Warning})
	a.checkOverfitting()
	if a.find(IDOverfitting) != nil {
		t.Error("overfitting reported in the margin regime")
	}
}

func TestDivergenceRule(t *testing.T) {
	run := func(init float64, epochs, batches []float64) *probeResult {
		return &probeResult{initLoss: init, recording: recording{epochLoss: epochs, batchLoss: batches}}
	}
	cases := []struct {
		name  string
		p     *probeResult
		score float64
		want  divergenceKind
	}{
		{"healthy", run(2.3, []float64{1, 0.5}, []float64{2.3, 1.5, 0.6}), 0.9, notDiverged},
		{"nan", &probeResult{initLoss: 2.3, recording: recording{epochLoss: []float64{math.NaN()}, nonFinite: true}}, math.NaN(), divergedNonFinite},
		{"loss rises", run(2.3, []float64{5, 8}, []float64{3, 9}), 0.1, divergedLoss},
		{"loss rises but learns", run(2.3, []float64{5, 8}, []float64{3, 9}), 0.9, divergedClimbsBack},
		{"overshoot", run(2.3, []float64{2.2, 2.3}, []float64{2.3, 50, 2.3}), 0.1, divergedOvershoot},
		{"spike but learns", run(2.3, []float64{1, 0.5}, []float64{2.3, 50, 0.6}), 0.9, notDiverged},
		{"climbs back", run(2.3, []float64{1, 0.4, 0.95}, nil), 0.8, divergedClimbsBack},
		{"dips and stays", run(2.3, []float64{1, 0.4, 0.7}, nil), 0.8, notDiverged},
	}
	for _, c := range cases {
		if got := divergence(c.p, c.score, 0.15); got != c.want {
			t.Errorf("%s: divergence %d, want %d", c.name, got, c.want)
		}
	}
}

func TestLRScalingRule(t *testing.T) {
	base := &probeResult{rows: 1000, logitRMS: 10, recording: recording{epochLoss: []float64{20}, epochAcc: []float64{0.84}, dW: []float64{1, 2}}}
	scaled := &probeResult{rows: 1000, logitRMS: 30, recording: recording{epochLoss: []float64{61}, epochAcc: []float64{0.845}, dW: []float64{3, 6}}}
	s, ok := lrScaling(base, scaled, 3, 10)
	if !ok || !s.fires || s.accName != "epoch1_accuracy" || math.Abs(s.ratio-3.05) > 1e-9 || math.Abs(s.growth-3) > 1e-9 {
		t.Errorf("margin regime: %+v ok %v", s, ok)
	}
	learns := &probeResult{rows: 1000, logitRMS: 3, recording: recording{epochLoss: []float64{1.2}, epochAcc: []float64{0.9}, dW: []float64{3, 6}}}
	if s, ok := lrScaling(base, learns, 3, 10); !ok || s.fires {
		t.Errorf("a larger lr that learns faster fired: %+v", s)
	}
	small := &probeResult{rows: 1000, logitRMS: 1, recording: recording{epochLoss: []float64{2}, epochAcc: []float64{0.84}, dW: []float64{1, 2}}}
	smallK := &probeResult{rows: 1000, logitRMS: 3, recording: recording{epochLoss: []float64{6}, epochAcc: []float64{0.84}, dW: []float64{3, 6}}}
	if s, _ := lrScaling(small, smallK, 3, 10); s.fires {
		t.Errorf("fired with an epoch-1 loss below 2·ln(C): %+v", s)
	}
	if _, ok := lrScaling(base, &probeResult{recording: recording{nonFinite: true}}, 3, 10); ok {
		t.Error("a diverged lr×k probe was compared")
	}
}

func TestNoSignalRule(t *testing.T) {
	b := &probeResult{valScore: []float64{0.11, 0.1}, trainScore: []float64{0.5, 0.9}}
	perm := &probeResult{valScore: []float64{0.1, 0.12}}
	if !noSignal(b, perm, nil, 0.11, 0.03, 0.03, false) {
		t.Error("no signal with real labels did not fire")
	}
	// catches: labels blamed for an oscillating run (issue 12, class 5):
	// the run at lr/10 learns, so the labels are learnable.
	low := &probeResult{valScore: []float64{0.5, 0.7}}
	if noSignal(b, perm, low, 0.11, 0.03, 0.03, false) {
		t.Error("fired although the run at lr/10 learns")
	}
	if !noSignal(b, perm, &probeResult{valScore: []float64{0.1, 0.12}}, 0.11, 0.03, 0.03, false) {
		t.Error("a lower-lr run that fails too stopped it")
	}
	b.valScore = []float64{0.8, 0.9}
	if noSignal(b, perm, nil, 0.11, 0.03, 0.03, false) {
		t.Error("a model that generalises fired")
	}
	// A model that cannot even fit its training rows says nothing.
	b = &probeResult{valScore: []float64{0.11}, trainScore: []float64{0.12}}
	if noSignal(b, perm, nil, 0.11, 0.03, 0.03, false) {
		t.Error("fired on a model that does not fit its training rows")
	}
}

func TestUnhealthyLayersRule(t *testing.T) {
	stats := []layerStat{{Layer: "dense", Act: "relu", Dead: 0.7}, {Layer: "dense_1", Act: "relu", Dead: 0.2},
		{Layer: "dense_2", Act: "tanh", Saturated: 0.6}, {Layer: "dense_3", Act: "sigmoid", Saturated: 0.1}}
	dead, sat := unhealthyLayers(stats)
	if len(dead) != 1 || dead[0].Layer != "dense" || len(sat) != 1 || sat[0].Layer != "dense_2" {
		t.Errorf("dead %v, saturated %v", dead, sat)
	}
	if dead, sat := unhealthyLayers(stats[1:2]); len(dead)+len(sat) != 0 {
		t.Errorf("healthy layers: dead %v, saturated %v", dead, sat)
	}
}

// checkGradients turns a recording into the finding with its evidence.
func TestCheckGradientsFinding(t *testing.T) {
	a := &analysis{base: &probeResult{recording: recording{kernelNames: []string{"conv2d/kernel", "dense/kernel", "dense_1/kernel"},
		gradRMS: [][]float64{{1e-5, 1e-3, 0.1}}}}}
	a.checkGradients()
	f := a.find(IDVanishingGradient)
	if f == nil || f.Evidence["samples"] != 1 || f.Evidence["first_last_ratio"] != 1e-4 {
		t.Fatalf("finding %+v", f)
	}
	// A sigmoid Conv2D hidden layer is fixed like a Dense one.
	a.findings = nil
	a.layers = []layerInfo{{spec: 1, class: "Conv2D", name: "conv2d", act: "sigmoid"}, {spec: 2, class: "Flatten", name: "flatten"},
		{spec: 3, class: "Dense", name: "dense", act: "softmax"}}
	a.checkGradients()
	f = a.find(IDVanishingGradient)
	if f == nil || len(f.FixSets) != 1 || f.FixSets[0] != "model.1.Conv2D.activation=relu" ||
		!strings.Contains(f.Evidence["threshold"].(string), "≥ 3 Dense/Conv2D layers") {
		t.Errorf("conv model: fix %v, evidence %v", f.FixSets, f.Evidence["threshold"])
	}
	a = &analysis{base: &probeResult{recording: recording{kernelNames: []string{"a", "b", "c"}, gradRMS: [][]float64{{0.1, 0.1, 0.1}}}}}
	if a.checkGradients(); len(a.findings) != 0 {
		t.Errorf("healthy gradients: %v", a.findings[0].Summary)
	}
}

// The recorder reads Fit's logs and the kernels' gradients, whatever
// their rank.
func TestRecorder(t *testing.T) {
	conv := tensor.NewVariable("conv2d/kernel", 2, 2, 1, 2) // 8 values
	dense := tensor.NewVariable("dense/kernel", 2, 1)
	for i := range conv.Value {
		conv.Value[i], conv.Grad[i] = 1, 0.5
	}
	dense.Value[0], dense.Grad[0], dense.Grad[1] = 2, 3, 4
	var rec recording
	stopped := false
	r := newRecorder(&rec, []*tensor.Variable{conv, dense}, 4, 1, func() { stopped = true })
	names := []string{"loss", "accuracy", callbacks.BatchLoss}
	for step, bl := range []float64{2, 1, 0.5, 0.3} {
		switch step { // updates of the sampled steps 2 and 4
		case 1:
			conv.Value[1] = 3
		case 3:
			conv.Value[0] = 2
		}
		r.BatchEnd(step+1, callbacks.Logs{Names: names, Values: []float64{10, 0.5, bl}})
	}
	r.EpochEnd(0, callbacks.Logs{Names: []string{"loss", "accuracy", "val_loss", "val_accuracy"}, Values: []float64{0.9, 0.6, 1.1, 0.55}})
	r.finish()
	if got := rec.batchLoss; len(got) != 4 || got[0] != 2 || got[3] != 0.3 {
		t.Errorf("batch losses %v, want Fit's batch_loss values", got)
	}
	if rec.steps != 4 || len(rec.stepLoss) != 4 || rec.stepLoss[0] != 10 {
		t.Errorf("steps %d, running losses %v", rec.steps, rec.stepLoss)
	}
	if len(rec.epochLoss) != 1 || rec.epochLoss[0] != 0.9 || rec.epochAcc[0] != 0.6 || rec.valLoss[0] != 1.1 {
		t.Errorf("epoch logs: loss %v accuracy %v val_loss %v", rec.epochLoss, rec.epochAcc, rec.valLoss)
	}
	// Gradients are sampled at steps 2 and 4: RMS 0.5 for the conv kernel,
	// √((9+16)/2) for the dense one. Step 2 moved the conv kernel by 2 from
	// norm √8, step 4 by 1 from norm √(7+9) = 4.
	if len(rec.gradRMS) != 2 || rec.gradRMS[0][0] != 0.5 || math.Abs(rec.gradRMS[0][1]-math.Sqrt(12.5)) > 1e-12 {
		t.Errorf("gradient RMS %v", rec.gradRMS)
	}
	if len(rec.updateRatio) != 2 || math.Abs(rec.updateRatio[0][0]-2/math.Sqrt(8)) > 1e-12 || rec.updateRatio[1][0] != 0.25 || rec.updateRatio[1][1] != 0 {
		t.Errorf("update ratios %v", rec.updateRatio)
	}
	if math.Abs(rec.dW[0]-math.Sqrt(5)) > 1e-12 || rec.w0[1] != 2 || rec.nonFinite || stopped {
		t.Errorf("dW %v w0 %v nonFinite %v stopped %v", rec.dW, rec.w0, rec.nonFinite, stopped)
	}
	// A non-finite loss stops the run and marks the epochs.
	r.BatchEnd(1, callbacks.Logs{Names: names, Values: []float64{math.Inf(1), 0.5, math.Inf(1)}})
	rec.w1, rec.dW = nil, nil
	r.finish()
	if !stopped || !rec.nonFinite || !strings.Contains(rec.aborted, "inf at step 5") || !math.IsNaN(last(rec.epochLoss)) {
		t.Errorf("non-finite loss: stopped %v nonFinite %v aborted %q epochs %v", stopped, rec.nonFinite, rec.aborted, rec.epochLoss)
	}
}

// Conv2D kernels are kernels: a probe records their gradients.
func TestKernelsOfConv(t *testing.T) {
	conv, err := layers.NewConv2D(2, [2]int{3, 3}, layers.WithActivation("relu"))
	if err != nil {
		t.Fatal(err)
	}
	m := kiln.NewSequential(layers.NewInput(6, 6, 1), conv, layers.NewFlatten(), layers.MustNewDense(2, layers.WithActivation("softmax")))
	if err := m.Compile(kiln.CompileOptions{Optimizer: "sgd", Loss: "categorical_crossentropy", Warnings: io.Discard}); err != nil {
		t.Fatal(err)
	}
	ks := kernelsOf(m)
	if len(ks) != 2 || ks[0].Name != "conv2d/kernel" || ks[1].Name != "dense/kernel" {
		var names []string
		for _, k := range ks {
			names = append(names, k.Name)
		}
		t.Fatalf("kernels %v, want conv2d/kernel and dense/kernel", names)
	}
	n := 8
	xs, ys := make([]float32, n*36), make([]float32, n*2)
	for i := range xs {
		xs[i] = float32(i%7) / 7
	}
	for r := 0; r < n; r++ {
		ys[r*2+r%2] = 1
	}
	var rec recording
	r := newRecorder(&rec, ks, 4, 6, func() {})
	if _, err := m.Fit(context.Background(), data.NewFloat32(xs, n, 6, 6, 1), data.NewFloat32(ys, n, 2),
		kiln.FitOptions{BatchSize: 2, Epochs: 6, Callbacks: []callbacks.Callback{r}}); err != nil {
		t.Fatal(err)
	}
	if len(rec.gradRMS) == 0 || len(rec.gradRMS[0]) != 2 || !(rec.gradRMS[0][0] > 0) {
		t.Errorf("gradient RMS per kernel %v", rec.gradRMS)
	}
}

func TestProgressRules(t *testing.T) {
	stuck := &probeResult{initLoss: 2.3, initScore: 0.1, valScore: []float64{0.11, 0.12},
		recording: recording{epochLoss: []float64{2.29, 2.28}, updateRatio: [][]float64{{1e-6, 2e-6}, {1e-6, 1e-6}}}}
	if drop, gain, ok := progress(stuck); ok || math.Abs(drop-0.02/2.3) > 1e-12 || math.Abs(gain-0.02) > 1e-12 {
		t.Errorf("stuck run: drop %g gain %g progressed %v", drop, gain, ok)
	}
	if upd, small, big := stepSizes(stuck); !small || big || math.Abs(upd-1.25e-6) > 1e-18 { // median of the per-kernel medians
		t.Errorf("tiny steps: median update %g, small %v, big %v", upd, small, big)
	}
	learns := &probeResult{initLoss: 2.3, initScore: 0.1, valScore: []float64{0.9},
		recording: recording{epochLoss: []float64{0.3}, batchLoss: []float64{2.3, 1, 0.4}, updateRatio: [][]float64{{3e-3, 5e-3}}}}
	if _, _, ok := progress(learns); !ok {
		t.Error("a learning run made no progress")
	}
	// The loss can stay put while the score rises (e.g. a saturated loss).
	scores := &probeResult{initLoss: 2.3, initScore: 0.1, valScore: []float64{0.3}, recording: recording{epochLoss: []float64{2.3}}}
	if _, _, ok := progress(scores); !ok {
		t.Error("a run whose score rose made no progress")
	}
	if _, small, big := stepSizes(learns); small || big {
		t.Errorf("healthy steps: small %v, big %v", small, big)
	}
	spiky := &probeResult{initLoss: 2.3, recording: recording{batchLoss: []float64{2.3, 40}, updateRatio: [][]float64{{3e-3}}}}
	dead := &probeResult{initLoss: 2.3, recording: recording{updateRatio: [][]float64{{3e-3}}}, layerStats: []layerStat{{Act: "relu", Dead: 0.9}}}
	for _, p := range []*probeResult{spiky, dead} {
		if _, _, big := stepSizes(p); !big {
			t.Errorf("large steps not seen: %+v", p)
		}
	}
}

func TestConstantPredictorRule(t *testing.T) {
	constant := &probeResult{recall: map[int]float64{0: 1, 1: 0}, predShare: 1, predClass: 0}
	if !constantPredictor(constant) {
		t.Error("every row predicted as class 0 did not fire")
	}
	// catches: a limit loosened to a plain majority (0.9 of the rows).
	mostly := &probeResult{recall: map[int]float64{0: 0.97, 1: 0.6}, predShare: 0.9, predClass: 0}
	if constantPredictor(mostly) {
		t.Error("a model that finds the rare class fired")
	}
	one := &probeResult{recall: map[int]float64{0: 1}, predShare: 1}
	if constantPredictor(one) {
		t.Error("fired with one class in the labels")
	}
	if b := balanced(constant.recall); b != 0.5 {
		t.Errorf("balanced accuracy %g, want 0.5", b)
	}
}

func TestLowerLRRule(t *testing.T) {
	b := &probeResult{valScore: []float64{0.85, 0.88}, recording: recording{epochLoss: []float64{0.5, 0.45}, batchLoss: []float64{0.6, 0.5, 0.45, 0.44}}, initLoss: 0.7}
	low := &probeResult{valScore: []float64{0.9, 0.92}}
	if !lowerLRBetter(b, low, 0.02) {
		t.Error("lr/10 better by 0.04 (noise 0.02) did not fire")
	}
	// catches: a difference within the noise counted.
	if lowerLRBetter(b, low, 0.05) {
		t.Error("a gain within the noise fired")
	}
	if unstableLoss(b) {
		t.Error("a smooth loss is unstable")
	}
	swings := &probeResult{initLoss: 0.7, recording: recording{epochLoss: []float64{0.6, 0.6}, batchLoss: []float64{0.6, 0.1, 1.5, 0.05, 1.2, 0.1, 1.4, 0.02}}}
	if !unstableLoss(swings) {
		t.Error("batch losses swinging 0.02..1.5 are not unstable")
	}
}

// A fix the probes did not confirm is inconclusive, not "not confirmed",
// when the probes took fewer steps than the experiment.
func TestInconclusiveWhenShortened(t *testing.T) {
	a := &analysis{plan: &Plan{Shortened: true, Steps: 50, ConfiguredSteps: 5000}}
	ran := &probeResult{}
	v := &Verified{Note: "validation accuracy 0.5 → 0.52"}
	if !a.inconclusive(v, ran) || !v.Inconclusive || !strings.Contains(v.Note, "50 of the experiment's 5000") {
		t.Errorf("shortened probes: %+v", v)
	}
	// catches: every unconfirmed fix called inconclusive.
	a.plan.Shortened = false
	v = &Verified{Note: "no gain"}
	if a.inconclusive(v, ran) || v.Inconclusive {
		t.Errorf("full-length probes: %+v", v)
	}
	a.plan.Shortened = true
	if v := (&Verified{Confirmed: true}); a.inconclusive(v, ran) {
		t.Error("a confirmed fix was made inconclusive")
	}
	if v := (&Verified{}); a.inconclusive(v, &probeResult{recording: recording{nonFinite: true}}) {
		t.Error("a fixed run that diverged was made inconclusive")
	}
}

// A lower learning rate is confirmed by a validation loss ≥ 10× lower at
// an accuracy not lower beyond noise (the weights exploded), not only by a
// better accuracy.
func TestVerifyLRExplodingLoss(t *testing.T) {
	a := &analysis{task: task{kind: kindBinary, units: 1}, plan: &Plan{Epochs: 20, Rows: 300}, exp: &config.Experiment{}}
	f := &Finding{fix: &fixCandidate{}}
	run := func(score, loss float64) *probeResult {
		return &probeResult{valN: 500, valScore: []float64{score}, recording: recording{valLoss: []float64{loss}, epochLoss: []float64{loss}}}
	}
	if v := verifyLR(a, f, run(0.69, 1e21), run(0.70, 0.65)); !v.Confirmed {
		t.Errorf("loss 1e21 → 0.65 at the same accuracy not confirmed: %+v", v)
	}
	// catches: a loss ratio accepted at a clearly worse accuracy.
	if v := verifyLR(a, f, run(0.9, 1e21), run(0.6, 0.65)); v.Confirmed {
		t.Errorf("confirmed although the accuracy fell 0.9 → 0.6: %+v", v)
	}
	// catches: any lower loss accepted.
	if v := verifyLR(a, f, run(0.69, 1.0), run(0.70, 0.5)); v.Confirmed {
		t.Errorf("a loss only 2× lower confirmed: %+v", v)
	}
}
