// Package callbacks holds what Fit calls around training: the Keras 2
// progress bar, CSV logging, early stopping, checkpoints, TerminateOnNaN
// and BackupAndRestore (resumable training), behind one interface.
//
// The call order mirrors Keras: TrainBegin, then per epoch EpochBegin,
// BatchEnd after every step, EpochEnd (with validation values), and TrainEnd.
package callbacks

// Logs is an ordered set of named values, in Keras' order: loss, the compiled
// metrics in compile order, then the val_ versions.
type Logs struct {
	Names  []string
	Values []float64
}

// Get returns the value named name and whether it is present.
func (l Logs) Get(name string) (float64, bool) {
	for i, n := range l.Names {
		if n == name {
			return l.Values[i], true
		}
	}
	return 0, false
}

// Params describes the run, like Keras' callback.params.
type Params struct {
	Epochs       int // total epochs; 0 for evaluate/predict (no "Epoch" header)
	InitialEpoch int // first epoch index (0-based)
	Steps        int // steps per epoch
	Verbose      int // 0, 1 or 2
}

// Control lets a callback ask Fit to stop, like setting
// model.stop_training in Keras. Fit checks it after every batch, as Keras
// 2 does: set during an epoch, the epoch's remaining batches are skipped,
// its end (validation, EpochEnd) still runs, and training stops; set at an
// epoch's end, training stops there.
type Control struct {
	StopTraining bool
}

// BatchLoss is the key of the step's own loss in Fit's BatchEnd logs (its
// batch's sample-weighted mean loss, before the update). It comes after the
// running means, is kiln's addition to Keras' logs, and is a per-step value:
// EpochEnd logs, History, the progress bar and CSVLogger do not carry it.
const BatchLoss = "batch_loss"

// Callback receives Fit's events. epoch is 0-based; step counts the steps
// done in the current epoch (1-based); logs at BatchEnd are the running,
// sample-weighted means of the epoch so far, as in Keras, followed by
// BatchLoss.
type Callback interface {
	TrainBegin(p Params, c *Control)
	EpochBegin(epoch int)
	BatchEnd(step int, logs Logs)
	EpochEnd(epoch int, logs Logs)
	TrainEnd(logs Logs)
}

// Base implements Callback with no-ops; embed it to implement only some events.
type Base struct{}

// TrainBegin does nothing.
func (Base) TrainBegin(Params, *Control) {}

// EpochBegin does nothing.
func (Base) EpochBegin(int) {}

// BatchEnd does nothing.
func (Base) BatchEnd(int, Logs) {}

// EpochEnd does nothing.
func (Base) EpochEnd(int, Logs) {}

// TrainEnd does nothing.
func (Base) TrainEnd(Logs) {}
