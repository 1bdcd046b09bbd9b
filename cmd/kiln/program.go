package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/kiln-ml/kiln/config"
	"github.com/kiln-ml/kiln/host"
	"github.com/kiln-ml/kiln/internal/atomicfile"
	"github.com/kiln-ml/kiln/program"
	"github.com/kiln-ml/kiln/saving"

	"gopkg.in/yaml.v3"
)

// isProgram reports whether path names a Keras program (Python source),
// which kiln's reader runs, rather than an experiment file.
func isProgram(path string) bool {
	return strings.EqualFold(ext(path), ".py")
}

func ext(path string) string {
	i := strings.LastIndexByte(path, '.')
	if i < 0 || strings.ContainsRune(path[i:], '/') {
		return ""
	}
	return path[i:]
}

// programExperiment reads a Keras program without training (kiln's reader
// on a dry run) and returns the experiment of its first model.fit, with
// sets applied. Notes about what kiln assumed go to stderr.
func programExperiment(ctx context.Context, path string, sets []string, stderr io.Writer) (*config.Experiment, int, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, &exitError{2, fmt.Errorf("%s: %w", path, err)}
	}
	in, err := program.Run(ctx, path, src, program.Options{Notes: stderr, Sets: sets, DryRun: true})
	if err != nil {
		return nil, 0, &exitError{2, err}
	}
	if len(in.Fits) == 0 {
		return nil, 0, &exitError{2, fmt.Errorf("%s: the program never calls model.fit, so there is no training to convert", path)}
	}
	return in.Fits[0].Experiment, len(in.Fits), nil
}

// loadExperiment reads an experiment file or converts a Keras program.
func loadExperiment(ctx context.Context, path string, sets []string, stderr io.Writer) (*config.Experiment, error) {
	if isQuestion(path) {
		q, err := loadQuestion(path)
		if err != nil {
			return nil, err
		}
		return questionExperiment(ctx, q, sets, stderr)
	}
	if isProgram(path) {
		e, n, err := programExperiment(ctx, path, sets, stderr)
		if err == nil && n > 1 {
			fmt.Fprintf(stderr, "kiln: note: %s fits %d times; this is its first fit (kiln fit %s runs them all)\n", path, n, path)
		}
		return e, err
	}
	return config.Load(path, sets)
}

// cmdFitProgram runs a Keras program: its fits train in kiln, its prints
// print. --history and --save keep the first fit's History and model.
func cmdFitProgram(ctx context.Context, path string, sets []string, seed int64, seedSet bool, verbose int, history, save, python string, noPython bool, stdout, stderr io.Writer) error {
	src, err := os.ReadFile(path)
	if err != nil {
		return &exitError{2, fmt.Errorf("%s: %w", path, err)}
	}
	if python != "" && noPython {
		return usageErr("--python and --no-python contradict each other; give one")
	}
	if python == "" {
		// kiln's reader first (pure Go); a program it refuses (pandas,
		// scikit-learn, classes...) runs in the user's Python when there is
		// one with numpy. The dry run trains nothing and prints nothing, so
		// a refusal near the program's end comes before any training.
		if _, rerr := program.Run(ctx, path, src, program.Options{DryRun: true, Sets: sets}); rerr != nil {
			if noPython {
				return &exitError{2, rerr}
			}
			py, ferr := host.Find()
			if ferr != nil {
				return &exitError{2, fmt.Errorf("%v\nkiln: to run the program in your own Python instead: %v", rerr, ferr)}
			}
			fmt.Fprintf(stderr, "kiln: note: kiln's reader cannot run %s (%v); running it in %s\n", path, rerr, py)
			python = py
		}
	}
	if python != "" {
		return fitInPython(ctx, python, path, sets, seed, seedSet, verbose, history, save, stdout, stderr)
	}
	fmt.Fprintf(stderr, "kiln: running %s with kiln's reader (pure Go: no Python, its Keras calls train in kiln)\n", path)
	o := program.Options{Out: stdout, Notes: stderr, Sets: sets, Seed: seed, SeedSet: seedSet}
	if verbose >= 0 {
		o.Verbose, o.VerboseSet = verbose, true
	}
	in, runErr := program.Run(ctx, path, src, o)
	if in != nil && len(in.Fits) > 0 {
		f := in.Fits[0]
		if history != "" && f.History != nil {
			if err := atomicfile.Write(history, append(f.History.KerasJSON(), '\n')); err != nil {
				return fmt.Errorf("--history: %w", err)
			}
		}
		if save != "" && f.Run != nil && runErr == nil {
			if err := saving.Save(save, f.Run.Model, f.Run.Exp, &saving.Options{Warnings: stderr, Classes: f.Run.Classes}); err != nil {
				return err
			}
		}
		if len(in.Fits) > 1 && (history != "" || save != "") {
			fmt.Fprintf(stderr, "kiln: note: the program fits %d times; --history and --save kept the first\n", len(in.Fits))
		}
	}
	if runErr != nil {
		if errors.Is(runErr, context.Canceled) {
			return runErr
		}
		return &exitError{2, runErr}
	}
	return nil
}

// fitInPython runs a Keras program in the user's Python with kiln's
// stand-in keras modules (package host): the program's own code runs for
// real, its Keras calls train in kiln.
func fitInPython(ctx context.Context, python, path string, sets []string, seed int64, seedSet bool, verbose int, history, save string, stdout, stderr io.Writer) error {
	if err := host.Available(python); err != nil {
		return &exitError{2, err}
	}
	o := host.Options{Stdin: os.Stdin, Stdout: stdout, Stderr: stderr, Notes: stderr, Sets: sets, Seed: seed, SeedSet: seedSet}
	if verbose >= 0 {
		o.Verbose, o.VerboseSet = verbose, true
	}
	res, runErr := host.Run(ctx, python, path, o)
	if res != nil && len(res.Fits) > 0 {
		f := res.Fits[0]
		if history != "" && f.History != nil {
			if err := atomicfile.Write(history, append(f.History.KerasJSON(), '\n')); err != nil {
				return fmt.Errorf("--history: %w", err)
			}
		}
		if save != "" && runErr == nil {
			if err := f.Save(save, &saving.Options{Warnings: stderr}); err != nil {
				return err
			}
		}
		if len(res.Fits) > 1 && (history != "" || save != "") {
			fmt.Fprintf(stderr, "kiln: note: the program fits %d times; --history and --save kept the first\n", len(res.Fits))
		}
	}
	var pe *host.ProgramError
	var ee *host.ExitError
	switch {
	case runErr == nil:
		return nil
	case errors.As(runErr, &pe):
		// Python printed the traceback; one line says where.
		return &exitError{1, runErr}
	case errors.As(runErr, &ee):
		return &exitError{ee.Code, runErr}
	case errors.Is(runErr, context.Canceled):
		return runErr
	}
	return &exitError{2, runErr}
}

// cmdFitQuestion runs the code of a pasted question with kiln's reader
// (never a Python: the code came from prose), then prints each pasted log
// beside kiln's run of the same settings.
func cmdFitQuestion(ctx context.Context, path string, sets []string, seed int64, seedSet bool, verbose int, history string, stdout, stderr io.Writer) error {
	q, err := loadQuestion(path)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "kiln: running the code of %s with kiln's reader (%d pasted log(s) to compare)\n", path, len(q.Runs))
	o := program.Options{Out: stdout, Notes: stderr, Sets: sets, Seed: seed, SeedSet: seedSet}
	if verbose >= 0 {
		o.Verbose, o.VerboseSet = verbose, true
	}
	in, err := program.Run(ctx, path, q.Source, o)
	if err != nil {
		return &exitError{2, err}
	}
	if len(in.Fits) == 0 {
		return &exitError{2, fmt.Errorf("%s: the question's code never calls model.fit", path)}
	}
	f := in.Fits[0]
	if history != "" && f.History != nil {
		if err := atomicfile.Write(history, append(f.History.KerasJSON(), '\n')); err != nil {
			return fmt.Errorf("--history: %w", err)
		}
	}
	_, err = comparePasted(ctx, stdout, q, f.Experiment, sets, seed, seedSet, f.History)
	return err
}

// cmdConvert prints the experiment file of a Keras program.
func cmdConvert(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("convert", flag.ContinueOnError)
	var sets setFlags
	fs.Var(&sets, "set", "override a setting of the result: dotted.path=value (repeatable)")
	asJSON := fs.Bool("json", false, "print JSON instead of YAML")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: kiln convert PROGRAM.py [flags]\n\nPrints the experiment file that trains what the Keras program's first model.fit trains\n(the file --set paths address). Nothing is trained.\n\nFlags:")
		fs.PrintDefaults()
	}
	pos, err := parse(fs, args, stderr)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("convert needs exactly one program, got %d arguments (see kiln convert -h)", len(pos))
	}
	var e *config.Experiment
	n := 1
	switch {
	case isQuestion(pos[0]):
		if e, err = loadExperiment(ctx, pos[0], sets, stderr); err != nil {
			return err
		}
	case isProgram(pos[0]):
		if e, n, err = programExperiment(ctx, pos[0], sets, stderr); err != nil {
			return err
		}
	default:
		return usageErr("convert reads Keras programs (.py) and pasted questions; %s is already an experiment file", pos[0])
	}
	if n > 1 {
		fmt.Fprintf(stderr, "kiln: note: %s fits %d times; this is its first fit%s\n", pos[0], n, gridNote(ctx, pos[0], sets))
	}
	y, err := e.Marshal()
	if err != nil {
		return err
	}
	if *asJSON {
		j, err := yamlToJSON(y)
		if err != nil {
			return err
		}
		y = j
	}
	if len(y) > 0 && y[len(y)-1] != '\n' {
		y = append(y, '\n')
	}
	_, err = stdout.Write(y)
	return err
}

// yamlToJSON rewrites a YAML document as indented JSON, keeping key order.
func yamlToJSON(src []byte) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, err
	}
	var b strings.Builder
	var write func(n *yaml.Node, indent string) error
	write = func(n *yaml.Node, indent string) error {
		switch n.Kind {
		case yaml.DocumentNode:
			return write(n.Content[0], indent)
		case yaml.MappingNode:
			b.WriteString("{")
			for i := 0; i < len(n.Content); i += 2 {
				if i > 0 {
					b.WriteString(",")
				}
				key, _ := json.Marshal(n.Content[i].Value)
				b.WriteString("\n" + indent + "  " + string(key) + ": ")
				if err := write(n.Content[i+1], indent+"  "); err != nil {
					return err
				}
			}
			if len(n.Content) > 0 {
				b.WriteString("\n" + indent)
			}
			b.WriteString("}")
		case yaml.SequenceNode:
			b.WriteString("[")
			for i, c := range n.Content {
				if i > 0 {
					b.WriteString(", ")
				}
				if err := write(c, indent+"  "); err != nil {
					return err
				}
			}
			b.WriteString("]")
		case yaml.ScalarNode:
			var v any
			if err := n.Decode(&v); err != nil {
				return err
			}
			if n.Tag == "!!str" || n.Style != 0 {
				v = n.Value
			}
			j, err := json.Marshal(v)
			if err != nil {
				return err
			}
			b.Write(j)
		default:
			return fmt.Errorf("convert --json: unexpected YAML node")
		}
		return nil
	}
	if err := write(&doc, ""); err != nil {
		return nil, err
	}
	b.WriteString("\n")
	return []byte(b.String()), nil
}

// gridNote says how kiln sweep runs all of a program's fits when they
// differ only in settings: "; the fits differ only in K (a, b): kiln sweep
// FILE --grid K=a,b runs them all", or "" when they differ in more (the
// model, the data) or not at all.
func gridNote(ctx context.Context, path string, sets []string) string {
	src, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	in, err := program.Run(ctx, path, src, program.Options{Sets: sets, DryRun: true})
	if err != nil || len(in.Fits) < 2 {
		return ""
	}
	var flat []map[string]string
	for _, f := range in.Fits {
		y, err := f.Experiment.Marshal()
		if err != nil {
			return ""
		}
		var doc yaml.Node
		if yaml.Unmarshal(y, &doc) != nil {
			return ""
		}
		m := map[string]string{}
		flatten(&doc, "", m)
		flat = append(flat, m)
	}
	var keys []string
	for k := range flat[0] {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var grid []string
	for _, k := range keys {
		vals := []string{flat[0][k]}
		same := true
		for _, m := range flat[1:] {
			if m[k] != flat[0][k] {
				same = false
			}
			vals = append(vals, m[k])
		}
		if !same {
			if strings.HasPrefix(k, "model.") || strings.HasPrefix(k, "data.") {
				return "; the fits use different models or data, so only the first converts"
			}
			grid = append(grid, k+"="+strings.Join(vals, ","))
		}
	}
	for _, m := range flat[1:] {
		if len(m) != len(flat[0]) {
			return ""
		}
	}
	if len(grid) == 0 {
		return ""
	}
	return fmt.Sprintf("; the fits differ only in %s: kiln convert %s > exp.yaml, then kiln sweep exp.yaml --grid %s runs them all",
		strings.Join(gridKeys(grid), ", "), path, strings.Join(grid, " --grid "))
}

func gridKeys(grid []string) []string {
	out := make([]string, len(grid))
	for i, g := range grid {
		out[i] = g[:strings.IndexByte(g, '=')]
	}
	return out
}

// flatten writes the scalar leaves of a YAML tree as dotted paths (the
// --set syntax: model.2.Dense.units) to their values.
func flatten(n *yaml.Node, prefix string, out map[string]string) {
	join := func(k string) string {
		if prefix == "" {
			return k
		}
		return prefix + "." + k
	}
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			flatten(c, prefix, out)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			flatten(n.Content[i+1], join(n.Content[i].Value), out)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			flatten(c, join(strconv.Itoa(i)), out)
		}
	case yaml.ScalarNode:
		out[prefix] = n.Value
	}
}
