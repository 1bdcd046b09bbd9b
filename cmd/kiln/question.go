package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/config"
	"github.com/kiln-ml/kiln/paste"
	"github.com/kiln-ml/kiln/program"
)

// fileKind says what a command's FILE is: an experiment file, a Keras
// program, a pasted question or notebook, or a Keras model JSON. Known
// extensions decide; otherwise paste.Kind reads the content. A file that
// cannot be read is left to the command (it reports the path).
func fileKind(path string) (string, error) {
	switch strings.ToLower(ext(path)) {
	case ".yaml", ".yml":
		return paste.KindExperiment, nil
	case ".py":
		return paste.KindPython, nil
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return paste.KindExperiment, nil
	}
	k, err := paste.Kind(path, src)
	if err != nil {
		return "", &exitError{2, err}
	}
	return k, nil
}

// isQuestion reports whether path is a pasted question or a notebook:
// code, prose and Keras console output mixed.
func isQuestion(path string) bool {
	k, err := fileKind(path)
	return err == nil && (k == paste.KindQuestion || k == paste.KindNotebook)
}

// loadQuestion splits a pasted question into its program and its logs.
func loadQuestion(path string) (*paste.Question, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, &exitError{2, fmt.Errorf("%s: %w", path, err)}
	}
	q, err := paste.Split(path, src)
	if err != nil {
		return nil, &exitError{2, err}
	}
	if len(strings.TrimSpace(string(q.Source))) == 0 {
		return nil, &exitError{2, fmt.Errorf("%s: found no Python code in the text; put the program between ``` fences, or give kiln the .py file", path)}
	}
	return q, nil
}

// questionExperiment is the experiment of the question's first fit, read
// with kiln's reader (a question's code is never run by a Python).
func questionExperiment(ctx context.Context, q *paste.Question, sets []string, stderr io.Writer) (*config.Experiment, error) {
	in, err := program.Run(ctx, q.File, q.Source, program.Options{Notes: stderr, Sets: sets, DryRun: true})
	if err != nil {
		return nil, &exitError{2, err}
	}
	if len(in.Fits) == 0 {
		return nil, &exitError{2, fmt.Errorf("%s: the question's code never calls model.fit, so there is no training to run", q.File)}
	}
	return in.Fits[0].Experiment, nil
}

// pastedVariant is one pasted run and the settings that make kiln's run of
// the question's program match it.
type pastedVariant struct {
	run  paste.Run
	sets []string // e.g. compile.optimizer.learning_rate=0.03
	why  string   // what differs from the program as written
}

var numberRE = regexp.MustCompile(`\d+(?:\.\d+)?(?:[eE]-?\d+)?`)

// variants matches the pasted runs to settings of the experiment e: a run
// whose caption names the program's learning rate is the program as
// written; one whose caption names another learning rate ("... 0.03") is
// the program at that rate. Runs whose captions name neither are taken to
// be the program as written.
func variants(q *paste.Question, e *config.Experiment) []pastedVariant {
	lr, _ := toFloat(e.Compile.Optimizer.Args["learning_rate"])
	var out []pastedVariant
	for _, r := range q.Runs {
		v := pastedVariant{run: r}
		low := strings.ToLower(r.Caption)
		if lr > 0 && (strings.Contains(low, "learning rate") || strings.Contains(low, "lr") || strings.Contains(low, "rate")) {
			var other []float64
			same := false
			for _, n := range numberRE.FindAllString(r.Caption, -1) {
				f, err := strconv.ParseFloat(n, 64)
				if err != nil || f <= 0 || f >= 10 {
					continue
				}
				if f == lr {
					same = true
				} else if strings.Contains(n, ".") {
					other = append(other, f)
				}
			}
			if !same && len(other) == 1 {
				v.sets = []string{"compile.optimizer.learning_rate=" + strconv.FormatFloat(other[0], 'g', -1, 64)}
				v.why = fmt.Sprintf("learning rate %g", other[0])
			}
		}
		out = append(out, v)
	}
	return out
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	}
	return 0, false
}

// kilnRun trains the question's program with extra settings, silently,
// and returns its History.
func kilnRun(ctx context.Context, q *paste.Question, sets []string, seed int64, seedSet bool) (*kiln.History, error) {
	in, err := program.Run(ctx, q.File, q.Source, program.Options{Sets: sets, Seed: seed, SeedSet: seedSet, Verbose: 0, VerboseSet: true})
	if err != nil {
		return nil, err
	}
	if len(in.Fits) == 0 || in.Fits[0].History == nil {
		return nil, fmt.Errorf("the question's code trained nothing")
	}
	return in.Fits[0].History, nil
}

// printBeside prints a pasted run's epochs next to kiln's, metric by
// metric, and says whether kiln reproduced it: the same course within
// run-to-run noise (kiln's initial weights and shuffles are not the
// asker's).
func printBeside(w io.Writer, title string, r paste.Run, h *kiln.History) (reproduced bool) {
	fmt.Fprintf(w, "\n%s\n", title)
	var names []string
	for _, m := range firstMetrics(r) {
		if _, ok := h.History[m]; ok {
			names = append(names, m)
		}
	}
	if len(names) == 0 {
		fmt.Fprintf(w, "  (the pasted log and kiln's run share no metric)\n")
		return false
	}
	fmt.Fprintf(w, "  %-6s", "epoch")
	for _, n := range names {
		fmt.Fprintf(w, "  %-27s", n+" pasted → kiln")
	}
	fmt.Fprintln(w)
	// The training curve decides: another initialisation and shuffle order
	// move a training loss by some percent and an accuracy by a point or
	// two, while validation values of such runs swing far more from epoch
	// to epoch (the pasted runs' own do).
	type spread struct{ ratio, diff float64 }
	train, val := spread{1, 0}, spread{1, 0}
	for _, ep := range r.Epochs {
		i := ep.Epoch - 1
		if ep.Partial || i < 0 || i >= len(h.Epoch) {
			continue
		}
		fmt.Fprintf(w, "  %-6d", ep.Epoch)
		for _, n := range names {
			pv, ok := metric(ep, n)
			kv := h.History[n][i]
			cell := "-"
			if ok {
				cell = fmt.Sprintf("%s → %.4f", pv.Text, kv)
				sp := &train
				if strings.HasPrefix(n, "val_") {
					sp = &val
				}
				if strings.Contains(n, "loss") {
					sp.ratio = math.Max(sp.ratio, math.Max(kv/pv.Value, pv.Value/kv))
				} else {
					sp.diff = math.Max(sp.diff, math.Abs(kv-pv.Value))
				}
			}
			fmt.Fprintf(w, "  %-27s", cell)
		}
		fmt.Fprintln(w)
	}
	reproduced = train.ratio <= 1.5 && train.diff <= 0.02
	verdict := "reproduced"
	if !reproduced {
		verdict = "NOT reproduced"
	}
	fmt.Fprintf(w, "  %s: training loss within ×%.2f and accuracy within %.3f of the pasted values in every epoch (kiln's initial weights and shuffles are not the asker's: within ×1.5 and 0.02 counts)", verdict, train.ratio, train.diff)
	if val.ratio > 1 || val.diff > 0 {
		fmt.Fprintf(w, "; validation within ×%.2f and %.3f", val.ratio, val.diff)
	}
	fmt.Fprintln(w)
	return reproduced
}

func firstMetrics(r paste.Run) []string {
	for _, ep := range r.Epochs {
		if !ep.Partial {
			var names []string
			for _, m := range ep.Metrics {
				names = append(names, kerasName(m.Name))
			}
			return names
		}
	}
	return nil
}

func metric(ep paste.Epoch, name string) (paste.Value, bool) {
	for _, m := range ep.Metrics {
		if kerasName(m.Name) == name {
			return m, true
		}
	}
	return paste.Value{}, false
}

// kerasName is a logged metric's name today: Keras 2.2 and older wrote
// "acc" and "val_acc".
func kerasName(n string) string {
	switch n {
	case "acc":
		return "accuracy"
	case "val_acc":
		return "val_accuracy"
	}
	return n
}

// comparePasted runs kiln on every pasted run's settings and prints them
// side by side; it returns one line per run for explain's reasoning.
func comparePasted(ctx context.Context, w io.Writer, q *paste.Question, e *config.Experiment, sets []string, seed int64, seedSet bool, asWritten *kiln.History) ([]string, error) {
	if len(q.Runs) == 0 {
		return nil, nil
	}
	var lines []string
	var first *kiln.History
	var firstPasted *paste.Run
	for i, v := range variants(q, e) {
		h := asWritten
		if h == nil || len(v.sets) > 0 {
			var err error
			if h, err = kilnRun(ctx, q, append(append([]string(nil), sets...), v.sets...), seed, seedSet); err != nil {
				return nil, err
			}
		}
		what := "the question's program as written"
		if v.why != "" {
			what = "the program at " + v.why
		}
		title := fmt.Sprintf("Pasted run %d (%s:%d) beside kiln's run of %s:", i+1, q.File, v.run.Line, what)
		if v.run.Caption != "" {
			title = fmt.Sprintf("Pasted run %d (%s:%d, %q) beside kiln's run of %s:", i+1, q.File, v.run.Line, v.run.Caption, what)
		}
		ok := printBeside(w, title, v.run, h)
		status := "reproduced"
		if !ok {
			status = "not reproduced"
		}
		lines = append(lines, fmt.Sprintf("pasted run %d (%s): %s", i+1, what, status))
		if i == 0 {
			first, firstPasted = h, &q.Runs[0]
			continue
		}
		// The difference between pasted runs, next to kiln's.
		if v.why != "" && first != nil && len(v.run.Epochs) > 0 && len(firstPasted.Epochs) > 0 {
			p0, ok0 := metric(firstPasted.Epochs[0], "loss")
			p1, ok1 := metric(v.run.Epochs[0], "loss")
			if ok0 && ok1 && len(h.History["loss"]) > 0 && len(first.History["loss"]) > 0 {
				k0, k1 := first.History["loss"][0], h.History["loss"][0]
				line := fmt.Sprintf("between pasted runs 1 and %d (%s) the epoch-1 loss changes ×%.2f (%s → %s); kiln's runs change ×%.2f (%.4f → %.4f)",
					i+1, v.why, p1.Value/p0.Value, p0.Text, p1.Text, k1/k0, k0, k1)
				fmt.Fprintf(w, "  %s\n", line)
				lines = append(lines, line)
			}
		}
	}
	return lines, nil
}
