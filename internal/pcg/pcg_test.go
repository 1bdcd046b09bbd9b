package pcg

import (
	"math/rand/v2"
	"testing"
)

// TestMatchesMathRand draws from State and from rand.PCG with the same
// seeds, in order and after jumps of many sizes.
func TestMatchesMathRand(t *testing.T) {
	seeds := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 50; trial++ {
		hi, lo := seeds.Uint64(), seeds.Uint64()
		ref := rand.NewPCG(hi, lo)
		s := State{hi, lo}
		for i := 0; i < 100; i++ {
			if a, b := s.Next(), ref.Uint64(); a != b {
				t.Fatalf("seed (%d, %d), draw %d: %x, rand.PCG %x", hi, lo, i, a, b)
			}
		}
		for _, k := range []uint64{0, 1, 2, 3, 7, 64, 1000, 12345, 1 << 20, seeds.Uint64N(1 << 22)} {
			j := s
			j.Advance(k)
			for range k {
				ref.Uint64()
			}
			s.Advance(k)
			if s != j {
				t.Fatal("Advance depends on more than the state")
			}
			if a, b := s.Next(), ref.Uint64(); a != b {
				t.Fatalf("seed (%d, %d), after a jump of %d: %x, rand.PCG %x", hi, lo, k, a, b)
			}
		}
	}
}

// TestFill compares Fill with rand.PCG over lengths around the four
// chains' threshold and remainder.
func TestFill(t *testing.T) {
	for _, n := range []int{0, 1, 5, 31, 32, 33, 35, 100, 1027, 5408} {
		ref := rand.NewPCG(3, uint64(n))
		s := State{3, uint64(n)}
		dst := make([]uint64, n)
		s.Fill(dst)
		for i, v := range dst {
			if w := ref.Uint64(); v != w {
				t.Fatalf("n=%d, draw %d: %x, rand.PCG %x", n, i, v, w)
			}
		}
		if a, b := s.Next(), ref.Uint64(); a != b {
			t.Fatalf("n=%d: the state after Fill is not rand.PCG's", n)
		}
	}
}

func BenchmarkFill(b *testing.B) {
	s := State{1, 2}
	dst := make([]uint64, 512)
	b.SetBytes(512)
	for b.Loop() {
		s.Fill(dst)
	}
}

func BenchmarkNext(b *testing.B) {
	s := State{1, 2}
	var x uint64
	for b.Loop() {
		x ^= s.Next()
	}
	_ = x
}
