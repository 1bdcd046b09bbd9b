package program

import (
	"context"
	"fmt"
	"io"
	"strings"
)

// Interp holds the state of one program run: its global names, where its
// output goes, and the trainings it ran.
type Interp struct {
	// File names the program in messages.
	File string
	// Ctx stops a long fit.
	Ctx context.Context
	// Out receives the program's output (print, Keras' console); Notes
	// receives kiln's notes about what it assumed.
	Out, Notes io.Writer
	// Seed seeds each training, as an experiment file's seed does; a
	// program's own keras.utils.set_random_seed / tf.random.set_seed /
	// np.random.seed sets it unless SeedSet.
	Seed    int64
	SeedSet bool
	// Sets are --set overrides applied to the experiment of every fit.
	Sets []string
	// Verbose, if ≥ 0, overrides fit's verbose.
	Verbose int
	// DryRun records the fits' experiments without training (kiln
	// convert): fit returns an empty History.
	DryRun bool

	// Fits are the experiments of the model.fit calls, in order.
	Fits []*FitRecord

	globals map[string]Value
	at      string // the position of the statement being run, for messages
	assumed map[string]bool
	mods    map[string]*Module

	builtinNames   map[string]Value
	pendingImports []string
	figures        []*figure
	shown          int
	seedByProgram  bool
	steps, depth   int
}

// NewInterp returns an Interp for the program file with Python's builtins
// in scope (kiln's reader's subset).
func NewInterp(ctx context.Context, file string, out, notes io.Writer) *Interp {
	in := &Interp{File: file, Ctx: ctx, Out: out, Notes: notes, Verbose: -1, globals: map[string]Value{}, assumed: map[string]bool{}}
	return in
}

// note prints one of kiln's notes.
func (in *Interp) note(format string, a ...any) {
	if in.Notes != nil {
		fmt.Fprintf(in.Notes, "kiln: note: %s\n", fmt.Sprintf(format, a...))
	}
}

// errorf returns an error placed at the current statement.
func (in *Interp) errorf(format string, a ...any) error {
	msg := fmt.Sprintf(format, a...)
	if in.at != "" {
		return fmt.Errorf("%s: %s", in.at, msg)
	}
	return fmt.Errorf("%s: %s", in.File, msg)
}

// call calls a callable value.
func (in *Interp) call(f Value, pos []Value, kw []Kwarg) (Value, error) {
	switch fn := f.(type) {
	case *Builtin:
		return fn.Fn(in, pos, kw)
	case interface {
		callValue(in *Interp, pos []Value, kw []Kwarg) (Value, error)
	}:
		return fn.callValue(in, pos, kw)
	}
	return nil, fmt.Errorf("TypeError: '%s' object is not callable", typeName(f))
}

// getAttr is Python's getattr(v, name).
func (in *Interp) getAttr(v Value, name string) (Value, error) {
	if a, ok := v.(attrer); ok {
		return a.attr(in, name)
	}
	switch x := v.(type) {
	case *List:
		return listMethod(x, name)
	case *Dict:
		return dictMethod(x, name)
	case string:
		return strMethod(x, name)
	}
	return nil, fmt.Errorf("AttributeError: '%s' object has no attribute '%s'", typeName(v), name)
}

// args binds a call's arguments to names, like a Python signature with
// defaults: names ending in "=" are optional. Unknown keywords and extra
// positionals are errors naming fn.
type args struct {
	fn   string
	vals map[string]Value
	set  map[string]bool
}

func bind(fn string, pos []Value, kw []Kwarg, names ...string) (*args, error) {
	a := &args{fn: fn, vals: map[string]Value{}, set: map[string]bool{}}
	var plain []string
	required := map[string]bool{}
	for _, n := range names {
		opt := strings.HasSuffix(n, "=")
		n = strings.TrimSuffix(n, "=")
		plain = append(plain, n)
		required[n] = !opt
	}
	if len(pos) > len(plain) {
		return nil, fmt.Errorf("TypeError: %s() takes at most %d positional arguments (%d given)", fn, len(plain), len(pos))
	}
	for i, v := range pos {
		a.vals[plain[i]], a.set[plain[i]] = v, true
	}
	for _, k := range kw {
		if _, ok := required[k.Name]; !ok {
			return nil, fmt.Errorf("TypeError: %s() got an unexpected keyword argument '%s' (kiln's reader knows %s)", fn, k.Name, strings.Join(plain, ", "))
		}
		if a.set[k.Name] {
			return nil, fmt.Errorf("TypeError: %s() got multiple values for argument '%s'", fn, k.Name)
		}
		a.vals[k.Name], a.set[k.Name] = k.Value, true
	}
	for _, n := range plain {
		if required[n] && !a.set[n] {
			return nil, fmt.Errorf("TypeError: %s() missing required argument: '%s'", fn, n)
		}
	}
	return a, nil
}

func (a *args) has(name string) bool { return a.set[name] && a.vals[name] != nil }

func (a *args) get(name string) Value { return a.vals[name] }

func (a *args) int(name string, def int) (int, error) {
	if !a.has(name) {
		return def, nil
	}
	switch v := a.vals[name].(type) {
	case int:
		return v, nil
	case bool:
		if v {
			return 1, nil
		}
		return 0, nil
	}
	return 0, fmt.Errorf("TypeError: %s(): %s must be an integer, got %s", a.fn, name, repr(a.vals[name]))
}

func (a *args) float(name string, def float64) (float64, error) {
	if !a.has(name) {
		return def, nil
	}
	if f, ok := toFloat(a.vals[name]); ok {
		return f, nil
	}
	return 0, fmt.Errorf("TypeError: %s(): %s must be a number, got %s", a.fn, name, repr(a.vals[name]))
}

func (a *args) str(name, def string) (string, error) {
	if !a.has(name) {
		return def, nil
	}
	if s, ok := a.vals[name].(string); ok {
		return s, nil
	}
	return "", fmt.Errorf("TypeError: %s(): %s must be a string, got %s", a.fn, name, repr(a.vals[name]))
}

func (a *args) bool(name string, def bool) (bool, error) {
	if !a.has(name) {
		return def, nil
	}
	switch v := a.vals[name].(type) {
	case bool:
		return v, nil
	case int:
		return v != 0, nil
	}
	return false, fmt.Errorf("TypeError: %s(): %s must be True or False, got %s", a.fn, name, repr(a.vals[name]))
}

func toFloat(v Value) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case float64:
		return x, true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// builtin makes a Builtin.
func builtin(name string, fn func(in *Interp, pos []Value, kw []Kwarg) (Value, error)) *Builtin {
	return &Builtin{Name: name, Fn: fn}
}

// assume defines a name a snippet uses without defining it, when kiln can
// tell what the asker almost surely ran: x_train, y_train, x_test and
// y_test (any case) from keras.datasets.mnist.load_data(), pixels as
// load_data returns them (0..255), labels one-hot when the loss is
// categorical_crossentropy. Each assumption is a note.
func (in *Interp) assume(name string) (Value, bool) {
	parts := map[string]string{"x_train": "x_train", "y_train": "y_train", "x_test": "x_test", "y_test": "y_test"}
	part, ok := parts[strings.ToLower(name)]
	if !ok {
		return nil, false
	}
	if !in.assumed["mnist"] {
		in.assumed["mnist"] = true
		in.note("%s is not defined: kiln assumes (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data(), pixels 0..255 as load_data returns them; --set data.scale=1/255 changes that", name)
	}
	t := mnistArrays()
	var a *Array
	for _, pair := range t {
		for _, v := range pair.(Tuple) {
			if v.(*Array).Part == part {
				a = v.(*Array)
			}
		}
	}
	a.Assumed = true
	in.globals[name] = a
	return a, true
}
