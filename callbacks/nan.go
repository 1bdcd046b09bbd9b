package callbacks

import (
	"fmt"
	"io"
	"math"
	"os"
)

// TerminateOnNaN stops training when a batch's loss is NaN or infinite,
// like Keras' TerminateOnNaN: it prints "Batch N: Invalid loss,
// terminating training" and sets Control.StopTraining, which Fit checks
// after every batch (the epoch then ends as Keras ends it: its logs are
// recorded and the epoch-end callbacks run).
type TerminateOnNaN struct {
	Base
	// Out receives the message; nil means os.Stdout.
	Out io.Writer
	// Stopped is true once it stopped training.
	Stopped bool
	control *Control
}

// TrainBegin keeps the Control.
func (t *TerminateOnNaN) TrainBegin(_ Params, c *Control) { t.control = c; t.Stopped = false }

// BatchEnd checks the loss (Keras reads logs["loss"], the epoch's running
// mean, which turns non-finite with the first non-finite batch).
func (t *TerminateOnNaN) BatchEnd(step int, logs Logs) {
	loss, ok := logs.Get("loss")
	if !ok || !(math.IsNaN(loss) || math.IsInf(loss, 0)) {
		return
	}
	w := t.Out
	if w == nil {
		w = os.Stdout
	}
	fmt.Fprintf(w, "Batch %d: Invalid loss, terminating training\n", step-1)
	t.Stopped = true
	if t.control != nil {
		t.control.StopTraining = true
	}
}
