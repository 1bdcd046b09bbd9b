package program

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/config"
)

var update = flag.Bool("update", false, "rewrite testdata/corpus/*.golden from kiln's reader")

// corpusSets make a corpus program cheap to train in tests: every fit's
// experiment keeps 1000 training and 500 test rows and trains one epoch.
// The golden files show the programs as written.
var corpusSets = []string{"data.limit=1000", "data.validation_limit=500", "fit.epochs=1"}

// corpusSetsFor are the sets for one program: all of its test rows for a
// program that lines predictions on the test split up with y_test, fewer
// rows for the costliest convnet.
func corpusSetsFor(name string) []string {
	switch name {
	case "030_predict_argmax":
		return []string{"data.limit=1000", "fit.epochs=1"}
	case "028_keras2_convnet_model_add":
		return []string{"data.limit=200", "data.validation_limit=100", "fit.epochs=1"}
	}
	return corpusSets
}

// corpusPrograms are testdata/corpus/*.py.
func corpusPrograms(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("testdata/corpus/*.py")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 40 {
		t.Fatalf("the corpus has %d programs, want at least 40", len(files))
	}
	return files
}

// convertCorpus reads a corpus program on a dry run (kiln convert) and
// writes what its golden file holds: a header with the number of fits and
// kiln's notes, then the experiment of each fit (kiln convert prints the
// first); or, for a program kiln's reader refuses, the error.
func convertCorpus(file string) (golden string, in *Interp, err error) {
	src, err := os.ReadFile(file)
	if err != nil {
		return "", nil, err
	}
	base := filepath.Base(file)
	var notes bytes.Buffer
	in, runErr := Run(context.Background(), base, src, Options{Notes: &notes, DryRun: true})
	var b strings.Builder
	fmt.Fprintf(&b, "# kiln convert %s\n", base)
	if runErr != nil {
		b.WriteString("# refused\n")
	} else {
		fmt.Fprintf(&b, "# fits: %d\n", len(in.Fits))
	}
	for _, l := range strings.Split(strings.TrimRight(notes.String(), "\n"), "\n") {
		if l != "" {
			b.WriteString("# " + l + "\n")
		}
	}
	if runErr != nil {
		b.WriteString(runErr.Error() + "\n")
		return b.String(), in, runErr
	}
	for i, f := range in.Fits {
		y, err := f.Experiment.Marshal()
		if err != nil {
			return "", nil, err
		}
		if i > 0 {
			fmt.Fprintf(&b, "--- # fit %d of %d, at %s\n", i+1, len(in.Fits), f.At)
		}
		b.Write(y)
	}
	return b.String(), in, nil
}

// TestCorpus: every corpus program converts to its golden file — the
// experiments of its fits, or for a refused program the error at its
// file:line:col. Programs named *_refused_* must be refused, the others
// must convert. go test -run TestCorpus -update rewrites the golden files.
func TestCorpus(t *testing.T) {
	for _, file := range corpusPrograms(t) {
		name := strings.TrimSuffix(filepath.Base(file), ".py")
		t.Run(name, func(t *testing.T) {
			got, in, err := convertCorpus(file)
			refused := strings.Contains(name, "_refused_")
			switch {
			case got == "":
				t.Fatal(err)
			case refused && err == nil:
				t.Errorf("kiln's reader converts %s (%d fits); its name says it is refused", name, len(in.Fits))
			case !refused && err != nil:
				t.Errorf("kiln's reader refuses %s: %v", name, err)
			case !refused && len(in.Fits) == 0:
				t.Errorf("%s never calls model.fit", name)
			}
			golden := strings.TrimSuffix(file, ".py") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (go test -run TestCorpus -update writes it)", err)
			}
			if got != string(want) {
				t.Errorf("kiln convert %s:\n%s\nwant (%s):\n%s", name, got, golden, want)
			}
		})
	}
}

// TestCorpusConvertThenFit: for every corpus program kiln's reader
// converts, kiln fit of the program and kiln fit of kiln convert's
// experiment give the same History, bit for bit, under the same --set
// overrides (corpusSets: a few rows and one epoch, to keep the test
// short); or they fail with the same error.
func TestCorpusConvertThenFit(t *testing.T) {
	n := 0
	for _, file := range corpusPrograms(t) {
		name := strings.TrimSuffix(filepath.Base(file), ".py")
		if strings.Contains(name, "_refused_") {
			continue
		}
		n++
		t.Run(name, func(t *testing.T) {
			if testing.Short() && !strings.HasPrefix(name, "00") {
				t.Skip("-short: the first programs only")
			}
			_, dry, err := convertCorpus(file)
			if err != nil {
				t.Fatal(err)
			}
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			base := filepath.Base(file)
			sets := corpusSetsFor(name)
			in, progErr := Run(context.Background(), base, src, Options{Sets: sets, Verbose: 0, VerboseSet: true})
			if progErr == nil && (len(in.Fits) == 0 || in.Fits[0].History == nil) {
				t.Fatalf("the program ran no fit")
			}

			// kiln convert, then kiln fit of its output with the same sets.
			y, err := dry.Fits[0].Experiment.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			h, fileErr := fitExperiment(y, base, append(sets[:len(sets):len(sets)], "fit.verbose=0"))
			if progErr != nil || fileErr != nil {
				// The program fails where its experiment fails, with the
				// same message; only the programs meant to.
				if !fitFails[name] {
					t.Errorf("a corpus program that is not meant to fail failed")
				}
				if progErr == nil || fileErr == nil || !strings.HasSuffix(progErr.Error(), fileErr.Error()) {
					t.Fatalf("the program: %v\nits experiment: %v", progErr, fileErr)
				}
				return
			}
			if fitFails[name] {
				t.Fatalf("%s trains; it is meant to fail", name)
			}
			if len(in.Fits) != len(dry.Fits) {
				t.Errorf("kiln fit records %d fits, kiln convert %d", len(in.Fits), len(dry.Fits))
			}
			got := in.Fits[0].History
			if !reflect.DeepEqual(got.History, h.History) || !reflect.DeepEqual(got.Keys, h.Keys) {
				t.Errorf("kiln fit of the program: %v %v\nkiln fit of its conversion: %v %v", got.Keys, got.History, h.Keys, h.History)
			}
			if len(h.History["loss"]) != 1 {
				t.Errorf("History %v: want one epoch (fit.epochs=1)", h.History)
			}
		})
	}
	if n < 35 {
		t.Errorf("%d corpus programs convert, want at least 35", n)
	}
}

// fitFails are the corpus programs that convert but fail in kiln fit as
// in Keras (a mistake Keras stops at only when it trains).
var fitFails = map[string]bool{"012_int_labels_categorical_ce": true}

// fitExperiment is kiln fit of an experiment file's text with --set sets.
func fitExperiment(y []byte, path string, sets []string) (*kiln.History, error) {
	e, err := config.Parse(y, path, sets)
	if err != nil {
		return nil, err
	}
	r, err := config.Build(e, io.Discard)
	if err != nil {
		return nil, err
	}
	opts := r.Fit
	opts.Out = io.Discard
	opts.Callbacks = append(opts.Callbacks, r.Callbacks...)
	h, err := r.Model.Fit(context.Background(), r.X, r.Y, opts)
	if err != nil {
		return nil, err
	}
	if h == nil {
		return nil, errors.New("no History")
	}
	return h, nil
}
