package layers

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/kiln-ml/kiln/activations"
	"github.com/kiln-ml/kiln/internal/value"
)

// ArgKind says which values a layer argument takes.
type ArgKind int

// The kinds of layer arguments.
const (
	// ArgInt is a whole number.
	ArgInt ArgKind = iota + 1
	// ArgFloat is a number.
	ArgFloat
	// ArgBool is true or false.
	ArgBool
	// ArgString is a string.
	ArgString
	// ArgActivation is an activation's Keras name ("relu"); Keras 3 and
	// TF.js may write it as a serialised built-in function.
	ArgActivation
	// ArgPair is an integer or a list of two (Keras' kernel_size,
	// strides, pool_size): 3 means [3, 3].
	ArgPair
	// ArgShape is a list of integers.
	ArgShape
)

// Arg describes one argument of a layer under its Keras name. The
// experiment file, the Keras JSON importer and kiln convert read arguments
// through it, so they accept the same values and give the same messages.
type Arg struct {
	// Name is Keras' argument name, e.g. "units".
	Name string
	// Kind is the type of value it takes.
	Kind ArgKind
	// Required arguments have no default.
	Required bool
	// Default is the value when the argument is absent or null, as Args
	// holds it (int, float64, bool, string, [2]int or []int); nil leaves
	// it unset, for the constructor to decide (e.g. strides = pool_size).
	Default any
	// Doc says which values are valid, for messages and docs, e.g.
	// "a positive integer".
	Doc string
	// Valid, if set, checks a value of the right kind (e.g. > 0).
	Valid func(v any) bool
}

// Args are a layer's arguments after checking against its Spec: values
// converted to Go types, defaults filled in.
type Args struct {
	class string
	v     map[string]any
}

// Has reports whether the argument is set (given, or by a default).
func (a Args) Has(name string) bool { _, ok := a.v[name]; return ok }

// Int returns an ArgInt argument (0 if unset).
func (a Args) Int(name string) int { n, _ := a.v[name].(int); return n }

// Float returns an ArgFloat argument (0 if unset).
func (a Args) Float(name string) float64 { f, _ := a.v[name].(float64); return f }

// Bool returns an ArgBool argument (false if unset).
func (a Args) Bool(name string) bool { b, _ := a.v[name].(bool); return b }

// String returns an ArgString or ArgActivation argument ("" if unset).
func (a Args) String(name string) string { s, _ := a.v[name].(string); return s }

// Pair returns an ArgPair argument (zeros if unset).
func (a Args) Pair(name string) [2]int { p, _ := a.v[name].([2]int); return p }

// Ints returns an ArgShape argument (nil if unset).
func (a Args) Ints(name string) []int { s, _ := a.v[name].([]int); return slices.Clone(s) }

// Spec is the one description of a layer type: its Keras class name, its
// arguments and how to make it. Each layer registers its Spec next to its
// implementation; nothing else in kiln lists layer types or their
// arguments.
type Spec struct {
	// Class is Keras' class name, e.g. "Dense".
	Class string
	// Doc is one line on what the layer does, for listings.
	Doc string
	// Args are the arguments besides name, in the order Keras documents
	// them.
	Args []Arg
	// New makes the layer from checked arguments.
	New func(a Args) (Layer, error)
	// Keras, if set, reads the settings of a Keras get_config() that are
	// not plain Args (initializers, data_format, settings kiln refuses)
	// before the Args are read; see KerasConfig.
	Keras func(k *KerasConfig) error
	// Example is a valid argument map, as an experiment file writes it;
	// the registry's tests build every layer from it.
	Example map[string]any
}

var registry = struct {
	sync.RWMutex
	m map[string]*Spec
}{m: map[string]*Spec{}}

// Register adds a layer type. It panics if the class is registered twice
// or the Spec is incomplete: registration happens in init functions, where
// such a slip is a programming error.
func Register(s Spec) {
	if s.Class == "" || s.New == nil {
		panic("layers.Register: a Spec needs Class and New")
	}
	for _, a := range s.Args {
		if a.Name == "" || a.Name == "name" || a.Kind == 0 || a.Doc == "" {
			panic(fmt.Sprintf("layers.Register(%s): argument %q needs a Name (not \"name\"), a Kind and a Doc", s.Class, a.Name))
		}
	}
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.m[s.Class]; dup {
		panic("layers.Register: " + s.Class + " registered twice")
	}
	registry.m[s.Class] = &s
}

// Lookup returns the Spec of a Keras class name.
func Lookup(class string) (*Spec, bool) {
	registry.RLock()
	defer registry.RUnlock()
	s, ok := registry.m[class]
	return s, ok
}

// Classes returns the registered class names, sorted.
func Classes() []string {
	registry.RLock()
	defer registry.RUnlock()
	names := make([]string, 0, len(registry.m))
	for n := range registry.m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ArgNames returns the argument names the layer accepts, name included.
func (s *Spec) ArgNames() []string {
	names := []string{}
	for _, a := range s.Args {
		names = append(names, a.Name)
	}
	return append(names, "name")
}

func (s *Spec) arg(name string) *Arg {
	for i := range s.Args {
		if s.Args[i].Name == name {
			return &s.Args[i]
		}
	}
	return nil
}

// Parse checks an argument map as an experiment file gives it (decoded
// YAML or JSON values) and fills in defaults. "name" is accepted and
// ignored here (Make sets it).
func (s *Spec) Parse(raw map[string]any) (Args, error) {
	for k := range raw {
		if k != "name" && s.arg(k) == nil {
			return Args{}, fmt.Errorf("%s has no argument %q; valid arguments: %s", s.Class, k, strings.Join(s.ArgNames(), ", "))
		}
	}
	a := Args{class: s.Class, v: map[string]any{}}
	for _, arg := range s.Args {
		v, given := raw[arg.Name]
		if !given || v == nil {
			if arg.Required {
				return Args{}, fmt.Errorf("%s needs %s: %s", s.Class, arg.Name, arg.Doc)
			}
			if arg.Default != nil {
				a.v[arg.Name] = arg.Default
			}
			continue
		}
		x, ok := arg.convert(v)
		if !ok {
			return Args{}, fmt.Errorf("%s: %s must be %s, got %v", s.Class, arg.Name, arg.Doc, v)
		}
		a.v[arg.Name] = x
	}
	return a, nil
}

// Make parses raw (see Parse), makes the layer and names it when raw has a
// name.
func (s *Spec) Make(raw map[string]any) (Layer, error) {
	a, err := s.Parse(raw)
	if err != nil {
		return nil, err
	}
	name := ""
	if v, ok := raw["name"]; ok && v != nil {
		if name, ok = v.(string); !ok {
			return nil, fmt.Errorf("%s: name must be a string, got %v", s.Class, v)
		}
	}
	l, err := s.New(a)
	if err != nil {
		return nil, err
	}
	if name != "" {
		l.SetName(name)
	}
	return l, nil
}

// convert turns a decoded value into the Go value Args holds; ok is false
// if it is not of the argument's kind or not Valid.
func (arg *Arg) convert(v any) (x any, ok bool) {
	switch arg.Kind {
	case ArgInt:
		x, ok = value.Int(v)
	case ArgFloat:
		x, ok = value.Float(v)
	case ArgBool:
		x, ok = v.(bool)
	case ArgString, ArgActivation:
		x, ok = v.(string)
	case ArgPair:
		if n, isInt := value.Int(v); isInt {
			x, ok = [2]int{n, n}, true
		} else if l, isList := value.Ints(v); isList && len(l) == 2 {
			x, ok = [2]int{l[0], l[1]}, true
		}
	case ArgShape:
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

// fileValue is x, a value Args holds, as an experiment file writes it.
func fileValue(x any) any {
	switch v := x.(type) {
	case [2]int:
		return []any{v[0], v[1]}
	case []int:
		return value.List(v)
	}
	return x
}

// Checks shared by several layers' Args.

func positive(v any) bool { n, _ := v.(int); return n > 0 }

func positivePair(v any) bool { p, _ := v.([2]int); return p[0] > 0 && p[1] > 0 }

func padding(v any) bool { return v == "valid" || v == "same" }

// activationArg is the activation argument of Dense, Conv2D and Activation.
// The name is checked by the constructor, which knows the layer.
func activationArg(def any, required bool) Arg {
	return Arg{Name: "activation", Kind: ArgActivation, Default: def, Required: required,
		Doc: "one of " + strings.Join(activations.Names(), ", ")}
}
