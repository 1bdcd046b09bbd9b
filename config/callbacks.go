package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/kiln-ml/kiln/callbacks"
)

// CallbackTypes lists the callbacks fit.callbacks may use.
var CallbackTypes = []string{"CSVLogger", "EarlyStopping", "ModelCheckpoint"}

// writesFiles reports whether a callback type writes files (which a sweep's
// parallel runs would overwrite, and explain never does).
func writesFiles(typ string) bool { return typ == "CSVLogger" || typ == "ModelCheckpoint" }

// WritesFiles returns the first callback of e that writes files, or "" if
// none does.
func (e *Experiment) WritesFiles() string {
	for _, c := range e.Fit.Callbacks {
		if writesFiles(c.Type) {
			return c.Type
		}
	}
	return ""
}

// buildCallbacks makes fresh callbacks from fit.callbacks, with Keras'
// arguments; every error names the callback and the argument. Paths are
// relative to the current directory, as in Keras.
func buildCallbacks(e *Experiment) ([]callbacks.Callback, error) {
	// The names a checkpoint path may use: the History keys of the run.
	keys := append([]string{"loss"}, e.Compile.Metrics...)
	if e.Fit.ValidationData != "" || e.Fit.ValidationSplit > 0 {
		for _, k := range keys {
			keys = append(keys, "val_"+k)
		}
	}
	logs := callbacks.Logs{Names: keys, Values: make([]float64, len(keys))}
	var out []callbacks.Callback
	for i, cs := range e.Fit.Callbacks {
		key := "fit.callbacks." + strconv.Itoa(i) + "." + cs.Type
		cb, err := buildCallback(cs, logs)
		if err != nil {
			return nil, e.errf(cs.Line, key, "%v", err)
		}
		out = append(out, cb)
	}
	return out, nil
}

func buildCallback(cs LayerSpec, logs callbacks.Logs) (callbacks.Callback, error) {
	allowed := map[string][]string{
		"EarlyStopping":   {"monitor", "min_delta", "patience", "mode", "baseline", "restore_best_weights", "start_from_epoch", "verbose"},
		"ModelCheckpoint": {"filepath", "monitor", "save_best_only", "save_weights_only", "mode", "verbose", "save_freq"},
		"CSVLogger":       {"filename", "separator", "append"},
	}
	valid, ok := allowed[cs.Type]
	if !ok {
		return nil, fmt.Errorf("unknown callback %q; kiln has %s", cs.Type, strings.Join(CallbackTypes, ", "))
	}
	a := cs.Args
	for k := range a {
		if !slices.Contains(valid, k) {
			return nil, fmt.Errorf("%s has no argument %q; valid arguments: %s", cs.Type, k, strings.Join(valid, ", "))
		}
	}
	str := func(k, def string) (string, error) {
		v, ok := a[k]
		if !ok || v == nil {
			return def, nil
		}
		s, ok := v.(string)
		if !ok {
			return "", fmt.Errorf("%s must be a string, got %v", k, v)
		}
		return s, nil
	}
	boolean := func(k string) (bool, error) {
		v, ok := a[k]
		if !ok || v == nil {
			return false, nil
		}
		b, ok := v.(bool)
		if !ok {
			return false, fmt.Errorf("%s must be true or false, got %v", k, v)
		}
		return b, nil
	}
	integer := func(k string) (int, error) {
		v, ok := a[k]
		if !ok || v == nil {
			return 0, nil
		}
		n, ok := Int(v)
		if !ok || n < 0 {
			return 0, fmt.Errorf("%s must be a non-negative integer, got %v", k, v)
		}
		return n, nil
	}
	mode := func() (string, error) {
		m, err := str("mode", "auto")
		if err == nil && m != "auto" && m != "min" && m != "max" {
			err = fmt.Errorf("mode must be auto, min or max, got %q", m)
		}
		return m, err
	}
	var errs []error
	must := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	switch cs.Type {
	case "EarlyStopping":
		es := &callbacks.EarlyStopping{}
		var err error
		es.Monitor, err = str("monitor", "val_loss")
		must(err)
		if v, ok := a["min_delta"]; ok && v != nil {
			f, ok := Number(v)
			if !ok {
				must(fmt.Errorf("min_delta must be a number, got %v", v))
			}
			es.MinDelta = f
		}
		es.Patience, err = integer("patience")
		must(err)
		es.Mode, err = mode()
		must(err)
		if v, ok := a["baseline"]; ok && v != nil {
			f, ok := Number(v)
			if !ok {
				must(fmt.Errorf("baseline must be a number or null, got %v", v))
			}
			es.Baseline = &f
		}
		es.RestoreBestWeights, err = boolean("restore_best_weights")
		must(err)
		es.StartFromEpoch, err = integer("start_from_epoch")
		must(err)
		es.Verbose, err = integer("verbose")
		must(err)
		if len(errs) > 0 {
			return nil, errs[0]
		}
		return es, nil
	case "ModelCheckpoint":
		mc := &callbacks.ModelCheckpoint{}
		var err error
		mc.Path, err = str("filepath", "")
		must(err)
		if err == nil && !strings.HasSuffix(mc.Path, ".safetensors") {
			must(fmt.Errorf("filepath %q: kiln checkpoints the weights as safetensors; give a path ending in .safetensors (fields like {epoch:02d} and {val_loss:.2f} work), e.g. filepath: best.safetensors", mc.Path))
		}
		if err == nil && mc.Path != "" {
			// Every field must name something the run logs, or the run would
			// train without checkpoints.
			if _, ferr := callbacks.FormatPath(mc.Path, 0, logs); ferr != nil {
				must(ferr)
			}
		}
		mc.Monitor, err = str("monitor", "val_loss")
		must(err)
		mc.SaveBestOnly, err = boolean("save_best_only")
		must(err)
		mc.Mode, err = mode()
		must(err)
		mc.Verbose, err = integer("verbose")
		must(err)
		if sf, err := str("save_freq", "epoch"); err != nil || sf != "epoch" {
			must(fmt.Errorf("save_freq: kiln saves at the end of epochs (save_freq: epoch), got %v", a["save_freq"]))
		}
		if len(errs) > 0 {
			return nil, errs[0]
		}
		return mc, nil
	default: // CSVLogger
		path, err := str("filename", "")
		must(err)
		if err == nil && path == "" {
			must(fmt.Errorf("CSVLogger needs filename, e.g. filename: training.csv"))
		}
		sep, err := str("separator", ",")
		must(err)
		if err == nil && utf8.RuneCountInString(sep) != 1 {
			must(fmt.Errorf("separator must be one character, got %q", sep))
		}
		app, err := boolean("append")
		must(err)
		if len(errs) > 0 {
			return nil, errs[0]
		}
		l := callbacks.NewCSVLogger(path, app)
		l.Separator, _ = utf8.DecodeRuneInString(sep)
		return l, nil
	}
}
