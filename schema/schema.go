// Package schema describes the arguments of kiln's registered objects
// (layers, callbacks): their Keras names, the values they take, defaults
// and checks. The experiment file, the Keras JSON importer and kiln convert
// read arguments through the same schema, so they accept the same values
// and give the same messages.
package schema

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kiln-ml/kiln/internal/value"
)

// Kind says which values an argument takes.
type Kind int

// The kinds of arguments.
const (
	// Int is a whole number.
	Int Kind = iota + 1
	// Float is a number.
	Float
	// Bool is true or false.
	Bool
	// String is a string.
	String
	// Activation is an activation's Keras name ("relu"); Keras 3 and
	// TF.js may write it as a serialised built-in function.
	Activation
	// Pair is an integer or a list of two (Keras' kernel_size, strides,
	// pool_size): 3 means [3, 3].
	Pair
	// Shape is a non-empty list of integers.
	Shape
	// OptionalFloat is a number or null (Keras' None), e.g. EarlyStopping's
	// baseline.
	OptionalFloat
	// StringOrInt is a string or a whole number, e.g. BackupAndRestore's
	// save_freq ("epoch" or a number of batches); Values holds a string or
	// an int (read it with Value).
	StringOrInt
)

// Arg describes one argument under its Keras name.
type Arg struct {
	// Name is Keras' argument name, e.g. "units".
	Name string
	// Kind is the type of value it takes.
	Kind Kind
	// Required arguments have no default.
	Required bool
	// Default is the value when the argument is absent or null, as Values
	// holds it (int, float64, bool, string, [2]int or []int); nil leaves
	// it unset, for the constructor to decide (e.g. strides = pool_size).
	Default any
	// Doc says which values are valid, for messages and docs, e.g.
	// "a positive integer".
	Doc string
	// Valid, if set, checks a value of the right kind (e.g. > 0).
	Valid func(v any) bool
}

// Values are arguments after checking: converted to Go types, defaults
// filled in.
type Values struct{ v map[string]any }

// Has reports whether the argument is set (given, or by a default).
func (a Values) Has(name string) bool { _, ok := a.v[name]; return ok }

// Int returns an Int argument (0 if unset).
func (a Values) Int(name string) int { n, _ := a.v[name].(int); return n }

// Float returns a Float argument (0 if unset).
func (a Values) Float(name string) float64 { f, _ := a.v[name].(float64); return f }

// OptionalFloat returns an OptionalFloat argument (nil if unset or null).
func (a Values) OptionalFloat(name string) *float64 {
	f, ok := a.v[name].(float64)
	if !ok {
		return nil
	}
	return &f
}

// Bool returns a Bool argument (false if unset).
func (a Values) Bool(name string) bool { b, _ := a.v[name].(bool); return b }

// String returns a String or Activation argument ("" if unset).
func (a Values) String(name string) string { s, _ := a.v[name].(string); return s }

// Value returns an argument as Values holds it (nil if unset), e.g. the
// string or int of a StringOrInt argument.
func (a Values) Value(name string) any { return a.v[name] }

// Pair returns a Pair argument (zeros if unset).
func (a Values) Pair(name string) [2]int { p, _ := a.v[name].([2]int); return p }

// Ints returns a Shape argument (nil if unset).
func (a Values) Ints(name string) []int { s, _ := a.v[name].([]int); return slices.Clone(s) }

// Check panics if args are not well formed: registration happens in init
// functions, where such a slip is a programming error. owner names them.
func Check(owner string, args []Arg) {
	for _, a := range args {
		if a.Name == "" || a.Name == "name" || a.Kind == 0 || a.Doc == "" {
			panic(fmt.Sprintf("schema: %s: argument %q needs a Name (not \"name\"), a Kind and a Doc", owner, a.Name))
		}
		if a.Default != nil {
			if a.Required {
				panic(fmt.Sprintf("schema: %s.%s is required and has a default", owner, a.Name))
			}
			if _, ok := a.Convert(FileValue(a.Default)); !ok {
				panic(fmt.Sprintf("schema: %s.%s: default %v is not %s", owner, a.Name, a.Default, a.Doc))
			}
		}
	}
}

// Names returns the argument names, then "name", which every object takes.
func Names(args []Arg) []string {
	names := []string{}
	for _, a := range args {
		names = append(names, a.Name)
	}
	return append(names, "name")
}

// Find returns the argument called name, or nil.
func Find(args []Arg, name string) *Arg {
	for i := range args {
		if args[i].Name == name {
			return &args[i]
		}
	}
	return nil
}

// Parse checks raw, an argument map as an experiment file gives it
// (decoded YAML or JSON values), against args and fills in defaults.
// owner (e.g. "Conv2D") starts every message. "name" is accepted and left
// to the caller.
func Parse(owner string, args []Arg, raw map[string]any) (Values, error) {
	for k := range raw {
		if k != "name" && Find(args, k) == nil {
			return Values{}, fmt.Errorf("%s has no argument %q; valid arguments: %s%s", owner, k, strings.Join(Names(args), ", "), SplitTupleHint(k))
		}
	}
	a := Values{v: map[string]any{}}
	for _, arg := range args {
		v, given := raw[arg.Name]
		if !given || v == nil {
			if arg.Required {
				return Values{}, fmt.Errorf("%s needs %s: %s", owner, arg.Name, arg.Doc)
			}
			if arg.Default != nil {
				a.v[arg.Name] = arg.Default
			}
			continue
		}
		x, ok := arg.Convert(v)
		if !ok {
			return Values{}, fmt.Errorf("%s: %s must be %s, got %v%s", owner, arg.Name, arg.Doc, v, TupleHint(v))
		}
		a.v[arg.Name] = x
	}
	return a, nil
}

// Convert turns a decoded value into the Go value Values holds; ok is false
// if it is not of the argument's kind or not Valid.
func (arg *Arg) Convert(v any) (x any, ok bool) {
	switch arg.Kind {
	case Int:
		x, ok = value.Int(v)
	case Float, OptionalFloat:
		x, ok = value.Float(v)
	case Bool:
		x, ok = v.(bool)
	case String, Activation:
		x, ok = v.(string)
	case StringOrInt:
		if n, isInt := value.Int(v); isInt {
			x, ok = n, true
		} else {
			x, ok = v.(string)
		}
	case Pair:
		if n, isInt := value.Int(v); isInt {
			x, ok = [2]int{n, n}, true
		} else if l, isList := value.Ints(v); isList && len(l) == 2 {
			x, ok = [2]int{l[0], l[1]}, true
		}
	case Shape:
		var l []int
		if l, ok = value.Ints(v); ok && len(l) == 0 {
			ok = false
		}
		x = l
	}
	if ok && arg.Valid != nil {
		ok = arg.Valid(x)
	}
	return x, ok
}

// FileValue is x, a value Values holds, as an experiment file writes it.
func FileValue(x any) any {
	switch v := x.(type) {
	case [2]int:
		return []any{v[0], v[1]}
	case []int:
		return value.List(v)
	}
	return x
}

// Positive is a Valid check: an Int > 0.
func Positive(v any) bool { n, _ := v.(int); return n > 0 }

// NonNegative is a Valid check: an Int ≥ 0.
func NonNegative(v any) bool { n, _ := v.(int); return n >= 0 }

// PositivePair is a Valid check: a Pair of two values > 0.
func PositivePair(v any) bool { p, _ := v.([2]int); return p[0] > 0 && p[1] > 0 }

// OneOf returns a Valid check for a String argument with fixed choices.
func OneOf(choices ...string) func(v any) bool {
	return func(v any) bool { s, _ := v.(string); return slices.Contains(choices, s) }
}

// TupleHint returns a hint for a value written as a Python tuple in YAML,
// where "(28, 28)" is a string: "" for anything else.
func TupleHint(v any) string {
	str, ok := v.(string)
	if !ok || !strings.HasPrefix(strings.TrimSpace(str), "(") || !strings.HasSuffix(strings.TrimSpace(str), ")") {
		return ""
	}
	inner := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(str), "("), ")")
	inner = strings.TrimSuffix(strings.TrimSpace(inner), ",")
	return fmt.Sprintf(" (%s is a Python tuple, which YAML reads as a string; write a list: [%s])", str, inner)
}

// SplitTupleHint returns a hint for a key like "28)": a Python tuple
// inside a YAML flow map, {shape: (28, 28)}, splits at its comma into the
// keys "shape: (28" and "28)". "" for any other key.
func SplitTupleHint(key string) string {
	if !strings.HasSuffix(key, ")") {
		return ""
	}
	return " (a Python tuple inside {...} splits at its comma in YAML: write a list, e.g. {shape: [28, 28]})"
}
