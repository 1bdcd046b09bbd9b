package kiln

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kiln-ml/kiln/callbacks"
	"github.com/kiln-ml/kiln/layers"
	"github.com/kiln-ml/kiln/optimizers"
)

// resumeModel has every kind of state a backup keeps: Dense weights, the
// moving statistics of BatchNormalization, a Dropout stream and the
// optimizer's slots.
func resumeModel(t *testing.T, opt string) *Sequential {
	t.Helper()
	bn, err := layers.NewBatchNormalization()
	if err != nil {
		t.Fatal(err)
	}
	d, err := layers.NewDropout(0.3)
	if err != nil {
		t.Fatal(err)
	}
	m := NewSequential(layers.NewInput(4), layers.MustNewDense(8, layers.WithActivation("relu")), bn, d,
		layers.MustNewDense(3, layers.WithActivation("softmax")))
	var o optimizers.Optimizer
	switch opt {
	case "adam":
		o = optimizers.NewAdam(0.01)
	case "sgd":
		s := optimizers.NewSGD(0.01)
		s.Momentum, s.Nesterov = 0.9, true
		o = s
	case "rmsprop":
		r := optimizers.NewRMSprop(0.005)
		r.Momentum, r.Centered = 0.5, true
		o = r
	case "adagrad":
		o = optimizers.NewAdagrad(0.05)
	}
	if err := m.Compile(CompileOptions{Optimizer: o, Loss: "categorical_crossentropy", Metrics: []string{"accuracy"}, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	return m
}

// interrupter cancels the run after the global batch at (epoch·steps+step
// == at); with snap it first copies the backup directory, so the test can
// throw away the backup Fit writes on cancellation (as a SIGKILL would).
type interrupter struct {
	callbacks.Base
	at, steps, epoch int
	cancel           func()
	dir, snap        string
}

func (c *interrupter) EpochBegin(e int) { c.epoch = e }
func (c *interrupter) BatchEnd(step int, _ callbacks.Logs) {
	if c.epoch*c.steps+step == c.at {
		if c.snap != "" {
			copyDir(c.dir, c.snap)
		}
		c.cancel()
	}
}

func copyDir(from, to string) {
	os.RemoveAll(to)
	os.MkdirAll(to, 0o755)
	ents, _ := os.ReadDir(from)
	for _, e := range ents {
		if e.IsDir() {
			copyDir(filepath.Join(from, e.Name()), filepath.Join(to, e.Name()))
			continue
		}
		b, _ := os.ReadFile(filepath.Join(from, e.Name()))
		os.WriteFile(filepath.Join(to, e.Name()), b, 0o644)
	}
}

type resumeCase struct {
	opt      string
	saveFreq int
	// stops are the global batches after which the run is interrupted,
	// each time resumed; kill drops the backup written on cancellation.
	stops []int
	kill  bool
	// stopEarly makes EarlyStopping stop before the last epoch.
	stopEarly bool
}

// runResumable trains with BackupAndRestore in dir, EarlyStopping and a
// CSVLogger, interrupted after each of c.stops and resumed, and returns the
// final History, weights and CSV.
func runResumable(t *testing.T, c resumeCase, dir string) (*History, [][]float32, []byte) {
	t.Helper()
	x, y, _ := blobs(150, 3)
	const batch, epochs = 16, 8
	steps := (120 + batch - 1) / batch // validation_split 0.2 leaves 120 rows
	csvPath := filepath.Join(dir, "log.csv")
	bdir := filepath.Join(dir, "backup")
	stops := append(slices.Clone(c.stops), -1)
	var hist *History
	var m *Sequential
	for i, at := range stops {
		m = resumeModel(t, c.opt)
		ctx, cancel := context.WithCancel(context.Background())
		b := callbacks.NewBackupAndRestore(bdir)
		b.SaveFreq = c.saveFreq
		b.Warn = io.Discard
		es := &callbacks.EarlyStopping{Monitor: "val_loss", MinDelta: 0.01, Patience: 2, RestoreBestWeights: true, Warn: io.Discard}
		if c.stopEarly {
			es.MinDelta = 0.1 // waits two epochs, then stops
		}
		cbs := []callbacks.Callback{callbacks.NewCSVLogger(csvPath, false), es, &callbacks.TerminateOnNaN{}, b}
		snap := ""
		if c.kill {
			snap = filepath.Join(dir, "snap")
		}
		if at >= 0 {
			cbs = append(cbs, &interrupter{at: at, steps: steps, cancel: cancel, dir: bdir, snap: snap})
		}
		h, err := m.Fit(ctx, x, y, FitOptions{BatchSize: batch, Epochs: epochs, ValidationSplit: 0.2, Callbacks: cbs, Warn: io.Discard})
		cancel()
		if at >= 0 {
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("%+v: run %d: %v, want canceled", c, i, err)
			}
			if c.kill {
				os.RemoveAll(bdir)
				if err := os.Rename(snap, bdir); err != nil {
					t.Fatal(err)
				}
			}
			continue
		}
		if err != nil {
			t.Fatalf("%+v: last run: %v", c, err)
		}
		hist = h
	}
	csv, err := os.ReadFile(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(bdir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%+v: delete_checkpoint: %s still exists after training ended", c, bdir)
	}
	return hist, m.GetWeights(), csv
}

func sameBits(a, b [][]float32) error {
	if len(a) != len(b) {
		return fmt.Errorf("%d vs %d weights", len(a), len(b))
	}
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return fmt.Errorf("weight %d: %d vs %d values", i, len(a[i]), len(b[i]))
		}
		for j := range a[i] {
			if math.Float32bits(a[i][j]) != math.Float32bits(b[i][j]) {
				return fmt.Errorf("weight %d[%d]: %v vs %v", i, j, a[i][j], b[i][j])
			}
		}
	}
	return nil
}

func sameHistory(a, b *History) error {
	if !slices.Equal(a.Keys, b.Keys) || !slices.Equal(a.Epoch, b.Epoch) {
		return fmt.Errorf("keys %v epochs %v vs keys %v epochs %v", a.Keys, a.Epoch, b.Keys, b.Epoch)
	}
	for _, k := range a.Keys {
		va, vb := a.History[k], b.History[k]
		if len(va) != len(vb) {
			return fmt.Errorf("%s: %d vs %d values", k, len(va), len(vb))
		}
		for i := range va {
			if math.Float64bits(va[i]) != math.Float64bits(vb[i]) {
				return fmt.Errorf("%s[%d]: %v vs %v", k, i, va[i], vb[i])
			}
		}
	}
	return nil
}

// TestResumeBitIdentical interrupts training (context cancelled) at many
// points, mid-epoch and at epoch ends, resumes from the backup each time,
// and checks that History, weights (BatchNormalization's moving statistics
// included) and the CSVLogger file are bit for bit those of an
// uninterrupted run; with kill, the backup written on cancellation is
// thrown away, so training resumes from the last periodic backup and
// replays the batches after it.
func TestResumeBitIdentical(t *testing.T) {
	ref := map[string]struct {
		h   *History
		w   [][]float32
		csv []byte
	}{}
	cases := []resumeCase{
		{opt: "adam", saveFreq: 0, stops: []int{3, 4, 17, 29, 30}},
		{opt: "adam", saveFreq: 5, stops: []int{1, 8, 9, 22}, kill: true},
		{opt: "adam", saveFreq: 0, stops: []int{10, 20}, kill: true},
		{opt: "sgd", saveFreq: 2, stops: []int{7, 15, 16}},
		{opt: "rmsprop", saveFreq: 3, stops: []int{2, 24}, kill: true},
		{opt: "adagrad", saveFreq: 0, stops: []int{8, 9}},
		{opt: "adam", saveFreq: 4, stops: []int{6, 12, 20, 24}, stopEarly: true},
		{opt: "adam", saveFreq: 0, stops: []int{10, 17}, kill: true, stopEarly: true},
	}
	for _, c := range cases {
		key := fmt.Sprint(c.opt, c.stopEarly)
		r, ok := ref[key]
		if !ok {
			r.h, r.w, r.csv = runResumable(t, resumeCase{opt: c.opt, stopEarly: c.stopEarly}, t.TempDir())
			if len(r.h.Epoch) < 3 || c.stopEarly == (len(r.h.Epoch) == 8) {
				t.Fatalf("%s: the reference run has %d epochs; the test needs 3 to 7 with stopEarly, 8 without", key, len(r.h.Epoch))
			}
			t.Logf("%s: reference run of %d epochs", c.opt, len(r.h.Epoch))
			ref[key] = r
		}
		h, w, csv := runResumable(t, c, t.TempDir())
		if err := sameHistory(r.h, h); err != nil {
			t.Errorf("%+v: History differs from the uninterrupted run: %v", c, err)
		}
		if err := sameBits(r.w, w); err != nil {
			t.Errorf("%+v: weights differ from the uninterrupted run: %v", c, err)
		}
		if !bytes.Equal(r.csv, csv) {
			t.Errorf("%+v: CSV differs:\n%s\nuninterrupted:\n%s", c, csv, r.csv)
		}
	}
}

// TestResumeRefusesOtherRun: a backup of another run (another batch size)
// is refused with a message that says what to do.
func TestResumeRefusesOtherRun(t *testing.T) {
	x, y, _ := blobs(64, 3)
	dir := t.TempDir()
	m := resumeModel(t, "adam")
	b := callbacks.NewBackupAndRestore(dir)
	b.DeleteCheckpoint = false
	if _, err := m.Fit(context.Background(), x, y, FitOptions{BatchSize: 16, Epochs: 2, Callbacks: []callbacks.Callback{b}}); err != nil {
		t.Fatal(err)
	}
	m = resumeModel(t, "adam")
	_, err := m.Fit(context.Background(), x, y, FitOptions{BatchSize: 8, Epochs: 3, Callbacks: []callbacks.Callback{callbacks.NewBackupAndRestore(dir)}})
	if err == nil || !strings.Contains(err.Error(), "batch size 16") || !strings.Contains(err.Error(), "remove the backup") {
		t.Fatalf("got %v", err)
	}
}

// smallBackup trains a tiny model for two epochs with backups kept and
// returns the backup directory (two generations).
func smallBackup(t testing.TB) string {
	t.Helper()
	x, y, _ := blobs(32, 3)
	m := NewSequential(layers.NewInput(4), layers.MustNewDense(2, layers.WithActivation("relu")), layers.MustNewDense(3, layers.WithActivation("softmax")))
	if err := m.Compile(CompileOptions{Optimizer: optimizers.NewAdam(0.01), Loss: "categorical_crossentropy", Seed: 1}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	b := callbacks.NewBackupAndRestore(dir)
	b.DeleteCheckpoint = false
	if _, err := m.Fit(context.Background(), x, y, FitOptions{BatchSize: 16, Epochs: 2, Callbacks: []callbacks.Callback{b}}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestBackupEveryByteFlipDetected flips every byte of every file of a
// small backup (two ways) and checks that the backup is always refused,
// that a truncated, missing or extra file is refused too, and that Load
// then resumes from the previous backup and says so.
func TestBackupEveryByteFlipDetected(t *testing.T) {
	dir := smallBackup(t)
	gens, _ := filepath.Glob(filepath.Join(dir, "backup-*"))
	if len(gens) != 2 {
		t.Fatalf("want two backup generations, got %v", gens)
	}
	newest := gens[1]
	if _, err := callbacks.ReadBackup(newest); err != nil {
		t.Fatalf("the intact backup is refused: %v", err)
	}
	ents, _ := os.ReadDir(newest)
	all := map[string][]byte{}
	for _, e := range ents {
		all[e.Name()], _ = os.ReadFile(filepath.Join(newest, e.Name()))
	}
	flips := 0
	for name, orig := range all {
		for i := range orig {
			for _, mask := range []byte{0x01, 0x80, 0xff} {
				b := slices.Clone(orig)
				b[i] ^= mask
				all[name] = b
				if _, err := callbacks.VerifyBackup(all); err == nil {
					t.Fatalf("%s: byte %d ^ %#x not detected", name, i, mask)
				}
				flips++
			}
		}
		all[name] = orig
	}
	for _, e := range ents {
		path := filepath.Join(newest, e.Name())
		orig := all[e.Name()]
		for _, cut := range []int{0, len(orig) / 2, len(orig) - 1} {
			os.WriteFile(path, orig[:cut], 0o644)
			if _, err := callbacks.ReadBackup(newest); err == nil {
				t.Fatalf("%s truncated to %d bytes: not detected", e.Name(), cut)
			}
		}
		os.Remove(path)
		if _, err := callbacks.ReadBackup(newest); err == nil {
			t.Fatalf("%s missing: not detected", e.Name())
		}
		os.WriteFile(path, orig, 0o644)
	}
	os.WriteFile(filepath.Join(newest, "extra"), []byte("x"), 0o644)
	if _, err := callbacks.ReadBackup(newest); err == nil {
		t.Fatal("an extra file is not detected")
	}
	t.Logf("%d flips in %d files detected", flips, len(ents))

	var warn bytes.Buffer
	b := callbacks.NewBackupAndRestore(dir)
	b.Warn = &warn
	files, err := b.Load()
	if err != nil || files == nil || b.Loaded != gens[0] {
		t.Fatalf("Load: %v, loaded %q, want the previous backup %s", err, b.Loaded, gens[0])
	}
	if w := warn.String(); !strings.Contains(w, newest) || !strings.Contains(w, "resuming from the previous backup "+gens[0]) {
		t.Errorf("warning:\n%s", w)
	}
	// With both damaged, Load refuses and says what to do.
	os.Remove(filepath.Join(gens[0], "state.json"))
	if _, err := b.Load(); err == nil || !strings.Contains(err.Error(), "no usable backup") || !strings.Contains(err.Error(), "remove the directory") {
		t.Fatalf("Load of damaged backups: %v", err)
	}
}

// FuzzBackupFlip flips one byte of a small backup: always detected.
func FuzzBackupFlip(f *testing.F) {
	f.Add(uint(0), uint(0), byte(1))
	f.Add(uint(2), uint(100), byte(0x80))
	dir := smallBackup(f)
	f.Fuzz(func(t *testing.T, file, pos uint, mask byte) {
		if mask == 0 {
			return
		}
		gens, _ := filepath.Glob(filepath.Join(dir, "backup-*"))
		g := gens[len(gens)-1]
		ents, _ := os.ReadDir(g)
		path := filepath.Join(g, ents[file%uint(len(ents))].Name())
		orig, _ := os.ReadFile(path)
		b := slices.Clone(orig)
		b[pos%uint(len(b))] ^= mask
		os.WriteFile(path, b, 0o644)
		defer os.WriteFile(path, orig, 0o644)
		if _, err := callbacks.ReadBackup(g); err == nil {
			t.Fatalf("%s: byte %d ^ %#x not detected", path, pos%uint(len(b)), mask)
		}
	})
}

// failingBackup fails every Save after the first ok ones, like a disk
// that fills up.
type failingBackup struct {
	*callbacks.BackupAndRestore
	ok int
}

func (f *failingBackup) Save(files map[string][]byte) error {
	if f.ok == 0 {
		return errors.New("BackupAndRestore: writing the backup: no space left on device (the previous backup is kept)")
	}
	f.ok--
	return f.BackupAndRestore.Save(files)
}

// TestFitStopsWhenBackupFails: training stops at the failed backup with its
// message and the finished epochs' History; the last good backup resumes.
func TestFitStopsWhenBackupFails(t *testing.T) {
	x, y, _ := blobs(64, 3)
	dir := t.TempDir()
	m := resumeModel(t, "adam")
	b := callbacks.NewBackupAndRestore(dir)
	h, err := m.Fit(context.Background(), x, y, FitOptions{BatchSize: 16, Epochs: 5, Callbacks: []callbacks.Callback{&failingBackup{b, 2}}})
	if err == nil || !strings.Contains(err.Error(), "no space left") || len(h.Epoch) != 3 {
		t.Fatalf("%v, epochs %v", err, h.Epoch)
	}
	var info bytes.Buffer
	b = callbacks.NewBackupAndRestore(dir)
	b.Info = &info
	m = resumeModel(t, "adam")
	h, err = m.Fit(context.Background(), x, y, FitOptions{BatchSize: 16, Epochs: 5, Callbacks: []callbacks.Callback{b}})
	if err != nil || len(h.Epoch) != 5 || !strings.Contains(info.String(), "2 epoch(s) done") {
		t.Fatalf("resume: %v, epochs %v, %q", err, h.Epoch, info.String())
	}
}

// TestResumeFunctional: a Functional model's Dropout stream (inside its
// graph) is backed up too, so a resumed run matches bit for bit.
func TestResumeFunctional(t *testing.T) {
	x, y, _ := blobs(96, 4)
	build := func() *Sequential {
		in := Input(4)
		h := layers.Apply(layers.MustNewDense(8, layers.WithActivation("relu")), in)
		d, _ := layers.NewDropout(0.4)
		h = layers.Apply(d, h)
		out := layers.Apply(layers.MustNewDense(3, layers.WithActivation("softmax")), h)
		m, err := NewFunctional([]*layers.Node{in}, []*layers.Node{out})
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Compile(CompileOptions{Optimizer: optimizers.NewAdam(0.01), Loss: "categorical_crossentropy", Metrics: []string{"accuracy"}, Seed: 9}); err != nil {
			t.Fatal(err)
		}
		return m
	}
	const steps = 6
	opts := func(cbs ...callbacks.Callback) FitOptions {
		return FitOptions{BatchSize: 16, Epochs: 4, Callbacks: cbs}
	}
	ref := build()
	want, err := ref.Fit(context.Background(), x, y, opts())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, at := range []int{4, 9, -1} {
		m := build()
		ctx, cancel := context.WithCancel(context.Background())
		cbs := []callbacks.Callback{callbacks.NewBackupAndRestore(dir)}
		if at > 0 {
			cbs = append(cbs, &interrupter{at: at, steps: steps, cancel: cancel})
		}
		h, err := m.Fit(ctx, x, y, opts(cbs...))
		cancel()
		if at > 0 {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := sameHistory(want, h); err != nil {
			t.Error(err)
		}
		if err := sameBits(ref.GetWeights(), m.GetWeights()); err != nil {
			t.Error(err)
		}
	}
}
