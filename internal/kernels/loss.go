package kernels

import "math"

// The loss kernels batch what losses' cross-entropies and metrics' accuracies
// did one row at a time: on the seed workload (32 rows of 10 logits a step)
// the per-row calls (ExpSum, math.Log, Argmax) and the scalar loops cost
// about 10 ms of a 40 ms epoch. A batch now takes one call each of
// SoftmaxShift, Exp, Log and XentRows (and ArgmaxRows twice for the
// accuracy), with the same operations in the same order per row, so the
// results are the same bits. Measured on a Zen 5 (32×10, one call each, ns):
//
//	           SoftmaxShift  Exp  Log  XentRows  ArgmaxRows
//	AVX2                115  550   60       430          62
//	AVX-512              71  520   33       435          59
//
// XentRows is AVX2 at both levels: its time goes to the two in-order chains
// of each row (Σt and the loss, about c scalar operations each), which do
// not get shorter with wider vectors; neither did reading the loss terms
// from registers instead of a stack copy, nor storing whole vectors
// instead of masked ones (VMASKMOVPS/PD) measure any faster.

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

// XentRows is the last pass of a batched softmax cross-entropy with dense
// targets t, for the len(loss) rows of c logits z: given each row's maximum
// m, its exponentials e = exp(z − m), their sum s and its log lg, it sets
// loss[r] and, if g is not nil, the gradient divided by n (inv = 1/n):
//
//	for r := range loss {
//		lse := float64(m[r]) + lg[r]
//		si := 1 / s[r]
//		var ts float32
//		for j := range c {
//			ts += t[r*c+j]
//		}
//		var l float64
//		for j := range c {
//			tj := t[r*c+j]
//			l -= float64(tj) * (float64(z[r*c+j]) - lse)
//			if g != nil {
//				p := float32(float64(float32(e[r*c+j])) * si)
//				g[r*c+j] = (p*ts - tj) * inv
//			}
//		}
//		loss[r] = l
//	}
//
// On amd64 (AVX2 or AVX-512, c ≤ 16) it takes one call for all the rows,
// with the same operations lane by lane.
func XentRows(g []float32, loss, e []float64, z, t, m []float32, lg, s []float64, c int, inv float32) {
	rows := len(loss)
	if rows == 0 {
		return
	}
	if c <= 0 || len(e) < rows*c || len(z) < rows*c || len(t) < rows*c || len(m) < rows || len(lg) < rows || len(s) < rows ||
		(g != nil && len(g) < rows*c) {
		panic("kernels.XentRows: short slices")
	}
	if xentRowsArch(g, loss, e, z, t, m, lg, s, c, inv) {
		return
	}
	refXentRows(g, loss, e, z, t, m, lg, s, c, inv)
}

// refXentRows is XentRows' loop.
func refXentRows(g []float32, loss, e []float64, z, t, m []float32, lg, s []float64, c int, inv float32) {
	for r := range loss {
		lse := float64(m[r]) + lg[r]
		si := 1 / s[r]
		tr := t[r*c : (r+1)*c]
		var ts float32
		for _, v := range tr {
			ts += v
		}
		zr, er := z[r*c:(r+1)*c], e[r*c:(r+1)*c]
		zr, er = zr[:len(tr)], er[:len(tr)]
		var l float64
		if g == nil {
			for j, tj := range tr {
				l -= float64(tj) * (float64(zr[j]) - lse)
			}
		} else {
			gr := g[r*c : (r+1)*c]
			gr = gr[:len(tr)]
			for j, tj := range tr {
				l -= float64(tj) * (float64(zr[j]) - lse)
				p := float32(float64(float32(er[j])) * si)
				gr[j] = (p*ts - tj) * inv
			}
		}
		loss[r] = l
	}
}
