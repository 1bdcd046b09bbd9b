// Package explain answers "why did my training do that?" for a kiln
// experiment: static checks of the data and the model (no training), short
// probes that run the real Fit on a subset with fixed seeds, and
// counterfactual runs that apply each proposed fix to a copy of the
// experiment and report the before/after numbers.
//
// A finding is an error or a warning only when its evidence passes the
// threshold stated in the code and in Finding.Evidence["threshold"];
// everything else is info. Hypotheses that only a counterfactual can
// confirm (learning rate too high or too low, too few updates) are dropped
// when the counterfactual run does not confirm them; static findings whose
// harm is only potential (unscaled inputs or targets, MSE for
// classification, a missing nonlinearity) become info when fixing them
// changes nothing. A static fact that is wrong whatever a run shows (a
// loss/activation/label mismatch) keeps its severity; every other finding
// is an error or warning only for an effect its probe measured beyond the
// noise margin. Each fix is also verified on top of the others (all fixes
// together against all but that one), so a fix masked by another fault is
// kept. Probes take the experiment's optimizer steps when the budget
// allows; a fix that shortened probes do not confirm is inconclusive.
// Explain never writes to the user's files.
//
//	rep, err := explain.File(ctx, "examples/seed.yaml", explain.Options{})
//	rep.WriteText(os.Stdout)
//
// # Layers
//
// finding.go (ids, severities, the Finding type), static.go (checks of the
// data, labels, model and loss without training), probe.go (the probe plan
// and runner: the real Model.Fit on a subset, in parallel, one model per
// probe, with a callback that samples gradients and updates), dynamic.go
// (findings from the probes), fixes.go (counterfactuals, their verification,
// the loss under both semantics), render.go (text, JSON, report directory).
//
// # JSON
//
// Report.WriteJSON writes schema_version 1:
//
//	{"schema_version": 1, "experiment": "examples/seed.yaml",
//	 "findings": [{"id": "inputs-not-normalized", "severity": "error|warning|info",
//	               "summary": "...", "why": "...", "evidence": {"threshold": "...", ...},
//	               "fix": "data.scale: 1/255 ...", "fix_sets": ["data.scale=1/255"],
//	               "verified": {"confirmed": true, "probe": "...", "criterion": "...",
//	                            "before": {...}, "after": {...}, "extra": {...}, "note": "...",
//	                            "inconclusive": false},
//	               "verified_with_others": {...}, "severity_basis": "..."}],
//	 "loss_semantics": {...}, "plan": {...}, "initialisation": {...},
//	 "probes": [{"name": ..., "loss": [...], "val_score": [...], ...}],
//	 "combined_fix": {"sets": [...], "verified": {...}},
//	 "blocked": "...", "elapsed_seconds": 4.8}
//
// Non-finite numbers are written as null.
package explain

// Severity grades a finding.
type Severity string

// The severities, most serious first.
const (
	// Error: training is broken, would crash, or its numbers mean something
	// other than what the user thinks.
	Error Severity = "error"
	// Warning: a real problem, shown by evidence past a stated threshold.
	Warning Severity = "warning"
	// Info: context worth knowing; nothing to fix.
	Info Severity = "info"
)

func (s Severity) rank() int {
	switch s {
	case Error:
		return 0
	case Warning:
		return 1
	}
	return 2
}

// Finding ids. They are stable: scripts match on them.
const (
	IDInputsNotNormalized          = "inputs-not-normalized"
	IDTargetsNotNormalized         = "targets-not-normalized"
	IDTrainValidationScaleMismatch = "train-validation-scale-mismatch"
	IDLossScalesWithLearningRate   = "loss-scales-with-learning-rate"
	IDSigmoidWithCCE               = "sigmoid-with-categorical-crossentropy"
	IDBinaryCrossentropyMulticlass = "binary-crossentropy-multiclass"
	IDLogitsWithoutFromLogits      = "logits-without-from-logits"
	IDDoubleSoftmax                = "double-softmax"
	IDSingleUnitSoftmax            = "single-unit-softmax"
	IDLabelEncodingMismatch        = "label-encoding-mismatch"
	IDOutputRangeMismatch          = "output-range-mismatch"
	IDMSEForClassification         = "mse-for-classification"
	IDLearningRateTooHigh          = "learning-rate-too-high"
	IDLearningRateTooLow           = "learning-rate-too-low"
	IDDeadReLU                     = "dead-relu"
	IDVanishingGradient            = "vanishing-gradient"
	IDSaturatedActivations         = "saturated-activations"
	IDLabelsNotLearnable           = "labels-not-learnable"
	IDClassImbalance               = "class-imbalance"
	IDValidationOverlapsTraining   = "validation-overlaps-training"
	IDOverfitting                  = "overfitting"
	IDMissingNonlinearity          = "missing-nonlinearity"
	IDTooFewUpdates                = "too-few-updates"
	IDBatchNormSmallBatch          = "batchnorm-small-batch"
	// IDConstantPredictions: the trained model gives (almost) every row the
	// same class, so its accuracy is the share of that class.
	IDConstantPredictions = "constant-predictions"
)

// IDs lists every finding id, in the order findings of equal severity are
// reported (root causes before their symptoms).
var IDs = []string{
	IDLabelEncodingMismatch, IDSingleUnitSoftmax, IDLogitsWithoutFromLogits, IDDoubleSoftmax,
	IDInputsNotNormalized, IDTargetsNotNormalized, IDTrainValidationScaleMismatch,
	IDSigmoidWithCCE, IDBinaryCrossentropyMulticlass, IDOutputRangeMismatch, IDMSEForClassification,
	IDLossScalesWithLearningRate, IDLearningRateTooHigh, IDLearningRateTooLow, IDTooFewUpdates,
	IDBatchNormSmallBatch, IDDeadReLU, IDVanishingGradient, IDSaturatedActivations, IDMissingNonlinearity,
	IDLabelsNotLearnable, IDClassImbalance, IDConstantPredictions, IDValidationOverlapsTraining, IDOverfitting,
}

func idRank(id string) int {
	for i, v := range IDs {
		if v == id {
			return i
		}
	}
	return len(IDs)
}

// Finding is one explained problem (or, with severity info, one fact).
type Finding struct {
	// ID is one of the stable ids above.
	ID string `json:"id"`
	// Severity is error, warning or info.
	Severity Severity `json:"severity"`
	// Summary is one sentence: what is wrong.
	Summary string `json:"summary"`
	// Why explains the mechanism for a learner.
	Why string `json:"why,omitempty"`
	// Evidence holds the numbers behind the finding, including
	// "threshold": the rule that made it an error or warning.
	Evidence map[string]any `json:"evidence"`
	// Fix says what to change, as an experiment-file change where one exists.
	Fix string `json:"fix,omitempty"`
	// FixSets are the fix as kiln --set arguments (empty when the fix is a
	// change to the data files that an experiment file cannot express).
	FixSets []string `json:"fix_sets,omitempty"`
	// Verified is the counterfactual run of the fix (nil when there is no fix).
	Verified *Verified `json:"verified,omitempty"`
	// SeverityBasis says what the severity rests on when it can differ
	// between "kiln explain --static" and the full run: with --static, that
	// the probes may change it; after the probes, why it differs from the
	// static severity (e.g. "warning without probes (--static), error after
	// them: fixing it raised the validation score beyond noise"). Empty when
	// the two agree or the finding needs the probes.
	SeverityBasis string `json:"severity_basis,omitempty"`
	// VerifiedWithOthers is the fix verified on top of the report's other
	// fixes: all fixes together against all but this one (leave-one-out).
	// A fix masked by another fault shows its effect only here; when it
	// does, the finding keeps its severity although Verified alone did not
	// confirm it.
	VerifiedWithOthers *Verified `json:"verified_with_others,omitempty"`

	fix         *fixCandidate // the counterfactual to run, if any
	severityWas Severity      // the severity before a counterfactual downgraded it ("" if none did)
	staticSev   Severity      // the severity the static checks gave it ("" for a probe's finding)
	sevReason   string        // why a probe changed the severity
}

// setSeverity changes f's severity for reason (said in SeverityBasis when
// it differs from the static one).
func (f *Finding) setSeverity(s Severity, reason string) {
	if f.Severity != s {
		f.Severity = s
		f.sevReason = reason
	}
}

// Verified is the outcome of rerunning the probe with the fix applied.
type Verified struct {
	// Confirmed is true only when the run shows the improvement the fix
	// promises, by the criterion in Criterion.
	Confirmed bool `json:"confirmed"`
	// Probe describes the run: epochs, rows, seed.
	Probe string `json:"probe"`
	// Criterion is the rule Confirmed was decided by.
	Criterion string `json:"criterion"`
	// Before and After are the probe's numbers without and with the fix
	// (keys such as loss, accuracy, val_loss, val_accuracy).
	Before map[string]float64 `json:"before"`
	After  map[string]float64 `json:"after"`
	// Extra holds fix-specific numbers (e.g. the fixed run at lr×k).
	Extra map[string]any `json:"extra,omitempty"`
	// Note says in words what the run showed.
	Note string `json:"note"`
	// Inconclusive is true when the fix was not confirmed by a probe that
	// could not have shown it: the probe took fewer optimizer steps than the
	// experiment (Plan.Shortened).
	Inconclusive bool `json:"inconclusive,omitempty"`
}
