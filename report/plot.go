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
	"sync"

	"git.sr.ht/~sbinet/gg"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

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

// palette is the Okabe–Ito colour-blind-safe set without its yellow, which
// is too pale to read on white; the order puts the most distinct colours
// first. Series past the seventh reuse the colours with a dash pattern.
var palette = []color.RGBA{
	{0, 114, 178, 255},   // blue
	{213, 94, 0, 255},    // vermillion
	{0, 158, 115, 255},   // bluish green
	{204, 121, 167, 255}, // reddish purple
	{230, 159, 0, 255},   // orange
	{86, 180, 233, 255},  // sky blue
	{0, 0, 0, 255},       // black
}

// The plot's size and fonts. At 96 dpi the PNG is 605 × 378 pixels; the
// font sizes are a point above matplotlib's defaults for a figure of that
// size (10 pt, 12 pt titles), in a sans-serif face that stays legible at
// screen resolution.
const (
	plotWidth, plotHeight = 16 * vg.Centimeter, 10 * vg.Centimeter
	titleSize             = 13
	labelSize             = 12
	tickSize              = 11
	legendSize            = 11
)

// sansFont is the face of every text on the plots: Liberation Sans, which
// has Arial's metrics (the SVGs name Arial and Helvetica as fallbacks).
var sansFont = font.Font{Typeface: "Liberation", Variant: "Sans"}

// Save writes the plot to path; the extension (.png or .svg) picks the format.
// The file is written atomically: a failure leaves no partial file.
func (lp *LinePlot) Save(path string) error {
	ext := filepath.Ext(path)
	if ext != ".png" && ext != ".svg" {
		return fmt.Errorf("report: plot %s: the file must end in .png or .svg", path)
	}
	b, err := lp.render(ext[1:])
	if err == nil {
		err = atomicfile.Write(path, b)
	}
	if err != nil {
		return fmt.Errorf("report: plot %s: %w", path, err)
	}
	return nil
}

// render draws the plot as a PNG or SVG file's bytes.
func (lp *LinePlot) render(format string) ([]byte, error) {
	var buf bytes.Buffer
	switch format {
	case "svg":
		c := &svgCanvas{Canvas: vgsvg.New(plotWidth, plotHeight)}
		c.SetColor(color.White)
		c.Fill(vg.Rectangle{Max: vg.Point{X: plotWidth, Y: plotHeight}}.Path())
		if _, err := lp.draw(draw.New(c), true); err != nil {
			return nil, err
		}
		if _, err := c.WriteTo(&buf); err != nil {
			return nil, err
		}
		return c.fixText(buf.Bytes()), nil
	case "png":
		img := canvasPool.Get().(*image.RGBA)
		defer canvasPool.Put(img)
		if _, err := lp.drawImage(img, true); err != nil {
			return nil, err
		}
		if err := encodePNG(&buf, img); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	return nil, fmt.Errorf("unknown plot format %q", format)
}

// drawImage draws the plot into img (16 × 10 cm at 96 dpi) like plot.Save
// would, with or without its legend, and returns where things went.
// Drawing into a reused image saves the page faults of a fresh 0.9 MB one
// (and of the copy vgimg.New makes of it), which cost more than drawing.
func (lp *LinePlot) drawImage(img *image.RGBA, legend bool) (layout, error) {
	// White paper, set directly: the rasterizer takes 1 ms to fill it.
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	ctx := gg.NewContextForRGBA(img)
	ctx.SetLineCapButt()
	ctx.InvertY()
	c := vgimg.NewWith(vgimg.UseImageWithContext(img, ctx), vgimg.UseDPI(vgimg.DefaultDPI))
	return lp.draw(draw.New(c), legend)
}

// svgCanvas is an SVG canvas that records the width of every text it draws,
// in Liberation Sans, the font the layout was made for.
type svgCanvas struct {
	*vgsvg.Canvas
	widths []vg.Length
}

// FillString implements vg.Canvas.
func (c *svgCanvas) FillString(f font.Face, pt vg.Point, s string) {
	c.widths = append(c.widths, f.Width(s))
	c.Canvas.FillString(f, pt, s)
}

// fixText makes the SVG keep its layout where Liberation Sans is not
// installed: the font family lists the faces with its metrics (Arial,
// Helvetica) and then any sans-serif as fallbacks, and every text gets its
// width in Liberation Sans as its textLength, so that a wider fallback
// (DejaVu Sans) cannot run a legend entry out of its frame.
func (c *svgCanvas) fixText(svg []byte) []byte {
	svg = bytes.ReplaceAll(svg, []byte("font-family:Liberation Sans;"),
		[]byte("font-family:'Liberation Sans',Arial,Helvetica,sans-serif;"))
	parts := bytes.Split(svg, []byte("<text "))
	if len(parts)-1 != len(c.widths) {
		return svg // not the SVG vgsvg writes today: leave it as it is
	}
	var out bytes.Buffer
	out.Write(parts[0])
	for i, p := range parts[1:] {
		fmt.Fprintf(&out, `<text textLength="%.5g" lengthAdjust="spacingAndGlyphs" `, c.widths[i].Points())
		out.Write(p)
	}
	return out.Bytes()
}

// build makes the gonum plot (axes, grid, bands and curves) and the legend,
// which draw places itself.
func (lp *LinePlot) build() (p *plot.Plot, leg *plot.Legend, entries int, err error) {
	p = plot.New()
	p.BackgroundColor = nil // the canvas is white already
	p.Title.Text = lp.Title
	p.Title.TextStyle.Font = font.From(sansFont, titleSize)
	p.Title.Padding = vg.Points(8)
	p.X.Label.Text = lp.XLabel
	p.Y.Label.Text = lp.YLabel
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = font.From(sansFont, labelSize)
		a.Tick.Label.Font = font.From(sansFont, tickSize)
		a.Tick.Length = vg.Points(5)
		a.Label.Padding = vg.Points(4)
	}
	p.X.Tick.Marker = linearTicks{Integer: lp.integerX()}
	p.Y.Tick.Marker = linearTicks{}
	if lp.LogY {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = logTicks{}
	}
	grid := plotter.NewGrid()
	grid.Vertical.Color = color.Gray{Y: 225}
	grid.Horizontal.Color = color.Gray{Y: 225}
	grid.Vertical.Width = vg.Points(0.5)
	grid.Horizontal.Width = vg.Points(0.5)
	p.Add(grid)

	l := plot.NewLegend()
	leg = &l
	leg.TextStyle.Font = font.From(sansFont, legendSize)
	leg.ThumbnailWidth = vg.Points(22)
	leg.Padding = vg.Points(2)
	for i, s := range lp.Series {
		col := palette[i%len(palette)]
		if s.Lo != nil && s.Hi != nil {
			band := bandPolygon(s, lp.LogY)
			if len(band) > 2 {
				poly, err := plotter.NewPolygon(band)
				if err != nil {
					return nil, nil, 0, err
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
		line, err := plotter.NewLine(pts)
		if err != nil {
			return nil, nil, 0, err
		}
		line.Color = col
		line.Width = vg.Points(1.5)
		switch {
		case s.Dashed:
			line.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
		case i >= len(palette):
			line.Dashes = []vg.Length{vg.Points(1.5), vg.Points(2)}
		}
		p.Add(line)
		// Dots mark the epochs while they are few enough to tell apart.
		if len(pts) <= maxDots {
			glyphs, err := plotter.NewScatter(pts)
			if err != nil {
				return nil, nil, 0, err
			}
			glyphs.Color = col
			glyphs.Shape = draw.CircleGlyph{}
			glyphs.Radius = vg.Points(1.8)
			p.Add(glyphs)
		}
		if s.Name != "" {
			leg.Add(s.Name, line)
			entries++
		}
	}
	if lp.LogY && !(p.Y.Min > 0 && p.Y.Max >= p.Y.Min && !math.IsInf(p.Y.Max, 1)) {
		// No positive value (a run that diverged at once): gonum's log
		// scale would panic on its default range.
		p.Y.Min, p.Y.Max = 0.1, 10
	}
	if v := p.Y.Min; v == p.Y.Max && v != 0 && !math.IsInf(v, 0) {
		// A flat curve or a single point: a factor of 2 either way on a
		// log axis, 10% on a linear one (gonum's ±1 would put a loss of
		// 0.7 between -0.3 and 1.7, or a log axis at zero).
		if lp.LogY {
			p.Y.Min, p.Y.Max = v/2, v*2
		} else {
			p.Y.Min, p.Y.Max = v-math.Abs(v)/10, v+math.Abs(v)/10
		}
	}
	return p, leg, entries, nil
}

// canvasPool holds the images plots are drawn into: 16 × 10 cm at vgimg's
// default 96 dpi.
var canvasPool = sync.Pool{New: func() any {
	px := func(l vg.Length) int { return int(l/vg.Inch*vg.Length(vgimg.DefaultDPI) + 0.5) }
	return image.NewRGBA(image.Rect(0, 0, px(plotWidth), px(plotHeight)))
}}

// maxDots is the most points a curve is drawn with dots on.
const maxDots = 40

// integerX reports whether every x value is a whole number (epochs, steps),
// so the x axis is labelled on whole numbers only.
func (lp *LinePlot) integerX() bool {
	for _, s := range lp.Series {
		for _, x := range s.X {
			if x != math.Trunc(x) {
				return false
			}
		}
	}
	return true
}

// margin is the white space around the plot.
const margin = 3 * vg.Millimeter

// draw draws the plot on c (which must be white already), the legend in the
// first corner of the data area (top right, top left, bottom left, bottom
// right) where it covers no curve, band or dot, or else to the right of the
// data area, or below it when it is too wide for that, or when it is too
// big for either in the corner where it covers least. It returns where the data and the legend went; legend false
// leaves the legend out but not its place, for tests.
func (lp *LinePlot) draw(c draw.Canvas, legend bool) (layout, error) {
	p, leg, entries, err := lp.build()
	if err != nil {
		return layout{}, err
	}
	c = draw.Crop(c, margin, -margin, margin, -margin)
	// The y label is drawn here, centred on the data area: gonum reserves
	// room above the data for a long rotated label as if it were not
	// centred ("loss (running mean of the epoch)" pushed the data down by
	// a third of the plot).
	ylab, ysty := p.Y.Label.Text, p.Y.Label.TextStyle
	p.Y.Label.Text = ""
	labelX := c.Min.X
	if ylab != "" {
		c.Min.X += ysty.Height(ylab) + p.Y.Label.Padding
	}
	dc := p.DataCanvas(c)
	var box vg.Rectangle
	if entries > 0 {
		size := leg.Rectangle(c).Size()
		w, h := size.X+2*legendPad, size.Y+2*legendPad
		var free bool
		box, free = lp.legendBox(p, dc, w, h)
		switch {
		case free:
		case w <= c.Size().X*maxOutside || box.Size().X == 0:
			// No free corner: the legend goes outside, on the right.
			c.Max.X -= w + legendGap
			dc = p.DataCanvas(c)
			box = vg.Rectangle{Min: vg.Point{X: c.Max.X + legendGap, Y: dc.Max.Y - h}, Max: vg.Point{X: c.Max.X + legendGap + w, Y: dc.Max.Y}}
		case h <= c.Size().Y*maxOutside:
			// Too wide for the right: below the plot, under the data.
			bottom := c.Min.Y
			c.Min.Y += h + legendGap
			dc = p.DataCanvas(c)
			left := max(c.Min.X, min(dc.Center().X-w/2, c.Max.X-w))
			box = vg.Rectangle{Min: vg.Point{X: left, Y: bottom}, Max: vg.Point{X: left + w, Y: bottom + h}}
		}
		// Else too big to go outside: in the corner where it covers least.
	}
	p.Draw(c)
	if ylab != "" {
		ysty.Rotation += math.Pi / 2
		descent := ysty.FontExtents().Descent
		c.FillText(ysty, vg.Point{X: labelX + ysty.Height(ylab) - descent, Y: dc.Center().Y}, ylab)
	}
	out := layout{Data: dc.Rectangle, Legend: box}
	if entries > 0 && legend {
		c.SetColor(color.White)
		c.Fill(box.Path())
		c.SetLineStyle(draw.LineStyle{Color: color.Gray{Y: 190}, Width: vg.Points(0.5)})
		c.Stroke(box.Path())
		leg.Top, leg.Left = true, true
		in := draw.Canvas{Canvas: c.Canvas, Rectangle: vg.Rectangle{
			Min: box.Min.Add(vg.Point{X: legendPad, Y: legendPad}),
			Max: box.Max.Sub(vg.Point{X: legendPad, Y: legendPad})}}
		leg.Draw(in)
	}
	return out, nil
}

// layout is where a plot's parts went, in points from the bottom left.
type layout struct {
	Data   vg.Rectangle // the data area, inside the axes
	Legend vg.Rectangle // the legend's frame; empty without a legend
}

// The legend's frame: padding inside it, and its gap from the axes; the
// widest legend that goes to the right of the data area and the tallest
// that goes below it, as fractions of the plot's width and height.
const (
	legendPad  = vg.Length(4)
	legendGap  = vg.Length(6)
	maxOutside = 0.35
)

// legendBox returns the legend's frame (w × h) in the first corner of the
// data area dc (top right, top left, bottom left, bottom right) where it
// covers no data, with free true; else in the corner where it covers least,
// with free false; or an empty rectangle when the data area is too small.
func (lp *LinePlot) legendBox(p *plot.Plot, dc draw.Canvas, w, h vg.Length) (box vg.Rectangle, free bool) {
	trX, trY := p.Transforms(&dc)
	var curves [][]vg.Point
	var bands [][]vg.Point
	for _, s := range lp.Series {
		var pts []vg.Point
		for _, xy := range points(s.X, s.Y, lp.LogY) {
			pts = append(pts, vg.Point{X: trX(xy.X), Y: trY(xy.Y)})
		}
		curves = append(curves, pts)
		if s.Lo != nil && s.Hi != nil {
			var poly []vg.Point
			for _, xy := range bandPolygon(s, lp.LogY) {
				poly = append(poly, vg.Point{X: trX(xy.X), Y: trY(xy.Y)})
			}
			bands = append(bands, poly)
		}
	}
	in := legendGap
	least := -1
	for _, corner := range [4]struct{ right, top bool }{{true, true}, {false, true}, {false, false}, {true, false}} {
		var r vg.Rectangle
		if corner.right {
			r.Min.X, r.Max.X = dc.Max.X-in-w, dc.Max.X-in
		} else {
			r.Min.X, r.Max.X = dc.Min.X+in, dc.Min.X+in+w
		}
		if corner.top {
			r.Min.Y, r.Max.Y = dc.Max.Y-in-h, dc.Max.Y-in
		} else {
			r.Min.Y, r.Max.Y = dc.Min.Y+in, dc.Min.Y+in+h
		}
		if r.Min.X < dc.Min.X || r.Max.X > dc.Max.X || r.Min.Y < dc.Min.Y || r.Max.Y > dc.Max.Y {
			continue // the data area is smaller than the legend
		}
		n := coverage(r, curves, bands)
		if n == 0 {
			return r, true
		}
		if least < 0 || n < least {
			box, least = r, n
		}
	}
	return box, false
}

// coverage counts the pieces of data r, grown by a few points, would cover:
// curve segments and dots it meets, band edges it meets, bands it lies in.
func coverage(r vg.Rectangle, curves, bands [][]vg.Point) int {
	const clear = vg.Length(4) // half a dot, half a line and some air
	g := vg.Rectangle{Min: r.Min.Sub(vg.Point{X: clear, Y: clear}), Max: r.Max.Add(vg.Point{X: clear, Y: clear})}
	n := 0
	for _, pts := range curves {
		for i := range pts {
			if segmentMeets(pts[max(i-1, 0)], pts[i], g) {
				n++
			}
		}
	}
	for _, poly := range bands {
		for i := range poly {
			if segmentMeets(poly[i], poly[(i+1)%len(poly)], g) {
				n++
			}
		}
		if inside(g.Min, poly) {
			n++ // the band holds the box's corner, if not all of it
		}
	}
	return n
}

// segmentMeets reports whether the segment ab meets the rectangle r
// (Liang–Barsky clipping).
func segmentMeets(a, b vg.Point, r vg.Rectangle) bool {
	t0, t1 := 0.0, 1.0
	dx, dy := float64(b.X-a.X), float64(b.Y-a.Y)
	for _, e := range [4][2]float64{
		{-dx, float64(a.X - r.Min.X)}, {dx, float64(r.Max.X - a.X)},
		{-dy, float64(a.Y - r.Min.Y)}, {dy, float64(r.Max.Y - a.Y)},
	} {
		p, q := e[0], e[1]
		if p == 0 {
			if q < 0 {
				return false
			}
			continue
		}
		t := q / p
		if p < 0 {
			t0 = math.Max(t0, t)
		} else {
			t1 = math.Min(t1, t)
		}
		if t0 > t1 {
			return false
		}
	}
	return true
}

// inside reports whether pt is inside the polygon (even–odd rule).
func inside(pt vg.Point, poly []vg.Point) bool {
	in := false
	for i, j := 0, len(poly)-1; i < len(poly); j, i = i, i+1 {
		a, b := poly[i], poly[j]
		if (a.Y > pt.Y) != (b.Y > pt.Y) && pt.X < (b.X-a.X)*(pt.Y-a.Y)/(b.Y-a.Y)+a.X {
			in = !in
		}
	}
	return in
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
