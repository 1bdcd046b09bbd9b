package sweep

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"github.com/kiln-ml/kiln/internal/atomicfile"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/kiln-ml/kiln/report"
)

// Output file names in a sweep's directory.
const (
	ResultsJSON = "results.json" // the plan and every run's History
	ResultsCSV  = "results.csv"  // one row per run and epoch
	SummaryCSV  = "summary.csv"  // one row per cell: the table's numbers
)

// SaveOptions choose what Save writes.
type SaveOptions struct {
	TableOptions
	// Plots are the plot formats to write: "png", "svg" (none if empty).
	Plots []string
	// Jobs is how many plots are drawn at once; 0 means GOMAXPROCS.
	Jobs int
}

// Save writes results.json, results.csv, summary.csv and one plot per
// History key and format (KEY.png, KEY.svg) into dir, creating it if
// needed, and returns the names of the files written. Every file is
// written atomically.
func (r *Results) Save(dir string, o SaveOptions) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var written []string
	if err := r.WriteFile(filepath.Join(dir, ResultsJSON)); err != nil {
		return written, err
	}
	written = append(written, ResultsJSON)
	for _, f := range []struct {
		name  string
		write func() []byte
	}{{ResultsCSV, r.resultsCSV}, {SummaryCSV, func() []byte { return r.summaryCSV(o.TableOptions) }}} {
		if err := atomicfile.Write(filepath.Join(dir, f.name), f.write()); err != nil {
			return written, err
		}
		written = append(written, f.name)
	}
	if len(r.Runs) == 0 {
		return written, nil
	}
	keys := o.Keys
	if keys == nil {
		keys = r.Keys()
	}
	// Drawing a plot takes tens of milliseconds: draw them in parallel.
	type job struct {
		lp   *report.LinePlot
		name string
	}
	var todo []job
	for _, k := range keys {
		lp := r.Plot(k)
		for _, ext := range o.Plots {
			todo = append(todo, job{lp, fileName(k) + "." + ext})
		}
	}
	errs := make([]error, len(todo))
	jobs := o.Jobs
	if jobs <= 0 {
		jobs = runtime.GOMAXPROCS(0)
	}
	sem := make(chan struct{}, jobs)
	var wg sync.WaitGroup
	for i, j := range todo {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = j.lp.Save(filepath.Join(dir, j.name))
		}()
	}
	wg.Wait()
	for i, j := range todo {
		if errs[i] != nil {
			return written, errs[i]
		}
		written = append(written, j.name)
	}
	return written, nil
}

// fileName makes a History key safe as a file name.
func fileName(k string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == ':' || r == 0 {
			return '_'
		}
		return r
	}, k)
}

// Plot returns the overlay plot of key against the epoch: one line per
// cell (the mean over its finished runs at each epoch) with a band of
// mean ± sd when the cell has several runs. Loss plots use a log scale
// when the curves span more than a factor of 30.
func (r *Results) Plot(key string) *report.LinePlot {
	lp := &report.LinePlot{Title: key + " by epoch", XLabel: "epoch", YLabel: key}
	if r.Plan.Repeats > 1 {
		lp.Title += fmt.Sprintf(" (mean ± sd over %d repeats)", r.Plan.Repeats)
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, c := range r.Plan.Cells {
		perEpoch := map[int][]float64{}
		last := -1
		for _, run := range r.Runs {
			if run.Cell != c.Index {
				continue
			}
			for i, v := range run.History[key] {
				if i < len(run.Epochs) {
					e := run.Epochs[i]
					perEpoch[e] = append(perEpoch[e], v)
					last = max(last, e)
				}
			}
		}
		if last < 0 {
			continue
		}
		s := report.Series{Name: cellName(c.Label, c.Index)}
		band := r.Plan.Repeats > 1
		for e := 0; e <= last; e++ {
			vs, ok := perEpoch[e]
			if !ok {
				continue
			}
			st := stat(vs)
			s.X = append(s.X, float64(e+1))
			s.Y = append(s.Y, st.Mean)
			sd := st.SD
			if math.IsNaN(sd) {
				sd = 0
			}
			s.Lo, s.Hi = append(s.Lo, st.Mean-sd), append(s.Hi, st.Mean+sd)
			if !math.IsNaN(st.Mean) && !math.IsInf(st.Mean, 0) {
				lo, hi = math.Min(lo, st.Mean), math.Max(hi, st.Mean)
			}
		}
		if !band {
			s.Lo, s.Hi = nil, nil
		}
		lp.Series = append(lp.Series, s)
	}
	lp.LogY = LowerIsBetter(key) && lo > 0 && hi/lo > 30
	return lp
}

// csvFloat formats v so that it reads back to the same float64.
func csvFloat(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// resultsCSV is one row per run and epoch: run, cell, repeat, seed, one
// column per grid (named by its path), epoch (0-based, as Keras'
// CSVLogger), then one column per History key.
func (r *Results) resultsCSV() []byte {
	keys := r.Keys()
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	head := []string{"run", "cell", "repeat", "seed"}
	for _, g := range r.Plan.Grids {
		head = append(head, g.Path)
	}
	w.Write(append(append(head, "epoch"), keys...))
	for _, run := range r.Runs {
		for i, e := range run.Epochs {
			row := []string{strconv.Itoa(run.ID), strconv.Itoa(run.Cell), strconv.Itoa(run.Repeat), strconv.FormatInt(run.Seed, 10)}
			row = append(row, r.Plan.Cells[run.Cell].Values...)
			row = append(row, strconv.Itoa(e))
			for _, k := range keys {
				v := run.History[k]
				if i < len(v) {
					row = append(row, csvFloat(v[i]))
				} else {
					row = append(row, "")
				}
			}
			w.Write(row)
		}
	}
	w.Flush()
	return b.Bytes()
}

// summaryCSV is one row per cell: cell, label, one column per grid, runs,
// then for each History key its final and best mean and sd and the ratio
// to the baseline (KEY_final_mean, KEY_final_sd, KEY_best_mean,
// KEY_best_sd, KEY_ratio). Missing values are empty.
func (r *Results) summaryCSV(o TableOptions) []byte {
	keys := o.Keys
	if keys == nil {
		keys = r.Keys()
	}
	num := func(v float64) string {
		if math.IsNaN(v) {
			return ""
		}
		return csvFloat(v)
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	head := []string{"cell", "label"}
	for _, g := range r.Plan.Grids {
		head = append(head, g.Path)
	}
	head = append(head, "runs")
	for _, k := range keys {
		head = append(head, k+"_final_mean", k+"_final_sd", k+"_best_mean", k+"_best_sd", k+"_ratio")
	}
	w.Write(head)
	for _, s := range r.Summarize(o.Baseline) {
		row := []string{strconv.Itoa(s.Cell), s.Label}
		row = append(row, r.Plan.Cells[s.Cell].Values...)
		row = append(row, strconv.Itoa(s.Runs))
		for _, k := range keys {
			ks := s.Keys[k]
			row = append(row, num(ks.Final.Mean), num(ks.Final.SD), num(ks.Best.Mean), num(ks.Best.SD), num(ks.Ratio))
		}
		w.Write(row)
	}
	w.Flush()
	return b.Bytes()
}
