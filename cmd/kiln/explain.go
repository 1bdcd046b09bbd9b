package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/kiln-ml/kiln/config"
	"github.com/kiln-ml/kiln/explain"
)

func cmdExplain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("explain", flag.ContinueOnError)
	var sets setFlags
	fs.Var(&sets, "set", "override a setting: dotted.path=value (repeatable), e.g. compile.optimizer.learning_rate=0.03")
	asJSON := fs.Bool("json", false, "print the findings as JSON (stable schema) instead of text")
	reportDir := fs.String("report", "", "also write report.md, report.html and plots to this directory")
	budget := fs.Float64("budget", explain.DefaultBudget.Seconds(), "seconds to aim for; more probes rows and epochs, which makes the dynamic findings more certain")
	lrFactor := fs.Float64("lr-factor", explain.DefaultLRFactor, "k of the learning-rate probe (the run is repeated at lr×k)")
	static := fs.Bool("static", false, "static checks only: no training runs")
	quiet := fs.Bool("quiet", false, "do not print probe progress on stderr")
	failOn := fs.String("fail-on", "", "exit 1 when a finding of this severity or worse is found: error or warning (default: exit 0 whenever explain ran)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `Usage: kiln explain FILE [flags]

Explains why training the experiment in FILE does what it does: static checks
of the data and model, probes with the real fit (fixed seeds; the
experiment's optimizer steps when the budget allows; lr×3 and lr÷10), and for
every fix a counterfactual run that shows its effect, alone and on top of the
other fixes.
Explain never modifies the experiment or its data.

Exit codes: 0 explained (whatever it found; see --fail-on), 1 explain failed
(or --fail-on matched), 2 bad usage or an experiment file it cannot read.

Flags:`)
		fs.PrintDefaults()
	}
	pos, err := parse(fs, args, stderr)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("explain needs exactly one experiment file, got %d arguments (see kiln explain -h)", len(pos))
	}
	if !(*budget > 0) {
		return usageErr("--budget must be a positive number of seconds, got %g", *budget)
	}
	if !(*lrFactor > 1) {
		return usageErr("--lr-factor must be above 1, got %g", *lrFactor)
	}
	if *failOn != "" && *failOn != "error" && *failOn != "warning" {
		return usageErr("--fail-on must be error or warning, got %q", *failOn)
	}
	if *reportDir != "" {
		if err := checkReportDir(*reportDir, pos[0]); err != nil {
			return usageErr("--report %s: %v", *reportDir, err)
		}
	}
	opts := explain.Options{Sets: sets, Budget: time.Duration(*budget * float64(time.Second)), LRFactor: *lrFactor, NoProbes: *static}
	if !*quiet && !*asJSON {
		opts.Progress = stderr
		opts.Live = sweepIsTerminal(stderr)
	}
	var rep *explain.Report
	var exp *config.Experiment
	question := isQuestion(pos[0])
	if question || isProgram(pos[0]) {
		exp, err = loadExperiment(ctx, pos[0], opts.Sets, stderr)
		if err != nil {
			return err
		}
		if rep, err = explain.Explain(ctx, exp, opts); rep != nil {
			rep.Sets = opts.Sets
		}
	} else {
		rep, err = explain.File(ctx, pos[0], opts)
	}
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return fmt.Errorf("interrupted")
		}
		if isInputError(err) {
			return &exitError{2, err}
		}
		return err
	}
	if *asJSON {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteText(stdout)
	}
	if err != nil {
		return err
	}
	if question && !*asJSON {
		// The pasted logs are the asker's observation: which of them kiln
		// reproduced, and how the runs differ.
		q, err := loadQuestion(pos[0])
		if err != nil {
			return err
		}
		if len(q.Runs) > 0 {
			fmt.Fprintf(stdout, "\nThe pasted logs (%d run(s)), each beside kiln's run of the same settings (seed %d):\n", len(q.Runs), exp.Seed)
			if _, err := comparePasted(ctx, stdout, q, exp, opts.Sets, exp.Seed, true, nil); err != nil {
				return err
			}
		}
	}
	if *reportDir != "" {
		if err := rep.WriteReport(*reportDir); err != nil {
			return fmt.Errorf("--report: %w", err)
		}
		if !*asJSON {
			fmt.Fprintf(stdout, "\nReport: %s\n", filepath.Join(*reportDir, "report.html"))
		}
	}
	c := rep.Counts()
	switch *failOn {
	case "error":
		if c[explain.Error] > 0 {
			return &exitError{1, fmt.Errorf("explain: %d error finding(s) (--fail-on error)", c[explain.Error])}
		}
	case "warning":
		if n := c[explain.Error] + c[explain.Warning]; n > 0 {
			return &exitError{1, fmt.Errorf("explain: %d error/warning finding(s) (--fail-on warning)", n)}
		}
	}
	return nil
}

// checkReportDir refuses a report directory that would overwrite the
// experiment's own directory contents by accident: it must be new or a
// directory (explain only writes report.md, report.html and *.png there).
func checkReportDir(dir, experiment string) error {
	st, err := os.Stat(dir)
	if err == nil && !st.IsDir() {
		return fmt.Errorf("exists and is not a directory")
	}
	ad, _ := filepath.Abs(dir)
	ae, _ := filepath.Abs(filepath.Dir(experiment))
	if ad == ae {
		return fmt.Errorf("is the experiment's own directory; choose a separate directory for the report")
	}
	return nil
}
