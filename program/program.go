package program

import (
	"context"
	"io"

	"github.com/kiln-ml/kiln/pysrc"
)

// Options configure Run.
type Options struct {
	// Out receives the program's output (print, Keras' console) and Notes
	// kiln's notes about what it assumed; nil discards.
	Out, Notes io.Writer
	// Seed, if SeedSet, seeds every training (else the program's own
	// set_random_seed / tf.random.set_seed / np.random.seed, else 0).
	Seed    int64
	SeedSet bool
	// Sets are --set overrides for the experiment of every fit.
	Sets []string
	// Verbose, if VerboseSet, overrides every fit's verbose.
	Verbose    int
	VerboseSet bool
	// DryRun records the experiments without training (kiln convert).
	DryRun bool
}

// Run reads a Keras program (Python source) and runs it in order: its
// Keras calls build and train kiln models, its prints print. It returns the
// Interp, whose Fits hold the experiment and History of every model.fit.
// A construct kiln's reader does not have is an error at its file:line:col
// that says what to do.
func Run(ctx context.Context, file string, src []byte, o Options) (*Interp, error) {
	mod, err := pysrc.Parse(file, src)
	if err != nil {
		return nil, err
	}
	out, notes := o.Out, o.Notes
	if out == nil {
		out = io.Discard
	}
	if notes == nil {
		notes = io.Discard
	}
	in := NewInterp(ctx, file, out, notes)
	in.Seed, in.SeedSet, in.Sets, in.DryRun = o.Seed, o.SeedSet, o.Sets, o.DryRun
	if o.VerboseSet {
		in.Verbose = o.Verbose
	}
	return in, in.Exec(mod)
}
