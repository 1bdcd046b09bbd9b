// Package bench measures kiln's training speed on fixed workloads: the
// question's program (MNIST, raw uint8 pixels, Dense 784→10 sigmoid,
// categorical cross-entropy from the logits, SGD lr 0.01, batch 32,
// validation on the 10,000 test rows) and an MLP (784→128 relu→10 softmax,
// Adam, batch 32). `kiln bench` prints its results; the Go benchmarks in this
// package (go test -bench . ./bench) time one epoch of each.
//
// Timing goes through the public Fit, with a callback that reads the clock
// and runtime.MemStats at the start of every epoch and after its last
// training step, so the numbers include everything Fit does per step
// (gathering, forward, loss, metrics, backward, optimizer, logs, callbacks)
// and exclude validation, which is timed separately.
package bench

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"time"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/callbacks"
	"github.com/kiln-ml/kiln/data"
	"github.com/kiln-ml/kiln/datasets/mnist"
	"github.com/kiln-ml/kiln/layers"
	"github.com/kiln-ml/kiln/optimizers"
)

// Workload names accepted by Run.
const (
	Seed = "seed" // the question's program
	MLP  = "mlp"  // 784→128 relu→10 softmax with Adam
	CNN  = "cnn"  // Conv2D(32, 3×3, relu) → MaxPooling2D(2) → Dense(10, softmax) with Adam
	// CNNBN is cnn with the conv → BatchNormalization → ReLU block
	// (examples/cnn_bn.yaml without its Dropout).
	CNNBN = "cnn-bn"
)

// Workloads lists the workload names in the order `kiln bench` runs them
// (its --workload all).
var Workloads = []string{Seed, MLP}

// Extra lists the workloads `kiln bench` runs only when named: their
// epochs take seconds, not a fraction of one.
var Extra = []string{CNN, CNNBN}

// Names lists every workload name Run accepts: Workloads, then Extra.
func Names() []string { return append(append([]string(nil), Workloads...), Extra...) }

// Describe returns a one-line description of a workload.
func Describe(workload string) string {
	switch workload {
	case Seed:
		return "MNIST 60000 rows raw uint8 → Dense(10, sigmoid), categorical_crossentropy from logits, SGD lr 0.01, batch 32; validation 10000 rows"
	case MLP:
		return "MNIST 60000 rows uint8 scaled 1/255 → Dense(128, relu) → Dense(10, softmax), categorical_crossentropy, Adam lr 0.001, batch 32; validation 10000 rows"
	case CNN:
		return "MNIST 60000 rows uint8 scaled 1/255 as (28, 28, 1) → Conv2D(32, 3×3, relu) → MaxPooling2D(2) → Flatten → Dense(10, softmax), categorical_crossentropy, Adam lr 0.001, batch 128; validation 10000 rows"
	case CNNBN:
		return "as cnn, with Conv2D(32, 3×3, no bias) → BatchNormalization → ReLU"
	}
	return ""
}

// Setup is a compiled model with its data, ready to Fit.
type Setup struct {
	Model      *kiln.Sequential
	X, Y       *data.Array
	XVal, YVal *data.Array
	Batch      int
}

// oneHot turns MNIST's uint8 labels into keras.utils.to_categorical rows.
func oneHot(y *data.Array, classes int) *data.Array {
	out := make([]float32, y.Rows()*classes)
	for i, v := range y.U8 {
		out[i*classes+int(v)] = 1
	}
	return data.NewFloat32(out, y.Rows(), classes)
}

// NewSetup loads MNIST (from the Go module cache, see datasets/mnist) and
// builds and compiles the workload's model with seed 1.
func NewSetup(workload string) (*Setup, error) {
	ds, err := mnist.Load("")
	if err != nil {
		return nil, err
	}
	s := &Setup{X: ds.XTrain, Y: oneHot(ds.YTrain, 10), XVal: ds.XTest, YVal: oneHot(ds.YTest, 10), Batch: 32}
	var opt optimizers.Optimizer
	switch workload {
	case Seed:
		s.Model = kiln.NewSequential(layers.NewInput(28, 28), layers.NewFlatten(),
			layers.MustNewDense(10, layers.WithActivation("sigmoid")))
		opt = optimizers.NewSGD(0.01)
	case MLP:
		s.X, s.XVal = s.X.WithScale(1.0/255), s.XVal.WithScale(1.0/255)
		s.Model = kiln.NewSequential(layers.NewInput(28, 28), layers.NewFlatten(),
			layers.MustNewDense(128, layers.WithActivation("relu")),
			layers.MustNewDense(10, layers.WithActivation("softmax")))
		opt = optimizers.NewAdam(0.001)
	case CNN, CNNBN:
		// Keras' x_train[..., None] / 255: the channel axis, then the scale.
		s.X = s.X.Reshaped([]int{s.X.Rows(), 28, 28, 1}).WithScale(1.0 / 255)
		s.XVal = s.XVal.Reshaped([]int{s.XVal.Rows(), 28, 28, 1}).WithScale(1.0 / 255)
		s.Batch = 128
		var block []layers.Layer
		if workload == CNN {
			conv, err := layers.NewConv2D(32, [2]int{3, 3}, layers.WithActivation("relu"))
			if err != nil {
				return nil, err
			}
			block = []layers.Layer{conv}
		} else {
			conv, err := layers.NewConv2D(32, [2]int{3, 3}, layers.WithoutBias())
			if err != nil {
				return nil, err
			}
			bn, err := layers.NewBatchNormalization()
			if err != nil {
				return nil, err
			}
			relu, err := layers.NewActivation("relu")
			if err != nil {
				return nil, err
			}
			block = []layers.Layer{conv, bn, relu}
		}
		pool, err := layers.NewMaxPooling2D([2]int{2, 2})
		if err != nil {
			return nil, err
		}
		items := []any{layers.NewInput(28, 28, 1)}
		for _, l := range append(block, pool, layers.NewFlatten(), layers.MustNewDense(10, layers.WithActivation("softmax"))) {
			items = append(items, l)
		}
		s.Model = kiln.NewSequential(items...)
		opt = optimizers.NewAdam(0.001)
	default:
		return nil, fmt.Errorf("unknown workload %q; valid workloads: seed, mlp, cnn, cnn-bn, all", workload)
	}
	err = s.Model.Compile(kiln.CompileOptions{Optimizer: opt, Loss: "categorical_crossentropy",
		Metrics: []string{"accuracy"}, Seed: 1, Warnings: discard{}})
	if err != nil {
		return nil, err
	}
	return s, nil
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// Epoch is the measurement of one epoch.
type Epoch struct {
	Total, Train, Validation time.Duration
	TrainCPU                 time.Duration // process CPU time during the training steps (0 if not measured)
	Mallocs, Bytes           uint64        // heap allocations during the training steps
	Loss, Accuracy           float64
	ValLoss, ValAccuracy     float64
}

// Result is the measurement of a run of several epochs.
type Result struct {
	Workload   string
	Steps      int // training steps per epoch
	Threads    int // threads per training step (FitOptions.Threads), and GOMAXPROCS, during the run
	Epochs     []Epoch
	Validation bool
}

// Median returns the median of ds (0 if empty).
func Median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func (r *Result) pick(f func(Epoch) time.Duration) time.Duration {
	var ds []time.Duration
	for _, e := range r.Epochs {
		ds = append(ds, f(e))
	}
	return Median(ds)
}

// MedianEpoch is the median wall time of an epoch, validation included.
func (r *Result) MedianEpoch() time.Duration {
	return r.pick(func(e Epoch) time.Duration { return e.Total })
}

// MedianTrain is the median time of an epoch's training steps alone.
func (r *Result) MedianTrain() time.Duration {
	return r.pick(func(e Epoch) time.Duration { return e.Train })
}

// MedianValidation is the median time of an epoch's validation.
func (r *Result) MedianValidation() time.Duration {
	return r.pick(func(e Epoch) time.Duration { return e.Validation })
}

// MedianTrainCPU is the median process CPU time of an epoch's training steps.
func (r *Result) MedianTrainCPU() time.Duration {
	return r.pick(func(e Epoch) time.Duration { return e.TrainCPU })
}

// StepMicros is the median training time per step in microseconds.
func (r *Result) StepMicros() float64 {
	return float64(r.MedianTrain().Nanoseconds()) / 1e3 / float64(r.Steps)
}

// AllocsPerStep is the number of heap allocations per training step over
// all epochs (runtime.MemStats.Mallocs, validation excluded).
func (r *Result) AllocsPerStep() float64 {
	var m uint64
	for _, e := range r.Epochs {
		m += e.Mallocs
	}
	return float64(m) / float64(r.Steps*len(r.Epochs))
}

// BytesPerStep is the heap bytes allocated per training step.
func (r *Result) BytesPerStep() float64 {
	var m uint64
	for _, e := range r.Epochs {
		m += e.Bytes
	}
	return float64(m) / float64(r.Steps*len(r.Epochs))
}

// probe is the timing callback. Its BatchEnd allocates nothing; MemStats
// lives in the struct so reading it does not escape.
type probe struct {
	callbacks.Base
	steps      int
	begin      time.Time
	trainEnd   time.Time
	cpu0       time.Duration
	ms         runtime.MemStats
	mallocs0   uint64
	bytes0     uint64
	cur        Epoch
	epochs     []Epoch
	validation bool
}

func (p *probe) TrainBegin(par callbacks.Params, _ *callbacks.Control) { p.steps = par.Steps }

func (p *probe) EpochBegin(int) {
	runtime.ReadMemStats(&p.ms)
	p.mallocs0, p.bytes0 = p.ms.Mallocs, p.ms.TotalAlloc
	p.cpu0 = cpuTime()
	p.begin = time.Now()
}

func (p *probe) BatchEnd(step int, _ callbacks.Logs) {
	if step != p.steps {
		return
	}
	p.trainEnd = time.Now()
	p.cur.TrainCPU = cpuTime() - p.cpu0
	runtime.ReadMemStats(&p.ms)
	p.cur.Mallocs, p.cur.Bytes = p.ms.Mallocs-p.mallocs0, p.ms.TotalAlloc-p.bytes0
}

func (p *probe) EpochEnd(_ int, logs callbacks.Logs) {
	end := time.Now()
	e := p.cur
	e.Train = p.trainEnd.Sub(p.begin)
	e.Total = end.Sub(p.begin)
	e.Validation = e.Total - e.Train
	e.Loss, _ = logs.Get("loss")
	e.Accuracy, _ = logs.Get("accuracy")
	e.ValLoss, _ = logs.Get("val_loss")
	e.ValAccuracy, _ = logs.Get("val_accuracy")
	p.epochs = append(p.epochs, e)
}

// Options configure Run.
type Options struct {
	Epochs       int  // default 3
	Threads      int  // threads per training step and for validation (FitOptions.Threads and Workers), and GOMAXPROCS; default 1
	NoValidation bool // skip the validation pass
	// EpochDone, if set, is called after every epoch (for live output).
	EpochDone func(i int, e Epoch)
}

// Run trains the workload for opts.Epochs epochs from its seeded initial
// weights and measures every epoch.
func Run(ctx context.Context, workload string, opts Options) (*Result, error) {
	s, err := NewSetup(workload)
	if err != nil {
		return nil, err
	}
	return s.Run(ctx, workload, opts)
}

// Run trains s for opts.Epochs epochs and measures them.
func (s *Setup) Run(ctx context.Context, workload string, opts Options) (*Result, error) {
	if opts.Epochs <= 0 {
		opts.Epochs = 3
	}
	if opts.Threads <= 0 {
		opts.Threads = 1
	}
	prev := runtime.GOMAXPROCS(opts.Threads)
	defer runtime.GOMAXPROCS(prev)
	// Let the runtime settle before measuring: after loading the data the
	// background scavenger's first sleep grows a timer heap (one 32-byte
	// allocation that is not the training loop's).
	runtime.GC()
	time.Sleep(20 * time.Millisecond)
	p := &probe{}
	cbs := []callbacks.Callback{p}
	if opts.EpochDone != nil {
		cbs = append(cbs, callbacks.Func{OnEpochEnd: func(epoch int, _ callbacks.Logs) {
			opts.EpochDone(epoch, p.epochs[len(p.epochs)-1])
		}})
	}
	fo := kiln.FitOptions{BatchSize: s.Batch, Epochs: opts.Epochs, Callbacks: cbs, Workers: opts.Threads, Threads: opts.Threads}
	if !opts.NoValidation {
		fo.ValidationData = &kiln.XY{X: s.XVal, Y: s.YVal}
	}
	if _, err := s.Model.Fit(ctx, s.X, s.Y, fo); err != nil {
		return nil, err
	}
	return &Result{Workload: workload, Steps: p.steps, Threads: opts.Threads, Epochs: p.epochs, Validation: !opts.NoValidation}, nil
}
