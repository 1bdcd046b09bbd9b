package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// kilnProcess starts the test binary as the kiln command (main's signal
// handling included) in dir, and returns it with a channel of its stdout
// lines and its stderr.
func kilnProcess(t *testing.T, dir string, args ...string) (*exec.Cmd, <-chan string, *bytes.Buffer) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), asKiln+"=main")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1024)
	go func() {
		s := bufio.NewScanner(out)
		for s.Scan() {
			select {
			case lines <- s.Text():
			default: // nobody reads any more
			}
		}
		close(lines)
	}()
	return cmd, lines, &stderr
}

// waitFor reads lines until one starts with prefix; false if the output
// ended first or after timeout.
func waitFor(lines <-chan string, prefix string, timeout time.Duration) bool {
	deadline := time.After(timeout)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				return false
			}
			if strings.HasPrefix(l, prefix) {
				return true
			}
		case <-deadline:
			return false
		}
	}
}

// killExperiment writes the toy experiment with a Dropout layer, a CSV log
// and a BackupAndRestore every save batches, paths relative to its
// directory.
func killExperiment(t *testing.T, epochs, save int) string {
	t.Helper()
	exp := writeToy(t, "  callbacks:\n    - CSVLogger: {filename: log.csv}\n    - BackupAndRestore: {backup_dir: bk, save_freq: "+strconv.Itoa(save)+"}\n")
	b, _ := os.ReadFile(exp)
	s := strings.Replace(string(b), "  - Dense: {units: 8, activation: relu}\n", "  - Dense: {units: 8, activation: relu}\n  - Dropout: {rate: 0.2}\n", 1)
	s = strings.Replace(s, "epochs: 3", "epochs: "+strconv.Itoa(epochs), 1)
	if s == string(b) {
		t.Fatal("the toy experiment changed; update killExperiment")
	}
	os.WriteFile(exp, []byte(s), 0o644)
	return filepath.Dir(exp)
}

// results returns what a run left: History, CSV log and saved weights.
func results(t *testing.T, dir string) [3][]byte {
	t.Helper()
	var out [3][]byte
	for i, f := range []string{"h.json", "log.csv", filepath.Join("saved", "model.safetensors")} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		out[i] = b
	}
	return out
}

// TestKillResume SIGKILLs `kiln fit` at random moments of training (most
// of which is spent writing backups, as one is written after every batch;
// the log says how many kills hit a backup write: about half),
// resumes it each time with the same command, and checks that the final
// History, CSV log and weights are byte for byte those of an uninterrupted
// run. KILN_KILLS=N sets the number of kills (default 20); the long soak:
//
//	KILN_KILLS=1000 go test ./cmd/kiln -run TestKillResume -v -timeout 1h
func TestKillResume(t *testing.T) {
	if testing.Short() {
		t.Skip("starts many processes")
	}
	kills := 20
	if s := os.Getenv("KILN_KILLS"); s != "" {
		kills, _ = strconv.Atoi(s)
	}
	const epochs = 6
	args := []string{"fit", "toy.yaml", "--verbose", "2", "--history", "h.json", "--save", "saved"}

	// The uninterrupted run, timed from its first epoch to its end.
	ref := killExperiment(t, epochs, 1)
	cmd, lines, stderr := kilnProcess(t, ref, args...)
	if !waitFor(lines, "Epoch 1/", 30*time.Second) {
		t.Fatalf("no first epoch: %s", stderr)
	}
	start := time.Now()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("uninterrupted run: %v: %s", err, stderr)
	}
	train := time.Since(start)
	want := results(t, ref)

	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 1))
	// Campaigns of up to 20 kills, each then run to its end and checked:
	// the kills of a campaign land anywhere in its training.
	const perCampaign = 20
	maxDelay := train / perCampaign
	t.Logf("training takes %v; %d kills at random moments up to %v into training, %d per campaign (seed %d)", train, kills, maxDelay, perCampaign, seed)
	duringWrite, resumed := 0, 0
	for done := 0; done < kills; {
		dir := killExperiment(t, epochs, 1)
		tmpDirs := func() map[string]bool {
			m := map[string]bool{}
			tmp, _ := filepath.Glob(filepath.Join(dir, "bk", ".tmp-*"))
			for _, p := range tmp {
				m[p] = true
			}
			return m
		}
		c := min(perCampaign, kills-done)
		for k := 0; k < c; k++ {
			before := tmpDirs()
			cmd, lines, stderr := kilnProcess(t, dir, args...)
			if !waitFor(lines, "Epoch ", 30*time.Second) {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("kill %d: training did not start: %s", done+k, stderr)
			}
			time.Sleep(time.Duration(rng.Int64N(int64(maxDelay) + 1)))
			cmd.Process.Signal(syscall.SIGKILL)
			err := cmd.Wait()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("kill %d: the run ended before the kill (%v); make the experiment longer: %s", done+k, err, stderr)
			}
			if strings.Contains(stderr.String(), "resuming from the backup") {
				resumed++
			}
			for p := range tmpDirs() {
				if !before[p] { // a backup this run was writing when killed
					duringWrite++
					break
				}
			}
		}
		done += c
		cmd, _, stderr := kilnProcess(t, dir, args...)
		if err := cmd.Wait(); err != nil {
			t.Fatalf("final run: %v: %s", err, stderr)
		}
		got := results(t, dir)
		for i, name := range []string{"History", "CSV log", "weights"} {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("%s after %d kills differs from the uninterrupted run's:\n%.600s\nwant:\n%.600s", name, c, got[i], want[i])
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "bk")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the backups were not deleted after training ended: %v", err)
		}
		os.RemoveAll(dir)
	}
	t.Logf("%d kills, %d of them during a backup write; %d runs resumed from a backup", kills, duringWrite, resumed)
	if resumed == 0 && kills > 0 {
		t.Errorf("no run resumed from a backup; the test proves nothing")
	}
}

// TestSignalKeepsFinishedEpochs sends SIGTERM (with a backup) and SIGHUP
// (without) to a running `kiln fit`: it exits 1 within seconds, says why,
// and the finished epochs' History was written.
func TestSignalKeepsFinishedEpochs(t *testing.T) {
	for _, c := range []struct {
		sig    syscall.Signal
		resume bool
	}{{syscall.SIGTERM, true}, {syscall.SIGHUP, false}} {
		dir := filepath.Dir(writeToy(t, ""))
		args := []string{"fit", "toy.yaml", "--verbose", "2", "--history", "h.json", "--set", "fit.epochs=100000"}
		if c.resume {
			args = append(args, "--resume", "bk")
		}
		cmd, lines, stderr := kilnProcess(t, dir, args...)
		if !waitFor(lines, "Epoch 3/", 30*time.Second) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("%v: no third epoch: %s", c.sig, stderr)
		}
		sent := time.Now()
		cmd.Process.Signal(c.sig)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		var err error
		select {
		case err = <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("%v: kiln still runs 10 s after the signal", c.sig)
		}
		t.Logf("%v: exited %v after the signal", c.sig, time.Since(sent))
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 {
			t.Fatalf("%v: %v, want exit status 1: %s", c.sig, err, stderr)
		}
		msg := stderr.String()
		if !strings.Contains(msg, "interrupted ("+c.sig.String()+" signal received) after ") {
			t.Errorf("%v: message:\n%s", c.sig, msg)
		}
		b, err := os.ReadFile(filepath.Join(dir, "h.json"))
		if err != nil {
			t.Fatalf("%v: no history: %v", c.sig, err)
		}
		var h map[string][]float64
		if err := json.Unmarshal(b, &h); err != nil {
			t.Fatal(err)
		}
		n := len(h["loss"])
		if n < 2 || !strings.Contains(msg, "after "+strconv.Itoa(n)+" finished epoch(s)") {
			t.Errorf("%v: history of %d epochs; message:\n%s", c.sig, n, msg)
		}
		if c.resume {
			if gens, _ := filepath.Glob(filepath.Join(dir, "bk", "backup-*")); len(gens) == 0 || !strings.Contains(msg, "backed up to bk") {
				t.Errorf("%v: backups %v; message:\n%s", c.sig, gens, msg)
			}
		}
	}
}

// TestSweepSIGTERMKeepsFinishedRuns sends SIGTERM to `kiln sweep --jobs 2`
// once a run has finished: it exits 1 within seconds and results.json holds
// every finished run.
func TestSweepSIGTERMKeepsFinishedRuns(t *testing.T) {
	dir := filepath.Dir(writeToy(t, ""))
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "sweep", "toy.yaml", "--grid", "fit.batch_size=8,16", "--repeats", "30", "--jobs", "2",
		"--set", "fit.epochs=20", "--out", "sw", "--plots", "none")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), asKiln+"=main")
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1024)
	var all strings.Builder
	go func() {
		s := bufio.NewScanner(pipe)
		for s.Scan() {
			lines <- s.Text()
		}
		close(lines)
	}()
	finished := false
	for l := range lines {
		all.WriteString(l + "\n")
		if strings.HasPrefix(l, "[") && strings.Contains(l, "] run ") {
			finished = true
			break
		}
	}
	if !finished {
		t.Fatalf("no run finished:\n%s", all.String())
	}
	cmd.Process.Signal(syscall.SIGTERM)
	timeout := time.After(10 * time.Second)
	for done := false; !done; {
		select {
		case l, ok := <-lines:
			if !ok {
				done = true
				break
			}
			all.WriteString(l + "\n")
		case <-timeout:
			cmd.Process.Kill()
			t.Fatalf("kiln sweep still runs 10 s after SIGTERM:\n%s", all.String())
		}
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("%v, want exit status 1:\n%s", err, all.String())
	}
	b, err := os.ReadFile(filepath.Join(dir, "sw", "results.json"))
	if err != nil {
		t.Fatalf("no results: %v\n%s", err, all.String())
	}
	var res struct {
		Runs []struct {
			ID     int   `json:"id"`
			Epochs []int `json:"epochs"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	n := len(res.Runs)
	if n == 0 || n == 60 || !strings.Contains(all.String(), "interrupted: "+strconv.Itoa(n)+" of 60 runs finished") {
		t.Errorf("%d runs in results.json; stderr:\n%s", n, all.String())
	}
	for _, r := range res.Runs {
		if len(r.Epochs) != 20 {
			t.Errorf("run %d kept with %d epochs", r.ID, len(r.Epochs))
		}
	}
}
