package losses

// The loss code as it was before the batched paths (commit 81cb304),
// verbatim: the reference that TestBatchedBitIdentical compares them with.

import (
	"math"

	"github.com/kiln-ml/kiln/activations"
	"github.com/kiln-ml/kiln/internal/kernels"
)

// logSumExp returns log Σ exp(z) computed stably, and writes softmax(z) to p.
func refLogSumExp(z []float32, p []float32) float64 {
	m := z[0]
	for _, v := range z[1:] {
		if v > m {
			m = v
		}
	}
	// kernels.ExpSum runs the loop below in one vectorised call when it can
	// (same math.Exp values, same order of the sum, same roundings).
	if s, ok := kernels.ExpSum(p, z, m); ok {
		return float64(m) + math.Log(s)
	}
	var s float64
	// The exponentials are taken a chunk at a time with kernels.Exp, which
	// returns math.Exp's exact values (vectorised); the sum stays sequential.
	var e [64]float64
	for lo := 0; lo < len(z); lo += len(e) {
		zc := z[lo:min(lo+len(e), len(z))]
		ec := e[:len(zc)]
		for j, v := range zc {
			ec[j] = float64(v - m)
		}
		kernels.Exp(ec, ec)
		for j, ej := range ec {
			if p != nil {
				p[lo+j] = float32(ej)
			}
			s += ej
		}
	}
	if p != nil {
		inv := 1 / s
		for j := range p {
			p[j] = float32(float64(p[j]) * inv)
		}
	}
	return float64(m) + math.Log(s)
}

func refCCE(l *CategoricalCrossentropy, pred, y []float32, n, c int, logits bool, grad []float32) float32 {
	var total float32
	inv := 1 / float32(n)
	ls := l.LabelSmoothing
	for r := 0; r < n; r++ {
		z := pred[r*c : (r+1)*c]
		t := y[r*c : (r+1)*c]
		var g []float32
		if grad != nil {
			g = grad[r*c : (r+1)*c]
		}
		var loss float64
		if logits && ls == 0 && g != nil {
			// The common case of the branch below, without its per-element
			// tests: the same operations in the same order.
			lse := refLogSumExp(z, g)
			ts := sum32(t, 0, c)
			t, g := t[:len(z)], g[:len(z)]
			for j, v := range z {
				tj := t[j]
				loss -= float64(tj) * (float64(v) - lse)
				g[j] = g[j]*ts - tj
			}
		} else if logits {
			lse := refLogSumExp(z, g)
			ts := sum32(t, ls, c)
			for j, v := range z {
				tj := t[j]
				if ls != 0 {
					tj = tj*(1-ls) + ls/float32(c)
				}
				loss -= float64(tj) * (float64(v) - lse)
				if g != nil {
					// g holds softmax(z); Σy may differ from 1, so scale p by it.
					g[j] = g[j]*ts - tj
				}
			}
		} else {
			var s float32
			for _, v := range z {
				s += v
			}
			var gp float32 // Σ_j g'_j p_j, for the renormalisation's gradient
			for j, v := range z {
				tj := t[j]
				if ls != 0 {
					tj = tj*(1-ls) + ls/float32(c)
				}
				pn := v / s
				pc := clip(pn)
				loss -= float64(tj) * math.Log(float64(pc))
				if g != nil {
					if pn > Epsilon && pn < 1-Epsilon {
						g[j] = -tj / pc
					} else {
						g[j] = 0
					}
					gp += g[j] * v
				}
			}
			if g != nil {
				for j := range g {
					g[j] = (g[j] - gp/s) / s
				}
			}
		}
		total += float32(loss)
		for j := range g {
			g[j] *= inv
		}
	}
	return total / float32(n)
}

func refSCCE(l *SparseCategoricalCrossentropy, pred, y []float32, n, c int, logits bool, grad []float32) float32 {
	var total float32
	inv := 1 / float32(n)
	for r := 0; r < n; r++ {
		z := pred[r*c : (r+1)*c]
		k := int(y[r])
		var g []float32
		if grad != nil {
			g = grad[r*c : (r+1)*c]
		}
		var loss float64
		if logits {
			lse := refLogSumExp(z, g)
			loss = lse - float64(z[k])
			if g != nil {
				g[k]--
			}
		} else {
			var s float64
			for _, v := range z {
				s += float64(clip(v))
			}
			loss = math.Log(s) - math.Log(float64(clip(z[k])))
			if g != nil {
				for j, v := range z {
					q := float32(float64(clip(v)) / s)
					if j == k {
						q--
					}
					if v > Epsilon && v < 1-Epsilon {
						g[j] = q / v
					} else {
						g[j] = 0
					}
				}
			}
		}
		total += float32(loss)
		for j := range g {
			g[j] *= inv
		}
	}
	return total / float32(n)
}

func refBCE(l *BinaryCrossentropy, pred, y []float32, n, c int, logits bool, grad []float32) float32 {
	var total float32
	ls := l.LabelSmoothing
	scale := 1 / float32(n*c)
	for r := 0; r < n; r++ {
		var rowLoss float64
		for j := 0; j < c; j++ {
			i := r*c + j
			v, t := pred[i], y[i]
			if ls != 0 {
				t = t*(1-ls) + 0.5*ls
			}
			if logits {
				z := float64(v)
				rowLoss += math.Max(z, 0) - z*float64(t) + math.Log1p(math.Exp(-math.Abs(z)))
				if grad != nil {
					grad[i] = (activations.Sigmoid32(v) - t) * scale
				}
			} else {
				// Keras 3 (every backend) and TF.js: log of the clipped
				// probability. tf.keras 2.x added ε inside the logs as
				// well (log(p+ε)), which makes a clipped wrong sample cost
				// 15.42 instead of 16.12; kiln follows the current Keras.
				p := clip(v)
				rowLoss -= float64(t)*math.Log(float64(p)) + float64(1-t)*math.Log(float64(1-p))
				if grad != nil {
					// The clip passes the gradient inside [ε, 1−ε], ends
					// included, as tf.clip_by_value and torch.clamp do.
					if v >= Epsilon && v <= 1-Epsilon {
						grad[i] = (-t/p + (1-t)/(1-p)) * scale
					} else {
						grad[i] = 0
					}
				}
			}
		}
		total += float32(rowLoss / float64(c))
	}
	return total / float32(n)
}
