package bench

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kiln-ml/kiln/datasets/mnist"
)

// TorchScript is bench/torch_bench.py: the workloads written for PyTorch.
//
//go:embed torch_bench.py
var TorchScript []byte

// DefaultPython is the interpreter `kiln bench --vs-torch` uses: Debian's,
// where the python3-torch package installs PyTorch.
const DefaultPython = "/usr/bin/python3"

// TorchEnv says how `kiln bench --vs-torch` runs PyTorch.
type TorchEnv struct {
	Python string // the interpreter (DefaultPython if empty)
	// Threads is PyTorch's thread count (torch.set_num_threads, and
	// OMP_NUM_THREADS, MKL_NUM_THREADS and OPENBLAS_NUM_THREADS in its
	// environment); kiln bench passes its own --threads, so both sides run
	// on the same number of threads. Default 1.
	Threads int
	// BLASDir, if set, is put first on the PyTorch process's
	// LD_LIBRARY_PATH: a directory holding a libblas.so.3 (e.g. a private
	// copy of Debian's OpenBLAS, or /usr/lib/x86_64-linux-gnu/blas for the
	// reference BLAS) that Debian's PyTorch then loads instead of the
	// system's.
	BLASDir string
}

func (e TorchEnv) python() string {
	if e.Python == "" {
		return DefaultPython
	}
	return e.Python
}

func (e TorchEnv) threads() int {
	if e.Threads <= 0 {
		return 1
	}
	return e.Threads
}

// environ is the PyTorch process's environment: this process's, with the
// thread counts and LD_LIBRARY_PATH set.
func (e TorchEnv) environ() []string {
	t := strconv.Itoa(e.threads())
	env := append(os.Environ(), "OMP_NUM_THREADS="+t, "MKL_NUM_THREADS="+t, "OPENBLAS_NUM_THREADS="+t)
	if e.BLASDir != "" {
		lp := e.BLASDir
		if old := os.Getenv("LD_LIBRARY_PATH"); old != "" {
			lp += string(os.PathListSeparator) + old
		}
		env = append(env, "LD_LIBRARY_PATH="+lp)
	}
	return env
}

// CheckBLASDir checks that dir holds a libblas.so.3 for TorchEnv.BLASDir.
func CheckBLASDir(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, "libblas.so.3")); err != nil {
		return fmt.Errorf("%s has no libblas.so.3 (give the directory that holds it, e.g. .../openblas-pthread)", dir)
	}
	return nil
}

// TorchInfo is PyTorch's version, threads and BLAS as its process reports
// them.
type TorchInfo struct {
	Version string
	Threads int // torch.get_num_threads()
	BLAS    BLAS
}

// TorchResult is what the PyTorch script measured.
type TorchResult struct {
	TorchInfo
	Epochs []Epoch
}

// MedianEpoch is the median wall time of an epoch, validation included.
func (r *TorchResult) MedianEpoch() time.Duration {
	return (&Result{Epochs: r.Epochs}).MedianEpoch()
}

// MedianTrain is the median time of an epoch's training steps.
func (r *TorchResult) MedianTrain() time.Duration {
	return (&Result{Epochs: r.Epochs}).MedianTrain()
}

// ErrNoTorch says that PyTorch could not be run; the error text says why.
var ErrNoTorch = errors.New("PyTorch is not available")

// summaryLine is the script's last line (and --probe's only one).
type summaryLine struct {
	Torch   string    `json:"torch"`
	Threads int       `json:"threads"`
	BLAS    BLASProbe `json:"blas"`
}

func (l summaryLine) info() TorchInfo {
	return TorchInfo{Version: l.Torch, Threads: l.Threads, BLAS: DetectBLAS(l.BLAS)}
}

// script writes TorchScript to a temporary directory and returns its path
// and the function that removes it.
func script() (string, func(), error) {
	tmp, err := os.MkdirTemp("", "kiln-bench-")
	if err != nil {
		return "", nil, err
	}
	path := filepath.Join(tmp, "torch_bench.py")
	if err := os.WriteFile(path, TorchScript, 0o644); err != nil {
		os.RemoveAll(tmp)
		return "", nil, err
	}
	return path, func() { os.RemoveAll(tmp) }, nil
}

// ProbeTorch runs PyTorch in env without training (torch_bench.py --probe)
// and reports its version, threads and the BLAS its matrix products call.
// The error wraps ErrNoTorch when the interpreter is missing or cannot
// import torch.
func ProbeTorch(ctx context.Context, env TorchEnv) (*TorchInfo, error) {
	python := env.python()
	if _, err := os.Stat(python); err != nil {
		return nil, fmt.Errorf("%w: %s not found (install Debian's python3-torch, or pass --python)", ErrNoTorch, python)
	}
	out, err := exec.CommandContext(ctx, python, "-c", "import torch").CombinedOutput()
	if err != nil {
		msg := strings.TrimSpace(string(out))
		if i := strings.LastIndex(msg, "\n"); i >= 0 {
			msg = msg[i+1:]
		}
		return nil, fmt.Errorf("%w: %s cannot import torch (%s)", ErrNoTorch, python, msg)
	}
	path, done, err := script()
	if err != nil {
		return nil, err
	}
	defer done()
	cmd := exec.CommandContext(ctx, python, path, "--probe", "--threads", strconv.Itoa(env.threads()))
	cmd.Env = env.environ()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err = cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s torch_bench.py --probe: %v: %s", python, err, strings.TrimSpace(stderr.String()))
	}
	var l summaryLine
	if err := json.Unmarshal(bytes.TrimSpace(out), &l); err != nil || l.Torch == "" {
		return nil, fmt.Errorf("torch_bench.py --probe printed %.200q: %v", out, err)
	}
	info := l.info()
	return &info, nil
}

// RunTorch runs the PyTorch version of a workload in env for the given
// epochs, on the same MNIST files kiln reads. Its TorchInfo is what the
// training process itself reports (call ProbeTorch first for a clear error
// when torch is missing).
func RunTorch(ctx context.Context, env TorchEnv, workload string, epochs int) (*TorchResult, error) {
	if _, err := os.Stat(env.python()); err != nil {
		return nil, fmt.Errorf("%w: %s not found", ErrNoTorch, env.python())
	}
	dir, err := mnist.Locate()
	if err != nil {
		return nil, err
	}
	path, done, err := script()
	if err != nil {
		return nil, err
	}
	defer done()
	python := env.python()
	cmd := exec.CommandContext(ctx, python, path, "--mnist", dir, "--workload", workload,
		"--epochs", strconv.Itoa(epochs), "--threads", strconv.Itoa(env.threads()))
	cmd.Env = env.environ()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %v: %s", python, path, err, strings.TrimSpace(stderr.String()))
	}
	return parseTorchOutput(out, stderr.String())
}

// parseTorchOutput reads torch_bench.py's lines: one per epoch, then the
// summary.
func parseTorchOutput(out []byte, stderr string) (*TorchResult, error) {
	res := &TorchResult{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20) // the summary carries the process's maps
	for sc.Scan() {
		var line struct {
			summaryLine
			Epoch                    int
			Train, Validation, Total float64
			Loss, Accuracy           float64
			ValLoss                  float64 `json:"val_loss"`
			ValAccuracy              float64 `json:"val_accuracy"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			return nil, fmt.Errorf("torch_bench.py printed %.200q: %v", sc.Text(), err)
		}
		if line.Torch != "" {
			res.TorchInfo = line.info()
			continue
		}
		sec := func(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
		res.Epochs = append(res.Epochs, Epoch{Total: sec(line.Total), Train: sec(line.Train), Validation: sec(line.Validation),
			Loss: line.Loss, Accuracy: line.Accuracy, ValLoss: line.ValLoss, ValAccuracy: line.ValAccuracy})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading torch_bench.py's output: %v", err)
	}
	if len(res.Epochs) == 0 {
		return nil, fmt.Errorf("torch_bench.py printed no epochs: %s", strings.TrimSpace(stderr))
	}
	return res, nil
}
