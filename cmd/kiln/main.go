// Command kiln trains, evaluates and explains Keras-style models described by
// experiment files. It is a thin layer over the kiln packages.
//
//	kiln fit examples/seed.yaml [--set compile.optimizer.learning_rate=0.03] [--history h.json] [--save DIR]
//	kiln evaluate DIR|FILE [--weights W.safetensors]
//	kiln predict DIR|FILE --input x.npy --output y.npy [--weights W.safetensors]
//	kiln summary DIR|FILE
//	kiln export DIR|FILE --onnx model.onnx [--weights W.safetensors]
//
// Exit codes: 0 success, 1 the run failed, 2 bad usage or bad input.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
)

const usage = `kiln trains neural networks with Keras' semantics, in pure Go.

Usage:
  kiln fit FILE [flags]         train the experiment in FILE (YAML or JSON), or run a Keras program (.py)
  kiln evaluate MODEL [flags]   loss and metrics on the test split
  kiln predict MODEL [flags]    outputs for an .npy input, written as .npy
  kiln summary MODEL            print the model summary (Keras layout; MODEL may be a Keras model .json)
  kiln export MODEL --onnx F    write the trained model as ONNX
  kiln explain FILE [flags]     why training does what it does: findings, evidence, verified fixes
  kiln convert PROGRAM.py       print the experiment file of a Keras program's first fit
  kiln sweep FILE --grid k=a,b  compare settings × repeats in parallel (table, CSV/JSON, plots)
  kiln bench [flags]            time the question's workload and an MLP (--vs-torch: and PyTorch)
  kiln help                     this text

FILE may be a Keras program (.py): kiln's reader runs it in pure Go, its
Keras calls training in kiln, its prints printing; a snippet without imports
or data loading gets notes for what kiln assumed.

MODEL is a directory written by 'kiln fit --save DIR' (Go programs load it
with github.com/kiln-ml/kiln/saving), or an experiment file with --weights
W.safetensors (summary needs no weights).

Run 'kiln COMMAND -h' for a command's flags. Exit codes: 0 ok, 1 run failed,
2 bad usage or input.
`

// exitError carries an exit code with a message.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

func usageErr(format string, a ...any) error {
	return &exitError{2, fmt.Errorf(format, a...)}
}

// stopSignals stop kiln gracefully: Ctrl-C (SIGINT), and SIGTERM and
// SIGHUP, which clusters (scancel, Slurm time limits, Kubernetes pod
// termination, docker stop) and closing terminals send. The current step
// finishes, a BackupAndRestore backs it up, what finished is written
// (--history, --save) and kiln exits 1 within seconds; a second signal
// ends kiln at once.
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}

func main() { os.Exit(mainCode()) }

// mainCode runs kiln with the signal handling of the command and returns
// its exit code.
func mainCode() int {
	ctx, stop := signal.NotifyContext(context.Background(), stopSignals...)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second signal has its default effect: kiln ends at once
	}()
	// KILN_CPUPROFILE=FILE profiles a whole command (for kiln's developers;
	// kiln bench --cpuprofile profiles only the timed runs).
	if path := os.Getenv("KILN_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil && pprof.StartCPUProfile(f) == nil {
			code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
			pprof.StopCPUProfile()
			f.Close()
			return code
		}
		fmt.Fprintf(os.Stderr, "kiln: warning: KILN_CPUPROFILE=%s: cannot write the profile there\n", path)
	}
	return run(ctx, os.Args[1:], os.Stdout, os.Stderr)
}

// run executes one kiln command and returns its exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "fit":
		err = cmdFit(ctx, args[1:], stdout, stderr)
	case "evaluate":
		err = cmdEvaluate(ctx, args[1:], stdout, stderr)
	case "predict":
		err = cmdPredict(ctx, args[1:], stdout, stderr)
	case "summary":
		err = cmdSummary(args[1:], stdout, stderr)
	case "export":
		err = cmdExport(args[1:], stdout, stderr)
	case "explain":
		err = cmdExplain(ctx, args[1:], stdout, stderr)
	case "convert":
		err = cmdConvert(ctx, args[1:], stdout, stderr)
	case "sweep":
		err = cmdSweep(ctx, args[1:], stdout, stderr)
	case "bench":
		err = cmdBench(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "kiln: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err == nil {
		return 0
	}
	code := 1
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
	} else if isInputError(err) {
		code = 2
	}
	if errors.Is(err, errHelp) {
		return 0
	}
	msg := strings.TrimSpace(err.Error())
	fmt.Fprintf(stderr, "kiln: error: %s\n", msg)
	return code
}
