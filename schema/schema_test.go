package schema

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	args := []Arg{
		{Name: "units", Kind: Int, Required: true, Doc: "a positive integer", Valid: Positive},
		{Name: "size", Kind: Pair, Default: [2]int{2, 2}, Doc: "an integer or a list of two integers"},
		{Name: "rate", Kind: Float, Default: 0.5, Doc: "a number"},
		{Name: "baseline", Kind: OptionalFloat, Doc: "a number or null"},
		{Name: "mode", Kind: String, Default: "auto", Doc: "auto, min or max", Valid: OneOf("auto", "min", "max")},
		{Name: "shape", Kind: Shape, Doc: "a list of integers"},
	}
	v, err := Parse("Thing", args, map[string]any{"units": 3.0, "size": []any{1, 4}, "shape": []int{2, 3}, "name": "x"})
	if err != nil {
		t.Fatal(err)
	}
	if v.Int("units") != 3 || v.Pair("size") != [2]int{1, 4} || v.Float("rate") != 0.5 || v.OptionalFloat("baseline") != nil ||
		v.String("mode") != "auto" || len(v.Ints("shape")) != 2 || v.Has("baseline") {
		t.Errorf("parsed %+v", v)
	}
	if v, _ := Parse("Thing", args, map[string]any{"units": 1, "size": 5, "baseline": 0.25}); v.Pair("size") != [2]int{5, 5} || *v.OptionalFloat("baseline") != 0.25 {
		t.Errorf("parsed %+v", v)
	}
	for _, c := range []struct {
		raw  map[string]any
		want string
	}{
		{map[string]any{}, "Thing needs units: a positive integer"},
		{map[string]any{"units": 0}, "Thing: units must be a positive integer, got 0"},
		{map[string]any{"units": 1.5}, "units must be a positive integer, got 1.5"},
		{map[string]any{"units": 1, "size": []any{1, 2, 3}}, "size must be an integer or a list of two integers"},
		{map[string]any{"units": 1, "mode": "up"}, "mode must be auto, min or max, got up"},
		{map[string]any{"units": 1, "shape": []any{}}, "shape must be a list of integers"},
		{map[string]any{"units": 1, "unit": 1}, `Thing has no argument "unit"; valid arguments: units, size, rate, baseline, mode, shape, name`},
	} {
		if _, err := Parse("Thing", args, c.raw); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.raw, err, c.want)
		}
	}
}

// TestCheck: a malformed schema is refused when it registers.
func TestCheck(t *testing.T) {
	for _, bad := range [][]Arg{
		{{Name: "units", Kind: Int}},
		{{Name: "name", Kind: String, Doc: "a name"}},
		{{Name: "units", Kind: Int, Doc: "a positive integer", Default: 0, Valid: Positive}},
		{{Name: "units", Kind: Int, Doc: "an integer", Default: 1, Required: true}},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%+v: no panic", bad)
				}
			}()
			Check("Thing", bad)
		}()
	}
	Check("Thing", []Arg{{Name: "units", Kind: Int, Doc: "an integer", Default: 1}})
}

// TestTupleHint: a Python tuple written in YAML gets a hint.
func TestTupleHint(t *testing.T) {
	args := []Arg{{Name: "kernel_size", Kind: Pair, Required: true, Doc: "an integer or a list of two integers"}}
	_, err := Parse("Conv2D", args, map[string]any{"kernel_size": "(3, 3)"})
	if err == nil || !strings.Contains(err.Error(), "(3, 3) is a Python tuple, which YAML reads as a string; write a list: [3, 3]") {
		t.Errorf("error %v", err)
	}
	if h := SplitTupleHint("28)"); !strings.Contains(h, "write a list, e.g. {shape: [28, 28]}") {
		t.Errorf("split tuple hint %q", h)
	}
	if h := TupleHint("relu"); h != "" {
		t.Errorf("hint for a plain string: %q", h)
	}
}

// TestRegistry: Add, Get, sorted Names, and a panic on a duplicate.
func TestRegistry(t *testing.T) {
	r := NewRegistry[int]("things")
	r.Add("b", 2)
	r.Add("a", 1)
	if v, ok := r.Get("b"); !ok || v != 2 {
		t.Errorf("Get(b) = %v, %v", v, ok)
	}
	if _, ok := r.Get("c"); ok {
		t.Error("Get(c) found a value")
	}
	if n := strings.Join(r.Names(), ","); n != "a,b" {
		t.Errorf("Names = %s", n)
	}
	defer func() {
		if p := recover(); p == nil || !strings.Contains(p.(string), "things.Register: a registered twice") {
			t.Errorf("duplicate: panic %v", p)
		}
	}()
	r.Add("a", 3)
}
