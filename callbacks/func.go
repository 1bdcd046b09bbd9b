package callbacks

// Func is a Callback built from optional functions, like Keras'
// LambdaCallback; a nil field is a no-op.
//
//	printer := callbacks.Func{OnEpochEnd: func(epoch int, logs callbacks.Logs) {
//		fmt.Println(epoch, logs.Names, logs.Values)
//	}}
type Func struct {
	// OnTrainBegin is called at TrainBegin.
	OnTrainBegin func(p Params, c *Control)
	// OnEpochBegin is called at EpochBegin.
	OnEpochBegin func(epoch int)
	// OnBatchEnd is called at BatchEnd.
	OnBatchEnd func(step int, logs Logs)
	// OnEpochEnd is called at EpochEnd.
	OnEpochEnd func(epoch int, logs Logs)
	// OnTrainEnd is called at TrainEnd.
	OnTrainEnd func(logs Logs)
}

// TrainBegin calls OnTrainBegin if set.
func (f Func) TrainBegin(p Params, c *Control) {
	if f.OnTrainBegin != nil {
		f.OnTrainBegin(p, c)
	}
}

// EpochBegin calls OnEpochBegin if set.
func (f Func) EpochBegin(epoch int) {
	if f.OnEpochBegin != nil {
		f.OnEpochBegin(epoch)
	}
}

// BatchEnd calls OnBatchEnd if set.
func (f Func) BatchEnd(step int, logs Logs) {
	if f.OnBatchEnd != nil {
		f.OnBatchEnd(step, logs)
	}
}

// EpochEnd calls OnEpochEnd if set.
func (f Func) EpochEnd(epoch int, logs Logs) {
	if f.OnEpochEnd != nil {
		f.OnEpochEnd(epoch, logs)
	}
}

// TrainEnd calls OnTrainEnd if set.
func (f Func) TrainEnd(logs Logs) {
	if f.OnTrainEnd != nil {
		f.OnTrainEnd(logs)
	}
}

// List is a Callback that forwards each event to its elements in order.
type List []Callback

// TrainBegin forwards to each callback.
func (l List) TrainBegin(p Params, c *Control) {
	for _, cb := range l {
		cb.TrainBegin(p, c)
	}
}

// EpochBegin forwards to each callback.
func (l List) EpochBegin(epoch int) {
	for _, cb := range l {
		cb.EpochBegin(epoch)
	}
}

// BatchEnd forwards to each callback.
func (l List) BatchEnd(step int, logs Logs) {
	for _, cb := range l {
		cb.BatchEnd(step, logs)
	}
}

// EpochEnd forwards to each callback.
func (l List) EpochEnd(epoch int, logs Logs) {
	for _, cb := range l {
		cb.EpochEnd(epoch, logs)
	}
}

// TrainEnd forwards to each callback.
func (l List) TrainEnd(logs Logs) {
	for _, cb := range l {
		cb.TrainEnd(logs)
	}
}

// Interface checks.
var (
	_ Callback = (*ProgressBar)(nil)
	_ Callback = (*CSVLogger)(nil)
	_ Callback = (*EarlyStopping)(nil)
	_ Callback = Func{}
	_ Callback = List(nil)
)
