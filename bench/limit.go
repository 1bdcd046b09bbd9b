package bench

import (
	"fmt"
	"time"
)

// Work is one epoch of a workload (its training steps and one validation
// pass) counted as the work no implementation of the same training can
// avoid, the way kiln's kernels do it: the multiplies and adds of the
// matrix products (forward, weight gradient, and input gradient where a
// layer below needs it) and of the optimizer update, with the products of
// zero input pixels left out — kiln's sparse paths skip them, so counting
// them would flatter kiln — and Adam's square root and divide per weight
// per step. Activations, losses, metrics, pooling and normalisation are
// not counted, and hidden activations are counted dense: both make the
// bound lower, never higher, than the real minimum.
type Work struct {
	MulAdds  float64 // float32 multiplies and adds (a multiply-add counts 2)
	Dense    float64 // MulAdds if zero pixels were not skipped
	SqrtDivs float64 // (square root, divide) pairs: Adam, one per weight per step
	Bytes    float64 // bytes that must stream from memory: the training and validation arrays, once
}

// pixelCounts returns, over rows of 28×28 uint8 images, the number of
// non-zero pixels and the number of (non-zero pixel, 3×3 window) pairs of
// a valid 3×3 convolution: the multiply-adds per filter its forward pass
// cannot skip.
func pixelCounts(px []uint8) (nnz, windowed float64) {
	// cover[i] is how many valid 3×3 windows along one axis of 28 contain
	// position i: 1, 2, 3, …, 3, 2, 1.
	var cover [28]int
	for i := range cover {
		cover[i] = min(i, 25) - max(i-2, 0) + 1
	}
	for r := 0; r+784 <= len(px); r += 784 {
		row := px[r : r+784]
		for i, v := range row {
			if v != 0 {
				nnz++
				windowed += float64(cover[i/28] * cover[i%28])
			}
		}
	}
	return nnz, windowed
}

// WorkOf counts one epoch of workload w run by s (see Work).
func WorkOf(s *Setup, w string) (Work, error) {
	n, v := float64(s.X.Rows()), float64(s.XVal.Rows())
	train, val := s.X.U8, s.XVal.U8
	if train == nil || val == nil {
		return Work{}, fmt.Errorf("bench: workload %s has no uint8 pixels to count", w)
	}
	nzT, winT := pixelCounts(train)
	nzV, winV := pixelCounts(val)
	steps := float64((s.X.Rows() + s.Batch - 1) / s.Batch)
	params := 0
	for _, vv := range s.Model.Variables() {
		params += len(vv.Value)
	}
	p := float64(params)
	var wk Work
	// dense adds a Dense layer in→u whose input is pixels (nz non-zero of
	// the training rows, nzv of the validation rows) or, when nz < 0, a
	// hidden activation counted dense; gradIn says whether dX is needed.
	dense := func(in, u, nz, nzv float64, gradIn bool) {
		nt, nv := nz, nzv
		if nz < 0 {
			nt, nv = in*n, in*v
		}
		passes := 2.0 // forward and weight gradient
		if gradIn {
			passes = 3
		}
		wk.MulAdds += 2 * u * (passes*nt + nv)
		wk.Dense += 2 * u * (passes*in*n + in*v)
	}
	switch w {
	case Seed:
		dense(784, 10, nzT, nzV, false)
	case MLP:
		dense(784, 128, nzT, nzV, false)
		dense(128, 10, -1, -1, true)
	case MLP512:
		dense(784, 512, nzT, nzV, false)
		dense(512, 512, -1, -1, true)
		dense(512, 10, -1, -1, true)
	case CNN, CNNBN:
		// Conv2D(32, 3×3) on 28×28×1: forward and kernel gradient over
		// the windows' non-zero pixels; the 26×26 outputs per filter.
		const f = 32
		wk.MulAdds += 2 * f * (2*winT + winV)
		wk.Dense += 2 * f * 9 * 26 * 26 * (2*n + v)
		dense(13*13*32, 10, -1, -1, true)
	default:
		return Work{}, fmt.Errorf("bench: no work model for workload %q", w)
	}
	// The optimizer: SGD's w −= lr·g is one multiply and one subtract per
	// weight; Adam's m and v updates and the step take 10 (β₁m, (1−β₁)g,
	// +; β₂v, (1−β₂)g, ·g, +; √v+ε, lr·m̂, −) and one (√, ÷) pair.
	switch w {
	case Seed:
		wk.MulAdds += 2 * p * steps
		wk.Dense += 2 * p * steps
	case MLP512:
		// RMSprop's r update takes 4 (ρr, (1−ρ)g, ·g, +) and the step 3
		// (+ε, lr·g, −) and one (√, ÷) pair.
		wk.MulAdds += 7 * p * steps
		wk.Dense += 7 * p * steps
		wk.SqrtDivs += p * steps
	default:
		wk.MulAdds += 10 * p * steps
		wk.Dense += 10 * p * steps
		wk.SqrtDivs += p * steps
	}
	wk.Bytes = float64(len(train) + len(val) + 4*(s.Y.Rows()*s.Y.RowLen()+s.YVal.Rows()*s.YVal.RowLen()))
	return wk, nil
}

// Limit is the lower bound on an epoch's time that Work and Machine give:
// each of the three resources alone (the multiply-add units, the square
// root/divide unit, memory bandwidth) needs at least its time, so the
// epoch needs at least the longest of them.
type Limit struct {
	Products, SqrtDiv, Memory time.Duration
}

// LimitOf returns the bound of work on machine m.
func LimitOf(work Work, m Machine) Limit {
	sec := func(x float64) time.Duration { return time.Duration(x * 1e9) }
	l := Limit{Products: sec(work.MulAdds / m.MulAdd), Memory: sec(work.Bytes / m.ReadBW)}
	if work.SqrtDivs > 0 {
		l.SqrtDiv = sec(work.SqrtDivs / m.SqrtDiv)
	}
	return l
}

// Bound is the longest of the three times.
func (l Limit) Bound() time.Duration { return max(l.Products, l.SqrtDiv, l.Memory) }

// Binding names the resource that sets the bound.
func (l Limit) Binding() string {
	switch l.Bound() {
	case l.Products:
		return "multiply-adds"
	case l.SqrtDiv:
		return "square roots and divides"
	}
	return "memory bandwidth"
}
