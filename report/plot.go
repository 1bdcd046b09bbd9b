// Package report draws kiln's plots (loss and metric curves, with bands for
// repeats) as PNG or SVG files, using gonum/plot, and holds helpers shared by
// the Markdown/HTML reports of explain and sweep.
package report

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"math"
	"path/filepath"
	"strconv"
	"sync"

	"git.sr.ht/~sbinet/gg"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/kiln-ml/kiln/internal/atomicfile"
)

// Series is one curve: Y over X, with an optional band [Lo, Hi] (for example
// mean ± sd over repeats). Lo and Hi are nil or as long as Y.
type Series struct {
	Name   string
	X, Y   []float64
	Lo, Hi []float64
	Dashed bool
}

// LinePlot is a plot of several series against a shared x axis.
type LinePlot struct {
	Title, XLabel, YLabel string
	// LogY draws the y axis on a log scale (non-positive values are skipped).
	LogY   bool
	Series []Series
}

// palette is a colour-blind-safe set (Okabe–Ito).
var palette = []color.RGBA{
	{0, 114, 178, 255}, {213, 94, 0, 255}, {0, 158, 115, 255}, {204, 121, 167, 255},
	{230, 159, 0, 255}, {86, 180, 233, 255}, {240, 228, 66, 255}, {0, 0, 0, 255},
}

// Save writes the plot to path; the extension (.png or .svg) picks the format.
// The file is written atomically: a failure leaves no partial file.
func (lp *LinePlot) Save(path string) error {
	ext := filepath.Ext(path)
	if ext != ".png" && ext != ".svg" {
		return fmt.Errorf("report: plot %s: the file must end in .png or .svg", path)
	}
	p := plot.New()
	p.Title.Text = lp.Title
	p.X.Label.Text = lp.XLabel
	p.Y.Label.Text = lp.YLabel
	p.X.Tick.Marker = shortTicks{plot.DefaultTicks{}}
	p.Y.Tick.Marker = shortTicks{plot.DefaultTicks{}}
	if lp.LogY {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = shortTicks{plot.LogTicks{Prec: -1}}
	}
	p.Add(plotter.NewGrid())
	// The legend goes in the right-hand corner the curves' ends leave free
	// (top for falling losses, bottom for rising accuracies).
	p.Legend.Top = !lp.endsHigh()
	for i, s := range lp.Series {
		col := palette[i%len(palette)]
		if s.Lo != nil && s.Hi != nil {
			band := bandPolygon(s, lp.LogY)
			if len(band) > 2 {
				poly, err := plotter.NewPolygon(band)
				if err != nil {
					return err
				}
				// color.RGBA is premultiplied: a translucent fill must be NRGBA.
				poly.Color = color.NRGBA{R: col.R, G: col.G, B: col.B, A: 60}
				poly.LineStyle.Width = 0
				p.Add(poly)
			}
		}
		pts := points(s.X, s.Y, lp.LogY)
		if len(pts) == 0 {
			continue
		}
		line, glyphs, err := plotter.NewLinePoints(pts)
		if err != nil {
			return err
		}
		line.Color = col
		line.Width = vg.Points(1.5)
		if s.Dashed {
			line.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		}
		glyphs.Color = col
		glyphs.Shape = draw.CircleGlyph{}
		glyphs.Radius = vg.Points(1.8)
		p.Add(line, glyphs)
		p.Legend.Add(s.Name, line)
	}
	var buf bytes.Buffer
	const w, h = 16 * vg.Centimeter, 10 * vg.Centimeter
	if ext == ".svg" {
		wt, err := p.WriterTo(w, h, "svg")
		if err == nil {
			_, err = wt.WriteTo(&buf)
		}
		if err != nil {
			return fmt.Errorf("report: plot %s: %w", path, err)
		}
	} else {
		// Draw like plot.Save, but encode for speed (see encodePNG).
		// Draw into a reused image: a fresh 0.9 MB image (and the copy
		// vgimg.New makes of it) costs more in page faults than drawing.
		img := canvasPool.Get().(*image.RGBA)
		defer canvasPool.Put(img)
		ctx := gg.NewContextForRGBA(img)
		ctx.SetLineCapButt()
		ctx.InvertY()
		c := vgimg.NewWith(vgimg.UseImageWithContext(img, ctx), vgimg.UseDPI(vgimg.DefaultDPI))
		p.Draw(draw.New(c))
		if err := encodePNG(&buf, img); err != nil {
			return fmt.Errorf("report: plot %s: %w", path, err)
		}
	}
	if err := atomicfile.Write(path, buf.Bytes()); err != nil {
		return fmt.Errorf("report: plot %s: %w", path, err)
	}
	return nil
}

// canvasPool holds the images plots are drawn into: 16 × 10 cm at vgimg's
// default 96 dpi.
var canvasPool = sync.Pool{New: func() any {
	px := func(l vg.Length) int { return int(l/vg.Inch*vg.Length(vgimg.DefaultDPI) + 0.5) }
	return image.NewRGBA(image.Rect(0, 0, px(16*vg.Centimeter), px(10*vg.Centimeter)))
}}

// endsHigh reports whether the series end in the upper half of the plot's
// y range (on a log axis, in log space).
func (lp *LinePlot) endsHigh() bool {
	lo, hi := math.Inf(1), math.Inf(-1)
	var ends []float64
	tr := func(v float64) float64 {
		if lp.LogY {
			return math.Log(v)
		}
		return v
	}
	for _, s := range lp.Series {
		var last float64
		ok := false
		for i, y := range s.Y {
			if !finite(y, lp.LogY) {
				continue
			}
			v := tr(y)
			lo, hi = math.Min(lo, v), math.Max(hi, v)
			if i == len(s.Y)-1 {
				last, ok = v, true
			}
		}
		if ok {
			ends = append(ends, last)
		}
	}
	if len(ends) == 0 || !(hi > lo) {
		return false
	}
	mid := (lo + hi) / 2
	above := 0
	for _, e := range ends {
		if e > mid {
			above++
		}
	}
	return 2*above > len(ends)
}

func finite(v float64, logY bool) bool {
	return !math.IsNaN(v) && !math.IsInf(v, 0) && (!logY || v > 0)
}

func points(x, y []float64, logY bool) plotter.XYs {
	var pts plotter.XYs
	for i := range y {
		if i < len(x) && finite(y[i], logY) {
			pts = append(pts, plotter.XY{X: x[i], Y: y[i]})
		}
	}
	return pts
}

func bandPolygon(s Series, logY bool) plotter.XYs {
	var upper, lower plotter.XYs
	for i := range s.Y {
		if i < len(s.X) && finite(s.Lo[i], logY) && finite(s.Hi[i], logY) {
			upper = append(upper, plotter.XY{X: s.X[i], Y: s.Hi[i]})
			lower = append(lower, plotter.XY{X: s.X[i], Y: s.Lo[i]})
		}
	}
	for i := len(lower) - 1; i >= 0; i-- {
		upper = append(upper, lower[i])
	}
	return upper
}

// Epochs returns 1..n as float64, the usual x axis of a history plot.
func Epochs(n int) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = float64(i + 1)
	}
	return x
}

// shortTicks labels ticks with the shortest decimal form ("2500", not
// "2500.00"), and labels every tick of a log axis when fewer than two
// major ticks would carry a label.
type shortTicks struct{ plot.Ticker }

// Ticks implements plot.Ticker.
func (t shortTicks) Ticks(min, max float64) []plot.Tick {
	ticks := t.Ticker.Ticks(min, max)
	labelled := 0
	for _, tk := range ticks {
		if tk.Label != "" {
			labelled++
		}
	}
	for i := range ticks {
		if ticks[i].Label != "" || labelled < 2 {
			v := ticks[i].Value
			if math.Abs(v) >= 1e6 || (v != 0 && math.Abs(v) < 1e-3) {
				ticks[i].Label = strconv.FormatFloat(v, 'g', 3, 64)
			} else {
				ticks[i].Label = strconv.FormatFloat(v, 'f', -1, 64)
			}
		}
	}
	return ticks
}
