// Package host runs a Keras program in the user's own Python ("host
// mode"), for programs kiln's pure-Go reader (package program) refuses:
// programs that prepare their data with pandas, scikit-learn, loops and
// helpers of their own.
//
// Run writes kiln's stand-in keras, tensorflow and tensorflow.keras modules
// (pure Python, embedded in the binary, no TensorFlow needed) to a
// temporary directory, puts it first on the import path, and runs the
// program through a boot script that registers the stand-ins in
// sys.modules (so they win over an installed TensorFlow) and then runs the
// program as `python program.py` would: its own code (prints, plots,
// pandas) runs for real in Python. Every Keras model, layer, optimizer,
// loss and callback call is recorded by the stand-in and checked by kiln as
// it is made; the arrays handed to fit, evaluate and predict are passed to
// kiln as .npy files, and all training, evaluation and prediction happen in
// kiln (Go). Each model.fit becomes an experiment (config.Experiment, its
// data the fit's arrays), trained exactly as `kiln fit` trains the
// experiment file: the same History, bit for bit.
//
// The Python side talks to kiln over a pair of pipes (file descriptors 3
// and 4 of the Python process), one JSON object per line; the program's
// standard input, output and error stay the user's. Keras' console output
// (progress bars, epoch lines) is sent to the stand-in, which writes it to
// the program's sys.stdout, so it interleaves with the program's prints as
// it would under Keras.
package host

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/config"
	"github.com/kiln-ml/kiln/data"
	"github.com/kiln-ml/kiln/saving"
)

//go:embed py
var pyFiles embed.FS

// Options configure Run.
type Options struct {
	// Args are the program's command-line arguments (sys.argv[1:]).
	Args []string
	// Stdin, Stdout and Stderr are the program's standard streams; nil
	// means none (Stdin) or discard. Keras' console output goes to Stdout
	// through the program's sys.stdout; a Python traceback to Stderr.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Notes receives kiln's notes (what it assumed, compile warnings);
	// nil discards them.
	Notes io.Writer
	// Seed, if SeedSet, seeds every training; otherwise the program's own
	// tf.random.set_seed / keras.utils.set_random_seed / np.random.seed
	// does (the last one called before the fit), else 0.
	Seed    int64
	SeedSet bool
	// Sets are --set overrides (dotted.path=value) for the experiment of
	// every fit, as for an experiment file.
	Sets []string
	// Verbose, if VerboseSet, overrides the verbose of every fit.
	Verbose    int
	VerboseSet bool
	// Dir, if not "", is the working directory of the program; "" runs it
	// in the current directory, as `python program.py` does.
	Dir string
}

// Result is what a program run did in kiln.
type Result struct {
	// Fits are the program's model.fit calls, in order.
	Fits []*Fit
	// Python is the interpreter that ran the program, Version its
	// sys.version (first line) and NumPy numpy.__version__.
	Python, Version, NumPy string
}

// Fit is one model.fit of the program.
type Fit struct {
	// At is the program's file:line of the call.
	At string
	// Experiment is the experiment-file equivalent of the fit: the
	// program's model, compile and fit settings, its data the arrays the
	// program passed (the .npy files named in Data.Train and Data.Test,
	// relative to the experiment; Arrays holds them). WriteFiles writes
	// it out.
	Experiment *config.Experiment
	// Arrays are the fit's data arrays, by the file names the experiment
	// uses.
	Arrays map[string]*data.Array
	// Continued is true when the fit went on training a model an earlier
	// fit trained (as Keras does): Experiment then describes this fit's
	// settings, but training started from the earlier fit's weights, so
	// the experiment file alone does not reproduce its History.
	Continued bool
	// History is what model.fit returned.
	History *kiln.History
	// Run is the trained model with its data and options. Its Exp reads
	// the arrays from Run's temporary directory, which is gone when Run
	// returns: save the model with Fit.Save.
	Run *config.Run
}

// WriteFiles writes the fit's experiment as dir/name.yaml with its arrays
// next to it, so that `kiln fit dir/name.yaml` trains what the program's
// fit trained.
func (f *Fit) WriteFiles(dir, name string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	e := *f.Experiment
	d := e.Data
	if d.Train != nil {
		t := XYNames(name, "train")
		d.Train = &t
		if err := writePair(dir, f.Arrays, *f.Experiment.Data.Train, t); err != nil {
			return err
		}
	}
	if d.Test != nil {
		t := XYNames(name, "test")
		d.Test = &t
		if err := writePair(dir, f.Arrays, *f.Experiment.Data.Test, t); err != nil {
			return err
		}
	}
	e.Data = d
	y, err := e.Marshal()
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, name+".yaml"), y, 0o644)
}

// XYNames are the .npy file names WriteFiles gives an experiment's split
// (train or test): NAME_x_train.npy and NAME_y_train.npy.
func XYNames(name, split string) config.XYFiles {
	return config.XYFiles{X: name + "_x_" + split + ".npy", Y: name + "_y_" + split + ".npy"}
}

func writePair(dir string, arrays map[string]*data.Array, from, to config.XYFiles) error {
	for _, p := range [][2]string{{from.X, to.X}, {from.Y, to.Y}} {
		a := arrays[p[0]]
		if a == nil {
			return fmt.Errorf("host: the fit has no array %s", p[0])
		}
		if err := data.WriteNPY(filepath.Join(dir, p[1]), a); err != nil {
			return err
		}
	}
	return nil
}

// ProgramError is a Python exception that ended the program. Its traceback
// (the program's frames only) has already been written to the program's
// Stderr, as Python prints it.
type ProgramError struct {
	// File and Line are where in the program it was raised (the innermost
	// frame of the user's code), "" and 0 if unknown.
	File string
	Line int
	// Type is the exception's class name and Message its text.
	Type, Message string
	// Traceback is the traceback as printed.
	Traceback string
	// ExitCode is the Python process' exit status.
	ExitCode int
}

// Error is "file:line: Type: message".
func (e *ProgramError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	}
	b.WriteString(e.Type)
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	return b.String()
}

// ExitError is a program that ended with sys.exit(code), code not 0.
type ExitError struct {
	File string
	Code int
}

// Error says which program exited with which status.
func (e *ExitError) Error() string {
	return fmt.Sprintf("%s: the program exited with status %d", e.File, e.Code)
}

// Available checks that python runs and imports numpy, which the stand-in
// modules need; the error says what is missing and how to install it.
func Available(python string) error {
	_, _, err := probe(python)
	return err
}

// probe returns the interpreter's version and numpy's.
func probe(python string) (version, numpy string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "-c", "import sys\nif sys.version_info < (3, 8): raise SystemExit('kiln: Python 3.8 or newer is needed, this is ' + sys.version.split()[0])\n"+
		"try:\n import numpy\nexcept ImportError:\n raise SystemExit('kiln: numpy is not installed for ' + sys.executable)\nprint(sys.version.splitlines()[0]); print(numpy.__version__)")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			msg := strings.TrimSpace(errb.String())
			if strings.Contains(msg, "numpy is not installed") {
				return "", "", fmt.Errorf("%s has no numpy, which kiln's stand-in Keras needs: install it (Debian/Ubuntu: apt-get install python3-numpy; else %s -m pip install numpy), or pass --python with a Python that has it", python, python)
			}
			return "", "", fmt.Errorf("%s: %s", python, firstLine(msg))
		}
		return "", "", fmt.Errorf("cannot run %s: %v; install Python 3 with numpy (Debian/Ubuntu: apt-get install python3-numpy) or pass --python PATH", python, err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) < 2 {
		return "", "", fmt.Errorf("%s: unexpected answer %q", python, out.String())
	}
	return lines[0], lines[1], nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// Find returns the first Python 3 with numpy among python3 and python on
// the PATH and /usr/bin/python3 (Debian's, where apt installs
// python3-numpy). The error lists what was tried and why each failed.
func Find() (string, error) {
	var why []string
	seen := map[string]bool{}
	for _, name := range []string{"python3", "python", "/usr/bin/python3"} {
		p, err := exec.LookPath(name)
		if err != nil {
			why = append(why, name+": not found")
			continue
		}
		if real, err := filepath.EvalSymlinks(p); err == nil && seen[real] {
			continue
		} else if err == nil {
			seen[real] = true
		}
		if err := Available(p); err != nil {
			why = append(why, err.Error())
			continue
		}
		return p, nil
	}
	return "", fmt.Errorf("no Python 3 with numpy found (%s); install one (Debian/Ubuntu: apt-get install python3-numpy) or pass --python PATH", strings.Join(why, "; "))
}

// Run runs the program file in python with kiln's stand-in Keras modules
// first on the import path, and returns what its fits trained. The
// program's own code runs for real; a Python exception that ends it is a
// *ProgramError (its traceback already written to o.Stderr), sys.exit with
// a non-zero status an *ExitError. The Result is returned even then, with
// the fits that ran.
func Run(ctx context.Context, python, file string, o Options) (*Result, error) {
	if runtime.GOOS == "windows" {
		return nil, fmt.Errorf("host mode needs pipes on file descriptors 3 and 4, which Windows does not pass to a child process; run the program with kiln's reader (--no-python) or on Linux/macOS")
	}
	path := file
	if o.Dir != "" && !filepath.IsAbs(file) {
		path = filepath.Join(o.Dir, file) // as `cd Dir; python file`
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	version, numpy, err := probe(python)
	if err != nil {
		return nil, err
	}
	res := &Result{Python: python, Version: version, NumPy: numpy}
	fmt.Fprintf(orDiscard(o.Notes), "kiln: running %s in your Python (%s: Python %s, numpy %s) with kiln's stand-in Keras: the program's own code runs in Python, its Keras models train in kiln\n",
		file, python, strings.Fields(version + " ?")[0], numpy)
	tmp, err := os.MkdirTemp("", "kiln-host-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(tmp)
	mods := filepath.Join(tmp, "py")
	if err := writeModules(mods); err != nil {
		return res, err
	}
	arrays := filepath.Join(tmp, "arrays")
	if err := os.Mkdir(arrays, 0o755); err != nil {
		return res, err
	}

	// Two pipes: the program's requests (fd 3 in Python) and kiln's answers
	// (fd 4).
	reqR, reqW, err := os.Pipe()
	if err != nil {
		return res, err
	}
	ansR, ansW, err := os.Pipe()
	if err != nil {
		reqR.Close()
		reqW.Close()
		return res, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	cmd := exec.CommandContext(ctx, python, append([]string{"-X", "utf8", filepath.Join(mods, "kiln_boot.py"), abs}, o.Args...)...)
	cmd.Dir = o.Dir
	cmd.Stdin = o.Stdin
	cmd.Stdout = orDiscard(o.Stdout)
	cmd.Stderr = orDiscard(o.Stderr)
	cmd.ExtraFiles = []*os.File{reqW, ansR}
	env := os.Environ()
	pp := mods
	if old := os.Getenv("PYTHONPATH"); old != "" {
		pp += string(os.PathListSeparator) + old
	}
	env = append(env, "PYTHONPATH="+pp, "KILN_HOST_FDS=3,4", "KILN_HOST_ARRAYS="+arrays, "KILN_HOST_MODULES="+mods,
		"KILN_HOST_FILE="+file, "TF_CPP_MIN_LOG_LEVEL=3")
	cmd.Env = env
	if err := cmd.Start(); err != nil {
		reqR.Close()
		reqW.Close()
		ansR.Close()
		ansW.Close()
		return res, fmt.Errorf("cannot run %s: %w", python, err)
	}
	reqW.Close()
	ansR.Close()

	s := newServer(ctx, file, arrays, reqR, ansW, o, res)
	served := make(chan error, 1)
	go func() {
		err := s.serve()
		// Python waiting for an answer then reads end of file and stops.
		ansW.Close()
		served <- err
	}()
	waitErr := cmd.Wait()
	reqR.Close()
	serveErr := <-served

	if s.failure != nil {
		s.failure.ExitCode = exitCode(waitErr)
		return res, s.failure
	}
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	if serveErr != nil {
		return res, fmt.Errorf("%s: kiln's channel to Python failed: %w", file, serveErr)
	}
	if waitErr != nil {
		code := exitCode(waitErr)
		if code > 0 {
			return res, &ExitError{File: file, Code: code}
		}
		return res, fmt.Errorf("%s: %s: %w", file, python, waitErr)
	}
	return res, nil
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// writeModules writes the embedded stand-in modules under dir.
func writeModules(dir string) error {
	return fs.WalkDir(pyFiles, "py", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(p, "py")))
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := pyFiles.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
}

// Modules lists the stand-in module files kiln writes for the program
// (paths relative to the directory put first on PYTHONPATH).
func Modules() []string {
	var out []string
	fs.WalkDir(pyFiles, "py", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, strings.TrimPrefix(p, "py/"))
		}
		return nil
	})
	return out
}

// Save saves the fit's trained model as a saved-model folder (as
// `kiln fit --save DIR` does for an experiment file), with the fit's arrays
// written into the folder as NAME_x_train.npy etc. ("data" for NAME), so
// that the saved experiment's data section points at files that outlive
// the run. opts may be nil.
func (f *Fit) Save(dir string, opts *saving.Options) error {
	if f.Run == nil || f.Experiment == nil {
		return fmt.Errorf("host: the fit did not train, so there is no model to save")
	}
	if err := f.WriteFiles(dir, "data"); err != nil {
		return err
	}
	e := *f.Experiment
	e.Path = filepath.Join(dir, "data.yaml")
	if e.Data.Train != nil {
		t := XYNames("data", "train")
		e.Data.Train = &t
	}
	if e.Data.Test != nil {
		t := XYNames("data", "test")
		e.Data.Test = &t
	}
	return saving.Save(dir, f.Run.Model, &e, opts)
}
