package callbacks

import (
	"bytes"
	"math"
	"testing"
)

// runES feeds values of e.Monitor (or "val_loss") to e, one per epoch from
// epoch 0, stopping when e asks, and returns the epochs run.
func runES(e *EarlyStopping, values ...float64) int {
	c := &Control{}
	e.TrainBegin(Params{Epochs: len(values)}, c)
	name := e.Monitor
	if name == "" {
		name = "val_loss"
	}
	n := 0
	for epoch, v := range values {
		e.EpochBegin(epoch)
		e.EpochEnd(epoch, Logs{Names: []string{"loss", name}, Values: []float64{0, v}})
		n++
		if c.StopTraining {
			break
		}
	}
	e.TrainEnd(Logs{})
	return n
}

func TestEarlyStoppingPatience(t *testing.T) {
	nan := math.NaN()
	cases := []struct {
		name    string
		es      EarlyStopping
		values  []float64
		stopped int // StoppedEpoch, 0 = ran to the end
		ran     int
	}{
		{"patience 0 stops at first non-improvement", EarlyStopping{}, []float64{1, 0.9, 0.95, 0.5}, 2, 3},
		{"patience 2", EarlyStopping{Patience: 2}, []float64{1, 1.1, 1.2, 0.9}, 2, 3},
		{"improvement resets wait", EarlyStopping{Patience: 2}, []float64{1, 1.1, 0.9, 1, 1, 0.1}, 4, 5},
		{"equal is no improvement", EarlyStopping{Patience: 1}, []float64{1, 1, 0.5}, 1, 2},
		{"never stops at epoch 0", EarlyStopping{}, []float64{nan, nan, 1}, 1, 2},
		{"keeps improving", EarlyStopping{Patience: 1}, []float64{5, 4, 3, 2, 1}, 0, 5},
		{"min delta", EarlyStopping{Patience: 1, MinDelta: 0.01}, []float64{1, 0.995, 0.5}, 1, 2},
		{"negative min delta is its absolute value", EarlyStopping{Patience: 1, MinDelta: -0.01}, []float64{1, 0.995, 0.5}, 1, 2},
		{"auto maximizes accuracy", EarlyStopping{Monitor: "val_accuracy", Patience: 2}, []float64{0.5, 0.6, 0.55, 0.55, 0.9}, 3, 4},
		{"auto maximizes acc", EarlyStopping{Monitor: "acc", Patience: 1}, []float64{0.5, 0.6, 0.55}, 2, 3},
		{"auto maximizes auc", EarlyStopping{Monitor: "val_auc", Patience: 1}, []float64{0.5, 0.6, 0.55}, 2, 3},
		{"auto minimizes other names", EarlyStopping{Monitor: "val_accuracy_drop", Patience: 1}, []float64{0.5, 0.6}, 1, 2},
		{"max", EarlyStopping{Monitor: "val_loss", Mode: "max", Patience: 1}, []float64{0.5, 0.4}, 1, 2},
		{"min", EarlyStopping{Monitor: "val_accuracy", Mode: "min", Patience: 1}, []float64{0.5, 0.6}, 1, 2},
		{"start from epoch", EarlyStopping{StartFromEpoch: 2}, []float64{5, 9, 3, 3.5}, 3, 4},
	}
	for _, c := range cases {
		es := c.es
		ran := runES(&es, c.values...)
		if ran != c.ran || es.StoppedEpoch != c.stopped {
			t.Errorf("%s: ran %d epochs, StoppedEpoch %d; want %d, %d", c.name, ran, es.StoppedEpoch, c.ran, c.stopped)
		}
	}
}

func TestEarlyStoppingBaseline(t *testing.T) {
	base := 0.5
	// Improvements that do not beat the baseline do not reset the wait, but
	// (as in Keras 2.15) an improving epoch never stops training.
	es := EarlyStopping{Patience: 2, Baseline: &base}
	ran := runES(&es, 0.9, 0.8, 0.7, 0.75, 0.1)
	if ran != 4 || es.StoppedEpoch != 3 || es.Wait != 4 {
		t.Errorf("ran %d, StoppedEpoch %d, Wait %d; want 4, 3, 4", ran, es.StoppedEpoch, es.Wait)
	}
	if es.Best != 0.7 || es.BestEpoch != 2 {
		t.Errorf("Best %v at %d, want 0.7 at 2", es.Best, es.BestEpoch)
	}
	// Beating the baseline resets the wait.
	es = EarlyStopping{Patience: 2, Baseline: &base}
	if ran := runES(&es, 0.9, 0.4, 0.45, 0.3, 0.6, 0.6); ran != 6 || es.StoppedEpoch != 5 {
		t.Errorf("ran %d, StoppedEpoch %d; want 6, 5", ran, es.StoppedEpoch)
	}
}

func TestEarlyStoppingMissingMonitor(t *testing.T) {
	var warn bytes.Buffer
	es := &EarlyStopping{Warn: &warn}
	c := &Control{}
	es.TrainBegin(Params{Epochs: 3}, c)
	for epoch := 0; epoch < 3; epoch++ {
		es.EpochEnd(epoch, Logs{Names: []string{"loss", "accuracy"}, Values: []float64{1, 0.5}})
	}
	want := "WARNING:tensorflow:Early stopping conditioned on metric `val_loss` which is not available. Available metrics are: loss,accuracy\n"
	if got := warn.String(); got != want+want+want {
		t.Errorf("warnings:\n got %q\nwant 3x %q", got, want)
	}
	if c.StopTraining || es.StoppedEpoch != 0 || es.Wait != 0 {
		t.Errorf("missing monitor changed state: %+v %+v", c, es)
	}
}

func TestEarlyStoppingUnknownMode(t *testing.T) {
	var warn bytes.Buffer
	es := &EarlyStopping{Monitor: "val_accuracy", Mode: "maximum", Warn: &warn}
	es.TrainBegin(Params{}, &Control{})
	if got, want := warn.String(), "WARNING:tensorflow:EarlyStopping mode maximum is unknown, fallback to auto mode.\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if !es.greater || !math.IsInf(es.Best, -1) {
		t.Error("auto mode for val_accuracy should maximize")
	}
}

func TestEarlyStoppingVerboseAndReuse(t *testing.T) {
	var out bytes.Buffer
	es := &EarlyStopping{Patience: 1, Verbose: 1, Out: &out}
	runES(es, 1, 2, 3)
	if got, want := out.String(), "Epoch 2: early stopping\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	// TrainBegin resets the state for a second run.
	out.Reset()
	if ran := runES(es, 3, 2, 1); ran != 3 || es.StoppedEpoch != 0 || es.Best != 1 || es.BestEpoch != 2 {
		t.Errorf("reuse: ran %d, %+v", ran, es)
	}
	if out.Len() != 0 {
		t.Errorf("printed %q without stopping", out.String())
	}
}

func TestFuncAndList(t *testing.T) {
	var events []string
	rec := func(s string) { events = append(events, s) }
	f := Func{
		OnTrainBegin: func(p Params, c *Control) { rec("train_begin") },
		OnEpochEnd: func(epoch int, logs Logs) {
			rec("epoch_end")
		},
	}
	stopper := Func{OnEpochEnd: func(epoch int, logs Logs) {}}
	var list Callback = List{f, stopper, Func{}, &Base{}}
	c := &Control{}
	list.TrainBegin(Params{Epochs: 1}, c)
	list.EpochBegin(0)
	list.BatchEnd(1, Logs{})
	list.EpochEnd(0, Logs{})
	list.TrainEnd(Logs{})
	if len(events) != 2 || events[0] != "train_begin" || events[1] != "epoch_end" {
		t.Errorf("events = %v", events)
	}

	all := 0
	full := Func{
		OnTrainBegin: func(Params, *Control) { all++ },
		OnEpochBegin: func(int) { all++ },
		OnBatchEnd:   func(int, Logs) { all++ },
		OnEpochEnd:   func(int, Logs) { all++ },
		OnTrainEnd:   func(Logs) { all++ },
	}
	List{full, &full}.TrainBegin(Params{}, c)
	full.EpochBegin(0)
	full.BatchEnd(1, Logs{})
	full.EpochEnd(0, Logs{})
	full.TrainEnd(Logs{})
	if all != 6 {
		t.Errorf("calls = %d, want 6", all)
	}
}
