// Package value reads the loosely typed values that decoded YAML and JSON
// hand kiln (int, int64, uint64, float64, json.Number, []any, []int) as the
// Go types its layers and experiment files need. The experiment-file reader
// and the layer registry share it, so both accept the same spellings.
package value

import (
	"encoding/json"
	"fmt"
	"math"
)

// Float returns v as a float64; ok is false if v is not a number.
func Float(v any) (f float64, ok bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint64:
		return float64(x), true
	case float64:
		return x, true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}

// Int returns v as an int; ok is false if v is not a whole number that fits
// (so 3.0 is accepted, 3.5 not).
func Int(v any) (n int, ok bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case int64:
		if x == int64(int(x)) {
			return int(x), true
		}
		return 0, false
	case uint64:
		if x <= math.MaxInt {
			return int(x), true
		}
		return 0, false
	}
	f, ok := Float(v)
	if !ok || f != math.Trunc(f) || math.Abs(f) >= 1<<53 {
		return 0, false
	}
	return int(f), true
}

// List returns v as a list of values: a []any as it is, a []int converted;
// nil for anything else.
func List(v any) []any {
	switch x := v.(type) {
	case []any:
		return x
	case []int:
		l := make([]any, len(x))
		for i, d := range x {
			l[i] = d
		}
		return l
	}
	return nil
}

// Ints returns v, a list of whole numbers, as []int; ok is false otherwise.
func Ints(v any) (ints []int, ok bool) {
	l := List(v)
	if l == nil {
		return nil, false
	}
	ints = make([]int, len(l))
	for i, x := range l {
		if ints[i], ok = Int(x); !ok {
			return nil, false
		}
	}
	return ints, true
}

// JSON formats v compactly for messages, cut at 160 bytes.
func JSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(b) > 160 {
		return string(b[:157]) + "..."
	}
	return string(b)
}
