package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

func TestBenchRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "--workload", "resnet"},
		{"bench", "--epochs", "0"},
		{"bench", "--threads", "0"},
		{"bench", "--kernels", "sse9"},
		{"bench", "extra"},
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
