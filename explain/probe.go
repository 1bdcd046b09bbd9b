package explain

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/callbacks"
	"github.com/kiln-ml/kiln/config"
	"github.com/kiln-ml/kiln/data"
	"github.com/kiln-ml/kiln/layers"
	"github.com/kiln-ml/kiln/losses"
)

// flopsPerSecond is the assumed training speed of one core, used to size the
// probes deterministically from the budget (measured ≈ 1–3 GFLOP/s for
// kiln's Dense on one core; the lower end keeps within budget).
const flopsPerSecond = 3.0e9

// Plan is what the probes run on.
type Plan struct {
	// Rows and ValidationRows are the probe's training and validation rows.
	Rows           int `json:"rows"`
	ValidationRows int `json:"validation_rows"`
	// Epochs of every probe.
	Epochs int `json:"epochs"`
	// Validation says where the probe's validation rows come from.
	Validation string `json:"validation"`
	// BatchSize, Seed and LearningRate are the experiment's.
	BatchSize    int     `json:"batch_size"`
	Seed         int64   `json:"seed"`
	LearningRate float64 `json:"learning_rate"`
	// LRFactor is k of the learning-rate probe.
	LRFactor float64 `json:"lr_factor"`
	// BudgetSeconds is the time budget the plan was sized for, and
	// SecondsPerRow the measured cost of training one row for one epoch.
	BudgetSeconds float64 `json:"budget_seconds"`
	SecondsPerRow float64 `json:"seconds_per_row"`
	// FullData is true when the probe trains on every training row, so its
	// first epoch is the experiment's first epoch.
	FullData bool `json:"full_data"`
	// ConfiguredSteps is the optimizer steps of the experiment as written
	// (epochs × batches per epoch); Steps those of each probe.
	ConfiguredSteps int `json:"configured_steps"`
	Steps           int `json:"steps"`
	// Shortened is true when the probes take fewer optimizer steps than the
	// experiment (the budget did not allow the full run): a fix the probes
	// do not confirm is then "inconclusive", not "not confirmed".
	Shortened bool `json:"shortened,omitempty"`

	trainIdx, valIdx []int
	holdOut          bool
}

func (p *Plan) describe() string {
	ep := "epochs"
	if p.Epochs == 1 {
		ep = "epoch"
	}
	return fmt.Sprintf("%d %s, %d rows", p.Epochs, ep, p.Rows)
}

// makePlan sizes the probes from the budget: the number of training runs
// expected, the measured cost of training this model on this data (a short
// timed fit; a FLOP estimate when the experiment cannot run), and the cores
// available. The total planned work is about half the budget.
func (a *analysis) makePlan(runs int) *Plan {
	params := float64(a.run.Model.CountParams())
	n := a.trainX.Rows()
	cfgEpochs := max(a.run.Fit.Epochs-a.run.Fit.InitialEpoch, 1)
	valN := 0
	if a.val != nil {
		valN = a.val.X.Rows()
	}
	// Seconds of one core to train one row for one epoch, and to predict one row.
	secTrain := a.calibrate()
	if secTrain <= 0 {
		secTrain = (6*params + 2e4) / flopsPerSecond
	}
	secPredict := secTrain / 3
	a.secPerRow = secTrain
	allowed := a.opts.Budget.Seconds() * 0.5 * float64(a.opts.Workers)
	cost := func(rows, vrows, epochs int) float64 {
		// Training, plus validation and explain's own scoring of ≤ 2000
		// training rows after every epoch, plus a fixed cost per run.
		per := float64(rows)*secTrain + float64(vrows+min(rows, 2000))*secPredict
		return float64(runs) * (float64(epochs)*per + 0.02)
	}
	valFor := func(rows int) int {
		v := valN
		if v == 0 {
			v = rows / 5
		}
		return min(v, 10000)
	}
	p := &Plan{BatchSize: a.run.Fit.BatchSize, Seed: a.exp.Seed, LearningRate: a.lr, LRFactor: a.opts.LRFactor,
		BudgetSeconds: a.opts.Budget.Seconds(), SecondsPerRow: sig(secTrain, 3)}
	if p.BatchSize <= 0 {
		p.BatchSize = 32
	}
	rows, epochs := n, cfgEpochs
	full := cost(n, valFor(n), cfgEpochs)
	// Run as configured when the budget allows: faults that live in the
	// number of updates (one step per epoch, too few epochs) only show in
	// a probe that takes the experiment's steps.
	if !(full <= allowed*0.5 || cfgEpochs <= 5 && full <= allowed) {
		// Too big to run as configured. Prefer every training row (so the
		// probe's first epoch is the user's first epoch) with as many
		// epochs as fit, then the fixed fallbacks.
		e5, e3, e2 := min(cfgEpochs, 5), min(cfgEpochs, 3), min(cfgEpochs, 2)
		found := false
		if per := cost(n, valFor(n), 1); per > 0 {
			if e := min(cfgEpochs, int(allowed*0.5/per)); e >= e5 {
				rows, epochs, found = n, e, true
			}
		}
		cands := [][2]int{{n, e5}, {n, e3}, {n, e2}, {20000, e3}, {n, 1}, {10000, e3}, {10000, 1}, {5000, e3}, {5000, 1}, {2000, e3}}
		for _, c := range cands {
			if found {
				break
			}
			r, e := min(c[0], n), c[1]
			if cost(r, valFor(r), e) <= allowed {
				rows, epochs, found = r, e, true
				break
			}
		}
		if !found {
			epochs = 1
			rows = max(min(n, 500), min(n, int(allowed/cost(1, 0, 1))))
		}
	}
	p.Rows, p.Epochs = rows, epochs
	p.FullData = rows == n
	p.trainIdx = allRows(n)
	if rows < n {
		p.trainIdx = randomSubset(n, rows, uint64(a.exp.Seed)+1)
	}
	if valN > 0 {
		p.ValidationRows = valFor(rows)
		p.valIdx = randomSubset(valN, p.ValidationRows, uint64(a.exp.Seed)+2)
		p.Validation = a.valSource
	} else {
		// No validation data: hold out a fifth of the probe rows.
		p.holdOut = true
		hold := max(rows/5, 1)
		if rows-hold < 1 {
			hold = 0
		}
		perm := randomSubset(len(p.trainIdx), hold, uint64(a.exp.Seed)+3)
		in := map[int]bool{}
		for _, i := range perm {
			in[i] = true
		}
		var tr, va []int
		for k, i := range p.trainIdx {
			if in[k] {
				va = append(va, i)
			} else {
				tr = append(tr, i)
			}
		}
		p.trainIdx, p.valIdx = tr, va
		p.Rows, p.ValidationRows = len(tr), len(va)
		p.FullData = false
		p.Validation = fmt.Sprintf("a hold-out of %d training rows (the experiment has no validation data)", len(va))
	}
	batches := func(rows int) int { return (rows + p.BatchSize - 1) / p.BatchSize }
	p.ConfiguredSteps = cfgEpochs * batches(n)
	p.Steps = p.Epochs * batches(p.Rows)
	// A hold-out of a fifth of the rows (no validation data) keeps 80% of
	// the steps: that is not counted as shortened.
	p.Shortened = p.Steps*4 < p.ConfiguredSteps*3
	if p.holdOut {
		a.probeValY = takeRows(a.trainY, p.valIdx)
	} else {
		a.probeValY = takeRows(a.val.Y, p.valIdx)
	}
	return p
}

// calibrate times a short fit of the experiment (one epoch of up to 1024
// rows, one core) and returns the seconds per training row; 0 if it cannot
// run.
func (a *analysis) calibrate() float64 {
	if a.blockErr != nil {
		return 0
	}
	r, err := config.Build(a.exp, io.Discard)
	if err != nil {
		return 0
	}
	n := min(a.trainX.Rows(), 1024)
	x, y := r.X.Slice(0, n), r.Y.Slice(0, n)
	opts := r.Fit
	opts.Epochs, opts.InitialEpoch, opts.Verbose, opts.Workers, opts.Out = 1, 0, 0, 1, io.Discard
	opts.ValidationData, opts.ValidationSplit, opts.Callbacks = nil, 0, nil
	t0 := time.Now()
	if _, err := r.Model.Fit(a.ctx, x, y, opts); err != nil {
		return 0
	}
	return time.Since(t0).Seconds() / float64(n)
}

// probeData is the data one probe trains and validates on.
type probeData struct {
	x, y   *data.Array
	val    *kiln.XY
	valIdx []int // indices of val rows in the experiment's validation data (for reporting)
}

// fixCandidate is a counterfactual: the experiment with sets applied and/or
// the data transformed.
type fixCandidate struct {
	name       string
	sets       []string
	transform  func(*probeData) *probeData
	beforeSets []string // run a separate "before" probe with these sets (nil: the base probe)
	atK        bool     // also run the fix at lr×k
	verify     func(a *analysis, f *Finding, before, after *probeResult) *Verified
	downgrade  bool // make the finding info when the fix does not help
	drop       bool // the finding is a hypothesis: remove it when the fix does not help
	extra      []string
}

// probeSpec is one training run.
type probeSpec struct {
	label     string // e.g. "base", "lr×3", "fix: data.scale=1/255"
	sets      []string
	transform func(*probeData) *probeData
	tname     string // names transform (for de-duplication)
	permute   bool
}

func (s *probeSpec) key() string {
	sets := append([]string(nil), s.sets...)
	sort.Strings(sets)
	return strings.Join(sets, "|") + "#" + s.tname + fmt.Sprint(s.permute)
}

// probeResult is what one probe measured.
type probeResult struct {
	spec    *probeSpec
	lr      float64
	err     error // the run could not start (e.g. fit rejects the data)
	rows    int
	seconds float64

	recording // what Fit reported, step by step and epoch by epoch

	initLoss, initScore, initLogitRMS float64
	trainScore, valScore              []float64 // explain's accuracy/R² per epoch
	valLossSE                         []float64 // per epoch: the standard error of the validation loss (rowLossSE)
	logitRMS                          float64
	layerStats                        []layerStat
	initLayers                        []layerStat
	lossTF                            float64 // final loss on validation rows, cached-logits semantics
	lossProb                          float64 // final loss, probability semantics
	initTF                            float64
	initProb                          float64
	rowSum                            float64 // mean Σ outputs per row
	recall                            map[int]float64
	valHits                           []bool  // per validation row: predicted class correct (final model)
	predShare                         float64 // share of validation rows given the most predicted class
	predClass                         int     // that class
	valN                              int
	semanticsApp                      bool // the two semantics differ for this model
}

// layerStat is one hidden layer's activation statistics.
type layerStat struct {
	Layer     string  `json:"layer"`
	Act       string  `json:"activation"`
	Units     int     `json:"units"`
	Dead      float64 `json:"dead_fraction,omitempty"`      // relu units that are 0 for every row
	Saturated float64 `json:"saturated_fraction,omitempty"` // sigmoid/tanh values within 1% of a bound
}

// last returns the last value of v (NaN if empty).
func last(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	return v[len(v)-1]
}

// probeSet runs probes in parallel, each at most once.
type probeSet struct {
	a    *analysis
	mu   sync.Mutex
	done map[string]*probeResult
	all  []*probeResult
	// finished and running count probes for the live status line.
	finished, running int
	status            bool // a status line is on screen
}

// redraw writes the live status line (with ps.mu held): probes done and
// running, the time spent, and the time left of the budget.
func (ps *probeSet) redraw() {
	o := ps.a.opts
	if o.Progress == nil || !o.Live {
		return
	}
	spent := time.Since(ps.a.start)
	left := ""
	if b := o.Budget; b > spent {
		left = fmt.Sprintf(", ~%s left of the %s budget", (b - spent).Round(time.Second), b.Round(time.Second))
	}
	fmt.Fprintf(o.Progress, "\r\x1b[Kkiln explain: %d probe(s) done, %d running, %s%s", ps.finished, ps.running, spent.Round(100*time.Millisecond), left)
	ps.status = true
}

// clearStatus removes the live status line (with ps.mu held).
func (ps *probeSet) clearStatus() {
	if ps.status {
		io.WriteString(ps.a.opts.Progress, "\r\x1b[K")
		ps.status = false
	}
}

// runAll runs specs (deduplicated) with up to Workers at a time and returns
// their results in order.
func (ps *probeSet) runAll(specs []*probeSpec) []*probeResult {
	out := make([]*probeResult, len(specs))
	sem := make(chan struct{}, ps.a.opts.Workers)
	var wg sync.WaitGroup
	for i, s := range specs {
		ps.mu.Lock()
		if r, ok := ps.done[s.key()]; ok {
			ps.mu.Unlock()
			out[i] = r
			continue
		}
		r := &probeResult{spec: s}
		ps.done[s.key()] = r
		ps.all = append(ps.all, r)
		ps.mu.Unlock()
		out[i] = r
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			ps.mu.Lock()
			ps.running++
			ps.redraw()
			ps.mu.Unlock()
			ps.a.runProbe(r)
			ps.mu.Lock()
			ps.running--
			ps.finished++
			if w := ps.a.opts.Progress; w != nil {
				ps.clearStatus()
				fmt.Fprintf(w, "kiln explain: probe %-40s %5.1fs  %s\n", s.label, r.seconds, r.brief())
				ps.redraw()
			}
			ps.mu.Unlock()
		}()
	}
	wg.Wait()
	if ps.a.opts.Progress != nil {
		ps.mu.Lock()
		ps.clearStatus()
		ps.mu.Unlock()
	}
	return out
}

func (r *probeResult) brief() string {
	if r.err != nil {
		return "fit failed: " + firstSentence(r.err.Error())
	}
	return fmt.Sprintf("loss %s, val score %s", fmtNum(last(r.epochLoss)), fmtNum(last(r.valScore)))
}

// probeData builds the data of one probe from a built run.
func (a *analysis) probeData(r *config.Run) (*probeData, error) {
	p := a.plan
	x, y := r.X, r.Y
	var vx, vy *data.Array
	switch {
	case p.holdOut:
		vx, vy = takeRows(x, p.valIdx), takeRows(y, p.valIdx)
	case r.Fit.ValidationData != nil:
		vx, vy = takeRows(r.Fit.ValidationData.X, p.valIdx), takeRows(r.Fit.ValidationData.Y, p.valIdx)
	case r.Fit.ValidationSplit > 0:
		n := x.Rows()
		at := int(float64(n) * (1 - r.Fit.ValidationSplit))
		vx, vy = takeRows(x.Slice(at, n), p.valIdx), takeRows(y.Slice(at, n), p.valIdx)
		x, y = x.Slice(0, at), y.Slice(0, at)
	}
	pd := &probeData{valIdx: p.valIdx}
	if p.FullData && len(p.trainIdx) == x.Rows() {
		pd.x, pd.y = x, y
	} else {
		pd.x, pd.y = takeRows(x, p.trainIdx), takeRows(y, p.trainIdx)
	}
	if vx != nil {
		pd.val = &kiln.XY{X: vx, Y: vy}
	}
	return pd, nil
}

// runProbe builds the experiment with the probe's sets, trains it on the
// plan's rows with the real Fit, and measures.
func (a *analysis) runProbe(res *probeResult) {
	t0 := time.Now()
	defer func() { res.seconds = round(time.Since(t0).Seconds(), 2) }()
	s := res.spec
	e, err := withSets(a.exp, s.sets)
	if err != nil {
		res.err = err
		return
	}
	r, err := config.Build(e, io.Discard)
	if err != nil {
		res.err = err
		return
	}
	m := r.Model
	res.lr = sig(float64(m.Optimizer().LearningRate()), 6)
	pd, err := a.probeData(r)
	if err != nil {
		res.err = err
		return
	}
	if s.transform != nil {
		pd = s.transform(pd)
	}
	if s.permute {
		perm := rand.New(rand.NewPCG(uint64(a.exp.Seed)+7, 0x7065726d)).Perm(pd.y.Rows())
		pd.y = takeRows(pd.y, perm)
	}
	res.rows = pd.x.Rows()
	t := a.taskFor(m)
	ctx, cancel := context.WithCancel(a.ctx)
	defer cancel()

	// Before training: loss, score, logit scale and activations.
	trainIdx := spread(pd.x.Rows(), 2000)
	sample := &kiln.XY{X: takeRows(pd.x, trainIdx), Y: takeRows(pd.y, trainIdx)}
	ev, err := m.Evaluate(ctx, sample.X, sample.Y, kiln.EvaluateOptions{Workers: 1})
	if err != nil {
		res.err = err
		return
	}
	if pd.val != nil {
		if _, err := m.Evaluate(ctx, pd.val.X.Slice(0, min(64, pd.val.X.Rows())), pd.val.Y.Slice(0, min(64, pd.val.Y.Rows())), kiln.EvaluateOptions{Workers: 1}); err != nil {
			res.err = err
			return
		}
	}
	res.initLoss = ev.Values[0]
	scoreOn := pd.val
	if scoreOn == nil {
		scoreOn = sample
	}
	statIdx := spread(scoreOn.X.Rows(), 512)
	statX := takeRows(scoreOn.X, statIdx)
	res.initLayers, _ = layerActivations(m, statX)
	res.initScore, res.initLogitRMS, res.initTF, res.initProb = a.measure(ctx, m, &t, scoreOn)

	opts := r.Fit
	opts.Epochs = a.plan.Epochs + opts.InitialEpoch
	opts.ValidationSplit = 0
	opts.ValidationData = pd.val
	opts.Verbose = 0
	opts.Workers = 1
	opts.Out = io.Discard
	n := pd.x.Rows()
	bs := opts.BatchSize
	if bs <= 0 {
		bs = 32
	}
	rec := newRecorder(&res.recording, kernelsOf(m), (n+bs-1)/bs, a.plan.Epochs, cancel)
	rec.onEpoch = func(int) {
		tr, _, _, _ := a.measure(ctx, m, &t, sample)
		res.trainScore = append(res.trainScore, tr)
		if pd.val != nil {
			vs, se := a.measureVal(ctx, m, &t, pd.val)
			res.valScore = append(res.valScore, vs)
			res.valLossSE = append(res.valLossSE, se)
		}
	}
	opts.Callbacks = append(append([]callbacks.Callback(nil), opts.Callbacks...), rec)
	_, err = m.Fit(ctx, pd.x, pd.y, opts)
	if err != nil && !(res.nonFinite && errors.Is(err, context.Canceled)) {
		if kiln.IsInputError(err) || a.ctx.Err() == nil {
			res.err = err
			return
		}
		res.aborted = "stopped: " + err.Error()
	}
	rec.finish()
	if res.nonFinite {
		return
	}
	res.layerStats, _ = layerActivations(m, statX)
	_, res.logitRMS, res.lossTF, res.lossProb = a.measure(ctx, m, &t, scoreOn)
	res.valN = scoreOn.X.Rows()
	res.semanticsApp = t.ce && t.outputLogits
	if t.isClassification() {
		res.recall, res.rowSum, res.valHits, res.predShare, res.predClass = recallOf(ctx, m, &t, scoreOn)
	}
}

// taskFor is the analysis' task with the probe model's output layer.
func (a *analysis) taskFor(m *kiln.Sequential) task {
	t := a.task
	t.setOutput(m.LossPlan())
	if t.kind == kindMulticlass && t.units > 1 {
		t.classes = t.units
	}
	if t.loss == "binary_crossentropy" && t.units == 1 && t.kind == kindMulticlass {
		t.kind = kindBinary
	}
	if t.kind == kindBinary && t.units > 1 {
		t.kind = kindMulticlass
	}
	return t
}

// measure returns the score, the RMS of the output logits and the loss under
// both semantics (cached logits; probabilities) on xy.
func (a *analysis) measure(ctx context.Context, m *kiln.Sequential, t *task, xy *kiln.XY) (score, logitRMS, lossTF, lossProb float64) {
	lg, err := m.PredictLogits(ctx, xy.X, kiln.EvaluateOptions{Workers: 1, BatchSize: 256})
	if err != nil {
		return math.NaN(), math.NaN(), math.NaN(), math.NaN()
	}
	n := xy.X.Rows()
	logits := lg.F32
	score = t.score(logits, xy.Y, allRows(n), nil)
	logitRMS = math.Sqrt(sumSq(logits) / float64(max(len(logits), 1)))
	lossTF, lossProb = semanticLosses(m, t, logits, xy.Y, n)
	return
}

// measureVal returns the score on xy and the standard error of the mean
// loss over its rows (the per-row losses' SD / √rows): the noise of a
// validation loss as an estimate of the model's expected loss.
func (a *analysis) measureVal(ctx context.Context, m *kiln.Sequential, t *task, xy *kiln.XY) (score, lossSE float64) {
	lg, err := m.PredictLogits(ctx, xy.X, kiln.EvaluateOptions{Workers: 1, BatchSize: 256})
	if err != nil {
		return math.NaN(), math.NaN()
	}
	n := xy.X.Rows()
	score = t.score(lg.F32, xy.Y, allRows(n), nil)
	return score, rowLossSE(m, t, lg.F32, xy.Y, n)
}

// rowLossSE computes each row's loss (as the model trains it) and returns
// their SD / √n; NaN when the loss cannot be computed row by row.
func rowLossSE(m *kiln.Sequential, t *task, logits []float32, y *data.Array, n int) float64 {
	l := m.Loss()
	c := t.units
	yv := rowsF32(y, allRows(n))
	w := y.RowLen()
	if n < 2 || c <= 0 || len(yv) != n*w || len(logits) != n*c {
		return math.NaN()
	}
	pred, fromLogits := t.outputs(logits, n), t.ce && t.fromLogits
	if t.ce && t.outputLogits {
		pred, fromLogits = logits, true
	}
	var s, sq float64
	for i := 0; i < n; i++ {
		v := float64(l.Compute(pred[i*c:(i+1)*c], yv[i*w:(i+1)*w], 1, c, fromLogits, nil))
		s += v
		sq += v * v
	}
	mean := s / float64(n)
	sd := math.Sqrt(math.Max(sq/float64(n)-mean*mean, 0))
	return sd / math.Sqrt(float64(n))
}

// recallOf returns the recall of each class on xy, the mean sum of the
// outputs per row, which rows are predicted right, and the share of rows
// given the most predicted class (and that class).
func recallOf(ctx context.Context, m *kiln.Sequential, t *task, xy *kiln.XY) (map[int]float64, float64, []bool, float64, int) {
	lg, err := m.PredictLogits(ctx, xy.X, kiln.EvaluateOptions{Workers: 1, BatchSize: 256})
	if err != nil {
		return nil, math.NaN(), nil, math.NaN(), -1
	}
	hits := make([]bool, xy.X.Rows())
	n := xy.X.Rows()
	preds := make([]int, n)
	t.score(lg.F32, xy.Y, allRows(n), preds)
	hit, tot := map[int]int{}, map[int]int{}
	for i := 0; i < n; i++ {
		c := classOf(xy.Y, i)
		tot[c]++
		if preds[i] == c {
			hit[c]++
			hits[i] = true
		}
	}
	rec := map[int]float64{}
	for c, k := range tot {
		rec[c] = float64(hit[c]) / float64(k)
	}
	predCount := map[int]int{}
	for _, p := range preds {
		predCount[p]++
	}
	top, topN := -1, 0
	for c, k := range predCount {
		if k > topN || k == topN && c < top {
			top, topN = c, k
		}
	}
	out := t.outputs(lg.F32, n)
	var s float64
	for _, v := range out {
		s += float64(v)
	}
	return rec, s / float64(max(n, 1)), hits, float64(topN) / float64(max(n, 1)), top
}

// semanticLosses computes the loss on n rows under Keras' TF backend
// (cross-entropies after sigmoid/softmax read the cached logits) and under
// the probability path (TF.js, Keras JAX/torch).
func semanticLosses(m *kiln.Sequential, t *task, logits []float32, y *data.Array, n int) (tf, prob float64) {
	l := m.Loss()
	c := t.units
	yv := rowsF32(y, allRows(n))
	if len(yv) != n*y.RowLen() {
		return math.NaN(), math.NaN()
	}
	if l.Targets() == losses.SparseTargets {
		if y.RowLen() != 1 {
			return math.NaN(), math.NaN()
		}
	} else if y.RowLen() != c {
		return math.NaN(), math.NaN()
	}
	out := t.outputs(logits, n)
	if t.ce && t.outputLogits { // TF reads the cached logits
		tf = float64(l.Compute(logits, yv, n, c, true, nil))
	} else {
		tf = float64(l.Compute(out, yv, n, c, t.ce && t.fromLogits, nil))
	}
	prob = float64(l.Compute(out, yv, n, c, t.ce && t.fromLogits, nil))
	return tf, prob
}

// layerActivations measures dead ReLUs and saturated sigmoid/tanh units in
// the hidden layers, running the layers' stateless Infer on x.
func layerActivations(m *kiln.Sequential, x *data.Array) ([]layerStat, error) {
	n := x.Rows()
	cur := rowsF32(x, allRows(n))
	ls := m.Layers()
	var out []layerStat
	for i, l := range ls {
		w := tensorSize(l.OutputShape())
		next := make([]float32, n*w)
		l.Infer(next, cur, n)
		if i < len(ls)-1 {
			if act, ok := l.(layers.Activated); ok {
				st := layerStat{Layer: l.Name(), Act: act.ActivationName(), Units: w}
				switch st.Act {
				case "relu":
					dead := 0
					for j := 0; j < w; j++ {
						alive := false
						for r := 0; r < n; r++ {
							if next[r*w+j] > 0 {
								alive = true
								break
							}
						}
						if !alive {
							dead++
						}
					}
					st.Dead = sig(float64(dead)/float64(w), 3)
					out = append(out, st)
				case "sigmoid", "tanh":
					lo, hi := float32(0.01), float32(0.99)
					if st.Act == "tanh" {
						lo, hi = -0.99, 0.99
					}
					sat := 0
					for _, v := range next {
						if v <= lo || v >= hi {
							sat++
						}
					}
					st.Saturated = sig(float64(sat)/float64(max(len(next), 1)), 3)
					out = append(out, st)
				}
			}
		}
		cur = next
	}
	return out, nil
}

func tensorSize(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

func norm(v []float32) float64 { return math.Sqrt(sumSq(v)) }

func sumSq(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return s
}

func diffNorm(a, b []float32) float64 {
	var s float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		s += d * d
	}
	return math.Sqrt(s)
}
