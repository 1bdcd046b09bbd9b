package main

import (
	"math"
	"os"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kiln-ml/kiln/bench"
	"github.com/kiln-ml/kiln/internal/kernels"
)

func TestBenchRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "--workload", "resnet"},
		{"bench", "--epochs", "0"},
		{"bench", "--threads", "0"},
		{"bench", "--kernels", "sse9"},
		{"bench", "extra"},
		{"bench", "--pairs", "2"}, // needs --threads 2 or more
		{"bench", "--pairs", "-1", "--threads", "2"},
		{"bench", "--interleave", "50"}, // needs --threads 2 or more
		{"bench", "--interleave", "-5", "--threads", "2"},
	} {
		code, _, stderr := runKiln(t, args...)
		if code != 2 || !strings.Contains(stderr, "kiln: error:") {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 with an error", args, code, stderr)
		}
	}
}

// TestBenchRunsWithoutTorch runs one epoch of the question's workload with
// an interpreter that does not exist: it must say so and still report.
func TestBenchRunsWithoutTorch(t *testing.T) {
	if testing.Short() {
		t.Skip("trains one MNIST epoch")
	}
	code, stdout, stderr := runKiln(t, "bench", "--workload", "seed", "--epochs", "1", "--vs-torch", "--python", "/nonexistent/python3")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"continuing without PyTorch", "s/epoch", "µs/step", "allocs/step", "kernels: "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stdout, " 0 allocs/step") {
		t.Errorf("the training loop allocated:\n%s", stdout)
	}
	// The machine's limit: measured once, then per workload with the ratio.
	if !regexp.MustCompile(`(?m)^limit: \w+ kernels on 1 thread\(s\), measured now: [0-9.]+ G float32`).MatchString(stdout) ||
		!regexp.MustCompile(`(?m)^  limit  [0-9.]+ s/epoch, set by .*: kiln takes [0-9.]+× the limit$`).MatchString(stdout) {
		t.Errorf("output lacks the machine's limit lines:\n%s", stdout)
	}
}

// TestSeedExperimentCopy keeps bench's copy of the seed experiment equal to
// examples/seed.yaml.
func TestSeedExperimentCopy(t *testing.T) {
	b, err := os.ReadFile("../../examples/seed.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != seedExperiment {
		t.Error("seedExperiment in bench_sweep.go differs from examples/seed.yaml; copy the file into it")
	}
}

// TestBenchSweep runs one round of the sweep benchmark (whole processes of
// this test binary acting as kiln) and checks the report.
func TestBenchSweep(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two sweeps of 6 MNIST runs")
	}
	t.Setenv(asKiln, "1")
	code, stdout, stderr := runKiln(t, "bench", "--workload", "sweep", "--rounds", "1", "--epochs", "1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !regexp.MustCompile(`(?m)^  round 1: --jobs 1 \d+\.\d{3} s, --jobs \d+ \d+\.\d{3} s \(\d+\.\d\d×\)$`).MatchString(stdout) ||
		!regexp.MustCompile(`(?m)^  median: .*: \d+\.\d\d× faster with \d+ jobs`).MatchString(stdout) {
		t.Errorf("report:\n%s", stdout)
	}
	code, _, stderr = runKiln(t, "bench", "--workload", "sweep", "--rounds", "0")
	if code != 2 || !strings.Contains(stderr, "--rounds") {
		t.Errorf("--rounds 0: exit %d, %s", code, stderr)
	}
}

// TestRatioLine checks the comparison's last line: a like-for-like ratio
// names PyTorch's BLAS and threads; one against the reference BLAS, or on
// different thread counts, carries the warning before the number.
func TestRatioLine(t *testing.T) {
	epochs := func(total, train time.Duration) []bench.Epoch {
		return []bench.Epoch{{Total: total, Train: train}}
	}
	kiln := &bench.Result{Threads: 1, Epochs: epochs(100*time.Millisecond, 80*time.Millisecond)}
	openblas := bench.BLAS{Kind: bench.BLASOpenBLAS, Version: "0.3.21", Variant: "pthread", Core: "Cooperlake", Threads: 1}
	tr := &bench.TorchResult{TorchInfo: bench.TorchInfo{Version: "1.13.0a0", Threads: 1, BLAS: openblas},
		Epochs: epochs(500*time.Millisecond, 480*time.Millisecond)}
	want := "  ratio: PyTorch / kiln = 5.0× per epoch (6.0× for the training steps alone); PyTorch 1.13.0a0 with OpenBLAS 0.3.21 (pthread, Cooperlake kernel), 1 thread"
	if got := ratioLine(tr, kiln); got != want {
		t.Errorf("OpenBLAS:\n got %q\nwant %q", got, want)
	}
	tr.BLAS = bench.BLAS{Kind: bench.BLASReference, Version: "3.11.0"}
	got := ratioLine(tr, kiln)
	if !strings.HasPrefix(got, "  ratio, NOT LIKE FOR LIKE (against PyTorch on the reference (netlib) BLAS — not what pip users get;") ||
		!strings.HasSuffix(got, "): PyTorch / kiln = 5.0× per epoch (6.0× for the training steps alone); PyTorch 1.13.0a0 with the reference (netlib) BLAS 3.11.0, 1 thread") {
		t.Errorf("reference BLAS: %q", got)
	}
	tr.BLAS, tr.Threads = openblas, 2
	if got := ratioLine(tr, kiln); !strings.HasPrefix(got, "  ratio, NOT LIKE FOR LIKE (threads differ: kiln 1, PyTorch 2): ") {
		t.Errorf("threads differ: %q", got)
	}
}

func TestBenchTorchBLASFlag(t *testing.T) {
	code, _, stderr := runKiln(t, "bench", "--torch-blas", t.TempDir())
	if code != 2 || !strings.Contains(stderr, "--torch-blas is for --vs-torch") {
		t.Errorf("without --vs-torch: exit %d, %s", code, stderr)
	}
	code, _, stderr = runKiln(t, "bench", "--vs-torch", "--torch-blas", t.TempDir())
	if code != 2 || !strings.Contains(stderr, "no libblas.so.3") {
		t.Errorf("empty directory: exit %d, %s", code, stderr)
	}
}

// --kernels all times every level this CPU supports, best first, and sums
// them up in one line.
func TestBenchAllKernelLevels(t *testing.T) {
	if testing.Short() {
		t.Skip("trains one MNIST epoch per kernel level")
	}
	code, stdout, stderr := runKiln(t, "bench", "--workload", "seed", "--epochs", "1", "--kernels", "all")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	levels := kernels.Supported()
	line := regexp.MustCompile(`(?m)^  levels: (.*)$`).FindStringSubmatch(stdout)
	if len(levels) > 1 && line == nil {
		t.Fatalf("no levels line:\n%s", stdout)
	}
	for _, l := range levels {
		label := "  kiln " + l.String() + " median:"
		if len(levels) == 1 {
			label = "  kiln  median:" // one level (the purego build): the plain label
		}
		if !strings.Contains(stdout, "limit: "+l.String()+" kernels") || !strings.Contains(stdout, label) {
			t.Errorf("level %s not measured:\n%s", l, stdout)
		}
		if line != nil && !strings.Contains(line[1], l.String()+" ") {
			t.Errorf("levels line lacks %s: %s", l, line[1])
		}
	}
	if code, _, stderr := runKiln(t, "bench", "--kernels", "sse9"); code != 2 || !strings.Contains(stderr, "or all") {
		t.Errorf("--kernels sse9: exit %d, %s", code, stderr)
	}
}

// A forced kernel level lasts for the command only.
func TestBenchRestoresKernelLevel(t *testing.T) {
	if testing.Short() {
		t.Skip("trains one MNIST epoch")
	}
	levels := kernels.Supported()
	before := kernels.Current()
	code, _, stderr := runKiln(t, "bench", "--workload", "seed", "--epochs", "1", "--kernels", levels[0].String())
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if after := kernels.Current(); after != before {
		t.Errorf("kernel level after bench --kernels %s: %s, want %s", levels[0], after, before)
	}
}

// TestBenchPairs times the seed workload alternately on 1 and 2 threads:
// a line per pair with both times and their ratio, then the median.
func TestBenchPairs(t *testing.T) {
	if testing.Short() {
		t.Skip("trains MNIST epochs")
	}
	code, stdout, stderr := runKiln(t, "bench", "--workload", "seed", "--epochs", "1", "--threads", "2", "--pairs", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	pair := regexp.MustCompile(`(?m)^  pair (\d): 1 thread ([0-9.]+) s/epoch, 2 threads ([0-9.]+) s/epoch: ([0-9.]+)×$`)
	m := pair.FindAllStringSubmatch(stdout, -1)
	if len(m) != 2 || m[0][1] != "1" || m[1][1] != "2" {
		t.Fatalf("want 2 pair lines, got %d:\n%s", len(m), stdout)
	}
	for _, p := range m {
		one, two, up := atof(t, p[2]), atof(t, p[3]), atof(t, p[4])
		if one <= 0 || two <= 0 || math.Abs(one/two-up) > 0.01 {
			t.Errorf("pair %s: %g / %g is not %g", p[1], one, two, up)
		}
	}
	if !regexp.MustCompile(`(?m)^  scaling: 2 threads [0-9.]+× faster than 1 \(median of 2 pairs; [0-9.]+–[0-9.]+\)$`).MatchString(stdout) {
		t.Errorf("no scaling line:\n%s", stdout)
	}
	checkCoresLine(t, stdout)
}

// TestBenchInterleave trains the seed workload on 1 and 2 threads in
// turns: the step times' line, then the speed-up's median and quartiles.
func TestBenchInterleave(t *testing.T) {
	if testing.Short() {
		t.Skip("trains MNIST epochs")
	}
	code, stdout, stderr := runKiln(t, "bench", "--workload", "seed", "--epochs", "1", "--threads", "2", "--interleave", "300")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	steps := regexp.MustCompile(`(?m)^  interleaved: 1 thread ([0-9.]+) µs/step, 2 threads ([0-9.]+) µs/step \(medians of 5 turns of 300 steps each, 1 epochs without validation\)$`).FindStringSubmatch(stdout)
	if steps == nil || atof(t, steps[1]) <= 0 || atof(t, steps[2]) <= 0 {
		t.Fatalf("no step times line:\n%s", stdout)
	}
	m := regexp.MustCompile(`(?m)^  scaling, interleaved: 2 threads ([0-9.]+)× faster than 1 \(median of 5 pairs of turns; quartiles ([0-9.]+)–([0-9.]+), range ([0-9.]+)–([0-9.]+)\)$`).FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("no scaling line:\n%s", stdout)
	}
	if v := []float64{atof(t, m[4]), atof(t, m[2]), atof(t, m[1]), atof(t, m[3]), atof(t, m[5])}; !sort.Float64sAreSorted(v) || v[0] <= 0 {
		t.Errorf("range, quartiles and median out of order: %v", v)
	}
	checkCoresLine(t, stdout)
}

// checkCoresLine requires the core-to-core round trip line of a scaling
// measurement on a machine with two or more CPUs.
func checkCoresLine(t *testing.T, stdout string) {
	t.Helper()
	if runtime.NumCPU() < 2 {
		return
	}
	m := regexp.MustCompile(`(?m)^  cores: a cache line's round trip between two threads' cores (\d+) ns before, (\d+) ns after$`).FindStringSubmatch(stdout)
	if m == nil || atof(t, m[1]) <= 0 || atof(t, m[2]) <= 0 {
		t.Errorf("no cores line:\n%s", stdout)
	}
}

func atof(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
