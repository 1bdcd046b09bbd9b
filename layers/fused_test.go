package layers

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// fuseCase is a Conv2D → MaxPooling2D pair for the fused-path tests.
type fuseCase struct {
	name   string
	in     []int
	conv   func(t testing.TB) *Conv2D
	pool   func(t testing.TB) *MaxPooling2D
	sparse bool // mostly-zero inputs (the sparse path, for k ≥ sparseMinK)
}

var fuseCases = []fuseCase{
	{"mnist", []int{28, 28, 1},
		func(t testing.TB) *Conv2D { return mustConv(t, 32, [2]int{3, 3}, WithActivation("relu")) },
		func(t testing.TB) *MaxPooling2D { return mustPool(t, [2]int{2, 2}) }, false},
	{"same-odd", []int{9, 11, 2},
		func(t testing.TB) *Conv2D {
			return mustConv(t, 16, [2]int{3, 3}, WithActivation("relu"), WithPadding("same"))
		},
		func(t testing.TB) *MaxPooling2D { return mustPool(t, [2]int{2, 2}) }, false},
	{"strided-linear-overlap-same", []int{17, 16, 3},
		func(t testing.TB) *Conv2D {
			return mustConv(t, 24, [2]int{3, 2}, WithStrides(2, 1), WithoutBias())
		},
		func(t testing.TB) *MaxPooling2D {
			return mustPool(t, [2]int{3, 3}, WithStrides(2, 2), WithPadding("same"))
		}, false},
	{"overlap-valid", []int{16, 17, 1},
		func(t testing.TB) *Conv2D {
			return mustConv(t, 33, [2]int{2, 3}, WithActivation("relu"), WithStrides(1, 2), WithPadding("same"))
		},
		func(t testing.TB) *MaxPooling2D { return mustPool(t, [2]int{2, 2}, WithStrides(1, 1)) }, false},
	{"wide-dense", []int{7, 7, 32},
		func(t testing.TB) *Conv2D { return mustConv(t, 8, [2]int{3, 3}, WithActivation("relu")) },
		func(t testing.TB) *MaxPooling2D { return mustPool(t, [2]int{2, 2}, WithPadding("same")) }, false},
	// (k+1)·filters > 2¹⁸: the gradient's group is the whole batch.
	{"one-group", []int{5, 5, 64},
		func(t testing.TB) *Conv2D { return mustConv(t, 256, [2]int{3, 3}, WithActivation("relu")) },
		func(t testing.TB) *MaxPooling2D { return mustPool(t, [2]int{2, 2}, WithPadding("same")) }, false},
	{"wide-sparse", []int{7, 7, 32},
		func(t testing.TB) *Conv2D {
			return mustConv(t, 8, [2]int{3, 3}, WithActivation("relu"), WithPadding("same"))
		},
		func(t testing.TB) *MaxPooling2D { return mustPool(t, [2]int{2, 2}) }, true},
}

// fuseInput returns n samples of size values: normal values (a quarter of
// them zero, so relu's outputs tie at 0 in pooling windows), or, if
// sparse, 1 in 64 non-zero.
func fuseInput(rng *rand.Rand, n, size int, sparse bool) []float32 {
	x := make([]float32, n*size)
	for i := range x {
		switch {
		case sparse && rng.IntN(64) != 0:
		case !sparse && rng.IntN(4) == 0:
		default:
			x[i] = float32(rng.NormFloat64())
		}
	}
	return x
}

// fuseRun is one training pass of a pair: the output, the kernel and
// bias gradients and the input gradient (nil without).
type fuseRun struct{ y, gk, gb, dx []float32 }

// runPair builds c and p (same seed every time), and runs Forward and
// Backward on each (n, x, dy) in turn, fused or not, with a pool of
// threads; it returns the passes' results.
func runPair(t *testing.T, fc fuseCase, fused bool, threads, maxBatch int, gdx bool, xs, dys [][]float32, ns []int) []fuseRun {
	t.Helper()
	c, p := fc.conv(t), fc.pool(t)
	out, err := c.Build(fc.in, rand.New(rand.NewPCG(5, 6)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Build(out, nil); err != nil {
		t.Fatal(err)
	}
	// A non-zero bias, so that relu's zeros are not the input's.
	if c.Bias != nil {
		for i := range c.Bias.Value {
			c.Bias.Value[i] = float32(i%3-1) * 0.05
		}
	}
	poolFor(t, threads, c, p)
	var st Stage
	if fused {
		var ok bool
		if st, ok = Fuse(c, p); !ok {
			t.Fatal("Fuse refused the pair")
		}
		st.Allocate(maxBatch, gdx)
	} else {
		c.Allocate(maxBatch, gdx)
		p.Allocate(maxBatch, true)
	}
	if cp, ok := st.(*convPool); ok && threads > 1 && !fc.sparse && cp.parts(ns[0], ns[0]) < 2 {
		t.Errorf("%s: the fused forward pass of %d samples is not split over %d threads; make the case larger", fc.name, ns[0], threads)
	}
	var runs []fuseRun
	for i, n := range ns {
		var y, dx []float32
		if fused {
			y = st.Forward(xs[i], n, true)
			dx = st.Backward(dys[i], n)
		} else {
			y = p.Forward(c.Forward(xs[i], n, true), n, true)
			dx = c.Backward(p.Backward(dys[i], n), n)
		}
		r := fuseRun{y: clone(y), gk: clone(c.Kernel.Grad), dx: clone(dx)}
		if c.Bias != nil {
			r.gb = clone(c.Bias.Grad)
		}
		runs = append(runs, r)
	}
	return runs
}

func clone(s []float32) []float32 {
	if s == nil {
		return nil
	}
	return append([]float32(nil), s...)
}

// bitDiff describes the first element where a and b differ bit for bit.
func bitDiff(a, b []float32) string {
	if len(a) != len(b) {
		return fmt.Sprintf("lengths %d and %d", len(a), len(b))
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return fmt.Sprintf("element %d: %v (%08x) and %v (%08x)", i, a[i], math.Float32bits(a[i]), b[i], math.Float32bits(b[i]))
		}
	}
	return ""
}

// TestFusedConvPoolBitIdentical runs Conv2D → MaxPooling2D pairs fused
// (Fuse) and unfused, on 1, 2 and 3 threads, with and without the input
// gradient, on batches that are not multiples of the gradient's group of
// samples (a full batch, then a smaller one), and requires the same
// outputs, kernel, bias and input gradients, bit for bit.
func TestFusedConvPoolBitIdentical(t *testing.T) {
	const maxBatch = 21
	ns := []int{maxBatch, 10}
	for _, fc := range fuseCases {
		for _, gdx := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/inputgrad=%v", fc.name, gdx), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(7, 8))
				inW := tensorSize(fc.in)
				var xs, dys [][]float32
				var outW int
				{
					c, p := fc.conv(t), fc.pool(t)
					out, _ := c.Build(fc.in, rand.New(rand.NewPCG(5, 6)))
					o, _ := p.Build(out, nil)
					outW = tensorSize(o)
				}
				for range ns {
					xs = append(xs, fuseInput(rng, maxBatch, inW, fc.sparse))
					dys = append(dys, randSlice(rng, maxBatch*outW, 1))
				}
				want := runPair(t, fc, false, 1, maxBatch, gdx, xs, dys, ns)
				for _, threads := range []int{1, 2, 3} {
					got := runPair(t, fc, true, threads, maxBatch, gdx, xs, dys, ns)
					for i := range ns {
						w, g := want[i], got[i]
						for _, cmp := range []struct {
							what string
							a, b []float32
						}{{"output", g.y, w.y}, {"kernel gradient", g.gk, w.gk}, {"bias gradient", g.gb, w.gb}, {"input gradient", g.dx, w.dx}} {
							if d := bitDiff(cmp.a, cmp.b); d != "" {
								t.Errorf("threads %d, pass %d (n=%d): fused %s differs from unfused at %s", threads, i, ns[i], cmp.what, d)
							}
						}
					}
				}
			})
		}
	}
}

// TestFuseRefuses checks that Fuse joins only a relu or linear Conv2D
// with a MaxPooling2D.
func TestFuseRefuses(t *testing.T) {
	build := func(ls ...Layer) {
		in := []int{6, 6, 2}
		for _, l := range ls {
			out, err := l.Build(in, rand.New(rand.NewPCG(1, 1)))
			if err != nil {
				t.Fatal(err)
			}
			in = out
		}
	}
	tanh := mustConv(t, 4, [2]int{3, 3}, WithActivation("tanh"))
	relu := mustConv(t, 4, [2]int{3, 3}, WithActivation("relu"))
	avg, err := NewAveragePooling2D([2]int{2, 2})
	if err != nil {
		t.Fatal(err)
	}
	mp := mustPool(t, [2]int{2, 2})
	build(tanh, mp)
	if _, ok := Fuse(tanh, mp); ok {
		t.Error("Fuse joined a tanh Conv2D")
	}
	build(relu, avg)
	if _, ok := Fuse(relu, avg); ok {
		t.Error("Fuse joined an AveragePooling2D")
	}
	if _, ok := Fuse(mp, relu); ok {
		t.Error("Fuse joined a MaxPooling2D with what follows")
	}
	relu2 := mustConv(t, 5, [2]int{3, 3}, WithActivation("relu"))
	build(relu2)
	if _, ok := Fuse(relu2, mp); ok {
		t.Error("Fuse joined layers whose shapes do not match")
	}
}

// TestFusedZeroAllocs checks that a fused training step allocates
// nothing, serial and on two threads.
func TestFusedZeroAllocs(t *testing.T) {
	for _, threads := range []int{1, 2} {
		for _, gdx := range []bool{false, true} {
			rng := rand.New(rand.NewPCG(13, 14))
			c := mustConv(t, 16, [2]int{3, 3}, WithActivation("relu"), WithPadding("same"))
			p := mustPool(t, [2]int{2, 2})
			out, err := c.Build([]int{14, 14, 2}, rng)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.Build(out, rng); err != nil {
				t.Fatal(err)
			}
			pool := poolFor(t, threads, c, p)
			st, ok := Fuse(c, p)
			if !ok {
				t.Fatal("Fuse refused")
			}
			n := 64
			st.Allocate(n, gdx)
			x := randSlice(rng, n*c.inWidth, 1)
			dy := randSlice(rng, n*p.outWidth, 1)
			step := func() {
				st.Forward(x, n, true)
				st.Backward(dy, n)
			}
			step()
			if a := testing.AllocsPerRun(20, step); a != 0 {
				t.Errorf("threads=%d needInputGrad=%v: %v allocations per step, want 0", threads, gdx, a)
			}
			pool.Close()
		}
	}
}

// BenchmarkFusedConvPoolMNIST is BenchmarkConvPoolMNIST's training step
// through the fused stage, on 1 and 2 threads, and unfused for comparison.
func BenchmarkFusedConvPoolMNIST(b *testing.B) {
	const n = 128
	x, src := mnistBatch(n)
	b.Logf("data: %s", src)
	for _, fused := range []bool{false, true} {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("fused=%v/threads=%d", fused, threads), func(b *testing.B) {
				c := mustConv(b, 32, [2]int{3, 3}, WithActivation("relu"))
				out, err := c.Build([]int{28, 28, 1}, rand.New(rand.NewPCG(1, 1)))
				if err != nil {
					b.Fatal(err)
				}
				p := mustPool(b, [2]int{2, 2})
				if _, err := p.Build(out, nil); err != nil {
					b.Fatal(err)
				}
				poolFor(b, threads, c, p)
				st := Stage(nil)
				if fused {
					var ok bool
					if st, ok = Fuse(c, p); !ok {
						b.Fatal("Fuse refused")
					}
					st.Allocate(n, false)
				} else {
					c.Allocate(n, false)
					p.Allocate(n, true)
				}
				dy := randSlice(rand.New(rand.NewPCG(3, 3)), n*p.outWidth, 1e-3)
				b.ReportAllocs()
				for b.Loop() {
					if fused {
						st.Forward(x, n, true)
						st.Backward(dy, n)
					} else {
						p.Forward(c.Forward(x, n, true), n, true)
						c.Backward(p.Backward(dy, n), n)
					}
				}
			})
		}
	}
}
