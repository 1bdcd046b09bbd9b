package config

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/kiln-ml/kiln/callbacks"
)

// CallbackTypes lists the callbacks fit.callbacks may use (the registered
// ones).
func CallbackTypes() []string { return callbacks.Classes() }

// writesFiles reports whether a callback type writes files (which a sweep's
// parallel runs would overwrite, and explain never does).
func writesFiles(typ string) bool {
	spec, ok := callbacks.Lookup(typ)
	return ok && spec.WritesFiles
}

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

// buildCallback makes one callback found in the callback registry
// (callbacks.Lookup), which checks its arguments.
func buildCallback(cs LayerSpec, logs callbacks.Logs) (callbacks.Callback, error) {
	spec, ok := callbacks.Lookup(cs.Type)
	if !ok {
		return nil, fmt.Errorf("unknown callback %q; kiln has %s", cs.Type, strings.Join(callbacks.Classes(), ", "))
	}
	cb, err := spec.Make(cs.Args)
	if err != nil {
		return nil, err
	}
	if lc, ok := cb.(callbacks.LogsChecker); ok {
		if err := lc.CheckLogs(logs); err != nil {
			return nil, err
		}
	}
	return cb, nil
}
