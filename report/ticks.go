package report

import (
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
)

// maxLabels is the most labelled ticks an axis gets: enough to read values
// off, few enough that the labels of a 16 cm plot do not crowd.
const maxLabels = 7

// linearTicks places ticks on a linear axis at multiples of a round step
// (1, 2 or 5 × 10ⁿ); on a whole-number axis, with unlabelled minor ticks
// between them.
type linearTicks struct {
	// Integer keeps the labelled ticks on whole numbers (epochs, steps):
	// the step is at least 1.
	Integer bool
}

// Ticks implements plot.Ticker.
func (t linearTicks) Ticks(min, max float64) []plot.Tick {
	return niceTicks(min, max, t.Integer)
}

// logTicks places ticks on a log axis: at every decade when three or more
// show, else also at 2 and 5 × 10ⁿ (or at every digit, or at round linear
// steps on a very short range) so that at least three values are labelled.
type logTicks struct{}

// Ticks implements plot.Ticker.
func (logTicks) Ticks(min, max float64) []plot.Tick {
	return logScaleTicks(min, max)
}

// decimal is the number n × 10^e, exactly, as a tick is labelled.
type decimal struct {
	n int64
	e int
}

// value is the float64 nearest to d: dividing by an exact power of ten
// (not multiplying by an inexact 10⁻ⁿ) rounds once, so 6 × 10⁻¹ is 0.6,
// never 0.6000000000000001.
func (d decimal) value() float64 {
	switch {
	case d.e >= 0 && d.e <= 22:
		return float64(d.n) * math.Pow10(d.e)
	case d.e < 0 && d.e >= -22:
		return float64(d.n) / math.Pow10(-d.e)
	}
	return float64(d.n) * math.Pow10(d.e)
}

// label writes d with decimals places after the point ("0.60" for 6 ×
// 10⁻¹ with 2), or in e-notation ("1.5e-5") when sci is set.
func (d decimal) label(decimals int, sci bool) string {
	if d.n == 0 {
		if sci {
			return "0"
		}
		decimals = max(decimals, 0)
		return strconv.FormatFloat(0, 'f', decimals, 64)
	}
	if !sci {
		return strconv.FormatFloat(d.value(), 'f', max(decimals, 0), 64)
	}
	neg := d.n < 0
	digits := strconv.FormatInt(d.n, 10)
	if neg {
		digits = digits[1:]
	}
	e := d.e
	for len(digits) > 1 && digits[len(digits)-1] == '0' {
		digits, e = digits[:len(digits)-1], e+1
	}
	e += len(digits) - 1 // d = digits[0].digits[1:] × 10^e
	s := digits[:1]
	if len(digits) > 1 {
		s += "." + digits[1:]
	}
	if neg {
		s = "-" + s
	}
	return s + "e" + strconv.Itoa(e)
}

// niceTicks returns the labelled ticks at the smallest round step (1, 2 or
// 5 × 10ⁿ; at least 1 when integer is set) that gives at most maxLabels of
// them in [min, max], every label with as many decimals as the step needs,
// and on a whole-number axis unlabelled minor ticks between them.
func niceTicks(min, max float64, integer bool) []plot.Tick {
	if math.IsNaN(min) || math.IsNaN(max) || math.IsInf(min, 0) || math.IsInf(max, 0) {
		return nil
	}
	if min > max {
		min, max = max, min
	}
	span := max - min
	if span == 0 {
		span = math.Max(math.Abs(min), 1)
	}
	if math.Max(math.Abs(min), math.Abs(max)) > 1e15*span {
		// A range at the edge of float64's precision: round steps would
		// overflow the tick indices; label the ends.
		return []plot.Tick{{Value: min, Label: strconv.FormatFloat(min, 'g', -1, 64)}, {Value: max, Label: strconv.FormatFloat(max, 'g', -1, 64)}}
	}
	e := int(math.Floor(math.Log10(span / maxLabels)))
	if integer {
		e = int(math.Max(float64(e), 0))
	}
	for ; ; e++ {
		for _, m := range []int64{1, 2, 5} {
			step := decimal{m, e}.value()
			if integer && step < 1 {
				continue
			}
			// A tick a rounding error outside the range still counts.
			tol := 1e-9 * step
			first := int64(math.Ceil((min - tol) / step))
			last := int64(math.Floor((max + tol) / step))
			if last-first+1 > maxLabels {
				continue
			}
			return stepTicks(min, max, first, last, m, e, integer)
		}
	}
}

// stepTicks labels the ticks first..last × (m × 10^e) and, on a
// whole-number axis, adds the whole-number minor ticks (a fifth of a step of
// 1 or 5, a quarter of a step of 2, a half of a step of 2) over [min, max].
func stepTicks(min, max float64, first, last, m int64, e int, integer bool) []plot.Tick {
	maxAbs := math.Max(math.Abs(decimal{first * m, e}.value()), math.Abs(decimal{last * m, e}.value()))
	sci := maxAbs >= 1e6 || e < -4
	var ticks []plot.Tick
	for k := first; k <= last; k++ {
		d := decimal{k * m, e}
		ticks = append(ticks, plot.Tick{Value: d.value(), Label: d.label(-e, sci)})
	}
	// Minor ticks: m' × 10^e' with m'/m × 10^(e'-e) = 1/5 or 1/4.
	mm, me := map[int64]int64{1: 2, 2: 5, 5: 1}[m], e-1
	if m == 5 {
		me = e
	}
	if !integer {
		return ticks // a ruler of minor ticks on a value axis is noise
	}
	if me < 0 {
		if m == 2 && e == 0 {
			mm, me = 1, 0 // a step of 2: minor ticks on the odd numbers
		} else {
			return ticks
		}
	}
	minor := decimal{mm, me}.value()
	tol := 1e-9 * minor
	for k := int64(math.Ceil((min - tol) / minor)); k <= int64(math.Floor((max+tol)/minor)); k++ {
		// Skip the minor ticks that fall on a labelled one.
		if (k*mm*pow10i(me-e+1))%(m*10) == 0 {
			continue
		}
		ticks = append(ticks, plot.Tick{Value: decimal{k * mm, me}.value()})
	}
	return ticks
}

// pow10i is 10^n for n ≥ 0 as an integer (1 for negative n).
func pow10i(n int) int64 {
	p := int64(1)
	for ; n > 0; n-- {
		p *= 10
	}
	return p
}

// logScaleTicks implements logTicks.
func logScaleTicks(min, max float64) []plot.Tick {
	if min > max {
		min, max = max, min
	}
	if !(min > 0) || math.IsInf(max, 0) {
		return niceTicks(min, max, false)
	}
	in := func(v float64) bool { return v >= min*(1-1e-9) && v <= max*(1+1e-9) }
	lo := int(math.Floor(math.Log10(min))) - 1
	hi := int(math.Ceil(math.Log10(max))) + 1
	var decades []int
	for k := lo; k <= hi; k++ {
		if in(decimal{1, k}.value()) {
			decades = append(decades, k)
		}
	}
	var major, minor []decimal
	if len(decades) >= 3 {
		// Every decade, or every second, third... when many show.
		every := (len(decades) + maxLabels - 1) / maxLabels
		for _, k := range decades {
			if ((k%every)+every)%every == 0 {
				major = append(major, decimal{1, k})
			} else {
				minor = append(minor, decimal{1, k})
			}
		}
		if every == 1 && len(decades) <= 10 {
			for k := lo; k <= hi; k++ {
				for m := int64(2); m <= 9; m++ {
					if d := (decimal{m, k}); in(d.value()) {
						minor = append(minor, d)
					}
				}
			}
		}
	} else {
		for _, mantissas := range [][]int64{{1, 2, 5}, {1, 2, 3, 4, 5, 6, 7, 8, 9}} {
			major, minor = major[:0], minor[:0]
			for k := lo; k <= hi; k++ {
				for m := int64(1); m <= 9; m++ {
					d := decimal{m, k}
					if !in(d.value()) {
						continue
					}
					if contains(mantissas, m) {
						major = append(major, d)
					} else {
						minor = append(minor, d)
					}
				}
			}
			if len(major) >= 3 {
				break
			}
		}
		if len(major) < 3 {
			// Less than a factor of about 1.5: round linear steps read best.
			return niceTicks(min, max, false)
		}
	}
	sci := major[0].value() < 1e-3 || major[len(major)-1].value() >= 1e5
	var ticks []plot.Tick
	for _, d := range major {
		// Each label with the decimals its own value needs: 0.05, 0.1, 0.2.
		ticks = append(ticks, plot.Tick{Value: d.value(), Label: d.label(-d.e, sci)})
	}
	for _, d := range minor {
		ticks = append(ticks, plot.Tick{Value: d.value()})
	}
	return ticks
}

func contains(s []int64, v int64) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// labels is the labels of the labelled ticks, in order, for tests and
// messages.
func labels(ticks []plot.Tick) string {
	var s []string
	for _, t := range ticks {
		if t.Label != "" {
			s = append(s, t.Label)
		}
	}
	return strings.Join(s, " ")
}
