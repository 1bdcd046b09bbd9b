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

// TorchResult is what the PyTorch script measured.
type TorchResult struct {
	Version string
	Threads int
	Epochs  []Epoch
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

// CheckTorch reports whether python can import torch, and its version.
func CheckTorch(ctx context.Context, python string) (string, error) {
	if _, err := os.Stat(python); err != nil {
		return "", fmt.Errorf("%w: %s not found (install Debian's python3-torch, or pass --python)", ErrNoTorch, python)
	}
	out, err := exec.CommandContext(ctx, python, "-c", "import torch; print(torch.__version__)").CombinedOutput()
	if err != nil {
		msg := strings.TrimSpace(string(out))
		if i := strings.LastIndex(msg, "\n"); i >= 0 {
			msg = msg[i+1:]
		}
		return "", fmt.Errorf("%w: %s cannot import torch (%s)", ErrNoTorch, python, msg)
	}
	return strings.TrimSpace(string(out)), nil
}

// RunTorch runs the PyTorch version of a workload with python for the given
// epochs and threads, on the same MNIST files kiln reads.
func RunTorch(ctx context.Context, python, workload string, epochs, threads int) (*TorchResult, error) {
	if _, err := CheckTorch(ctx, python); err != nil {
		return nil, err
	}
	dir, err := mnist.Locate()
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "kiln-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	script := filepath.Join(tmp, "torch_bench.py")
	if err := os.WriteFile(script, TorchScript, 0o644); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, python, script, "--mnist", dir, "--workload", workload,
		"--epochs", strconv.Itoa(epochs), "--threads", strconv.Itoa(threads))
	cmd.Env = append(os.Environ(), "OMP_NUM_THREADS="+strconv.Itoa(threads), "MKL_NUM_THREADS="+strconv.Itoa(threads),
		"OPENBLAS_NUM_THREADS="+strconv.Itoa(threads))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %v: %s", python, script, err, strings.TrimSpace(stderr.String()))
	}
	res := &TorchResult{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var line struct {
			Epoch                    int
			Train, Validation, Total float64
			Loss, Accuracy           float64
			ValLoss                  float64 `json:"val_loss"`
			ValAccuracy              float64 `json:"val_accuracy"`
			Torch                    string
			Threads                  int
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			return nil, fmt.Errorf("torch_bench.py printed %q: %v", sc.Text(), err)
		}
		if line.Torch != "" {
			res.Version, res.Threads = line.Torch, line.Threads
			continue
		}
		sec := func(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
		res.Epochs = append(res.Epochs, Epoch{Total: sec(line.Total), Train: sec(line.Train), Validation: sec(line.Validation),
			Loss: line.Loss, Accuracy: line.Accuracy, ValLoss: line.ValLoss, ValAccuracy: line.ValAccuracy})
	}
	if len(res.Epochs) == 0 {
		return nil, fmt.Errorf("torch_bench.py printed no epochs: %s", strings.TrimSpace(stderr.String()))
	}
	return res, nil
}
