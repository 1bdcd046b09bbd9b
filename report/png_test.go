package report

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"path/filepath"
	"testing"
)

// TestEncodePNGRoundTrip decodes encodePNG's output with image/png and
// compares every pixel, for an opaque image (RGB) and a translucent one
// (RGBA, un-premultiplied on the way out).
func TestEncodePNGRoundTrip(t *testing.T) {
	for _, alpha := range []uint8{255, 128} {
		img := image.NewRGBA(image.Rect(0, 0, 37, 11))
		for y := 0; y < 11; y++ {
			for x := 0; x < 37; x++ {
				img.Set(x, y, color.NRGBA{uint8(7 * x), uint8(23 * y), uint8(x * y), alpha})
			}
		}
		img.Set(3, 4, color.NRGBA{10, 20, 30, 0}) // fully transparent
		var buf bytes.Buffer
		if err := encodePNG(&buf, img); err != nil {
			t.Fatal(err)
		}
		got, err := png.Decode(&buf)
		if err != nil {
			t.Fatalf("alpha %d: image/png cannot decode the output: %v", alpha, err)
		}
		if got.Bounds() != img.Bounds() {
			t.Fatalf("alpha %d: bounds %v, want %v", alpha, got.Bounds(), img.Bounds())
		}
		for y := 0; y < 11; y++ {
			for x := 0; x < 37; x++ {
				w := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
				g := color.NRGBAModel.Convert(got.At(x, y)).(color.NRGBA)
				d := func(a, b uint8) int { return max(int(a), int(b)) - min(int(a), int(b)) }
				// Un-premultiplying rounds: allow 2 levels.
				if w.A != g.A || (w.A != 0 && (d(w.R, g.R) > 2 || d(w.G, g.G) > 2 || d(w.B, g.B) > 2)) {
					t.Fatalf("alpha %d: pixel (%d,%d) = %v, want %v", alpha, x, y, g, w)
				}
			}
		}
	}
}

// BenchmarkSavePNG times one sweep-style plot written as PNG.
func BenchmarkSavePNG(b *testing.B) {
	dir := b.TempDir()
	lp := &LinePlot{Title: "loss by epoch (mean ± sd over 3 repeats)", XLabel: "epoch", YLabel: "loss"}
	for i, base := range []float64{300, 900} {
		lp.Series = append(lp.Series, Series{Name: []string{"lr=0.01", "lr=0.03"}[i], X: Epochs(3),
			Y: []float64{base, base * 0.8, base * 0.78}, Lo: []float64{base - 10, base*0.8 - 5, base*0.78 - 2}, Hi: []float64{base + 10, base*0.8 + 5, base*0.78 + 2}})
	}
	for b.Loop() {
		if err := lp.Save(filepath.Join(dir, "loss.png")); err != nil {
			b.Fatal(err)
		}
	}
}
