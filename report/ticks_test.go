package report

import (
	"math"
	"strconv"
	"testing"

	"gonum.org/v1/plot"
)

// TestTickLabels checks the exact labels of the labelled ticks over a table
// of ranges: round 1, 2, 5 × 10ⁿ steps without float noise, whole numbers
// on an epoch axis, and on a log axis every visible decade (with 2 and 5 ×
// 10ⁿ between them when fewer than three decades show).
func TestTickLabels(t *testing.T) {
	for _, c := range []struct {
		min, max float64
		kind     string // "linear", "integer" or "log"
		want     string
	}{
		{0.6, 1.2, "linear", "0.6 0.7 0.8 0.9 1.0 1.1 1.2"},
		{0.6000000000000001, 1.2000000000000002, "linear", "0.6 0.7 0.8 0.9 1.0 1.1 1.2"},
		{0.61, 0.92, "linear", "0.65 0.70 0.75 0.80 0.85 0.90"},
		{0, 2, "linear", "0.0 0.5 1.0 1.5 2.0"},
		{-1.5, 2.5, "linear", "-1 0 1 2"},
		{0, 2500, "linear", "0 500 1000 1500 2000 2500"},
		{0, 3e6, "linear", "0 5e5 1e6 1.5e6 2e6 2.5e6 3e6"},
		{0.00012, 0.00019, "linear", "1.2e-4 1.4e-4 1.6e-4 1.8e-4"},
		{0, 2, "integer", "0 1 2"},
		{1, 2, "integer", "1 2"},
		{1, 3, "integer", "1 2 3"},
		{1, 12, "integer", "2 4 6 8 10 12"},
		{1, 30, "integer", "5 10 15 20 25 30"},
		{1, 1000, "integer", "200 400 600 800 1000"},
		{1e-4, 1e-1, "log", "1e-4 1e-3 1e-2 1e-1"},
		{0.01, 10, "log", "0.01 0.1 1 10"},
		{0.03, 0.3, "log", "0.05 0.1 0.2"},
		{0.035, 2.3, "log", "0.05 0.1 0.2 0.5 1 2"},
		{0.5, 50, "log", "0.5 1 2 5 10 20 50"},
		{251, 931, "log", "300 400 500 600 700 800 900"},
		{300, 330, "log", "300 305 310 315 320 325 330"},
		{1e-8, 1, "log", "1e-8 1e-6 1e-4 1e-2 1e0"},
		{1e17, 1e17 + 64, "linear", "1e+17 1.0000000000000006e+17"}, // float64's last digits: no overflow
	} {
		var got string
		switch c.kind {
		case "linear":
			got = labels(linearTicks{}.Ticks(c.min, c.max))
		case "integer":
			got = labels(linearTicks{Integer: true}.Ticks(c.min, c.max))
		case "log":
			got = labels(logTicks{}.Ticks(c.min, c.max))
		}
		if got != c.want {
			t.Errorf("%s [%g, %g]: labels %q, want %q", c.kind, c.min, c.max, got, c.want)
		}
	}
}

// TestTickValues: every tick lies in the range, a labelled tick sits
// exactly on the value its label reads, and no minor tick repeats a
// labelled one.
func TestTickValues(t *testing.T) {
	tickers := map[string]plot.Ticker{"linear": linearTicks{}, "integer": linearTicks{Integer: true}, "log": logTicks{}}
	for _, r := range [][2]float64{{0.6, 1.2}, {1, 30}, {-3.7, 12.2}, {0.03, 0.3}, {1e-4, 1e-1}, {251, 931}, {1e-8, 1}, {0, 3e6}} {
		for name, tr := range tickers {
			if name == "log" && r[0] <= 0 {
				continue
			}
			labelled := map[float64]bool{}
			ticks := tr.Ticks(r[0], r[1])
			for _, tk := range ticks {
				if tk.Value < r[0]-1e-9*math.Abs(r[0]) || tk.Value > r[1]+1e-9*math.Abs(r[1]) {
					t.Errorf("%s [%g, %g]: tick %g outside the range", name, r[0], r[1], tk.Value)
				}
				if tk.Label != "" {
					v, err := strconv.ParseFloat(tk.Label, 64)
					if err != nil || v != tk.Value {
						t.Errorf("%s [%g, %g]: label %q on a tick at %v", name, r[0], r[1], tk.Label, tk.Value)
					}
					labelled[tk.Value] = true
				}
			}
			for _, tk := range ticks {
				if tk.Label == "" && labelled[tk.Value] {
					t.Errorf("%s [%g, %g]: a minor tick on the labelled %g", name, r[0], r[1], tk.Value)
				}
			}
		}
	}
}
