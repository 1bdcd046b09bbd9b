package host

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/kiln-ml/kiln/config"
	"github.com/kiln-ml/kiln/saving"
)

// python returns the Python the tests run programs with, or skips the test
// (fails it when KILN_HOST_TESTS=require, as .ci/run sets) when there is
// none with the modules named.
func python(t *testing.T, modules ...string) string {
	t.Helper()
	pyOnce.Do(func() { pyPath, pyErr = Find() })
	skip := func(msg string) {
		t.Helper()
		if os.Getenv("KILN_HOST_TESTS") == "require" {
			t.Fatal(msg + " (KILN_HOST_TESTS=require)")
		}
		t.Skip(msg)
	}
	p, err := pyPath, pyErr
	if err != nil {
		skip("host mode tests need python3 with numpy: apt-get install python3-numpy (" + err.Error() + ")")
	}
	for _, m := range modules {
		pyMu.Lock()
		ok, known := pyModules[m]
		if !known {
			ok = exec.Command(p, "-c", "import "+m).Run() == nil
			pyModules[m] = ok
		}
		pyMu.Unlock()
		if !ok {
			skip("this host mode test needs " + m + " for " + p + ": apt-get install python3-pandas python3-sklearn")
		}
	}
	return p
}

var (
	pyOnce    sync.Once
	pyPath    string
	pyErr     error
	pyMu      sync.Mutex
	pyModules = map[string]bool{}
)

// run runs testdata/name in testdata (as `cd testdata; python name`).
func run(t *testing.T, py, name string) (*Result, string, string, error) {
	t.Helper()
	var out, errs, notes bytes.Buffer
	res, err := Run(context.Background(), py, name, Options{Dir: "testdata", Stdout: &out, Stderr: &errs, Notes: &notes})
	return res, out.String(), errs.String() + notes.String(), err
}

// hostCases are programs written the way posts prepare their data, each
// with its experiment-file equivalent: testdata/NAME.yaml, whose data is
// either the same file read by kiln (csv, mnist) or the arrays the program
// passed, written as fit_x_train.npy etc.
var hostCases = []struct {
	prog    string
	modules []string
	fits    []string // per fit: the equivalent experiment file and its --set overrides, ";"-separated
	out     []string // in the program's output
}{
	{"p01_read_csv.py", []string{"pandas"}, []string{"p01_read_csv.yaml"}, []string{"x1", "final accuracy"}},
	{"p02_get_dummies.py", []string{"pandas"}, []string{"p02_get_dummies.yaml"}, []string{"(300, 2) (300, 3)", "evaluate: loss"}},
	{"p03_train_test_split.py", []string{"pandas", "sklearn"}, []string{"p03_train_test_split.yaml"}, []string{"train (225, 2) test (75, 2)", "epoch 6: accuracy"}},
	{"p04_label_encoder_scaler.py", []string{"pandas", "sklearn"}, []string{"p04_label_encoder_scaler.yaml"}, []string{"classes: ['no', 'yes']", "Epoch 1/8", "val_accuracy", "Epoch 8/8", "val_accuracy", "validation accuracy from predict:"}},
	{"p05_make_classification.py", []string{"sklearn"}, []string{"p05_make_classification.yaml"}, []string{"['accuracy', 'loss', 'val_accuracy', 'val_loss']"}},
	{"p06_loops.py", nil, []string{"p06_loops.yaml"}, []string{"epoch 5: mse"}},
	{"p07_keras2.py", []string{"pandas"}, []string{"p07_keras2.yaml"}, []string{"predicted classes: ["}},
	{"p08_callbacks.py", []string{"pandas", "sklearn"}, []string{"p08_callbacks.yaml"}, []string{"end of epoch 0: loss=", "accuracy=", "val_loss=", "val_accuracy=", "end of epoch 1: loss="}},
	{"p09_mnist.py", nil, []string{"p09_mnist.yaml"}, []string{"(2000, 28, 28) (2000, 10) float32", "Test accuracy:"}},
	{"p10_parse_lines.py", nil, []string{"p10_parse_lines.yaml", "p10_parse_lines.yaml;compile.optimizer.learning_rate=0.001"}, []string{"lr=0.01: accuracy", "lr=0.001: accuracy"}},
	{"p11_dataframe_dict.py", []string{"pandas"}, []string{"p11_dataframe_dict.yaml"}, nil},
	{"p13_functional.py", []string{"sklearn"}, []string{"p13_functional.yaml"}, []string{"Total params", "layers: ['dense', 'dense_1', 'concatenate', 'dense_2']"}},
}

// TestHostPrograms: each program runs in the user's Python, its fits train
// in kiln, and each fit's History is bit for bit the History of its
// experiment-file equivalent trained by config.Build and Fit; the
// experiment kiln recorded is that file's (model, compile, fit, seed).
func TestHostPrograms(t *testing.T) {
	py := python(t)
	for _, c := range hostCases {
		t.Run(strings.TrimSuffix(c.prog, ".py"), func(t *testing.T) {
			python(t, c.modules...)
			res, out, errs, err := run(t, py, c.prog)
			if err != nil {
				t.Fatalf("%v\nstdout:\n%s\nstderr:\n%s", err, out, errs)
			}
			rest := out // in this order: prints and Keras' console interleave as under Keras
			for _, w := range c.out {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Errorf("the output lacks %q after what came before:\n%s", w, out)
					continue
				}
				rest = rest[i+len(w):]
			}
			if len(res.Fits) != len(c.fits) {
				t.Fatalf("%d fits, want %d", len(res.Fits), len(c.fits))
			}
			for i, spec := range c.fits {
				f := res.Fits[i]
				if f.Continued {
					t.Errorf("fit %d continued an earlier fit", i)
				}
				if !strings.HasPrefix(f.At, c.prog+":") {
					t.Errorf("fit %d at %q, want %s:LINE", i, f.At, c.prog)
				}
				parts := strings.Split(spec, ";")
				want := equivalent(t, f, parts[0], parts[1:])
				compareExperiments(t, f.Experiment, want)
				h := trainFile(t, want)
				if !reflect.DeepEqual(f.History.Keys, h.Keys) || !reflect.DeepEqual(f.History.History, h.History) {
					t.Errorf("fit %d: History\n%v %v\nwant (%s)\n%v %v", i, f.History.Keys, f.History.History, spec, h.Keys, h.History)
				}
			}
		})
	}
}

// equivalent loads testdata/file (with sets) from a directory that also
// holds the fit's arrays (fit_x_train.npy, ...) and the CSV files.
func equivalent(t *testing.T, f *Fit, file string, sets []string) *config.Experiment {
	t.Helper()
	dir := t.TempDir()
	if err := f.WriteFiles(dir, "fit"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{file, "blobs.csv", "xor.csv"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e, err := config.Load(filepath.Join(dir, file), sets)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// compareExperiments compares the sections the program's Keras calls make:
// seed, model, compile and fit.
func compareExperiments(t *testing.T, got, want *config.Experiment) {
	t.Helper()
	g, w := *got, *want
	g.Data, g.Path = w.Data, w.Path
	gy, err := g.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	wy, _ := w.Marshal()
	if string(gy) != string(wy) {
		t.Errorf("the program's fit records\n%s\nwant\n%s", gy, wy)
	}
}

// trainFile trains an experiment as kiln fit does.
func trainFile(t *testing.T, e *config.Experiment) *historyT {
	t.Helper()
	r, err := config.Build(e, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	opts := r.Fit
	opts.Out = io.Discard
	opts.Callbacks = append(opts.Callbacks, r.Callbacks...)
	h, err := r.Model.Fit(context.Background(), r.X, r.Y, opts)
	if err != nil {
		t.Fatal(err)
	}
	return &historyT{Keys: h.Keys, History: h.History}
}

type historyT struct {
	Keys    []string
	History map[string][]float64
}

// TestHostHistoryInPython: the History the program sees is kiln's, to the
// last digit (Python's repr of each float is Go's shortest formatting).
func TestHostHistoryInPython(t *testing.T) {
	py := python(t, "pandas")
	res, out, errs, err := run(t, py, "p01_read_csv.py")
	if err != nil {
		t.Fatalf("%v\n%s", err, errs)
	}
	h := res.Fits[0].History.History
	for _, k := range []string{"loss", "accuracy"} {
		v := h[k][len(h[k])-1]
		want := "final " + k + " " + strconv.FormatFloat(v, 'g', -1, 64)
		if !strings.Contains(out, want+"\n") {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestHostRefusals: constructs the stand-in lacks fail with a Python error
// at the program's line, naming the attribute and kiln's nearest
// equivalent; the traceback shows the program's frames only.
func TestHostRefusals(t *testing.T) {
	py := python(t)
	cases := []struct {
		src       string
		line      int
		typ, want string
	}{
		{"import numpy as np\nfrom tensorflow.keras.layers import LSTM\n", 2, "ImportError", "'LSTM' in kiln's stand-in Keras: kiln has no recurrent layers"},
		{"from tensorflow import keras\nkeras.layers.Dens(3)\n", 2, "AttributeError", "nearest equivalent is Dense"},
		{"import keras\nkeras.layers.Dense(3, kernel_initializer='orthogonal')\n", 2, "ValueError", "kernel_initializer is \"orthogonal\"; kiln has no such initializer"},
		{"import keras\nm = keras.Sequential([keras.layers.Dense(2, input_shape=(2,))])\nm.fit_generator(None)\n", 3, "AttributeError", "'fit_generator'"},
		{"import keras\nx = keras.Input(shape=(3,))\nd = keras.layers.Dense(2)\ny = d(x)\nz = d(y)\n", 5, "NotImplementedError", "kiln has no shared layers"},
		{"import keras\nclass M(keras.Model):\n    def __init__(self):\n        super().__init__()\nM()\n", 4, "NotImplementedError", "subclassed models"},
		{"import keras.applications\n", 1, "ModuleNotFoundError", "kiln has no pretrained models"},
		{"import keras\nkeras.optimizers.Nadam()\n", 2, "AttributeError", "kiln's optimizers are SGD, Adam, RMSprop and Adagrad"},
		{"import keras\nkeras.optimizers.SGD(lr=0.1, decay=1e-6)\n", 2, "ValueError", "decay"},
		{"import keras\nm = keras.Sequential([keras.layers.Dense(2, input_shape=(2,))])\nm.compile(loss='mse')\nm.fit([[1, 2]], [[1, 2]], show_accuracy=True)\n", 4, "TypeError", "show_accuracy"},
		{"import keras\nm = keras.Sequential([keras.layers.Dense(2, input_shape=(2,))])\nm.fit([[1, 2]], [[1, 2]])\n", 3, "RuntimeError", "You must compile your model"},
		{"import keras\nimport numpy as np\nm = keras.Sequential([keras.layers.Dense(2, input_shape=(2,))])\nm.compile(loss='mse')\nm.fit(np.array([['a', 'b']]), np.array([[1, 2]]))\n", 5, "TypeError", "LabelEncoder"},
		{"def f(:\n", 1, "SyntaxError", ""},
	}
	for i, c := range cases {
		dir := t.TempDir()
		file := filepath.Join(dir, "prog.py")
		if err := os.WriteFile(file, []byte(c.src), 0o644); err != nil {
			t.Fatal(err)
		}
		var errs bytes.Buffer
		_, err := Run(context.Background(), py, file, Options{Stderr: &errs})
		var pe *ProgramError
		if !errors.As(err, &pe) {
			t.Errorf("case %d: error %v, want a ProgramError\n%s", i, err, errs.String())
			continue
		}
		if pe.File != file || pe.Line != c.line || pe.Type != c.typ || !strings.Contains(pe.Message, c.want) {
			t.Errorf("case %d: %s:%d %s: %s\nwant %s:%d %s: ...%s...", i, pe.File, pe.Line, pe.Type, pe.Message, file, c.line, c.typ, c.want)
		}
		if !strings.Contains(pe.Error(), file+":"+strconv.Itoa(c.line)+": "+c.typ) {
			t.Errorf("case %d: Error() = %q", i, pe.Error())
		}
		tb := errs.String()
		if c.typ != "SyntaxError" && (!strings.Contains(tb, "Traceback (most recent call last):") || !strings.Contains(tb, "File \""+file+"\", line "+strconv.Itoa(c.line))) {
			t.Errorf("case %d: traceback does not show the program's line:\n%s", i, tb)
		}
		if strings.Contains(tb, "kiln_keras.py") || strings.Contains(tb, "runpy") {
			t.Errorf("case %d: traceback shows kiln's frames:\n%s", i, tb)
		}
	}
}

// TestHostExit: sys.exit's status is the run's; prints before it are kept.
func TestHostExit(t *testing.T) {
	py := python(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "exit.py")
	os.WriteFile(file, []byte("import sys\nprint('bye')\nsys.exit(3)\n"), 0o644)
	var out bytes.Buffer
	_, err := Run(context.Background(), py, file, Options{Stdout: &out})
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != 3 || out.String() != "bye\n" {
		t.Errorf("err %v, output %q", err, out.String())
	}
	os.WriteFile(file, []byte("import sys\nprint(sys.argv[1:])\nsys.exit(0)\n"), 0o644)
	out.Reset()
	if _, err := Run(context.Background(), py, file, Options{Stdout: &out, Args: []string{"a", "b"}}); err != nil || out.String() != "['a', 'b']\n" {
		t.Errorf("err %v, output %q", err, out.String())
	}
}

// TestAvailable: a missing interpreter is an error saying how to get one.
func TestAvailable(t *testing.T) {
	err := Available(filepath.Join(t.TempDir(), "no-python"))
	if err == nil || !strings.Contains(err.Error(), "python3-numpy") {
		t.Errorf("Available(missing) = %v", err)
	}
}

// TestHostContinue: a second fit goes on from the first one's weights (as
// in Keras): the same as training the experiment file and then fitting the
// same kiln model again; the program's callbacks run in Python, predict
// from a callback, and stop training.
func TestHostContinue(t *testing.T) {
	py := python(t)
	res, out, errs, err := run(t, py, "p12_continue.py")
	if err != nil {
		t.Fatalf("%v\n%s", err, errs)
	}
	if len(res.Fits) != 2 || res.Fits[0].Continued || !res.Fits[1].Continued {
		t.Fatalf("fits %d", len(res.Fits))
	}
	for _, w := range []string{"training starts\n", "epoch 0: my accuracy", "epoch 2: my accuracy", "epochs run: 2 3\n"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, "epoch 3:") {
		t.Errorf("training did not stop:\n%s", out)
	}
	// The same in Go: build the first fit's experiment, fit 2 epochs, then
	// 3 more (the callback stopped after epoch 2) on the same model.
	e := equivalent(t, res.Fits[0], "p12_continue.yaml", nil)
	r, err := config.Build(e, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	opts := r.Fit
	h1, err := r.Model.Fit(context.Background(), r.X, r.Y, opts)
	if err != nil {
		t.Fatal(err)
	}
	opts.Epochs = 3
	h2, err := r.Model.Fit(context.Background(), r.X, r.Y, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(res.Fits[0].History.History, h1.History) || !reflect.DeepEqual(res.Fits[1].History.History, h2.History) {
		t.Errorf("Histories\n%v\n%v\nwant\n%v\n%v", res.Fits[0].History.History, res.Fits[1].History.History, h1.History, h2.History)
	}
}

// TestHostSets: --set overrides apply to the program's fits, as to an
// experiment file's.
func TestHostSets(t *testing.T) {
	py := python(t)
	var errs bytes.Buffer
	res, err := Run(context.Background(), py, "p06_loops.py", Options{Dir: "testdata", Stderr: &errs, Sets: []string{"fit.epochs=2", "compile.optimizer.learning_rate=0.01"}})
	if err != nil {
		t.Fatalf("%v\n%s", err, errs.String())
	}
	want := equivalent(t, res.Fits[0], "p06_loops.yaml", []string{"fit.epochs=2", "compile.optimizer.learning_rate=0.01"})
	compareExperiments(t, res.Fits[0].Experiment, want)
	h := trainFile(t, want)
	if len(res.Fits[0].History.Epoch) != 2 || !reflect.DeepEqual(res.Fits[0].History.History, h.History) {
		t.Errorf("History %v, want %v", res.Fits[0].History.History, h.History)
	}
}

// TestStandInOutsideKiln: the stand-in modules imported by a plain python
// (not under kiln) say how to run the program.
func TestStandInOutsideKiln(t *testing.T) {
	py := python(t)
	dir := t.TempDir()
	if err := writeModules(dir); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, "-c", "import kiln_keras")
	cmd.Env = append(os.Environ(), "PYTHONPATH="+dir, "KILN_HOST_FDS=")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "ImportError: kiln's stand-in keras/tensorflow run only under kiln") {
		t.Errorf("err %v:\n%s", err, out)
	}
	if len(Modules()) != 2 {
		t.Errorf("Modules() = %v", Modules())
	}
}

// TestStandInWins: an installed TensorFlow (here one in the program's
// directory) does not shadow kiln's stand-in; importlib sees it too.
func TestStandInWins(t *testing.T) {
	py := python(t)
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "tensorflow"), 0o755)
	os.WriteFile(filepath.Join(dir, "tensorflow", "__init__.py"), []byte("raise RuntimeError('the real TensorFlow')\n"), 0o644)
	file := filepath.Join(dir, "prog.py")
	os.WriteFile(file, []byte("import importlib.util\nimport tensorflow as tf\nfrom tensorflow.keras import layers\nprint(tf.__doc__.split(':')[0], importlib.util.find_spec('keras') is not None, layers.Dense.__name__)\n"), 0o644)
	var out, errs bytes.Buffer
	if _, err := Run(context.Background(), py, file, Options{Stdout: &out, Stderr: &errs}); err != nil {
		t.Fatalf("%v\n%s", err, errs.String())
	}
	if out.String() != "kiln's stand-in for tensorflow (host mode) True Dense\n" {
		t.Errorf("output %q", out.String())
	}
}

// TestHostSave: a fit's model saves with its arrays, and loads back with
// its data.
func TestHostSave(t *testing.T) {
	py := python(t)
	res, _, errs, err := run(t, py, "p06_loops.py")
	if err != nil {
		t.Fatalf("%v\n%s", err, errs)
	}
	dir := filepath.Join(t.TempDir(), "saved")
	if err := res.Fits[0].Save(dir, nil); err != nil {
		t.Fatal(err)
	}
	s, err := saving.Load(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.LoadData()
	if err != nil {
		t.Fatal(err)
	}
	if r.X.Rows() != 256 {
		t.Errorf("saved data has %d rows", r.X.Rows())
	}
}
