package callbacks

import (
	"fmt"
	"io"
	"math"
	"os"
	"strings"
)

// EarlyStopping stops training when a monitored value has stopped
// improving, with the semantics of Keras 2's EarlyStopping (tf.keras 2.15).
//
// At each EpochEnd from StartFromEpoch on, the epoch counts as an
// improvement when value-MinDelta beats the best so far (in the direction
// of Mode); an improvement resets the wait unless Baseline is set and not
// beaten. Otherwise the wait grows, and once it reaches Patience (and the
// epoch is not the first, index 0) Control.StopTraining is set and
// StoppedEpoch records the epoch.
//
// If Monitor is missing from the epoch's logs, a one-line warning is written
// to Warn, as Keras logs it, and the epoch is ignored.
//
// With RestoreBestWeights, the weights of the best epoch are kept (from
// the first monitored epoch on) and put back when training stops early,
// as Keras does (not when it runs all its epochs).
type EarlyStopping struct {
	// Monitor is the log name to watch; "" means "val_loss".
	Monitor string
	// MinDelta is the least change that counts as an improvement (its
	// absolute value is used).
	MinDelta float64
	// Patience is the number of epochs without improvement before stopping.
	Patience int
	// Mode is "min", "max" or "auto" ("" means "auto"): auto maximizes a
	// name ending in "acc", "accuracy" or "auc" and minimizes anything else.
	// An unknown mode falls back to auto with a warning.
	Mode string
	// Baseline, if set, is a value the monitored quantity must beat for an
	// improvement to reset the wait.
	Baseline *float64
	// StartFromEpoch is the number of epochs (counted from epoch index 0)
	// to let pass before monitoring.
	StartFromEpoch int
	// Verbose > 0 prints "Epoch N: early stopping" to Out at TrainEnd.
	Verbose int
	// Out receives the Verbose message; nil means os.Stdout.
	Out io.Writer
	// Warn receives warnings; nil means os.Stderr.
	Warn io.Writer
	// RestoreBestWeights puts the best epoch's weights back when training
	// stops early (needs the model: Fit calls SetModel).
	RestoreBestWeights bool

	// StoppedEpoch is the 0-based epoch at which training was stopped, or
	// 0 if it was not. Reset at TrainBegin.
	StoppedEpoch int
	// Best is the best monitored value seen (±Inf before any). Reset at
	// TrainBegin.
	Best float64
	// BestEpoch is the 0-based epoch of Best. Reset at TrainBegin.
	BestEpoch int
	// Wait counts the epochs since the last improvement. Reset at
	// TrainBegin.
	Wait int

	greater bool
	delta   float64
	control *Control
	model   Model
	best    [][]float32 // the best epoch's weights, with RestoreBestWeights
	resume  *earlyStoppingState
}

// SetModel gives EarlyStopping the model whose weights it restores.
func (e *EarlyStopping) SetModel(m Model) { e.model = m }

func (e *EarlyStopping) monitor() string {
	if e.Monitor == "" {
		return "val_loss"
	}
	return e.Monitor
}

func (e *EarlyStopping) warn(format string, args ...any) {
	w := e.Warn
	if w == nil {
		w = os.Stderr
	}
	fmt.Fprintf(w, "WARNING:tensorflow:"+format+"\n", args...)
}

// TrainBegin resolves the mode and resets the state, so an EarlyStopping
// can be reused.
func (e *EarlyStopping) TrainBegin(_ Params, c *Control) {
	e.control = c
	mode := e.Mode
	if mode == "" {
		mode = "auto"
	}
	if mode != "auto" && mode != "min" && mode != "max" {
		e.warn("EarlyStopping mode %s is unknown, fallback to auto mode.", mode)
		mode = "auto"
	}
	switch mode {
	case "min":
		e.greater = false
	case "max":
		e.greater = true
	default:
		m := e.monitor()
		e.greater = strings.HasSuffix(m, "acc") || strings.HasSuffix(m, "accuracy") ||
			strings.HasSuffix(m, "auc")
	}
	e.delta = math.Abs(e.MinDelta)
	if !e.greater {
		e.delta = -e.delta
	}
	e.Wait = 0
	e.StoppedEpoch = 0
	e.BestEpoch = 0
	e.best = nil
	if e.greater {
		e.Best = math.Inf(-1)
	} else {
		e.Best = math.Inf(1)
	}
	if r := e.resume; r != nil {
		e.resume = nil
		e.Best, e.BestEpoch, e.Wait, e.StoppedEpoch, e.best = float64(r.Best), r.BestEpoch, r.Wait, r.StoppedEpoch, r.BestWeights
	}
}

func (e *EarlyStopping) isImprovement(v, ref float64) bool {
	if e.greater {
		return v-e.delta > ref
	}
	return v-e.delta < ref
}

// EpochBegin does nothing.
func (e *EarlyStopping) EpochBegin(int) {}

// BatchEnd does nothing.
func (e *EarlyStopping) BatchEnd(int, Logs) {}

// EpochEnd checks the monitored value and may ask training to stop.
func (e *EarlyStopping) EpochEnd(epoch int, logs Logs) {
	current, ok := logs.Get(e.monitor())
	if !ok {
		e.warn("Early stopping conditioned on metric `%s` which is not available. Available metrics are: %s",
			e.monitor(), strings.Join(logs.Names, ","))
		return
	}
	if epoch < e.StartFromEpoch {
		return
	}
	restore := e.RestoreBestWeights && e.model != nil
	if restore && e.best == nil {
		// Restore the first monitored epoch's weights if none is better.
		e.best = e.model.GetWeights()
	}
	e.Wait++
	if e.isImprovement(current, e.Best) {
		e.Best = current
		e.BestEpoch = epoch
		if restore {
			e.best = e.model.GetWeights()
		}
		if e.Baseline == nil || e.isImprovement(current, *e.Baseline) {
			e.Wait = 0
		}
		return
	}
	if e.Wait >= e.Patience && epoch > 0 {
		e.StoppedEpoch = epoch
		if e.control != nil {
			e.control.StopTraining = true
		}
		if restore && e.best != nil {
			if e.Verbose > 0 {
				w := e.Out
				if w == nil {
					w = os.Stdout
				}
				fmt.Fprintf(w, "Restoring model weights from the end of the best epoch: %d.\n", e.BestEpoch+1)
			}
			if err := e.model.SetWeights(e.best); err != nil {
				e.warn("EarlyStopping could not restore the best weights: %v", err)
			}
		}
	}
}

// TrainEnd prints "Epoch N: early stopping" if training was stopped and
// Verbose > 0.
func (e *EarlyStopping) TrainEnd(Logs) {
	if e.StoppedEpoch > 0 && e.Verbose > 0 {
		w := e.Out
		if w == nil {
			w = os.Stdout
		}
		fmt.Fprintf(w, "Epoch %d: early stopping\n", e.StoppedEpoch+1)
	}
}
