package explain

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/data"
)

// Thresholds of the static checks. Each finding also states its threshold
// in Evidence["threshold"].
const (
	// inputRMSLimit: a feature whose root-mean-square value exceeds this is
	// "not normalised" (standardised data has RMS ≈ 1; [0, 1] pixels ≈ 0.3;
	// raw 0..255 pixels ≈ 100).
	inputRMSLimit = 10.0
	// heterogeneousRatio: features whose RMS differ by more than this factor
	// need per-feature standardisation, not one global scale.
	heterogeneousRatio = 20.0
	// targetRMSLimit: regression targets with RMS above this are not normalised.
	targetRMSLimit = 10.0
	// scaleMismatchRatio: validation features whose RMS differs from the
	// training features' by more than this factor (either way).
	scaleMismatchRatio = 3.0
	// imbalanceRatio: largest/smallest class count at or above this is a
	// warning before any probe; from imbalanceNoteRatio it is a note that
	// the probe raises when the model misses the rare class.
	imbalanceRatio     = 10.0
	imbalanceNoteRatio = 3.0
	// overlapFraction: share of validation rows that are exact copies of
	// training rows, above which it is a warning (and minimum count).
	overlapFraction = 0.01
	overlapMinRows  = 5
	// fewDistinctFraction: training data with fewer distinct rows than this
	// share of its rows has copies by nature (tiny data sets repeated).
	fewDistinctFraction = 0.05
	// rangeFraction: share of target values outside the output activation's
	// range above which the output cannot fit the targets.
	rangeFraction = 0.01
)

// static runs every check that needs no training.
func (a *analysis) static() {
	a.checkLabels()
	a.checkOutputLoss()
	a.checkInputs()
	a.checkTargets()
	a.checkTrainValScale()
	a.checkNonlinearity()
	a.checkBatchNorm()
	a.checkBalance()
	a.checkOverlap()
	a.explainBlock()
}

// ---- inputs ----

func (a *analysis) checkInputs() {
	s := a.xStats
	top, at := s.maxFeatRMS()
	if top <= inputRMSLimit {
		return
	}
	med := s.medianFeatRMS()
	ev := map[string]any{
		"dtype": s.DType, "min": sig(s.Min, 4), "max": sig(s.Max, 4), "rms": sig(s.RMS, 4),
		"max_feature_rms": sig(top, 4), "max_feature_rms_index": at, "median_feature_rms": sig(med, 4),
		"data_scale": a.exp.Data.ScaleText, "rows_checked": s.Rows,
		"threshold": fmt.Sprintf("some feature's RMS > %g (standardised data ≈ 1, pixels in [0, 1] ≈ 0.3)", inputRMSLimit),
	}
	f := &Finding{ID: IDInputsNotNormalized, Severity: Warning, Evidence: ev}
	dt := ""
	if s.DType == string(data.Uint8) {
		dt = " (uint8, cast to float32 without scaling, as Keras does)"
	}
	f.Summary = fmt.Sprintf("The inputs are not normalised: values reach %s%s and the largest feature RMS is %s (threshold %g).",
		fmtNum(s.MaxAbs), dt, fmtNum(top), inputRMSLimit)
	f.Why = "Each logit is a weighted sum of the inputs, so inputs in the hundreds make logits in the hundreds or thousands " +
		"from the first step, and every gradient step is that many times larger. Softmax/sigmoid then saturate and the loss " +
		"measures margins in raw input units instead of probabilities."
	hetero := med > 0 && top/med > heterogeneousRatio
	if hetero {
		ev["feature_rms_ratio"] = sig(top/med, 3)
		f.FixSets = []string{"data.standardize=true"}
		f.Fix = fmt.Sprintf("data.standardize: true (each feature x = (x − mean) / std with the training rows' statistics, applied to the "+
			"validation and test rows too; feature RMS ranges from %s to %s, so one global data.scale cannot fix it)", fmtNum(med), fmtNum(top))
		f.fix = &fixCandidate{name: "standardise features", sets: f.FixSets}
	} else {
		scale, text := niceScale(a.exp.Data.Scale, s.MaxAbs)
		f.FixSets = []string{"data.scale=" + text}
		f.Fix = fmt.Sprintf("data.scale: %s (so the inputs lie in [%s, %s])", text, fmtNum(s.Min*scale/a.dataScale()), fmtNum(s.Max*scale/a.dataScale()))
		f.fix = &fixCandidate{name: "scale inputs", sets: f.FixSets}
	}
	f.fix.verify = verifyScaleFix
	f.fix.downgrade = true
	a.add(f)
}

func (a *analysis) dataScale() float64 {
	if a.exp.Data.Scale == 0 {
		return 1
	}
	return a.exp.Data.Scale
}

// niceScale returns a new data.scale that brings values of magnitude maxAbs
// (already multiplied by cur) to about 1: 1/255 for 8-bit images.
func niceScale(cur, maxAbs float64) (float64, string) {
	if cur == 0 {
		cur = 1
	}
	raw := maxAbs / cur // magnitude of the stored values
	var div float64
	switch {
	case raw > 128 && raw <= 255.5:
		div = 255
	case raw > 255.5 && raw <= 65535.5 && raw > 32768:
		div = 65535
	default:
		div = math.Pow(10, math.Ceil(math.Log10(raw)))
	}
	if cur == 1 {
		return 1 / div, fmt.Sprintf("1/%g", div)
	}
	v := cur / div
	return v, fmt.Sprintf("%g", sig(v, 6))
}

// ---- targets ----

func (a *analysis) checkTargets() {
	if a.task.kind != kindRegression {
		return
	}
	ys := statsOf(a.trainY, 20000)
	if ys.RMS <= targetRMSLimit {
		return
	}
	std := math.Sqrt(math.Max(0, ys.RMS*ys.RMS-ys.Mean*ys.Mean))
	div := math.Pow(10, math.Round(math.Log10(math.Max(ys.MaxAbs, 1e-12))))
	ev := map[string]any{"min": sig(ys.Min, 4), "max": sig(ys.Max, 4), "mean": sig(ys.Mean, 4), "std": sig(std, 4), "rms": sig(ys.RMS, 4),
		"loss": a.task.loss, "threshold": fmt.Sprintf("target RMS > %g", targetRMSLimit)}
	f := &Finding{ID: IDTargetsNotNormalized, Severity: Warning, Evidence: ev}
	f.Summary = fmt.Sprintf("The regression targets are not normalised: they range from %s to %s (RMS %s, threshold %g).",
		fmtNum(ys.Min), fmtNum(ys.Max), fmtNum(ys.RMS), targetRMSLimit)
	f.Why = fmt.Sprintf("With %s the gradient is proportional to the error, so targets in the %s make the first gradients "+
		"thousands of times larger than with targets near 1; SGD then overshoots or diverges, and the initial weights "+
		"(which produce outputs near 0) are far from any useful solution.", a.task.loss, magnitudeWord(ys.MaxAbs))
	f.Fix = fmt.Sprintf("standardise the targets before saving the data, y = (y − %s) / %s (or at least y / %g), and undo it on the predictions; "+
		"kiln's data.scale applies to the inputs only", fmtNum(sig(ys.Mean, 4)), fmtNum(sig(std, 4)), div)
	f.fix = &fixCandidate{name: "standardise targets", transform: func(pd *probeData) *probeData { return affineY(pd, 1/std, -ys.Mean/std) },
		verify: verifyBetterScore, downgrade: true}
	a.add(f)
}

func magnitudeWord(v float64) string {
	switch {
	case v >= 1e6:
		return "millions"
	case v >= 1e3:
		return "thousands"
	}
	return "tens or hundreds"
}

// ---- train vs validation scale ----

func (a *analysis) checkTrainValScale() {
	if a.val == nil || a.val.X.Rows() == 0 {
		return
	}
	vs := statsOf(a.val.X, 10000)
	ts := a.xStats
	if ts.RMS == 0 || vs.RMS == 0 {
		return
	}
	ratio := vs.RMS / ts.RMS
	// Per-feature mean shift in training standard deviations.
	shifted, counted := 0, 0
	for j := range ts.FeatMean {
		sd := ts.FeatStd[j]
		if sd == 0 {
			continue
		}
		counted++
		if math.Abs(vs.FeatMean[j]-ts.FeatMean[j])/sd > 3 {
			shifted++
		}
	}
	shiftFrac := 0.0
	if counted > 0 {
		shiftFrac = float64(shifted) / float64(counted)
	}
	if ratio <= scaleMismatchRatio && ratio >= 1/scaleMismatchRatio && shiftFrac <= 0.25 {
		return
	}
	ev := map[string]any{"train_rms": sig(ts.RMS, 4), "validation_rms": sig(vs.RMS, 4), "rms_ratio": sig(ratio, 4),
		"train_max": sig(ts.Max, 4), "validation_max": sig(vs.Max, 4), "features_mean_shifted_3sd": sig(shiftFrac, 3),
		"validation": a.valSource,
		"threshold":  fmt.Sprintf("validation/training RMS ratio outside [1/%g, %g], or > 25%% of features with means shifted by > 3 training SDs", scaleMismatchRatio, scaleMismatchRatio)}
	f := &Finding{ID: IDTrainValidationScaleMismatch, Severity: Warning, Evidence: ev}
	f.Summary = fmt.Sprintf("The validation inputs are on a different scale from the training inputs: RMS %s vs %s (ratio %s).",
		fmtNum(vs.RMS), fmtNum(ts.RMS), fmtNum(ratio))
	f.Why = "The model learns weights for inputs of the training scale; validation inputs scaled differently move every " +
		"logit by the same factor or offset, so validation numbers measure the preprocessing mismatch, not generalisation."
	factor := 1 / ratio
	text := fmt.Sprintf("%s", fmtNum(factor))
	if r := ratio; r > 200 && r < 300 {
		factor, text = 1.0/255, "1/255"
	}
	f.Fix = fmt.Sprintf("preprocess the validation data exactly like the training data (here: multiply it by about %s, or standardise both with the training statistics)", text)
	f.fix = &fixCandidate{name: "rescale validation", transform: func(pd *probeData) *probeData { return scaleValX(pd, factor) },
		verify: verifyValFix}
	a.add(f)
}

// ---- labels vs loss ----

func (a *analysis) checkLabels() {
	t := a.task
	l := a.labels
	loss := t.loss
	od, _ := a.outputDense()
	units := t.units
	ev := map[string]any{"loss": loss, "labels_shape": data.ShapeString(a.run.Y.Shape), "labels_dtype": l.DType,
		"label_min": l.Min, "label_max": l.Max, "output_units": units, "data_labels": a.exp.Data.Labels}
	if len(l.Distinct) > 0 && len(l.Distinct) <= 12 {
		ev["label_values"] = l.Distinct
	}
	if a.buildErr != nil {
		ev["build_error"] = a.buildErr.Error()
	}
	add := func(summary, why, fix string, sets []string, threshold string) {
		ev["threshold"] = threshold
		f := &Finding{ID: IDLabelEncodingMismatch, Severity: Error, Summary: summary, Why: why, Evidence: ev, Fix: fix, FixSets: sets}
		if len(sets) > 0 {
			f.fix = &fixCandidate{name: "fix labels", sets: sets, verify: verifyRuns}
		}
		a.add(f)
	}
	sparse := loss == "sparse_categorical_crossentropy"
	switch {
	case sparse && l.Width > 1:
		add(fmt.Sprintf("The labels are one-hot rows of width %d, but %s expects one integer class index per sample; fit would fail with a shape error.", l.Width, loss),
			"sparse_categorical_crossentropy reads each label as a class index; one-hot rows are what categorical_crossentropy reads.",
			"data.labels: int (turn the one-hot rows into class indices), or compile.loss: categorical_crossentropy",
			[]string{"data.labels=int"}, "labels of width > 1 with a sparse loss (a crash in fit)")
		return
	case sparse && !l.Integral:
		add(fmt.Sprintf("%s needs integer class labels, but the labels hold non-integer values (min %s, max %s); fit would fail.", loss, fmtNum(l.Min), fmtNum(l.Max)),
			"A sparse cross-entropy indexes the output row by the label; a fractional label names no class. Real-valued targets call for a regression loss.",
			"use integer class labels (0 … C−1), or a regression setup: compile.loss: mean_squared_error with a linear output", nil,
			"any non-integer label with a sparse loss (a crash in fit)")
		return
	case sparse && (l.Min < 0 || l.Max >= float64(units)):
		a.labelRange(ev, od, add)
		return
	}
	switch loss {
	case "categorical_crossentropy":
		if l.Width == 1 && units > 1 {
			if a.rawLabels && l.Integral && (l.Min < 0 || l.Max >= float64(units)) {
				a.labelRange(ev, od, add)
				return
			}
			add(fmt.Sprintf("The labels are class indices (shape %s), but categorical_crossentropy expects one-hot rows of width %d; fit would fail with \"Shapes (None, 1) and (None, %d) are incompatible\".",
				data.ShapeString(a.run.Y.Shape), units, units),
				"categorical_crossentropy compares each output row with a label row of the same width; class indices have to be one-hot encoded first (keras.utils.to_categorical).",
				"data.labels: onehot (like to_categorical), or compile.loss: sparse_categorical_crossentropy",
				[]string{"data.labels=onehot"}, "labels of width 1 with categorical_crossentropy over > 1 units (a crash in fit)")
			return
		}
		if l.Width > 1 && l.Width != units {
			add(fmt.Sprintf("The one-hot labels have %d columns but the output layer has %d units; fit would fail.", l.Width, units),
				"Each output unit scores one class, so the output must be as wide as a label row.",
				fmt.Sprintf("%s: %d", od.key("units"), l.Width), []string{fmt.Sprintf("%s=%d", od.key("units"), l.Width)},
				"label width ≠ output units (a crash in fit)")
			return
		}
	case "binary_crossentropy":
		if l.Min < 0 || l.Max > 1 {
			ev["threshold"] = "any target outside [0, 1] with binary_crossentropy"
			switch {
			case units == 1 && l.Width == 1 && l.Integral && l.Min >= 0 && !l.TooMany && l.Max <= 100:
				k := int(l.Max) + 1
				sets := []string{fmt.Sprintf("%s=%d", od.key("units"), k), od.key("activation") + "=softmax",
					"compile.loss=sparse_categorical_crossentropy"}
				add(fmt.Sprintf("binary_crossentropy needs targets in [0, 1], but the labels are class indices 0 … %d: this is a %d-class problem.", int(l.Max), k),
					"Binary cross-entropy scores one yes/no probability per unit; a target of 2 or 9 is not a probability, so the loss is negative-unbounded and the single output cannot name a class.",
					fmt.Sprintf("%s: %d, activation softmax, compile.loss: sparse_categorical_crossentropy", od.key("units"), k), sets,
					"any target outside [0, 1] with binary_crossentropy")
			case l.Min == -1 && l.Max == 1:
				add("binary_crossentropy needs targets in [0, 1], but the labels are −1/+1.",
					"Binary cross-entropy reads a target as the probability of the positive class; −1 is not a probability, which makes the loss unbounded below.",
					"map the labels to 0/1 ((y + 1) / 2) before saving the data", nil, "any target outside [0, 1] with binary_crossentropy")
				if f := a.find(IDLabelEncodingMismatch); f != nil {
					f.fix = &fixCandidate{name: "map labels to 0/1", transform: func(pd *probeData) *probeData { return affineY(pd, 0.5, 0.5) }, verify: verifyRuns}
				}
			default:
				add(fmt.Sprintf("binary_crossentropy needs targets in [0, 1], but they range from %s to %s.", fmtNum(l.Min), fmtNum(l.Max)),
					"Binary cross-entropy reads a target as a probability; values outside [0, 1] make the loss unbounded below, so minimising it pushes the outputs to the ends without learning.",
					"rescale the targets to [0, 1], or use a regression loss (mean_squared_error) with a linear output", nil,
					"any target outside [0, 1] with binary_crossentropy")
			}
			return
		}
	}
	if a.blockErr != nil && a.find(IDLabelEncodingMismatch) == nil && l.Width != units && !sparse && loss != "categorical_crossentropy" {
		if l.Width == 1 && units > 1 && l.Integral {
			add(fmt.Sprintf("The labels are class indices (shape %s), but the output has %d units and %s compares them element-wise; fit would fail.", data.ShapeString(a.run.Y.Shape), units, loss),
				"A loss over an output row needs a target row of the same width.",
				"data.labels: onehot", []string{"data.labels=onehot"}, "label width ≠ output units (a crash in fit)")
		}
	}
}

// labelRange reports class labels outside [0, units).
func (a *analysis) labelRange(ev map[string]any, od layerInfo, add func(summary, why, fix string, sets []string, threshold string)) {
	l := a.labels
	units := a.task.units
	need := int(l.Max) + 1
	out := 0
	for r := 0; r < a.run.Y.Rows(); r++ {
		c := classOf(a.run.Y, r)
		if c < 0 || c >= units {
			out++
		}
	}
	ev["labels_out_of_range"] = out
	why := fmt.Sprintf("Output unit j scores class j, so %d units can only name classes 0 … %d.", units, units-1)
	if l.Min == 1 && int(l.Max) == units {
		why += fmt.Sprintf(" The labels run 1 … %d: they look 1-based.", units)
	}
	fix := fmt.Sprintf("%s: %d (or renumber the labels to start at 0)", od.key("units"), need)
	sets := []string{fmt.Sprintf("%s=%d", od.key("units"), need)}
	if l.Min < 0 {
		fix, sets = "renumber the labels to 0 … C−1", nil
	}
	add(fmt.Sprintf("%d labels are outside the valid range [0, %d): the labels go up to %s but the output layer has %d units; fit would fail.",
		out, units, fmtNum(l.Max), units), why, fix, sets, "any class label outside [0, output units) (a crash in fit)")
}

// explainBlock turns a fit failure that no check explained into a finding.
func (a *analysis) explainBlock() {
	if a.blockErr == nil || a.find(IDLabelEncodingMismatch) != nil {
		return
	}
	msg := a.blockErr.Error()
	a.add(&Finding{ID: IDLabelEncodingMismatch, Severity: Error,
		Summary: "fit would fail on these labels: " + firstSentence(msg),
		Why:     "The labels do not have the shape or values the loss and the output layer expect.",
		Evidence: map[string]any{"fit_error": msg, "labels_shape": data.ShapeString(a.run.Y.Shape), "loss": a.task.loss,
			"output_units": a.task.units, "threshold": "fit rejects the data"},
		Fix: "see the error: make the labels, the loss and the output units agree"})
}

func firstSentence(s string) string {
	if i := strings.Index(s, "; "); i > 0 {
		return s[:i]
	}
	return s
}

// ---- output activation vs loss ----

func (a *analysis) checkOutputLoss() {
	t := a.task
	act := t.act
	od, _ := a.outputDense()
	actKey := a.actKey()
	semantics := a.exp.Compile.LossSemantics
	if semantics == "" {
		semantics = string(kiln.LogitsSemantics)
	}
	base := map[string]any{"output_activation": act, "loss": t.loss, "from_logits": t.fromLogits, "output_units": t.units,
		"loss_semantics": semantics}
	ev := func(kv ...any) map[string]any {
		m := map[string]any{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	// Two softmaxes in a row (Dense softmax, then Activation softmax).
	for i := 0; i+1 < len(a.layers); i++ {
		if a.layers[i].act != "softmax" {
			continue
		}
		j := i + 1
		for j < len(a.layers) && a.layers[j].act == "" && a.layers[j].dense == nil && a.layers[j].class != "Dense" {
			j++
		}
		if j < len(a.layers) && a.layers[j].class == "Activation" && a.layers[j].act == "softmax" {
			f := a.add(&Finding{ID: IDDoubleSoftmax, Severity: Error,
				Summary: fmt.Sprintf("Softmax is applied twice: layer %q and then layer %q.", a.layers[i].name, a.layers[j].name),
				Why: "The second softmax sees probabilities in [0, 1], so its outputs are nearly uniform (all within a factor e of each other); " +
					"the loss can barely fall and the gradients are shrunk.",
				Evidence: ev("first_softmax", a.layers[i].name, "second_softmax", a.layers[j].name,
					"threshold", "two softmax activations with no weights between them"),
				Fix: a.layers[i].key("activation") + ": linear", FixSets: []string{a.layers[i].key("activation") + "=linear"}})
			f.fix = &fixCandidate{name: "single softmax", sets: f.FixSets, verify: verifyBetterScore}
			return
		}
	}
	// Compile resolved the activation/loss mismatches (kiln.LossPlan); this
	// renders the first, in the order of their seriousness, with the data's
	// evidence. Only binary-crossentropy-multiclass also reads the labels.
	plan := a.run.Model.LossPlan()
	switch {
	case plan.Has(kiln.LossFindingSingleUnitSoftmax):
		sets := []string{actKey + "=sigmoid"}
		fix := actKey + ": sigmoid"
		if t.loss != "binary_crossentropy" {
			sets = append(sets, "compile.loss=binary_crossentropy")
			fix += " and compile.loss: binary_crossentropy"
		}
		f := a.add(&Finding{ID: IDSingleUnitSoftmax, Severity: Error,
			Summary: "The output is a softmax over a single unit, which is always exactly 1.0: the model predicts the same thing for every input.",
			Why: "Softmax normalises across the units of a row; with one unit, e^z / e^z = 1 whatever z is. For a yes/no output use " +
				"sigmoid (a probability per unit) with binary_crossentropy.",
			Evidence: ev("threshold", "softmax over 1 unit"), Fix: fix, FixSets: sets})
		f.fix = &fixCandidate{name: "sigmoid output", sets: sets, verify: verifyBetterScore}
	case plan.Has(kiln.LossFindingSigmoidWithCCE):
		how := "Keras' TF backend (and kiln by default) computes this loss from the cached pre-sigmoid logits as a softmax " +
			"cross-entropy, logsumexp(z) − z_true: unbounded, so with large logits it reports margins, not probabilities. " +
			"TF.js and Keras' JAX/torch backends instead renormalise the sigmoid outputs to sum to 1 and clip them to [1e-7, 1 − 1e-7], " +
			"which bounds the loss at −ln(1e-7) = 16.12 per sample. The same file therefore reports different losses on different backends."
		f := a.add(&Finding{ID: IDSigmoidWithCCE, Severity: Warning,
			Summary:  fmt.Sprintf("The output layer uses sigmoid with %s: the sigmoid outputs do not form a distribution over the %d classes, and the loss is not computed from them.", t.loss, t.units),
			Why:      "Sigmoid scores each class independently (the outputs need not sum to 1); categorical cross-entropy assumes one class per sample. " + how,
			Evidence: ev("threshold", "sigmoid output with a categorical cross-entropy over > 1 units"),
			Fix:      actKey + ": softmax", FixSets: []string{actKey + "=softmax"}})
		f.fix = &fixCandidate{name: "softmax output", sets: f.FixSets, verify: verifySoftmaxFix}
	case plan.Has(kiln.LossFindingSoftmaxWithBCE) || t.loss == "binary_crossentropy" && t.units > 1 && a.labels.OneHot:
		sets := []string{actKey + "=softmax", "compile.loss=categorical_crossentropy"}
		fix := actKey + ": softmax with compile.loss: categorical_crossentropy"
		summary := fmt.Sprintf("binary_crossentropy is used with a softmax over %d units.", t.units)
		why := "Softmax makes the classes compete (one class per sample); binary cross-entropy scores every unit as an independent yes/no " +
			"and averages over the units, so the reported loss is divided by the number of classes. Under Keras' TF backend the loss is " +
			"even computed as a sigmoid cross-entropy on the softmax's input, so the model is trained as one thing and predicts as another."
		if act != "softmax" {
			summary = fmt.Sprintf("binary_crossentropy over %d %s units is used for labels with exactly one class per sample (one-hot).", t.units, act)
			why = "Binary cross-entropy treats the classes as independent yes/no questions and averages over them, so it barely " +
				"penalises a missing correct class (1 of the %d terms); with exactly one class per sample, softmax with categorical " +
				"cross-entropy makes the classes compete and trains on the right objective."
			why = fmt.Sprintf(why, t.units)
		}
		if !a.labels.OneHot {
			sets = []string{actKey + "=sigmoid"}
			fix = actKey + ": sigmoid (multi-label targets: one yes/no per unit)"
		}
		sev := Warning
		if act == "softmax" {
			sev = Error
		}
		f := a.add(&Finding{ID: IDBinaryCrossentropyMulticlass, Severity: sev, Summary: summary, Why: why,
			Evidence: ev("labels_one_hot", a.labels.OneHot, "threshold", "binary_crossentropy over > 1 units with a softmax output or one-hot labels"),
			Fix:      fix, FixSets: sets})
		f.fix = &fixCandidate{name: "categorical output", sets: sets, verify: verifyBetterScore, downgrade: act != "softmax"}
	case plan.Has(kiln.LossFindingLogitsWithoutFromLogits):
		sets := []string{"compile.loss.from_logits=true"}
		fix := "compile.loss.from_logits: true (or " + actKey + ": softmax)"
		if act != "linear" {
			want := "softmax"
			if t.loss == "binary_crossentropy" {
				want = "sigmoid"
			}
			sets = []string{actKey + "=" + want}
			fix = actKey + ": " + want
		}
		f := a.add(&Finding{ID: IDLogitsWithoutFromLogits, Severity: Error,
			Summary: fmt.Sprintf("The output layer is %s (it outputs logits), but %s is told it receives probabilities (from_logits is false).", act, t.loss),
			Why: "With from_logits false the loss renormalises the outputs and clips them to [1e-7, 1 − 1e-7] as if they were probabilities; " +
				"negative or large logits make that meaningless (zero gradients where clipped, sign errors where negative), so training stalls or goes astray.",
			Evidence: ev("threshold", "a cross-entropy with from_logits false after a non-probability output"),
			Fix:      fix, FixSets: sets})
		f.fix = &fixCandidate{name: "from_logits", sets: sets, verify: verifyBetterScore}
	case plan.Has(kiln.LossFindingFromLogitsAfterActivation):
		sev := Warning
		if !plan.ReadsLogits { // nothing hides the second softmax
			sev = Error
		}
		f := a.add(&Finding{ID: IDDoubleSoftmax, Severity: sev,
			Summary: fmt.Sprintf("%s is given from_logits=true, but the output layer already applies %s: the loss would apply it a second time.", t.loss, act),
			Why: "from_logits=true tells the loss to apply softmax/sigmoid itself. Keras' TF backend hides the mistake by using the cached " +
				"pre-activation logits (with a warning); TF.js and Keras' JAX/torch backends apply the activation twice, which squashes the " +
				"outputs towards uniform and shrinks the gradients, so training is much slower.",
			Evidence: ev("threshold", "from_logits true after a softmax/sigmoid output"),
			Fix:      "compile.loss.from_logits: false", FixSets: []string{"compile.loss.from_logits=false"}})
		before := []string{}
		if semantics != string(kiln.ProbabilitySemantics) {
			before = []string{"compile.loss_semantics=probabilities"}
		}
		f.fix = &fixCandidate{name: "single softmax", sets: append(append([]string{}, before...), f.FixSets...), beforeSets: before,
			verify: verifyBetterScore}
	}
	a.checkMSE(ev, actKey, od)
	a.checkOutputRange(ev, actKey)
}

func (a *analysis) checkMSE(ev func(kv ...any) map[string]any, actKey string, od layerInfo) {
	t := a.task
	if t.loss != "mean_squared_error" || t.kind == kindRegression || t.kind == kindMultilabel {
		return
	}
	var sets []string
	var fix, summary string
	switch {
	case t.kind == kindMulticlass && t.units > 1:
		sets = []string{actKey + "=softmax", "compile.loss=categorical_crossentropy"}
		fix = actKey + ": softmax with compile.loss: categorical_crossentropy"
		summary = fmt.Sprintf("mean_squared_error is used for a %d-class classification with one-hot labels.", t.units)
	case t.kind == kindMulticlass && t.units == 1:
		sets = []string{fmt.Sprintf("%s=%d", od.key("units"), t.classes), od.key("activation") + "=softmax",
			"compile.loss=sparse_categorical_crossentropy"}
		fix = fmt.Sprintf("%s: %d, activation softmax, compile.loss: sparse_categorical_crossentropy", od.key("units"), t.classes)
		summary = fmt.Sprintf("mean_squared_error regresses the class index (0 … %d) with one output unit: class 7 is treated as \"close to\" class 8.", t.classes-1)
	case t.kind == kindBinary:
		sets = []string{actKey + "=sigmoid", "compile.loss=binary_crossentropy"}
		fix = actKey + ": sigmoid with compile.loss: binary_crossentropy"
		summary = "mean_squared_error is used for a yes/no classification."
	default:
		return
	}
	f := a.add(&Finding{ID: IDMSEForClassification, Severity: Warning, Summary: summary,
		Why: "Squared error on probabilities has a gradient that vanishes when the output is confidently wrong (it is multiplied by the " +
			"activation's slope), so learning is slow exactly where it should be fast; cross-entropy's gradient on the logits is simply p − y.",
		Evidence: ev("task", string(t.kind), "threshold", "mean_squared_error with classification labels (one-hot rows, 0/1 with a sigmoid, or class indices with an accuracy metric)"),
		Fix:      fix, FixSets: sets})
	f.fix = &fixCandidate{name: "cross-entropy", sets: sets, verify: verifyBetterScore, downgrade: t.units > 1 || t.kind == kindBinary}
}

// actRange is the closed range of an activation's outputs.
func actRange(act string) (lo, hi float64, ok bool) {
	switch act {
	case "sigmoid", "softmax":
		return 0, 1, true
	case "tanh":
		return -1, 1, true
	case "relu":
		return 0, math.Inf(1), true
	}
	return 0, 0, false
}

func (a *analysis) checkOutputRange(ev func(kv ...any) map[string]any, actKey string) {
	t := a.task
	if t.ce || t.kind != kindRegression && t.kind != kindMultilabel {
		return
	}
	lo, hi, ok := actRange(t.act)
	if !ok {
		return
	}
	y := a.trainY
	n := y.Len()
	outside := 0
	for i := 0; i < n; i++ {
		v := y.At(i)
		if y.Scale != 0 {
			v *= y.Scale
		}
		if v < lo-1e-6 || v > hi+1e-6 {
			outside++
		}
	}
	frac := float64(outside) / float64(max(n, 1))
	if frac <= rangeFraction {
		return
	}
	f := a.add(&Finding{ID: IDOutputRangeMismatch, Severity: Error,
		Summary: fmt.Sprintf("The output activation %s only produces values in [%s, %s], but %.0f%% of the targets lie outside it (targets range %s … %s).",
			t.act, fmtNum(lo), fmtNum(hi), 100*frac, fmtNum(a.labels.Min), fmtNum(a.labels.Max)),
		Why: "No weights can make the model output a value its last activation cannot produce, so the loss has a floor above zero and " +
			"the output units saturate chasing unreachable targets.",
		Evidence: ev("targets_outside", outside, "fraction_outside", sig(frac, 3), "target_min", a.labels.Min, "target_max", a.labels.Max,
			"threshold", fmt.Sprintf("> %g%% of targets outside the activation's range", 100*rangeFraction)),
		Fix: actKey + ": linear", FixSets: []string{actKey + "=linear"}})
	f.fix = &fixCandidate{name: "linear output", sets: f.FixSets, verify: verifyBetterScore}
}

// ---- stacked linear layers ----

func (a *analysis) checkNonlinearity() {
	// A Dense with a linear activation followed by another Dense (with
	// only Dropout/Flatten between) composes to one linear map.
	for i := 0; i < len(a.layers); i++ {
		l := a.layers[i]
		if l.dense == nil || l.act != "linear" {
			continue
		}
		j := i + 1
		for j < len(a.layers) && (a.layers[j].class == "Dropout" || a.layers[j].class == "Flatten") {
			j++
		}
		if j >= len(a.layers) || a.layers[j].dense == nil {
			continue
		}
		next := a.layers[j]
		f := a.add(&Finding{ID: IDMissingNonlinearity, Severity: Warning,
			Summary: fmt.Sprintf("Layers %q (%d units, no activation) and %q are stacked with no nonlinearity between them: together they are one linear map.", l.name, l.units, next.name),
			Why: "W2·(W1·x + b1) + b2 = (W2·W1)·x + (W2·b1 + b2): two linear layers compute nothing one layer could not, they only add " +
				"parameters (and a rank limit of the smaller width). A hidden layer needs an activation such as relu to learn nonlinear patterns.",
			Evidence: map[string]any{"layer": l.name, "units": l.units, "activation": "linear", "next_layer": next.name,
				"threshold": "a linear Dense followed directly by another Dense"},
			Fix: l.key("activation") + ": relu", FixSets: []string{l.key("activation") + "=relu"}})
		f.fix = &fixCandidate{name: "relu", sets: f.FixSets, verify: verifyBetterScore, downgrade: true}
		return
	}
}

// ---- batch normalization ----

// bnMinValues is the fewest values per channel a training batch should give
// BatchNormalization; with 2 or fewer every normalised value is 0 or ±1.
const bnMinValues = 8

// checkBatchNorm finds BatchNormalization layers whose training batches
// give each channel too few values for meaningful statistics: a Dense
// output's channel gets one value per row, an image's one per row and pixel.
func (a *analysis) checkBatchNorm() {
	bs := a.run.Fit.BatchSize
	if bs <= 0 {
		bs = 32
	}
	for i, l := range a.layers {
		if l.class != "BatchNormalization" {
			continue
		}
		in := a.run.Model.InputShape()
		if i > 0 {
			in = a.run.Model.Layers()[i-1].OutputShape()
		}
		pixels := 1
		for _, d := range in[:len(in)-1] {
			pixels *= d
		}
		values := bs * pixels
		if values >= bnMinValues {
			continue
		}
		sev := Warning
		what := fmt.Sprintf("each of its channels is normalised by the mean and variance of only %d values per batch", values)
		if values <= 2 {
			sev = Error
			what = fmt.Sprintf("each of its channels is normalised over %d value(s) per batch, so every normalised value is 0 or ±1", values)
			if values == 1 {
				what = "each of its channels is normalised over a single value per batch: the value minus itself is 0, so the layer outputs beta whatever its input"
			}
		}
		size := max(32, (bnMinValues+pixels-1)/pixels)
		sets := []string{fmt.Sprintf("fit.batch_size=%d", size)}
		f := a.add(&Finding{ID: IDBatchNormSmallBatch, Severity: sev,
			Summary: fmt.Sprintf("Layer %q (BatchNormalization) trains with batches of %d: %s.", l.name, bs, what),
			Why: "In training, BatchNormalization normalises each channel by its batch mean and variance (over the rows, and the pixels of an image). " +
				"With very few values those statistics are mostly noise (with one, the variance is 0 and the output is constant), so what " +
				"the next layers see changes with the batch, and at inference the moving statistics describe a different distribution. " +
				"Use larger batches, or leave the layer out for tiny batches.",
			Evidence: map[string]any{"layer": l.name, "batch_size": bs, "values_per_channel_per_batch": values, "pixels_per_channel": pixels,
				"threshold": fmt.Sprintf("fewer than %d values per channel per batch (error at 2 or fewer)", bnMinValues)},
			Fix: strings.Join(displaySets(sets), ", "), FixSets: sets})
		f.fix = &fixCandidate{name: "larger batches", sets: sets, verify: verifyBetterScore, downgrade: true}
		return
	}
}

// ---- class balance ----

func (a *analysis) checkBalance() {
	t := a.task
	if !t.isClassification() || !a.labels.Integral && !a.labels.OneHot || a.find(IDLabelEncodingMismatch) != nil {
		return
	}
	counts := map[int]int{}
	for r := 0; r < a.trainY.Rows(); r++ {
		counts[classOf(a.trainY, r)]++
	}
	if len(counts) < 2 {
		return
	}
	var classes []int
	for c := range counts {
		classes = append(classes, c)
	}
	sort.Ints(classes)
	maj, mn := classes[0], classes[0]
	for _, c := range classes {
		if counts[c] > counts[maj] {
			maj = c
		}
		if counts[c] < counts[mn] {
			mn = c
		}
	}
	ratio := float64(counts[maj]) / float64(counts[mn])
	if ratio < imbalanceNoteRatio {
		return
	}
	// Below imbalanceRatio the imbalance alone is no fault: a note, which
	// the probe raises to a warning when the model misses the rare class.
	sev := Warning
	if ratio < imbalanceRatio {
		sev = Info
	}
	n := a.trainY.Rows()
	cc := map[string]int{}
	for _, c := range classes {
		cc[fmt.Sprint(c)] = counts[c]
	}
	base := float64(counts[maj]) / float64(n)
	f := a.add(&Finding{ID: IDClassImbalance, Severity: sev,
		Summary: fmt.Sprintf("The classes are imbalanced: class %d has %d samples, class %d only %d (%.0f:1); always predicting class %d scores %.1f%% accuracy.",
			maj, counts[maj], mn, counts[mn], ratio, maj, 100*base),
		Why: "The loss is an average over samples, so the rare class contributes little to it: the quickest way to lower it is to predict " +
			"the majority class, and accuracy then looks high while the rare class is never found.",
		Evidence: map[string]any{"class_counts": cc, "ratio": sig(ratio, 3), "majority_class": maj, "minority_class": mn,
			"majority_baseline_accuracy": sig(base, 4),
			"threshold": fmt.Sprintf("largest/smallest class ≥ %g (static; ≥ %g is a note the probe raises) and, after the probe, minority-class recall < 0.5 with class_weight: balanced raising the balanced accuracy by ≥ 0.05 (else a note)",
				imbalanceRatio, imbalanceNoteRatio)},
		Fix: "fit.class_weight: balanced (Keras' class_weight: each class weighs n/(classes·count), so every class carries the same " +
			"total weight in the loss), or oversample the rare classes; judge the model by per-class recall, not accuracy",
		FixSets: []string{"fit.class_weight=balanced"}})
	f.fix = &fixCandidate{name: "class weights", sets: f.FixSets, verify: verifyBalanced, downgrade: true}
}

// ---- validation rows that are training rows ----

func (a *analysis) checkOverlap() {
	if a.val == nil || a.val.X.Rows() == 0 {
		return
	}
	train := map[uint64]bool{}
	for _, h := range hashRows(a.trainX) {
		train[h] = true
	}
	vh := hashRows(a.val.X)
	dup := 0
	for _, h := range vh {
		if train[h] {
			dup++
		}
	}
	frac := float64(dup) / float64(len(vh))
	if dup < overlapMinRows || frac <= overlapFraction {
		return
	}
	sev := Warning
	// Data with few distinct rows (XOR's 4 points repeated) makes copies
	// inherent: every possible input is a training row, so it is not leakage.
	distinct := len(train)
	inherent := float64(distinct) < fewDistinctFraction*float64(a.trainX.Rows())
	if inherent {
		sev = Info
	}
	f := a.add(&Finding{ID: IDValidationOverlapsTraining, Severity: sev,
		Summary: fmt.Sprintf("%d of the %d validation rows (%.1f%%) are exact copies of training rows.", dup, len(vh), 100*frac),
		Why: "A model can memorise its training rows, so validation rows it has trained on overstate how well it generalises " +
			"(leakage): the validation numbers look better than the model is.",
		Evidence: map[string]any{"duplicated_rows": dup, "validation_rows": len(vh), "fraction": sig(frac, 3), "validation": a.valSource,
			"distinct_training_rows": distinct,
			"threshold": fmt.Sprintf("> %g%% of validation rows (and ≥ %d rows) identical to a training row, fewer than %g of the training rows being repeats, and the copies inflating the validation score beyond the noise margin (else a note)",
				100*overlapFraction, overlapMinRows, 1-fewDistinctFraction)},
		Fix: "remove from the validation data every row that also appears in the training data (deduplicate before splitting)"})
	if inherent {
		f.Summary += fmt.Sprintf(" The training data has only %d distinct rows in %d, so copies are inherent to the data, not leakage.", distinct, a.trainX.Rows())
		return
	}
	f.fix = &fixCandidate{name: "deduplicate", transform: dedupVal, verify: verifyDedup, downgrade: true}
}

// fmtNum formats a number compactly for messages.
func fmtNum(v float64) string {
	switch {
	case math.IsNaN(v):
		return "nan"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	case v == math.Trunc(v) && math.Abs(v) < 1e7:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 1e7:
		return fmt.Sprintf("%.3g", v)
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.1f", v)
	case math.Abs(v) >= 1:
		return fmt.Sprintf("%.3g", v)
	case math.Abs(v) >= 1e-3:
		return fmt.Sprintf("%.3g", v)
	}
	return fmt.Sprintf("%.2e", v)
}
