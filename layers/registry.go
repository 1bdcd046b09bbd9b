package layers

import (
	"fmt"
	"strings"

	"github.com/kiln-ml/kiln/activations"
	"github.com/kiln-ml/kiln/schema"
)

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
	Args []schema.Arg
	// New makes the layer from checked arguments; NewMerge instead for a
	// merge layer (Add, Concatenate, …), which takes several inputs.
	New      func(a schema.Values) (Layer, error)
	NewMerge func(a schema.Values) (Merge, error)
	// Keras, if set, reads the settings of a Keras get_config() that are
	// not plain Args (initializers, data_format, settings kiln refuses)
	// before the Args are read; see KerasConfig.
	Keras func(k *KerasConfig) error
	// Positional is how many of Args Keras' Python constructor takes by
	// position, in Args' order: Dense(10, "relu") is units, activation.
	Positional int
	// Aliases map older Keras spellings of arguments, still common in
	// posted programs, to their names today (Keras 2's output_dim: units).
	Aliases map[string]string
	// Example is a valid argument map, as an experiment file writes it,
	// and ExampleInput a per-sample input shape it accepts: the registry's
	// tests build, round-trip and run every layer from them.
	Example      map[string]any
	ExampleInput []int
}

var registry = schema.NewRegistry[*Spec]("layers")

// Register adds a layer type. It panics if the class is registered twice
// or the Spec is incomplete: registration happens in init functions, where
// such a slip is a programming error.
func Register(s Spec) {
	if s.Class == "" || (s.New == nil) == (s.NewMerge == nil) {
		panic("layers.Register: a Spec needs Class and one of New and NewMerge")
	}
	schema.Check(s.Class, s.Args)
	registry.Add(s.Class, &s)
}

// Lookup returns the Spec of a Keras class name.
func Lookup(class string) (*Spec, bool) { return registry.Get(class) }

// Classes returns the registered class names, sorted.
func Classes() []string { return registry.Names() }

// Parse checks an argument map as an experiment file gives it (decoded
// YAML or JSON values) and fills in defaults. "name" is accepted and
// ignored here (Make sets it).
func (s *Spec) Parse(raw map[string]any) (schema.Values, error) {
	return schema.Parse(s.Class, s.Args, raw)
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
	if s.New == nil {
		return nil, fmt.Errorf("%s merges the outputs of two or more layers: give it inputs, e.g. inputs: [dense, dense_1]", s.Class)
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

// IsMerge reports whether the layer merges several inputs.
func (s *Spec) IsMerge() bool { return s.NewMerge != nil }

// MakeMerge is Make for a merge layer.
func (s *Spec) MakeMerge(raw map[string]any) (Merge, error) {
	if s.NewMerge == nil {
		return nil, fmt.Errorf("%s is not a merge layer", s.Class)
	}
	a, err := s.Parse(raw)
	if err != nil {
		return nil, err
	}
	m, err := s.NewMerge(a)
	if err != nil {
		return nil, err
	}
	if v, ok := raw["name"]; ok && v != nil {
		name, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("%s: name must be a string, got %v", s.Class, v)
		}
		m.SetName(name)
	}
	return m, nil
}

// activationArg is the activation argument of Dense, Conv2D and Activation.
// The name is checked by the constructor, which knows the layer.
func activationArg(def any, required bool) schema.Arg {
	return schema.Arg{Name: "activation", Kind: schema.Activation, Default: def, Required: required,
		Doc: "one of " + strings.Join(activations.Names(), ", ")}
}
