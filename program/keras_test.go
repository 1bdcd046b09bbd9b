package program

import (
	"context"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/kiln-ml/kiln/config"
)

// get walks a dotted attribute path from a module.
func get(t *testing.T, in *Interp, path string) Value {
	t.Helper()
	parts := strings.Split(path, ".")
	m, err := in.importModule(parts[0])
	if err != nil {
		t.Fatal(err)
	}
	var v Value = m
	for _, p := range parts[1:] {
		if v, err = in.getAttr(v, p); err != nil {
			t.Fatal(err)
		}
	}
	return v
}

func call(t *testing.T, in *Interp, f Value, pos []Value, kw ...Kwarg) Value {
	t.Helper()
	v, err := in.call(f, pos, kw)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// questionModel makes the question's model and compiles it through the
// Keras calls its snippet makes.
func questionModel(t *testing.T, in *Interp, lr float64) Value {
	m := call(t, in, get(t, in, "keras.models.Sequential"), nil)
	add := func(l Value) { call(t, in, mustAttr(t, in, m, "add"), []Value{l}) }
	add(call(t, in, get(t, in, "keras.layers.Input"), nil, Kwarg{"shape", Tuple{28, 28}}))
	add(call(t, in, get(t, in, "keras.layers.Flatten"), nil))
	add(call(t, in, get(t, in, "keras.layers.Dense"), []Value{10}, Kwarg{"activation", "sigmoid"}))
	opt := call(t, in, get(t, in, "tensorflow.keras.optimizers.SGD"), nil, Kwarg{"learning_rate", lr})
	call(t, in, mustAttr(t, in, m, "compile"), nil, Kwarg{"optimizer", opt}, Kwarg{"loss", "categorical_crossentropy"},
		Kwarg{"metrics", &List{Items: []Value{"accuracy"}}})
	return m
}

func mustAttr(t *testing.T, in *Interp, v Value, name string) Value {
	t.Helper()
	a, err := in.getAttr(v, name)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestQuestionCallsAreTheSeedExperiment: the question's Keras calls, on the
// data kiln assumes for its snippet, make exactly examples/seed.yaml.
//
// Catches: a Keras argument read differently from the experiment file (the
// optimizer's learning rate, the labels, validation_data, defaults).
func TestQuestionCallsAreTheSeedExperiment(t *testing.T) {
	in := NewInterp(context.Background(), "snippet.py", io.Discard, io.Discard)
	in.Seed, in.SeedSet, in.DryRun = 1, true, true
	m := questionModel(t, in, 0.01)
	x, _ := in.assume("x_train")
	y, _ := in.assume("y_train")
	xt, _ := in.assume("x_test")
	yt, _ := in.assume("y_test")
	call(t, in, mustAttr(t, in, m, "fit"), []Value{x, y}, Kwarg{"validation_data", Tuple{xt, yt}},
		Kwarg{"batch_size", 32}, Kwarg{"epochs", 10})
	if len(in.Fits) != 1 {
		t.Fatalf("%d fits recorded", len(in.Fits))
	}
	want, err := config.Load("../examples/seed.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	got := in.Fits[0].Experiment
	gy, _ := got.Marshal()
	wy, _ := want.Marshal()
	if string(gy) != string(wy) {
		t.Errorf("the question's calls make\n%s\nwant examples/seed.yaml:\n%s", gy, wy)
	}
	if !reflect.DeepEqual(got.Model, stripLines(want.Model)) {
		t.Errorf("model %#v\nwant %#v", got.Model, want.Model)
	}
}

func stripLines(ls []config.LayerSpec) []config.LayerSpec {
	out := make([]config.LayerSpec, len(ls))
	for i, l := range ls {
		out[i] = config.LayerSpec{Type: l.Type, Args: l.Args}
	}
	return out
}

// TestQuestionCallsTrainLikeTheSeed: training through the program's calls
// gives the History of kiln fit examples/seed.yaml, bit for bit (one epoch,
// to keep the test short).
func TestQuestionCallsTrainLikeTheSeed(t *testing.T) {
	in := NewInterp(context.Background(), "snippet.py", io.Discard, io.Discard)
	in.Seed, in.SeedSet, in.Verbose = 1, true, 0
	m := questionModel(t, in, 0.01)
	x, _ := in.assume("x_train")
	y, _ := in.assume("y_train")
	xt, _ := in.assume("x_test")
	yt, _ := in.assume("y_test")
	h := call(t, in, mustAttr(t, in, m, "fit"), []Value{x, y}, Kwarg{"validation_data", Tuple{xt, yt}},
		Kwarg{"batch_size", 32}, Kwarg{"epochs", 1})
	e, err := config.Load("../examples/seed.yaml", []string{"fit.epochs=1", "fit.verbose=0"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := config.Build(e, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want, err := r.Model.Fit(context.Background(), r.X, r.Y, r.Fit)
	if err != nil {
		t.Fatal(err)
	}
	got := h.(*historyObj).h
	if !reflect.DeepEqual(got.History, want.History) {
		t.Errorf("History %v\nwant %v", got.History, want.History)
	}
	// history.history['loss'][0] as the program reads it.
	hist := mustAttr(t, in, h, "history").(*Dict)
	loss, _ := hist.Get("loss")
	if l := loss.(*List).Items[0].(float64); l != want.History["loss"][0] {
		t.Errorf("history.history['loss'][0] = %v, want %v", l, want.History["loss"][0])
	}
	if keys := repr(&List{Items: hist.Keys()}); keys != "['loss', 'accuracy', 'val_loss', 'val_accuracy']" {
		t.Errorf("history keys %s", keys)
	}
	// evaluate on the test split gives the last val_ values.
	res := call(t, in, mustAttr(t, in, m, "evaluate"), []Value{xt, yt}, Kwarg{"verbose", 0}).(*List)
	if res.Items[0].(float64) != want.History["val_loss"][0] || res.Items[1].(float64) != want.History["val_accuracy"][0] {
		t.Errorf("evaluate = %s; want the epoch's val_loss %v and val_accuracy %v", repr(res), want.History["val_loss"][0], want.History["val_accuracy"][0])
	}
}

// TestKeras1Convolution2D: Keras 1's Convolution2D(32, 3, 3) is a 3×3
// kernel, not strides 3.
func TestKeras1Convolution2D(t *testing.T) {
	in := NewInterp(context.Background(), "k1.py", io.Discard, io.Discard)
	l := call(t, in, get(t, in, "keras.layers.Convolution2D"), []Value{32, 3, 3}, Kwarg{"border_mode", "same"}).(*layerObj)
	if !reflect.DeepEqual(l.spec.Args["kernel_size"], []any{3, 3}) || l.spec.Args["strides"] != nil || l.spec.Args["padding"] != "same" {
		t.Errorf("Convolution2D(32, 3, 3, border_mode='same') = %v", l.spec.Args)
	}
}

// TestBackupAndRestorePositional: BackupAndRestore("dir") as Keras takes it.
func TestBackupAndRestorePositional(t *testing.T) {
	in := NewInterp(context.Background(), "b.py", io.Discard, io.Discard)
	cb := call(t, in, get(t, in, "keras.callbacks.BackupAndRestore"), []Value{"backup"}).(*callbackObj)
	if cb.spec.Args["backup_dir"] != "backup" {
		t.Errorf("BackupAndRestore('backup') = %v", cb.spec.Args)
	}
}
