package main

import (
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
