package kiln

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/kiln-ml/kiln/callbacks"
	"github.com/kiln-ml/kiln/layers"
	"github.com/kiln-ml/kiln/optimizers"
	"github.com/kiln-ml/kiln/safetensors"
	"github.com/kiln-ml/kiln/tensor"
)

// The files of a training backup (see callbacks.BackupAndRestore): the
// weights and the optimizer's slots as safetensors (loadable with
// --init-weights and safetensors tools), everything else as JSON.
const (
	backupWeights   = "weights.safetensors"
	backupOptimizer = "optimizer.safetensors"
	backupState     = "state.json"
	stateFormat     = "kiln-fit-state"
	stateVersion    = 1
)

// fitState is state.json: where training stands and what it needs to go on
// exactly as an uninterrupted run would.
type fitState struct {
	Format  string `json:"format"`
	Version int    `json:"version"`
	// Epoch and Step are the position: Step steps of Epoch (0-based) are
	// done; Step == Steps means the epoch's end is still to come.
	Epoch int `json:"epoch"`
	Step  int `json:"step"`
	// Finished is true when training stopped (a callback asked it to) and
	// only TrainEnd remains.
	Finished bool `json:"finished"`
	// StopTraining is Control.StopTraining (set mid-epoch by TerminateOnNaN).
	StopTraining bool `json:"stop_training"`
	// Steps, Rows, BatchSize and Shuffle describe the run, to refuse a
	// backup of another one.
	Steps     int  `json:"steps"`
	Rows      int  `json:"rows"`
	BatchSize int  `json:"batch_size"`
	Shuffle   bool `json:"shuffle"`
	// ShuffleRNG is the shuffle stream's state before Epoch's shuffle.
	ShuffleRNG []byte `json:"shuffle_rng"`
	// LayerRNG holds the random streams of layers (Dropout), by layer name.
	LayerRNG map[string][]byte `json:"layer_rng,omitempty"`
	// Sums are the epoch's running sums: loss, count, metric weight, then
	// one per metric (float32, kept bit for bit).
	Sums callbacks.Float32s `json:"sums"`
	// History so far.
	Keys    []string                     `json:"history_keys"`
	History map[string][]callbacks.Float `json:"history"`
	Epochs  []int                        `json:"history_epochs"`
	// NonFiniteWarned is true once the non-finite warning was given.
	NonFiniteWarned bool `json:"non_finite_warned,omitempty"`
	// Callbacks holds the state of each Stateful callback, by position.
	Callbacks []callbackState `json:"callbacks,omitempty"`
}

type callbackState struct {
	Index int             `json:"index"`
	Type  string          `json:"type"`
	State json.RawMessage `json:"state"`
}

// randomLayers returns the model's layers with random streams, by name.
func (m *Sequential) randomLayers() map[string]layers.RandomLayer {
	out := map[string]layers.RandomLayer{}
	add := func(l layers.Layer) {
		if r, ok := l.(layers.RandomLayer); ok {
			out[l.Name()] = r
		}
	}
	for _, l := range m.layers {
		add(l)
	}
	if m.graph != nil {
		for _, n := range m.graph.Nodes() {
			if l := n.Layer(); l != nil {
				add(l)
			}
		}
	}
	return out
}

// firstNonFinite returns the first weight holding NaN or ±Inf, or nil.
func firstNonFinite(vars []*tensor.Variable) *tensor.Variable {
	for _, v := range vars {
		for _, x := range v.Value {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return v
			}
		}
	}
	return nil
}

// backupRun is what Fit needs to write and read backups.
type backupRun struct {
	m     *Sequential
	t     *trainer
	cbs   []callbacks.Callback
	opt   optimizers.Stateful
	steps int
	rows  int
	batch int
	shuf  bool
}

// files returns the backup of the position (epoch, step) with the shuffle
// stream's state shuffleRNG.
func (b *backupRun) files(epoch, step int, finished, stop bool, shuffleRNG []byte, hist *History, warned bool) (map[string][]byte, error) {
	st := fitState{Format: stateFormat, Version: stateVersion, Epoch: epoch, Step: step, Finished: finished, StopTraining: stop,
		Steps: b.steps, Rows: b.rows, BatchSize: b.batch, Shuffle: b.shuf, ShuffleRNG: shuffleRNG,
		Keys: hist.Keys, Epochs: hist.Epoch, History: map[string][]callbacks.Float{}, NonFiniteWarned: warned}
	for k, vs := range hist.History {
		fs := make([]callbacks.Float, len(vs))
		for i, v := range vs {
			fs[i] = callbacks.Float(v)
		}
		st.History[k] = fs
	}
	t := b.t
	st.Sums = append(callbacks.Float32s{t.lossSum, t.count, t.metCount}, t.metSums...)
	for name, l := range b.m.randomLayers() {
		s, err := l.RandomState()
		if err != nil {
			return nil, err
		}
		if st.LayerRNG == nil {
			st.LayerRNG = map[string][]byte{}
		}
		st.LayerRNG[name] = s
	}
	for i, cb := range b.cbs {
		sc, ok := cb.(callbacks.Stateful)
		if !ok {
			continue
		}
		s, err := sc.MarshalState()
		if err != nil {
			return nil, err
		}
		st.Callbacks = append(st.Callbacks, callbackState{Index: i, Type: fmt.Sprintf("%T", cb), State: s})
	}
	js, err := json.MarshalIndent(st, "", " ")
	if err != nil {
		return nil, err
	}
	var wb bytes.Buffer
	var ts []safetensors.Tensor
	for _, v := range b.m.Weights() {
		ts = append(ts, safetensors.Tensor{Name: v.Name, Shape: v.Shape, Data: v.Value})
	}
	if err := safetensors.Encode(&wb, ts, map[string]string{"format": "kiln", "model": b.m.Name}); err != nil {
		return nil, err
	}
	ost := b.opt.State()
	ts = nil
	vars := b.m.c.vars
	for _, slot := range sortedKeys(ost.Slots) {
		for i, vals := range ost.Slots[slot] {
			ts = append(ts, safetensors.Tensor{Name: slot + "/" + vars[i].Name, Shape: []int{len(vals)}, Data: vals})
		}
	}
	var ob bytes.Buffer
	meta := map[string]string{"optimizer": b.opt.Name(), "iterations": strconv.Itoa(ost.Iterations),
		"learning_rate_bits": strconv.FormatUint(uint64(math.Float32bits(ost.LearningRate)), 16)}
	if err := safetensors.Encode(&ob, ts, meta); err != nil {
		return nil, err
	}
	return map[string][]byte{backupState: js, backupWeights: wb.Bytes(), backupOptimizer: ob.Bytes()}, nil
}

func sortedKeys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// restore checks a backup against this run and applies it: weights,
// optimizer state, random streams, running sums and the callbacks' states
// (before their TrainBegin). where names the backup in errors. Nothing is
// applied unless everything checks.
func (b *backupRun) restore(files map[string][]byte, where string, shuffle *rand.PCG) (*fitState, *History, error) {
	fail := func(format string, a ...any) (*fitState, *History, error) {
		return nil, nil, fmt.Errorf("the backup %s cannot resume this run: %s; resume with the experiment it was made for, or remove the backup to start afresh", where, fmt.Sprintf(format, a...))
	}
	var st fitState
	if err := json.Unmarshal(files[backupState], &st); err != nil {
		return fail("%s: %v", backupState, err)
	}
	if st.Format != stateFormat || st.Version != stateVersion {
		return fail("%s is format %q version %d, kiln reads %q version %d", backupState, st.Format, st.Version, stateFormat, stateVersion)
	}
	if st.Steps != b.steps || st.Rows != b.rows || st.BatchSize != b.batch || st.Shuffle != b.shuf {
		return fail("it was made with %d training rows, batch size %d (%d steps), shuffle %v; this run has %d rows, batch size %d (%d steps), shuffle %v",
			st.Rows, st.BatchSize, st.Steps, st.Shuffle, b.rows, b.batch, b.steps, b.shuf)
	}
	if st.Epoch < 0 || st.Step < 0 || st.Step > st.Steps {
		return fail("bad position epoch %d step %d", st.Epoch, st.Step)
	}
	t := b.t
	if len(st.Sums) != 3+len(t.metSums) {
		return fail("it has %d running metrics, this run %d", len(st.Sums)-3, len(t.metSums))
	}
	// Weights.
	ws, _, err := safetensors.Decode(files[backupWeights], backupWeights)
	if err != nil {
		return fail("%v", err)
	}
	byName := map[string]safetensors.Tensor{}
	for _, w := range ws {
		byName[w.Name] = w
	}
	vars := b.m.Weights()
	if len(ws) != len(vars) {
		return fail("it has %d weights, the model %d", len(ws), len(vars))
	}
	for _, v := range vars {
		w, ok := byName[v.Name]
		if !ok || !slices.Equal(w.Shape, v.Shape) {
			return fail("no weight %q of shape %v", v.Name, v.Shape)
		}
	}
	// Optimizer.
	ots, meta, err := safetensors.Decode(files[backupOptimizer], backupOptimizer)
	if err != nil {
		return fail("%v", err)
	}
	if meta["optimizer"] != b.opt.Name() {
		return fail("its optimizer is %s, this run's %s", meta["optimizer"], b.opt.Name())
	}
	ost := optimizers.State{Slots: map[string][][]float32{}}
	if ost.Iterations, err = strconv.Atoi(meta["iterations"]); err != nil {
		return fail("optimizer iterations: %v", err)
	}
	lrBits, err := strconv.ParseUint(meta["learning_rate_bits"], 16, 32)
	if err != nil {
		return fail("optimizer learning rate: %v", err)
	}
	ost.LearningRate = math.Float32frombits(uint32(lrBits))
	cvars := b.m.c.vars
	slotOf := map[string]int{}
	for i, v := range cvars {
		slotOf[v.Name] = i
	}
	for _, ot := range ots {
		slot, name, ok := cutSlot(ot.Name, slotOf)
		if !ok {
			return fail("optimizer tensor %q names no variable of the model", ot.Name)
		}
		if ost.Slots[slot] == nil {
			ost.Slots[slot] = make([][]float32, len(cvars))
		}
		ost.Slots[slot][slotOf[name]] = ot.Data
	}
	for slot, vs := range ost.Slots {
		for i, v := range vs {
			if v == nil {
				return fail("optimizer slot %s lacks variable %s", slot, cvars[i].Name)
			}
		}
	}
	rl := b.m.randomLayers()
	if len(rl) != len(st.LayerRNG) {
		return fail("it has %d random layers, the model %d", len(st.LayerRNG), len(rl))
	}
	for name := range rl {
		if _, ok := st.LayerRNG[name]; !ok {
			return fail("no random state for layer %s", name)
		}
	}
	type cbRestore struct {
		cb callbacks.Stateful
		s  json.RawMessage
	}
	var cbr []cbRestore
	have := map[int]bool{}
	for _, cs := range st.Callbacks {
		if cs.Index < 0 || cs.Index >= len(b.cbs) || fmt.Sprintf("%T", b.cbs[cs.Index]) != cs.Type {
			return fail("its callback %d is %s; this run's callbacks differ", cs.Index, cs.Type)
		}
		cbr = append(cbr, cbRestore{b.cbs[cs.Index].(callbacks.Stateful), cs.State})
		have[cs.Index] = true
	}
	for i, cb := range b.cbs {
		if _, ok := cb.(callbacks.Stateful); ok && !have[i] {
			return fail("it has no state for callback %d (%T)", i, cb)
		}
	}
	// Everything checks: apply. (An optimizer or stream that still refuses
	// its state is reported; the run does not start.)
	if err := b.opt.SetState(ost); err != nil {
		return fail("%v", err)
	}
	for name, l := range rl {
		if err := l.SetRandomState(st.LayerRNG[name]); err != nil {
			return fail("%v", err)
		}
	}
	if len(st.ShuffleRNG) > 0 {
		if err := shuffle.UnmarshalBinary(st.ShuffleRNG); err != nil {
			return fail("shuffle state: %v", err)
		}
	}
	for _, c := range cbr {
		if err := c.cb.UnmarshalState(c.s); err != nil {
			return fail("%v", err)
		}
	}
	for _, v := range vars {
		copy(v.Value, byName[v.Name].Data)
	}
	t.lossSum, t.count, t.metCount = st.Sums[0], st.Sums[1], st.Sums[2]
	copy(t.metSums, st.Sums[3:])
	h := &History{Keys: st.Keys, Epoch: st.Epochs, History: map[string][]float64{}}
	for k, fs := range st.History {
		vs := make([]float64, len(fs))
		for i, f := range fs {
			vs[i] = float64(f)
		}
		h.History[k] = vs
	}
	return &st, h, nil
}

// cutSlot splits an optimizer tensor name "slot/variable" at the slash
// after which a variable name of the model follows.
func cutSlot(s string, vars map[string]int) (slot, name string, ok bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			if _, ok := vars[s[i+1:]]; ok {
				return s[:i], s[i+1:], true
			}
		}
	}
	return "", "", false
}

// lastLogs rebuilds the last epoch's logs from a History (for TrainEnd
// after a resume that has no epoch left to run).
func lastLogs(h *History) callbacks.Logs {
	var l callbacks.Logs
	for _, k := range h.Keys {
		if vs := h.History[k]; len(vs) > 0 {
			l.Names = append(l.Names, k)
			l.Values = append(l.Values, vs[len(vs)-1])
		}
	}
	return l
}
