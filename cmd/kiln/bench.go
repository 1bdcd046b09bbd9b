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
	workload := fs.String("workload", "all", "seed (the question's program), mlp (784→128 relu→10 softmax, Adam), mlp512 (Keras' mnist_mlp: 784→512→512→10 with Dropout, RMSprop, batch 128), cnn (Conv2D(32, 3×3, relu) → MaxPooling2D(2) → Dense(10, softmax), Adam, batch 128), cnn-bn (cnn with Conv2D → BatchNormalization → ReLU), all (seed and mlp), or sweep (kiln sweep --jobs 1 against one job per core)")
	rounds := fs.Int("rounds", 5, "sweep: timed rounds of each --jobs setting")
	interleave := fs.Int("interleave", 0, "train each workload on 1 thread and on --threads threads at once, in turns of this many steps, and print the median speed-up over pairs of turns (after the usual run)")
	pairs := fs.Int("pairs", 0, "time each workload this many times on 1 thread and on --threads threads, alternately, and print each pair's speed-up and their median (after the usual run)")
	vsC := fs.Bool("vs-c", false, "also run the seed workload written the straightforward way in C (bench/cpeer/seed.c, built with $CC or cc -O3 for x86-64-v3 and x86-64-v4) and print the ratio")
	vsTorch := fs.Bool("vs-torch", false, "also run the workloads in PyTorch (bench/torch_bench.py) and print the ratio")
	python := fs.String("python", bench.DefaultPython, "the Python interpreter for --vs-torch")
	torchBLAS := fs.String("torch-blas", "", "--vs-torch: a directory holding the libblas.so.3 PyTorch should load, put first on its LD_LIBRARY_PATH (e.g. a private copy of Debian's OpenBLAS, see the README)")
	level := fs.String("kernels", "", "force a kernel level: generic, avx2 or avx512, or all to time each level this CPU supports (default: the best this CPU supports)")
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

Before the workloads it measures this CPU's peak rates with the kernel
level in use on --threads threads (float32 multiplies and adds, square
root and divide pairs, streaming reads from memory); after each workload a
"limit" line gives the epoch's lower bound — its multiply-adds (products
of zero pixels left out, as kiln's sparse paths skip them), Adam's square
roots and divides, and the bytes of the data, each at its peak rate, the
longest of the three — and how many times the bound kiln took.

--vs-c runs the seed workload written the straightforward way in C
(bench/cpeer/seed.c: the same zero-skipping loops, vectorised by the
compiler; built with $CC, cc, gcc or clang, -O3, for x86-64-v3 (AVX2) and
x86-64-v4 (AVX-512) where the CPU has them) and prints the ratio.

--pairs P times each workload P times on 1 thread and on --threads threads,
alternating (1, T, 1, T, …), and prints each pair's speed-up and their
median: on a shared machine single runs move by up to 40%, and the two
runs of a pair, back to back, see the same conditions.

--interleave K trains two copies of each workload in one process, one on
1 thread and one on --threads threads, taking turns every K steps (50 is
about 0.05–0.1 s on the cnn), and prints the median step time of each and
the median speed-up over pairs of adjacent turns with its quartiles: the
drift of a shared machine over seconds falls between turns, not within a
pair, so it measures scaling more steadily than --pairs. Both --pairs and
--interleave print a cache line's round trip between two cores (the
threads pinned on Linux) before and after: it bounds how well a step
scales, and on a cloud VM it changes with where the vCPUs run.

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
	if *interleave < 0 || (*interleave > 0 && *threads < 2) {
		return usageErr("--interleave compares 1 thread with --threads threads: it needs --threads 2 or more and a turn of at least 1 step, got --interleave %d --threads %d", *interleave, *threads)
	}
	if *pairs < 0 || (*pairs > 0 && *threads < 2) {
		return usageErr("--pairs compares 1 thread with --threads threads: it needs --threads 2 or more and a count ≥ 1, got --pairs %d --threads %d", *pairs, *threads)
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
	// levels are the kernel levels to time, best first: the one in use,
	// the one forced, or (all) every level this CPU supports. The level in
	// use is restored on return (the tests run commands in-process).
	defer kernels.Use(kernels.Current())
	levels := []kernels.Level{kernels.Current()}
	switch *level {
	case "":
	case "all":
		levels = slices.Clone(kernels.Supported())
		slices.Reverse(levels)
	default:
		l, err := kernels.ParseLevel(*level)
		if err != nil {
			return usageErr("--kernels: %v (or all)", err)
		}
		if _, err := kernels.Use(l); err != nil {
			return usageErr("--kernels: %v", err)
		}
		levels = []kernels.Level{l}
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
	machines := map[kernels.Level]bench.Machine{}
	for _, l := range levels {
		kernels.Use(l)
		m := bench.MeasureMachine(*threads)
		machines[l] = m
		fmt.Fprintf(stdout, "limit: %s kernels on %d thread(s), measured now: %.1f G float32 multiplies+adds/s (separate, no FMA), %.2f G square root+divide pairs/s, %.1f GB/s streamed from memory\n",
			m.Level, m.Threads, m.MulAdd/1e9, m.SqrtDiv/1e9, m.ReadBW/1e9)
	}
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
		var r *bench.Result // the first (best) level's
		var levelTimes []string
		for _, l := range levels {
			kernels.Use(l)
			who := "  kiln "
			if len(levels) > 1 {
				who = "  kiln " + l.String()
			}
			setup, err := bench.NewSetup(w)
			if err != nil {
				return err
			}
			rl, err := setup.Run(ctx, w, bench.Options{Epochs: *epochs, Threads: *threads,
				EpochDone: func(i int, e bench.Epoch) { printEpoch(stdout, who, i, e) }})
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%s median: %.4f s/epoch (train %.4f s = %.1f µs/step over %d steps, cpu %.4f s; validation %.4f s), %s allocs/step (%.0f B/step)\n",
				who, rl.MedianEpoch().Seconds(), rl.MedianTrain().Seconds(), rl.StepMicros(), rl.Steps, rl.MedianTrainCPU().Seconds(),
				rl.MedianValidation().Seconds(), allocs(rl.AllocsPerStep()), rl.BytesPerStep())
			if work, err := bench.WorkOf(setup, w); err == nil {
				fmt.Fprintln(stdout, limitLine(work, bench.LimitOf(work, machines[l]), rl.MedianEpoch()))
			}
			if r == nil {
				r = rl
				levelTimes = append(levelTimes, fmt.Sprintf("%s %.4f s/epoch", l, rl.MedianEpoch().Seconds()))
			} else {
				levelTimes = append(levelTimes, fmt.Sprintf("%s %.4f (%.2f× %s)", l, rl.MedianEpoch().Seconds(),
					rl.MedianEpoch().Seconds()/r.MedianEpoch().Seconds(), levels[0]))
			}
		}
		kernels.Use(levels[0])
		if len(levels) > 1 {
			fmt.Fprintf(stdout, "  levels: %s\n", strings.Join(levelTimes, "; "))
		}
		if *pairs > 0 {
			if err := benchPairs(ctx, stdout, w, *epochs, *threads, *pairs); err != nil {
				return err
			}
		}
		if *interleave > 0 {
			if err := benchInterleave(ctx, stdout, w, *epochs, *threads, *interleave); err != nil {
				return err
			}
		}
		if *vsC && w == bench.Seed {
			benchC(ctx, stdout, w, *epochs, r)
		}
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

// benchPairs times workload w pairs times on 1 thread and on threads
// threads, alternately, and prints each pair's speed-up and the median.
func benchPairs(ctx context.Context, stdout io.Writer, w string, epochs, threads, pairs int) error {
	before := bench.CoreRoundTrip(coreRounds)
	defer func() { printCores(stdout, before, bench.CoreRoundTrip(coreRounds)) }()
	var ups []float64
	for i := range pairs {
		var t [2]float64
		for j, th := range []int{1, threads} {
			setup, err := bench.NewSetup(w)
			if err != nil {
				return err
			}
			r, err := setup.Run(ctx, w, bench.Options{Epochs: epochs, Threads: th})
			if err != nil {
				return err
			}
			t[j] = r.MedianEpoch().Seconds()
		}
		ups = append(ups, t[0]/t[1])
		fmt.Fprintf(stdout, "  pair %d: 1 thread %.4f s/epoch, %d threads %.4f s/epoch: %.2f×\n", i+1, t[0], threads, t[1], t[0]/t[1])
	}
	sorted := slices.Sorted(slices.Values(ups))
	med := bench.Quantile(sorted, 0.5)
	fmt.Fprintf(stdout, "  scaling: %d threads %.2f× faster than 1 (median of %d pairs; %.2f–%.2f)\n", threads, med, pairs, sorted[0], sorted[len(sorted)-1])
	return nil
}

// coreRounds is how many round trips a core-to-core measurement takes
// (1–5 ms on an idle machine).
const coreRounds = 5000

// printCores prints the core-to-core round trip measured before and after
// a scaling measurement (bench.CoreRoundTrip), which changes with where the
// system runs the threads and bounds how well a step scales.
func printCores(stdout io.Writer, before, after time.Duration) {
	if before > 0 {
		fmt.Fprintf(stdout, "  cores: a cache line's round trip between two threads' cores %.0f ns before, %.0f ns after\n",
			float64(before.Nanoseconds()), float64(after.Nanoseconds()))
	}
}

// benchInterleave times workload w on 1 thread and on threads threads in
// turns of turn steps (bench.Interleave) and prints the median step times
// and the speed-up's median and quartiles over pairs of turns.
func benchInterleave(ctx context.Context, stdout io.Writer, w string, epochs, threads, turn int) error {
	before := bench.CoreRoundTrip(coreRounds)
	r, err := bench.Interleave(ctx, w, epochs, threads, turn)
	if err != nil {
		return err
	}
	printCores(stdout, before, bench.CoreRoundTrip(coreRounds))
	ups := r.Speedups()
	fmt.Fprintf(stdout, "  interleaved: 1 thread %.1f µs/step, %d threads %.1f µs/step (medians of %d turns of %d steps each, %d epochs without validation)\n",
		float64(bench.Median(r.One).Nanoseconds())/1e3, threads, float64(bench.Median(r.Many).Nanoseconds())/1e3, len(r.One), turn, epochs)
	fmt.Fprintf(stdout, "  scaling, interleaved: %d threads %.2f× faster than 1 (median of %d pairs of turns; quartiles %.2f–%.2f, range %.2f–%.2f)\n",
		threads, bench.Quantile(ups, 0.5), len(ups), bench.Quantile(ups, 0.25), bench.Quantile(ups, 0.75), ups[0], ups[len(ups)-1])
	return nil
}

// benchC runs the C peers of workload w that this CPU can run, each on
// fresh initial weights, and prints their medians and ratios to kiln's r.
func benchC(ctx context.Context, stdout io.Writer, w string, epochs int, r *bench.Result) {
	for _, peer := range bench.CPeers {
		need := kernels.AVX2
		if peer.March == "x86-64-v4" {
			need = kernels.AVX512
		}
		if !slices.Contains(kernels.Supported(), need) {
			fmt.Fprintf(stdout, "  %s: skipped, this CPU lacks %s\n", peer.Name, need)
			continue
		}
		setup, err := bench.NewSetup(w)
		if err != nil {
			fmt.Fprintf(stdout, "  %s: %v\n", peer.Name, err)
			return
		}
		c, err := bench.RunC(ctx, setup, peer, epochs)
		if err != nil {
			fmt.Fprintf(stdout, "  %s: failed: %v\n", peer.Name, err)
			continue
		}
		for i, e := range c.Epochs {
			printEpoch(stdout, "  "+peer.Name, i, e)
		}
		fmt.Fprintf(stdout, "  %s median: %.4f s/epoch (train %.4f s; validation %.4f s); %s -O3 -march=%s\n", peer.Name,
			c.MedianEpoch().Seconds(), c.MedianTrain().Seconds(), (&bench.Result{Epochs: c.Epochs}).MedianValidation().Seconds(), c.Compiler, peer.March)
		fmt.Fprintf(stdout, "  ratio: %s / kiln = %.1f× per epoch (%.1f× for the training steps alone)\n", peer.Name,
			c.MedianEpoch().Seconds()/r.MedianEpoch().Seconds(), c.MedianTrain().Seconds()/r.MedianTrain().Seconds())
	}
}

// limitLine is the workload's lower bound on this machine and how far
// kiln's median epoch is from it.
func limitLine(work bench.Work, l bench.Limit, epoch time.Duration) string {
	sqrt := "none"
	if work.SqrtDivs > 0 {
		sqrt = fmt.Sprintf("%.4f s for %.3g", l.SqrtDiv.Seconds(), work.SqrtDivs)
	}
	return fmt.Sprintf("  limit  %.4f s/epoch, set by %s (multiply-adds %.4f s for %.3g, %.3g without skipping zero pixels; square roots and divides %s; memory %.4f s for %.0f MB): kiln takes %.1f× the limit",
		l.Bound().Seconds(), l.Binding(), l.Products.Seconds(), work.MulAdds, work.Dense, sqrt, l.Memory.Seconds(), work.Bytes/1e6,
		epoch.Seconds()/l.Bound().Seconds())
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
