package sweep

import (
	"fmt"
	"io"
	"math"
	"strings"
	"unicode/utf8"
)

// Stat is a mean and sample standard deviation (n-1) over a cell's runs;
// SD is NaN when N < 2.
type Stat struct {
	Mean, SD float64
	N        int
}

// KeyStats summarises one History key for one cell.
type KeyStats struct {
	// Final is the value at the last epoch; Best is the best over the
	// epochs (lowest for losses, highest for metrics).
	Final, Best Stat
	// Ratio is Final.Mean divided by the baseline cell's Final.Mean (NaN
	// when either is missing or the baseline's is 0).
	Ratio float64
}

// CellSummary is one row of the table: a cell's runs summarised per key.
type CellSummary struct {
	Cell  int
	Label string
	// Runs is the number of finished runs of the cell.
	Runs int
	Keys map[string]KeyStats
}

// LowerIsBetter reports whether smaller values of the History key are
// better: losses and errors (with or without val_), not accuracies.
func LowerIsBetter(key string) bool {
	k := strings.TrimPrefix(key, "val_")
	switch k {
	case "mse", "mae", "mape", "msle":
		return true
	}
	return strings.Contains(k, "loss") || strings.Contains(k, "error")
}

// Keys returns the History keys of the results, in Keras' order.
func (r *Results) Keys() []string {
	var keys []string
	for _, k := range r.Plan.keys {
		if r.hasKey(k) {
			keys = append(keys, k)
		}
	}
	for _, run := range r.Runs {
		for _, k := range run.Keys {
			if !contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	return keys
}

func (r *Results) hasKey(k string) bool {
	for _, run := range r.Runs {
		if _, ok := run.History[k]; ok {
			return true
		}
	}
	return false
}

// Summarize returns one summary per cell of the plan (cells without
// finished runs have Runs 0 and NaN stats), with ratios to the cell
// baseline.
func (r *Results) Summarize(baseline int) []CellSummary {
	keys := r.Keys()
	out := make([]CellSummary, len(r.Plan.Cells))
	for i, c := range r.Plan.Cells {
		out[i] = CellSummary{Cell: i, Label: c.Label, Keys: map[string]KeyStats{}}
	}
	finals := make([]map[string][]float64, len(out))
	bests := make([]map[string][]float64, len(out))
	for i := range out {
		finals[i], bests[i] = map[string][]float64{}, map[string][]float64{}
	}
	for _, run := range r.Runs {
		out[run.Cell].Runs++
		for _, k := range keys {
			v := run.History[k]
			if len(v) == 0 {
				continue
			}
			finals[run.Cell][k] = append(finals[run.Cell][k], v[len(v)-1])
			bests[run.Cell][k] = append(bests[run.Cell][k], best(v, LowerIsBetter(k)))
		}
	}
	for i := range out {
		for _, k := range keys {
			out[i].Keys[k] = KeyStats{Final: stat(finals[i][k]), Best: stat(bests[i][k]), Ratio: math.NaN()}
		}
	}
	if baseline >= 0 && baseline < len(out) {
		for i := range out {
			for _, k := range keys {
				ks := out[i].Keys[k]
				if b := out[baseline].Keys[k].Final; b.N > 0 && ks.Final.N > 0 && b.Mean != 0 {
					ks.Ratio = ks.Final.Mean / b.Mean
				}
				out[i].Keys[k] = ks
			}
		}
	}
	return out
}

// best is the lowest (lower) or highest finite value of v, or NaN if v
// has no finite value.
func best(v []float64, lower bool) float64 {
	b := math.NaN()
	for _, x := range v {
		if math.IsNaN(x) {
			continue
		}
		if math.IsNaN(b) || (lower && x < b) || (!lower && x > b) {
			b = x
		}
	}
	return b
}

func stat(v []float64) Stat {
	s := Stat{Mean: math.NaN(), SD: math.NaN(), N: len(v)}
	if len(v) == 0 {
		return s
	}
	sum := 0.0
	for _, x := range v {
		sum += x
	}
	s.Mean = sum / float64(len(v))
	if len(v) > 1 {
		ss := 0.0
		for _, x := range v {
			ss += (x - s.Mean) * (x - s.Mean)
		}
		s.SD = math.Sqrt(ss / float64(len(v)-1))
	}
	return s
}

// TableOptions choose what the table shows.
type TableOptions struct {
	// Baseline is the cell the ratios are relative to.
	Baseline int
	// Keys are the History keys to show; nil means all.
	Keys []string
}

// WriteTable writes the terminal table: a header, then one block per
// History key with one row per cell: the cell's index, settings and
// finished runs, its final and best values as mean ± sd over repeats, and
// the ratio of its final mean to the baseline cell's.
func (r *Results) WriteTable(w io.Writer, o TableOptions) error {
	p := r.Plan
	keys := o.Keys
	if keys == nil {
		keys = r.Keys()
	}
	sum := r.Summarize(o.Baseline)
	var b strings.Builder
	total := len(p.Cells) * p.Repeats
	fmt.Fprintf(&b, "%s: %d %s × %d %s, %d of %d runs finished", p.File, len(p.Cells), plural(len(p.Cells), "cell"),
		p.Repeats, plural(p.Repeats, "repeat"), len(r.Runs), total)
	if len(p.Cells) > 1 {
		fmt.Fprintf(&b, "; baseline: cell %d (%s)", o.Baseline, p.Cells[o.Baseline].Label)
	}
	if p.Repeats > 1 {
		b.WriteString("\nmean ± sd over repeats; ")
	} else {
		b.WriteString("\none run per cell; ")
	}
	b.WriteString("final = last epoch, best = best epoch (lowest loss, highest metric)")
	if len(p.Cells) > 1 {
		b.WriteString(";\nratio = final mean ÷ the baseline's")
	}
	b.WriteString("\n")
	for _, k := range keys {
		b.WriteString("\n")
		b.WriteString(k)
		b.WriteString("\n")
		var means []float64
		for _, s := range sum {
			ks := s.Keys[k]
			means = append(means, ks.Final.Mean, ks.Best.Mean)
		}
		dec := decimals(means)
		head := []string{"cell", "settings", "runs", "final", "best"}
		align := "rlrrr"
		if len(p.Cells) > 1 {
			head, align = append(head, "ratio"), align+"r"
		}
		var rows [][]string
		for _, s := range sum {
			ks := s.Keys[k]
			ratio := formatRatio(ks.Ratio)
			if s.Cell == o.Baseline {
				ratio = "base"
			}
			row := []string{fmt.Sprint(s.Cell), orDash(s.Label), fmt.Sprint(s.Runs), "", "", ratio}
			rows = append(rows, row[:len(head)])
		}
		fs, bs := make([]Stat, len(sum)), make([]Stat, len(sum))
		for i, s := range sum {
			fs[i], bs[i] = s.Keys[k].Final, s.Keys[k].Best
		}
		final, bestCol := meanSD(fs, dec), meanSD(bs, dec)
		for i := range rows {
			rows[i][3], rows[i][4] = final[i], bestCol[i]
		}
		renderTable(&b, head, align, rows)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func plural(n int, s string) string {
	if n == 1 {
		return s
	}
	return s + "s"
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

// decimals picks the number of decimals that shows about four significant
// digits of the largest finite value in v; -1 means use %g (huge values).
func decimals(v []float64) int {
	m := 0.0
	for _, x := range v {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			m = math.Max(m, math.Abs(x))
		}
	}
	if m == 0 {
		return 4
	}
	if m >= 1e7 {
		return -1
	}
	return min(6, max(0, 3-int(math.Floor(math.Log10(m)))))
}

func formatNum(x float64, dec int) string {
	switch {
	case math.IsNaN(x):
		return "NaN"
	case math.IsInf(x, 1):
		return "+Inf"
	case math.IsInf(x, -1):
		return "-Inf"
	case dec < 0:
		return fmt.Sprintf("%.4g", x)
	}
	return fmt.Sprintf("%.*f", dec, x)
}

// formatG formats x in %.4g style for progress lines (NaN, +Inf, -Inf as words).
func formatG(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return formatNum(x, 0)
	}
	return fmt.Sprintf("%.4g", x)
}

func formatRatio(x float64) string {
	switch {
	case math.IsNaN(x):
		return "–"
	case math.Abs(x) >= 1000:
		return fmt.Sprintf("%.4g", x)
	}
	return fmt.Sprintf("%.3f", x)
}

// meanSD formats "mean ± sd" for a column, with means and sds each
// right-aligned so that the ± line up; a missing sd (one run) is blank and
// a cell without runs is "–".
func meanSD(s []Stat, dec int) []string {
	means, sds := make([]string, len(s)), make([]string, len(s))
	mw, sw := 0, 0
	for i, st := range s {
		if st.N == 0 {
			continue
		}
		means[i] = formatNum(st.Mean, dec)
		if st.N > 1 {
			sds[i] = formatNum(st.SD, dec)
		}
		mw, sw = max(mw, width(means[i])), max(sw, width(sds[i]))
	}
	out := make([]string, len(s))
	for i, st := range s {
		switch {
		case st.N == 0:
			out[i] = "–"
		case sw == 0:
			out[i] = pad(means[i], mw, 'r')
		case sds[i] == "":
			out[i] = pad(means[i], mw, 'r') + strings.Repeat(" ", sw+3)
		default:
			out[i] = pad(means[i], mw, 'r') + " ± " + pad(sds[i], sw, 'r')
		}
	}
	return out
}

func width(s string) int { return utf8.RuneCountInString(s) }

func pad(s string, w int, align byte) string {
	n := w - width(s)
	if n <= 0 {
		return s
	}
	if align == 'l' {
		return s + strings.Repeat(" ", n)
	}
	return strings.Repeat(" ", n) + s
}

// renderTable writes rows under head, indented by two spaces, columns two
// spaces apart, each aligned left ('l') or right ('r') as align says.
func renderTable(b *strings.Builder, head []string, align string, rows [][]string) {
	ws := make([]int, len(head))
	for j, h := range head {
		ws[j] = width(h)
		for _, r := range rows {
			ws[j] = max(ws[j], width(r[j]))
		}
	}
	line := func(cells []string) {
		var parts []string
		for j, c := range cells {
			parts = append(parts, pad(c, ws[j], align[j]))
		}
		b.WriteString("  " + strings.TrimRight(strings.Join(parts, "  "), " ") + "\n")
	}
	line(head)
	for _, r := range rows {
		line(r)
	}
}
