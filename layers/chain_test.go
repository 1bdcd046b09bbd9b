package layers

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// chainRun is one training pass through Conv2D → MaxPooling2D → Dense:
// the logits, the Dense's kernel and bias gradients and input gradient,
// the Conv2D's kernel and bias gradients and input gradient.
type chainRun struct{ z, dk, db, ck, cb, cdx []float32 }

// runChain builds the three layers (same seed every time) and runs a
// forward and backward pass for each (x, dz, n): the layers apart on one
// thread, or fused and chained (Fuse, Chain) on a pool of threads.
func runChain(t *testing.T, fc fuseCase, units int, bias, chained bool, threads, maxBatch int, xs, dzs [][]float32, ns []int) []chainRun {
	t.Helper()
	c, p := fc.conv(t), fc.pool(t)
	var opts []Option
	if !bias {
		opts = append(opts, WithoutBias())
	}
	d := MustNewDense(units, opts...)
	rng := rand.New(rand.NewPCG(5, 6))
	out, err := c.Build(fc.in, rng)
	if err != nil {
		t.Fatal(err)
	}
	po, err := p.Build(out, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Build([]int{tensorSize(po)}, rng); err != nil {
		t.Fatal(err)
	}
	if d.Bias != nil {
		for i := range d.Bias.Value {
			d.Bias.Value[i] = float32(i%3-1) * 0.1
		}
	}
	poolFor(t, threads, c, p, d)
	var st Stage
	if chained {
		var ok bool
		if st, ok = Fuse(c, p); !ok {
			t.Fatal("Fuse refused the pair")
		}
		if !Chain(st, d) {
			t.Fatal("Chain refused the Dense")
		}
		st.Allocate(maxBatch, true)
	} else {
		c.Allocate(maxBatch, true)
		p.Allocate(maxBatch, true)
	}
	d.Allocate(maxBatch, true)
	var runs []chainRun
	for i, n := range ns {
		var h []float32
		// Chained: on one thread, or when the stage splits the pass.
		want := chained && (threads == 1 || st.(*convPool).parts(n, n) > 1)
		if chained {
			h = st.Forward(xs[i], n, true)
			if want && d.ahead == 0 {
				t.Fatalf("%s, %d threads, n=%d: the stage did not compute the Dense's sums", fc.name, threads, n)
			}
		} else {
			h = p.Forward(c.Forward(xs[i], n, true), n, true)
		}
		z := clone(d.ForwardLogits(h, n))
		g := d.BackwardLogits(dzs[i], n)
		if want && d.dxLater == nil {
			t.Fatalf("%s, %d threads, n=%d: the Dense computed its own input gradient", fc.name, threads, n)
		}
		var cdx []float32
		if chained {
			cdx = st.Backward(g, n)
		} else {
			cdx = c.Backward(p.Backward(g, n), n)
		}
		r := chainRun{z: z, dk: clone(d.Kernel.Grad), ck: clone(c.Kernel.Grad), cdx: clone(cdx)}
		if d.Bias != nil {
			r.db = clone(d.Bias.Grad)
		}
		if c.Bias != nil {
			r.cb = clone(c.Bias.Grad)
		}
		runs = append(runs, r)
	}
	return runs
}

// TestChainedDenseBitIdentical runs Conv2D → MaxPooling2D → Dense with the
// Dense chained to the fused stage (its forward sums and input gradient
// computed inside the stage's jobs, or block by block on one thread) on
// 1, 2 and 3 threads, against the three
// layers apart on one thread, on a full and two smaller batches, and requires
// every output and gradient bit for bit. Chained, the Dense's input
// gradient exists only a group of samples at a time, in the stage's
// scratch: it is checked through the Conv2D's gradients, which it
// determines.
func TestChainedDenseBitIdentical(t *testing.T) {
	const maxBatch = 21
	// 5 samples: one group of the conv's gradient, so the backward pass
	// runs on the caller after a forward pass split over the threads.
	ns := []int{maxBatch, 10, 5}
	for _, fc := range fuseCases[:4] {
		for _, bias := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/bias=%v", fc.name, bias), func(t *testing.T) {
				const units = 7
				rng := rand.New(rand.NewPCG(9, 10))
				var xs, dzs [][]float32
				for range ns {
					xs = append(xs, fuseInput(rng, maxBatch, tensorSize(fc.in), false))
					dzs = append(dzs, randSlice(rng, maxBatch*units, 1))
				}
				want := runChain(t, fc, units, bias, false, 1, maxBatch, xs, dzs, ns)
				for _, threads := range []int{1, 2, 3} {
					got := runChain(t, fc, units, bias, true, threads, maxBatch, xs, dzs, ns)
					for i := range ns {
						w, g := want[i], got[i]
						for _, cmp := range []struct {
							what string
							a, b []float32
						}{{"logits", g.z, w.z}, {"Dense kernel gradient", g.dk, w.dk}, {"Dense bias gradient", g.db, w.db},
							{"Conv2D kernel gradient", g.ck, w.ck},
							{"Conv2D bias gradient", g.cb, w.cb}, {"Conv2D input gradient", g.cdx, w.cdx}} {
							if d := bitDiff(cmp.a, cmp.b); d != "" {
								t.Errorf("threads %d, pass %d (n=%d): chained %s differs from the layers apart at %s", threads, i, ns[i], cmp.what, d)
							}
						}
					}
				}
			})
		}
	}
}

// TestChainRefuses: only a fused stage and a narrow Dense over its flat
// output chain.
func TestChainRefuses(t *testing.T) {
	fc := fuseCases[0]
	c, p := fc.conv(t), fc.pool(t)
	rng := rand.New(rand.NewPCG(1, 2))
	out, _ := c.Build(fc.in, rng)
	po, _ := p.Build(out, nil)
	st, ok := Fuse(c, p)
	if !ok {
		t.Fatal("Fuse refused the pair")
	}
	wide := MustNewDense(narrow + 1)
	wide.Build([]int{tensorSize(po)}, rng)
	ranked := MustNewDense(4)
	ranked.Build(po, rng) // 13×13×32 input: rows of 32, not flat
	ok4 := MustNewDense(4)
	ok4.Build([]int{tensorSize(po)}, rng)
	for _, c := range []struct {
		name string
		s    Stage
		next Layer
	}{{"wide Dense", st, wide}, {"Dense over positions", st, ranked}, {"not a fused stage", c, ok4}, {"not a Dense", st, NewFlatten()}} {
		if Chain(c.s, c.next) {
			t.Errorf("%s: Chain accepted it", c.name)
		}
	}
	if !Chain(st, ok4) {
		t.Error("Chain refused a narrow Dense over the flat pooled output")
	}
}

// BenchmarkChainedDenseMNIST is a training step of the cnn's layers
// (Conv2D(32, 3×3, relu) → MaxPooling2D(2) → Dense(10)) on 128 MNIST
// images, the Dense chained to the fused stage or running on its own.
func BenchmarkChainedDenseMNIST(b *testing.B) {
	const n = 128
	x, src := mnistBatch(n)
	b.Logf("data: %s", src)
	for _, chained := range []bool{false, true} {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("chained=%v/threads=%d", chained, threads), func(b *testing.B) {
				rng := rand.New(rand.NewPCG(1, 1))
				c := mustConv(b, 32, [2]int{3, 3}, WithActivation("relu"))
				out, err := c.Build([]int{28, 28, 1}, rng)
				if err != nil {
					b.Fatal(err)
				}
				p := mustPool(b, [2]int{2, 2})
				po, err := p.Build(out, nil)
				if err != nil {
					b.Fatal(err)
				}
				d := MustNewDense(10)
				if _, err := d.Build([]int{tensorSize(po)}, rng); err != nil {
					b.Fatal(err)
				}
				poolFor(b, threads, c, p, d)
				st, ok := Fuse(c, p)
				if !ok {
					b.Fatal("Fuse refused")
				}
				if chained && !Chain(st, d) {
					b.Fatal("Chain refused")
				}
				st.Allocate(n, false)
				d.Allocate(n, true)
				dz := randSlice(rand.New(rand.NewPCG(3, 3)), n*10, 1e-2)
				b.ReportAllocs()
				for b.Loop() {
					d.ForwardLogits(st.Forward(x, n, true), n)
					st.Backward(d.BackwardLogits(dz, n), n)
				}
			})
		}
	}
}

// TestDenseInputBitIdentical runs a narrow Dense told its input is
// features (DenseInput: the sums, dW and dx as dense products through the
// convolution kernels) on 1, 2 and 3 threads against the Dense's own
// passes over its lists of non-zero inputs on one thread, on relu-like
// rows (about half zeros), for a full and a smaller batch and an input
// without the batch buffer's capacity (which takes the lists), and
// requires every output and gradient bit for bit.
func TestDenseInputBitIdentical(t *testing.T) {
	const maxBatch, feat, units = 40, 3000, 7
	ns := []int{maxBatch, 13}
	rng := rand.New(rand.NewPCG(11, 12))
	var xs, dzs [][]float32
	for range ns {
		x := randSlice(rng, maxBatch*feat, 1)
		for i, v := range x {
			x[i] = max(v, 0)
		}
		xs = append(xs, x)
		dzs = append(dzs, randSlice(rng, maxBatch*units, 1))
	}
	type run struct{ z, dk, db, dx []float32 }
	pass := func(threads int, dense, short bool) []run {
		d := MustNewDense(units)
		if _, err := d.Build([]int{feat}, rand.New(rand.NewPCG(5, 6))); err != nil {
			t.Fatal(err)
		}
		for i := range d.Bias.Value {
			d.Bias.Value[i] = float32(i%3-1) * 0.1
		}
		poolFor(t, threads, d)
		if dense && !DenseInput(d) {
			t.Fatal("DenseInput refused a narrow Dense")
		}
		d.Allocate(maxBatch, true)
		var runs []run
		for i, n := range ns {
			x := xs[i][:n*feat]
			if short {
				x = clone(x) // capacity n rows: not the batch buffer
			}
			z := clone(d.ForwardLogits(x, n))
			if dense && d.denseFwd != (!short || n == maxBatch) {
				t.Fatalf("%d threads, n=%d, short=%v: dense pass %v", threads, n, short, d.denseFwd)
			}
			dx := clone(d.BackwardLogits(dzs[i][:n*units], n))
			runs = append(runs, run{z, clone(d.Kernel.Grad), clone(d.Bias.Grad), dx})
		}
		return runs
	}
	want := pass(1, false, false)
	for _, threads := range []int{1, 2, 3} {
		for _, short := range []bool{false, true} {
			got := pass(threads, true, short)
			for i := range want {
				for _, c := range []struct {
					name string
					a, b []float32
				}{{"logits", want[i].z, got[i].z}, {"kernel grad", want[i].dk, got[i].dk}, {"bias grad", want[i].db, got[i].db}, {"dx", want[i].dx, got[i].dx}} {
					if d := bitDiff(c.a, c.b); d != "" {
						t.Fatalf("%d threads, n=%d, short=%v: %s differs from the lists' at %s", threads, ns[i], short, c.name, d)
					}
				}
			}
		}
	}
}
