package explain

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/config"
	"github.com/kiln-ml/kiln/data"
	"github.com/kiln-ml/kiln/layers"
)

// DefaultBudget is the time one explain aims to finish in.
const DefaultBudget = 60 * time.Second

// DefaultLRFactor is k of the learning-rate probe (the question compared
// lr 0.01 with 0.03).
const DefaultLRFactor = 3

// Options tune an explanation.
type Options struct {
	// Sets are --set overrides applied to the experiment file (File only).
	Sets []string
	// Budget is the time to aim for (default 60 s). A larger budget probes
	// more rows and epochs, which makes the dynamic findings more certain.
	Budget time.Duration
	// LRFactor is k of the learning-rate probe (default 3).
	LRFactor float64
	// Workers is the number of probes run at once (default GOMAXPROCS).
	Workers int
	// Progress, if set, receives one line per probe as it finishes.
	Progress io.Writer
	// Live, with Progress a terminal, keeps a status line under those
	// lines: probes done and running, time spent and left of the budget.
	Live bool
	// NoProbes skips every training run: static checks only.
	NoProbes bool
}

// Report is the outcome of an explanation. Its JSON form is stable.
type Report struct {
	// SchemaVersion is 1.
	SchemaVersion int `json:"schema_version"`
	// Experiment is the file explained; Sets the overrides applied.
	Experiment string   `json:"experiment"`
	Sets       []string `json:"sets,omitempty"`
	// Findings, most serious first.
	Findings []*Finding `json:"findings"`
	// LossSemantics compares the loss under Keras' TF backend (cached
	// logits) and the probability path of TF.js / Keras JAX and torch,
	// when the output activation feeds a cross-entropy.
	LossSemantics *LossSemantics `json:"loss_semantics,omitempty"`
	// Plan is what the probes ran on.
	Plan *Plan `json:"plan,omitempty"`
	// Initialisation describes the untrained model (from the first probe).
	Initialisation *Initialisation `json:"initialisation,omitempty"`
	// Probes summarises each training run explain made.
	Probes []*ProbeSummary `json:"probes"`
	// CombinedFix is every confirmed config fix applied together, verified.
	CombinedFix *CombinedFix `json:"combined_fix,omitempty"`
	// Blocked says why the probes of the experiment as written could not
	// run (e.g. fit would fail on the labels); "" if they ran.
	Blocked string `json:"blocked,omitempty"`
	// ElapsedSeconds is the wall time of the explanation.
	ElapsedSeconds float64 `json:"elapsed_seconds"`

	probes []*probeResult // for plots
}

// Initialisation is the untrained model on the probe's rows: a classifier
// with small logits starts at a cross-entropy of ln(C).
type Initialisation struct {
	Loss       float64 `json:"loss"`
	LnClasses  float64 `json:"ln_classes,omitempty"`
	LogitRMS   float64 `json:"logit_rms"`
	Score      float64 `json:"score"`
	ScoreName  string  `json:"score_name"`
	Plausible  bool    `json:"plausible"`
	Comparison string  `json:"comparison"`
}

// CombinedFix is the fixes of the report applied together.
type CombinedFix struct {
	Sets     []string  `json:"sets"`
	Verified *Verified `json:"verified"`
}

// Counts returns the number of findings per severity.
func (r *Report) Counts() map[Severity]int {
	c := map[Severity]int{}
	for _, f := range r.Findings {
		c[f.Severity]++
	}
	return c
}

// Has reports whether the report holds finding id with severity error or warning.
func (r *Report) Has(id string) bool {
	for _, f := range r.Findings {
		if f.ID == id && f.Severity != Info {
			return true
		}
	}
	return false
}

// Find returns the finding id, or nil.
func (r *Report) Find(id string) *Finding {
	for _, f := range r.Findings {
		if f.ID == id {
			return f
		}
	}
	return nil
}

// File loads the experiment at path with opts.Sets and explains it. It
// never writes to the experiment's files.
func File(ctx context.Context, path string, opts Options) (*Report, error) {
	e, err := config.Load(path, opts.Sets)
	if err != nil {
		return nil, err
	}
	rep, err := Explain(ctx, e, opts)
	if rep != nil {
		rep.Sets = opts.Sets
	}
	return rep, err
}

// analysis is the state of one explanation.
type analysis struct {
	ctx   context.Context
	opts  Options
	start time.Time
	exp   *config.Experiment

	run       *config.Run // the experiment built (labels as stored if rawLabels)
	rawLabels bool        // the data section's labels encoding failed; run holds the labels as stored
	buildErr  error       // why Build of the experiment as written failed
	blockErr  error       // why Fit of the experiment would fail
	layers    []layerInfo
	task      task
	labels    labelInfo
	valLabels *labelInfo
	xStats    featureStats
	lr        float64
	secPerRow float64

	trainX, trainY *data.Array // the training rows Fit would train on (after validation_split)
	val            *kiln.XY    // the validation data Fit would use (nil: none)
	probeValY      *data.Array // the probes' validation labels
	valSource      string

	findings []*Finding
	plan     *Plan
	probeSet *probeSet
	base     *probeResult
	lrk      *probeResult
	lrLow    *probeResult // the run at lr/10
	perm     *probeResult
	sem      *LossSemantics
	combined *CombinedFix
}

// layerInfo describes one layer of the built model.
type layerInfo struct {
	pos   int // index in Sequential.Layers()
	spec  int // index in Experiment.Model
	class string
	name  string
	units int
	act   string // activation name; "" for layers without one
	dense *layers.Dense
}

func (l layerInfo) key(arg string) string {
	return fmt.Sprintf("model.%d.%s.%s", l.spec, l.class, arg)
}

// Explain explains the experiment e (already loaded, overrides applied).
func Explain(ctx context.Context, e *config.Experiment, opts Options) (*Report, error) {
	if opts.Budget <= 0 {
		opts.Budget = DefaultBudget
	}
	if opts.LRFactor <= 1 {
		opts.LRFactor = DefaultLRFactor
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	a := &analysis{ctx: ctx, opts: opts, start: time.Now(), exp: e}
	if err := a.build(); err != nil {
		return nil, err
	}
	a.static()
	for _, f := range a.findings {
		f.staticSev = f.Severity
		if opts.NoProbes && !staticFact(f.ID) && f.fix != nil {
			f.SeverityBasis = "static check only (--static): the probes measure the effect of fixing it and may lower this to a note " +
				"(no effect beyond noise) or raise it (a large effect)"
		}
	}
	if !opts.NoProbes {
		if err := a.probe(); err != nil {
			return nil, err
		}
	}
	return a.report(), nil
}

// build compiles the model and loads the data. When the data section's
// label encoding fails, it loads the labels as stored so the static checks
// can explain the failure.
func (a *analysis) build() error {
	r, err := config.Build(a.exp, io.Discard)
	if err != nil {
		if _, merr := config.BuildModel(a.exp, io.Discard); merr != nil {
			return merr // a problem with the file itself: config explains it
		}
		if a.exp.Data.Labels == "" {
			return err
		}
		e2, err2 := withSets(a.exp, []string{"data.labels="})
		if err2 != nil {
			return err
		}
		r2, err2 := config.Build(e2, io.Discard)
		if err2 != nil {
			return err
		}
		a.buildErr, a.rawLabels, a.blockErr = err, true, err
		r = r2
		r.Exp = a.exp
	}
	a.run = r
	a.lr = sig(float64(r.Model.Optimizer().LearningRate()), 6) // float32 → the number as written
	a.describeModel()
	a.splitData()
	a.labels = labelsOf(a.run.Y)
	if a.val != nil {
		vl := labelsOf(a.val.Y)
		a.valLabels = &vl
	}
	a.xStats = statsOf(a.trainX, 10000)
	a.task = a.detectTask()
	if a.blockErr == nil {
		a.blockErr = a.fitCheck()
	}
	return nil
}

// withSets returns a copy of e with the overrides sets applied, through the
// same parser as --set.
func withSets(e *config.Experiment, sets []string) (*config.Experiment, error) {
	if len(sets) == 0 {
		c := *e
		return &c, nil
	}
	b, err := e.Marshal()
	if err != nil {
		return nil, err
	}
	name := e.Path
	if name == "" {
		name = "experiment"
	}
	e2, err := config.Parse(b, name, sets)
	if err != nil {
		return nil, err
	}
	e2.Path = e.Path
	return e2, nil
}

func (a *analysis) describeModel() {
	for i, l := range a.run.Model.Layers() {
		// The layer's item in the model section: after the Input item, or
		// at its own index when the first layer declares the input
		// (input_shape, as Keras 2 allows).
		spec := i + 1
		if len(a.exp.Model) > 0 && a.exp.Model[0].Type != "Input" {
			spec = i
		}
		li := layerInfo{pos: i, spec: spec, class: l.ClassName(), name: l.Name()}
		if s := l.OutputShape(); len(s) > 0 {
			li.units = s[len(s)-1]
		}
		if act, ok := l.(layers.Activated); ok {
			li.act = act.ActivationName()
		}
		if d, ok := l.(*layers.Dense); ok {
			li.dense = d
		}
		a.layers = append(a.layers, li)
	}
}

// outputLayer is the last layer; outputDense the last Dense layer.
func (a *analysis) outputLayer() layerInfo { return a.layers[len(a.layers)-1] }

func (a *analysis) outputDense() (layerInfo, bool) {
	for i := len(a.layers) - 1; i >= 0; i-- {
		if a.layers[i].dense != nil {
			return a.layers[i], true
		}
	}
	return layerInfo{}, false
}

// actKey is the --set key that changes the output activation.
func (a *analysis) actKey() string {
	for i := len(a.layers) - 1; i >= 0; i-- {
		if a.layers[i].act != "" {
			return a.layers[i].key("activation")
		}
	}
	return a.outputLayer().key("activation")
}

// splitData works out the training and validation rows as Fit would.
func (a *analysis) splitData() {
	r := a.run
	a.trainX, a.trainY = r.X, r.Y
	switch {
	case r.Fit.ValidationData != nil:
		a.val, a.valSource = r.Fit.ValidationData, "the test split (fit.validation_data: test)"
	case r.Fit.ValidationSplit > 0:
		n := r.X.Rows()
		at := int(float64(n) * (1 - r.Fit.ValidationSplit))
		if at > 0 && at < n {
			a.val = &kiln.XY{X: r.X.Slice(at, n), Y: r.Y.Slice(at, n)}
			a.trainX, a.trainY = r.X.Slice(0, at), r.Y.Slice(0, at)
			a.valSource = fmt.Sprintf("the last %d training rows (fit.validation_split: %g)", n-at, r.Fit.ValidationSplit)
		}
	case r.Test != nil:
		a.valSource = "the test split (not used by fit)"
	}
}

// fitCheck asks the model whether Fit would accept the data, on a few rows.
func (a *analysis) fitCheck() error {
	m := a.run.Model
	n := min(64, a.trainX.Rows())
	if n == 0 {
		return &kiln.InputError{Err: errors.New("the training data is empty")}
	}
	if _, err := m.Evaluate(a.ctx, a.trainX.Slice(0, n), a.trainY.Slice(0, n), kiln.EvaluateOptions{Workers: 1}); err != nil {
		return err
	}
	if a.val != nil && a.val.X.Rows() > 0 {
		k := min(64, a.val.X.Rows())
		if _, err := m.Evaluate(a.ctx, a.val.X.Slice(0, k), a.val.Y.Slice(0, k), kiln.EvaluateOptions{Workers: 1}); err != nil {
			return err
		}
	}
	return nil
}

// detectTask decides what the model is asked to do.
func (a *analysis) detectTask() task {
	var t task
	t.setOutput(a.run.Model.LossPlan())
	l := a.labels
	maxClass := int(l.Max) + 1
	switch t.loss {
	case "sparse_categorical_crossentropy":
		t.kind, t.classes = kindMulticlass, max(t.units, maxClass)
	case "categorical_crossentropy":
		t.kind, t.classes = kindMulticlass, t.units
		if l.Width == 1 && l.Integral {
			t.classes = max(t.units, maxClass)
		}
	case "binary_crossentropy":
		switch {
		case t.units == 1 && l.Width == 1 && l.Integral && l.Max > 1 && !l.TooMany:
			t.kind, t.classes = kindMulticlass, maxClass
		case t.units == 1:
			t.kind, t.classes = kindBinary, 2
		case l.OneHot:
			t.kind, t.classes = kindMulticlass, t.units
		default:
			t.kind = kindMultilabel
		}
	default:
		switch {
		case l.OneHot && l.Width > 1:
			t.kind, t.classes = kindMulticlass, l.Width
		case t.units == 1 && l.Width == 1 && l.Binary && (t.act == "sigmoid" || a.hasAccuracy()):
			t.kind, t.classes = kindBinary, 2
		case t.units == 1 && l.Width == 1 && l.Integral && !l.TooMany && len(l.Distinct) <= 20 && l.Min >= 0 && a.hasAccuracy():
			t.kind, t.classes = kindMulticlass, maxClass
		default:
			t.kind = kindRegression
		}
	}
	if t.kind == kindMulticlass && t.classes < 2 {
		t.classes = 2
	}
	return t
}

func (a *analysis) hasAccuracy() bool {
	for _, m := range a.exp.Compile.Metrics {
		if strings.Contains(m, "acc") {
			return true
		}
	}
	return false
}

// add records a finding.
func (a *analysis) add(f *Finding) *Finding {
	if f.Evidence == nil {
		f.Evidence = map[string]any{}
	}
	a.findings = append(a.findings, f)
	return f
}

func (a *analysis) find(id string) *Finding {
	for _, f := range a.findings {
		if f.ID == id {
			return f
		}
	}
	return nil
}

// serious reports whether finding id is present as an error or warning.
func (a *analysis) serious(id string) bool {
	f := a.find(id)
	return f != nil && f.Severity != Info
}

func (a *analysis) report() *Report {
	sort.SliceStable(a.findings, func(i, j int) bool {
		fi, fj := a.findings[i], a.findings[j]
		if fi.Severity.rank() != fj.Severity.rank() {
			return fi.Severity.rank() < fj.Severity.rank()
		}
		return idRank(fi.ID) < idRank(fj.ID)
	})
	for _, f := range a.findings {
		if f.staticSev != "" && f.staticSev != f.Severity && f.SeverityBasis == "" {
			reason := f.sevReason
			if reason == "" {
				reason = "the probes measured its effect"
			}
			f.SeverityBasis = fmt.Sprintf("%s without probes (--static), %s after them: %s", f.staticSev, f.Severity, reason)
		}
	}
	rep := &Report{SchemaVersion: 1, Experiment: a.exp.Path, Findings: a.findings, LossSemantics: a.sem,
		Plan: a.plan, CombinedFix: a.combined}
	if rep.Findings == nil {
		rep.Findings = []*Finding{}
	}
	if a.blockErr != nil {
		rep.Blocked = a.blockErr.Error()
	}
	if b := a.base; b != nil && b.err == nil {
		in := &Initialisation{Loss: sig(b.initLoss, 4), LogitRMS: sig(b.initLogitRMS, 4), Score: round(b.initScore, 4),
			ScoreName: a.task.scoreName(), Plausible: true}
		if a.task.isClassification() && a.task.ce && a.task.loss != "binary_crossentropy" {
			lnC := math.Log(float64(a.task.classes))
			in.LnClasses = sig(lnC, 4)
			in.Plausible = b.initLoss <= marginLossFactor*lnC
			in.Comparison = fmt.Sprintf("loss %s before training; an uninformed %d-class model scores ln(%d) = %.2f", fmtNum(b.initLoss), a.task.classes, a.task.classes, lnC)
			if !in.Plausible {
				in.Comparison += fmt.Sprintf(": the initial logits are too large (RMS %s)", fmtNum(b.initLogitRMS))
			}
		} else {
			in.Comparison = fmt.Sprintf("loss %s before training, output logit RMS %s", fmtNum(b.initLoss), fmtNum(b.initLogitRMS))
		}
		rep.Initialisation = in
	}
	if a.probeSet != nil {
		for _, p := range a.probeSet.all {
			rep.Probes = append(rep.Probes, p.summary())
			rep.probes = append(rep.probes, p)
		}
	}
	if rep.Probes == nil {
		rep.Probes = []*ProbeSummary{}
	}
	rep.ElapsedSeconds = round(time.Since(a.start).Seconds(), 2)
	return rep
}
