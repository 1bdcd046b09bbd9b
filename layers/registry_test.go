package layers

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// TestRegistryRoundTrip builds every registered layer from its Spec's
// Example, then sends its Config (Keras' get_config keys) back through the
// Keras reader and builds it again: the two layers must have the same
// Config and the same output shape. This is what kiln fit --save and
// Keras import rely on.
//
// Catches: a Config key the Keras reader does not accept, an argument
// Config leaves out (the rebuilt layer differs), a Spec.New that ignores an
// argument.
func TestRegistryRoundTrip(t *testing.T) {
	for _, class := range Classes() {
		spec, _ := Lookup(class)
		if spec.IsMerge() {
			continue // several inputs: merge_test.go
		}
		in := spec.ExampleInput
		if in == nil {
			t.Errorf("%s: the Spec has no ExampleInput", class)
			continue
		}
		ex := map[string]any{"name": "my_" + strings.ToLower(class)}
		for k, v := range spec.Example {
			ex[k] = v
		}
		l, err := spec.Make(ex)
		if err != nil {
			t.Errorf("%s: Example %v: %v", class, spec.Example, err)
			continue
		}
		out, err := l.Build(in, rand.New(rand.NewPCG(1, 2)))
		if err != nil {
			t.Errorf("%s: Build(%v): %v", class, in, err)
			continue
		}
		// Through JSON, as a saved config.json is read back.
		b, err := json.Marshal(l.Config())
		if err != nil {
			t.Fatal(err)
		}
		var cfg map[string]any
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.UseNumber()
		if err := dec.Decode(&cfg); err != nil {
			t.Fatal(err)
		}
		k := NewKerasConfig(cfg, class)
		k.Drop("name", "trainable", "dtype")
		args, err := spec.FromKeras(k)
		if err != nil {
			t.Errorf("%s: reading its own Config %s: %v", class, b, err)
			continue
		}
		if u := k.Unread(); len(u) > 0 {
			t.Errorf("%s: Config keys the Keras reader ignores: %v", class, u)
		}
		args["name"] = cfg["name"]
		l2, err := spec.Make(args)
		if err != nil {
			t.Errorf("%s: rebuilding from %v: %v", class, args, err)
			continue
		}
		out2, err := l2.Build(in, rand.New(rand.NewPCG(1, 2)))
		if err != nil {
			t.Errorf("%s: rebuilt layer: Build: %v", class, err)
			continue
		}
		if !reflect.DeepEqual(l.Config(), l2.Config()) || !reflect.DeepEqual(out, out2) || l2.ClassName() != class {
			t.Errorf("%s: round trip changed the layer:\n %v %v\n %v %v", class, l.Config(), out, l2.Config(), out2)
			continue
		}
		// Same weights (drawn from the same seed) and the same outputs.
		if a, b := weightShapes(l), weightShapes(l2); !reflect.DeepEqual(a, b) {
			t.Errorf("%s: weights %v, after the round trip %v", class, a, b)
		}
		const n = 3
		x := make([]float32, n*size(in))
		for i := range x {
			x[i] = float32(i%7) - 2.5
		}
		y1, y2 := make([]float32, n*size(out)), make([]float32, n*size(out))
		l.Infer(y1, x, n)
		l2.Infer(y2, x, n)
		if !reflect.DeepEqual(y1, y2) {
			t.Errorf("%s: the round trip changed the outputs", class)
		}
	}
}

// TestRegistryDocs: every layer says what it does (kiln's listings and
// the README table show it). Arguments are checked by schema.Check when
// they register.
func TestRegistryDocs(t *testing.T) {
	for _, class := range Classes() {
		if spec, _ := Lookup(class); spec.Doc == "" {
			t.Errorf("%s: no Doc", class)
		}
	}
}

// TestSpecParse: the experiment file's checks, from the schema.
func TestSpecParse(t *testing.T) {
	spec, ok := Lookup("Conv2D")
	if !ok {
		t.Fatal("Conv2D is not registered")
	}
	a, err := spec.Parse(map[string]any{"filters": 4, "kernel_size": 3})
	if err != nil {
		t.Fatal(err)
	}
	if a.Int("filters") != 4 || a.Pair("kernel_size") != [2]int{3, 3} || a.Pair("strides") != [2]int{1, 1} || a.String("padding") != "valid" || !a.Bool("use_bias") {
		t.Errorf("parsed %+v", a)
	}
	for _, c := range []struct {
		raw  map[string]any
		want string
	}{
		{map[string]any{"kernel_size": 3}, "Conv2D needs filters: a positive integer"},
		{map[string]any{"filters": 0, "kernel_size": 3}, "Conv2D: filters must be a positive integer, got 0"},
		{map[string]any{"filters": 2.5, "kernel_size": 3}, "filters must be a positive integer"},
		{map[string]any{"filters": 2, "kernel_size": []any{3, 3, 3}}, "kernel_size must be an integer or a list of two integers"},
		{map[string]any{"filters": 2, "kernel_size": 3, "use_bias": "no"}, "use_bias must be true or false"},
		{map[string]any{"filters": 2, "kernel_size": 3, "kernal": 3}, `Conv2D has no argument "kernal"; valid arguments: filters, kernel_size`},
	} {
		if _, err := spec.Make(c.raw); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.raw, err, c.want)
		}
	}
}

func weightShapes(l Layer) [][]int {
	var s [][]int
	for _, v := range l.Variables() {
		s = append(s, v.Shape)
	}
	if nt, ok := l.(NonTrainable); ok {
		for _, v := range nt.NonTrainableVariables() {
			s = append(s, v.Shape)
		}
	}
	return s
}

func size(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// TestFromCall: a layer constructor call as a Keras program writes it.
func TestFromCall(t *testing.T) {
	for _, c := range []struct {
		class string
		pos   []any
		kw    map[string]any
		want  map[string]any
		err   string
	}{
		{"Dense", []any{10}, map[string]any{"activation": "sigmoid"}, map[string]any{"units": 10, "activation": "sigmoid"}, ""},
		{"Dense", []any{10, "relu"}, nil, map[string]any{"units": 10, "activation": "relu"}, ""},
		{"Dense", nil, map[string]any{"output_dim": 5, "init": "glorot_uniform"}, map[string]any{"units": 5, "activation": "linear"}, ""},
		{"Dense", []any{10}, map[string]any{"use_bias": false}, map[string]any{"units": 10, "activation": "linear", "use_bias": false}, ""},
		{"Conv2D", []any{32, []any{3, 3}}, map[string]any{"activation": "relu", "padding": "same"}, map[string]any{"filters": 32, "kernel_size": []any{3, 3}, "activation": "relu", "padding": "same"}, ""},
		{"Conv2D", []any{32, 3}, map[string]any{"border_mode": "same"}, map[string]any{"filters": 32, "kernel_size": []any{3, 3}, "activation": "linear", "padding": "same"}, ""},
		{"MaxPooling2D", []any{[]any{2, 2}}, nil, map[string]any{"pool_size": []any{2, 2}}, ""},
		{"Dropout", []any{0.5}, nil, map[string]any{"rate": 0.5}, ""},
		{"Dropout", nil, map[string]any{"p": 0.2}, map[string]any{"rate": 0.2}, ""},
		{"Reshape", []any{[]any{28, 28, 1}}, nil, map[string]any{"target_shape": []any{28, 28, 1}}, ""},
		{"Flatten", []any{"x"}, nil, nil, "Flatten takes 0 positional argument(s) (none), got 1"},
		{"Dense", []any{10, "relu", true, "glorot_uniform"}, nil, nil, "Dense takes 3 positional argument(s) (units, activation, use_bias), got 4; name the others, e.g. kernel_initializer=..."},
		{"Dense", []any{10}, map[string]any{"units": 3}, nil, `got multiple values for argument "units"`},
		{"Dense", []any{10}, map[string]any{"kernel_initializer": "orthogonal"}, nil, "kernel_initializer is"},
		{"Dense", []any{10}, map[string]any{"kernel_initializer": "he_normal"}, map[string]any{"units": 10, "activation": "linear", "kernel_initializer": "he_normal"}, ""},
		{"Dense", []any{10}, map[string]any{"activaton": "relu"}, nil, "Dense got unexpected keyword argument(s) activaton; kiln's Dense takes units, activation, use_bias, kernel_initializer, bias_initializer, name"},
		{"Dense", []any{"ten"}, nil, nil, `units "ten" is not a positive integer`},
	} {
		spec, _ := Lookup(c.class)
		got, err := spec.FromCall("prog.py:3", c.pos, c.kw)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) || !strings.HasPrefix(err.Error(), "prog.py:3: ") {
				t.Errorf("%s%v %v: error %v, want %q", c.class, c.pos, c.kw, err, c.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s%v %v: %v, %v; want %v", c.class, c.pos, c.kw, got, err, c.want)
		}
	}
}
