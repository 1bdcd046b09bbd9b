package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/callbacks"
	"github.com/kiln-ml/kiln/config"
	"github.com/kiln-ml/kiln/internal/atomicfile"
	"github.com/kiln-ml/kiln/saving"
)

// loadRun reads an experiment with overrides and builds it.
func loadRun(path string, sets []string, seed int64, seedSet bool, stderr io.Writer) (*config.Run, error) {
	e, err := config.Load(path, sets)
	if err != nil {
		return nil, &exitError{2, err}
	}
	if seedSet {
		e.Seed = seed
	} else if !e.SeedGiven {
		fmt.Fprintf(stderr, "kiln: note: %s sets no seed: kiln trains with seed 0, the same every run (Keras would draw one at random); set seed: N or pass --seed N\n", path)
	}
	r, err := config.Build(e, stderr)
	if err != nil {
		return nil, &exitError{2, err}
	}
	return r, nil
}

func cmdFit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("fit", flag.ContinueOnError)
	var sets setFlags
	fs.Var(&sets, "set", "override a setting: dotted.path=value (repeatable), e.g. compile.optimizer.learning_rate=0.03")
	seed := fs.Int64("seed", 0, "random seed (overrides the file's seed)")
	verbose := fs.Int("verbose", -1, "0 silent, 1 progress bar, 2 one line per epoch (overrides fit.verbose)")
	history := fs.String("history", "", "write Keras' history.history as JSON to this file")
	save := fs.String("save", "", "save the trained model (experiment, Keras config, safetensors weights) to this directory")
	initWeights := fs.String("init-weights", "", "start from the weights in this .safetensors file")
	python := fs.String("python", "", "run a Keras program (.py) in this Python with kiln's stand-in keras (host mode); default: kiln's own reader, then python3 if the reader refuses the program")
	noPython := fs.Bool("no-python", false, "never run a Keras program in a Python: kiln's own reader only")
	threads := fs.Int("threads", 0, "cores per training step (overrides fit.threads; default: every core); the results do not depend on it")
	resume := fs.String("resume", "", "back the training state up to this directory, and resume from it if it holds a backup (BackupAndRestore; overrides the backup_dir of one in fit.callbacks)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: kiln fit FILE [flags]\n\nTrains the experiment in FILE and prints Keras' console output.\n\nFlags:")
		fs.PrintDefaults()
	}
	pos, err := parse(fs, args, stderr)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("fit needs exactly one experiment file, got %d arguments (see kiln fit -h)", len(pos))
	}
	seedSet, threadsSet := false, false
	fs.Visit(func(f *flag.Flag) {
		seedSet = seedSet || f.Name == "seed"
		threadsSet = threadsSet || f.Name == "threads"
	})
	if *verbose > 2 {
		return usageErr("--verbose must be 0, 1 or 2, got %d", *verbose)
	}
	if threadsSet {
		if *threads < 1 {
			return usageErr("--threads must be at least 1, got %d (leave it out to use every core)", *threads)
		}
		sets = append(sets, fmt.Sprintf("fit.threads=%d", *threads))
	}
	// Check output locations before training, so a long run is not lost to a typo.
	for _, p := range []string{*history} {
		if p != "" {
			if err := checkWritableDir(filepath.Dir(p)); err != nil {
				return usageErr("--history %s: %v", p, err)
			}
		}
	}
	if (isProgram(pos[0]) || isQuestion(pos[0])) && *resume != "" {
		return usageErr("--resume works with experiment files; for a Keras program, run kiln convert and fit the experiment it prints")
	}
	if isQuestion(pos[0]) {
		if *save != "" {
			return usageErr("--save takes experiment files and programs; for a pasted question, kiln convert it to a file first")
		}
		return cmdFitQuestion(ctx, pos[0], sets, *seed, seedSet, *verbose, *history, stdout, stderr)
	}
	if isProgram(pos[0]) {
		return cmdFitProgram(ctx, pos[0], sets, *seed, seedSet, *verbose, *history, *save, *python, *noPython, stdout, stderr)
	}
	r, err := loadRun(pos[0], sets, *seed, seedSet, stderr)
	if err != nil {
		return err
	}
	if *initWeights != "" {
		if err := r.Model.LoadWeights(*initWeights); err != nil {
			return usageErr("--init-weights: %v", err)
		}
	}
	opts := r.Fit
	if *verbose >= 0 {
		opts.Verbose = *verbose
	}
	opts.Out = stdout
	opts.Warn = stderr
	if *resume != "" {
		var b *callbacks.BackupAndRestore
		for _, cb := range r.Callbacks {
			if c, ok := cb.(*callbacks.BackupAndRestore); ok {
				b = c
			}
		}
		if b == nil {
			b = callbacks.NewBackupAndRestore(*resume)
			r.Callbacks = append(r.Callbacks, b)
		}
		b.BackupDir = *resume
	}
	for _, cb := range r.Callbacks {
		// Check where checkpoints and logs go before training.
		var dir string
		switch c := cb.(type) {
		case *callbacks.ModelCheckpoint:
			dir = filepath.Dir(c.Path)
			c.Out, c.Warn = stdout, stderr
		case *callbacks.CSVLogger:
			dir = filepath.Dir(c.Path)
		case *callbacks.EarlyStopping:
			c.Out, c.Warn = stdout, stderr
			continue
		case *callbacks.TerminateOnNaN:
			c.Out = stdout
			continue
		case *callbacks.BackupAndRestore:
			c.Warn, c.Info = stderr, stderr
			if st, err := os.Stat(c.BackupDir); err == nil && !st.IsDir() {
				return usageErr("%s: BackupAndRestore: backup_dir %s is a file; give a directory", pos[0], c.BackupDir)
			}
			dir = filepath.Dir(filepath.Clean(c.BackupDir))
		default:
			continue
		}
		if err := checkWritableDir(dir); err != nil {
			return usageErr("%s: fit.callbacks: %v", pos[0], err)
		}
	}
	opts.Callbacks = append(opts.Callbacks, r.Callbacks...)
	hist, fitErr := r.Model.Fit(ctx, r.X, r.Y, opts)
	for _, cb := range r.Callbacks {
		// A callback that could not write is reported, after what finished.
		var err error
		switch c := cb.(type) {
		case *callbacks.ModelCheckpoint:
			err = c.Err
		case *callbacks.CSVLogger:
			err = c.Err()
		}
		if err != nil && fitErr == nil {
			fitErr = fmt.Errorf("fit.callbacks: %w", err)
		}
	}
	// Whatever happened, keep what finished: history and weights.
	if hist != nil && *history != "" {
		if err := atomicfile.Write(*history, append(hist.KerasJSON(), '\n')); err != nil {
			return fmt.Errorf("--history: %w", err)
		}
	}
	if fitErr != nil {
		if kiln.IsInputError(fitErr) {
			return &exitError{2, fmt.Errorf("%s: %w", pos[0], fitErr)}
		}
		if errors.Is(fitErr, context.Canceled) {
			n := 0
			if hist != nil {
				n = len(hist.Epoch)
			}
			why := "interrupted"
			if cause := context.Cause(ctx); cause != nil && cause != context.Canceled {
				why = fmt.Sprintf("interrupted (%v)", cause)
			}
			fitErr = fmt.Errorf("%s after %d finished epoch(s); the history of those epochs was kept", why, n)
			for _, cb := range r.Callbacks {
				if b, ok := cb.(*callbacks.BackupAndRestore); ok {
					fitErr = fmt.Errorf("%w; the training state was backed up to %s: run the same command again to resume", fitErr, b.BackupDir)
				}
			}
		}
		if *save != "" && hist != nil && len(hist.Epoch) > 0 {
			if err := saving.Save(*save, r.Model, r.Exp, &saving.Options{Warnings: stderr, Classes: r.Classes}); err == nil {
				fmt.Fprintf(stderr, "kiln: saved the model as it was when training stopped to %s\n", *save)
			} else {
				fmt.Fprintf(stderr, "kiln: warning: the model was not saved: %v\n", err)
			}
		}
		return fitErr
	}
	if *save != "" {
		if err := saving.Save(*save, r.Model, r.Exp, &saving.Options{Warnings: stderr, Classes: r.Classes}); err != nil {
			return err // "save DIR: ..."
		}
	}
	return nil
}

func checkWritableDir(dir string) error {
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("directory %s does not exist; create it first", dir)
	}
	if !st.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	return nil
}
