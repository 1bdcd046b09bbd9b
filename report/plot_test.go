package report

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"testing"
)

func TestSavePNGAndSVG(t *testing.T) {
	dir := t.TempDir()
	lp := &LinePlot{Title: "loss", XLabel: "epoch", YLabel: "loss", LogY: true, Series: []Series{
		{Name: "lr 0.01", X: Epochs(3), Y: []float64{315, 263, 251}, Lo: []float64{300, 250, 240}, Hi: []float64{330, 270, 260}},
		{Name: "lr 0.03", X: Epochs(3), Y: []float64{931, math.NaN(), 700}, Dashed: true},
	}}
	for _, name := range []string{"p.png", "p.svg"} {
		path := filepath.Join(dir, name)
		if err := lp.Save(path); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil || len(b) < 500 {
			t.Fatalf("%s: %d bytes, %v", name, len(b), err)
		}
		if name == "p.png" && !bytes.HasPrefix(b, []byte("\x89PNG")) {
			t.Error("not a PNG")
		}
		if name == "p.svg" && !bytes.Contains(b, []byte("lr 0.03")) {
			t.Error("SVG lacks the legend")
		}
	}
	if err := lp.Save(filepath.Join(dir, "p.gif")); err == nil {
		t.Error("gif accepted")
	}
}

// TestNoData: curves without a drawable value (NaN, ±Inf, and on a log axis
// non-positive values: a run that diverged at once) give an empty plot, not
// a panic, in both formats.
func TestNoData(t *testing.T) {
	for _, logY := range []bool{false, true} {
		lp := &LinePlot{Title: "loss", XLabel: "step", YLabel: "loss", LogY: logY, Series: []Series{
			{Name: "diverged", X: Epochs(3), Y: []float64{math.NaN(), math.Inf(1), -1}},
		}}
		for _, format := range []string{"png", "svg"} {
			if _, err := lp.render(format); err != nil {
				t.Errorf("log %v, %s: %v", logY, format, err)
			}
		}
	}
}
