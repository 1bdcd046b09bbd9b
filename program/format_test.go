package program

import "testing"

// TestFormat: Python's format(), str() and % as CPython 3.11 prints them
// (the expected strings were printed by /usr/bin/python3).
func TestFormat(t *testing.T) {
	for _, c := range []struct {
		v    Value
		spec string
		want string
	}{
		{0.1, "", "0.1"}, {1.0, "", "1.0"}, {1e-05, "", "1e-05"}, {1e16, "", "1e+16"}, {123456789.0, "", "123456789.0"},
		{0.8823000192642212, ".4f", "0.8823"}, {0.8823, ".2%", "88.23%"}, {3, "d", "3"}, {3, "5d", "    3"}, {3, "05d", "00003"},
		{-2.5, "+.1f", "-2.5"}, {1234567.891, ",.2f", "1,234,567.89"}, {0.000123, ".3e", "1.230e-04"}, {0.000123, "g", "0.000123"},
		{123.456, ".3g", "123"}, {"ab", ">5", "   ab"}, {"ab", "^6", "  ab  "}, {"ab", "*<5", "ab***"}, {7, "", "7"}, {true, "", "True"},
		{2.0, ".0f", "2"}, {1e22, "", "1e+22"}, {0.5, "10.3f", "     0.500"},
	} {
		got, err := formatValue(c.v, c.spec)
		if err != nil || got != c.want {
			t.Errorf("format(%s, %q) = %q, %v; want %q", repr(c.v), c.spec, got, err, c.want)
		}
	}
	if _, err := formatValue(12, "x"); err == nil {
		t.Error("format(12, 'x'): no error; kiln's reader does not have hex formatting and must say so")
	}
	d := NewDict()
	d.Set("k", &List{Items: []Value{2}})
	if got := str(&List{Items: []Value{1, 0.5, "a", nil, Tuple{1}, d}}); got != "[1, 0.5, 'a', None, (1,), {'k': [2]}]" {
		t.Errorf("str(list) = %s", got)
	}
	if got, err := percentFormat("%.2f and %d and %s and %r", Tuple{3.14159, 7, "x", "y"}); err != nil || got != "3.14 and 7 and x and 'y'" {
		t.Errorf("%% format = %v, %v", got, err)
	}
	if got, err := formatMethod("{} {:.3f} {name}", []Value{1, 2.5}, []Kwarg{{"name", "n"}}); err != nil || got != "1 2.500 n" {
		t.Errorf("str.format = %v, %v", got, err)
	}
}

// TestBinaryOp: Python's arithmetic on ints and floats.
func TestBinaryOp(t *testing.T) {
	for _, c := range []struct {
		op   string
		a, b Value
		want Value
	}{
		{"+", 1, 2, 3}, {"/", 1, 2, 0.5}, {"//", -7, 2, -4}, {"%", -7, 2, 1}, {"**", 2, 10, 1024}, {"*", 0.5, 4, 2.0},
		{"+", "a", "b", "ab"}, {"==", 1, 1.0, true}, {"<", 1, 2.5, true}, {"in", 2, &List{Items: []Value{1, 2}}, true},
	} {
		got, err := binaryOp(c.op, c.a, c.b)
		if err != nil || !equal(got, c.want) || typeName(got) != typeName(c.want) {
			t.Errorf("%s %s %s = %s (%v); want %s", repr(c.a), c.op, repr(c.b), repr(got), err, repr(c.want))
		}
	}
	if _, err := binaryOp("/", 1, 0); err == nil {
		t.Error("1/0: no ZeroDivisionError")
	}
	if _, err := binaryOp("+", 1, "a"); err == nil {
		t.Error("1 + 'a': no TypeError")
	}
}
