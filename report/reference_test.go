package report

import (
	"bytes"
	"flag"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/vgimg"
)

var update = flag.Bool("update", false, "rewrite the reference plots in testdata/")

// TestReferencePlots renders the reference plots and compares them with the
// images in testdata/ (look at them after -update): fewer than 0.25% of
// the pixels may differ by more than 64 levels in a channel, which absorbs
// anti-aliasing differences but not a missing curve (0.8% of the pixels),
// a moved legend or other fonts.
func TestReferencePlots(t *testing.T) {
	plots := referencePlots()
	names := make([]string, 0, len(plots))
	for name := range plots {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		b, err := plots[name].render("png")
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("testdata", name+".png")
		if *update {
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test ./report -run TestReferencePlots -update, then look at the image)", err)
		}
		frac, err := pixelDiff(b, want, 64)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if frac >= maxDiff {
			out := filepath.Join(t.TempDir(), name+".png")
			os.WriteFile(out, b, 0o644)
			t.Errorf("%s: %.2f%% of the pixels differ from %s (the new rendering: %s)", name, 100*frac, path, out)
		}
	}
}

// maxDiff is the fraction of pixels a rendering may change.
const maxDiff = 0.0025

// pixelDiff returns the fraction of pixels of two PNGs whose colour differs
// by more than threshold (0–255) in some channel.
func pixelDiff(a, b []byte, threshold int) (float64, error) {
	ia, err := png.Decode(bytes.NewReader(a))
	if err != nil {
		return 0, err
	}
	ib, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		return 0, err
	}
	if ia.Bounds() != ib.Bounds() {
		return 1, nil
	}
	r := ia.Bounds()
	differ := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			ca := color.NRGBAModel.Convert(ia.At(x, y)).(color.NRGBA)
			cb := color.NRGBAModel.Convert(ib.At(x, y)).(color.NRGBA)
			d := max(absDiff(ca.R, cb.R), absDiff(ca.G, cb.G), absDiff(ca.B, cb.B), absDiff(ca.A, cb.A))
			if d > threshold {
				differ++
			}
		}
	}
	return float64(differ) / float64(r.Dx()*r.Dy()), nil
}

func absDiff(a, b uint8) int { return max(int(a), int(b)) - min(int(a), int(b)) }

// TestPixelDiffCanFail: the comparison sees a changed plot (the legend
// moved, a curve missing), so TestReferencePlots can fail.
func TestPixelDiffCanFail(t *testing.T) {
	lp := referencePlots()["thirty_epochs"]
	a, err := lp.render("png")
	if err != nil {
		t.Fatal(err)
	}
	if frac, _ := pixelDiff(a, a, 64); frac != 0 {
		t.Fatalf("a plot differs from itself: %v", frac)
	}
	changed := *lp
	changed.Series = lp.Series[:1]
	b, err := changed.render("png")
	if err != nil {
		t.Fatal(err)
	}
	if frac, _ := pixelDiff(a, b, 64); frac < maxDiff {
		t.Errorf("dropping a curve changes only %.2f%% of the pixels", 100*frac)
	}
}

// TestLegendCoversNoData draws each reference plot without its legend but
// with the legend's place kept, and checks that the legend's frame (and a
// pixel around it) holds only white paper and grey grid: no curve, dot or
// band. In the plot whose curves fill every corner the legend must be
// outside the data area, below it when its entries are long, and in the
// sweep it must leave the top right, where the slowest curve runs.
func TestLegendCoversNoData(t *testing.T) {
	plots := referencePlots()
	// Sweep cells with long names: a legend too wide for the right side.
	wide := *plots["crowded_corners"]
	wide.Series = slices.Clone(wide.Series)
	for i := range wide.Series {
		wide.Series[i].Name = "optimizer=adam learning_rate=0.001 batch_size=" + wide.Series[i].Name
	}
	plots["wide_names"] = &wide
	for name, lp := range plots {
		img := image.NewRGBA(canvasPool.New().(*image.RGBA).Bounds())
		lay, err := lp.drawImage(img, false)
		if err != nil {
			t.Fatal(err)
		}
		px := pixelRect(lay.Legend, img.Bounds().Dy())
		if px.Empty() || !px.In(img.Bounds()) {
			t.Fatalf("%s: legend frame %v (pixels %v) is not inside the image %v", name, lay.Legend, px, img.Bounds())
		}
		for y := px.Min.Y - 1; y <= px.Max.Y; y++ {
			for x := px.Min.X - 1; x <= px.Max.X; x++ {
				c := img.RGBAAt(x, y)
				if max(absDiff(c.R, c.G), absDiff(c.G, c.B), absDiff(c.R, c.B)) > 12 {
					t.Errorf("%s: the legend at %v covers data: pixel (%d,%d) is %v", name, px, x, y, c)
					x, y = px.Max.X, px.Max.Y
				}
			}
		}
		dc := pixelRect(lay.Data, img.Bounds().Dy())
		switch name {
		case "crowded_corners":
			if px.Min.X < dc.Max.X {
				t.Errorf("%s: legend %v inside the data area %v", name, px, dc)
			}
		case "lr_sweep":
			if px.Max.X > dc.Max.X-dc.Dx()/2 && px.Min.Y < dc.Min.Y+dc.Dy()/2 {
				t.Errorf("%s: legend %v in the top right of %v", name, px, dc)
			}
		case "wide_names":
			if px.Min.Y < dc.Max.Y || dc.Dx() < img.Bounds().Dx()*3/4 {
				t.Errorf("%s: legend %v not below a full-width data area %v", name, px, dc)
			}
		}
	}
}

// pixelRect converts a rectangle in points (origin bottom left) into the
// pixels of a 96 dpi image h pixels high.
func pixelRect(r vg.Rectangle, h int) image.Rectangle {
	s := float64(vgimg.DefaultDPI) / 72
	return image.Rect(int(math.Floor(float64(r.Min.X)*s)), h-int(math.Ceil(float64(r.Max.Y)*s)),
		int(math.Ceil(float64(r.Max.X)*s)), h-int(math.Floor(float64(r.Min.Y)*s)))
}

// TestLongYLabel: a y label about as long as the axis (explain's "loss
// (running mean of the epoch)") leaves the data area its usual height
// instead of pushing it down (gonum alone left it 55% of the plot's height).
func TestLongYLabel(t *testing.T) {
	for _, ylabel := range []string{"loss", "loss (running mean of the epoch)"} {
		lp := &LinePlot{Title: "Training loss at lr and lr×k", XLabel: "training step", YLabel: ylabel, LogY: true,
			Series: []Series{{Name: "lr 0.001", X: Epochs(300), Y: slices.Repeat([]float64{2, 0.05}, 150)}}}
		img := image.NewRGBA(canvasPool.New().(*image.RGBA).Bounds())
		lay, err := lp.drawImage(img, true)
		if err != nil {
			t.Fatal(err)
		}
		if h := lay.Data.Size().Y / plotHeight; h < 0.65 {
			t.Errorf("y label %q: the data area is %.0f%% of the plot's height, want at least 65%%", ylabel, 100*h)
		}
	}
}

// TestPaletteReadable: the colours are Okabe–Ito's colour-blind-safe set,
// and each stands out from the white paper (WCAG contrast of at least 2:1;
// the Okabe–Ito yellow has 1.3:1 and reads as a faint smear).
func TestPaletteReadable(t *testing.T) {
	okabeIto := []color.RGBA{{230, 159, 0, 255}, {86, 180, 233, 255}, {0, 158, 115, 255}, {240, 228, 66, 255},
		{0, 114, 178, 255}, {213, 94, 0, 255}, {204, 121, 167, 255}, {0, 0, 0, 255}}
	if len(palette) < 6 {
		t.Errorf("%d colours; a sweep of six cells would repeat one", len(palette))
	}
	for i, c := range palette {
		if !slices.Contains(okabeIto, c) {
			t.Errorf("colour %d %v is not an Okabe–Ito colour", i, c)
		}
		if r := contrast(c, color.RGBA{255, 255, 255, 255}); r < 2 {
			t.Errorf("colour %d %v: contrast %.2f:1 on white, want at least 2:1", i, c, r)
		}
	}
}

// contrast is the WCAG 2 contrast ratio of two colours.
func contrast(a, b color.RGBA) float64 {
	lum := func(c color.RGBA) float64 {
		lin := func(v uint8) float64 {
			s := float64(v) / 255
			if s <= 0.04045 {
				return s / 12.92
			}
			return math.Pow((s+0.055)/1.055, 2.4)
		}
		return 0.2126*lin(c.R) + 0.7152*lin(c.G) + 0.0722*lin(c.B)
	}
	la, lb := lum(a), lum(b)
	return (math.Max(la, lb) + 0.05) / (math.Min(la, lb) + 0.05)
}

// TestFontsReadable: at the default size (96 dpi) every text, the tick
// labels included, is in a sans-serif face with an x-height of at least 7
// pixels (10 pt serif, 6 pixels, blurs at screen resolution).
func TestFontsReadable(t *testing.T) {
	p, leg, _, err := referencePlots()["two_epochs"].build()
	if err != nil {
		t.Fatal(err)
	}
	for what, sty := range map[string]text.Style{
		"title": p.Title.TextStyle, "x label": p.X.Label.TextStyle, "y label": p.Y.Label.TextStyle,
		"x tick labels": p.X.Tick.Label, "y tick labels": p.Y.Tick.Label, "legend": leg.TextStyle,
	} {
		if sty.Font.Variant != "Sans" {
			t.Errorf("%s: variant %q, want Sans", what, sty.Font.Variant)
		}
		f := font.DefaultCache.Lookup(sty.Font, sty.Font.Size)
		face := f.FontFace(float64(vgimg.DefaultDPI))
		b, _, ok := face.GlyphBounds('x')
		if xh := float64(-b.Min.Y) / 64; !ok || xh < 7 {
			t.Errorf("%s: x-height %.1f pixels at %v pt, want at least 7", what, xh, sty.Font.Size.Points())
		}
	}
}

// TestEpochAxis: an axis of whole numbers (epochs) is labelled on whole
// numbers only, a two-epoch plot "1 2", not "1 1.5 2".
func TestEpochAxis(t *testing.T) {
	for name, want := range map[string]string{"two_epochs": "1 2", "thirty_epochs": "5 10 15 20 25 30", "lr_sweep": "2 4 6 8 10 12"} {
		p, _, _, err := referencePlots()[name].build()
		if err != nil {
			t.Fatal(err)
		}
		if got := labels(p.X.Tick.Marker.Ticks(p.X.Min, p.X.Max)); got != want {
			t.Errorf("%s: epoch labels %q, want %q", name, got, want)
		}
	}
}

// TestSVG: the SVG is the PNG's plot (same texts, legend included), names
// fonts with Liberation Sans' metrics as fallbacks and gives every text its
// width, and like the PNG comes out byte for byte the same every time.
func TestSVG(t *testing.T) {
	lp := referencePlots()["lr_sweep"]
	a, err := lp.render("svg")
	if err != nil {
		t.Fatal(err)
	}
	svg := string(a)
	if !strings.HasPrefix(svg, "<?xml") || !strings.Contains(svg, "<svg") {
		t.Fatalf("not an SVG: %.80q", svg)
	}
	for _, want := range []string{"learning_rate=1e-04", "loss by epoch (mean ± sd over 3 repeats)", ">0.05<", ">12<",
		"font-family:'Liberation Sans',Arial,Helvetica,sans-serif;"} {
		if !strings.Contains(svg, want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
	if strings.Contains(svg, "font-family:Liberation Serif") || strings.Contains(svg, "font-family:Liberation Sans;") {
		t.Error("SVG names a font without fallbacks")
	}
	// Every text keeps its Liberation Sans width in any fallback font.
	if n, m := strings.Count(svg, "<text "), strings.Count(svg, `<text textLength="`); n < 15 || m != n {
		t.Errorf("%d of %d texts have a textLength", m, n)
	}
	for _, format := range []string{"svg", "png"} {
		x, err1 := lp.render(format)
		y, err2 := lp.render(format)
		if err1 != nil || err2 != nil || !bytes.Equal(x, y) {
			t.Errorf("%s: two renderings differ (%v, %v)", format, err1, err2)
		}
	}
}

// referencePlots are the plots whose rendering is checked against the
// images in testdata/: the kinds of plot kiln draws for a report.
func referencePlots() map[string]*LinePlot {
	// A short run: two epochs of train and validation loss.
	two := &LinePlot{Title: "loss by epoch", XLabel: "epoch", YLabel: "loss", Series: []Series{
		{Name: "loss", X: Epochs(2), Y: []float64{0.92, 0.61}},
		{Name: "val_loss", X: Epochs(2), Y: []float64{0.85, 0.66}, Dashed: true},
	}}

	// Thirty epochs of accuracy: training keeps rising, validation levels off.
	var acc, valAcc []float64
	for e := 1; e <= 30; e++ {
		t := float64(e)
		acc = append(acc, 0.98-0.38*math.Exp(-t/6))
		valAcc = append(valAcc, 0.905-0.3*math.Exp(-t/4)+0.006*math.Sin(1.7*t))
	}
	thirty := &LinePlot{Title: "accuracy by epoch", XLabel: "epoch", YLabel: "accuracy", Series: []Series{
		{Name: "accuracy", X: Epochs(30), Y: acc},
		{Name: "val_accuracy", X: Epochs(30), Y: valAcc, Dashed: true},
	}}

	// A learning-rate sweep as kiln sweep draws it: mean ± sd over three
	// repeats, on a log scale since the losses span two decades.
	lrs := &LinePlot{Title: "loss by epoch (mean ± sd over 3 repeats)", XLabel: "epoch", YLabel: "loss", LogY: true}
	for i, lr := range []string{"1e-04", "0.001", "0.01", "0.1"} {
		rate := []float64{0.02, 0.1, 0.35, 0.6}[i]
		floor := []float64{1.9, 0.45, 0.08, 0.035}[i]
		s := Series{Name: "learning_rate=" + lr, X: Epochs(12)}
		for e := 0; e < 12; e++ {
			y := floor + (2.3-floor)*math.Exp(-rate*float64(e))
			sd := 0.08 * y
			s.Y, s.Lo, s.Hi = append(s.Y, y), append(s.Lo, y-sd), append(s.Hi, y+sd)
		}
		lrs.Series = append(lrs.Series, s)
	}

	// Curves through every corner: a falling loss and a rising accuracy on
	// one axis, crossing in the middle.
	var fall, rise, mid []float64
	for e := 1; e <= 20; e++ {
		t := float64(e-1) / 19
		fall = append(fall, 0.95-0.9*t+0.02*math.Sin(9*t))
		rise = append(rise, 0.05+0.9*t)
		mid = append(mid, 0.5+0.45*math.Sin(2*math.Pi*t))
	}
	crowded := &LinePlot{Title: "train and validation", XLabel: "epoch", YLabel: "value", Series: []Series{
		{Name: "loss", X: Epochs(20), Y: fall},
		{Name: "accuracy", X: Epochs(20), Y: rise},
		{Name: "val_accuracy", X: Epochs(20), Y: mid, Dashed: true},
	}}
	return map[string]*LinePlot{"two_epochs": two, "thirty_epochs": thirty, "lr_sweep": lrs, "crowded_corners": crowded}
}
