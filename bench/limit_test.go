package bench

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/kiln-ml/kiln/internal/kernels"
)

// pixelCounts against the definition: for every output pixel of a valid
// 3×3 convolution over 28×28, count the non-zero inputs in its window.
func TestPixelCounts(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	px := make([]uint8, 3*784)
	for i := range px {
		if rng.IntN(5) == 0 {
			px[i] = uint8(1 + rng.IntN(255))
		}
	}
	var nnz, win float64
	for r := 0; r < 3; r++ {
		img := px[r*784 : (r+1)*784]
		for _, v := range img {
			if v != 0 {
				nnz++
			}
		}
		for oh := 0; oh < 26; oh++ {
			for ow := 0; ow < 26; ow++ {
				for i := 0; i < 3; i++ {
					for j := 0; j < 3; j++ {
						if img[(oh+i)*28+ow+j] != 0 {
							win++
						}
					}
				}
			}
		}
	}
	gotN, gotW := pixelCounts(px)
	if gotN != nnz || gotW != win {
		t.Fatalf("pixelCounts = %v, %v; want %v, %v", gotN, gotW, nnz, win)
	}
}

func TestWorkOf(t *testing.T) {
	for _, w := range Names() {
		s, err := NewSetup(w)
		if err != nil {
			t.Skipf("MNIST not available: %v", err)
		}
		wk, err := WorkOf(s, w)
		if err != nil {
			t.Fatal(err)
		}
		nzT, winT := pixelCounts(s.X.U8)
		nzV, _ := pixelCounts(s.XVal.U8)
		// MNIST's pixels are ~19% non-zero: skipping them removes most
		// of the first layer's products, never all.
		if frac := nzT / float64(len(s.X.U8)); frac < 0.15 || frac > 0.25 {
			t.Errorf("%s: non-zero pixel fraction %.3f, want MNIST's ~0.19", w, frac)
		}
		if !(wk.MulAdds > 0 && wk.MulAdds < wk.Dense) {
			t.Errorf("%s: MulAdds %g, Dense %g: want 0 < MulAdds < Dense", w, wk.MulAdds, wk.Dense)
		}
		steps := float64((s.X.Rows() + s.Batch - 1) / s.Batch)
		switch w {
		case Seed: // 784→10, forward + weight gradient on the training rows, forward on validation, SGD
			want := 2*10*(2*nzT+nzV) + 2*7850*steps
			if wk.MulAdds != want || wk.SqrtDivs != 0 {
				t.Errorf("seed: MulAdds %g, SqrtDivs %g; want %g, 0", wk.MulAdds, wk.SqrtDivs, want)
			}
		case MLP:
			if wk.SqrtDivs != 101770*steps {
				t.Errorf("mlp: SqrtDivs %g, want %g", wk.SqrtDivs, 101770*steps)
			}
		case MLP512: // 669,706 weights, RMSprop: one square root and divide each per step
			if wk.SqrtDivs != 669706*steps {
				t.Errorf("mlp512: SqrtDivs %g, want %g", wk.SqrtDivs, 669706*steps)
			}
			hidden := 2 * 512 * 3 * 512 * float64(s.X.Rows()) // 512→512: forward, dW and dx over the training rows
			if wk.MulAdds < hidden {
				t.Errorf("mlp512: MulAdds %g below the hidden layer's own %g", wk.MulAdds, hidden)
			}
		case CNN:
			if wk.MulAdds < 2*32*2*winT {
				t.Errorf("cnn: MulAdds %g below the convolution's own %g", wk.MulAdds, 2*32*2*winT)
			}
		}
		if want := float64(70000*784 + 70000*10*4); wk.Bytes != want {
			t.Errorf("%s: Bytes %g, want %g (the uint8 images and float32 one-hot labels)", w, wk.Bytes, want)
		}
	}
}

func TestLimit(t *testing.T) {
	m := Machine{MulAdd: 1e9, SqrtDiv: 1e8, ReadBW: 1e10}
	l := LimitOf(Work{MulAdds: 2e9, SqrtDivs: 1e8, Bytes: 5e9}, m)
	if l.Products != 2*time.Second || l.SqrtDiv != time.Second || l.Memory != 500*time.Millisecond {
		t.Fatalf("LimitOf = %+v", l)
	}
	if l.Bound() != 2*time.Second || l.Binding() != "multiply-adds" {
		t.Fatalf("Bound %v, Binding %q", l.Bound(), l.Binding())
	}
	l = LimitOf(Work{MulAdds: 1e8, SqrtDivs: 1e8, Bytes: 1e9}, m)
	if l.Binding() != "square roots and divides" {
		t.Fatalf("Binding %q, want the square roots", l.Binding())
	}
}

// The probes measure something at every level: rates are positive and
// finite, and a vector level multiplies and adds faster than plain Go.
func TestMeasureMachine(t *testing.T) {
	if testing.Short() {
		t.Skip("takes a second")
	}
	rates := map[kernels.Level]float64{}
	for _, l := range kernels.Supported() {
		prev, err := kernels.Use(l)
		if err != nil {
			t.Fatal(err)
		}
		m := MeasureMachine(1)
		kernels.Use(prev)
		t.Logf("%s: %.1f G mul+add/s, %.2f G sqrt+div/s, %.1f GB/s", m.Level, m.MulAdd/1e9, m.SqrtDiv/1e9, m.ReadBW/1e9)
		if m.Level != l.String() || !(m.MulAdd > 1e8 && m.SqrtDiv > 1e7 && m.ReadBW > 1e8) || m.MulAdd > 1e13 {
			t.Errorf("%s: implausible %+v", l, m)
		}
		rates[l] = m.MulAdd
	}
	if v, ok := rates[kernels.AVX2]; ok && v < 2*rates[kernels.Generic] {
		t.Errorf("AVX2 multiply-adds %.3g/s not above twice plain Go's %.3g/s", v, rates[kernels.Generic])
	}
}
