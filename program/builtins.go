package program

import (
	"fmt"
	"math"
	"strings"
	"unicode/utf8"
)

// builtins are the Python builtins kiln's reader has.
func (in *Interp) builtins() map[string]Value {
	return map[string]Value{
		"print": builtin("print", func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
			sep, end := " ", "\n"
			for _, k := range kw {
				s, ok := k.Value.(string)
				switch {
				case k.Name == "sep" && (ok || k.Value == nil):
					if ok {
						sep = s
					}
				case k.Name == "end" && (ok || k.Value == nil):
					if ok {
						end = s
					}
				case k.Name == "flush" || k.Name == "file" && k.Value == nil:
				default:
					return nil, fmt.Errorf("TypeError: print() got an unexpected keyword argument '%s'", k.Name)
				}
			}
			parts := make([]string, len(pos))
			for i, v := range pos {
				parts[i] = str(v)
			}
			fmt.Fprint(in.Out, strings.Join(parts, sep)+end)
			return nil, nil
		}),
		"type": builtin("type", func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
			a, err := bind("type", pos, kw, "object")
			if err != nil {
				return nil, err
			}
			return &classObj{name: className(a.get("object"))}, nil
		}),
		"len": builtin("len", func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
			a, err := bind("len", pos, kw, "obj")
			if err != nil {
				return nil, err
			}
			return length(a.get("obj"))
		}),
		"range": builtin("range", func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
			if len(kw) > 0 || len(pos) == 0 || len(pos) > 3 {
				return nil, fmt.Errorf("TypeError: range expected 1 to 3 integer arguments")
			}
			n := make([]int, len(pos))
			for i, v := range pos {
				x, ok := v.(int)
				if !ok {
					return nil, fmt.Errorf("TypeError: '%s' object cannot be interpreted as an integer", typeName(v))
				}
				n[i] = x
			}
			start, stop, step := 0, n[0], 1
			if len(n) > 1 {
				start, stop = n[0], n[1]
			}
			if len(n) > 2 {
				step = n[2]
			}
			if step == 0 {
				return nil, fmt.Errorf("ValueError: range() arg 3 must not be zero")
			}
			l := &List{}
			for i := start; (step > 0 && i < stop) || (step < 0 && i > stop); i += step {
				if len(l.Items) > 1e6 {
					return nil, fmt.Errorf("range(%d, %d, %d) is too long for kiln's reader", start, stop, step)
				}
				l.Items = append(l.Items, i)
			}
			return l, nil
		}),
		"list": builtin("list", func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
			a, err := bind("list", pos, kw, "iterable=")
			if err != nil {
				return nil, err
			}
			if !a.has("iterable") {
				return &List{}, nil
			}
			items, err := iterate(a.get("iterable"))
			return &List{Items: items}, err
		}),
		"tuple": builtin("tuple", func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
			a, err := bind("tuple", pos, kw, "iterable=")
			if err != nil || !a.has("iterable") {
				return Tuple{}, err
			}
			items, err := iterate(a.get("iterable"))
			return Tuple(items), err
		}),
		"dict": builtin("dict", func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
			if len(pos) > 0 {
				return nil, fmt.Errorf("TypeError: kiln's reader makes dicts from keyword arguments only, e.g. dict(a=1)")
			}
			d := NewDict()
			for _, k := range kw {
				d.Set(k.Name, k.Value)
			}
			return d, nil
		}),
		"int": builtin("int", func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
			a, err := bind("int", pos, kw, "x=")
			if err != nil {
				return nil, err
			}
			switch v := a.get("x").(type) {
			case nil:
				return 0, nil
			case int:
				return v, nil
			case bool:
				return map[bool]int{false: 0, true: 1}[v], nil
			case float64:
				return int(v), nil
			case string:
				var n int
				if _, err := fmt.Sscan(strings.TrimSpace(v), &n); err != nil {
					return nil, fmt.Errorf("ValueError: invalid literal for int(): %s", quote(v))
				}
				return n, nil
			}
			return nil, fmt.Errorf("TypeError: int() argument must be a string or a number, not '%s'", typeName(a.get("x")))
		}),
		"float": builtin("float", func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
			a, err := bind("float", pos, kw, "x=")
			if err != nil {
				return nil, err
			}
			if s, ok := a.get("x").(string); ok {
				var f float64
				if _, err := fmt.Sscan(strings.TrimSpace(s), &f); err != nil {
					return nil, fmt.Errorf("ValueError: could not convert string to float: %s", quote(s))
				}
				return f, nil
			}
			if !a.has("x") {
				return 0.0, nil
			}
			if f, ok := toFloat(a.get("x")); ok {
				return f, nil
			}
			if sc, ok := a.get("x").(interface{ scalar() (float64, bool) }); ok {
				if f, ok := sc.scalar(); ok {
					return f, nil
				}
			}
			return nil, fmt.Errorf("TypeError: float() argument must be a string or a number, not '%s'", typeName(a.get("x")))
		}),
		"str": builtin("str", func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
			a, err := bind("str", pos, kw, "object=")
			if err != nil {
				return nil, err
			}
			if !a.has("object") {
				return "", nil
			}
			return str(a.get("object")), nil
		}),
		"repr": builtin("repr", func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
			a, err := bind("repr", pos, kw, "object")
			if err != nil {
				return nil, err
			}
			return repr(a.get("object")), nil
		}),
		"round": builtin("round", func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
			a, err := bind("round", pos, kw, "number", "ndigits=")
			if err != nil {
				return nil, err
			}
			f, ok := toFloat(a.get("number"))
			if !ok {
				return nil, fmt.Errorf("TypeError: type %s doesn't define __round__", typeName(a.get("number")))
			}
			if !a.has("ndigits") {
				return int(math.RoundToEven(f)), nil
			}
			nd, err := a.int("ndigits", 0)
			if err != nil {
				return nil, err
			}
			p := math.Pow(10, float64(nd))
			return math.RoundToEven(f*p) / p, nil
		}),
		"abs": builtin("abs", func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
			a, err := bind("abs", pos, kw, "x")
			if err != nil {
				return nil, err
			}
			switch v := a.get("x").(type) {
			case int:
				if v < 0 {
					return -v, nil
				}
				return v, nil
			case float64:
				return math.Abs(v), nil
			}
			return nil, fmt.Errorf("TypeError: bad operand type for abs(): '%s'", typeName(a.get("x")))
		}),
		"min":       builtin("min", func(in *Interp, pos []Value, kw []Kwarg) (Value, error) { return extreme(in, "min", pos, kw, -1) }),
		"max":       builtin("max", func(in *Interp, pos []Value, kw []Kwarg) (Value, error) { return extreme(in, "max", pos, kw, 1) }),
		"sum":       builtin("sum", sumBuiltin),
		"enumerate": builtin("enumerate", enumerateBuiltin),
		"zip":       builtin("zip", zipBuiltin),
		"sorted": builtin("sorted", func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
			a, err := bind("sorted", pos, kw, "iterable", "reverse=")
			if err != nil {
				return nil, err
			}
			items, err := iterate(a.get("iterable"))
			if err != nil {
				return nil, err
			}
			items = append([]Value(nil), items...)
			var cmpErr error
			sortValues(items, &cmpErr)
			if rev, _ := a.bool("reverse", false); rev {
				for i, j := 0, len(items)-1; i < j; i, j = i+1, j-1 {
					items[i], items[j] = items[j], items[i]
				}
			}
			return &List{Items: items}, cmpErr
		}),
		"isinstance": builtin("isinstance", func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
			return nil, fmt.Errorf("isinstance() is not in kiln's reader; run the program with its own Python (--python)")
		}),
	}
}

func length(v Value) (Value, error) {
	switch x := v.(type) {
	case string:
		return len([]rune(x)), nil
	case Tuple:
		return len(x), nil
	case *List:
		return len(x.Items), nil
	case *Dict:
		return len(x.keys), nil
	case interface{ length() (int, error) }:
		return x.length()
	}
	return nil, fmt.Errorf("TypeError: object of type '%s' has no len()", typeName(v))
}

// iterate returns the items a for loop over v sees.
func iterate(v Value) ([]Value, error) {
	switch x := v.(type) {
	case string:
		var out []Value
		for _, r := range x {
			out = append(out, string(r))
		}
		return out, nil
	case Tuple:
		return x, nil
	case *List:
		return x.Items, nil
	case *Dict:
		return x.Keys(), nil
	case interface{ items() ([]Value, error) }:
		return x.items()
	}
	return nil, fmt.Errorf("TypeError: '%s' object is not iterable", typeName(v))
}

func extreme(in *Interp, name string, pos []Value, kw []Kwarg, sign int) (Value, error) {
	var key, def Value
	hasDef := false
	for _, k := range kw {
		switch k.Name {
		case "key":
			key = k.Value
		case "default":
			def, hasDef = k.Value, true
		default:
			return nil, fmt.Errorf("TypeError: '%s' is an invalid keyword argument for %s()", k.Name, name)
		}
	}
	items := pos
	if len(pos) == 1 {
		var err error
		if items, err = iterate(pos[0]); err != nil {
			return nil, err
		}
	}
	if len(items) == 0 {
		if hasDef {
			return def, nil
		}
		return nil, fmt.Errorf("ValueError: %s() arg is an empty sequence", name)
	}
	// keyOf is the value compared: key(v), or v.
	keyOf := func(v Value) (Value, error) {
		if key == nil {
			return v, nil
		}
		return in.call(key, []Value{v}, nil)
	}
	best := items[0]
	bestK, err := keyOf(best)
	if err != nil {
		return nil, err
	}
	for _, v := range items[1:] {
		k, err := keyOf(v)
		if err != nil {
			return nil, err
		}
		c, err := compare(k, bestK)
		if err != nil {
			return nil, err
		}
		if c*sign > 0 {
			best, bestK = v, k
		}
	}
	return best, nil
}

func sumBuiltin(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
	a, err := bind("sum", pos, kw, "iterable", "start=")
	if err != nil {
		return nil, err
	}
	items, err := iterate(a.get("iterable"))
	if err != nil {
		return nil, err
	}
	var acc Value = 0
	if a.has("start") {
		acc = a.get("start")
	}
	for _, v := range items {
		if acc, err = binaryOp("+", acc, v); err != nil {
			return nil, err
		}
	}
	return acc, nil
}

func enumerateBuiltin(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
	a, err := bind("enumerate", pos, kw, "iterable", "start=")
	if err != nil {
		return nil, err
	}
	items, err := iterate(a.get("iterable"))
	if err != nil {
		return nil, err
	}
	start, err := a.int("start", 0)
	if err != nil {
		return nil, err
	}
	out := &List{}
	for i, v := range items {
		out.Items = append(out.Items, Tuple{start + i, v})
	}
	return out, nil
}

func zipBuiltin(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
	if len(kw) > 0 {
		return nil, fmt.Errorf("TypeError: kiln's reader has zip() without keyword arguments")
	}
	var lists [][]Value
	n := -1
	for _, v := range pos {
		items, err := iterate(v)
		if err != nil {
			return nil, err
		}
		lists = append(lists, items)
		if n < 0 || len(items) < n {
			n = len(items)
		}
	}
	out := &List{}
	for i := 0; i < n; i++ {
		t := make(Tuple, len(lists))
		for j := range lists {
			t[j] = lists[j][i]
		}
		out.Items = append(out.Items, t)
	}
	return out, nil
}

func sortValues(items []Value, errp *error) {
	for i := 1; i < len(items); i++ {
		for j := i; j > 0; j-- {
			c, err := compare(items[j-1], items[j])
			if err != nil {
				*errp = err
				return
			}
			if c <= 0 {
				break
			}
			items[j-1], items[j] = items[j], items[j-1]
		}
	}
}

func listMethod(l *List, name string) (Value, error) {
	switch name {
	case "append":
		return builtin("list.append", func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
			a, err := bind("append", pos, kw, "object")
			if err != nil {
				return nil, err
			}
			l.Items = append(l.Items, a.get("object"))
			return nil, nil
		}), nil
	case "extend":
		return builtin("list.extend", func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
			a, err := bind("extend", pos, kw, "iterable")
			if err != nil {
				return nil, err
			}
			items, err := iterate(a.get("iterable"))
			l.Items = append(l.Items, items...)
			return nil, err
		}), nil
	case "index":
		return builtin("list.index", func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
			a, err := bind("index", pos, kw, "value")
			if err != nil {
				return nil, err
			}
			for i, v := range l.Items {
				if equal(v, a.get("value")) {
					return i, nil
				}
			}
			return nil, fmt.Errorf("ValueError: %s is not in list", repr(a.get("value")))
		}), nil
	}
	return nil, fmt.Errorf("AttributeError: 'list' object has no attribute '%s' in kiln's reader", name)
}

func dictMethod(d *Dict, name string) (Value, error) {
	switch name {
	case "keys", "values", "items":
		return builtin("dict."+name, func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
			if _, err := bind(name, pos, kw); err != nil {
				return nil, err
			}
			out := &List{}
			for _, k := range d.keys {
				switch name {
				case "keys":
					out.Items = append(out.Items, k)
				case "values":
					out.Items = append(out.Items, d.m[k])
				default:
					out.Items = append(out.Items, Tuple{k, d.m[k]})
				}
			}
			return out, nil
		}), nil
	case "get":
		return builtin("dict.get", func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
			a, err := bind("get", pos, kw, "key", "default=")
			if err != nil {
				return nil, err
			}
			if v, ok := d.Get(a.get("key")); ok {
				return v, nil
			}
			return a.get("default"), nil
		}), nil
	}
	return nil, fmt.Errorf("AttributeError: 'dict' object has no attribute '%s' in kiln's reader", name)
}

func strMethod(s string, name string) (Value, error) {
	simple := map[string]func(string) string{"upper": strings.ToUpper, "lower": strings.ToLower, "strip": strings.TrimSpace,
		"title": strings.Title} //nolint:staticcheck // Python's title, ASCII programs
	if f, ok := simple[name]; ok {
		return builtin("str."+name, func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
			if _, err := bind(name, pos, kw); err != nil {
				return nil, err
			}
			return f(s), nil
		}), nil
	}
	switch name {
	case "format":
		return builtin("str.format", func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
			return formatMethod(s, pos, kw)
		}), nil
	case "join":
		return builtin("str.join", func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
			a, err := bind("join", pos, kw, "iterable")
			if err != nil {
				return nil, err
			}
			items, err := iterate(a.get("iterable"))
			if err != nil {
				return nil, err
			}
			parts := make([]string, len(items))
			for i, v := range items {
				p, ok := v.(string)
				if !ok {
					return nil, fmt.Errorf("TypeError: sequence item %d: expected str instance, %s found", i, typeName(v))
				}
				parts[i] = p
			}
			return strings.Join(parts, s), nil
		}), nil
	case "ljust", "rjust", "center":
		return builtin("str."+name, func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
			a, err := bind(name, pos, kw, "width", "fillchar=")
			if err != nil {
				return nil, err
			}
			w, err := a.int("width", 0)
			if err != nil {
				return nil, err
			}
			fill, err := a.str("fillchar", " ")
			if err != nil || utf8.RuneCountInString(fill) != 1 {
				return nil, fmt.Errorf("TypeError: The fill character must be exactly one character long")
			}
			pad := w - utf8.RuneCountInString(s)
			if pad <= 0 {
				return s, nil
			}
			switch name {
			case "ljust":
				return s + strings.Repeat(fill, pad), nil
			case "rjust":
				return strings.Repeat(fill, pad) + s, nil
			}
			// CPython's center: the extra fill goes left when the
			// padding and the width are both odd.
			left := pad/2 + (pad & w & 1)
			return strings.Repeat(fill, left) + s + strings.Repeat(fill, pad-left), nil
		}), nil
	case "replace", "startswith", "endswith", "split":
		return builtin("str."+name, func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
			a, err := bind(name, pos, kw, "a=", "b=")
			if err != nil {
				return nil, err
			}
			x, _ := a.get("a").(string)
			y, _ := a.get("b").(string)
			switch name {
			case "replace":
				return strings.ReplaceAll(s, x, y), nil
			case "startswith":
				return strings.HasPrefix(s, x), nil
			case "endswith":
				return strings.HasSuffix(s, x), nil
			}
			var parts []string
			if a.has("a") {
				parts = strings.Split(s, x)
			} else {
				parts = strings.Fields(s)
			}
			out := &List{}
			for _, p := range parts {
				out.Items = append(out.Items, p)
			}
			return out, nil
		}), nil
	}
	return nil, fmt.Errorf("AttributeError: 'str' object has no attribute '%s' in kiln's reader", name)
}

// classObj is what type(x) returns: a class, shown as Python shows it.
type classObj struct{ name string }

func (c *classObj) typeName() string { return "type" }
func (c *classObj) repr() string     { return "<class '" + c.name + "'>" }

// className is the qualified name of v's class as Python prints it.
func className(v Value) string {
	switch v.(type) {
	case *Array:
		return "numpy.ndarray"
	case *Module:
		return "module"
	case *Builtin:
		return "builtin_function_or_method"
	}
	return typeName(v)
}
