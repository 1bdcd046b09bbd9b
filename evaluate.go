package kiln

import (
	"context"
	"github.com/kiln-ml/kiln/tensor"
	"io"
	"os"
	"runtime"
	"slices"
	"sync"

	"github.com/kiln-ml/kiln/activations"
	"github.com/kiln-ml/kiln/callbacks"
	"github.com/kiln-ml/kiln/data"
	"github.com/kiln-ml/kiln/internal/kernels"
	"github.com/kiln-ml/kiln/layers"
	"github.com/kiln-ml/kiln/metrics"
)

// EvaluateOptions are the arguments of Keras' evaluate and predict.
type EvaluateOptions struct {
	BatchSize int // default 32
	Verbose   int // 0 silent, 1 progress bar (the Go zero value is silent)
	Out       io.Writer
	TTY       *bool
	Workers   int // goroutines (default GOMAXPROCS); results do not depend on it
}

// Result holds named values in Keras' order: loss, then the metrics.
type Result = callbacks.Logs

// Evaluate returns the loss and metrics over x, y like Keras' evaluate.
func (m *Sequential) Evaluate(ctx context.Context, x, y *data.Array, opts EvaluateOptions) (Result, error) {
	if m.c == nil {
		return Result{}, inputErr("evaluate: the model must be compiled first: call Compile")
	}
	if err := m.checkData("evaluation", x, y); err != nil {
		return Result{}, err
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 32
	}
	var bar *callbacks.ProgressBar
	steps := (x.Rows() + opts.BatchSize - 1) / opts.BatchSize
	if opts.Verbose > 0 {
		out := opts.Out
		if out == nil {
			out = os.Stdout
		}
		bar = callbacks.NewProgressBar(out, isTTY(out, opts.TTY))
		bar.TrainBegin(callbacks.Params{Steps: steps, Verbose: opts.Verbose}, &callbacks.Control{})
		bar.EpochBegin(0)
	}
	res, err := m.evaluate(ctx, x, y, opts.BatchSize, opts.Workers, bar)
	if err == nil && bar != nil {
		bar.EpochEnd(0, res)
	}
	return res, err
}

// workspace is one goroutine's inference scratch memory.
type workspace struct {
	a, b     []float32 // ping-pong buffers for the layers of one slice of rows
	out, z   []float32 // a batch's outputs and logits
	xb, yb   []float32
	idx      []int
	finalAct activations.Func
}

// inferRows is how many rows of a batch infer sends through the model at
// a time: a slice of MNIST rows as float32 (12 KB) stays in the L1 cache
// from the gather to the first layer. Every inference layer treats rows
// independently, so the outputs do not depend on it.
const inferRows = 4

func (m *Sequential) newWorkspace(batch int) *workspace {
	width := 0
	for _, d := range [][]int{m.InputShape(), m.OutputShape()} {
		width = max(width, tensor.Size(d))
	}
	for _, l := range m.layers {
		width = max(width, tensor.Size(l.OutputShape()))
	}
	rows := min(batch, inferRows)
	outW := tensor.Size(m.OutputShape())
	ws := &workspace{a: make([]float32, rows*width), b: make([]float32, rows*width),
		out: make([]float32, batch*outW), z: make([]float32, batch*outW),
		xb: make([]float32, rows*tensor.Size(m.InputShape())), idx: make([]int, batch)}
	if act, ok := m.layers[len(m.layers)-1].(layers.Activated); ok {
		ws.finalAct, _ = activations.Get(act.ActivationName())
	}
	return ws
}

// infer runs rows [lo, hi) of x through the model, inferRows rows at a
// time. It returns the outputs and, when withLogits and the last layer is
// activated, its logits; then, if logitsOnly, the final activation is
// skipped and out is nil.
func (m *Sequential) infer(ws *workspace, x *data.Array, lo, hi int, withLogits, logitsOnly bool) (out, logits []float32) {
	n := hi - lo
	for i := range ws.idx[:n] {
		ws.idx[i] = lo + i
	}
	outW := tensor.Size(m.OutputShape())
	last := len(m.layers) - 1
	// A first layer behind views that reads bytes gets the uint8 rows.
	var bytesIn layers.BytesReader
	first := 0
	src, lut, bytesOK := x.ByteRows()
	for i, l := range m.layers {
		if layers.IsView(l) {
			continue
		}
		if d, ok := l.(layers.BytesReader); ok && bytesOK {
			bytesIn, first = d, i
		}
		break
	}
	rl := x.RowLen()
	step := inferRows
	if bytesIn != nil && first == last {
		step = n // bytes stay compact, and the outputs fit: the whole batch at once
	}
	for s := 0; s < n; s += step {
		k := min(step, n-s)
		var cur []float32
		next := ws.a
		start := 0
		if bytesIn != nil {
			w := tensor.Size(bytesIn.OutputShape())
			rows := src[(lo+s)*rl : (lo+s+k)*rl]
			// Read ahead: the next batch's rows come next in memory.
			kernels.Prefetch(src[min((lo+s+k)*rl, len(src)):min((lo+s+2*k)*rl, len(src))])
			switch {
			case first == last && withLogits:
				z := ws.z[s*w : (s+k)*w]
				bytesIn.InferBytes(z, rows, k, lut, true)
				if !logitsOnly {
					ws.finalAct.Forward(ws.out[s*w:(s+k)*w], z, k, w)
				}
				continue
			case first == last:
				bytesIn.InferBytes(ws.out[s*w:(s+k)*w], rows, k, lut, false)
				continue
			}
			bytesIn.InferBytes(next, rows, k, lut, false)
			cur, next, start = next[:k*w], ws.b, first+1
		} else {
			x.GatherRows(ws.xb, ws.idx[s:s+k])
			cur = ws.xb[:k*rl]
		}
		for i := start; i <= last; i++ {
			l := m.layers[i]
			w := tensor.Size(l.OutputShape())
			if i == last && withLogits {
				z := ws.z[s*w : (s+k)*w]
				l.(layers.Activated).InferLogits(z, cur, k)
				if !logitsOnly {
					ws.finalAct.Forward(ws.out[s*w:(s+k)*w], z, k, w)
				}
				cur = nil
				break
			}
			if layers.IsView(l) {
				continue // the values stay as they are: nothing to copy
			}
			l.Infer(next, cur, k)
			cur = next[:k*w]
			if &next[0] == &ws.a[0] {
				next = ws.b
			} else {
				next = ws.a
			}
		}
		if cur != nil {
			copy(ws.out[s*outW:(s+k)*outW], cur)
		}
	}
	if withLogits {
		if logitsOnly {
			return nil, ws.z[:n*outW]
		}
		return ws.out[:n*outW], ws.z[:n*outW]
	}
	return ws.out[:n*outW], nil
}

type batchResult struct {
	loss    float32
	n       int
	metrics []float32
}

// evaluate computes loss and metrics batch-parallel; the batch results are
// combined in batch order, so the numbers do not depend on the worker count.
func (m *Sequential) evaluate(ctx context.Context, x, y *data.Array, batch, workers int, bar *callbacks.ProgressBar) (Result, error) {
	ms, err := m.resolveMetrics(y)
	if err != nil {
		return Result{}, err
	}
	n := x.Rows()
	steps := (n + batch - 1) / batch
	results := make([]batchResult, steps)
	done := make([]bool, steps)
	var mu sync.Mutex
	next := 0 // the first batch not yet combined
	var lossSum, count float32
	sums := make([]float32, len(ms))
	units := tensor.Size(m.OutputShape())
	tw := y.RowLen()
	// The outputs are needed only by a loss on probabilities and by
	// binary_accuracy (see metricInput); otherwise the logits suffice.
	logitsOnly := m.c.useLogits
	for _, mt := range ms {
		if mt.Kind() == "binary_accuracy" {
			logitsOnly = false
		}
	}
	err = m.parallelBatches(ctx, n, batch, workers, func(ws *workspace, s, lo, hi int) {
		k := hi - lo
		out, logits := m.infer(ws, x, lo, hi, m.c.haveLogits, logitsOnly)
		if ws.yb == nil {
			ws.yb = make([]float32, batch*tw)
		}
		y.GatherRows(ws.yb, ws.idx[:k])
		pred := out
		if m.c.useLogits {
			pred = logits
		}
		r := batchResult{loss: m.c.loss.Compute(pred, ws.yb, k, units, m.c.fromLogits, nil), n: k, metrics: make([]float32, len(ms))}
		for i, mt := range ms {
			r.metrics[i] = mt.Update(metricInput(mt, out, logits), ws.yb, k, units)
		}
		mu.Lock()
		defer mu.Unlock()
		results[s], done[s] = r, true
		// Combine the finished prefix in batch order, and show it as it
		// grows: the bar's step times are then real (Keras' estimate
		// leaves out the first step).
		for ; next < steps && done[next]; next++ {
			r := results[next]
			lossSum += r.loss * float32(r.n)
			count += float32(r.n)
			for i := range sums {
				sums[i] += r.metrics[i]
			}
			if bar != nil {
				bar.BatchEnd(next+1, meansOf(lossSum, count, sums, ms))
			}
		}
	})
	if err != nil {
		return Result{}, err
	}
	return meansOf(lossSum, count, sums, ms), nil
}

func meansOf(lossSum, count float32, sums []float32, ms []metrics.Metric) Result {
	r := Result{Names: []string{"loss"}, Values: []float64{float64(lossSum / count)}}
	for i, mt := range ms {
		r.Names = append(r.Names, mt.Name())
		r.Values = append(r.Values, float64(sums[i]/count))
	}
	return r
}

// parallelBatches calls fn for every batch of n rows, spread over workers
// goroutines each with its own workspace.
func (m *Sequential) parallelBatches(ctx context.Context, n, batch, workers int, fn func(ws *workspace, step, lo, hi int)) error {
	steps := (n + batch - 1) / batch
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, steps)
	var wg sync.WaitGroup
	next := make(chan int, steps)
	for s := 0; s < steps; s++ {
		next <- s
	}
	close(next)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ws := m.newWorkspace(batch)
			for s := range next {
				if ctx.Err() != nil {
					return
				}
				lo, hi := s*batch, min((s+1)*batch, n)
				fn(ws, s, lo, hi)
			}
		}()
	}
	wg.Wait()
	return ctx.Err()
}

// Predict returns the model's outputs for x, shape (N, units...), like Keras' predict.
func (m *Sequential) Predict(ctx context.Context, x *data.Array, opts EvaluateOptions) (*data.Array, error) {
	return m.predict(ctx, x, opts, false)
}

// PredictLogits returns the last layer's pre-activation values (the logits
// Keras' TF backend hands to a cross-entropy) for x; for a last layer without
// an activation they equal Predict's outputs.
func (m *Sequential) PredictLogits(ctx context.Context, x *data.Array, opts EvaluateOptions) (*data.Array, error) {
	return m.predict(ctx, x, opts, true)
}

func (m *Sequential) predict(ctx context.Context, x *data.Array, opts EvaluateOptions, logits bool) (*data.Array, error) {
	if !m.built {
		return nil, inputErr("predict: the model must be compiled (or built) first")
	}
	in := m.InputShape()
	if len(x.Shape) != len(in)+1 || !slices.Equal(x.Shape[1:], in) {
		return nil, inputErr("predict: Input 0 of layer %q is incompatible with the layer: expected shape=%s, found shape=%s",
			m.Name, layers.ShapeTuple(in), data.ShapeString(x.Shape))
	}
	if i := x.FirstNonFinite(); i >= 0 {
		return nil, inputErr("predict: x contains %v at sample %d; remove or impute non-finite values", x.At(i), i/x.RowLen())
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 32
	}
	_, activated := m.layers[len(m.layers)-1].(layers.Activated)
	logits = logits && activated
	units := tensor.Size(m.OutputShape())
	n := x.Rows()
	out := make([]float32, n*units)
	err := m.parallelBatches(ctx, n, opts.BatchSize, opts.Workers, func(ws *workspace, _, lo, hi int) {
		y, z := m.infer(ws, x, lo, hi, logits, false)
		if logits {
			y = z
		}
		copy(out[lo*units:hi*units], y)
	})
	if err != nil {
		return nil, err
	}
	if opts.Verbose > 0 {
		w := opts.Out
		if w == nil {
			w = os.Stdout
		}
		steps := (n + opts.BatchSize - 1) / opts.BatchSize
		bar := callbacks.NewProgressBar(w, isTTY(w, opts.TTY))
		bar.TrainBegin(callbacks.Params{Steps: steps, Verbose: opts.Verbose}, &callbacks.Control{})
		bar.EpochBegin(0)
		bar.EpochEnd(0, callbacks.Logs{})
	}
	return data.NewFloat32(out, append([]int{n}, m.OutputShape()...)...), nil
}
