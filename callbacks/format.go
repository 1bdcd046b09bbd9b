package callbacks

import (
	"math"
	"strconv"
	"strings"
)

// FormatValue formats a metric value the way Keras 2's progress bar does:
// Python's "%.4f" when |v| > 1e-3, else "%.4e" (e.g. 1.2346e-04), with
// Python's spellings nan, inf and -inf.
func FormatValue(v float64) string {
	if math.Abs(v) > 1e-3 {
		return pyFixed(v, 4)
	}
	return pyExp(v, 4)
}

// formatValueVerbose2 is Keras 2's verbose=2 variant, which tests v > 1e-3
// (not |v|), so negative values are always printed with "%.4e".
func formatValueVerbose2(v float64) string {
	if v > 1e-3 {
		return pyFixed(v, 4)
	}
	return pyExp(v, 4)
}

// pyNonFinite returns Python's spelling of a non-finite float.
func pyNonFinite(v float64) (string, bool) {
	switch {
	case math.IsNaN(v):
		return "nan", true
	case math.IsInf(v, 1):
		return "inf", true
	case math.IsInf(v, -1):
		return "-inf", true
	}
	return "", false
}

// pyFixed is Python's "%.{prec}f". Go's strconv rounds correctly (half to
// even on the exact binary value), as Python does.
func pyFixed(v float64, prec int) string {
	if s, ok := pyNonFinite(v); ok {
		return s
	}
	return strconv.FormatFloat(v, 'f', prec, 64)
}

// pyExp is Python's "%.{prec}e": at least two exponent digits with a sign,
// which is also Go's form.
func pyExp(v float64, prec int) string {
	if s, ok := pyNonFinite(v); ok {
		return s
	}
	return strconv.FormatFloat(v, 'e', prec, 64)
}

// pyRepr is Python 3's repr(float): the shortest round-tripping digits, in
// positional form when the decimal exponent is in [-4, 16), else in
// exponent form; integral values keep a trailing ".0".
func pyRepr(v float64) string {
	if s, ok := pyNonFinite(v); ok {
		return s
	}
	e := strconv.FormatFloat(v, 'e', -1, 64) // [-]d[.ddd]e±XX
	neg := strings.HasPrefix(e, "-")
	if neg {
		e = e[1:]
	}
	mant, expStr, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expStr)
	digits := strings.Replace(mant, ".", "", 1)
	decpt := exp + 1 // digits are 0.d1d2... * 10^decpt
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	switch {
	case decpt <= -4 || decpt > 16:
		b.WriteString(digits[:1])
		if len(digits) > 1 {
			b.WriteByte('.')
			b.WriteString(digits[1:])
		}
		b.WriteByte('e')
		x := decpt - 1
		if x < 0 {
			b.WriteByte('-')
			x = -x
		} else {
			b.WriteByte('+')
		}
		if x < 10 {
			b.WriteByte('0')
		}
		b.WriteString(strconv.Itoa(x))
	case decpt <= 0:
		b.WriteString("0.")
		b.WriteString(strings.Repeat("0", -decpt))
		b.WriteString(digits)
	case decpt >= len(digits):
		b.WriteString(digits)
		b.WriteString(strings.Repeat("0", decpt-len(digits)))
		b.WriteString(".0")
	default:
		b.WriteString(digits[:decpt])
		b.WriteByte('.')
		b.WriteString(digits[decpt:])
	}
	return b.String()
}

// pyMod is Python's float %: the remainder takes the sign of y.
func pyMod(x, y float64) float64 {
	mod := math.Mod(x, y)
	if mod != 0 {
		if (y < 0) != (mod < 0) {
			mod += y
		}
	} else {
		mod = math.Copysign(0, y)
	}
	return mod
}

// pyFloorDiv is Python's float // (CPython's float_divmod).
func pyFloorDiv(x, y float64) float64 {
	mod := math.Mod(x, y)
	div := (x - mod) / y
	if mod != 0 && (y < 0) != (mod < 0) {
		div -= 1
	}
	if div == 0 {
		return math.Copysign(0, x/y)
	}
	floor := math.Floor(div)
	if div-floor > 0.5 {
		floor++
	}
	return floor
}

// pyInt is Python's "%d" applied to a float: truncation toward zero.
func pyInt(v float64) string {
	if s, ok := pyNonFinite(v); ok {
		return s
	}
	return strconv.FormatFloat(math.Trunc(v), 'f', 0, 64)
}

// pyInt02 is Python's "%02d" applied to a float.
func pyInt02(v float64) string {
	s := pyInt(v)
	if len(s) < 2 {
		s = "0" + s
	}
	return s
}

// formatETA is the ETA field of Keras 2's progress bar, for eta seconds.
func formatETA(eta float64) string {
	switch {
	case eta > 3600:
		return pyInt(pyFloorDiv(eta, 3600)) + ":" +
			pyInt02(pyFloorDiv(pyMod(eta, 3600), 60)) + ":" +
			pyInt02(pyMod(eta, 60))
	case eta > 60:
		return pyInt(pyFloorDiv(eta, 60)) + ":" + pyInt02(pyMod(eta, 60))
	default:
		return pyInt(eta) + "s"
	}
}

// formatTime is Keras 2's Progbar._format_time: " 3s/epoch", " 2ms/step",
// " 946us/step" (with its leading space).
func formatTime(t float64, unit string) string {
	switch {
	case t >= 1 || t == 0:
		return " " + pyFixed(t, 0) + "s/" + unit
	case t >= 1e-3:
		return " " + pyFixed(t*1000.0, 0) + "ms/" + unit
	default:
		return " " + pyFixed(t*1000000.0, 0) + "us/" + unit
	}
}

// numDigits is the number of decimal digits of n > 0 (1 for n <= 0), the
// width Keras pads the step count to.
func numDigits(n int) int {
	if n <= 0 {
		return 1
	}
	return len(strconv.Itoa(n))
}

// padLeft right-aligns the decimal n in a field of width w, like "%{w}d".
func padLeft(n, w int) string {
	s := strconv.Itoa(n)
	if len(s) < w {
		s = strings.Repeat(" ", w-len(s)) + s
	}
	return s
}
