package sweep

import (
	"bytes"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/data"
)

// tinyExperiment writes a small 3-class problem as data.npz and an
// experiment file using it into a temporary directory, and returns the
// experiment's path.
func tinyExperiment(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	split := func(n int) (*data.Array, *data.Array) {
		x := make([]float32, n*6)
		y := make([]int64, n)
		for i := range y {
			c := rng.IntN(3)
			y[i] = int64(c)
			for j := 0; j < 6; j++ {
				x[i*6+j] = float32(rng.NormFloat64()) + float32(c*(j%3))
			}
		}
		return data.NewFloat32(x, n, 6), data.NewInt64(y, n)
	}
	xTr, yTr := split(240)
	xTe, yTe := split(60)
	err := data.WriteNPZ(filepath.Join(dir, "data.npz"), nil, map[string]*data.Array{
		"x_train": xTr, "y_train": yTr, "x_test": xTe, "y_test": yTe})
	if err != nil {
		t.Fatal(err)
	}
	exp := `seed: 7
data:
  npz: data.npz
model:
  - Input: {shape: [6]}
  - Dense: {units: 8, activation: relu}
  - Dense: {units: 3, activation: softmax}
compile:
  optimizer: {name: sgd, learning_rate: 0.05}
  loss: sparse_categorical_crossentropy
  metrics: [accuracy]
fit:
  batch_size: 16
  epochs: 3
  validation_data: test
`
	path := filepath.Join(dir, "exp.yaml")
	if err := os.WriteFile(path, []byte(exp), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func grids(t *testing.T, args ...string) []Grid {
	t.Helper()
	var gs []Grid
	for _, a := range args {
		g, err := ParseGrid(a)
		if err != nil {
			t.Fatal(err)
		}
		gs = append(gs, g)
	}
	return gs
}

func TestParseGrid(t *testing.T) {
	for _, c := range []struct {
		arg  string
		path string
		vals []string
	}{
		{"compile.optimizer.learning_rate=0.01,0.03", "compile.optimizer.learning_rate", []string{"0.01", "0.03"}},
		{" fit.batch_size = 16, 32 ,64", "fit.batch_size", []string{"16", "32", "64"}},
		{"model.0.Input.shape=[28, 28],[784]", "model.0.Input.shape", []string{"[28, 28]", "[784]"}},
		{"compile.optimizer={name: sgd, momentum: 0.9},adam", "compile.optimizer", []string{"{name: sgd, momentum: 0.9}", "adam"}},
		{`data.scale="1/255",'1,0'`, "data.scale", []string{`"1/255"`, `'1,0'`}},
		{"seed=3", "seed", []string{"3"}},
	} {
		g, err := ParseGrid(c.arg)
		if err != nil {
			t.Errorf("ParseGrid(%q): %v", c.arg, err)
			continue
		}
		if g.Path != c.path || !reflect.DeepEqual(g.Values, c.vals) {
			t.Errorf("ParseGrid(%q) = %q %q, want %q %q", c.arg, g.Path, g.Values, c.path, c.vals)
		}
	}
	for _, c := range []struct{ arg, want string }{
		{"compile.optimizer.learning_rate", "expected dotted.path=v1,v2"},
		{"=0.1,0.2", "expected dotted.path=v1,v2"},
		{"fit..epochs=1,2", "empty part"},
		{"fit.epochs=", "value 1 of fit.epochs is empty"},
		{"fit.epochs=1,,3", "value 2 of fit.epochs is empty"},
		{"fit.epochs=1,2,", "value 3 of fit.epochs is empty"},
		{"fit.epochs=1,2,1", "listed twice"},
	} {
		_, err := ParseGrid(c.arg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseGrid(%q) error = %v, want it to mention %q", c.arg, err, c.want)
		}
	}
}

func TestPlanExpansion(t *testing.T) {
	file := tinyExperiment(t)
	p, err := NewPlan(Spec{File: file, Sets: []string{"fit.epochs=2"}, Repeats: 2,
		Grids: grids(t, "compile.optimizer.learning_rate=0.01,0.1", "compile.optimizer.name=sgd,rmsprop", "model.1.units=4,8,16")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Cells) != 12 {
		t.Fatalf("%d cells, want 2×2×3 = 12", len(p.Cells))
	}
	if got := p.Cells[0].Label; got != "lr=0.01 opt=sgd units=4" {
		t.Errorf("cell 0 label %q", got)
	}
	if got := p.Cells[11].Label; got != "lr=0.1 opt=rmsprop units=16" {
		t.Errorf("cell 11 label %q", got)
	}
	if got := p.Cells[4].Label; got != "lr=0.01 opt=rmsprop units=8" {
		t.Errorf("cell 4 label %q (the first grid must vary slowest)", got)
	}
	runs := p.Runs()
	if len(runs) != 24 {
		t.Fatalf("%d runs, want 24", len(runs))
	}
	for i, r := range runs {
		if r.ID != i || r.Cell != i/2 || r.Repeat != i%2 || r.Seed != int64(7+i%2) {
			t.Errorf("run %d = %+v", i, r)
		}
	}
	opt := p.Cells[5].Experiment["compile"].(map[string]any)["optimizer"].(map[string]any)
	if opt["name"] != "rmsprop" || opt["learning_rate"] != 0.01 {
		t.Errorf("cell 5 optimizer %v", opt)
	}
	if got := p.Keys(); !reflect.DeepEqual(got, []string{"loss", "accuracy", "val_loss", "val_accuracy"}) {
		t.Errorf("keys %v", got)
	}

	seed := int64(100)
	p, err = NewPlan(Spec{File: file, Repeats: 3, Seed: &seed}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Cells) != 1 || p.Cells[0].Label != "" || !reflect.DeepEqual(p.Cells[0].Seeds, []int64{100, 101, 102}) {
		t.Errorf("no grids: cells %+v", p.Cells)
	}
	// Grids sharing a last part get their full paths as names.
	p, err = NewPlan(Spec{File: file, Repeats: 1, Grids: grids(t, "model.1.units=4,8", "model.2.units=3")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Cells[1].Label; got != "model.1.units=8 model.2.units=3" {
		t.Errorf("label %q", got)
	}
}

func TestPlanErrors(t *testing.T) {
	file := tinyExperiment(t)
	for _, c := range []struct {
		name  string
		spec  Spec
		wants []string
	}{
		{"unknown key", Spec{Grids: grids(t, "fit.epoch=1,2")},
			[]string{"--grid fit.epoch, value 1:", `unknown key "epoch" in fit`, `did you mean "epochs"`}},
		{"unknown optimizer argument", Spec{Grids: grids(t, "compile.optimizer.learnin_rate=0.01,0.1")},
			[]string{"--grid compile.optimizer.learnin_rate, value 0.01:", `unknown argument "learnin_rate"`}},
		{"bad value", Spec{Grids: grids(t, "compile.optimizer.learning_rate=0.01,abc")},
			[]string{"--grid compile.optimizer.learning_rate, value abc:", "expected a number above 0"}},
		{"negative value", Spec{Grids: grids(t, "compile.optimizer.learning_rate=0.01,-1")},
			[]string{"value -1:", "must be a finite number above 0"}},
		{"bad layer index", Spec{Grids: grids(t, "model.7.units=3,4")},
			[]string{"--grid model.7.units, value 3:", "not a layer index"}},
		{"unknown optimizer", Spec{Grids: grids(t, "compile.optimizer.name=sgd,rmsprp")},
			[]string{"--grid compile.optimizer.name, value rmsprp:", `unknown optimizer "rmsprp"`}},
		{"no values", Spec{Grids: []Grid{{Path: "fit.epochs"}}},
			[]string{"--grid fit.epochs has no values"}},
		{"twice", Spec{Grids: grids(t, "fit.epochs=1,2", "fit.epochs=3")},
			[]string{"--grid fit.epochs is given twice"}},
		{"bad combination", Spec{Grids: grids(t, "compile.optimizer.name=sgd,adam", "compile.optimizer.momentum=0.9")},
			[]string{"cell 1 (opt=adam momentum=0.9):", `unknown argument "momentum"`}},
		{"labels out of range", Spec{Grids: grids(t, "model.2.units=3,2")},
			[]string{"cell 1 (units=2):", "label value of 2"}},
		{"loss mismatch", Spec{Grids: grids(t, "compile.loss=sparse_categorical_crossentropy,categorical_crossentropy")},
			[]string{"cell 1 (loss=categorical_crossentropy):", "incompatible"}},
		{"bad set", Spec{Sets: []string{"fit.epochs=x"}},
			[]string{"--set fit.epochs=x"}},
		{"repeats", Spec{Repeats: -1}, []string{"--repeats must be at least 1"}},
		{"file", Spec{File: "nope.yaml"}, []string{"nope.yaml"}},
	} {
		s := c.spec
		if s.File == "" {
			s.File = file
		}
		if s.Repeats == 0 {
			s.Repeats = 2
		}
		_, err := NewPlan(s, nil)
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		if !kiln.IsInputError(err) {
			t.Errorf("%s: %v is not an input error", c.name, err)
		}
		msg := err.Error()
		for _, w := range c.wants {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: error %q does not mention %q", c.name, msg, w)
			}
		}
		if strings.HasPrefix(c.name, "bad value") && strings.Contains(msg, "--set") {
			t.Errorf("%s: error %q blames a --set", c.name, msg)
		}
	}
}

func TestShardPartition(t *testing.T) {
	file := tinyExperiment(t)
	p, err := NewPlan(Spec{File: file, Repeats: 3, Grids: grids(t, "fit.batch_size=8,16,32")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= 11; n++ {
		seen := map[int]int{}
		for i := 0; i < n; i++ {
			s := p.Shard(i, n)
			if len(s) < 9/n || len(s) > (9+n-1)/n {
				t.Errorf("shard %d/%d has %d runs; shards must be balanced", i, n, len(s))
			}
			for _, r := range s {
				seen[r.ID]++
			}
		}
		for id := 0; id < 9; id++ {
			if seen[id] != 1 {
				t.Errorf("n=%d: run %d is in %d shards", n, id, seen[id])
			}
		}
	}
}

func marshal(t *testing.T, r *Results) []byte {
	t.Helper()
	b, err := r.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSameResultsWhateverJobsAndShards checks acceptance 3 and 4: runs are
// bit-identical with 1 or 2 jobs, and merged shards equal one sweep.
func TestSameResultsWhateverJobsAndShards(t *testing.T) {
	file := tinyExperiment(t)
	p, err := NewPlan(Spec{File: file, Repeats: 2, Grids: grids(t, "compile.optimizer.learning_rate=0.02,0.1", "compile.optimizer.name=sgd,adam")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	one, err := p.Run(ctx, Options{Jobs: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(one.Runs) != 8 || len(one.Missing()) != 0 {
		t.Fatalf("%d runs, missing %v", len(one.Runs), one.Missing())
	}
	want := marshal(t, one)
	two, err := p.Run(ctx, Options{Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	if got := marshal(t, two); !bytes.Equal(got, want) {
		t.Errorf("jobs 2 differs from jobs 1:\n%s\nvs\n%s", got, want)
	}
	// Different seeds and settings give different numbers (the test is not vacuous).
	if reflect.DeepEqual(one.Runs[0].History, one.Runs[1].History) || reflect.DeepEqual(one.Runs[0].History, one.Runs[2].History) {
		t.Error("runs with different seeds or settings have the same history")
	}

	dir := t.TempDir()
	var parts []*Results
	for i := 0; i < 3; i++ {
		r, err := p.Run(ctx, Options{Runs: p.Shard(i, 3), Jobs: 1 + i%2})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Missing()) == 0 {
			t.Errorf("shard %d/3 has every run", i)
		}
		path := filepath.Join(dir, "shard", string(rune('0'+i)), ResultsJSON)
		if _, err := r.Save(filepath.Dir(path), SaveOptions{}); err != nil {
			t.Fatal(err)
		}
		back, err := ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(marshal(t, back), marshal(t, r)) {
			t.Errorf("shard %d: results.json does not read back to the same results", i)
		}
		parts = append(parts, back)
	}
	// In any order, with a shard given twice.
	merged, err := Merge(parts[2], parts[0], parts[1], parts[0])
	if err != nil {
		t.Fatal(err)
	}
	if got := marshal(t, merged); !bytes.Equal(got, want) {
		t.Errorf("merged shards differ from the unsharded sweep:\n%s\nvs\n%s", got, want)
	}
	if len(merged.Missing()) != 0 {
		t.Errorf("merged: missing %v", merged.Missing())
	}

	// Plans that differ do not merge.
	q, err := NewPlan(Spec{File: file, Repeats: 2, Grids: grids(t, "compile.optimizer.learning_rate=0.02,0.1", "compile.optimizer.name=sgd,rmsprop")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Merge(one, &Results{Plan: q}); err == nil || !strings.Contains(err.Error(), "different sweep") {
		t.Errorf("merging different sweeps: %v", err)
	}
	// A run whose numbers differ does not merge.
	bad := *parts[0]
	bad.Runs = append([]RunResult(nil), parts[0].Runs...)
	bad.Runs[0].History = map[string]Values{"loss": {1}}
	bad.Runs[0].Keys = []string{"loss"}
	if _, err := Merge(parts[0], &bad); err == nil || !strings.Contains(err.Error(), "differs") {
		t.Errorf("merging a changed run: %v", err)
	}
}

func TestInterrupt(t *testing.T) {
	file := tinyExperiment(t)
	p, err := NewPlan(Spec{File: file, Repeats: 4, Sets: []string{"fit.epochs=2"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	// Cancel as soon as the first run reports.
	w := writerFunc(func(b []byte) (int, error) { cancel(); return len(b), nil })
	res, err := p.Run(ctx, Options{Jobs: 1, Progress: w})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if len(res.Runs) != 1 || res.Runs[0].ID != 0 || len(res.Runs[0].Epochs) != 2 {
		t.Errorf("after the interrupt: %d runs %+v, want run 0 complete", len(res.Runs), res.Runs)
	}
	if got := res.Missing(); !reflect.DeepEqual(got, []int{1, 2, 3}) {
		t.Errorf("missing %v", got)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

func TestParseShard(t *testing.T) {
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	for _, c := range []struct {
		arg  string
		env  func(string) string
		i, n int
		err  string
	}{
		{"0/2", env(), 0, 2, ""},
		{"3/4", env(), 3, 4, ""},
		{"4/4", env(), 0, 0, "from 0 to 3"},
		{"-1/4", env(), 0, 0, "from 0 to 3"},
		{"1/0", env(), 0, 0, "positive integer"},
		{"1", env(), 0, 0, "write i/n"},
		{"auto/3", env("JOB_COMPLETION_INDEX", "2"), 2, 3, ""},
		{"auto", env("JOB_COMPLETION_INDEX", "2"), 0, 0, "auto/N"},
		{"auto/3", env("JOB_COMPLETION_INDEX", "3"), 0, 0, "outside 0 to 2"},
		{"auto", env("SLURM_ARRAY_TASK_ID", "5", "SLURM_ARRAY_TASK_MIN", "1", "SLURM_ARRAY_TASK_COUNT", "8"), 4, 8, ""},
		{"auto", env("SLURM_ARRAY_TASK_ID", "6", "SLURM_ARRAY_TASK_MIN", "0", "SLURM_ARRAY_TASK_STEP", "2", "SLURM_ARRAY_TASK_COUNT", "4"), 3, 4, ""},
		{"auto/2", env("SLURM_ARRAY_TASK_ID", "1"), 1, 2, ""},
		// Re-running task 2 of a 4-task array alone: Slurm reports a
		// one-task array; auto/4 runs shard 2 of 4, auto refuses.
		{"auto/4", env("SLURM_ARRAY_TASK_ID", "2", "SLURM_ARRAY_TASK_MIN", "2", "SLURM_ARRAY_TASK_COUNT", "1"), 2, 4, ""},
		{"auto", env("SLURM_ARRAY_TASK_ID", "2", "SLURM_ARRAY_TASK_MIN", "2", "SLURM_ARRAY_TASK_COUNT", "1"), 0, 0, "auto/N with N the whole array's size"},
		{"auto/4", env("SLURM_ARRAY_TASK_ID", "4", "SLURM_ARRAY_TASK_MIN", "1", "SLURM_ARRAY_TASK_COUNT", "4"), 0, 0, "--array=0-3"},
		{"auto", env("SLURM_ARRAY_TASK_ID", "1"), 0, 0, "SLURM_ARRAY_TASK_COUNT"},
		{"auto", env(), 0, 0, "neither JOB_COMPLETION_INDEX"},
		{"auto/2", env("JOB_COMPLETION_INDEX", "x"), 0, 0, "not an integer"},
	} {
		i, n, err := ParseShard(c.arg, c.env)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseShard(%q) error %v, want %q", c.arg, err, c.err)
			}
			continue
		}
		if err != nil || i != c.i || n != c.n {
			t.Errorf("ParseShard(%q) = %d, %d, %v; want %d, %d", c.arg, i, n, err, c.i, c.n)
		}
	}
}

// fakeResults makes results without training: two cells of a learning-rate
// grid, the second with loss three times the first's.
func fakeResults() *Results {
	p := &Plan{File: "seed.yaml", Repeats: 2,
		Grids: []Grid{{Path: "compile.optimizer.learning_rate", Name: "lr", Values: []string{"0.01", "0.03"}}},
		Cells: []Cell{
			{Index: 0, Label: "lr=0.01", Values: []string{"0.01"}, Seeds: []int64{1, 2}},
			{Index: 1, Label: "lr=0.03", Values: []string{"0.03"}, Seeds: []int64{1, 2}},
		},
		keys: []string{"loss", "accuracy"},
	}
	run := func(id int, loss, acc []float64) RunResult {
		return RunResult{ID: id, Cell: id / 2, Repeat: id % 2, Seed: int64(1 + id%2), Epochs: []int{0, 1, 2},
			Keys: []string{"loss", "accuracy"}, History: map[string]Values{"loss": loss, "accuracy": acc}}
	}
	return &Results{Plan: p, Runs: []RunResult{
		run(0, []float64{300, 250, 248}, []float64{0.84, 0.87, 0.874}),
		run(1, []float64{310, 240, 250}, []float64{0.85, 0.875, 0.872}),
		run(2, []float64{950, 770, 745}, []float64{0.84, 0.868, 0.875}),
		run(3, []float64{960, 800, 760}, []float64{0.845, 0.87, 0.871}),
	}}
}

func TestTable(t *testing.T) {
	r := fakeResults()
	var b strings.Builder
	if err := r.WriteTable(&b, TableOptions{}); err != nil {
		t.Fatal(err)
	}
	want := `seed.yaml: 2 cells × 2 repeats, 4 of 4 runs finished; baseline: cell 0 (lr=0.01)
mean ± sd over repeats; final = last epoch, best = best epoch (lowest loss, highest metric);
ratio = final mean ÷ the baseline's

loss
  cell  settings  runs         final          best  ratio
     0  lr=0.01      2  249.0 ±  1.4  244.0 ±  5.7   base
     1  lr=0.03      2  752.5 ± 10.6  752.5 ± 10.6  3.022

accuracy
  cell  settings  runs            final             best  ratio
     0  lr=0.01      2  0.8730 ± 0.0014  0.8745 ± 0.0007   base
     1  lr=0.03      2  0.8730 ± 0.0028  0.8730 ± 0.0028  1.000
`
	if b.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", b.String(), want)
	}

	// Baseline 1, one key, a cell without runs, a single run, NaN.
	r.Runs = r.Runs[2:3]
	r.Runs[0].History["loss"] = Values{950, math.NaN(), 745}
	b.Reset()
	if err := r.WriteTable(&b, TableOptions{Baseline: 1, Keys: []string{"loss"}}); err != nil {
		t.Fatal(err)
	}
	want = `seed.yaml: 2 cells × 2 repeats, 1 of 4 runs finished; baseline: cell 1 (lr=0.03)
mean ± sd over repeats; final = last epoch, best = best epoch (lowest loss, highest metric);
ratio = final mean ÷ the baseline's

loss
  cell  settings  runs  final   best  ratio
     0  lr=0.01      0      –      –      –
     1  lr=0.03      1  745.0  745.0   base
`
	if b.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestSummarize(t *testing.T) {
	s := fakeResults().Summarize(0)
	l0, l1 := s[0].Keys["loss"], s[1].Keys["loss"]
	if l0.Final.Mean != 249 || l0.Best.Mean != 244 || l0.Final.N != 2 || math.Abs(l0.Final.SD-math.Sqrt2) > 1e-12 {
		t.Errorf("cell 0 loss %+v", l0)
	}
	if l0.Ratio != 1 || math.Abs(l1.Ratio-752.5/249) > 1e-12 {
		t.Errorf("ratios %v %v", l0.Ratio, l1.Ratio)
	}
	if a := s[0].Keys["accuracy"]; a.Best.Mean != (0.874+0.875)/2 {
		t.Errorf("best accuracy must be the highest: %+v", a)
	}
}

func TestSave(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	r := fakeResults()
	r.Runs[1].History["loss"] = Values{math.Inf(1), math.NaN(), 250}
	files, err := r.Save(dir, SaveOptions{Plots: []string{"png", "svg"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"results.json", "results.csv", "summary.csv", "loss.png", "loss.svg", "accuracy.png", "accuracy.svg"}
	if !reflect.DeepEqual(files, want) {
		t.Errorf("wrote %v, want %v", files, want)
	}
	back, err := ReadFile(filepath.Join(dir, ResultsJSON))
	if err != nil {
		t.Fatal(err)
	}
	if v := back.Runs[1].History["loss"]; !math.IsInf(v[0], 1) || !math.IsNaN(v[1]) || v[2] != 250 {
		t.Errorf("non-finite values read back as %v", v)
	}
	csv, _ := os.ReadFile(filepath.Join(dir, ResultsCSV))
	lines := strings.Split(strings.TrimSpace(string(csv)), "\n")
	if len(lines) != 13 || lines[0] != "run,cell,repeat,seed,compile.optimizer.learning_rate,epoch,loss,accuracy" ||
		lines[4] != "1,0,1,2,0.01,0,Inf,0.85" {
		t.Errorf("results.csv:\n%s", csv)
	}
	sum, _ := os.ReadFile(filepath.Join(dir, SummaryCSV))
	if !strings.HasPrefix(string(sum), "cell,label,compile.optimizer.learning_rate,runs,loss_final_mean,loss_final_sd,") ||
		!strings.Contains(string(sum), "\n1,lr=0.03,0.03,2,752.5,") {
		t.Errorf("summary.csv:\n%s", sum)
	}
}

func TestFindCell(t *testing.T) {
	p := &Plan{Grids: []Grid{{Path: "compile.optimizer.learning_rate", Name: "lr"}, {Path: "compile.optimizer.name", Name: "opt"}}}
	for i, v := range [][]string{{"0.01", "sgd"}, {"0.01", "adam"}, {"0.03", "sgd"}, {"0.03", "adam"}} {
		p.Cells = append(p.Cells, Cell{Index: i, Values: v, Label: label(p.Grids, v)})
	}
	for sel, want := range map[string]int{"2": 2, "lr=0.03 opt=adam": 3, "opt=adam,lr=0.01": 1,
		"compile.optimizer.learning_rate=0.03 opt=sgd": 2} {
		if got, err := p.FindCell(sel); err != nil || got != want {
			t.Errorf("FindCell(%q) = %d, %v; want %d", sel, got, err, want)
		}
	}
	for sel, msg := range map[string]string{"4": "numbered 0 to 3", "lr=0.03": "matches 2 cells", "lr=0.5": "matches no cell", "": "matches no cell"} {
		if _, err := p.FindCell(sel); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("FindCell(%q) error %v, want %q", sel, err, msg)
		}
	}
}

// TestProgressTimeLeft: the live status line estimates the time left from
// the epochs done, in Keras' ETA format.
func TestProgressTimeLeft(t *testing.T) {
	var b strings.Builder
	pr := &progress{w: &b, live: true, total: 4, epochsTotal: 8, start: time.Now().Add(-10 * time.Second)}
	pr.epoch()
	pr.epoch()
	if !strings.Contains(b.String(), "2/8 epochs, ~30s left") {
		t.Errorf("status line %q", b.String())
	}
	for d, want := range map[time.Duration]string{42 * time.Second: "42s", 185 * time.Second: "3:05", 3723 * time.Second: "1:02:03"} {
		if got := eta(d); got != want {
			t.Errorf("eta(%v) = %s, want %s", d, got, want)
		}
	}
}
