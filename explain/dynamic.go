package explain

import (
	"fmt"
	"maps"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Thresholds of the dynamic findings (also stated in each finding's evidence).
const (
	// lrScaleTolerance: "≈ k" means |ln(ratio)/ln(k) − 1| ≤ this.
	lrScaleTolerance = 0.25
	// marginLossFactor: the scale-equivariant regime needs a loss of at
	// least this many times ln(C), the loss of an uninformed softmax.
	marginLossFactor = 2.0
	// minScoreGain: the smallest improvement in accuracy counted as real,
	// before the noise term 3·SE.
	minScoreGain = 0.02
	// minR2Gain: the smallest R² improvement counted as real.
	minR2Gain = 0.05
	// progressFraction: a run "made no progress" when its loss fell by less
	// than this fraction of the initial loss and its score rose by < 0.05.
	progressFraction = 0.05
	// fewUpdates: fewer optimizer steps than this in the whole configured
	// training makes "too few updates" a hypothesis, kept when a probe with
	// more steps does clearly better.
	fewUpdates = 200
	// deadLimit: a ReLU layer with more than this fraction of units that
	// output 0 for every probe row.
	deadLimit = 0.5
	// saturationLimit: a sigmoid/tanh layer with more than this fraction of
	// values within 1% of a bound.
	saturationLimit = 0.5
	// vanishingRatio: first/last layer gradient RMS below this.
	vanishingRatio = 0.01
	// overfitEpochs: the validation loss must stay above its minimum by more
	// than its noise for this many final epochs; overfitMinRise is the
	// smallest rise counted, as a fraction of the minimum.
	overfitEpochs  = 3
	overfitMinRise = 0.02
	// divergeFactor: final loss above this multiple of the initial loss,
	// with a score no better than chance, is divergence.
	divergeFactor = 1.5
	// spikeFactor: a batch loss above this multiple of the initial loss,
	// with a final score no better than chance, is an overshoot.
	spikeFactor = 10.0
	// smallUpdate / bigUpdate: the median ‖ΔW‖/‖W‖ of one step below which
	// steps are "tiny" and above which they are "large" (healthy runs:
	// about 1e-3 to 1e-2).
	smallUpdate = 1e-4
	bigUpdate   = 0.05
)

// chance is the score of a model that knows nothing: the majority class
// share on the validation rows (classification) or 0 (R²).
func (a *analysis) chance(p *probeResult) float64 {
	if !a.task.isClassification() || p == nil || len(p.recall) == 0 {
		if a.task.kind == kindRegression {
			return 0
		}
		if a.task.kind == kindMultilabel {
			return math.NaN()
		}
	}
	counts := map[int]int{}
	y := a.probeValY
	if y == nil {
		return math.NaN()
	}
	for r := 0; r < y.Rows(); r++ {
		counts[classOf(y, r)]++
	}
	best := 0
	for _, c := range counts {
		best = max(best, c)
	}
	return float64(best) / float64(max(y.Rows(), 1))
}

// noise is the smallest score difference between two probes counted as real.
func (a *analysis) noise(n int, p float64) float64 {
	if a.task.kind == kindRegression {
		return minR2Gain
	}
	return math.Max(minScoreGain, 3*math.Sqrt2*binomialSE(p, n))
}

// diffNoise is the smallest difference in validation score between two
// probes counted as real. Both are scored on the same rows, so for
// classification it is a paired (McNemar) margin: 3·√(b+c)/n where b and c
// count the rows only one of the two gets right (at least 0.01); R²: 0.05.
func (a *analysis) diffNoise(p, q *probeResult) float64 {
	if a.task.kind == kindRegression {
		return minR2Gain
	}
	if p != nil && q != nil && len(p.valHits) > 0 && len(p.valHits) == len(q.valHits) {
		disc := 0
		for i := range p.valHits {
			if p.valHits[i] != q.valHits[i] {
				disc++
			}
		}
		n := float64(len(p.valHits))
		return math.Max(0.01, 3*math.Sqrt(float64(disc))/n)
	}
	if p != nil {
		return a.noise(p.valN, a.valScore(p))
	}
	return minScoreGain
}

func (a *analysis) lrSet(lr float64) string {
	return "compile.optimizer.learning_rate=" + fmtLR(lr)
}

func fmtLR(v float64) string {
	return strconv.FormatFloat(sig(v, 6), 'g', -1, 64)
}

// probe runs the training probes and the counterfactuals.
func (a *analysis) probe() error {
	nFix := 0
	for _, f := range a.findings {
		if f.fix != nil {
			nFix++
		}
	}
	blocked := a.blockErr != nil
	runs := 6 + nFix
	if blocked {
		runs = nFix + 1
	}
	a.plan = a.makePlan(runs)
	a.probeSet = &probeSet{a: a, done: map[string]*probeResult{}}
	k := a.opts.LRFactor
	var specs []*probeSpec
	if !blocked {
		specs = append(specs,
			&probeSpec{label: "experiment as written"},
			&probeSpec{label: fmt.Sprintf("learning rate ×%g (%s)", k, fmtLR(a.lr*k)), sets: []string{a.lrSet(a.lr * k)}},
			&probeSpec{label: "permuted labels", permute: true},
			// The lower rate: a too-high rate need not diverge to hurt, and a
			// run that fails at lr may learn at lr/10 (then the data is fine).
			&probeSpec{label: fmt.Sprintf("learning rate ÷10 (%s)", fmtLR(a.lr/10)), sets: []string{a.lrSet(a.lr / 10)}})
	}
	specs = append(specs, a.fixSpecs(a.findings)...)
	res := a.probeSet.runAll(specs)
	if a.ctx.Err() != nil {
		return a.ctx.Err()
	}
	if !blocked {
		a.base, a.lrk, a.perm, a.lrLow = res[0], res[1], res[2], res[3]
		if a.base.err != nil {
			// Fit refused the data although the quick check passed.
			a.blockErr = a.base.err
			a.explainBlock()
			blocked = true
		}
	}
	before := len(a.findings)
	if !blocked {
		a.dynamic()
	}
	// Phase 2: the dynamic findings' counterfactuals.
	a.probeSet.runAll(a.fixSpecs(a.findings[before:]))
	if a.ctx.Err() != nil {
		return a.ctx.Err()
	}
	a.verifyAll()
	a.combine()
	if !blocked {
		a.semantics()
	}
	return a.ctx.Err()
}

// fixSpecs returns the probes that verify the fixes of fs.
func (a *analysis) fixSpecs(fs []*Finding) []*probeSpec {
	var specs []*probeSpec
	for _, f := range fs {
		if f.fix == nil {
			continue
		}
		fx := f.fix
		specs = append(specs, a.fixSpec(fx, 0))
		for i := range fx.extra {
			specs = append(specs, a.fixSpec(fx, i+1))
		}
		if fx.beforeSets != nil && len(fx.beforeSets) > 0 {
			specs = append(specs, &probeSpec{label: "before: " + strings.Join(fx.beforeSets, " "), sets: fx.beforeSets})
		}
		if fx.atK {
			s := a.fixSpec(fx, 0)
			s.sets = append(append([]string{}, s.sets...), a.lrSet(a.lr*a.opts.LRFactor))
			s.label += fmt.Sprintf(" at lr×%g", a.opts.LRFactor)
			specs = append(specs, s)
		}
	}
	return specs
}

// fixSpec is the probe of fix alternative i (0: the fix; i > 0: extra[i-1]
// replaces the sets).
func (a *analysis) fixSpec(fx *fixCandidate, i int) *probeSpec {
	sets := fx.sets
	if i > 0 {
		sets = strings.Fields(fx.extra[i-1])
	}
	label := "fix: " + strings.Join(sets, " ")
	if fx.transform != nil {
		label = "fix: " + fx.name
		if len(sets) > 0 {
			label += " + " + strings.Join(sets, " ")
		}
	}
	return &probeSpec{label: label, sets: sets, transform: fx.transform, tname: fx.name}
}

func (a *analysis) result(s *probeSpec) *probeResult {
	a.probeSet.mu.Lock()
	defer a.probeSet.mu.Unlock()
	return a.probeSet.done[s.key()]
}

// dynamic derives findings from the base, lr×k and permuted-label probes.
func (a *analysis) dynamic() {
	b := a.base
	a.checkDivergence()
	if !b.nonFinite {
		a.checkLRScaling()
		a.checkProgress()
		a.checkLowerLR()
		a.checkActivations()
		a.checkGradients()
		a.checkOverfitting()
		a.checkSignal()
	}
	a.updateImbalance()
	a.checkConstant()
}

// probeMetrics are the numbers a probe is judged by.
func (a *analysis) probeMetrics(p *probeResult) map[string]float64 {
	m := map[string]float64{}
	if p == nil {
		return m
	}
	if p.err != nil {
		return m
	}
	sn := a.task.scoreName()
	if len(p.epochLoss) > 0 {
		m["loss"] = sig(last(p.epochLoss), 5)
		if len(p.epochLoss) > 1 {
			m["epoch1_loss"] = sig(p.epochLoss[0], 5)
		}
	}
	if len(p.valLoss) > 0 {
		m["val_loss"] = sig(last(p.valLoss), 5)
	}
	if len(p.trainScore) > 0 {
		m[sn] = round(last(p.trainScore), 4)
	}
	if len(p.valScore) > 0 {
		m["val_"+sn] = round(last(p.valScore), 4)
	}
	return m
}

func (a *analysis) valScore(p *probeResult) float64 { return valScoreOf(p) }

// valScoreOf is a probe's final validation score (NaN if it failed).
func valScoreOf(p *probeResult) float64 {
	if p == nil || p.err != nil || p.nonFinite {
		return math.NaN()
	}
	return last(p.valScore)
}

// ---- divergence / learning rate too high ----

// How a run diverged, if it did.
type divergenceKind int

const (
	notDiverged        divergenceKind = iota
	divergedNonFinite                 // the loss or the weights became NaN/inf
	divergedLoss                      // the loss rose above divergeFactor× its start, the score at chance
	divergedOvershoot                 // a batch loss above spikeFactor× the start, the score at chance
	divergedClimbsBack                // learning, but the last epoch's loss is far above the best one
)

// divergence reads a probe: its losses, and its final validation score
// against chanceBar (chance plus the noise margin).
func divergence(p *probeResult, score, chanceBar float64) divergenceKind {
	lastLoss := last(p.epochLoss)
	atChance := !(score > chanceBar)
	switch {
	case p.nonFinite:
		return divergedNonFinite
	case finite(lastLoss) && lastLoss > divergeFactor*p.initLoss && atChance:
		return divergedLoss
	case maxOf(p.batchLoss) > spikeFactor*math.Abs(p.initLoss) && atChance:
		return divergedOvershoot
	case len(p.epochLoss) >= 2 && lastLoss > 1.3*minOf(p.epochLoss) && lastLoss > p.epochLoss[0]*0.9:
		return divergedClimbsBack
	}
	return notDiverged
}

func (a *analysis) checkDivergence() {
	b := a.base
	ch := a.chance(b)
	score := a.valScore(b)
	lastLoss := last(b.epochLoss)
	ev := map[string]any{"learning_rate": a.lr, "init_loss": sig(b.initLoss, 4), "final_loss": sig(lastLoss, 4),
		"epoch_losses": sigs(b.epochLoss, 4), "val_" + a.task.scoreName(): round(score, 4), "chance": round(ch, 4)}
	if ur := medianColumn(b.updateRatio); len(ur) > 0 {
		ev["update_weight_ratio"] = sigs(ur, 3)
	}
	var summary string
	// Unscaled inputs or targets make every step large; the scaling findings
	// explain that, so only an outright NaN/inf is reported here then.
	scaled := a.serious(IDInputsNotNormalized) || a.serious(IDTargetsNotNormalized)
	if (scaled || a.staticError()) && !b.nonFinite {
		return
	}
	switch divergence(b, score, ch+a.noise(b.valN, ch)) {
	case divergedNonFinite:
		summary = fmt.Sprintf("Training diverged: %s (learning rate %s).", b.aborted, fmtLR(a.lr))
		if b.aborted == "" {
			summary = fmt.Sprintf("Training diverged: the weights became non-finite (learning rate %s).", fmtLR(a.lr))
		}
		ev["threshold"] = "the loss or the weights become NaN/inf"
		if scaled {
			which := IDInputsNotNormalized
			if a.serious(IDTargetsNotNormalized) {
				which = IDTargetsNotNormalized
			}
			summary += fmt.Sprintf(" The unscaled data (see %s) makes every step far larger than the learning rate suggests; rescaling it is the better fix.", which)
		}
	case divergedLoss:
		summary = fmt.Sprintf("Training diverged: the loss rose from %s at initialisation to %s while the %s stayed at chance (%s).",
			fmtNum(b.initLoss), fmtNum(lastLoss), a.task.scoreLabel(), fmtNum(score))
		ev["threshold"] = fmt.Sprintf("final loss > %g× the initial loss with a score no better than chance", divergeFactor)
	case divergedOvershoot:
		ev["max_batch_loss"] = sig(maxOf(b.batchLoss), 4)
		summary = fmt.Sprintf("The first steps overshoot: a batch loss reached %s (%s at initialisation) and the model ended no better than chance (%s %s).",
			fmtNum(maxOf(b.batchLoss)), fmtNum(b.initLoss), a.task.scoreLabel(), fmtNum(score))
		ev["threshold"] = fmt.Sprintf("a batch loss > %g× the initial loss, then a score no better than chance", spikeFactor)
	case divergedClimbsBack:
		// Unstable but learning: the loss climbs back up over the epochs.
		mn := minOf(b.epochLoss)
		summary = fmt.Sprintf("The training loss climbs back up: from a minimum of %s to %s in the last epoch.", fmtNum(mn), fmtNum(lastLoss))
		ev["threshold"] = "last-epoch loss > 1.3× the lowest epoch loss, confirmed by a better run at lr/10"
		f := &Finding{ID: IDLearningRateTooHigh, Severity: Warning, Summary: summary, Evidence: ev, Why: lrHighWhy,
			Fix: "compile.optimizer.learning_rate: " + fmtLR(a.lr/10), FixSets: []string{a.lrSet(a.lr / 10)}}
		f.fix = &fixCandidate{name: "lower lr", sets: f.FixSets, extra: []string{a.lrSet(a.lr / 100)}, verify: verifyLR, drop: true}
		a.add(f)
		return
	default:
		return
	}
	f := &Finding{ID: IDLearningRateTooHigh, Severity: Error, Summary: summary, Evidence: ev, Why: lrHighWhy,
		Fix: "compile.optimizer.learning_rate: " + fmtLR(a.lr/10), FixSets: []string{a.lrSet(a.lr / 10)}}
	// NaN speaks for itself; a rising loss is a hypothesis the lower
	// learning rate must confirm.
	// A NaN explained by a static error or by unscaled data is dropped
	// too when a lower rate does not help: the other finding is the cause.
	f.fix = &fixCandidate{name: "lower lr", sets: f.FixSets, extra: []string{a.lrSet(a.lr / 100)}, verify: verifyLR,
		drop: !b.nonFinite || a.staticError() || scaled}
	a.add(f)
}

const lrHighWhy = "Each step moves the weights by the learning rate times the gradient. When that step is larger than the " +
	"region where the loss is roughly quadratic, the step overshoots the minimum and lands higher up the other side; the next " +
	"gradient is larger still, so the loss grows until it overflows to inf/NaN (or ReLUs are pushed into permanent silence)."

// ---- learning-rate scaling (the seed's question) ----

// lrScale compares the base probe with the probe at lr×k.
type lrScale struct {
	l1, lk, ratio     float64 // epoch-1 losses and their ratio
	growth            float64 // ratio of the weights' change
	logitRatio        float64 // ratio of the final logit RMS
	accName           string  // which accuracy is compared (see accWords)
	accB, accK, noise float64
	vB, vK            float64 // epoch-1 validation scores
	lnC               float64
	fires             bool
}

// lrScaling reads the two probes of a classifier with C classes. It fires
// in the scale-equivariant regime: the epoch-1 loss and the weights' change
// both ≈ k times larger, the accuracy unchanged within noise, and the loss
// at least marginLossFactor·ln(C). ok is false when the probes cannot say.
func lrScaling(b, kp *probeResult, k float64, classes int) (s lrScale, ok bool) {
	if kp == nil || kp.err != nil || kp.nonFinite || len(b.epochLoss) == 0 || len(kp.epochLoss) == 0 {
		return s, false
	}
	s.lnC = math.Log(float64(max(classes, 2)))
	s.l1, s.lk = b.epochLoss[0], kp.epochLoss[0]
	s.ratio = s.lk / s.l1
	s.growth = sumSlice(kp.dW) / sumSlice(b.dW)
	s.logitRatio = kp.logitRMS / b.logitRMS
	// Accuracy: the epoch-1 running accuracy of the History (what the
	// progress bar showed) when a metric is compiled; else the mean of the
	// end-of-epoch validation accuracies (single snapshots are noisy here:
	// every step moves the weights a lot).
	s.accName = "epoch1_accuracy"
	s.accB, s.accK = first(b.epochAcc, nil), first(kp.epochAcc, nil)
	s.noise = math.Max(minScoreGain, 3*math.Sqrt2*binomialSE(s.accB, b.rows))
	if math.IsNaN(s.accB) || math.IsNaN(s.accK) {
		s.accName = "mean_val_accuracy"
		s.accB, s.accK = mean(b.valScore), mean(kp.valScore)
		s.noise = math.Max(1.5*minScoreGain, math.Max(minScoreGain, 3*math.Sqrt2*binomialSE(s.accB, b.valN)))
	}
	s.vB, s.vK = first(b.valScore, nil), first(kp.valScore, nil)
	near := func(r float64) bool { return r > 0 && math.Abs(math.Log(r)/math.Log(k)-1) <= lrScaleTolerance }
	s.fires = near(s.ratio) && near(s.growth) && math.Abs(s.accK-s.accB) <= s.noise && s.l1 >= marginLossFactor*s.lnC
	return s, true
}

func (a *analysis) checkLRScaling() {
	b, kp := a.base, a.lrk
	t := a.task
	if !t.ce || !t.isClassification() {
		return
	}
	k := a.opts.LRFactor
	s, ok := lrScaling(b, kp, k, t.classes)
	if !ok {
		return
	}
	l1, lk, ratio, growth, logitRatio, lnC := s.l1, s.lk, s.ratio, s.growth, s.logitRatio, s.lnC
	accName, accB, accK, nz, vB, vK := s.accName, s.accB, s.accK, s.noise, s.vB, s.vK
	ev := map[string]any{
		"k": k, "learning_rate": a.lr, "learning_rate_k": a.lr * k,
		"epoch1_loss": sig(l1, 5), "epoch1_loss_k": sig(lk, 5), "loss_ratio": sig(ratio, 4),
		"weight_change_ratio": sig(growth, 4), "logit_rms": sig(b.logitRMS, 4), "logit_rms_k": sig(kp.logitRMS, 4),
		"logit_ratio": sig(logitRatio, 4), accName: round(accB, 4), accName + "_k": round(accK, 4),
		"epoch1_val_accuracy": round(vB, 4), "epoch1_val_accuracy_k": round(vK, 4), "accuracy_noise": round(nz, 4),
		"ln_classes": sig(lnC, 4), "loss_over_ln_classes": sig(l1/lnC, 4),
		"threshold": fmt.Sprintf("loss ratio and weight-change ratio within |ln r/ln k − 1| ≤ %g of k, |Δ accuracy| ≤ max(%g, 3·√2·SE) (epoch-1 running accuracy; else mean validation accuracy, ≥ 0.03), epoch-1 loss ≥ %g·ln(C)",
			lrScaleTolerance, minScoreGain, marginLossFactor),
	}
	if len(b.epochLoss) > 1 && len(kp.epochLoss) > 1 {
		ev["last_epoch_loss"], ev["last_epoch_loss_k"] = sig(last(b.epochLoss), 5), sig(last(kp.epochLoss), 5)
		ev["last_epoch_loss_ratio"] = sig(last(kp.epochLoss)/last(b.epochLoss), 4)
	}
	if !s.fires {
		return
	}
	f := &Finding{ID: IDLossScalesWithLearningRate, Severity: Warning, Evidence: ev}
	f.Summary = fmt.Sprintf("The loss grows with the learning rate: at lr %s the epoch-1 loss is %s, at lr %s it is %s (×%.2f for lr ×%g); "+
		"the weights and logits grow ×%.2f and ×%.2f, while the accuracy does not move (%s %.4f vs %.4f).",
		fmtLR(a.lr), fmtNum(l1), fmtLR(a.lr*k), fmtNum(lk), ratio, k, growth, logitRatio, accWords[accName], accB, accK)
	f.Why = fmt.Sprintf("This run is in the scale-equivariant (margin) regime. Starting from small weights, SGD makes W ≈ lr·Σ gradients. "+
		"The logits are already huge (RMS %s, vs ln(%d) = %.2f for an uninformed model), so softmax is saturated and each sample's "+
		"gradient on the logits is ≈ one-hot (−1 on the true class, +1 on the winning wrong class) whatever the exact values: "+
		"the gradients do not depend on the scale of W. Multiplying lr by %g therefore multiplies every update, W and the logits by ≈ %g, "+
		"and the argmax of the logits — hence every prediction and the accuracy — is unchanged. The loss, computed from the logits "+
		"(logsumexp(z) − z_true ≈ the margin by which a wrong class wins), is a length in logit units, so it is multiplied by ≈ %g too. "+
		"It is not measuring probabilities at all. Normalised inputs and a softmax output keep the logits near 1, where the loss is a "+
		"real log-probability and a larger learning rate simply learns faster.",
		fmtNum(b.logitRMS), t.classes, lnC, k, k, k)
	// The fix: the inputs and output fixes together.
	var sets []string
	var parts []string
	for _, id := range []string{IDInputsNotNormalized, IDSigmoidWithCCE} {
		if g := a.find(id); g != nil && len(g.FixSets) > 0 {
			sets = append(sets, g.FixSets...)
			parts = append(parts, strings.Join(g.FixSets, ", "))
		}
	}
	if len(sets) > 0 {
		f.FixSets = sets
		f.Fix = strings.Join(displaySets(sets), " and ") + " (then the loss is a log-probability near ln(C) at the start and falls faster with a larger lr)"
		f.fix = &fixCandidate{name: "normalise", sets: sets, atK: true, verify: verifyLRScaling}
	} else {
		f.Fix = "normalise the inputs so that the logits start near 0 (standardise each feature), and use a softmax output"
	}
	a.add(f)
}

var accWords = map[string]string{"epoch1_accuracy": "epoch-1 training accuracy", "mean_val_accuracy": "mean validation accuracy over the epochs"}

// ---- progress: too few updates, learning rate too low ----

// progress reads a probe: the fraction of the initial loss the training
// loss lost, and the validation score's gain; progressed when the loss fell
// by progressFraction or the score rose by 0.05.
func progress(p *probeResult) (lossDrop, gain float64, progressed bool) {
	gain = valScoreOf(p) - p.initScore
	lossDrop = (p.initLoss - last(p.epochLoss)) / math.Abs(p.initLoss)
	return lossDrop, gain, lossDrop >= progressFraction || gain >= 0.05
}

// stepSizes reads a probe's steps: the median update/weight ratio, small
// below smallUpdate; big above bigUpdate, or with a batch loss above 3× the
// initial loss, or with dead ReLU layers.
func stepSizes(p *probeResult) (upd float64, small, big bool) {
	upd = median(medianColumn(p.updateRatio))
	dead, _ := unhealthyLayers(p.layerStats)
	big = upd > bigUpdate || maxOf(p.batchLoss) > 3*math.Abs(p.initLoss) || len(dead) > 0
	return upd, upd < smallUpdate, big
}

func (a *analysis) checkProgress() {
	b := a.base
	if a.find(IDLearningRateTooHigh) != nil {
		return
	}
	cfgEpochs := max(a.run.Fit.Epochs-a.run.Fit.InitialEpoch, 1)
	bs := a.plan.BatchSize
	cfgSteps := cfgEpochs * ((a.trainX.Rows() + bs - 1) / bs)
	ch := a.chance(b)
	vs := a.valScore(b)
	lossDrop, _, progressed := progress(b)
	ev := map[string]any{"configured_steps": cfgSteps, "epochs": cfgEpochs, "batch_size": bs, "training_rows": a.trainX.Rows(),
		"init_loss": sig(b.initLoss, 4), "final_loss": sig(last(b.epochLoss), 4), "loss_drop_fraction": sig(lossDrop, 3),
		"init_" + a.task.scoreName(): round(b.initScore, 4), "val_" + a.task.scoreName(): round(vs, 4), "chance": round(ch, 4),
		"learning_rate": a.lr, "probe_steps": b.steps}
	if ur := medianColumn(b.updateRatio); len(ur) > 0 {
		ev["update_weight_ratio"] = sigs(ur, 3)
	}
	if cfgSteps < fewUpdates {
		ev["threshold"] = fmt.Sprintf("fewer than %d optimizer steps in the whole training, confirmed by a better run with more steps", fewUpdates)
		var sets []string
		if bs > 32 && a.trainX.Rows() > 32 {
			sets = []string{"fit.batch_size=32"}
		} else {
			e := int(math.Ceil(float64(fewUpdates) * float64(cfgEpochs) / float64(max(cfgSteps, 1))))
			sets = []string{fmt.Sprintf("fit.epochs=%d", e)}
		}
		f := &Finding{ID: IDTooFewUpdates, Severity: Warning, Evidence: ev,
			Summary: fmt.Sprintf("The whole training makes only %d optimizer updates (%d epochs × %d steps of batch %d).",
				cfgSteps, cfgEpochs, cfgSteps/cfgEpochs, bs),
			Why: "Each step moves the weights a little; a few dozen steps cannot get far from the initial weights, whatever the data. " +
				"The number of updates is epochs × ceil(rows / batch_size), so a very large batch (or very few epochs) leaves the model undertrained.",
			Fix: strings.Join(displaySets(sets), ", "), FixSets: sets}
		f.fix = &fixCandidate{name: "more updates", sets: sets, verify: verifyBetterScore, drop: true}
		a.add(f)
		// Few steps can also be tiny ones: the learning-rate hypothesis is
		// tested too, and the probes decide.
		ev = maps.Clone(ev)
	}
	if b.steps < 50 {
		return
	}
	if progressed || a.staticError() {
		return // a static error (labels, output, loss) already explains it
	}
	upd, smallSteps, bigSteps := stepSizes(b)
	ev["median_update_weight_ratio"] = sig(upd, 3)
	ev["threshold"] = fmt.Sprintf("loss fell < %g%% and the score rose < 0.05 over the probe, the median update/weight ratio is < %g, and lr×10, ×100 or ×1000 does clearly better", 100*progressFraction, smallUpdate)
	if smallSteps {
		a.addTooLow(ev)
	}
	// No progress can also mean steps so large that the model collapsed
	// (dead ReLUs, saturated outputs): the counterfactual decides.
	if bigSteps && a.find(IDLearningRateTooHigh) == nil {
		ev2 := map[string]any{}
		for k, v := range ev {
			ev2[k] = v
		}
		ev2["max_batch_loss"] = sig(maxOf(b.batchLoss), 4)
		ev2["threshold"] = fmt.Sprintf("loss fell < %g%% and the score rose < 0.05 over the probe, with large steps (update/weight ratio > %g, a batch loss > 3× the initial loss, or dead ReLUs), and lr/10 (or /100) does clearly better", 100*progressFraction, bigUpdate)
		g := &Finding{ID: IDLearningRateTooHigh, Severity: Error, Evidence: ev2,
			Summary: fmt.Sprintf("Training makes no progress at learning rate %s (loss %s → %s in %d steps, largest batch loss %s), and a smaller learning rate fixes it: the steps are too large.",
				fmtLR(a.lr), fmtNum(b.initLoss), fmtNum(last(b.epochLoss)), b.steps, fmtNum(maxOf(b.batchLoss))),
			Why: lrHighWhy, Fix: "compile.optimizer.learning_rate: " + fmtLR(a.lr/10), FixSets: []string{a.lrSet(a.lr / 10)}}
		g.fix = &fixCandidate{name: "lower lr", sets: g.FixSets, extra: []string{a.lrSet(a.lr / 100)}, verify: verifyLR, drop: true}
		a.add(g)
	}
}

// unstableLoss reads a probe's steps: the loss is unstable when the last
// epoch's batch losses swing (their SD above half their mean), a batch
// loss exceeds 3× the initial loss, or the epoch loss climbs back up.
func unstableLoss(p *probeResult) bool {
	steps := len(p.batchLoss)
	if steps == 0 || len(p.epochLoss) == 0 {
		return false
	}
	per := max(1, steps/len(p.epochLoss))
	tail := p.batchLoss[max(0, steps-per):]
	m := mean(tail)
	var sq float64
	for _, v := range tail {
		sq += (v - m) * (v - m)
	}
	sd := math.Sqrt(sq / float64(len(tail)))
	climbs := len(p.epochLoss) >= 2 && last(p.epochLoss) > 1.3*minOf(p.epochLoss)
	return len(tail) >= 4 && sd > 0.5*math.Abs(m) || maxOf(p.batchLoss) > 3*math.Abs(p.initLoss) || climbs
}

// lowerLRBetter compares the run at lr with the run at lr/10: the lower
// rate is better when its validation score is higher by more than noise.
func lowerLRBetter(b, low *probeResult, noise float64) bool {
	if low == nil || low.err != nil || low.nonFinite || b.nonFinite {
		return false
	}
	return valScoreOf(low)-valScoreOf(b) >= noise
}

// checkLowerLR: a learning rate too high to learn well need not diverge;
// the run at lr/10 (and lr/100 when the loss is unstable) shows it.
func (a *analysis) checkLowerLR() {
	b, low := a.base, a.lrLow
	if a.find(IDLearningRateTooHigh) != nil || a.find(IDLearningRateTooLow) != nil || low == nil || a.staticError() ||
		a.serious(IDInputsNotNormalized) || a.serious(IDTargetsNotNormalized) {
		return
	}
	nz := a.diffNoise(b, low)
	better, unstable := lowerLRBetter(b, low, nz), unstableLoss(b)
	if !better && !unstable {
		return
	}
	sn := a.task.scoreName()
	ev := map[string]any{"learning_rate": a.lr, "val_" + sn: round(a.valScore(b), 4), "val_" + sn + "_lr_div10": round(a.valScore(low), 4),
		"noise": round(nz, 4), "unstable_loss": unstable, "epoch_losses": sigs(b.epochLoss, 4), "epoch_losses_lr_div10": sigs(low.epochLoss, 4),
		"threshold": "the run at lr/10 (or lr/100 when the loss is unstable) reaches a validation score higher by more than the paired noise margin (R²: 0.05)"}
	f := &Finding{ID: IDLearningRateTooHigh, Severity: Warning, Evidence: ev, Why: lrHighWhy,
		Summary: fmt.Sprintf("The learning rate %s is too high to learn well: the run ends at validation %s %s, while at %s it reaches %s.",
			fmtLR(a.lr), a.task.scoreLabel(), fmtNum(round(a.valScore(b), 4)), fmtLR(a.lr/10), fmtNum(round(a.valScore(low), 4))),
		Fix: "compile.optimizer.learning_rate: " + fmtLR(a.lr/10), FixSets: []string{a.lrSet(a.lr / 10)}}
	if unstable {
		f.Summary = fmt.Sprintf("The loss is unstable at learning rate %s (it swings from batch to batch or climbs back up): validation %s %s, at %s %s.",
			fmtLR(a.lr), a.task.scoreLabel(), fmtNum(round(a.valScore(b), 4)), fmtLR(a.lr/10), fmtNum(round(a.valScore(low), 4)))
	}
	f.fix = &fixCandidate{name: "lower lr", sets: f.FixSets, verify: verifyLR, drop: true}
	if unstable {
		f.fix.extra = []string{a.lrSet(a.lr / 100)}
	}
	a.add(f)
}

func (a *analysis) addTooLow(ev map[string]any) {
	b := a.base
	f := &Finding{ID: IDLearningRateTooLow, Severity: Warning, Evidence: ev,
		Summary: fmt.Sprintf("Training makes almost no progress at learning rate %s: the loss went from %s to %s in %d steps.",
			fmtLR(a.lr), fmtNum(b.initLoss), fmtNum(last(b.epochLoss)), b.steps),
		Why: "Each update is the learning rate times the gradient; when it is tiny compared with the weights (see update_weight_ratio), " +
			"the model needs thousands of times more steps to get anywhere.",
		Fix: "compile.optimizer.learning_rate: " + fmtLR(a.lr*10), FixSets: []string{a.lrSet(a.lr * 10)}}
	f.fix = &fixCandidate{name: "raise lr", sets: f.FixSets, extra: []string{a.lrSet(a.lr * 100), a.lrSet(a.lr * 1000)}, verify: verifyLR, drop: true}
	a.add(f)
}

// staticError reports whether a static check found an error in the labels,
// the output layer or the loss.
func (a *analysis) staticError() bool {
	for _, id := range []string{IDLabelEncodingMismatch, IDSingleUnitSoftmax, IDLogitsWithoutFromLogits, IDDoubleSoftmax,
		IDOutputRangeMismatch, IDBinaryCrossentropyMulticlass} {
		if f := a.find(id); f != nil && f.Severity == Error {
			return true
		}
	}
	return false
}

// ---- activations ----

// unhealthyLayers returns the ReLU layers with more than deadLimit of their
// units dead and the sigmoid/tanh layers with more than saturationLimit of
// their values saturated.
func unhealthyLayers(stats []layerStat) (dead, sat []layerStat) {
	for _, s := range stats {
		if s.Act == "relu" && s.Dead > deadLimit {
			dead = append(dead, s)
		}
		if (s.Act == "sigmoid" || s.Act == "tanh") && s.Saturated > saturationLimit {
			sat = append(sat, s)
		}
	}
	return dead, sat
}

func (a *analysis) checkActivations() {
	b := a.base
	initDead := map[string]float64{}
	initSat := map[string]float64{}
	for _, s := range b.initLayers {
		initDead[s.Layer], initSat[s.Layer] = s.Dead, s.Saturated
	}
	dead, sat := unhealthyLayers(b.layerStats)
	// The cause decides the fix: unscaled inputs first, then the learning rate.
	causeSets := func() ([]string, string) {
		if g := a.find(IDInputsNotNormalized); g != nil && len(g.FixSets) > 0 {
			return g.FixSets, "normalise the inputs"
		}
		if g := a.find(IDInputsNotNormalized); g != nil && g.fix != nil {
			return nil, "standardise the inputs"
		}
		return []string{a.lrSet(a.lr / 10)}, "lower the learning rate"
	}
	if len(dead) > 0 {
		s := dead[0]
		ev := map[string]any{"layers": dead, "dead_fraction_at_init": sig(initDead[s.Layer], 3), "rows_checked": min(512, b.valN),
			"threshold": fmt.Sprintf("> %g of a ReLU layer's units output 0 for every probe row after training", deadLimit)}
		sets, how := causeSets()
		f := &Finding{ID: IDDeadReLU, Severity: Warning, Evidence: ev,
			Summary: fmt.Sprintf("%.0f%% of the ReLU units in layer %q are dead after the probe: they output 0 for every input (%.0f%% at initialisation).",
				100*s.Dead, s.Layer, 100*initDead[s.Layer]),
			Why: "A ReLU unit whose input is negative for every sample has zero gradient, so no update can revive it. Large steps (a high " +
				"learning rate, or large inputs that make large gradients) push a unit's bias and weights far negative in one update, and it never recovers; " +
				"the layer then has fewer units than it seems.",
			Fix: how + ": " + strings.Join(displaySets(sets), ", "), FixSets: sets}
		if sets == nil {
			f.Fix = how + " (see inputs-not-normalized)"
		}
		f.fix = &fixCandidate{name: "revive relu", sets: sets, verify: verifyDead, downgrade: true}
		if sets == nil {
			f.fix.transform, f.fix.name = standardiseX, "standardise features"
		}
		a.add(f)
	}
	if len(sat) > 0 {
		s := sat[0]
		ev := map[string]any{"layers": sat, "saturated_fraction_at_init": sig(initSat[s.Layer], 3), "rows_checked": min(512, b.valN),
			"threshold": fmt.Sprintf("> %g of a sigmoid/tanh layer's outputs within 1%% of its bounds", saturationLimit)}
		sets, how := causeSets()
		f := &Finding{ID: IDSaturatedActivations, Severity: Warning, Evidence: ev,
			Summary: fmt.Sprintf("%.0f%% of the %s outputs of layer %q are saturated (within 1%% of their bounds) after the probe (%.0f%% at initialisation).",
				100*s.Saturated, s.Act, s.Layer, 100*initSat[s.Layer]),
			Why: fmt.Sprintf("Where %s is flat its slope is ≈ 0, so almost no gradient flows back through a saturated unit and the layers below it stop learning. "+
				"Saturation comes from pre-activations that are too large: unscaled inputs, or weights blown up by large steps.", s.Act),
			Fix: how + ": " + strings.Join(displaySets(sets), ", "), FixSets: sets}
		if sets == nil {
			f.Fix = how + " (see inputs-not-normalized)"
		}
		f.fix = &fixCandidate{name: "desaturate", sets: sets, verify: verifySaturation, downgrade: true}
		if sets == nil {
			f.fix.transform, f.fix.name = standardiseX, "standardise features"
		}
		a.add(f)
	}
}

// ---- gradients ----

// vanishingGradient reads a recording's gradient statistics: the median,
// over the sampled steps, of the first kernel's gradient RMS over the last
// one's, and each kernel's median gradient RMS. It fires below
// vanishingRatio, with at least 3 kernels.
func vanishingGradient(rec *recording) (ratio float64, cols []float64, samples int, fires bool) {
	if len(rec.kernelNames) < 3 || len(rec.gradRMS) == 0 {
		return math.NaN(), nil, 0, false
	}
	var ratios []float64
	for _, g := range rec.gradRMS {
		if g[len(g)-1] > 0 {
			ratios = append(ratios, g[0]/g[len(g)-1])
		}
	}
	ratio = median(ratios)
	return ratio, medianColumn(rec.gradRMS), len(ratios), ratio < vanishingRatio
}

func (a *analysis) checkGradients() {
	b := a.base
	r, cols, samples, fires := vanishingGradient(&b.recording)
	if !fires {
		return
	}
	var sets []string
	var hidden []string
	weighted := "Dense"
	for i, l := range a.layers {
		conv := l.class == "Conv2D"
		if conv {
			weighted = "Dense/Conv2D" // the kernels include Conv2D's
		}
		if i < len(a.layers)-1 && (l.dense != nil || conv) && (l.act == "sigmoid" || l.act == "tanh") {
			sets = append(sets, l.key("activation")+"=relu")
			hidden = append(hidden, l.name)
		}
	}
	ev := map[string]any{"layers": b.kernelNames, "gradient_rms": sigs(cols, 3), "first_last_ratio": sig(r, 3), "samples": samples,
		"threshold": fmt.Sprintf("median first/last layer gradient RMS < %g over the probe's steps, with ≥ 3 %s layers", vanishingRatio, weighted)}
	f := &Finding{ID: IDVanishingGradient, Severity: Warning, Evidence: ev,
		Summary: fmt.Sprintf("The gradient vanishes on its way down: the first layer's gradients are %s× the last layer's (RMS %s vs %s).",
			fmtNum(r), fmtNum(cols[0]), fmtNum(cols[len(cols)-1])),
		Why: "Backpropagation multiplies the gradient by each layer's weights and activation slope. The slope of sigmoid is at most 0.25 " +
			"(tanh's is below 1 away from 0), so through several such layers the gradient shrinks geometrically and the first layers barely learn.",
	}
	if len(sets) > 0 {
		f.FixSets = sets
		f.Fix = strings.Join(displaySets(sets), ", ") + " (relu's slope is 1 where it is active)"
		f.fix = &fixCandidate{name: "relu hidden layers", sets: sets, verify: verifyGradients, downgrade: true}
	} else {
		f.Fix = "use fewer layers, or relu hidden activations"
	}
	a.add(f)
}

// ---- signal: real vs permuted labels ----

// noSignal compares the base probe with the permuted-labels probe p, on
// their best epochs (overfitting later must not hide early signal). It
// fires when the real labels do no better than the permuted ones (within
// pairNoise) or than chance (within noise), while the model fits its
// training rows beyond that, so the run does say something about the
// labels (regression: a training R² above 0.1).
//
// low is the run at a lower learning rate (nil if none): when it learns
// (its best validation score beats chance by the noise margin; R² > 0.1),
// the labels are learnable and the failure is the optimisation's, so
// noSignal does not fire.
func noSignal(b, p, low *probeResult, chance, noise, pairNoise float64, regression bool) bool {
	vB, vP := maxOf(b.valScore), maxOf(p.valScore)
	trainS := last(b.trainScore)
	memorises := trainS-vB > noise && trainS > chance+noise
	if regression {
		memorises = trainS > 0.1
	}
	if low != nil && low.err == nil && !low.nonFinite {
		vL := maxOf(low.valScore)
		if regression && vL > 0.1 || !regression && vL > chance+noise {
			return false
		}
	}
	return vB-vP <= pairNoise && vB <= chance+noise && memorises
}

func (a *analysis) checkSignal() {
	b, p := a.base, a.perm
	if p == nil || p.err != nil || p.nonFinite || a.task.kind == kindMultilabel {
		return
	}
	vB, vP := maxOf(b.valScore), maxOf(p.valScore)
	ch := a.chance(b)
	nz := a.noise(b.valN, vB)
	trainS := last(b.trainScore)
	ev := map[string]any{"best_val_" + a.task.scoreName(): round(vB, 4), "best_val_" + a.task.scoreName() + "_permuted": round(vP, 4),
		"chance": round(ch, 4), "noise": round(nz, 4), "train_" + a.task.scoreName(): round(trainS, 4),
		"threshold": "validation score with the real labels within noise (max(0.02, 3·SE); R²: 0.05) of both chance and the permuted-label run, while the model fits its training rows beyond that, and the run at lr/10 does not learn either"}
	if low := a.lrLow; low != nil && low.err == nil && !low.nonFinite {
		ev["best_val_"+a.task.scoreName()+"_lr_div10"] = round(maxOf(low.valScore), 4)
	}
	if !noSignal(b, p, a.lrLow, ch, nz, a.diffNoise(b, p), a.task.kind == kindRegression) {
		return
	}
	a.remove(IDOverfitting) // memorising noise is the symptom, not the cause
	a.add(&Finding{ID: IDLabelsNotLearnable, Severity: Error, Evidence: ev,
		Summary: fmt.Sprintf("The model learns nothing that carries over to the validation data: best validation %s %s with the real labels, %s with randomly permuted labels, chance is %s.",
			a.task.scoreLabel(), fmtNum(vB), fmtNum(vP), fmtNum(ch)),
		Why: "When training on shuffled labels does as well as training on the real ones, the features carry no (learnable) information about " +
			"the labels: the model can only memorise its training rows. The usual cause is x and y out of step (sorted or shuffled separately, " +
			"or taken from different files), or labels that are not a function of the inputs.",
		Fix: "check that x and y are aligned row by row (same order, same split), and that the labels can be predicted from the features"})
}

// ---- overfitting ----

// overfitFit is what overfitting reads from a probe.
type overfitFit struct {
	best   int     // the epoch (0-based) of lowest validation loss
	rising int     // epochs at the end whose validation loss is above the minimum beyond noise
	noise  float64 // the margin at the last epoch
	gap    float64 // final train − validation score
	fires  bool
}

// overfitting reads a probe's epochs: the epoch of lowest validation loss,
// and how many of the last epochs have a validation loss above that
// minimum by more than its noise, 2·√(SE_e² + SE_best²) of the per-row
// losses (at least 2% of the minimum). It fires when the last
// overfitEpochs epochs all are, while the training loss kept falling.
func overfitting(p *probeResult) overfitFit {
	o := overfitFit{gap: math.NaN()}
	vl := p.valLoss
	if len(vl) < overfitEpochs+1 || len(p.epochLoss) != len(vl) {
		return o
	}
	for i, v := range vl {
		if v < vl[o.best] {
			o.best = i
		}
	}
	se := func(i int) float64 {
		if i < len(p.valLossSE) && finite(p.valLossSE[i]) {
			return p.valLossSE[i]
		}
		return 0
	}
	margin := func(i int) float64 {
		return math.Max(2*math.Hypot(se(i), se(o.best)), overfitMinRise*vl[o.best])
	}
	for i := len(vl) - 1; i > o.best && vl[i]-vl[o.best] > margin(i); i-- {
		o.rising++
	}
	o.noise = margin(len(vl) - 1)
	o.gap = last(p.trainScore) - last(p.valScore) // accuracy or R²
	trainFalls := last(p.epochLoss) < p.epochLoss[o.best]
	o.fires = o.rising >= overfitEpochs && trainFalls
	return o
}

func (a *analysis) checkOverfitting() {
	// In the margin regime (loss-scales-with-learning-rate) the loss is a
	// length in logit units that grows with the weights while training
	// goes on, whatever the model does on new data: a rising validation
	// loss there is that growth, not the model fitting its training rows'
	// noise. (The question's program, a 7850-weight linear model on 60000
	// rows, showed it: validation loss 204 at epoch 2, 233 at epoch 5, in
	// a probe shortened to 5 epochs.)
	if a.find(IDLossScalesWithLearningRate) != nil {
		return
	}
	b := a.base
	o := overfitting(b)
	if !o.fires {
		return
	}
	best := o.best
	vl := b.valLoss
	lastV := last(vl)
	sn := a.task.scoreName()
	ev := map[string]any{"val_loss": sigs(vl, 4), "loss": sigs(b.epochLoss, 4), "best_epoch": best + 1,
		"val_loss_noise": sig(o.noise, 3), "rising_epochs": o.rising,
		"train_" + sn: round(last(b.trainScore), 4), "val_" + sn: round(last(b.valScore), 4), "gap": round(o.gap, 4),
		"threshold": fmt.Sprintf("validation loss above its minimum by more than its noise (2·√(SE²+SE_min²) of the per-row losses, ≥ %g×) for the last %d epochs while the training loss falls, "+
			"and stopping at the best epoch confirmed (lower validation loss, %s not lower beyond the noise margin); else a note", overfitMinRise, overfitEpochs, sn)}
	f := &Finding{ID: IDOverfitting, Severity: Warning, Evidence: ev,
		Summary: fmt.Sprintf("The model overfits: validation loss is lowest at epoch %d (%s) and rises to %s by epoch %d (beyond its noise %s for the last %d epochs), while the training loss keeps falling; train %s %s vs validation %s.",
			best+1, fmtNum(vl[best]), fmtNum(lastV), len(vl), fmtNum(sig(o.noise, 2)), o.rising, a.task.scoreLabel(), fmtNum(last(b.trainScore)), fmtNum(last(b.valScore))),
		Why: "Once the model has learned what generalises, further epochs fit the noise of the training rows: training loss keeps " +
			"falling, validation loss turns up. The model has more capacity than the data can constrain.",
		Fix:     fmt.Sprintf("fit.epochs: %d (stop where validation loss is lowest), or use more data, fewer units, or Dropout", best+1),
		FixSets: []string{fmt.Sprintf("fit.epochs=%d", best+1)}}
	// Verified from the same probe: training to epoch best+1 is the first
	// best+1 epochs of this run (same seed, same data).
	bS, aS := last(b.valScore), b.valScore[best]
	nz := a.noise(b.valN, bS)
	v := &Verified{Probe: a.plan.describe() + fmt.Sprintf(", seed %d; fit.epochs=%d is the start of this same run", a.exp.Seed, best+1),
		Criterion: fmt.Sprintf("the validation loss at the stopping epoch is lower beyond its noise and the validation %s is not lower by more than the noise margin", a.task.scoreLabel()),
		Before:    map[string]float64{"val_loss": sig(lastV, 4), "val_" + sn: round(bS, 4)},
		After:     map[string]float64{"val_loss": sig(vl[best], 4), "val_" + sn: round(aS, 4)}}
	v.Confirmed = lastV-vl[best] > o.noise && aS >= bS-nz
	v.Note = fmt.Sprintf("stopping at epoch %d gives validation loss %s instead of %s, validation %s %s instead of %s",
		best+1, fmtNum(vl[best]), fmtNum(lastV), a.task.scoreLabel(), fmtNum(aS), fmtNum(bS))
	if !v.Confirmed {
		v.Note += fmt.Sprintf(": the %s would drop, so the rising loss is over-confidence on a few rows, not lost generalisation", a.task.scoreLabel())
		f.Severity = Info
	}
	f.Verified = v
	a.add(f)
}

// updateImbalance sets the severity of class-imbalance from the base
// probe: a warning when the probe model finds less than half of the
// minority class (its fix, class_weight: balanced, must then raise the
// balanced accuracy), a note when it finds the rare class.
func (a *analysis) updateImbalance() {
	f := a.find(IDClassImbalance)
	if f == nil || a.base == nil || a.base.recall == nil {
		return
	}
	mn := f.Evidence["minority_class"].(int)
	rec, ok := a.base.recall[mn]
	f.Evidence["minority_recall"] = round(rec, 4)
	f.Evidence["balanced_accuracy"] = round(balanced(a.base.recall), 4)
	f.Evidence["recall_by_class"] = recallEvidence(a.base.recall)
	if !ok || rec >= 0.5 {
		f.setSeverity(Info, fmt.Sprintf("the probe model finds the rare class (recall %.2f)", rec))
		f.Summary += fmt.Sprintf(" The probe still finds the rare class (recall %.2f), so this is not hurting here.", rec)
		f.fix = nil
		return
	}
	f.setSeverity(Warning, fmt.Sprintf("the probe model finds only %.0f%% of the rare class", 100*rec))
	f.Summary += fmt.Sprintf(" The probe model finds only %.0f%% of class %d.", 100*rec, mn)
}

func recallEvidence(rec map[int]float64) map[string]float64 {
	out := map[string]float64{}
	for c, v := range rec {
		out[strconv.Itoa(c)] = round(v, 4)
	}
	return out
}

// constantLimit: a classifier that gives at least this share of the
// validation rows the same class predicts a constant.
const constantLimit = 0.99

// constantPredictor reads a probe: it fires when at least constantLimit of
// the validation rows get the same class while the labels hold at least
// two classes, so the accuracy is that class's share.
func constantPredictor(p *probeResult) bool {
	return p != nil && len(p.recall) >= 2 && p.predShare >= constantLimit
}

func (a *analysis) checkConstant() {
	b := a.base
	t := a.task
	if t.kind != kindBinary && t.kind != kindMulticlass || !constantPredictor(b) {
		return
	}
	ch := a.chance(b)
	ev := map[string]any{"predicted_class": b.predClass, "predicted_share": round(b.predShare, 4),
		"recall_by_class": recallEvidence(b.recall), "balanced_accuracy": round(balanced(b.recall), 4),
		"val_" + t.scoreName(): round(a.valScore(b), 4), "majority_share": round(ch, 4),
		"threshold": fmt.Sprintf("≥ %g of the validation rows predicted as one class, with ≥ 2 classes in the labels (a note when another finding explains it)", constantLimit)}
	f := &Finding{ID: IDConstantPredictions, Severity: Warning, Evidence: ev,
		Summary: fmt.Sprintf("The trained model predicts class %d for %.0f%% of the validation rows: its %s %s is the share of that class (majority share %s), balanced accuracy %s.",
			b.predClass, 100*b.predShare, t.scoreLabel(), fmtNum(round(a.valScore(b), 4)), fmtNum(round(ch, 4)), fmtNum(round(balanced(b.recall), 4))),
		Why: "A model that answers the same class for every input has learned only the class frequencies. With imbalanced classes this is " +
			"the cheapest way to lower the average loss; on balanced data it means training collapsed (too large steps, dead units, a broken output layer).",
		Fix: "see the other findings for the cause"}
	if g := a.find(IDClassImbalance); g != nil {
		f.Fix = "fit.class_weight: balanced (every class carries the same total weight in the loss); judge the model by balanced accuracy"
		f.FixSets = []string{"fit.class_weight=balanced"}
		f.fix = &fixCandidate{name: "class weights", sets: f.FixSets, verify: verifyBalanced}
		ev["minority_class"] = g.Evidence["minority_class"]
	}
	a.add(f)
}

func balanced(rec map[int]float64) float64 {
	if len(rec) == 0 {
		return math.NaN()
	}
	var s float64
	for _, v := range rec {
		s += v
	}
	return s / float64(len(rec))
}

// ---- helpers ----

func mean(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// first returns v[0], or alt[0] when v is empty (NaN if both are).
func first(v, alt []float64) float64 {
	if len(v) > 0 {
		return v[0]
	}
	if len(alt) > 0 {
		return alt[0]
	}
	return math.NaN()
}

func sumSlice(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x * x
	}
	return math.Sqrt(s)
}

func maxOf(v []float64) float64 {
	m := math.Inf(-1)
	for _, x := range v {
		if finite(x) && x > m {
			m = x
		}
	}
	return m
}

func minOf(v []float64) float64 {
	m := math.Inf(1)
	for _, x := range v {
		if x < m {
			m = x
		}
	}
	return m
}

func sigs(v []float64, n int) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = sig(x, n)
	}
	return out
}

// medianColumn returns the median of each column of rows.
func medianColumn(rows [][]float64) []float64 {
	if len(rows) == 0 {
		return nil
	}
	w := len(rows[0])
	out := make([]float64, w)
	for j := 0; j < w; j++ {
		var col []float64
		for _, r := range rows {
			if j < len(r) && finite(r[j]) {
				col = append(col, r[j])
			}
		}
		sort.Float64s(col)
		out[j] = median(col)
	}
	return out
}

// displaySets turns "a.b=c" into "a.b: c" for messages.
func displaySets(sets []string) []string {
	out := make([]string, len(sets))
	for i, s := range sets {
		k, v, _ := strings.Cut(s, "=")
		out[i] = k + ": " + v
	}
	return out
}
