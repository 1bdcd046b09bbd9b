package explain

import (
	"fmt"
	"math"
	"strings"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/callbacks"
	"github.com/kiln-ml/kiln/tensor"
)

// recording is what Fit reported during one probe, as plain numbers. The
// dynamic checks read recordings (with explain's own measurements in
// probeResult), so tests can hand-make them.
type recording struct {
	epochLoss []float64 // the training loss of each finished epoch (as History)
	epochAcc  []float64 // the first compiled metric of each epoch (e.g. accuracy), if any
	valLoss   []float64 // val_loss of each epoch, if validated
	batchLoss []float64 // every step's own loss (callbacks.BatchLoss)
	stepLoss  []float64 // the running epoch loss at ≤ ~200 sampled steps
	stepX     []float64 // global step of stepLoss
	steps     int       // optimizer steps taken
	nonFinite bool      // the loss or the weights became NaN/inf
	aborted   string    // why training stopped early ("" if it did not)

	// Per kernel (see kernelsOf), in layer order.
	kernelNames []string
	gradRMS     [][]float64 // per sampled step: RMS of each kernel's gradient
	updateRatio [][]float64 // per sampled step: ‖ΔW‖/‖W‖ of each kernel over one step
	w0, w1, dW  []float64   // ‖W‖ at the start and the end, and ‖W_end − W_start‖
}

// recorder is the callback a probe's Fit runs with: it fills a recording.
// It samples the running loss at about 200 steps and the gradients at
// about 24 (each with the update of the step before, for ‖ΔW‖/‖W‖), and
// stops training when the loss becomes non-finite.
type recorder struct {
	callbacks.Base
	rec     *recording
	kernels []*tensor.Variable
	init    [][]float32 // kernel values at the start
	snap    [][]float32 // kernel values before the sampled step
	steps   int         // steps per epoch
	every   int         // sample the running loss every this many steps
	gradAt  int         // sample gradients every this many steps
	global  int
	stop    func()          // cancels Fit
	onEpoch func(epoch int) // explain's own per-epoch scoring, if set
}

// newRecorder records into rec a Fit of epochs epochs of steps steps each,
// watching kernels; stop cancels the Fit.
func newRecorder(rec *recording, kernels []*tensor.Variable, steps, epochs int, stop func()) *recorder {
	r := &recorder{rec: rec, kernels: kernels, steps: steps, stop: stop,
		every: max(1, steps*epochs/200), gradAt: max(2, steps*epochs/24)}
	for _, k := range kernels {
		rec.kernelNames = append(rec.kernelNames, k.Name)
		rec.w0 = append(rec.w0, norm(k.Value))
		r.init = append(r.init, append([]float32(nil), k.Value...))
	}
	return r
}

// BatchEnd records the step's loss, samples the running loss and the
// gradients, and stops a run whose loss is no longer finite.
func (r *recorder) BatchEnd(step int, logs callbacks.Logs) {
	rec := r.rec
	r.global++
	rec.steps = r.global
	mean := logs.Values[0]
	bl, _ := logs.Get(callbacks.BatchLoss)
	rec.batchLoss = append(rec.batchLoss, bl)
	if r.global%r.every == 0 || step == r.steps {
		rec.stepLoss = append(rec.stepLoss, mean)
		rec.stepX = append(rec.stepX, float64(r.global))
	}
	if !finite(mean) {
		rec.nonFinite = true
		rec.aborted = fmt.Sprintf("the loss became %s at step %d", fmtNum(mean), r.global)
		r.stop()
		return
	}
	if r.global%r.gradAt == r.gradAt-1 {
		r.snap = r.snap[:0]
		for _, k := range r.kernels {
			r.snap = append(r.snap, append([]float32(nil), k.Value...))
		}
	}
	if r.global%r.gradAt == 0 {
		g := make([]float64, len(r.kernels))
		u := make([]float64, len(r.kernels))
		for i, k := range r.kernels {
			g[i] = norm(k.Grad) / math.Sqrt(float64(len(k.Grad)))
			if len(r.snap) == len(r.kernels) {
				u[i] = diffNorm(k.Value, r.snap[i]) / math.Max(norm(r.snap[i]), 1e-12)
			}
		}
		rec.gradRMS = append(rec.gradRMS, g)
		if len(r.snap) == len(r.kernels) {
			rec.updateRatio = append(rec.updateRatio, u)
		}
	}
}

// EpochEnd records the epoch's logs as History would: loss, val_loss and
// the first compiled metric.
func (r *recorder) EpochEnd(epoch int, logs callbacks.Logs) {
	rec := r.rec
	for i, k := range logs.Names {
		switch {
		case k == "loss":
			rec.epochLoss = append(rec.epochLoss, logs.Values[i])
		case k == "val_loss":
			rec.valLoss = append(rec.valLoss, logs.Values[i])
		case i == 1 && !strings.HasPrefix(k, "val_"):
			rec.epochAcc = append(rec.epochAcc, logs.Values[i])
		}
	}
	if r.onEpoch != nil {
		r.onEpoch(epoch)
	}
}

// finish records the kernels' final norms and change, after Fit returned.
func (r *recorder) finish() {
	rec := r.rec
	if rec.nonFinite && (len(rec.epochLoss) == 0 || finite(last(rec.epochLoss))) {
		rec.epochLoss = append(rec.epochLoss, math.NaN())
	}
	for i, k := range r.kernels {
		rec.w1 = append(rec.w1, norm(k.Value))
		rec.dW = append(rec.dW, diffNorm(k.Value, r.init[i]))
		if !finite(rec.w1[i]) {
			rec.nonFinite = true
		}
	}
}

// kernelsOf returns the model's kernels in layer order: every trainable
// variable of rank ≥ 2, so Dense's (in, units) and Conv2D's (kh, kw, in,
// filters) kernels, not the rank-1 biases or BatchNormalization's gamma
// and beta, whose gradients do not say how well a layer learns.
func kernelsOf(m *kiln.Sequential) []*tensor.Variable {
	var ks []*tensor.Variable
	for _, v := range m.Variables() {
		if len(v.Shape) >= 2 {
			ks = append(ks, v)
		}
	}
	return ks
}
