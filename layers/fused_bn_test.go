package layers

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestFusedBNReluPoolBitIdentical trains BatchNormalization → ReLU →
// MaxPooling2D fused (FuseRun) on 1, 2 and 3 threads against the three
// layers apart on one thread, over batches whose rows cross the
// channel sums' groups inside samples (26×26 pixels a sample, 4096 rows a
// group), and requires the pooled outputs, gamma's and beta's gradients,
// the input gradient and the moving statistics bit for bit.
func TestFusedBNReluPoolBitIdentical(t *testing.T) {
	const c, maxBatch = 8, 21
	in := []int{26, 26, c}
	ns := []int{maxBatch, 13, 2}
	rng := rand.New(rand.NewPCG(21, 22))
	var xs, dys [][]float32
	for range ns {
		xs = append(xs, randSlice(rng, maxBatch*26*26*c, 2))
		dy := randSlice(rng, maxBatch*13*13*c, 1)
		for j := range dy { // over 12 decades: float64 sums of them round, so the grouping shows
			dy[j] *= float32(math.Pow(10, rng.Float64()*12-6))
		}
		dys = append(dys, dy)
	}
	type run struct {
		y, gg, gb, dx, mm, mv []float32
		sums                  []float64 // the backward pass's Σdy and Σdy·x̂
	}
	pass := func(fused bool, threads int) []run {
		b := mustBN(t)
		a, err := NewActivation("relu")
		if err != nil {
			t.Fatal(err)
		}
		p := mustPool(t, [2]int{2, 2})
		out, err := b.Build(in, nil)
		if err != nil {
			t.Fatal(err)
		}
		if out, err = a.Build(out, nil); err != nil {
			t.Fatal(err)
		}
		if _, err = p.Build(out, nil); err != nil {
			t.Fatal(err)
		}
		for k := range c {
			b.Gamma.Value[k] = 1 + 0.1*float32(k%3)
			b.Beta.Value[k] = 0.05 * float32(k%4-1)
		}
		poolFor(t, threads, b, a, p)
		var st Stage
		if fused {
			var k int
			var ok bool
			if st, k, ok = FuseRun([]Layer{b, a, p}); !ok || k != 3 {
				t.Fatalf("FuseRun: %v, %d layers", ok, k)
			}
			st.Allocate(maxBatch, true)
		} else {
			b.Allocate(maxBatch, true)
			a.Allocate(maxBatch, true)
			p.Allocate(maxBatch, true)
		}
		var runs []run
		for i, n := range ns {
			var y, dx []float32
			if fused {
				y = clone(st.Forward(xs[i], n, true))
				dx = clone(st.Backward(dys[i], n))
			} else {
				y = clone(p.Forward(a.Forward(b.Forward(xs[i], n, true), n, true), n, true))
				dx = clone(b.Backward(a.Backward(p.Backward(dys[i], n), n), n))
			}
			runs = append(runs, run{y, clone(b.Gamma.Grad), clone(b.Beta.Grad), dx, clone(b.MovingMean.Value), clone(b.MovingVariance.Value),
				append(append([]float64(nil), b.sum[:c]...), b.sum2[:c]...)})
		}
		return runs
	}
	want := pass(false, 1)
	for _, threads := range []int{1, 2, 3} {
		got := pass(true, threads)
		for i := range ns {
			if fmt.Sprint(want[i].sums) != fmt.Sprint(got[i].sums) {
				t.Errorf("%d threads, pass %d (n=%d): fused channel sums %v, apart %v", threads, i, ns[i], got[i].sums, want[i].sums)
			}
			for _, cmp := range []struct {
				what string
				a, b []float32
			}{{"pooled output", want[i].y, got[i].y}, {"gamma gradient", want[i].gg, got[i].gg}, {"beta gradient", want[i].gb, got[i].gb},
				{"input gradient", want[i].dx, got[i].dx}, {"moving mean", want[i].mm, got[i].mm}, {"moving variance", want[i].mv, got[i].mv}} {
				if d := bitDiff(cmp.a, cmp.b); d != "" {
					t.Errorf("%s", fmt.Sprintf("%d threads, pass %d (n=%d): fused %s differs from the layers apart at %s", threads, i, ns[i], cmp.what, d))
				}
			}
		}
	}
}
