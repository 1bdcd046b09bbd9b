package kernels

import "math"

//go:generate sh -c "cd _asm/loss && go run . -out ../../loss_amd64.s -stubs ../../loss_stubs_amd64.go -pkg kernels"

// SoftmaxShift is the first pass of a softmax over len(m) rows of c values
// z: it sets m[r] to row r's maximum and e[r·c+j] = float64(z[r·c+j] − m[r]).
// On amd64 (AVX2 or AVX-512, c ≤ 16) it takes one call for all the rows.
//
// For rows without NaN the values are those of a sequential loop, but
// for the sign of zeros: a maximum of ±0 may come out as either zero, and
// then a difference of ±0 may too (math.Exp gives 1 for both, and adding
// either zero to a non-zero number gives that number). A row holding a NaN gets a NaN in e (not necessarily in m:
// the vector maximum may skip it), and its other values are unspecified.
// e must hold len(m)·c values.
func SoftmaxShift(e []float64, m []float32, z []float32, c int) {
	rows := len(m)
	if rows == 0 {
		return
	}
	if c <= 0 || len(z) < rows*c || len(e) < rows*c {
		panic("kernels.SoftmaxShift: short slices")
	}
	if softmaxShiftArch(e, m, z, c) {
		return
	}
	refSoftmaxShift(e, m, z, c)
}

// refSoftmaxShift is SoftmaxShift's portable loop.
func refSoftmaxShift(e []float64, m []float32, z []float32, c int) {
	for r := range m {
		zr := z[r*c : (r+1)*c]
		mr := zr[0]
		for _, v := range zr[1:] {
			mr = max(mr, v) // branch-free; NaN wins
		}
		m[r] = mr
		er := e[r*c : (r+1)*c]
		for j, v := range zr {
			er[j] = float64(v - mr)
		}
	}
}

// Log sets dst[i] = math.Log(x[i]) for every i, bit for bit: on amd64 it
// runs the operations of Go's math.Log (log_amd64.s) on vectors of 8 or 4
// values and hands its special cases (x ≤ 0, +Inf, NaN) to math.Log. Like
// Exp, the vector path is used only if it reproduces math.Log on a set of
// probe values at start-up.
func Log(dst, x []float64) {
	if len(dst) < len(x) {
		panic("kernels.Log: dst shorter than x")
	}
	n := logArch(dst, x)
	for i := n; i < len(x); i++ {
		dst[i] = math.Log(x[i])
	}
}

// ArgmaxRows sets idx[r], for the len(idx) rows of c values x, to the index
// of the row's largest value: the first on ties, a NaN never the largest,
// and 0 for a row that starts with NaN, as this loop finds it:
//
//	best, bv := 0, row[0]
//	for j, v := range row[1:] {
//		if v > bv {
//			best, bv = j+1, v
//		}
//	}
//
// On amd64 (AVX2 or AVX-512, c ≤ 16) it takes one call for all the rows,
// without branches.
func ArgmaxRows(idx []int32, x []float32, c int) {
	rows := len(idx)
	if rows == 0 {
		return
	}
	if c <= 0 || len(x) < rows*c {
		panic("kernels.ArgmaxRows: short slices")
	}
	if argmaxRowsArch(idx, x, c) {
		return
	}
	refArgmaxRows(idx, x, c)
}

// refArgmaxRows is ArgmaxRows' loop.
func refArgmaxRows(idx []int32, x []float32, c int) {
	for r := range idx {
		row := x[r*c : (r+1)*c]
		best, bv := 0, row[0]
		for j, v := range row[1:] {
			if v > bv {
				best, bv = j+1, v
			}
		}
		idx[r] = int32(best)
	}
}
