package sweep

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/kiln-ml/kiln/callbacks"
	"github.com/kiln-ml/kiln/config"
)

// Options control Run.
type Options struct {
	// Runs are the runs to do (e.g. one shard); nil means all of the plan's.
	Runs []RunSpec
	// Jobs is how many runs train at once; 0 means GOMAXPROCS. Each run
	// trains and validates on max(1, GOMAXPROCS/Jobs) threads (unless its
	// experiment sets fit.threads), so the jobs share the cores without
	// oversubscribing them; results depend neither on Jobs nor on threads.
	Jobs int
	// Progress receives one line per finished run (nil: none).
	Progress io.Writer
	// Live, with Progress a terminal, keeps a status line of finished
	// runs and epochs at the bottom, redrawn as epochs finish.
	Live bool
	// OnRun, if set, is called with each run as it finishes, one call at a
	// time (e.g. to write the results so far, so that a killed sweep keeps
	// its finished runs).
	OnRun func(*RunResult)
}

// Run trains the plan's runs, Jobs at a time, and returns the finished
// ones, ordered by id whatever the order they finished in. A cancelled ctx
// stops the runs in flight after their current step; they are dropped, the
// finished ones are returned, with ctx's error. A run that fails (or
// panics) does not stop the others; the error lists every failed run.
// The plan must come from NewPlan (a plan read from results.json cannot
// run: it lacks the experiment file's contents).
func (p *Plan) Run(ctx context.Context, o Options) (*Results, error) {
	if p.src == nil {
		return nil, fmt.Errorf("sweep: this plan was read from results and cannot run; make one with NewPlan")
	}
	runs := o.Runs
	if runs == nil {
		runs = p.Runs()
	}
	for _, r := range runs {
		if r.Cell < 0 || r.Cell >= len(p.Cells) || r.ID != r.Cell*p.Repeats+r.Repeat {
			return nil, fmt.Errorf("sweep: run %+v is not in the plan", r)
		}
	}
	jobs := o.Jobs
	if jobs <= 0 {
		jobs = runtime.GOMAXPROCS(0)
	}
	if len(runs) == 0 {
		return &Results{Plan: p}, nil
	}
	jobs = max(1, min(jobs, len(runs)))
	threads := max(1, runtime.GOMAXPROCS(0)/jobs) // per run
	pr := &progress{w: o.Progress, live: o.Live && o.Progress != nil, total: len(runs), start: time.Now()}
	for _, r := range runs {
		pr.epochsTotal += p.Cells[r.Cell].epochs
	}

	var onRun sync.Mutex
	results := make([]*RunResult, len(runs))
	errs := make([]error, len(runs))
	next := make(chan int)
	var wg sync.WaitGroup
	for range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range next {
				start := time.Now()
				res, err := p.runOne(ctx, runs[k], threads, pr)
				if err != nil {
					errs[k] = err
					if ctx.Err() == nil {
						pr.failed(runs[k], p.Cells[runs[k].Cell].Label, err)
					}
					continue
				}
				res.Seconds = time.Since(start).Seconds()
				results[k] = res
				pr.finished(res, p.Cells[res.Cell].Label)
				if o.OnRun != nil {
					onRun.Lock()
					o.OnRun(res)
					onRun.Unlock()
				}
			}
		}()
	}
feed:
	for k := range runs {
		select {
		case next <- k:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	pr.done()

	out := &Results{Plan: p}
	for _, r := range results {
		if r != nil {
			out.Runs = append(out.Runs, *r)
		}
	}
	out.sortRuns()
	if err := ctx.Err(); err != nil {
		return out, err
	}
	var msgs []string
	for k, err := range errs {
		if err != nil {
			msgs = append(msgs, fmt.Sprintf("run %d: %v", runs[k].ID, err))
		}
	}
	if len(msgs) > 0 {
		return out, fmt.Errorf("%d of %d runs failed:\n  %s", len(msgs), len(runs), strings.Join(msgs, "\n  "))
	}
	return out, nil
}

// runOne builds and trains one run, on threads threads unless its
// experiment sets fit.threads.
func (p *Plan) runOne(ctx context.Context, rs RunSpec, threads int, pr *progress) (res *RunResult, err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	defer func() {
		if v := recover(); v != nil {
			res, err = nil, fmt.Errorf("panic: %v\n%s", v, debug.Stack())
		}
	}()
	e, err := p.parse(p.cellSets(rs.Cell))
	if err != nil {
		return nil, err
	}
	e.Seed = rs.Seed
	r, err := config.Build(e, io.Discard)
	if err != nil {
		return nil, err
	}
	opts := r.Fit
	if opts.Threads == 0 {
		opts.Threads = threads
	}
	opts.Verbose, opts.Out, opts.Workers = 0, io.Discard, opts.Threads
	opts.Callbacks = append(r.Callbacks, callbacks.Func{OnEpochEnd: func(int, callbacks.Logs) { pr.epoch() }})
	h, err := r.Model.Fit(ctx, r.X, r.Y, opts)
	if err != nil {
		return nil, err
	}
	res = &RunResult{ID: rs.ID, Cell: rs.Cell, Repeat: rs.Repeat, Seed: rs.Seed,
		Epochs: append([]int{}, h.Epoch...), Keys: append([]string{}, h.Keys...), History: map[string]Values{}}
	for _, k := range h.Keys {
		res.History[k] = append(Values{}, h.History[k]...)
	}
	return res, nil
}

// progress prints one line per finished run and, if live, a status line.
type progress struct {
	mu             sync.Mutex
	w              io.Writer
	live           bool
	total, ok, bad int
	epochs         int
	epochsTotal    int
	status         bool // a status line is on screen
	start          time.Time
}

func (pr *progress) epoch() {
	if pr.w == nil {
		return
	}
	pr.mu.Lock()
	defer pr.mu.Unlock()
	pr.epochs++
	pr.redraw()
}

func (pr *progress) redraw() {
	if !pr.live {
		return
	}
	const width = 24
	fill := 0
	if pr.epochsTotal > 0 {
		fill = min(width, width*pr.epochs/pr.epochsTotal)
	}
	fmt.Fprintf(pr.w, "\r\x1b[K[%s%s] %d/%d runs, %d/%d epochs%s", strings.Repeat("=", fill), strings.Repeat(" ", width-fill),
		pr.ok, pr.total, pr.epochs, pr.epochsTotal, pr.left())
	pr.status = true
}

func (pr *progress) line(format string, a ...any) {
	if pr.status {
		io.WriteString(pr.w, "\r\x1b[K")
		pr.status = false
	}
	fmt.Fprintf(pr.w, format, a...)
	pr.redraw()
}

func (pr *progress) finished(r *RunResult, label string) {
	if pr.w == nil {
		return
	}
	pr.mu.Lock()
	defer pr.mu.Unlock()
	pr.ok++
	var vals []string
	for _, k := range r.Keys {
		if v := r.History[k]; len(v) > 0 {
			vals = append(vals, fmt.Sprintf("%s %s", k, formatG(v[len(v)-1])))
		}
	}
	pr.line("[%*d/%d] run %d  %s seed=%d  %s  (%d epochs, %s)\n", len(fmt.Sprint(pr.total)), pr.ok+pr.bad, pr.total,
		r.ID, cellName(label, r.Cell), r.Seed, strings.Join(vals, "  "), len(r.Epochs), seconds(r.Seconds))
}

func (pr *progress) failed(rs RunSpec, label string, err error) {
	if pr.w == nil {
		return
	}
	pr.mu.Lock()
	defer pr.mu.Unlock()
	pr.bad++
	msg, _, _ := strings.Cut(err.Error(), "\n")
	pr.line("[%*d/%d] run %d  %s seed=%d  FAILED: %s\n", len(fmt.Sprint(pr.total)), pr.ok+pr.bad, pr.total,
		rs.ID, cellName(label, rs.Cell), rs.Seed, msg)
}

// left estimates the time left from the epochs done so far, as Keras'
// progress bar does from its steps: ", ~12s left" ("" before the first
// epoch).
func (pr *progress) left() string {
	if pr.epochs == 0 || pr.epochsTotal <= pr.epochs || pr.start.IsZero() {
		return ""
	}
	per := time.Since(pr.start) / time.Duration(pr.epochs)
	rest := per * time.Duration(pr.epochsTotal-pr.epochs)
	return ", ~" + eta(rest) + " left"
}

// eta formats a duration as Keras' ETA does: 42s, 3:05, 1:02:03.
func eta(d time.Duration) string {
	s := int(d.Round(time.Second) / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%d:%02d", s/60, s%60)
	}
	return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
}

// done clears the status line.
func (pr *progress) done() {
	if pr.w == nil {
		return
	}
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if pr.status {
		io.WriteString(pr.w, "\r\x1b[K")
		pr.status = false
	}
}

func cellName(label string, cell int) string {
	if label == "" {
		return fmt.Sprintf("cell %d", cell)
	}
	return label
}

func seconds(s float64) string {
	d := time.Duration(s * float64(time.Second))
	switch {
	case d < 10*time.Second:
		return fmt.Sprintf("%.2fs", s)
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", s)
	}
	return d.Round(time.Second).String()
}
