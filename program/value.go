package program

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Value is a Python value in kiln's reader: nil (None), bool, int, float64,
// string, Tuple, *List, *Dict, or one of the reader's objects (modules,
// functions, Keras objects, arrays).
type Value any

// Tuple is a Python tuple.
type Tuple []Value

// List is a Python list (a reference: appends are seen by every holder).
type List struct{ Items []Value }

// Dict is a Python dict with string or int keys, in insertion order.
type Dict struct {
	keys []Value
	m    map[Value]Value
}

// NewDict returns an empty Dict.
func NewDict() *Dict { return &Dict{m: map[Value]Value{}} }

// Set sets d[k] = v; k must be hashable (None, bool, int, float64, string).
func (d *Dict) Set(k, v Value) error {
	if !hashable(k) {
		return fmt.Errorf("TypeError: unhashable type: '%s'", typeName(k))
	}
	if _, ok := d.m[k]; !ok {
		d.keys = append(d.keys, k)
	}
	d.m[k] = v
	return nil
}

// Get returns d[k].
func (d *Dict) Get(k Value) (Value, bool) {
	if !hashable(k) {
		return nil, false
	}
	v, ok := d.m[k]
	return v, ok
}

// Keys returns the keys in insertion order.
func (d *Dict) Keys() []Value { return append([]Value(nil), d.keys...) }

func hashable(v Value) bool {
	switch v.(type) {
	case nil, bool, int, float64, string:
		return true
	}
	return false
}

// Kwarg is one keyword argument of a call.
type Kwarg struct {
	Name  string
	Value Value
}

// Builtin is a function (or bound method) implemented in Go.
type Builtin struct {
	Name string
	Fn   func(in *Interp, pos []Value, kw []Kwarg) (Value, error)
}

// Module is a Python module: keras, numpy, matplotlib.pyplot, …
type Module struct {
	Name  string
	Attrs map[string]Value
	// Missing, if set, is appended to the error for a name the module
	// lacks: what kiln's reader has instead, or what to do.
	Missing string
}

// attrer is an object with attributes (methods included).
type attrer interface {
	attr(in *Interp, name string) (Value, error)
}

func (m *Module) attr(_ *Interp, name string) (Value, error) {
	if v, ok := m.Attrs[name]; ok {
		return v, nil
	}
	return nil, fmt.Errorf("AttributeError: module '%s' has no attribute '%s'%s%s", m.Name, name, m.hint(name), m.Missing)
}

// hint suggests the nearest name the module has.
func (m *Module) hint(name string) string {
	best, bestD := "", 4
	for k := range m.Attrs {
		if d := editDistance(strings.ToLower(k), strings.ToLower(name)); d < bestD {
			best, bestD = k, d
		}
	}
	if best == "" {
		return " in kiln's reader"
	}
	return fmt.Sprintf(" in kiln's reader; did you mean '%s'?", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// typeName is Python's type(v).__name__.
func typeName(v Value) string {
	switch x := v.(type) {
	case nil:
		return "NoneType"
	case bool:
		return "bool"
	case int:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case Tuple:
		return "tuple"
	case *List:
		return "list"
	case *Dict:
		return "dict"
	case *Builtin:
		return "builtin_function_or_method"
	case *Module:
		return "module"
	case interface{ typeName() string }:
		return x.typeName()
	}
	return fmt.Sprintf("%T", v)
}

// truth is Python's bool(v).
func truth(v Value) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case int:
		return x != 0
	case float64:
		return x != 0
	case string:
		return x != ""
	case Tuple:
		return len(x) > 0
	case *List:
		return len(x.Items) > 0
	case *Dict:
		return len(x.keys) > 0
	}
	return true
}

// str is Python's str(v); repr is repr(v).
func str(v Value) string {
	switch x := v.(type) {
	case string:
		return x
	case *Array:
		if s, ok := x.str(); ok {
			return s
		}
	}
	return repr(v)
}

func repr(v Value) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case int:
		return strconv.Itoa(x)
	case float64:
		return floatRepr(x)
	case string:
		return quote(x)
	case Tuple:
		if len(x) == 1 {
			return "(" + repr(x[0]) + ",)"
		}
		return "(" + joinRepr(x) + ")"
	case *List:
		return "[" + joinRepr(x.Items) + "]"
	case *Dict:
		parts := make([]string, len(x.keys))
		for i, k := range x.keys {
			parts[i] = repr(k) + ": " + repr(x.m[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case *Builtin:
		return "<built-in function " + x.Name + ">"
	case *Module:
		return "<module '" + x.Name + "'>"
	case interface{ repr() string }:
		return x.repr()
	}
	return fmt.Sprint(v)
}

func joinRepr(vs []Value) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = repr(v)
	}
	return strings.Join(parts, ", ")
}

// floatRepr formats like Python's repr(float): the shortest string that
// reads back, with ".0" on whole numbers and exponents from 1e16 and below
// 1e-4.
func floatRepr(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	a := math.Abs(f)
	if a != 0 && (a >= 1e16 || a < 1e-4) {
		s := strconv.FormatFloat(f, 'e', -1, 64)
		// Go writes 1e-05 as 1e-05 already; Python too. Go writes e+16.
		return s
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return s
}

// quote is Python's repr of a string: single quotes unless the string
// holds one and no double quote.
func quote(s string) string {
	q := byte('\'')
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == rune(q) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(q)
	return b.String()
}

// sortedKeys returns a map's keys sorted, for deterministic messages.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
