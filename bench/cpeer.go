package bench

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// cSeed is the seed workload written the straightforward way in C.
//
//go:embed cpeer/seed.c
var cSeed []byte

// CPeers are the C builds `kiln bench --vs-c` compares with: the same C
// source compiled for AVX2 (x86-64-v3: AVX2, FMA) and for AVX-512
// (x86-64-v4), with -O3.
var CPeers = []CPeer{{"c-avx2", "x86-64-v3"}, {"c-avx512", "x86-64-v4"}}

// CPeer is one build of the C peer: its name and the -march it is
// compiled with.
type CPeer struct {
	Name, March string
}

// CResult is a run of the C peer.
type CResult struct {
	Peer     CPeer
	Compiler string // the compiler's first --version line
	Epochs   []Epoch
}

// MedianEpoch is the median wall time of an epoch, validation included.
func (r *CResult) MedianEpoch() time.Duration {
	return (&Result{Epochs: r.Epochs}).MedianEpoch()
}

// MedianTrain is the median time of an epoch's training steps.
func (r *CResult) MedianTrain() time.Duration {
	return (&Result{Epochs: r.Epochs}).MedianTrain()
}

// compiler returns the C compiler: $CC, else cc, gcc or clang on PATH.
func compiler() (string, error) {
	if cc := os.Getenv("CC"); cc != "" {
		return exec.LookPath(cc)
	}
	for _, cc := range []string{"cc", "gcc", "clang"} {
		if p, err := exec.LookPath(cc); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no C compiler (set CC, or install gcc: apt-get install gcc)")
}

// RunC builds the C peer of the seed workload for peer and trains it for
// epochs epochs on s's data and initial weights (s must be the seed
// workload's Setup, before training). It returns an error when no C
// compiler is found or the CPU lacks the peer's instruction set.
func RunC(ctx context.Context, s *Setup, peer CPeer, epochs int) (*CResult, error) {
	cc, err := compiler()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "kiln-cpeer-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	src := filepath.Join(dir, "seed.c")
	if err := os.WriteFile(src, cSeed, 0o644); err != nil {
		return nil, err
	}
	bin := filepath.Join(dir, "seed")
	out, err := exec.CommandContext(ctx, cc, "-O3", "-march="+peer.March, "-o", bin, src, "-lm").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("%s -O3 -march=%s: %v: %s", cc, peer.March, err, bytes.TrimSpace(out))
	}
	version, _ := exec.CommandContext(ctx, cc, "--version").Output()
	data := filepath.Join(dir, "data")
	if err := writeCData(data, s); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, bin, data, fmt.Sprint(epochs))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s: %v: %s", peer.Name, err, bytes.TrimSpace(stderr.Bytes()))
	}
	r := &CResult{Peer: peer, Compiler: strings.TrimSpace(strings.SplitN(string(version), "\n", 2)[0])}
	sc := bufio.NewScanner(bytes.NewReader(stdout))
	for sc.Scan() {
		var i int
		var total, train, val float64
		var e Epoch
		_, err := fmt.Sscanf(sc.Text(), "epoch %d total %g train %g val %g loss %g accuracy %g val_loss %g val_accuracy %g",
			&i, &total, &train, &val, &e.Loss, &e.Accuracy, &e.ValLoss, &e.ValAccuracy)
		if err != nil {
			return nil, fmt.Errorf("%s: unexpected output %q: %v", peer.Name, sc.Text(), err)
		}
		sec := func(x float64) time.Duration { return time.Duration(x * 1e9) }
		e.Total, e.Train, e.Validation = sec(total), sec(train), sec(val)
		r.Epochs = append(r.Epochs, e)
	}
	if len(r.Epochs) != epochs {
		return nil, fmt.Errorf("%s: %d epochs reported, want %d", peer.Name, len(r.Epochs), epochs)
	}
	return r, nil
}

// writeCData writes the seed workload's data and initial weights in the
// layout seed.c reads (see its comment).
func writeCData(path string, s *Setup) error {
	if s.X.U8 == nil || s.XVal.U8 == nil || s.X.RowLen() != 784 {
		return errors.New("the C peer runs the seed workload only (uint8 784-pixel rows)")
	}
	vars := s.Model.Variables()
	if len(vars) != 2 || len(vars[0].Value) != 7840 || len(vars[1].Value) != 10 {
		return errors.New("the C peer runs the seed workload only (Dense 784→10)")
	}
	var b bytes.Buffer
	labels := func(y []float32, rows int) []byte {
		out := make([]byte, rows)
		for r := range rows {
			for j := range 10 {
				if y[r*10+j] == 1 {
					out[r] = byte(j)
				}
			}
		}
		return out
	}
	binary.Write(&b, binary.LittleEndian, [2]int32{int32(s.X.Rows()), int32(s.XVal.Rows())})
	b.Write(s.X.U8)
	b.Write(labels(s.Y.F32, s.Y.Rows()))
	b.Write(s.XVal.U8)
	b.Write(labels(s.YVal.F32, s.YVal.Rows()))
	binary.Write(&b, binary.LittleEndian, vars[0].Value)
	binary.Write(&b, binary.LittleEndian, vars[1].Value)
	return os.WriteFile(path, b.Bytes(), 0o600)
}
