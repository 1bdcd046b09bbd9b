package program

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// run runs src on a dry run and returns what it printed and kiln's notes.
func dryRun(t *testing.T, src string) (*Interp, string, string) {
	t.Helper()
	var out, notes bytes.Buffer
	in, err := Run(context.Background(), "p.py", []byte(src), Options{Out: &out, Notes: &notes, DryRun: true})
	if err != nil {
		t.Fatalf("%v\nnotes:\n%s", err, notes.String())
	}
	return in, out.String(), notes.String()
}

const mlpHead = `import tensorflow as tf
(x_train, y_train), (x_test, y_test) = tf.keras.datasets.mnist.load_data()
x_train, x_test = x_train / 255.0, x_test / 255.0
model = tf.keras.Sequential([tf.keras.layers.Flatten(input_shape=(28, 28)), tf.keras.layers.Dense(10, activation='softmax')])
model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
`

// TestDryRunHistoryAndEvaluate: on a dry run (kiln convert) fit returns a
// History with Keras' keys and one value per epoch, and evaluate what
// Keras' evaluate returns, so that a program reading them goes on to
// its later fits.
func TestDryRunHistoryAndEvaluate(t *testing.T) {
	in, out, _ := dryRun(t, mlpHead+`
h = model.fit(x_train, y_train, epochs=3, validation_split=0.1)
print(list(h.history.keys()), len(h.history['val_accuracy']), h.epoch)
loss, acc = model.evaluate(x_test, y_test)
print(model.evaluate(x_test, y_test, return_dict=True))
h2 = model.fit(x_train, y_train, epochs=5, initial_epoch=3)
print(h2.epoch, list(h2.history))
p = model.predict(x_test)
print(p.shape)
`)
	want := "['loss', 'accuracy', 'val_loss', 'val_accuracy'] 3 [0, 1, 2]\n{'loss': 0.0, 'accuracy': 0.0}\n[3, 4] ['loss', 'accuracy']\n(10000, 10)\n"
	if out != want {
		t.Errorf("printed\n%s\nwant\n%s", out, want)
	}
	// The second fit continues the first, on a dry run as for real.
	if len(in.Fits) != 1 {
		t.Errorf("%d fits recorded, want 1 (the second fit continues the first)", len(in.Fits))
	}
}

// TestInputFromData: a model whose first layer has no input shape takes
// it from the data at its first fit, as Keras builds it, with a note.
func TestInputFromData(t *testing.T) {
	in, _, notes := dryRun(t, `import tensorflow as tf
(x_train, y_train), _ = tf.keras.datasets.mnist.load_data()
model = tf.keras.Sequential([tf.keras.layers.Flatten(), tf.keras.layers.Dense(10, activation='softmax')])
model.compile(optimizer='adam', loss='sparse_categorical_crossentropy')
model.fit(x_train / 255.0, y_train)
`)
	if got := in.Fits[0].Experiment.Model[0].Args["shape"]; !reflect.DeepEqual(got, []any{28, 28}) {
		t.Errorf("Input shape %v, want [28 28]", got)
	}
	if !strings.Contains(notes, "takes it from the training data, (28, 28)") {
		t.Errorf("notes:\n%s", notes)
	}
}

// TestReshapedSamples: x_train.reshape(60000, 784) with an Input (784,)
// converts to an Input of MNIST's stored (28, 28) and a Flatten; a reshape
// to another shape to a Reshape layer; (28, 28, 1) needs neither.
func TestReshapedSamples(t *testing.T) {
	for _, c := range []struct{ reshape, input, want string }{
		{"x_train.reshape(60000, 784)", "(784,)", "Input[28 28] Flatten Dense"},
		{"x_train.reshape(-1, 14, 56)", "(14, 56)", "Input[28 28] Reshape[14 56] Flatten Dense"},
		{"x_train.reshape(60000, 28, 28, 1)", "(28, 28, 1)", "Input[28 28 1] Flatten Dense"},
		{"x_train", "(28, 28)", "Input[28 28] Flatten Dense"},
	} {
		flat := ""
		if c.input != "(784,)" {
			flat = "tf.keras.layers.Flatten(), "
		}
		in, _, _ := dryRun(t, `import tensorflow as tf
(x_train, y_train), _ = tf.keras.datasets.mnist.load_data()
x = `+c.reshape+` / 255.0
model = tf.keras.Sequential([tf.keras.Input(shape=`+c.input+`), `+flat+`tf.keras.layers.Dense(10, activation='softmax')])
model.compile(optimizer='adam', loss='sparse_categorical_crossentropy')
model.fit(x, y_train)
`)
		var got []string
		for _, l := range in.Fits[0].Experiment.Model {
			s := l.Type
			if v, ok := l.Args["shape"]; ok {
				s += fmt.Sprint(v)
			}
			if v, ok := l.Args["target_shape"]; ok {
				s += fmt.Sprint(v)
			}
			got = append(got, s)
		}
		if g := strings.Join(got, " "); g != c.want {
			t.Errorf("%s with Input %s: model %s, want %s", c.reshape, c.input, g, c.want)
		}
	}
}

// TestReaderBuiltins: builtins and attributes corpus programs use print
// what CPython prints.
func TestReaderBuiltins(t *testing.T) {
	_, out, notes := dryRun(t, `%matplotlib inline
import tensorflow as tf
from keras.layers.core import Dense, Dropout, Activation
from keras.layers.convolutional import Conv2D
print(tf.__version__.startswith('2'))
print('sgd'.ljust(8) + '|', 'ab'.rjust(5, '*'), '[' + 'abc'.center(8) + ']', '[' + 'ab'.center(5, '-') + ']', '[' + 'abc'.center(6, '-') + ']', 'long'.ljust(2))
r = {0.1: 0.5, 0.01: 0.9, 0.001: 0.7}
print(max(r, key=r.get), min(r, key=r.get), max([], default=None), max([3, -7, 5], key=abs))
tf.keras.utils.set_random_seed(3)
print(Dense, Conv2D)
`)
	want := "True\nsgd     | ***ab [  abc   ] [--ab-] [-abc--] long\n0.01 0.1 None -7\n<built-in function Dense> <built-in function Conv2D>\n"
	if out != want {
		t.Errorf("printed\n%q\nwant\n%q", out, want)
	}
	if strings.Contains(notes, "sets no random seed") {
		t.Errorf("set_random_seed is the program's seed:\n%s", notes)
	}
}

// TestInspectingData: what learners print to look at MNIST — type, dtype,
// the pixel range before and after scaling — prints what NumPy prints;
// model.save is skipped with a note (kiln's reader writes no Keras files).
func TestInspectingData(t *testing.T) {
	_, out, notes := dryRun(t, `import numpy as np
import tensorflow as tf
(x_train, y_train), (x_test, y_test) = tf.keras.datasets.mnist.load_data()
print(type(x_train), type(1.5), x_train.dtype)
print(x_train[:100].min(), x_train[:100].max(), np.min(y_test[:50]), np.amax(y_test[:50]), np.max([2, 7, 1]))
x = x_train[:100].astype('float32') / 255
print(x.min(), x.max())
model = tf.keras.Sequential([tf.keras.layers.Flatten(input_shape=(28, 28)), tf.keras.layers.Dense(10, activation='softmax')])
model.compile(optimizer='adam', loss='sparse_categorical_crossentropy')
model.fit(x, y_train[:100])
model.save('m.h5')
`)
	want := "<class 'numpy.ndarray'> <class 'float'> uint8\n0 255 0 9 7\n0.0 1.0\n"
	if out != want {
		t.Errorf("printed\n%q\nwant\n%q", out, want)
	}
	if !strings.Contains(notes, "p.py:11: model.save('m.h5') is skipped") {
		t.Errorf("notes:\n%s", notes)
	}
}

// TestArrayStr: print of label arrays and one-hot rows is NumPy's: one
// line up to 75 characters, wrapped after, summarised past 1000 values;
// arrays NumPy prints otherwise keep kiln's form.
func TestArrayStr(t *testing.T) {
	_, out, _ := dryRun(t, `import tensorflow as tf
(x_train, y_train), (x_test, y_test) = tf.keras.datasets.mnist.load_data()
print(y_train[:10])
print(y_train)
print(y_train[:40])
print(tf.keras.utils.to_categorical(y_test[:3])[2])
print(x_train[0][5])
`)
	want := "[5 0 4 1 9 2 1 3 1 4]\n[5 0 4 ... 5 6 8]\n" +
		"[5 0 4 1 9 2 1 3 1 4 3 5 3 6 1 7 2 8 6 9 4 0 9 1 1 2 4 3 2 7 3 8 6 9 0 5 6\n 0 7 6]\n" +
		"[0. 1. 0. 0. 0. 0. 0. 0. 0. 0.]\n" +
		"[  0   0   0   0   0   0   0   0   0   0   0   0   3  18  18  18 126 136\n 175  26 166 255 247 127   0   0   0   0]\n"
	if out != want {
		t.Errorf("printed\n%s\nwant\n%s", out, want)
	}
}

// TestScriptPreamble: os.environ, tf.config.list_physical_devices (kiln
// has the CPU, no GPU), time.time, keras.backend.clear_session and
// image_data_format, load_model imported (calling it is refused).
func TestScriptPreamble(t *testing.T) {
	_, out, _ := dryRun(t, `import os, time
os.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'
import tensorflow as tf
from tensorflow.keras import backend as K
print(os.environ['TF_CPP_MIN_LOG_LEVEL'], os.path.join('a', 'b.h5'))
print(len(tf.config.list_physical_devices('GPU')), tf.config.list_physical_devices('CPU'))
t0 = time.time()
K.clear_session()
print(time.time() - t0 < 60, time.perf_counter() >= 0)
from tensorflow.keras.models import Sequential, load_model
print(K.image_data_format())
`)
	want := "3 a/b.h5\n0 [PhysicalDevice(name='/physical_device:CPU:0', device_type='CPU')]\nTrue True\nchannels_last\n"
	if out != want {
		t.Errorf("printed\n%s\nwant\n%s", out, want)
	}
}

// mnistMLP reshapes x_train (only) for a flat model.
const mnistMLP = `import tensorflow as tf
(x_train, y_train), (x_test, y_test) = tf.keras.datasets.mnist.load_data()
x = x_train.reshape(60000, 784) / 255
model = tf.keras.Sequential([tf.keras.layers.Dense(10, activation='softmax', input_shape=(784,))])
model.compile(optimizer='adam', loss='sparse_categorical_crossentropy')
`

// TestRefusedNames: a name kiln's reader lacks in a Keras module is
// refused with what it has instead; data prepared unlike the training
// data is refused as Keras refuses it.
func TestRefusedNames(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"import keras\nkeras.optimizers.Adadelta()\n", "kiln's optimizers are SGD, Adam, RMSprop and Adagrad"},
		{"import keras\nkeras.callbacks.TensorBoard()\n", "kiln's callbacks are BackupAndRestore, CSVLogger, EarlyStopping, ModelCheckpoint, TerminateOnNaN"},
		{"from keras.losses import Hinge\n", "kiln's losses are"},
		{"from keras.layers import SimpleRNN\n", "kiln's layers are Activation, AveragePooling2D,"},
		{"from keras.models import load_model\nm = load_model('m.h5')\n", "p.py:2:5: keras.models.load_model: kiln's reader does not read or write Keras model files"},
		{"import keras\nx = keras.Input(shape=(4,))\ny = keras.layers.Dense(2)(x)\n", "p.py:3:5: Dense(...)(x): the functional API"},
		{"import keras\nm = keras.Model(inputs=1, outputs=2)\n", "the functional API"},
		{"import keras\nm = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(2)])\nm(1)\n", "p.py:3:1: model(x): calling a model on data"},
		{mnistMLP + "model.fit(x, y_train, validation_data=(x_test / 255, y_test))\n", "p.py:6:1: fit(validation_data=...): ValueError: Input 0 of layer \"sequential\" is incompatible with the layer: expected shape=(None, 784), found shape=(None, 28, 28); prepare x_test as the training data"},
		{mnistMLP + "model.fit(x, y_train)\nmodel.evaluate(x_test / 255, y_test)\n", "p.py:7:1: evaluate: ValueError: Input 0 of layer \"sequential\" is incompatible"},
	} {
		_, err := Run(context.Background(), "p.py", []byte(c.src), Options{DryRun: true})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v\n  want %q", c.src, err, c.want)
		}
	}
}
