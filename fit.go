package kiln

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"

	"golang.org/x/term"

	"github.com/kiln-ml/kiln/callbacks"
	"github.com/kiln-ml/kiln/data"
	"github.com/kiln-ml/kiln/internal/parallel"
	"github.com/kiln-ml/kiln/layers"
	"github.com/kiln-ml/kiln/losses"
	"github.com/kiln-ml/kiln/metrics"
	"github.com/kiln-ml/kiln/optimizers"
)

// XY is a pair of inputs and targets, like Keras' validation_data=(x, y).
type XY struct {
	X, Y *data.Array
}

// FitOptions are the arguments of Keras' model.fit.
type FitOptions struct {
	BatchSize           int     // default 32
	Epochs              int     // default 1
	NoShuffle           bool    // Keras' shuffle=False (shuffling is on by default)
	ValidationData      *XY     // evaluated after every epoch; wins over ValidationSplit
	ValidationSplit     float64 // fraction of the last rows held out, taken before shuffling
	ValidationBatchSize int     // default BatchSize
	InitialEpoch        int     // epoch to start from (0-based)
	// Verbose is Keras' verbose: 0 silent, 1 progress bar, 2 one line per
	// epoch. The Go zero value is silent.
	Verbose   int
	Callbacks []callbacks.Callback
	// Out receives the console output (default os.Stdout). TTY says whether
	// it is a terminal (live bar) or a log (final lines only); nil detects it.
	Out io.Writer
	TTY *bool
	// Warn receives warnings (a loss or weight turning non-finite, a
	// damaged backup); nil means os.Stderr.
	Warn io.Writer
	// Workers bounds the goroutines used for validation (default Threads).
	Workers int
	// Threads is the number of cores one training step uses (default, 0:
	// runtime.GOMAXPROCS(0)). Layers split their work only across
	// independent outputs (samples, rows of a weight gradient, channels),
	// never across a sum, so the History and the weights are bit-identical
	// whatever the number of threads (see layers.Threaded).
	Threads int
	// ClassWeight is Keras' class_weight: the loss (and the metrics) of a
	// training sample of class c count ClassWeight[c] times. Keys must be
	// 0 to C−1; the class of a one-hot row is its argmax. Validation is
	// not weighted, as in Keras.
	ClassWeight map[int]float64
	// SampleWeight is Keras' sample_weight: one weight per training row
	// (multiplied by ClassWeight if both are given). A batch's loss is
	// Σ wᵢ·lossᵢ / batch size (Keras' sum_over_batch_size), its metrics
	// weighted means.
	SampleWeight []float32
}

// History is what Fit returns, like Keras' History callback: History maps
// each key to one value per epoch, Keys keeps Keras' order (loss, metrics,
// then val_ versions), Epoch lists the 0-based epochs run, Params holds
// verbose, epochs and steps.
type History struct {
	Keys    []string
	History map[string][]float64
	Epoch   []int
	Params  map[string]int
}

func (h *History) add(epoch int, logs callbacks.Logs) {
	if h.History == nil {
		h.History = map[string][]float64{}
	}
	for i, k := range logs.Names {
		if _, ok := h.History[k]; !ok {
			h.Keys = append(h.Keys, k)
		}
		h.History[k] = append(h.History[k], logs.Values[i])
	}
	h.Epoch = append(h.Epoch, epoch)
}

// InputError is a problem with the user's data, model or options, found
// before any training step ran (the CLI exits 2 for these).
type InputError struct{ Err error }

// Error returns the underlying error's message.
func (e *InputError) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *InputError) Unwrap() error { return e.Err }

func inputErr(format string, a ...any) error { return &InputError{fmt.Errorf(format, a...)} }

// IsInputError reports whether err is (or wraps) an InputError.
func IsInputError(err error) bool {
	var ie *InputError
	return errors.As(err, &ie)
}

// trainer holds one Fit's preallocated buffers.
type trainer struct {
	m      *Sequential
	x, y   *data.Array
	batch  int
	xb, yb []float32
	// The batch's rows are gathered on the pool's threads (each part its
	// own rows: independent outputs); gatherFn is made once, so a step
	// allocates nothing.
	pool        *parallel.Pool
	gatherIdx   []int
	gatherParts int
	gatherFn    func(part int)
	grad        []float32
	idx         []int
	metrics     []metrics.Metric
	units       int
	lastAct     layers.Activated
	lossSum     float32
	count       float32
	metSums     []float32
	// w holds a weight per row of x (nil: unweighted); metCount sums the
	// weights of the rows seen, the metrics' denominator when weighted.
	w        []float32
	metCount float32
	logNames []string
	logVals  []float64
	// batchLoss is the last step's own loss; batchNames and batchVals are
	// the BatchEnd logs: the running means then callbacks.BatchLoss.
	batchLoss  float32
	batchNames []string
	batchVals  []float64
	// firstVar is the index of the first layer with variables: layers
	// before it need no gradient, so backpropagation stops there.
	firstVar int
	// next holds the rows of the step after this one, if known, for
	// prefetching.
	next []int
	// logitsOnly is the last layer when nothing reads its output (the loss
	// and every metric use its logits), so its activation can be skipped.
	logitsOnly layers.LogitsForwarder
	// exec is what the steps run for each layer of m (see plan): the
	// layer, a fused stage standing for it and the next one, or nil for a
	// layer a fused stage covers.
	exec []layers.Stage
	// bytesIn is the first layer with variables when it can read uint8
	// rows directly (only views before it, see layers.BytesReader); it is
	// used while x holds suitable bytes (bytesX caches that check).
	bytesIn layers.BytesReader
	bytesX  *data.Array
	bytesOK bool
	// bytesNext is bytesIn if it loads the next step's rows itself.
	bytesNext layers.NextPrefetcher
	// tune times the layers' ways of running a step (see tuner); stepFn
	// is step.
	tune   *tuner
	stepFn func([]int)
}

// Fit trains the model like Keras' fit and returns its History. A cancelled
// ctx stops training after the current step; the History of finished epochs
// is returned with ctx's error. With a ctx cancelled before the call, Fit
// only checks its arguments: no callback runs and no weight changes.
//
// With a callbacks.Backupper among the callbacks (BackupAndRestore), Fit
// first resumes from its newest good backup, if any, and backs the training
// state up when it asks, and when ctx is cancelled (the step reached): the
// resumed run's History and weights are bit for bit those of an
// uninterrupted one. The first time the loss or a weight turns NaN or
// infinite, one warning goes to FitOptions.Warn; training goes on, as in
// Keras, unless a callback (TerminateOnNaN) stops it.
func (m *Sequential) Fit(ctx context.Context, x, y *data.Array, opts FitOptions) (*History, error) {
	if m.c == nil {
		return nil, inputErr("fit: the model must be compiled first: call Compile")
	}
	if opts.BatchSize == 0 {
		opts.BatchSize = 32
	}
	if opts.Epochs == 0 {
		opts.Epochs = 1
	}
	if opts.BatchSize < 0 {
		return nil, inputErr("fit: batch_size must be a positive integer, got %d", opts.BatchSize)
	}
	if opts.Threads < 0 {
		return nil, inputErr("fit: threads must be a positive integer (or 0 for every core), got %d", opts.Threads)
	}
	if opts.Threads == 0 {
		opts.Threads = runtime.GOMAXPROCS(0)
	}
	if opts.Workers <= 0 {
		opts.Workers = opts.Threads
	}
	if opts.Epochs < 0 || opts.InitialEpoch < 0 || opts.InitialEpoch >= opts.Epochs {
		return nil, inputErr("fit: need 0 ≤ initial_epoch < epochs, got initial_epoch %d and epochs %d", opts.InitialEpoch, opts.Epochs)
	}
	if err := m.checkData("training", x, y); err != nil {
		return nil, err
	}
	val := opts.ValidationData
	if val == nil && opts.ValidationSplit != 0 {
		s := opts.ValidationSplit
		if !(s > 0 && s < 1) {
			return nil, inputErr("fit: validation_split must be in (0, 1), got %g", s)
		}
		n := x.Rows()
		at := int(math.Floor(float64(n) * (1 - s)))
		if at == 0 || at == n {
			return nil, inputErr("fit: validation_split %g of %d samples leaves an empty training or validation set; use more data or another split", s, n)
		}
		val = &XY{x.Slice(at, n), y.Slice(at, n)}
		x, y = x.Slice(0, at), y.Slice(0, at)
	}
	if val != nil {
		if err := m.checkData("validation", val.X, val.Y); err != nil {
			return nil, err
		}
	}
	w, err := sampleWeights(x, y, opts.SampleWeight, opts.ClassWeight, opts.ValidationData == nil && opts.ValidationSplit != 0)
	if err != nil {
		return nil, err
	}
	pool := parallel.New(opts.Threads)
	defer pool.Close()
	t, err := m.newTrainer(x, y, opts.BatchSize, pool)
	if err != nil {
		return nil, err
	}
	defer m.setPool(nil) // the pool's workers stop with this Fit
	t.w = w
	t.batchNames = append(append([]string(nil), t.logNames...), callbacks.BatchLoss)
	t.batchVals = make([]float64, len(t.batchNames))
	m.tob = nil // the layers' buffers now belong to this Fit
	if err := ctx.Err(); err != nil {
		// Cancelled before the start: the checks above are all that ran
		// (kiln sweep checks every cell this way before training any).
		return &History{}, err
	}
	out := opts.Out
	if out == nil {
		out = os.Stdout
	}
	cbs := append([]callbacks.Callback(nil), opts.Callbacks...)
	if opts.Verbose > 0 {
		// Last, as Keras appends its ProgbarLogger: a callback's message at
		// the end of an epoch comes before the epoch's final line.
		cbs = append(cbs, callbacks.NewProgressBar(out, isTTY(out, opts.TTY)))
	}
	n := x.Rows()
	steps := (n + opts.BatchSize - 1) / opts.BatchSize
	warn := opts.Warn
	if warn == nil {
		warn = os.Stderr
	}
	shufflePCG := rand.NewPCG(m.c.seed, 0x73687566)
	shuffle := rand.New(shufflePCG)
	hist := &History{Params: map[string]int{"verbose": opts.Verbose, "epochs": opts.Epochs, "steps": steps}}
	start, startStep := opts.InitialEpoch, 0
	var (
		bk       callbacks.Backupper
		br       *backupRun
		resumed  *fitState
		warned   bool // the non-finite warning was given
		bkWarned bool // the no-backup-of-non-finite-weights warning was given
		finished bool
		last     callbacks.Logs
	)
	for _, cb := range cbs {
		if b, ok := cb.(callbacks.Backupper); ok {
			if bk != nil {
				return nil, inputErr("fit: more than one BackupAndRestore callback; keep one")
			}
			bk = b
		}
	}
	if bk != nil {
		opt, ok := m.c.opt.(optimizers.Stateful)
		if !ok {
			return nil, inputErr("fit: BackupAndRestore: the optimizer %s cannot save its state (it does not implement optimizers.Stateful)", m.c.opt.Name())
		}
		br = &backupRun{m: m, t: t, cbs: cbs, opt: opt, steps: steps, rows: n, batch: opts.BatchSize, shuf: !opts.NoShuffle}
		files, err := bk.Load()
		if err != nil {
			return nil, err
		}
		if files != nil {
			where := "in the backup directory"
			if b, ok := bk.(*callbacks.BackupAndRestore); ok {
				where = b.Loaded
			}
			st, h, err := br.restore(files, where, shufflePCG)
			if err != nil {
				return nil, err
			}
			resumed = st
			start, startStep, warned, finished = st.Epoch, st.Step, st.NonFiniteWarned, st.Finished
			h.Params = hist.Params
			hist = h
			last = lastLogs(hist)
			if r, ok := bk.(interface{ Resumed(epoch, step, steps int) }); ok {
				r.Resumed(start, startStep, steps)
			}
		}
	}
	params := callbacks.Params{Epochs: opts.Epochs, InitialEpoch: start, Steps: steps, Verbose: opts.Verbose}
	ctl := &callbacks.Control{}
	for _, cb := range cbs {
		if ms, ok := cb.(callbacks.ModelSetter); ok {
			ms.SetModel(m)
		}
		cb.TrainBegin(params, ctl)
	}
	if resumed != nil {
		ctl.StopTraining = resumed.StopTraining
	}
	order := make([]int, n)
	var epochRNG []byte // the shuffle stream before this epoch's shuffle
	// backup writes the position: done steps of epoch (done == steps: the
	// epoch's end is to come; epochEnd: it has come, resume at epoch+1).
	backup := func(epoch, done int, epochEnd, fin bool) error {
		if v := firstNonFinite(m.Weights()); v != nil {
			if !bkWarned {
				fmt.Fprintf(warn, "kiln: warning: epoch %d, step %d: weight %s is non-finite; BackupAndRestore keeps the last backup with finite weights and writes no other\n", epoch+1, done, v.Name)
				bkWarned = true
			}
			return nil
		}
		rng := epochRNG
		if epochEnd {
			epoch, done = epoch+1, 0
			b, err := shufflePCG.MarshalBinary()
			if err != nil {
				return err
			}
			rng = b
		}
		files, err := br.files(epoch, done, fin, ctl.StopTraining, rng, hist, warned)
		if err != nil {
			return fmt.Errorf("fit: BackupAndRestore: %w", err)
		}
		return bk.Save(files)
	}
	// nonFinite warns once when the loss or a weight turns NaN or ±Inf.
	nonFinite := func(epoch, step int, loss float32) {
		lossBad := math.IsNaN(float64(loss)) || math.IsInf(float64(loss), 0)
		if warned || (step > 0 && !lossBad) {
			return
		}
		v := firstNonFinite(m.Weights())
		if !lossBad && v == nil {
			return
		}
		where := fmt.Sprintf("epoch %d, step %d", epoch+1, step)
		if step == 0 {
			where = fmt.Sprintf("end of epoch %d", epoch+1)
		}
		msg := fmt.Sprintf("the loss is %v", loss)
		if v != nil {
			msg += fmt.Sprintf(", weight %s is non-finite", v.Name)
		}
		if !lossBad {
			msg = fmt.Sprintf("weight %s is non-finite", v.Name)
		}
		fmt.Fprintf(warn, "kiln: warning: %s: %s; training goes on, as in Keras (add TerminateOnNaN to fit.callbacks to stop it)\n", where, msg)
		warned = true
	}
	for epoch := start; epoch < opts.Epochs && !finished; epoch++ {
		b, err := shufflePCG.MarshalBinary()
		if err != nil {
			return hist, err
		}
		epochRNG = b
		for i := range order {
			order[i] = i
		}
		if !opts.NoShuffle {
			shuffle.Shuffle(n, func(i, j int) { order[i], order[j] = order[j], order[i] })
		}
		for _, cb := range cbs {
			cb.EpochBegin(epoch)
		}
		s0 := 0
		if resumed != nil && epoch == start && startStep > 0 {
			s0 = startStep // the running sums were restored
		} else {
			t.resetEpoch()
		}
		done := s0
		for s := s0; s < steps && !ctl.StopTraining; s++ {
			select {
			case <-ctx.Done():
				if bk != nil {
					if err := backup(epoch, s, false, false); err != nil {
						return hist, err
					}
				}
				return hist, ctx.Err()
			default:
			}
			lo, hi := s*opts.BatchSize, min((s+1)*opts.BatchSize, n)
			t.next = order[hi:min(hi+opts.BatchSize, n)]
			t.tune.run(hi-lo == opts.BatchSize, t.stepFn, order[lo:hi])
			done = s + 1
			logs := t.batchLogs()
			for _, cb := range cbs {
				cb.BatchEnd(s+1, logs)
			}
			nonFinite(epoch, s+1, t.batchLoss)
			if bk != nil && bk.Due(epoch, s+1, steps, false) {
				if err := backup(epoch, s+1, false, false); err != nil {
					return hist, err
				}
			}
		}
		logs := t.logs()
		logs = callbacks.Logs{Names: append([]string(nil), logs.Names...), Values: append([]float64(nil), logs.Values...)}
		if val != nil {
			vb := opts.ValidationBatchSize
			if vb <= 0 {
				vb = opts.BatchSize
			}
			res, err := m.evaluate(ctx, val.X, val.Y, vb, opts.Workers, nil)
			if err != nil {
				if bk != nil && ctx.Err() != nil {
					if err := backup(epoch, done, false, false); err != nil {
						return hist, err
					}
				}
				return hist, err
			}
			for i, name := range res.Names {
				logs.Names = append(logs.Names, "val_"+name)
				logs.Values = append(logs.Values, res.Values[i])
			}
		}
		hist.add(epoch, logs)
		for _, cb := range cbs {
			cb.EpochEnd(epoch, logs)
		}
		nonFinite(epoch, 0, 0)
		last = logs
		stop := ctl.StopTraining
		if bk != nil && bk.Due(epoch, steps, steps, true) {
			if err := backup(epoch, steps, true, stop); err != nil {
				return hist, err
			}
		}
		if stop {
			break
		}
	}
	for _, cb := range cbs {
		cb.TrainEnd(last)
	}
	return hist, nil
}

func isTTY(w io.Writer, force *bool) bool {
	if force != nil {
		return *force
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// setPool gives the layers and the optimizer the pool their training
// steps split their work over (nil: serial).
func (m *Sequential) setPool(p *parallel.Pool) {
	for _, l := range m.layers {
		layers.SetPool(l, p)
	}
	if o, ok := m.c.opt.(optimizers.Threaded); ok {
		o.SetPool(p)
	}
}

// newTrainer allocates every buffer a training step needs, for steps that
// split their work over pool (nil: serial).
func (m *Sequential) newTrainer(x, y *data.Array, batch int, pool *parallel.Pool) (*trainer, error) {
	t := &trainer{m: m, x: x, y: y, batch: batch, units: m.OutputShape()[len(m.OutputShape())-1], pool: pool}
	t.gatherFn = t.gatherPart
	t.firstVar = len(m.layers)
	for i, l := range m.layers {
		if len(l.Variables()) > 0 {
			t.firstVar = i
			break
		}
	}
	m.setPool(pool) // before Allocate, which sizes per-thread scratch
	t.plan(m)
	for i, l := range t.exec {
		// Only layers after the first one with variables pass a gradient
		// to a layer that needs it (a leading Flatten does not).
		if l != nil {
			l.Allocate(batch, i > t.firstVar)
		}
	}
	t.tune, t.stepFn = newTuner(m.layers), t.step
	t.xb = make([]float32, batch*x.RowLen())
	t.yb = make([]float32, batch*y.RowLen())
	t.grad = make([]float32, batch*t.units)
	ms, err := m.resolveMetrics(y)
	if err != nil {
		return nil, err
	}
	t.metrics = ms
	t.metSums = make([]float32, len(ms))
	t.logNames = append([]string{"loss"}, metricNames(ms)...)
	t.logVals = make([]float64, len(t.logNames))
	if m.c.haveLogits {
		t.lastAct = m.layers[len(m.layers)-1].(layers.Activated)
	}
	if d, ok := m.layers[min(t.firstVar, len(m.layers)-1)].(layers.BytesReader); ok && d.CanForwardBytes() {
		t.bytesIn = d
		for _, l := range m.layers[:t.firstVar] {
			if !layers.IsView(l) {
				t.bytesIn = nil
			}
		}
		// Asserted here, not per step: the first assertion to an interface
		// type makes its method table, an allocation.
		t.bytesNext, _ = t.bytesIn.(layers.NextPrefetcher)
	}
	if lf, ok := t.lastAct.(layers.LogitsForwarder); ok && m.c.useLogits {
		t.logitsOnly = lf
		for _, mt := range ms {
			if mt.Kind() == "binary_accuracy" { // scores the outputs, see metricInput
				t.logitsOnly = nil
			}
		}
	}
	return t, nil
}

// plan sets exec: each layer runs itself, except runs of layers
// layers.FuseRun joins (a Conv2D and the MaxPooling2D after it;
// BatchNormalization, ReLU and MaxPooling2D), which run as one stage, and
// the layer after such a stage (past views) may run inside its jobs
// (layers.Chain). Only layers nothing else reads are fused: not the last
// layer (the loss and metrics read its output or logits), nor a first
// layer with variables that may read bytes (ForwardBytes replaces its
// Forward).
func (t *trainer) plan(m *Sequential) {
	t.exec = make([]layers.Stage, len(m.layers))
	for i := 0; i < len(m.layers); i++ {
		t.exec[i] = m.layers[i]
		if _, bytes := m.layers[i].(layers.BytesReader); i+2 >= len(m.layers) || i < t.firstVar || (bytes && i == t.firstVar) {
			continue
		}
		// The model's last layer stays apart: the loss reads its output.
		if f, k, ok := layers.FuseRun(m.layers[i : len(m.layers)-1]); ok {
			t.exec[i] = f
			// The layer after it, past views, may run inside its jobs.
			j := i + k
			for j < len(m.layers) && layers.IsView(m.layers[j]) {
				j++
			}
			if j < len(m.layers) {
				layers.Chain(f, m.layers[j])
			}
			i += k - 1 // exec[i+1 …] stay nil: f covers them
		}
	}
	// A narrow Dense after the first layer with weights reads features,
	// not data: as a dense matrix.
	for _, l := range m.layers[min(t.firstVar+1, len(m.layers)):] {
		layers.DenseInput(l)
	}
}

func metricNames(ms []metrics.Metric) []string {
	var n []string
	for _, mt := range ms {
		n = append(n, mt.Name())
	}
	return n
}

func (m *Sequential) resolveMetrics(y *data.Array) ([]metrics.Metric, error) {
	rank, last := len(y.Shape), 1
	if rank > 1 {
		last = y.Shape[rank-1]
	}
	out := m.OutputShape()
	var ms []metrics.Metric
	for _, name := range m.c.metricArgs {
		mt, err := metrics.Get(name, metrics.Shapes{TargetRank: rank, TargetLastDim: last, PredLastDim: out[len(out)-1]})
		if err != nil {
			return nil, inputErr("%v", err)
		}
		ms = append(ms, mt)
	}
	return ms, nil
}

func (t *trainer) resetEpoch() {
	t.lossSum, t.count, t.metCount = 0, 0, 0
	clear(t.metSums)
}

// gather copies the training rows idx into xb, split by rows over the pool
// when the batch is large enough (2¹⁵ values a part), into as many parts
// as a large layer job: each thread then writes the rows its part of the
// first layer reads (parallel.Range, home ranges alike). Split, each part
// also starts loading its share of the next batch's rows (t.next), which
// step otherwise does on the caller alone after the forward pass: the
// loads' page walks took 14 µs of a 2-thread cnn step there, and the
// thread that will gather the rows now finds them in its own cache.
func (t *trainer) gather(idx []int) {
	parts := min(len(idx), t.pool.Parts(len(idx)*t.x.RowLen(), 1<<15))
	if parts >= 2 {
		parts = min(len(idx), t.pool.MaxParts())
	}
	if parts < 2 {
		t.x.GatherRows(t.xb, idx)
		return
	}
	t.gatherIdx, t.gatherParts = idx, parts
	t.pool.Run(parts, t.gatherFn)
	t.gatherIdx, t.next = nil, nil
}

func (t *trainer) gatherPart(part int) {
	lo, hi := parallel.Range(len(t.gatherIdx), t.gatherParts, part)
	w := t.x.RowLen()
	t.x.GatherRows(t.xb[lo*w:hi*w], t.gatherIdx[lo:hi])
	lo, hi = parallel.Range(len(t.next), t.gatherParts, part)
	t.x.PrefetchRows(t.next[lo:hi])
	t.y.PrefetchRows(t.next[lo:hi])
}

// step runs one training step on the rows idx: forward, loss, metrics,
// backward, optimizer update. It allocates nothing.
func (t *trainer) step(idx []int) {
	n := len(idx)
	m := t.m
	last := len(m.layers) - 1
	first := 0 // the first layer still to run
	var h []float32
	if t.bytesIn != nil && t.x != t.bytesX {
		_, _, t.bytesOK = t.x.ByteRows()
		t.bytesX = t.x
	}
	if t.bytesIn != nil && t.bytesOK {
		// uint8 rows feed the first layer with weights directly (the views
		// before it only reshape): no float32 copy of the batch is made.
		src, lut, _ := t.x.ByteRows()
		if t.bytesNext != nil && t.bytesNext.PrefetchNext(t.next) {
			t.y.PrefetchRows(t.next)
			t.next = nil // the layer loads x's rows
		}
		h = t.bytesIn.ForwardBytes(src, idx, lut, t.logitsOnly != nil && t.firstVar == last)
		first = t.firstVar + 1
	} else {
		t.gather(idx)
		h = t.xb[:n*t.x.RowLen()]
	}
	t.y.GatherRows(t.yb, idx)
	for i := first; i <= last; i++ {
		if i == last && t.logitsOnly != nil {
			h = t.logitsOnly.ForwardLogits(h, n) // the output is not read
			break
		}
		if l := t.exec[i]; l != nil {
			h = l.Forward(h, n, true)
		}
	}
	// Start loading the next batch's rows while this one computes (unless
	// gather's parts did): shuffled rows are scattered over the whole array,
	// far beyond the caches.
	t.x.PrefetchRows(t.next)
	t.y.PrefetchRows(t.next)
	t.next = nil
	var logits []float32
	if t.lastAct != nil {
		logits = t.lastAct.Logits()[:n*t.units]
	}
	pred := h
	if m.c.useLogits {
		pred = logits
	}
	// Keras' Mean metric: total += value·weight, count += weight, in float32.
	if t.w == nil {
		loss := m.c.loss.Compute(pred, t.yb, n, t.units, m.c.fromLogits, t.grad)
		t.lossSum += loss * float32(n)
		t.batchLoss = loss
		for i, mt := range t.metrics {
			t.metSums[i] += mt.Update(metricInput(mt, h, logits), t.yb, n, t.units)
		}
	} else {
		t.batchLoss = t.weighted(idx, pred, h, logits)
		t.lossSum += t.batchLoss * float32(n)
	}
	t.count += float32(n)
	g := t.grad[:n*t.units]
	if m.c.useLogits {
		g = t.lastAct.BackwardLogits(g, n)
		last--
	}
	for i := last; i >= t.firstVar; i-- {
		if l := t.exec[i]; l != nil {
			g = l.Backward(g, n)
		}
	}
	m.c.opt.Apply()
}

// logs returns the running means; the returned slices are reused.
func (t *trainer) logs() callbacks.Logs {
	t.logVals[0] = float64(t.lossSum / t.count)
	den := t.count
	if t.w != nil {
		den = t.metCount
	}
	for i := range t.metrics {
		t.logVals[i+1] = float64(t.metSums[i] / den)
	}
	return callbacks.Logs{Names: t.logNames, Values: t.logVals}
}

// batchLogs returns the running means and the step's own loss under
// callbacks.BatchLoss; the returned slices (allocated by Fit) are reused.
func (t *trainer) batchLogs() callbacks.Logs {
	logs := t.logs()
	copy(t.batchVals, logs.Values)
	t.batchVals[len(t.batchVals)-1] = float64(t.batchLoss)
	return callbacks.Logs{Names: t.batchNames, Values: t.batchVals}
}

// checkData validates x and y against the model and the loss, with Keras'
// wording where Keras has one, and the fix.
func (m *Sequential) checkData(what string, x, y *data.Array) error {
	if x == nil || y == nil {
		return inputErr("%s data: x and y are both required", what)
	}
	in := m.InputShape()
	if len(x.Shape) != len(in)+1 || !slices.Equal(x.Shape[1:], in) {
		return inputErr("%s data: Input 0 of layer %q is incompatible with the layer: expected shape=%s, found shape=%s; make the Input shape match one sample of x (Input: {shape: %v})",
			what, m.Name, layers.ShapeTuple(in), data.ShapeString(x.Shape), x.Shape[1:])
	}
	if x.Rows() != y.Rows() {
		return inputErr("%s data: Data cardinality is ambiguous: x sizes: %d, y sizes: %d; make sure x and y contain the same number of samples", what, x.Rows(), y.Rows())
	}
	if x.Rows() == 0 {
		return inputErr("%s data is empty (0 samples)", what)
	}
	if i := x.FirstNonFinite(); i >= 0 {
		return inputErr("%s data: x contains %v at sample %d (flat index %d); remove or impute non-finite values before training", what, x.At(i), i/x.RowLen(), i)
	}
	if i := y.FirstNonFinite(); i >= 0 {
		return inputErr("%s data: y contains %v at sample %d; remove or impute non-finite values before training", what, y.At(i), i/y.RowLen())
	}
	return m.checkTargets(what, y)
}

func (m *Sequential) checkTargets(what string, y *data.Array) error {
	out := m.OutputShape()
	units := out[len(out)-1]
	lossName := m.c.loss.Name()
	tw := 1
	if len(y.Shape) > 1 {
		tw = y.RowLen()
	}
	if len(y.Shape) > 2 {
		return inputErr("%s data: y has shape %s; kiln expects labels of shape (N,) or (N, %d)", what, data.ShapeString(y.Shape), units)
	}
	switch m.c.loss.Targets() {
	case losses.SparseTargets:
		if tw != 1 {
			return inputErr("%s data: %s: `labels.shape` must equal `logits.shape` except for the last dimension. Received: labels.shape=(None, %d) and logits.shape=(None, %d); the labels look one-hot: use categorical_crossentropy, or integer labels (labels: int)",
				what, lossName, tw, units)
		}
		for i := 0; i < y.Len(); i++ {
			v := y.At(i)
			if v != math.Trunc(v) {
				return inputErr("%s data: %s needs integer class labels, but label %d is %.7g; use integer labels or a regression loss", what, lossName, i, v)
			}
			if v < 0 || v >= float64(units) {
				return inputErr("%s data: Received a label value of %.7g at sample %d which is outside the valid range of [0, %d); the output layer has %d units: make it as wide as the number of classes",
					what, v, i, units, units)
			}
		}
	default:
		if tw != units {
			msg := fmt.Sprintf("%s data: %s: Shapes (None, %d) and (None, %d) are incompatible", what, lossName, tw, units)
			if tw == 1 && m.c.loss.IsCrossEntropy() && lossName == "categorical_crossentropy" {
				msg += "; the labels are class indices: use sparse_categorical_crossentropy, or one-hot them (labels: onehot)"
			} else {
				msg += fmt.Sprintf("; make the output layer %d units wide or reshape the labels", tw)
			}
			return inputErr("%s", msg)
		}
	}
	return nil
}

// TrainOnBatch runs one training step on all rows of x and y, like Keras'
// train_on_batch, and returns that batch's loss and metrics (before the update).
func (m *Sequential) TrainOnBatch(x, y *data.Array) (Result, error) {
	return m.TrainOnBatchWith(x, y, TrainOnBatchOptions{})
}

// TrainOnBatchOptions are train_on_batch's sample_weight and class_weight
// (see FitOptions).
type TrainOnBatchOptions struct {
	SampleWeight []float32
	ClassWeight  map[int]float64
}

// TrainOnBatchWith is TrainOnBatch with sample or class weights.
func (m *Sequential) TrainOnBatchWith(x, y *data.Array, o TrainOnBatchOptions) (Result, error) {
	if m.c == nil {
		return Result{}, inputErr("train_on_batch: the model must be compiled first: call Compile")
	}
	if err := m.checkData("training", x, y); err != nil {
		return Result{}, err
	}
	n := x.Rows()
	if m.tob == nil || m.tob.batch < n || m.tob.x.RowLen() != x.RowLen() || m.tob.y.RowLen() != y.RowLen() {
		t, err := m.newTrainer(x, y, n, nil)
		if err != nil {
			return Result{}, err
		}
		m.tob = t
	}
	w, err := sampleWeights(x, y, o.SampleWeight, o.ClassWeight, false)
	if err != nil {
		return Result{}, err
	}
	t := m.tob
	t.x, t.y, t.w = x, y, w
	t.resetEpoch()
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	t.step(idx)
	logs := t.logs()
	return Result{Names: append([]string(nil), logs.Names...), Values: append([]float64(nil), logs.Values...)}, nil
}

// metricInput chooses what a metric scores. Argmax metrics read the logits
// when the output is a sigmoid or softmax: both are monotone, so the argmax is
// the same in exact arithmetic, but float32 saturates sigmoid(z) to exactly 1
// for z > ~17 and ties would send argmax to the first saturated class. Keras'
// reported accuracy behaves like the logits' argmax (the question's 0.8432;
// PyTorch on the same run: 0.843 from logits, 0.30 from saturated sigmoids).
func metricInput(mt metrics.Metric, out, logits []float32) []float32 {
	if logits != nil && mt.Kind() != "binary_accuracy" {
		return logits
	}
	return out
}

// ToCategorical one-hot encodes integer class labels of shape (N,) or (N, 1)
// into float32 (N, classes), like keras.utils.to_categorical. It panics on a
// label outside [0, classes), which is a programming error; experiment files
// check labels and report them instead.
func ToCategorical(labels *data.Array, classes int) *data.Array {
	n := labels.Rows()
	out := make([]float32, n*classes)
	for i := 0; i < n; i++ {
		c := int(labels.At(i))
		if c < 0 || c >= classes || float64(c) != labels.At(i) {
			panic(fmt.Sprintf("kiln.ToCategorical: label %v at %d is not a class in [0, %d)", labels.At(i), i, classes))
		}
		out[i*classes+c] = 1
	}
	return data.NewFloat32(out, n, classes)
}

// weighted computes the loss of the rows idx weighted by t.w, like Keras
// with sample weights: each row's loss times its weight, summed and divided
// by the number of rows (sum_over_batch_size), the gradient likewise; the
// metrics' running sums are weighted means. It returns the batch loss.
func (t *trainer) weighted(idx []int, pred, out, logits []float32) float32 {
	m := t.m
	n, u, yw := len(idx), t.units, t.y.RowLen()
	var sum float32
	for r, i := range idx {
		w := t.w[i]
		l := m.c.loss.Compute(pred[r*u:(r+1)*u], t.yb[r*yw:(r+1)*yw], 1, u, m.c.fromLogits, t.grad[r*u:(r+1)*u])
		sum += w * l
		g := t.grad[r*u : (r+1)*u]
		for j := range g {
			g[j] *= w / float32(n)
		}
		for k, mt := range t.metrics {
			in := metricInput(mt, out, logits)
			t.metSums[k] += w * mt.Update(in[r*u:(r+1)*u], t.yb[r*yw:(r+1)*yw], 1, u)
		}
		t.metCount += w
	}
	return sum / float32(n)
}

// sampleWeights combines Keras' sample_weight and class_weight into one
// weight per row of x (nil when neither is given), with Keras' checks.
func sampleWeights(x, y *data.Array, sw []float32, cw map[int]float64, split bool) ([]float32, error) {
	if sw == nil && cw == nil {
		return nil, nil
	}
	if sw != nil && split {
		return nil, inputErr("fit: sample_weight with validation_split: Keras would weight the validation loss too, which kiln does not do; pass validation_data instead")
	}
	n := x.Rows()
	w := make([]float32, n)
	for i := range w {
		w[i] = 1
	}
	if sw != nil {
		if len(sw) != n {
			return nil, inputErr("fit: sample_weight has %d values but x has %d samples; give one weight per sample", len(sw), n)
		}
		for i, v := range sw {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) || v < 0 {
				return nil, inputErr("fit: sample_weight %d is %v; weights must be finite and non-negative", i, v)
			}
		}
		copy(w, sw)
	}
	if cw != nil {
		keys := make([]int, 0, len(cw))
		for k, v := range cw {
			if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
				return nil, inputErr("fit: class_weight[%d] is %v; weights must be finite and non-negative", k, v)
			}
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if k != i {
				return nil, inputErr("fit: Expected `class_weight` to be a dict with keys from 0 to one less than the number of classes, found %v", keys)
			}
		}
		if len(y.Shape) > 2 {
			return nil, inputErr("fit: `class_weight` not supported for 3+ dimensional targets.")
		}
		for i := 0; i < n; i++ {
			class := y.ClassOf(i)
			cwv, ok := cw[class]
			if !ok {
				return nil, inputErr("fit: sample %d has class %d, but class_weight has keys 0 to %d; give every class a weight", i, class, len(keys)-1)
			}
			w[i] *= float32(cwv)
		}
	}
	return w, nil
}
