package callbacks

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

type fakeModel struct {
	w     [][]float32
	saved []string
	fail  bool
}

func (f *fakeModel) SaveWeights(p string) error {
	if f.fail {
		return errors.New("disk full")
	}
	f.saved = append(f.saved, p)
	return nil
}
func (f *fakeModel) GetWeights() [][]float32 {
	return [][]float32{append([]float32(nil), f.w[0]...)}
}
func (f *fakeModel) SetWeights(w [][]float32) error { f.w = w; return nil }

func logs(loss, valLoss float64) Logs {
	return Logs{Names: []string{"loss", "val_loss", "val_accuracy"}, Values: []float64{loss, valLoss, 1 - valLoss}}
}

func TestFormatPath(t *testing.T) {
	l := logs(0.5, 0.123456)
	for _, c := range []struct{ in, want string }{
		{"w.safetensors", "w.safetensors"},
		{"w-{epoch:02d}.safetensors", "w-07.safetensors"},
		{"w-{epoch}-{val_loss:.2f}.safetensors", "w-7-0.12.safetensors"},
		{"{val_accuracy:.1%}", "87.7%"},
		{"{loss:.3e}", "5.000e-01"},
	} {
		got, err := FormatPath(c.in, 6, l)
		if err != nil || got != c.want {
			t.Errorf("FormatPath(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"{val_acc}.safetensors", "{epoch:x}.safetensors", "{loss:d}"} {
		if _, err := FormatPath(bad, 0, l); err == nil {
			t.Errorf("FormatPath(%q) gave no error", bad)
		}
	}
}

// TestModelCheckpointBestOnly follows Keras' save_best_only messages and
// saves.
func TestModelCheckpointBestOnly(t *testing.T) {
	m := &fakeModel{w: [][]float32{{1}}}
	var out bytes.Buffer
	c := &ModelCheckpoint{Path: "best-{epoch:02d}.safetensors", SaveBestOnly: true, Verbose: 1, Out: &out}
	c.SetModel(m)
	c.TrainBegin(Params{}, &Control{})
	for e, v := range []float64{0.5, 0.4, 0.45, 0.3} {
		c.EpochEnd(e, logs(1, v))
	}
	want := "\nEpoch 1: val_loss improved from inf to 0.50000, saving model to best-01.safetensors\n" +
		"\nEpoch 2: val_loss improved from 0.50000 to 0.40000, saving model to best-02.safetensors\n" +
		"\nEpoch 3: val_loss did not improve from 0.40000\n" +
		"\nEpoch 4: val_loss improved from 0.40000 to 0.30000, saving model to best-04.safetensors\n"
	if out.String() != want {
		t.Errorf("messages:\n%q\nwant\n%q", out.String(), want)
	}
	if strings.Join(m.saved, " ") != "best-01.safetensors best-02.safetensors best-04.safetensors" || c.Err != nil {
		t.Errorf("saved %v, err %v", m.saved, c.Err)
	}
	// Accuracy is maximised in auto mode; a failing save is kept in Err.
	m2 := &fakeModel{w: [][]float32{{1}}, fail: true}
	var warn bytes.Buffer
	c2 := &ModelCheckpoint{Path: "a.safetensors", Monitor: "val_accuracy", SaveBestOnly: true, Warn: &warn}
	c2.SetModel(m2)
	c2.TrainBegin(Params{}, &Control{})
	c2.EpochEnd(0, logs(1, 0.5))
	if c2.Best != 0.5 || c2.Err == nil || !strings.Contains(warn.String(), "disk full") {
		t.Errorf("best %v, err %v, warn %q", c2.Best, c2.Err, warn.String())
	}
}

// TestEarlyStoppingRestoresBestWeights: the best epoch's weights come back
// when training stops early, as in Keras; not when it runs to the end.
func TestEarlyStoppingRestoresBestWeights(t *testing.T) {
	m := &fakeModel{w: [][]float32{{0}}}
	var out bytes.Buffer
	es := &EarlyStopping{Patience: 2, RestoreBestWeights: true, Verbose: 1, Out: &out}
	es.SetModel(m)
	ctl := &Control{}
	es.TrainBegin(Params{}, ctl)
	for e, v := range []float64{0.5, 0.3, 0.4, 0.45} {
		m.w = [][]float32{{float32(e + 1)}} // the weights after epoch e
		es.EpochEnd(e, logs(1, v))
		if ctl.StopTraining {
			break
		}
	}
	if !ctl.StopTraining || m.w[0][0] != 2 {
		t.Errorf("stopped %v, weights %v; want a stop with epoch 2's weights", ctl.StopTraining, m.w)
	}
	if !strings.Contains(out.String(), "Restoring model weights from the end of the best epoch: 2.") {
		t.Errorf("output %q", out.String())
	}
	// Without a stop the weights stay the last epoch's.
	es = &EarlyStopping{Patience: 5, RestoreBestWeights: true}
	es.SetModel(m)
	ctl = &Control{}
	es.TrainBegin(Params{}, ctl)
	for e, v := range []float64{0.5, 0.3, 0.4} {
		m.w = [][]float32{{float32(e + 1)}}
		es.EpochEnd(e, logs(1, v))
	}
	if ctl.StopTraining || m.w[0][0] != 3 {
		t.Errorf("no stop expected, weights %v", m.w)
	}
}

// FuzzFormatPath: any path template gives a path or an error, never a
// panic, and a path without fields comes back unchanged.
func FuzzFormatPath(f *testing.F) {
	for _, s := range []string{"w.safetensors", "w-{epoch:02d}-{val_loss:.2f}.safetensors", "{loss:%}", "{epoch:+08.3f}", "{", "}{", "{a:{b}}", "{epoch:99999999999d}"} {
		f.Add(s)
	}
	l := logs(0.25, 0.5)
	f.Fuzz(func(t *testing.T, p string) {
		out, err := FormatPath(p, 3, l)
		if err == nil && !strings.ContainsAny(p, "{}") && out != p {
			t.Errorf("FormatPath(%q) = %q; a path without fields must not change", p, out)
		}
	})
}
