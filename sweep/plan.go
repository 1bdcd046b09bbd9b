package sweep

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/config"
)

// Spec is what a sweep was asked for: the experiment file, overrides for
// every run, the grids and the number of repeats.
type Spec struct {
	// File is the experiment file.
	File string
	// Sets are --set overrides applied to every run, before the grid's.
	Sets []string
	// Grids are the settings to vary; the cells are their Cartesian
	// product, the first grid varying slowest.
	Grids []Grid
	// Repeats is how many runs each cell gets (at least 1); repeat r runs
	// with seed base+r.
	Repeats int
	// Seed, if not nil, is the base seed of every cell; otherwise each
	// cell's base seed is its experiment's seed (after overrides).
	Seed *int64
}

// Cell is one combination of grid values.
type Cell struct {
	// Index is the cell's position in the plan, from 0.
	Index int `json:"index"`
	// Label names the cell's values compactly, e.g. "lr=0.03 opt=sgd".
	Label string `json:"label"`
	// Values holds one value per grid, as written.
	Values []string `json:"values"`
	// Seeds are the seeds of the cell's repeats: base, base+1, ...
	Seeds []int64 `json:"seeds"`
	// Experiment is the cell's effective configuration (after overrides
	// and defaults, with the base seed), as config.Experiment.Canonical.
	Experiment map[string]any `json:"experiment"`

	epochs int // epochs per run, for progress
}

// Plan is a validated sweep: every cell's experiment loads, builds and
// passes Fit's checks. Its runs are numbered cell-major: run id
// cell*Repeats + repeat.
type Plan struct {
	// File is the experiment file as given.
	File string `json:"file"`
	// FileSHA256 is the hex SHA-256 of the file's contents when the plan
	// was made; every run uses those contents.
	FileSHA256 string `json:"file_sha256"`
	// Sets are the overrides applied to every run.
	Sets []string `json:"sets"`
	// Grids are the varied settings.
	Grids []Grid `json:"grids"`
	// Repeats is the number of runs per cell.
	Repeats int `json:"repeats"`
	// Cells lists the Cartesian product of the grids' values.
	Cells []Cell `json:"cells"`

	src  []byte   // the experiment file's contents
	keys []string // the History keys the runs will have
}

// RunSpec is one run of a plan.
type RunSpec struct {
	// ID is cell*Repeats + Repeat: stable across jobs and shards.
	ID     int
	Cell   int
	Repeat int
	Seed   int64
}

// cellSets returns the overrides of cell c's runs: the common ones, then
// one "path=value" per grid.
func (p *Plan) cellSets(c int) []string {
	sets := append([]string(nil), p.Sets...)
	for j, g := range p.Grids {
		sets = append(sets, g.Path+"="+p.Cells[c].Values[j])
	}
	return sets
}

// Runs lists every run of the plan, by id.
func (p *Plan) Runs() []RunSpec {
	var runs []RunSpec
	for _, c := range p.Cells {
		for r, seed := range c.Seeds {
			runs = append(runs, RunSpec{ID: len(runs), Cell: c.Index, Repeat: r, Seed: seed})
		}
	}
	return runs
}

// Shard returns the i-th of n interleaved slices of the run list (runs
// i, i+n, i+2n, ...), 0 ≤ i < n. Interleaving spreads every cell over the
// shards, so shards take about the same time even when cells do not.
func (p *Plan) Shard(i, n int) []RunSpec {
	var out []RunSpec
	for _, r := range p.Runs() {
		if r.ID%n == i {
			out = append(out, r)
		}
	}
	return out
}

// Keys returns the History keys the plan's runs produce, in Keras' order
// (loss, metrics, then val_ versions), over all cells.
func (p *Plan) Keys() []string { return append([]string(nil), p.keys...) }

// inputErr makes err an input error (the CLI exits 2 for these).
func inputErr(err error) error {
	if kiln.IsInputError(err) {
		return err
	}
	return &kiln.InputError{Err: err}
}

// NewPlan expands and validates a sweep before anything runs. It checks,
// in order: the file with the common overrides, each grid value on its own
// (so a bad path or value is blamed on its --grid), then every cell in
// full: its experiment is built, its data loaded and Fit's checks run
// without training. Model warnings (e.g. activation/loss mismatches) are
// written to warn once each. Every error is a kiln.InputError.
func NewPlan(s Spec, warn io.Writer) (*Plan, error) {
	if warn == nil {
		warn = io.Discard
	}
	if s.Repeats < 1 {
		return nil, inputErr(fmt.Errorf("--repeats must be at least 1, got %d", s.Repeats))
	}
	src, err := os.ReadFile(s.File)
	if err != nil {
		return nil, inputErr(fmt.Errorf("experiment file: %w", err))
	}
	sum := sha256.Sum256(src)
	p := &Plan{File: s.File, FileSHA256: hex.EncodeToString(sum[:]), Sets: append([]string{}, s.Sets...),
		Repeats: s.Repeats, src: src}
	names := shortNames(s.Grids)
	seen := map[string]bool{}
	for i, g := range s.Grids {
		if len(g.Values) == 0 {
			return nil, inputErr(fmt.Errorf("--grid %s has no values; write --grid %s=v1,v2,...", g.Path, g.Path))
		}
		if seen[g.Path] {
			return nil, inputErr(fmt.Errorf("--grid %s is given twice; list all its values in one --grid, separated by commas", g.Path))
		}
		seen[g.Path] = true
		g.Name = names[i]
		g.Values = append([]string(nil), g.Values...)
		p.Grids = append(p.Grids, g)
	}
	warns := &warnings{w: warn, seen: map[string]bool{}}

	// The file and the common overrides alone.
	e, err := p.parse(p.Sets)
	if err == nil {
		_, err = config.BuildModel(e, warns)
	}
	if err != nil {
		return nil, inputErr(err)
	}
	// Each grid value alone, so that a bad path or value names its --grid.
	for _, g := range p.Grids {
		for _, v := range g.Values {
			set := g.Path + "=" + v
			e, err := p.parse(append(append([]string(nil), p.Sets...), set))
			if err == nil {
				_, err = config.BuildModel(e, io.Discard)
			}
			if err != nil {
				return nil, inputErr(fmt.Errorf("--grid %s, value %s: %w", g.Path, v, withoutSet(err, set)))
			}
		}
	}
	// Every cell in full.
	for c, values := range product(p.Grids) {
		cell := Cell{Index: c, Values: values, Label: label(p.Grids, values)}
		p.Cells = append(p.Cells, cell)
		sets := p.cellSets(c)
		fail := func(err error) error {
			for _, set := range sets[len(p.Sets):] {
				err = withoutSet(err, set)
			}
			if len(p.Grids) == 0 {
				return inputErr(err)
			}
			return inputErr(fmt.Errorf("cell %d (%s): %w", c, cell.Label, err))
		}
		e, err := p.parse(sets)
		if err != nil {
			return nil, fail(err)
		}
		if s.Seed != nil {
			e.Seed = *s.Seed
		}
		for r := 0; r < s.Repeats; r++ {
			cell.Seeds = append(cell.Seeds, e.Seed+int64(r))
		}
		if typ := e.WritesFiles(); typ != "" {
			return nil, fail(fmt.Errorf("fit.callbacks: %s writes files, which the sweep's runs would overwrite; remove it (the sweep writes every run's history to results.json)", typ))
		}
		cell.Experiment = e.Canonical()
		cell.epochs = e.Fit.Epochs - e.Fit.InitialEpoch
		if err := check(e, warns); err != nil {
			return nil, fail(err)
		}
		p.Cells[c] = cell
		p.addKeys(e)
	}
	return p, nil
}

// parse reads the plan's copy of the file with the overrides sets.
func (p *Plan) parse(sets []string) (*config.Experiment, error) {
	e, err := config.Parse(p.src, p.File, sets)
	if err != nil {
		return nil, err
	}
	e.Path = p.File
	return e, nil
}

// check builds the experiment, loads its data and runs Fit's checks on it
// without training (Fit with a cancelled context stops before the first
// step, after checking the data against the model and the loss).
func check(e *config.Experiment, warn io.Writer) error {
	r, err := config.Build(e, warn)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	opts := r.Fit
	opts.Verbose, opts.Out, opts.Workers, opts.Threads = 0, io.Discard, 1, 1
	_, err = r.Model.Fit(ctx, r.X, r.Y, opts)
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("%s: %w", e.Path, err)
	}
	return nil
}

// addKeys adds the History keys of e's runs to p.keys.
func (p *Plan) addKeys(e *config.Experiment) {
	keys := append([]string{"loss"}, e.Compile.Metrics...)
	if e.Fit.ValidationData != "" || e.Fit.ValidationSplit > 0 {
		for _, k := range keys {
			keys = append(keys, "val_"+k)
		}
	}
	for _, k := range keys {
		if !contains(p.keys, k) {
			p.keys = append(p.keys, k)
		}
	}
}

// withoutSet rewrites a config error caused by the override set so that it
// does not claim to come from a --set flag.
func withoutSet(err error, set string) error {
	var ce *config.Error
	if errors.As(err, &ce) && ce.Set == set {
		c := *ce
		c.Set = ""
		return &c
	}
	return err
}

// product lists the Cartesian product of the grids' values, the first grid
// varying slowest; one empty combination if there are no grids.
func product(grids []Grid) [][]string {
	out := [][]string{{}}
	for _, g := range grids {
		var next [][]string
		for _, prefix := range out {
			for _, v := range g.Values {
				next = append(next, append(append([]string(nil), prefix...), v))
			}
		}
		out = next
	}
	return out
}

func label(grids []Grid, values []string) string {
	parts := make([]string, len(grids))
	for j, g := range grids {
		parts[j] = g.Name + "=" + values[j]
	}
	return strings.Join(parts, " ")
}

// FindCell returns the index of the cell that sel names: a cell index
// ("1"), a label as printed ("lr=0.03 opt=sgd"), or grid settings that
// match exactly one cell ("lr=0.03", "compile.optimizer.learning_rate=0.03",
// several separated by commas or spaces).
func (p *Plan) FindCell(sel string) (int, error) {
	sel = strings.TrimSpace(sel)
	if i, err := strconv.Atoi(sel); err == nil {
		if i < 0 || i >= len(p.Cells) {
			return 0, fmt.Errorf("cell %d does not exist; cells are numbered 0 to %d", i, len(p.Cells)-1)
		}
		return i, nil
	}
	for _, c := range p.Cells {
		if c.Label == sel {
			return c.Index, nil
		}
	}
	var match []int
	fields := strings.FieldsFunc(sel, func(r rune) bool { return r == ',' || r == ' ' })
	for _, c := range p.Cells {
		ok := len(fields) > 0
		for _, f := range fields {
			k, v, _ := strings.Cut(f, "=")
			hit := false
			for j, g := range p.Grids {
				if (k == g.Name || k == g.Path) && v == c.Values[j] {
					hit = true
				}
			}
			ok = ok && hit
		}
		if ok {
			match = append(match, c.Index)
		}
	}
	switch len(match) {
	case 1:
		return match[0], nil
	case 0:
		return 0, fmt.Errorf("%q matches no cell; give a cell index (0 to %d) or settings as in the table, e.g. %q", sel, len(p.Cells)-1, p.Cells[len(p.Cells)-1].Label)
	}
	return 0, fmt.Errorf("%q matches %d cells; add settings until it names one, e.g. %q", sel, len(match), p.Cells[match[0]].Label)
}

// ParseShard parses a --shard value: "i/n" (0 ≤ i < n), "auto/n", or
// "auto". With auto the index comes from the environment (getenv):
// JOB_COMPLETION_INDEX (Kubernetes Indexed Jobs) or SLURM_ARRAY_TASK_ID
// (Slurm job arrays). Under Slurm, auto/n takes the task id as the shard
// index (the array is numbered 0 to n−1), so that re-running one task alone
// (sbatch --array=2) runs exactly that shard; plain auto counts from
// SLURM_ARRAY_TASK_MIN in steps of SLURM_ARRAY_TASK_STEP, takes the count
// from SLURM_ARRAY_TASK_COUNT, and refuses a one-task array (a re-run of one
// task would otherwise run the whole sweep).
func ParseShard(s string, getenv func(string) string) (i, n int, err error) {
	idx, cnt, hasCount := strings.Cut(s, "/")
	if hasCount {
		if n, err = strconv.Atoi(cnt); err != nil || n < 1 {
			return 0, 0, fmt.Errorf("--shard %s: the shard count %q must be a positive integer; write i/n, e.g. --shard 0/4", s, cnt)
		}
	}
	if idx != "auto" {
		if !hasCount {
			return 0, 0, fmt.Errorf("--shard %s: write i/n (run the i-th of n slices, counting from 0, e.g. 0/4), or auto", s)
		}
		if i, err = strconv.Atoi(idx); err != nil || i < 0 || i >= n {
			return 0, 0, fmt.Errorf("--shard %s: the index must be an integer from 0 to %d", s, n-1)
		}
		return i, n, nil
	}
	envInt := func(k string) (int, bool, error) {
		v := strings.TrimSpace(getenv(k))
		if v == "" {
			return 0, false, nil
		}
		x, err := strconv.Atoi(v)
		if err != nil {
			return 0, true, fmt.Errorf("--shard %s: %s=%q is not an integer", s, k, v)
		}
		return x, true, nil
	}
	var ok bool
	if i, ok, err = envInt("JOB_COMPLETION_INDEX"); err != nil {
		return 0, 0, err
	}
	if !ok {
		if i, ok, err = envInt("SLURM_ARRAY_TASK_ID"); err != nil {
			return 0, 0, err
		}
		if !ok {
			return 0, 0, fmt.Errorf("--shard %s: neither JOB_COMPLETION_INDEX (Kubernetes Indexed Job) nor SLURM_ARRAY_TASK_ID (Slurm array) is set; give the shard as i/n", s)
		}
		if hasCount {
			// auto/N: the array's task ids are the shard indices (--array=0-(N-1)),
			// so re-running one task (sbatch --array=2 ...) runs exactly shard 2.
			if i < 0 || i >= n {
				return 0, 0, fmt.Errorf("--shard %s: SLURM_ARRAY_TASK_ID is %d, outside 0 to %d; with auto/N number the array's tasks 0 to N-1 (--array=0-%d)", s, i, n-1, n-1)
			}
			return i, n, nil
		}
		if c, _, _ := envInt("SLURM_ARRAY_TASK_COUNT"); c == 1 {
			return 0, 0, fmt.Errorf("--shard %s: this Slurm array has one task (SLURM_ARRAY_TASK_ID %d): a re-run of one task of a larger array would run the whole sweep as shard 0 of 1; write --shard auto/N with N the whole array's size, or --shard 0/1 to run the whole sweep in this task", s, i)
		}
		lo, _, err := envInt("SLURM_ARRAY_TASK_MIN")
		if err != nil {
			return 0, 0, err
		}
		step, hasStep, err := envInt("SLURM_ARRAY_TASK_STEP")
		if err != nil {
			return 0, 0, err
		}
		if !hasStep || step < 1 {
			step = 1
		}
		i = (i - lo) / step
		if !hasCount {
			c, ok, err := envInt("SLURM_ARRAY_TASK_COUNT")
			if err != nil {
				return 0, 0, err
			}
			if !ok {
				return 0, 0, fmt.Errorf("--shard %s: SLURM_ARRAY_TASK_COUNT is not set; give the count as --shard auto/N", s)
			}
			n, hasCount = c, true
		}
	}
	if !hasCount {
		return 0, 0, fmt.Errorf("--shard %s: the shard count is unknown under Kubernetes; write --shard auto/N with N the Job's completions", s)
	}
	if i < 0 || i >= n {
		return 0, 0, fmt.Errorf("--shard %s: the index from the environment is %d, outside 0 to %d; make the job's completions (or array size) match the shard count", s, i, n-1)
	}
	return i, n, nil
}

// warnings writes each distinct line once.
type warnings struct {
	w    io.Writer
	seen map[string]bool
	buf  bytes.Buffer
}

func (w *warnings) Write(b []byte) (int, error) {
	w.buf.Write(b)
	for {
		line, err := w.buf.ReadString('\n')
		if err != nil {
			w.buf.WriteString(line) // keep the partial line
			return len(b), nil
		}
		if !w.seen[line] {
			w.seen[line] = true
			io.WriteString(w.w, line)
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
