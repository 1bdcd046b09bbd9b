package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/config"
)

var errHelp = errors.New("help shown")

// setFlags collects repeated --set arguments.
type setFlags []string

func (s *setFlags) String() string { return strings.Join(*s, " ") }

// Set appends one dotted.path=value override.
func (s *setFlags) Set(v string) error {
	if !strings.Contains(v, "=") {
		return fmt.Errorf("want dotted.path=value, e.g. compile.optimizer.learning_rate=0.03")
	}
	*s = append(*s, v)
	return nil
}

// parse parses flags that may come before or after the positional
// arguments (kiln fit FILE --set a=b works as well as kiln fit --set a=b FILE).
func parse(fs *flag.FlagSet, args []string, stderr io.Writer) ([]string, error) {
	// The flag package prints the usage on every error; kiln prints one
	// "kiln: error:" paragraph instead, and the usage only for -h.
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.SetOutput(stderr)
				fs.Usage()
				return nil, errHelp
			}
			return nil, usageErr("%s: %v (kiln %s -h lists the flags)", fs.Name(), err, fs.Name())
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func isInputError(err error) bool {
	var ce *config.Error
	return kiln.IsInputError(err) || errors.As(err, &ce)
}
