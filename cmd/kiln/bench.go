package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/kiln-ml/kiln/bench"
	"github.com/kiln-ml/kiln/internal/kernels"
)

// cmdBench times the question's workload (and an MLP) and, with --vs-torch,
// the same workloads in PyTorch.
func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	epochs := fs.Int("epochs", 3, "epochs per workload; the median epoch is reported")
	threads := fs.Int("threads", 1, "threads per training step and for validation (kiln's fit threads, with GOMAXPROCS set to it; PyTorch's thread count)")
	workload := fs.String("workload", "all", "seed (the question's program), mlp (784→128 relu→10 softmax, Adam), cnn (Conv2D(32, 3×3, relu) → MaxPooling2D(2) → Dense(10, softmax), Adam, batch 128), cnn-bn (cnn with Conv2D → BatchNormalization → ReLU), all (seed and mlp), or sweep (kiln sweep --jobs 1 against one job per core)")
	rounds := fs.Int("rounds", 5, "sweep: timed rounds of each --jobs setting")
	vsTorch := fs.Bool("vs-torch", false, "also run the workloads in PyTorch (bench/torch_bench.py) and print the ratio")
	python := fs.String("python", bench.DefaultPython, "the Python interpreter for --vs-torch")
	torchBLAS := fs.String("torch-blas", "", "--vs-torch: a directory holding the libblas.so.3 PyTorch should load, put first on its LD_LIBRARY_PATH (e.g. a private copy of Debian's OpenBLAS, see the README)")
	level := fs.String("kernels", "", "force a kernel level: generic, avx2 or avx512 (default: the best this CPU supports)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the kiln runs to this file (go tool pprof)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `Usage: kiln bench [flags]

Trains the question's program (MNIST, raw uint8 pixels, Dense 784→10
sigmoid, categorical cross-entropy from the logits, SGD lr 0.01, batch 32,
validation on the 10000 test rows) and an MLP for a few epochs, and prints
the median time per epoch (validation included), per training step, and the
heap allocations per training step (runtime.MemStats over the training
steps, validation excluded).

--vs-torch runs the same workloads in PyTorch on the same number of threads
and prints the ratio, naming the BLAS PyTorch's matrix products run on (the
file that holds sgemm_); a ratio against the reference (netlib) BLAS, an
unidentified BLAS or different thread counts is marked NOT LIKE FOR LIKE.
--torch-blas DIR puts DIR first on PyTorch's LD_LIBRARY_PATH, e.g. a private
copy of Debian's OpenBLAS (see the README's Speed section).

--workload sweep instead times whole 'kiln sweep' processes on the question's
program (two learning rates × 3 repeats, --epochs epochs), --jobs 1 against
one job per core, and prints the speed-up.

Flags:`)
		fs.PrintDefaults()
	}
	pos, err := parse(fs, args, stderr)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageErr("bench takes no arguments, got %q (see kiln bench -h)", pos)
	}
	if *epochs < 1 {
		return usageErr("--epochs must be at least 1, got %d", *epochs)
	}
	if *threads < 1 {
		return usageErr("--threads must be at least 1, got %d", *threads)
	}
	if *workload == "sweep" {
		if *rounds < 1 {
			return usageErr("--rounds must be at least 1, got %d", *rounds)
		}
		fmt.Fprintf(stdout, "kiln bench: cpu: %s; go: %s %s/%s\n", bench.CPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
		if runtime.NumCPU() < 2 {
			return usageErr("--workload sweep compares --jobs 1 with one job per core, but this machine has 1 core")
		}
		return benchSweep(ctx, stdout, *epochs, *rounds, runtime.NumCPU())
	}
	var workloads []string
	switch {
	case *workload == "all":
		workloads = bench.Workloads
	case slices.Contains(bench.Names(), *workload):
		workloads = []string{*workload}
	default:
		return usageErr("--workload must be %s, all or sweep, got %q", strings.Join(bench.Names(), ", "), *workload)
	}
	if *torchBLAS != "" {
		if !*vsTorch {
			return usageErr("--torch-blas is for --vs-torch")
		}
		if err := bench.CheckBLASDir(*torchBLAS); err != nil {
			return usageErr("--torch-blas: %v", err)
		}
	}
	if *level != "" {
		l, err := kernels.ParseLevel(*level)
		if err != nil {
			return usageErr("--kernels: %v", err)
		}
		prev, err := kernels.Use(l)
		if err != nil {
			return usageErr("--kernels: %v", err)
		}
		defer kernels.Use(prev)
	}

	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return usageErr("--cpuprofile: %v", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return usageErr("--cpuprofile: %v", err)
		}
		defer pprof.StopCPUProfile()
	}

	fmt.Fprintf(stdout, "kiln bench: %d epochs per workload, GOMAXPROCS=%d for training and validation\n", *epochs, *threads)
	fmt.Fprintf(stdout, "cpu: %s\n", bench.CPU())
	fmt.Fprintf(stdout, "go: %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	torchEnv := bench.TorchEnv{Python: *python, Threads: *threads, BLASDir: *torchBLAS}
	torchOK := false
	if *vsTorch {
		info, err := bench.ProbeTorch(ctx, torchEnv)
		if err != nil {
			fmt.Fprintf(stdout, "--vs-torch: %v; continuing without PyTorch\n", err)
		} else {
			torchOK = true
			label, warnings := bench.RatioLabel(info.Version, info.BLAS, info.Threads, *threads)
			fmt.Fprintf(stdout, "torch: %s; via %s", label, *python)
			if *torchBLAS != "" {
				fmt.Fprintf(stdout, ", LD_LIBRARY_PATH=%s", *torchBLAS)
			}
			fmt.Fprintln(stdout)
			if info.BLAS.Path != "" {
				fmt.Fprintf(stdout, "torch: sgemm_ from %s\n", info.BLAS.Path)
			}
			for _, w := range warnings {
				fmt.Fprintf(stdout, "torch: WARNING: %s\n", w)
			}
		}
	}
	for _, w := range workloads {
		fmt.Fprintf(stdout, "\n%s: %s\n", w, bench.Describe(w))
		r, err := bench.Run(ctx, w, bench.Options{Epochs: *epochs, Threads: *threads,
			EpochDone: func(i int, e bench.Epoch) { printEpoch(stdout, "  kiln ", i, e) }})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "  kiln  median: %.4f s/epoch (train %.4f s = %.1f µs/step over %d steps, cpu %.4f s; validation %.4f s), %s allocs/step (%.0f B/step)\n",
			r.MedianEpoch().Seconds(), r.MedianTrain().Seconds(), r.StepMicros(), r.Steps, r.MedianTrainCPU().Seconds(),
			r.MedianValidation().Seconds(), allocs(r.AllocsPerStep()), r.BytesPerStep())
		if !torchOK {
			continue
		}
		tr, err := bench.RunTorch(ctx, torchEnv, w, *epochs)
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return err
			}
			fmt.Fprintf(stdout, "  torch: failed: %v\n", err)
			continue
		}
		for i, e := range tr.Epochs {
			printEpoch(stdout, "  torch", i, e)
		}
		fmt.Fprintf(stdout, "  torch median: %.4f s/epoch (train %.4f s = %.1f µs/step; validation %.4f s)\n",
			tr.MedianEpoch().Seconds(), tr.MedianTrain().Seconds(),
			float64(tr.MedianTrain().Nanoseconds())/1e3/float64(r.Steps), (&bench.Result{Epochs: tr.Epochs}).MedianValidation().Seconds())
		fmt.Fprintln(stdout, ratioLine(tr, r))
	}
	return nil
}

func printEpoch(w io.Writer, who string, i int, e bench.Epoch) {
	fmt.Fprintf(w, "%s epoch %d: %.4f s (train %.4f s, validation %.4f s)  loss %.4f  accuracy %.4f  val_loss %.4f  val_accuracy %.4f\n",
		who, i+1, e.Total.Seconds(), e.Train.Seconds(), e.Validation.Seconds(), e.Loss, e.Accuracy, e.ValLoss, e.ValAccuracy)
}

func allocs(a float64) string {
	if a == 0 {
		return "0"
	}
	return fmt.Sprintf("%.3f", a)
}

// ratioLine is the comparison's last line: the ratio, with the PyTorch
// side named (its BLAS and threads); when the comparison is not like for
// like (the reference BLAS, an unidentified BLAS, different thread counts)
// the warnings come first, in capitals, so that the ratio is never quoted
// without them.
func ratioLine(tr *bench.TorchResult, r *bench.Result) string {
	label, warnings := bench.RatioLabel(tr.Version, tr.BLAS, tr.Threads, r.Threads)
	head := "  ratio"
	if len(warnings) > 0 {
		head = "  ratio, NOT LIKE FOR LIKE (" + strings.Join(warnings, "; ") + ")"
	}
	return fmt.Sprintf("%s: PyTorch / kiln = %.1f× per epoch (%.1f× for the training steps alone); %s",
		head, ratio(tr.MedianEpoch(), r.MedianEpoch()), ratio(tr.MedianTrain(), r.MedianTrain()), label)
}

func ratio(a, b time.Duration) float64 {
	if b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}
