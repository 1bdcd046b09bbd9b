package explain

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/data"
)

// ---- data transforms (fixes an experiment file cannot express) ----

func f32Copy(a *data.Array) []float32 { return rowsF32(a, allRows(a.Rows())) }

func withShape(v []float32, like *data.Array) *data.Array {
	return data.NewFloat32(v, append([]int{like.Rows()}, like.Shape[1:]...)...)
}

// standardiseX standardises every feature with the probe's training statistics.
func standardiseX(pd *probeData) *probeData {
	x := f32Copy(pd.x)
	w := pd.x.RowLen()
	n := pd.x.Rows()
	mean := make([]float64, w)
	sq := make([]float64, w)
	for r := 0; r < n; r++ {
		for j, v := range x[r*w : (r+1)*w] {
			mean[j] += float64(v)
			sq[j] += float64(v) * float64(v)
		}
	}
	sd := make([]float64, w)
	for j := range mean {
		mean[j] /= float64(n)
		sd[j] = math.Sqrt(math.Max(sq[j]/float64(n)-mean[j]*mean[j], 0))
		if sd[j] == 0 {
			sd[j] = 1
		}
	}
	apply := func(v []float32) {
		for i := range v {
			j := i % w
			v[i] = float32((float64(v[i]) - mean[j]) / sd[j])
		}
	}
	apply(x)
	out := &probeData{x: withShape(x, pd.x), y: pd.y, valIdx: pd.valIdx}
	if pd.val != nil {
		vx := f32Copy(pd.val.X)
		apply(vx)
		out.val = &kiln.XY{X: withShape(vx, pd.val.X), Y: pd.val.Y}
	}
	return out
}

// affineY maps the targets y → s·y + b (training and validation).
func affineY(pd *probeData, s, b float64) *probeData {
	f := func(a *data.Array) *data.Array {
		v := f32Copy(a)
		for i := range v {
			v[i] = float32(float64(v[i])*s + b)
		}
		return withShape(v, a)
	}
	out := &probeData{x: pd.x, y: f(pd.y), valIdx: pd.valIdx}
	if pd.val != nil {
		out.val = &kiln.XY{X: pd.val.X, Y: f(pd.val.Y)}
	}
	return out
}

// scaleValX multiplies the validation features by s.
func scaleValX(pd *probeData, s float64) *probeData {
	if pd.val == nil {
		return pd
	}
	v := f32Copy(pd.val.X)
	for i := range v {
		v[i] = float32(float64(v[i]) * s)
	}
	out := *pd
	out.val = &kiln.XY{X: withShape(v, pd.val.X), Y: pd.val.Y}
	return &out
}

// dedupVal drops validation rows identical to a training row.
func dedupVal(pd *probeData) *probeData {
	if pd.val == nil {
		return pd
	}
	train := map[uint64]bool{}
	for _, h := range hashRows(pd.x) {
		train[h] = true
	}
	var keep []int
	for i, h := range hashRows(pd.val.X) {
		if !train[h] {
			keep = append(keep, i)
		}
	}
	if len(keep) == 0 {
		return pd
	}
	out := *pd
	out.val = &kiln.XY{X: takeRows(pd.val.X, keep), Y: takeRows(pd.val.Y, keep)}
	return &out
}

// ---- verification ----

// verifyAll runs each finding's verify function on its probes, then drops
// hypotheses the counterfactual did not confirm and symptoms explained by a
// root cause.
func (a *analysis) verifyAll() {
	var keep []*Finding
	for _, f := range a.findings {
		fx := f.fix
		if fx == nil || fx.verify == nil {
			keep = append(keep, f)
			continue
		}
		before := a.base
		if len(fx.beforeSets) > 0 {
			before = a.result(&probeSpec{sets: fx.beforeSets})
		}
		after := a.result(a.fixSpec(fx, 0))
		if after == nil {
			keep = append(keep, f)
			continue
		}
		v := fx.verify(a, f, before, after)
		f.Verified = v
		if a.inconclusive(v, after) {
			// The probe could not have shown it: say so, keep the finding as a note.
			keep = append(keep, f)
			if f.Severity != Info && !staticFact(f.ID) {
				f.setSeverity(Info, "the shortened probes cannot show whether fixing it helps (inconclusive)")
				f.Summary += " The probes were shortened, so whether fixing it helps is inconclusive here."
			}
			continue
		}
		if !v.Confirmed && fx.drop {
			continue
		}
		keep = append(keep, f)
		if !v.Confirmed && fx.downgrade && f.Severity != Info {
			f.severityWas = f.Severity
			f.setSeverity(Info, "fixing it changed nothing beyond the noise margin in the probe")
			f.Summary += downgradeNote
		}
		if f.ID == IDInputsNotNormalized && v.Confirmed && before != nil && before.err == nil {
			if before.nonFinite || a.valScore(after)-a.valScore(before) >= a.diffNoise(before, after) ||
				a.serious(IDLossScalesWithLearningRate) || a.serious(IDDeadReLU) || a.serious(IDSaturatedActivations) {
				f.setSeverity(Error, "fixing it changed the run beyond the noise margin (a better score, no divergence, or the loss-scale, dead-ReLU or saturation finding it causes)")
			}
		}
	}
	a.findings = keep
	// Both learning-rate directions confirmed (rare): keep the better one.
	if lo, hi := a.find(IDLearningRateTooLow), a.find(IDLearningRateTooHigh); lo != nil && hi != nil && lo.Verified != nil && hi.Verified != nil {
		drop := IDLearningRateTooLow
		if lo.Verified.After["val_"+a.task.scoreName()] > hi.Verified.After["val_"+a.task.scoreName()] {
			drop = IDLearningRateTooHigh
		}
		a.remove(drop)
	}
	a.suppressSymptoms()
	if f := a.find(IDInputsNotNormalized); f != nil && a.base != nil && a.base.err == nil {
		f.Evidence["init_loss"] = sig(a.base.initLoss, 4)
		f.Evidence["init_logit_rms"] = sig(a.base.initLogitRMS, 4)
		if a.task.isClassification() && a.task.ce {
			lnC := math.Log(float64(a.task.classes))
			f.Evidence["ln_classes"] = sig(lnC, 4)
			if a.base.initLoss > marginLossFactor*lnC {
				f.Summary += fmt.Sprintf(" Before any training the loss is already %s, where small initial logits would give ln(%d) = %.2f: the logits start at RMS %s.",
					fmtNum(a.base.initLoss), a.task.classes, lnC, fmtNum(a.base.initLogitRMS))
			}
		}
	}
}

// inconclusive marks v inconclusive when it did not confirm its fix and
// the probes took fewer optimizer steps than the experiment.
func (a *analysis) inconclusive(v *Verified, after *probeResult) bool {
	if v == nil || v.Confirmed || a.plan == nil || !a.plan.Shortened || failedRun(after) != "" {
		return false
	}
	v.Inconclusive = true
	v.Note += fmt.Sprintf(" — inconclusive: the probes took %d of the experiment's %d optimizer steps (budget), so they could not show the full effect",
		a.plan.Steps, a.plan.ConfiguredSteps)
	return true
}

// staticFact reports whether finding id is wrong whatever a probe
// measures (a loss/activation/label mismatch), so its severity does not
// depend on a measured effect.
func staticFact(id string) bool {
	switch id {
	case IDLabelEncodingMismatch, IDSingleUnitSoftmax, IDLogitsWithoutFromLogits, IDDoubleSoftmax,
		IDSigmoidWithCCE, IDBinaryCrossentropyMulticlass, IDOutputRangeMismatch:
		return true
	}
	return false
}

// lossLabel names the loss the verifications compare: the training loss of
// the probe's last epoch.
func (a *analysis) lossLabel() string {
	return fmt.Sprintf("epoch-%d training loss", a.plan.Epochs)
}

func (a *analysis) remove(id string) {
	var keep []*Finding
	for _, f := range a.findings {
		if f.ID != id {
			keep = append(keep, f)
		}
	}
	a.findings = keep
}

// rootCauses are findings that make the labels unlearnable for the model
// as configured; labels-not-learnable is then a symptom, not a diagnosis.
var rootCauses = []string{IDLabelEncodingMismatch, IDSingleUnitSoftmax, IDLogitsWithoutFromLogits, IDDoubleSoftmax,
	IDOutputRangeMismatch, IDBinaryCrossentropyMulticlass, IDClassImbalance, IDLearningRateTooHigh, IDLearningRateTooLow,
	IDTooFewUpdates, IDBatchNormSmallBatch, IDInputsNotNormalized, IDDeadReLU, IDSaturatedActivations, IDVanishingGradient, IDMissingNonlinearity}

func (a *analysis) suppressSymptoms() {
	// Constant predictions are a symptom: any other error or warning
	// (but the imbalance it goes with) explains them.
	if f := a.find(IDConstantPredictions); f != nil && f.Severity != Info {
		for _, g := range a.findings {
			if g.Severity != Info && g.ID != IDConstantPredictions && g.ID != IDClassImbalance && g.ID != IDOverfitting && g.ID != IDValidationOverlapsTraining {
				f.setSeverity(Info, g.ID+" explains it")
				f.Summary += fmt.Sprintf(" %s explains it.", g.ID)
				break
			}
		}
	}
	// Vanishing gradients without a fix of their own (no sigmoid/tanh
	// layer to replace) are a symptom of a static error or unscaled inputs.
	if f := a.find(IDVanishingGradient); f != nil && f.Severity != Info && len(f.FixSets) == 0 {
		for _, id := range []string{IDInputsNotNormalized, IDLabelEncodingMismatch, IDLogitsWithoutFromLogits, IDDoubleSoftmax, IDSingleUnitSoftmax, IDOutputRangeMismatch} {
			if a.serious(id) {
				f.setSeverity(Info, id+" explains it")
				f.Summary += fmt.Sprintf(" %s explains it.", id)
				break
			}
		}
	}
	f := a.find(IDLabelsNotLearnable)
	if f == nil {
		return
	}
	for _, id := range rootCauses {
		if a.serious(id) {
			a.remove(IDLabelsNotLearnable)
			return
		}
	}
	// A counterfactual that learns proves the labels are learnable.
	ch := a.chance(a.base)
	for _, p := range a.probeSet.all {
		if p == a.base || p == a.lrk || p.spec.permute || p.err != nil || p.nonFinite {
			continue
		}
		if s := a.valScore(p); s > ch+a.noise(p.valN, ch) && a.task.kind != kindRegression || a.task.kind == kindRegression && s > 0.1 {
			a.remove(IDLabelsNotLearnable)
			return
		}
	}
}

// verification starts a Verified with the probes' numbers.
func (a *analysis) verification(before, after *probeResult, criterion string) *Verified {
	v := &Verified{Probe: fmt.Sprintf("%s, seed %d", a.plan.describe(), a.exp.Seed), Criterion: criterion,
		Before: a.probeMetrics(before), After: a.probeMetrics(after)}
	if before != nil && before.err != nil {
		v.Before = map[string]float64{}
		v.Extra = map[string]any{"before_error": firstSentence(before.err.Error())}
	}
	if before == nil && a.blockErr != nil {
		v.Extra = map[string]any{"before_error": firstSentence(a.blockErr.Error())}
	}
	return v
}

func (a *analysis) scoreCriterion() string {
	if a.task.kind == kindRegression {
		return fmt.Sprintf("validation R² rises by ≥ %g", minR2Gain)
	}
	return fmt.Sprintf("validation %s rises by more than the paired noise margin max(0.01, 3·√(rows only one run gets right)/rows)", a.task.scoreLabel())
}

// failedRun explains why a fixed run did not confirm anything, or "".
func failedRun(after *probeResult) string {
	switch {
	case after.err != nil:
		return "the fixed experiment does not run: " + firstSentence(after.err.Error())
	case after.nonFinite:
		return "the fixed run diverged too (" + after.aborted + ")"
	}
	return ""
}

func beforeFailed(a *analysis, before *probeResult) bool {
	return before == nil || before.err != nil || before.nonFinite
}

func verifyBetterScore(a *analysis, f *Finding, before, after *probeResult) *Verified {
	v := a.verification(before, after, a.scoreCriterion())
	if msg := failedRun(after); msg != "" {
		v.Note = msg
		return v
	}
	aS := a.valScore(after)
	sn := a.task.scoreLabel()
	if beforeFailed(a, before) {
		ch := a.chance(after)
		v.Criterion = fmt.Sprintf("the fixed run trains and its validation %s beats chance (%s) by the noise margin", sn, fmtNum(ch))
		v.Confirmed = aS > ch+a.noise(after.valN, ch) && a.task.kind != kindRegression || a.task.kind == kindRegression && aS > minR2Gain
		what := "fails"
		if before != nil && before.nonFinite {
			what = "diverges"
		}
		v.Note = fmt.Sprintf("without the fix the run %s; with it, validation %s %s", what, sn, fmtNum(aS))
		return v
	}
	bS := a.valScore(before)
	nz := a.diffNoise(before, after)
	v.Confirmed = aS-bS >= nz
	v.Note = fmt.Sprintf("validation %s %s → %s (noise margin %s)", sn, fmtNum(bS), fmtNum(aS), fmtNum(nz))
	if !v.Confirmed {
		v.Note += ": no clear improvement"
	}
	return v
}

// verifyScaleFix accepts a better score, or — the same loss function — a
// loss at least 10× lower: the outputs stop saturating and the loss becomes a
// log-probability again. The accuracy is reported either way.
func verifyScaleFix(a *analysis, f *Finding, before, after *probeResult) *Verified {
	v := verifyBetterScore(a, f, before, after)
	if v.Confirmed || beforeFailed(a, before) || failedRun(after) != "" {
		return v
	}
	v.Criterion += ", or the loss falls ≥ 10× (same loss function: the outputs no longer saturate)"
	bl, al := last(before.epochLoss), last(after.epochLoss)
	bS, aS := a.valScore(before), a.valScore(after)
	if al*10 <= bl {
		v.Confirmed = true
		v.Note = fmt.Sprintf("%s %s → %s (%s× lower), validation %s %s → %s", a.lossLabel(), fmtNum(bl), fmtNum(al), fmtNum(sig(bl/al, 3)),
			a.task.scoreLabel(), fmtNum(bS), fmtNum(aS))
		if aS < bS-a.diffNoise(before, after) {
			v.Note += fmt.Sprintf(" — accuracy is lower after %s at the same learning rate: normalised inputs make smaller steps, so raise the learning rate too", a.plan.describe())
		}
	}
	return v
}

// verifyValFix: only the validation data changes, so the validation loss
// (same model, same loss) is comparable; accept a better score or a
// validation loss at least 2× lower.
func verifyValFix(a *analysis, f *Finding, before, after *probeResult) *Verified {
	v := verifyBetterScore(a, f, before, after)
	if v.Confirmed || beforeFailed(a, before) || failedRun(after) != "" {
		return v
	}
	v.Criterion += ", or the validation loss falls ≥ 2×"
	bl, al := last(before.valLoss), last(after.valLoss)
	if al*2 <= bl {
		v.Confirmed = true
		v.Note = fmt.Sprintf("validation loss %s → %s, validation %s %s → %s", fmtNum(bl), fmtNum(al), a.task.scoreLabel(),
			fmtNum(a.valScore(before)), fmtNum(a.valScore(after)))
	}
	return v
}

// verifyRuns confirms a fix for a run that could not start.
func verifyRuns(a *analysis, f *Finding, before, after *probeResult) *Verified {
	v := verifyBetterScore(a, f, before, after)
	if before == nil && a.blockErr != nil {
		v.Note = "without the fix fit fails (" + firstSentence(a.blockErr.Error()) + "); " + strings.TrimPrefix(v.Note, "without the fix the run fails; ")
	}
	return v
}

// verifySoftmaxFix: the outputs become a distribution and accuracy does not suffer.
func verifySoftmaxFix(a *analysis, f *Finding, before, after *probeResult) *Verified {
	v := a.verification(before, after, "the outputs of every row sum to 1 (|Σp − 1| < 1e-3) and validation accuracy does not drop by more than the noise margin")
	if msg := failedRun(after); msg != "" {
		v.Note = msg
		return v
	}
	if before == nil || before.err != nil || before.nonFinite {
		v.Confirmed = math.Abs(after.rowSum-1) < 1e-3
		v.Note = fmt.Sprintf("with softmax the outputs sum to %.4f per row", after.rowSum)
		return v
	}
	bS, aS := a.valScore(before), a.valScore(after)
	nz := a.diffNoise(before, after)
	v.Before["mean_output_sum"] = sig(before.rowSum, 4)
	v.After["mean_output_sum"] = sig(after.rowSum, 4)
	v.Before["val_loss_tf_backend"], v.Before["val_loss_probability_path"] = sig(before.lossTF, 5), sig(before.lossProb, 5)
	v.After["val_loss_tf_backend"], v.After["val_loss_probability_path"] = sig(after.lossTF, 5), sig(after.lossProb, 5)
	v.Confirmed = math.Abs(after.rowSum-1) < 1e-3 && aS >= bS-nz
	same := math.Abs(last(after.epochLoss)-last(before.epochLoss)) <= 1e-3*math.Abs(last(before.epochLoss))
	v.Note = fmt.Sprintf("the outputs now sum to %.3f per row (sigmoid: %.2f); validation accuracy %s → %s", after.rowSum, before.rowSum, fmtNum(bS), fmtNum(aS))
	if same && !a.usesProbabilities() {
		v.Note += fmt.Sprintf("; under the TF backend training is unchanged (loss %s → %s): the cached-logits rule already trained a softmax — "+
			"the fix makes the outputs probabilities and the loss the same on every backend", fmtNum(last(before.epochLoss)), fmtNum(last(after.epochLoss)))
	}
	return v
}

func (a *analysis) usesProbabilities() bool {
	return a.exp.Compile.LossSemantics == string(kiln.ProbabilitySemantics)
}

// verifyLRScaling: with the fix, the loss is a log-probability and a larger
// learning rate lowers it instead of multiplying it.
func verifyLRScaling(a *analysis, f *Finding, before, after *probeResult) *Verified {
	k := a.opts.LRFactor
	lnC := math.Log(float64(max(a.task.classes, 2)))
	v := a.verification(before, after, fmt.Sprintf("with the fix the epoch-1 loss is below %g·ln(C) = %.2f and the loss at lr×%g is at most 1.1× the loss at lr (instead of ≈ %g×)",
		marginLossFactor, marginLossFactor*lnC, k, k))
	if msg := failedRun(after); msg != "" {
		v.Note = msg
		return v
	}
	s := a.fixSpec(f.fix, 0)
	s.sets = append(append([]string{}, s.sets...), a.lrSet(a.lr*k))
	atK := a.result(s)
	if atK == nil || atK.err != nil || atK.nonFinite || len(atK.epochLoss) == 0 {
		v.Note = "the fixed run at lr×k did not complete"
		return v
	}
	l1, lk := after.epochLoss[0], atK.epochLoss[0]
	b1, bk := before.epochLoss[0], a.lrk.epochLoss[0]
	v.Before["epoch1_loss"], v.After["epoch1_loss"] = sig(b1, 5), sig(l1, 5)
	v.Before[fmt.Sprintf("epoch1_loss_lr_x%g", k)], v.After[fmt.Sprintf("epoch1_loss_lr_x%g", k)] = sig(bk, 5), sig(lk, 5)
	v.Before["val_accuracy_lr_xk"], v.After["val_accuracy_lr_xk"] = round(a.valScore(a.lrk), 4), round(a.valScore(atK), 4)
	v.Extra = map[string]any{"loss_ratio_before": sig(bk/b1, 4), "loss_ratio_after": sig(lk/l1, 4),
		"lr": a.lr, "lr_k": a.lr * k}
	v.Confirmed = l1 < marginLossFactor*lnC && lk <= 1.1*l1
	v.Note = fmt.Sprintf("epoch-1 loss %s → %s at lr %s; at lr %s: %s → %s (ratio %.2f → %.2f); validation accuracy %s → %s at lr %s, %s → %s at lr %s",
		fmtNum(b1), fmtNum(l1), fmtLR(a.lr), fmtLR(a.lr*k), fmtNum(bk), fmtNum(lk), bk/b1, lk/l1,
		fmtNum(a.valScore(before)), fmtNum(a.valScore(after)), fmtLR(a.lr), fmtNum(a.valScore(a.lrk)), fmtNum(a.valScore(atK)), fmtLR(a.lr*k))
	return v
}

// verifyLR tries the fix's learning rate and its alternatives and keeps the
// one with the best validation score among those that clearly improve on
// the run as written.
func verifyLR(a *analysis, f *Finding, before, after *probeResult) *Verified {
	alts := []*probeResult{after}
	for i := range f.fix.extra {
		alts = append(alts, a.result(a.fixSpec(f.fix, i+1)))
	}
	var first, best *Verified
	bestI, bestS := -1, math.Inf(-1)
	tried := map[string]any{}
	for i, r := range alts {
		if r == nil {
			continue
		}
		v := verifyBetterScore(a, f, before, r)
		// An exploding loss is an effect too: the same loss on the same
		// validation rows ≥ 10× lower, the score not lower beyond noise.
		if !v.Confirmed && !beforeFailed(a, before) && failedRun(r) == "" {
			bl, al := last(before.valLoss), last(r.valLoss)
			if finite(bl) && finite(al) && al*10 <= bl && a.valScore(r) >= a.valScore(before)-a.diffNoise(before, r) {
				v.Confirmed = true
				v.Criterion += ", or the validation loss ≥ 10× lower with the score not lower beyond noise"
				v.Note = fmt.Sprintf("validation loss %s → %s, validation %s %s → %s", fmtNum(bl), fmtNum(al),
					a.task.scoreLabel(), fmtNum(a.valScore(before)), fmtNum(a.valScore(r)))
			}
		}
		tried[fmtLR(r.lr)] = round(a.valScore(r), 4)
		if first == nil {
			first = v
		}
		if s := a.valScore(r); v.Confirmed && s > bestS {
			best, bestI, bestS = v, i, s
			v.Note = fmt.Sprintf("at learning rate %s: %s", fmtLR(r.lr), v.Note)
		}
	}
	if best != nil {
		if bestI > 0 {
			f.FixSets = strings.Fields(f.fix.extra[bestI-1])
			f.Fix = "compile.optimizer.learning_rate: " + fmtLR(alts[bestI].lr)
		}
		best.Extra = map[string]any{"val_score_by_learning_rate": tried}
		return best
	}
	if first != nil {
		first.Extra = map[string]any{"val_score_by_learning_rate": tried}
		first.Note += " (no tried learning rate helped clearly)"
	}
	return first
}

func layerValue(stats []layerStat, layer string, dead bool) float64 {
	for _, s := range stats {
		if s.Layer == layer {
			if dead {
				return s.Dead
			}
			return s.Saturated
		}
	}
	return math.NaN()
}

func verifyDead(a *analysis, f *Finding, before, after *probeResult) *Verified {
	return verifyLayerFix(a, f, before, after, true)
}

func verifySaturation(a *analysis, f *Finding, before, after *probeResult) *Verified {
	return verifyLayerFix(a, f, before, after, false)
}

func verifyLayerFix(a *analysis, f *Finding, before, after *probeResult, dead bool) *Verified {
	limit, what := saturationLimit, "saturated_fraction"
	if dead {
		limit, what = deadLimit, "dead_fraction"
	}
	v := a.verification(before, after, fmt.Sprintf("the layer's %s falls to ≤ %g and validation score does not drop by more than the noise margin", what, limit))
	if msg := failedRun(after); msg != "" {
		v.Note = msg
		return v
	}
	ls := f.Evidence["layers"].([]layerStat)
	layer := ls[0].Layer
	bv, av := layerValue(before.layerStats, layer, dead), layerValue(after.layerStats, layer, dead)
	// Layer names are assigned per build; the fixed model has the same layers.
	if math.IsNaN(av) && len(after.layerStats) > 0 {
		for i, s := range before.layerStats {
			if s.Layer == layer && i < len(after.layerStats) {
				if dead {
					av = after.layerStats[i].Dead
				} else {
					av = after.layerStats[i].Saturated
				}
			}
		}
	}
	v.Before[what], v.After[what] = sig(bv, 3), sig(av, 3)
	bS, aS := a.valScore(before), a.valScore(after)
	v.Confirmed = av <= limit && aS >= bS-a.diffNoise(before, after)
	v.Note = fmt.Sprintf("layer %q %s %.2f → %.2f; validation %s %s → %s", layer, strings.ReplaceAll(what, "_", " "), bv, av,
		a.task.scoreLabel(), fmtNum(bS), fmtNum(aS))
	return v
}

func verifyGradients(a *analysis, f *Finding, before, after *probeResult) *Verified {
	v := a.verification(before, after, "the first/last gradient ratio rises ≥ 10× and validation score does not drop by more than the noise margin")
	if msg := failedRun(after); msg != "" {
		v.Note = msg
		return v
	}
	ratio := func(p *probeResult) float64 {
		var r []float64
		for _, g := range p.gradRMS {
			if g[len(g)-1] > 0 {
				r = append(r, g[0]/g[len(g)-1])
			}
		}
		return median(r)
	}
	br, ar := ratio(before), ratio(after)
	v.Before["first_last_gradient_ratio"], v.After["first_last_gradient_ratio"] = sig(br, 3), sig(ar, 3)
	bS, aS := a.valScore(before), a.valScore(after)
	v.Confirmed = ar >= 10*br && aS >= bS-a.diffNoise(before, after)
	v.Note = fmt.Sprintf("first/last gradient ratio %s → %s; validation %s %s → %s", fmtNum(br), fmtNum(ar), a.task.scoreLabel(), fmtNum(bS), fmtNum(aS))
	return v
}

func verifyBalanced(a *analysis, f *Finding, before, after *probeResult) *Verified {
	v := a.verification(before, after, "balanced accuracy (mean per-class recall) on the validation rows rises by ≥ 0.05")
	if msg := failedRun(after); msg != "" {
		v.Note = msg
		return v
	}
	bb, ab := balanced(before.recall), balanced(after.recall)
	v.Before["balanced_accuracy"], v.After["balanced_accuracy"] = round(bb, 4), round(ab, 4)
	mn, _ := f.Evidence["minority_class"].(int)
	v.Before["minority_recall"], v.After["minority_recall"] = round(before.recall[mn], 4), round(after.recall[mn], 4)
	v.Confirmed = ab-bb >= 0.05
	v.Note = fmt.Sprintf("balanced accuracy %s → %s; recall of class %d %s → %s (class_weight: balanced)", fmtNum(bb), fmtNum(ab), mn,
		fmtNum(before.recall[mn]), fmtNum(after.recall[mn]))
	return v
}

func verifyDedup(a *analysis, f *Finding, before, after *probeResult) *Verified {
	v := a.verification(before, after, "without the copies the validation score is lower by more than the noise margin max(0.02, 3·√2·SE) (R²: 0.05): the copies inflate it")
	if msg := failedRun(after); msg != "" {
		v.Note = msg
		return v
	}
	bS, aS := a.valScore(before), a.valScore(after)
	nz := a.noise(after.valN, aS)
	v.Confirmed = bS-aS > nz && after.valN < before.valN
	sn := a.task.scoreLabel()
	if nCopy := before.valN - after.valN; a.task.isClassification() && nCopy > 0 && after.valN > 0 {
		// The same model scores both (the validation rows do not change
		// training): accuracy on the copies against the fresh rows, a
		// two-proportion margin of 3 SE.
		pc := (bS*float64(before.valN) - aS*float64(after.valN)) / float64(nCopy)
		se := math.Sqrt(pc*(1-pc)/float64(nCopy) + aS*(1-aS)/float64(after.valN))
		margin := math.Max(minScoreGain, 3*se)
		v.Criterion = "accuracy on the validation rows that copy training rows exceeds accuracy on the fresh rows by more than max(0.02, 3·SE of the difference): the copies inflate the validation number"
		v.Confirmed = pc-aS > margin
		v.Before["copied_rows_"+a.task.scoreName()] = round(pc, 4)
		f.Evidence["copies_"+a.task.scoreName()] = round(pc, 4)
		f.Evidence["fresh_"+a.task.scoreName()] = round(aS, 4)
		nz = margin
		v.Note = fmt.Sprintf("validation %s %s on the %d copied rows, %s on the %d fresh rows (margin %s); with the copies the validation %s is %s, without them %s: inflated by %s",
			sn, fmtNum(round(pc, 4)), nCopy, fmtNum(aS), after.valN, fmtNum(round(margin, 4)), sn, fmtNum(bS), fmtNum(aS), fmtNum(round(bS-aS, 4)))
	} else {
		v.Note = fmt.Sprintf("validation %s with the copies %s, without them %s: the copies inflate it by %s (noise margin %s)", sn, fmtNum(bS), fmtNum(aS), fmtNum(bS-aS), fmtNum(nz))
	}
	if !v.Confirmed {
		v.Note += ": no measurable inflation"
	}
	f.Evidence["inflation"] = round(bS-aS, 4)
	f.Evidence["noise"] = round(nz, 4)
	return v
}

// ---- all fixes together ----

// combine runs every fix together and, leaving each out in turn, verifies
// each on top of the others: a fix masked by another fault (scaling the
// inputs shows nothing while the labels are wrong) shows its effect there.
// Candidates are the confirmed fixes, those a counterfactual downgraded
// for showing no effect alone, and the fixes of static facts.
func (a *analysis) combine() {
	sortFindings(a.findings)
	// Rescaling inputs or targets changes the effective step size, so a
	// learning-rate change confirmed on the unscaled data is left out.
	rescaled := false
	for _, id := range []string{IDInputsNotNormalized, IDTargetsNotNormalized} {
		if f := a.find(id); f != nil && f.Verified != nil && (f.Verified.Confirmed || f.severityWas != "") {
			rescaled = true
		}
	}
	type part struct {
		f    *Finding
		sets []string
		tr   *fixCandidate
	}
	var parts []part
	keys := map[string]bool{}
	for _, f := range a.findings {
		if f.Verified == nil || f.ID == IDOverfitting || f.fix == nil {
			continue
		}
		// A static fact stays an error whatever its own probe showed; its
		// fix belongs with the others (it may be what masks them).
		masked := !f.Verified.Confirmed && (f.severityWas != "" || staticFact(f.ID) && f.Severity != Info)
		if !(f.Verified.Confirmed && f.Severity != Info || masked) {
			continue
		}
		if rescaled && len(f.FixSets) == 1 && strings.HasPrefix(f.FixSets[0], "compile.optimizer.learning_rate=") {
			continue
		}
		p := part{f: f}
		for _, s := range f.FixSets {
			k, _, _ := strings.Cut(s, "=")
			if keys[k] {
				continue
			}
			keys[k] = true
			p.sets = append(p.sets, s)
		}
		if f.fix.transform != nil && len(f.FixSets) == 0 {
			p.tr = f.fix
		}
		if len(p.sets) > 0 || p.tr != nil {
			parts = append(parts, p)
		}
	}
	// One fix alone was verified with its finding, by its own measure.
	if len(parts) < 2 {
		return
	}
	if len(parts) > 4 {
		parts = parts[:4] // most serious first; keeps the runs within budget
	}
	specOf := func(skip int) *probeSpec {
		var sets, names []string
		var trs []*fixCandidate
		for i, p := range parts {
			if i == skip {
				continue
			}
			sets = append(sets, p.sets...)
			if p.tr != nil {
				trs = append(trs, p.tr)
				names = append(names, p.tr.name)
			}
		}
		spec := &probeSpec{label: "all fixes: " + strings.Join(sets, " "), sets: sets}
		if skip >= 0 {
			spec.label = "all fixes but " + parts[skip].f.ID + ": " + strings.Join(sets, " ")
		}
		if len(trs) > 0 {
			spec.transform = func(pd *probeData) *probeData {
				for _, t := range trs {
					pd = t.transform(pd)
				}
				return pd
			}
			spec.tname = strings.Join(names, "+")
			spec.label += " + " + spec.tname
		}
		return spec
	}
	specs := []*probeSpec{specOf(-1)}
	for i := range parts {
		specs = append(specs, specOf(i))
	}
	res := a.probeSet.runAll(specs)
	r := res[0]
	// A fix not confirmed alone that makes all the others worse (leaving
	// it out scores higher beyond noise) is left out of the combined fix:
	// the best leave-one-out run stands for "all fixes" then.
	skip := -1
	for i, p := range parts {
		w := res[i+1]
		if p.f.Verified.Confirmed || failedRun(w) != "" {
			continue
		}
		if failedRun(r) != "" || a.valScore(w)-a.valScore(r) >= a.diffNoise(r, w) {
			if skip < 0 || a.valScore(w) > a.valScore(res[skip+1]) {
				skip = i
			}
		}
	}
	var sets []string
	for i, p := range parts {
		if i != skip {
			sets = append(sets, p.sets...)
		}
	}
	if skip >= 0 {
		r = res[skip+1]
	}
	if len(sets) > 0 {
		v := verifyScaleFix(a, nil, a.base, r)
		if v.Confirmed && !beforeFailed(a, a.base) && a.valScore(r) < a.valScore(a.base)-a.diffNoise(a.base, r) {
			v.Confirmed = false
			v.Note += " (not confirmed as a whole: the validation score is lower)"
		}
		if !beforeFailed(a, a.base) && failedRun(r) == "" && !strings.HasPrefix(v.Note, a.lossLabel()) {
			v.Note = fmt.Sprintf("%s %s → %s, %s", a.lossLabel(), fmtNum(last(a.base.epochLoss)), fmtNum(last(r.epochLoss)), v.Note)
		}
		a.combined = &CombinedFix{Sets: sets, Verified: v}
	}
	// Leave-one-out: each fix on top of the others.
	all := res[0]
	for i, p := range parts {
		without := res[i+1]
		v := verifyBetterScore(a, p.f, without, all)
		v.Probe += "; before: every other fix, after: all fixes (leave-one-out)"
		v.Note = "on top of the other fixes: " + v.Note
		p.f.VerifiedWithOthers = v
		if v.Confirmed && p.f.severityWas != "" {
			p.f.setSeverity(p.f.severityWas, "fixing it alone shows no gain, but on top of the other fixes it does (leave-one-out)")
			p.f.severityWas = ""
			p.f.Summary = strings.Replace(p.f.Summary, downgradeNote, "", 1) +
				" Fixing it alone shows no gain, but on top of the other fixes it does: another fault masks it."
		}
	}
	a.suppressSymptoms() // a restored cause explains its symptoms
	sortFindings(a.findings)
}

// downgradeNote is appended to a finding a counterfactual downgraded.
const downgradeNote = " The counterfactual run shows no improvement from fixing it, so training copes with it here."

func sortFindings(fs []*Finding) {
	slices.SortStableFunc(fs, func(x, y *Finding) int {
		if d := x.Severity.rank() - y.Severity.rank(); d != 0 {
			return d
		}
		return idRank(x.ID) - idRank(y.ID)
	})
}

// ---- loss semantics ----

// LossSemantics shows what the loss is under Keras' two ways of computing a
// cross-entropy after a sigmoid/softmax output.
type LossSemantics struct {
	Activation string `json:"activation"`
	Loss       string `json:"loss"`
	// Used is the semantics the experiment trains with: "logits" (Keras'
	// TF backend, kiln's default) or "probabilities".
	Used string `json:"used"`
	// TFBackend is the loss from the cached pre-activation logits (Keras
	// TF backend); ProbabilityPath from clipped, renormalised outputs
	// (TF.js, Keras JAX/torch). Init* are before training; the others after
	// the base probe, on the probe's validation rows.
	InitTFBackend       float64 `json:"init_tf_backend"`
	InitProbabilityPath float64 `json:"init_probability_path"`
	TFBackend           float64 `json:"tf_backend"`
	ProbabilityPath     float64 `json:"probability_path"`
	// Bound is the probability path's largest per-sample loss, −ln(1e-7).
	Bound float64 `json:"probability_path_bound"`
	Rows  int     `json:"rows"`
	Note  string  `json:"note"`
}

func (a *analysis) semantics() {
	b := a.base
	if b == nil || b.err != nil || !b.semanticsApp {
		return
	}
	used := "logits"
	if a.usesProbabilities() {
		used = "probabilities"
	}
	s := &LossSemantics{Activation: a.task.act, Loss: a.task.loss, Used: used,
		InitTFBackend: sig(b.initTF, 5), InitProbabilityPath: sig(b.initProb, 5),
		TFBackend: sig(b.lossTF, 5), ProbabilityPath: sig(b.lossProb, 5), Bound: sig(-math.Log(1e-7), 5), Rows: b.valN}
	ratio := b.lossTF / b.lossProb
	switch {
	case b.nonFinite:
		return
	case ratio > 1.5 || ratio < 1/1.5:
		s.Note = fmt.Sprintf("The two backends disagree by ×%.1f on the same weights: the TF backend's loss is computed from the logits "+
			"(unbounded), the probability path clips at %.3f per sample. How Keras computes the loss is part of the answer.", ratio, s.Bound)
	default:
		s.Note = "Both semantics agree closely here: the outputs are not saturated."
	}
	a.sem = s
	if f := a.find(IDSigmoidWithCCE); f != nil {
		f.Evidence["loss_tf_backend"] = s.TFBackend
		f.Evidence["loss_probability_path"] = s.ProbabilityPath
		f.Evidence["loss_init_tf_backend"] = s.InitTFBackend
		f.Evidence["loss_init_probability_path"] = s.InitProbabilityPath
		f.Evidence["semantics_rows"] = s.Rows
		f.Evidence["mean_output_sum"] = sig(b.rowSum, 4)
	}
	if f := a.find(IDLossScalesWithLearningRate); f != nil {
		f.Evidence["loss_tf_backend"] = s.TFBackend
		f.Evidence["loss_probability_path"] = s.ProbabilityPath
	}
	if f := a.find(IDDoubleSoftmax); f != nil {
		f.Evidence["loss_tf_backend"] = s.TFBackend
		f.Evidence["loss_probability_path"] = s.ProbabilityPath
	}
}
