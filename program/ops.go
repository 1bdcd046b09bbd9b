package program

import (
	"fmt"
	"math"
	"strings"
)

// arrayOperand is a value that takes part in arithmetic itself (arrays):
// binaryOp hands it the operation when either side is one.
type arrayOperand interface {
	binary(op string, other Value, swapped bool) (Value, error)
}

// binaryOp is Python's a op b for + - * / // % ** and the comparisons.
func binaryOp(op string, a, b Value) (Value, error) {
	if x, ok := a.(arrayOperand); ok {
		return x.binary(op, b, false)
	}
	if y, ok := b.(arrayOperand); ok {
		return y.binary(op, a, true)
	}
	switch op {
	case "==":
		return equal(a, b), nil
	case "!=":
		return !equal(a, b), nil
	case "<", "<=", ">", ">=":
		c, err := compare(a, b)
		if err != nil {
			return nil, err
		}
		return map[string]bool{"<": c < 0, "<=": c <= 0, ">": c > 0, ">=": c >= 0}[op], nil
	case "in", "not in":
		items, err := iterate(b)
		if err != nil {
			return nil, err
		}
		if s, ok := b.(string); ok {
			sub, ok := a.(string)
			if !ok {
				return nil, fmt.Errorf("TypeError: 'in <string>' requires string as left operand, not %s", typeName(a))
			}
			return strings.Contains(s, sub) == (op == "in"), nil
		}
		found := false
		for _, v := range items {
			found = found || equal(a, v)
		}
		return found == (op == "in"), nil
	}
	// Sequences.
	switch x := a.(type) {
	case string:
		if y, ok := b.(string); ok && op == "+" {
			return x + y, nil
		}
		if n, ok := b.(int); ok && op == "*" {
			return strings.Repeat(x, max(n, 0)), nil
		}
		if op == "%" {
			return percentFormat(x, b)
		}
	case *List:
		if y, ok := b.(*List); ok && op == "+" {
			return &List{Items: append(append([]Value(nil), x.Items...), y.Items...)}, nil
		}
		if n, ok := b.(int); ok && op == "*" {
			out := &List{}
			for i := 0; i < n; i++ {
				out.Items = append(out.Items, x.Items...)
			}
			return out, nil
		}
	case Tuple:
		if y, ok := b.(Tuple); ok && op == "+" {
			return append(append(Tuple(nil), x...), y...), nil
		}
	}
	// Numbers: int op int stays int except /, as in Python.
	if bx, ok := a.(bool); ok {
		a = map[bool]int{false: 0, true: 1}[bx]
	}
	if by, ok := b.(bool); ok {
		b = map[bool]int{false: 0, true: 1}[by]
	}
	ia, aInt := a.(int)
	ib, bInt := b.(int)
	if aInt && bInt {
		switch op {
		case "+":
			return ia + ib, nil
		case "-":
			return ia - ib, nil
		case "*":
			return ia * ib, nil
		case "//", "%":
			if ib == 0 {
				return nil, fmt.Errorf("ZeroDivisionError: integer division or modulo by zero")
			}
			q, r := ia/ib, ia%ib
			if r != 0 && (r < 0) != (ib < 0) { // Python floors
				q, r = q-1, r+ib
			}
			if op == "//" {
				return q, nil
			}
			return r, nil
		case "**":
			if ib >= 0 {
				r := 1
				for i := 0; i < ib; i++ {
					r *= ia
				}
				return r, nil
			}
		}
	}
	fa, okA := toFloat(a)
	fb, okB := toFloat(b)
	if !okA || !okB {
		return nil, fmt.Errorf("TypeError: unsupported operand type(s) for %s: '%s' and '%s'", op, typeName(a), typeName(b))
	}
	switch op {
	case "+":
		return fa + fb, nil
	case "-":
		return fa - fb, nil
	case "*":
		return fa * fb, nil
	case "/":
		if fb == 0 {
			return nil, fmt.Errorf("ZeroDivisionError: division by zero")
		}
		return fa / fb, nil
	case "//":
		if fb == 0 {
			return nil, fmt.Errorf("ZeroDivisionError: float floor division by zero")
		}
		return math.Floor(fa / fb), nil
	case "%":
		if fb == 0 {
			return nil, fmt.Errorf("ZeroDivisionError: float modulo")
		}
		return fa - math.Floor(fa/fb)*fb, nil
	case "**":
		return math.Pow(fa, fb), nil
	}
	return nil, fmt.Errorf("TypeError: unsupported operand type(s) for %s: '%s' and '%s'", op, typeName(a), typeName(b))
}

// unaryOp is Python's -a, +a, not a.
func unaryOp(op string, a Value) (Value, error) {
	if op == "not" {
		return !truth(a), nil
	}
	if x, ok := a.(arrayOperand); ok {
		return x.binary("*", map[string]Value{"-": -1, "+": 1}[op], true)
	}
	switch x := a.(type) {
	case int:
		if op == "-" {
			return -x, nil
		}
		return x, nil
	case float64:
		if op == "-" {
			return -x, nil
		}
		return x, nil
	case bool:
		n := map[bool]int{false: 0, true: 1}[x]
		if op == "-" {
			return -n, nil
		}
		return n, nil
	}
	return nil, fmt.Errorf("TypeError: bad operand type for unary %s: '%s'", op, typeName(a))
}

// equal is Python's ==.
func equal(a, b Value) bool {
	if fa, ok := toFloat(a); ok {
		if fb, ok := toFloat(b); ok {
			return fa == fb
		}
		return false
	}
	switch x := a.(type) {
	case nil:
		return b == nil
	case string:
		y, ok := b.(string)
		return ok && x == y
	case Tuple:
		y, ok := b.(Tuple)
		return ok && equalSlices(x, y)
	case *List:
		y, ok := b.(*List)
		return ok && equalSlices(x.Items, y.Items)
	}
	return a == b
}

func equalSlices(x, y []Value) bool {
	if len(x) != len(y) {
		return false
	}
	for i := range x {
		if !equal(x[i], y[i]) {
			return false
		}
	}
	return true
}

// compare orders numbers, strings, and tuples/lists of them.
func compare(a, b Value) (int, error) {
	if fa, ok := toFloat(a); ok {
		if fb, ok := toFloat(b); ok {
			switch {
			case fa < fb:
				return -1, nil
			case fa > fb:
				return 1, nil
			}
			return 0, nil
		}
	}
	if sc, ok := a.(interface{ scalar() (float64, bool) }); ok {
		if f, ok := sc.scalar(); ok {
			return compare(f, b)
		}
	}
	if sc, ok := b.(interface{ scalar() (float64, bool) }); ok {
		if f, ok := sc.scalar(); ok {
			return compare(a, f)
		}
	}
	if sa, ok := a.(string); ok {
		if sb, ok := b.(string); ok {
			return strings.Compare(sa, sb), nil
		}
	}
	seq := func(v Value) ([]Value, bool) {
		switch x := v.(type) {
		case Tuple:
			return x, true
		case *List:
			return x.Items, true
		}
		return nil, false
	}
	if xa, ok := seq(a); ok {
		if xb, ok := seq(b); ok {
			for i := 0; i < len(xa) && i < len(xb); i++ {
				if c, err := compare(xa[i], xb[i]); err != nil || c != 0 {
					return c, err
				}
			}
			return len(xa) - len(xb), nil
		}
	}
	return 0, fmt.Errorf("TypeError: '<' not supported between instances of '%s' and '%s'", typeName(a), typeName(b))
}
