package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/kiln-ml/kiln/sweep"
)

// sweepList collects a repeatable flag's values as written.
type sweepList []string

func (l *sweepList) String() string { return strings.Join(*l, " ") }

// Set appends one value.
func (l *sweepList) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// sweepOutputFlags are the flags shared by kiln sweep and kiln sweep merge.
type sweepOutputFlags struct {
	out, baseline, keys, plots *string
}

func addSweepOutputFlags(fs *flag.FlagSet) sweepOutputFlags {
	return sweepOutputFlags{
		out:      fs.String("out", "kiln-sweep", "directory for results.json, results.csv, summary.csv and the plots"),
		baseline: fs.String("baseline", "0", "the cell the ratios compare with: its index, or its settings as in the table (e.g. lr=0.03)"),
		keys:     fs.String("keys", "", "History keys for the table and plots, comma-separated (default: all, e.g. loss,accuracy,val_loss,val_accuracy)"),
		plots:    fs.String("plots", "png", "plot formats: png, svg, png,svg or none"),
	}
}

// resolve checks the output flags against a plan: the baseline cell, the
// keys (nil for all) and the plot formats.
func (f sweepOutputFlags) resolve(p *sweep.Plan) (sweep.SaveOptions, error) {
	var o sweep.SaveOptions
	b, err := p.FindCell(*f.baseline)
	if err != nil {
		return o, usageErr("--baseline: %v", err)
	}
	o.Baseline = b
	if *f.keys != "" {
		valid := p.Keys()
		for _, k := range strings.Split(*f.keys, ",") {
			k = strings.TrimSpace(k)
			if !sweepContains(valid, k) {
				return o, usageErr("--keys: the runs have no key %q; they have %s", k, strings.Join(valid, ", "))
			}
			o.Keys = append(o.Keys, k)
		}
	}
	for _, ext := range strings.Split(*f.plots, ",") {
		switch ext = strings.TrimSpace(strings.ToLower(ext)); ext {
		case "png", "svg":
			if !sweepContains(o.Plots, ext) {
				o.Plots = append(o.Plots, ext)
			}
		case "none", "":
		default:
			return o, usageErr("--plots: unknown format %q; use png, svg, png,svg or none", ext)
		}
	}
	return o, nil
}

func sweepContains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

const sweepUsage = `Usage: kiln sweep FILE --grid dotted.path=v1,v2,... [--grid ...] [flags]
       kiln sweep merge DIR... [--out DIR] [flags]

Runs the experiment in FILE for every combination of the --grid values (the
cells), --repeats times each (repeat r uses seed base+r), up to --jobs at a
time, then prints a table per History key (final and best values, mean ± sd
over repeats, ratio to the --baseline cell) and writes results.json,
results.csv, summary.csv and overlay plots into --out. Every cell is checked
before any run starts. Ctrl-C stops the runs in flight and keeps the
finished ones.

--shard i/n runs only runs i, i+n, i+2n, ... and writes into OUT/shard-i-of-n;
--shard auto takes i from JOB_COMPLETION_INDEX (Kubernetes Indexed Job) or
SLURM_ARRAY_TASK_ID (Slurm array; n from SLURM_ARRAY_TASK_COUNT), --shard
auto/n gives n. 'kiln sweep merge OUT' combines OUT/shard-*/ (or the
results.json of each DIR) into the same table, files and plots.

Example:
  kiln sweep examples/seed.yaml --grid compile.optimizer.learning_rate=0.01,0.03 \
      --grid compile.optimizer.name=sgd,rmsprop --repeats 3 --set fit.epochs=3

Flags:
`

func cmdSweep(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "merge" {
		return cmdSweepMerge(args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("sweep", flag.ContinueOnError)
	var grids sweepList
	var sets setFlags
	fs.Var(&grids, "grid", "a setting to vary: dotted.path=v1,v2,... (repeatable; cells are the product of all grids)")
	fs.Var(&sets, "set", "override a setting for every run: dotted.path=value (repeatable)")
	repeats := fs.Int("repeats", 1, "runs per cell; repeat r uses seed base+r")
	seed := fs.Int64("seed", 0, "base seed (default: the experiment's seed)")
	jobs := fs.Int("jobs", 0, "runs trained at once (default: the number of cores); each run trains on max(1, cores/jobs) threads unless the experiment sets fit.threads")
	shard := fs.String("shard", "", "run one slice of the runs: i/n (from 0), auto or auto/n (see above)")
	of := addSweepOutputFlags(fs)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), sweepUsage)
		fs.PrintDefaults()
	}
	pos, err := parse(fs, args, stderr)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("sweep needs exactly one experiment file, got %d arguments (see kiln sweep -h)", len(pos))
	}
	spec := sweep.Spec{File: pos[0], Sets: sets, Repeats: *repeats}
	for _, g := range grids {
		pg, err := sweep.ParseGrid(g)
		if err != nil {
			return usageErr("%v", err)
		}
		spec.Grids = append(spec.Grids, pg)
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "seed" {
			spec.Seed = seed
		}
	})
	if *jobs < 0 {
		return usageErr("--jobs must be 0 (one per core) or more, got %d", *jobs)
	}
	shardI, shardN := 0, 1
	out := *of.out
	if *shard != "" {
		if shardI, shardN, err = sweep.ParseShard(*shard, os.Getenv); err != nil {
			return usageErr("%v", err)
		}
		out = filepath.Join(out, fmt.Sprintf("shard-%d-of-%d", shardI, shardN))
	}
	plan, err := sweep.NewPlan(spec, stderr)
	if err != nil {
		return &exitError{2, err}
	}
	so, err := of.resolve(plan)
	if err != nil {
		return err
	}
	// Make sure the results can be written before spending time on runs.
	if err := os.MkdirAll(out, 0o755); err != nil {
		return usageErr("--out: %v", err)
	}
	probe, err := os.CreateTemp(out, ".kiln-sweep-probe-*")
	if err != nil {
		return usageErr("--out: cannot write into %s: %v", out, err)
	}
	probe.Close()
	os.Remove(probe.Name())
	runs := plan.Runs()
	what := fmt.Sprintf("%d %s (%d %s × %d %s)", len(runs), sweepPlural(len(runs), "run"), len(plan.Cells),
		sweepPlural(len(plan.Cells), "cell"), plan.Repeats, sweepPlural(plan.Repeats, "repeat"))
	if *shard != "" {
		runs = plan.Shard(shardI, shardN)
		what = fmt.Sprintf("shard %d of %d: %d of the %s", shardI, shardN, len(runs), what)
	}
	// An interrupted sweep of the same plan in --out goes on: its finished
	// runs are kept, the others run; another plan there is refused.
	prev, err := previousSweep(out, plan)
	if err != nil {
		return &exitError{2, err}
	}
	if prev != nil {
		done := map[int]bool{}
		for _, r := range prev.Runs {
			done[r.ID] = true
		}
		todo := []sweep.RunSpec{} // not nil: Options.Runs nil means every run
		for _, rs := range runs {
			if !done[rs.ID] {
				todo = append(todo, rs)
			}
		}
		fmt.Fprintf(stderr, "kiln sweep: resuming the sweep in %s: %d of its %d runs are finished and kept, %d to run\n", out, len(runs)-len(todo), len(runs), len(todo))
		runs = todo
	}
	j := *jobs
	if j == 0 {
		j = runtime.GOMAXPROCS(0)
	}
	so.Jobs = j
	at := max(1, min(j, len(runs)))
	fmt.Fprintf(stderr, "kiln sweep: %s, %d at a time, %d threads each (unless fit.threads says otherwise)\n", what, at, max(1, runtime.GOMAXPROCS(0)/at))
	start := time.Now()
	// results.json grows as runs finish: a killed sweep (SIGKILL, a lost
	// node) keeps every finished run, and the same command resumes it.
	sofar := &sweep.Results{Plan: plan}
	if prev != nil {
		sofar.Runs = append(sofar.Runs, prev.Runs...)
	}
	var writeErr error
	onRun := func(r *sweep.RunResult) {
		sofar.Runs = append(sofar.Runs, *r)
		if err := sofar.WriteFile(filepath.Join(out, sweep.ResultsJSON)); err != nil && writeErr == nil {
			writeErr = err
			fmt.Fprintf(stderr, "kiln sweep: warning: cannot write the results so far: %v\n", err)
		}
	}
	res, runErr := plan.Run(ctx, sweep.Options{Runs: runs, Jobs: j, Progress: stderr, Live: sweepIsTerminal(stderr), OnRun: onRun})
	elapsed := time.Since(start)
	if res == nil {
		return runErr
	}
	if prev != nil {
		merged, err := sweep.Merge(prev, res)
		if err != nil {
			return err
		}
		res = merged
	}
	if err := sweepFinish(res, out, so, stdout, stderr); err != nil {
		return err
	}
	if runErr != nil {
		if errors.Is(runErr, context.Canceled) {
			return fmt.Errorf("interrupted: %d of %d runs finished; their results are in %s, and the same command resumes the sweep", len(res.Runs), len(res.Plan.Runs()), out)
		}
		return runErr
	}
	fmt.Fprintf(stderr, "kiln sweep: %d runs in %s\n", len(runs), elapsed.Round(100*time.Millisecond))
	return nil
}

// sweepFinish writes the results into dir and prints the table.
func sweepFinish(res *sweep.Results, dir string, so sweep.SaveOptions, stdout, stderr io.Writer) error {
	written, err := res.Save(dir, so)
	if err != nil {
		return fmt.Errorf("writing the results to %s: %w", dir, err)
	}
	if len(res.Runs) > 0 {
		if err := res.WriteTable(stdout, so.TableOptions); err != nil {
			return err
		}
	}
	fmt.Fprintf(stderr, "kiln sweep: wrote %s: %s\n", dir, strings.Join(written, ", "))
	return nil
}

func cmdSweepMerge(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sweep merge", flag.ContinueOnError)
	of := addSweepOutputFlags(fs)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: kiln sweep merge DIR... [flags]\n\n"+
			"Combines the results of shards ('kiln sweep --shard i/n') into one table, results\n"+
			"files and plots. Each DIR is a sweep's --out directory holding shard-*/ subdirectories,\n"+
			"or a directory holding a results.json (or the results.json file itself).\n\nFlags:\n")
		fs.PrintDefaults()
	}
	pos, err := parse(fs, args, stderr)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usageErr("sweep merge needs at least one directory (see kiln sweep merge -h)")
	}
	var files []string
	for _, p := range pos {
		f, err := sweepResultFiles(p)
		if err != nil {
			return usageErr("%v", err)
		}
		files = append(files, f...)
	}
	var all []*sweep.Results
	for _, f := range files {
		r, err := sweep.ReadFile(f)
		if err != nil {
			return usageErr("%v", err)
		}
		all = append(all, r)
	}
	res, err := sweep.Merge(all...)
	if err != nil {
		return usageErr("merging %s: %v", strings.Join(files, ", "), err)
	}
	so, err := of.resolve(res.Plan)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "kiln sweep merge: %d runs from %d files\n", len(res.Runs), len(files))
	if err := sweepFinish(res, *of.out, so, stdout, stderr); err != nil {
		return err
	}
	if miss := res.Missing(); len(miss) > 0 {
		ids := make([]string, len(miss))
		for i, id := range miss {
			ids[i] = fmt.Sprint(id)
		}
		return fmt.Errorf("%d of %d runs are missing (run ids %s); run the shards that hold them and merge again",
			len(miss), len(res.Plan.Runs()), strings.Join(ids, ", "))
	}
	return nil
}

// sweepResultFiles finds the results.json files that path stands for: those of
// its shard-*/ subdirectories, else its own, or path itself if it is a file.
func sweepResultFiles(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []string{path}, nil
	}
	shards, _ := filepath.Glob(filepath.Join(path, "shard-*", sweep.ResultsJSON))
	if len(shards) > 0 {
		sort.Strings(shards)
		return shards, nil
	}
	own := filepath.Join(path, sweep.ResultsJSON)
	if _, err := os.Stat(own); err != nil {
		return nil, fmt.Errorf("%s has neither shard-*/%s nor %s; pass the --out directory of a sweep or of its shards", path, sweep.ResultsJSON, sweep.ResultsJSON)
	}
	return []string{own}, nil
}

func sweepIsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func sweepPlural(n int, s string) string {
	if n == 1 {
		return s
	}
	return s + "s"
}

// previousSweep reads the results an interrupted sweep left in dir: nil if
// there are none, an error if they belong to another plan (another file,
// grid, overrides or repeats), which would mix two experiments.
func previousSweep(dir string, plan *sweep.Plan) (*sweep.Results, error) {
	path := filepath.Join(dir, sweep.ResultsJSON)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	prev, err := sweep.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s holds results kiln cannot read (%v); choose another --out, or remove it to start over", path, err)
	}
	if _, err := sweep.Merge(&sweep.Results{Plan: plan}, prev); err != nil {
		return nil, fmt.Errorf("--out %s holds another sweep (%v); choose another --out, or remove it to start over", dir, err)
	}
	return prev, nil
}
