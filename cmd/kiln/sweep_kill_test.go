package main

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// TestSweepKillResume: a sweep with --jobs 2 SIGKILLed at random moments
// (10 times), and started again after each kill with the same command,
// ends with the results.json of an uninterrupted sweep, byte for byte:
// every finished run survives a kill, and none is run twice differently.
// KILN_SWEEP_KILLS=N runs N kills.
//
// Catches: results written only at the end (a kill loses every run),
// a partial results.json that cannot be read back, runs resumed on
// another plan.
func TestSweepKillResume(t *testing.T) {
	if testing.Short() {
		t.Skip("starts many processes")
	}
	kills := 10
	if s := os.Getenv("KILN_SWEEP_KILLS"); s != "" {
		kills, _ = strconv.Atoi(s)
	}
	exp := sweepTinyExperiment(t)
	dir := filepath.Dir(exp)
	args := func(out string) []string {
		return []string{"sweep", exp, "--grid", "compile.optimizer.learning_rate=0.01,0.02,0.03,0.05", "--repeats", "2",
			"--set", "fit.epochs=100", "--jobs", "2", "--plots", "none", "--out", out}
	}
	start := time.Now()
	cmd, _, stderr := kilnProcess(t, dir, args("ref")...)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("uninterrupted sweep: %v: %s", err, stderr)
	}
	total := time.Since(start)
	want, err := os.ReadFile(filepath.Join(dir, "ref", "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 2))
	t.Logf("the sweep takes %v; %d kills at random moments (seed %d)", total, kills, seed)
	killed := 0
	for k := 0; k < kills; k++ {
		cmd, _, stderr := kilnProcess(t, dir, args("out")...)
		// In the first half of the uninterrupted sweep's time: a resumed
		// sweep has less left to do, and the reference run may have been
		// slowed by a busy machine (in CI a 180 ms reference once left all
		// ten kills after the sweep's end).
		time.Sleep(time.Duration(rng.Int64N(int64(total/2) + 1)))
		cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		var ee *exec.ExitError
		if err == nil {
			// Finished before the kill. Until a kill has landed, start the
			// sweep over, so that the next kills interrupt one.
			if killed == 0 {
				if err := os.RemoveAll(filepath.Join(dir, "out")); err != nil {
					t.Fatal(err)
				}
			}
			continue
		}
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("kill %d: %v: %s", k, err, stderr)
		}
		killed++
	}
	cmd, _, stderr = kilnProcess(t, dir, args("out")...)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the last resume: %v: %s", err, stderr)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "out", "results.json"))
	if !bytes.Equal(got, want) {
		t.Errorf("after %d kills, results.json differs from the uninterrupted sweep's (seed %d)", killed, seed)
	}
	t.Logf("%d of %d kills landed during the sweep", killed, kills)
	if killed == 0 {
		t.Errorf("no kill landed during the sweep (it takes %v); make the sweep longer", total)
	}
}
