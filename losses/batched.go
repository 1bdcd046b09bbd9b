package losses

import (
	"math"

	"github.com/kiln-ml/kiln/activations"
	"github.com/kiln-ml/kiln/internal/kernels"
)

// batchLen is how many values of a batch softmaxXent exponentiates at once,
// and batchRows the most rows (stack arrays, which Go zeroes at every call:
// no larger than needed).
const (
	batchLen  = 512
	batchRows = 64
)

// batchable reports whether softmaxXent takes n rows of c logits.
func batchable(n, c int) bool { return n > 0 && c > 0 && c <= batchLen }

// softmaxXent is the common case of CategoricalCrossentropy.Compute (dense
// targets y) or SparseCategoricalCrossentropy.Compute (class indices ys):
// logits, without label smoothing, with a gradient or without (grad nil,
// as in evaluation), batched. The row maxima (kernels.SoftmaxShift), the
// exponentials (kernels.Exp), the logs of the row sums (kernels.Log) and,
// for dense targets, the losses and gradients (kernels.XentRows) take one
// call each for up to batchRows rows, and each row's numbers come from the
// same operations, in the same order, as the per-row code (logSumExp and
// the loops after it), so the loss and the gradient are the same bits. A
// row whose sum or loss is NaN (NaN or +Inf logits, NaN or infinite
// targets) is redone by that code, so that even NaN payloads match.
func softmaxXent(pred, y, ys []float32, n, c int, grad []float32) float32 {
	var (
		e     [batchLen]float64
		m     [batchRows]float32
		sum   [batchRows]float64
		lg    [batchRows]float64
		loss  [batchRows]float64
		total float32
	)
	inv := 1 / float32(n)
	rows := min(batchLen/c, batchRows)
	for r0 := 0; r0 < n; r0 += rows {
		k := min(rows, n-r0)
		z := pred[r0*c : (r0+k)*c]
		// Row maxima and z − m in float64: for rows without NaN, the values
		// of logSumExp's loop (a maximum of ±0 may change a difference of
		// ±0 into the other zero, which math.Exp maps to 1 all the same); a
		// row with a NaN gets a NaN sum, and is redone below.
		kernels.SoftmaxShift(e[:k*c], m[:k], z, c)
		kernels.Exp(e[:k*c], e[:k*c])
		for r := range k {
			var s float64
			for _, v := range e[r*c : (r+1)*c] {
				s += v
			}
			sum[r] = s
		}
		kernels.Log(lg[:k], sum[:k])
		var gc []float32
		if grad != nil {
			gc = grad[r0*c : (r0+k)*c]
		}
		if y != nil {
			kernels.XentRows(gc, loss[:k], e[:k*c], z, y[r0*c:(r0+k)*c], m[:k], lg[:k], sum[:k], c, inv)
		} else {
			sparseRows(gc, loss[:k], e[:k*c], z, ys[r0:r0+k], m[:k], lg[:k], sum[:k], c, inv)
		}
		for i := range k {
			l := loss[i]
			if s := sum[i]; s != s || l != l {
				r := r0 + i
				var g []float32
				if grad != nil {
					g = grad[r*c : (r+1)*c]
				}
				l = xentRow(pred[r*c:(r+1)*c], y, ys, r, c, g)
				for j := range g {
					g[j] *= inv
				}
			}
			total += float32(l)
		}
	}
	return total / float32(n)
}

// sparseRows is kernels.XentRows for class indices ys: each row's loss
// lse − z[k] and, if g is not nil, its gradient (softmax − one-hot)/n.
func sparseRows(g []float32, loss, e []float64, z, ys, m []float32, lg, s []float64, c int, inv float32) {
	for r := range loss {
		lse := float64(m[r]) + lg[r]
		k := int(ys[r])
		zr := z[r*c : (r+1)*c]
		loss[r] = lse - float64(zr[k])
		if g == nil {
			continue
		}
		si := 1 / s[r]
		er, gr := e[r*c:(r+1)*c], g[r*c:(r+1)*c]
		gr = gr[:len(er)]
		for j, v := range er {
			gr[j] = float32(float64(float32(v))*si) * inv
		}
		gr[k] = (float32(float64(float32(er[k]))*si) - 1) * inv
	}
}

// xentRow is row r of softmaxXent by the per-row code (before the division
// by n).
func xentRow(z, y, ys []float32, r, c int, g []float32) float64 {
	lse := logSumExp(z, g)
	if y == nil {
		k := int(ys[r])
		if g != nil {
			g[k]--
		}
		return lse - float64(z[k])
	}
	t := y[r*c : (r+1)*c]
	ts := sum32(t, 0, c)
	var loss float64
	for j, v := range z {
		tj := t[j]
		loss -= float64(tj) * (float64(v) - lse)
		if g != nil {
			g[j] = g[j]*ts - tj
		}
	}
	return loss
}

// sigmoidXent is BinaryCrossentropy.Compute on logits, batched: the e^−|z|
// of many rows are taken in one kernels.Exp call (math.Exp's values), and
// serve both the loss's log(1+e^−|z|) and the gradient's sigmoid, which
// activations.SigmoidExp computes from the same e^−|z| as Sigmoid32 does
// (e^−z for z ≥ 0, e^z below). Everything else is the per-element code's operations in its
// order, so the loss and the gradient are the same bits; a NaN logit's
// sigmoid is left to Sigmoid32 (its NaN's sign may differ from −|z|'s).
func sigmoidXent(pred, y []float32, n, c int, ls float32, grad []float32) float32 {
	var (
		e     [batchLen]float64
		total float32
	)
	scale := 1 / float32(n*c)
	rows := batchLen / c
	for r0 := 0; r0 < n; r0 += rows {
		k := min(rows, n-r0)
		ec := e[:k*c]
		for i, v := range pred[r0*c : (r0+k)*c] {
			ec[i] = -math.Abs(float64(v))
		}
		kernels.Exp(ec, ec)
		for r := r0; r < r0+k; r++ {
			var rowLoss float64
			for j := 0; j < c; j++ {
				i := r*c + j
				v, t := pred[i], smoothBinary(y[i], ls)
				z := float64(v)
				ez := ec[i-r0*c]
				rowLoss += math.Max(z, 0) - z*float64(t) + math.Log1p(ez)
				if grad != nil {
					sg := activations.SigmoidExp(v, ez)
					if v != v {
						sg = activations.Sigmoid32(v) // its NaN, bit for bit
					}
					grad[i] = (sg - t) * scale
				}
			}
			total += float32(rowLoss / float64(c))
		}
	}
	return total / float32(n)
}
