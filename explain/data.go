package explain

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/activations"
	"github.com/kiln-ml/kiln/data"
	"github.com/kiln-ml/kiln/metrics"
)

// rowsF32 returns rows idx of a as float32 (scaled as the model sees them).
func rowsF32(a *data.Array, idx []int) []float32 {
	out := make([]float32, len(idx)*a.RowLen())
	a.GatherRows(out, idx)
	return out
}

// allRows returns 0..n-1.
func allRows(n int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return idx
}

// spread returns up to k row indices of n rows, evenly spaced (deterministic).
func spread(n, k int) []int {
	if k >= n {
		return allRows(n)
	}
	idx := make([]int, k)
	for i := range idx {
		idx[i] = int(int64(i) * int64(n) / int64(k))
	}
	return idx
}

// randomSubset returns k distinct row indices of n, sorted, drawn with seed.
func randomSubset(n, k int, seed uint64) []int {
	if k >= n {
		return allRows(n)
	}
	rng := rand.New(rand.NewPCG(seed, 0x6578706c))
	p := rng.Perm(n)[:k]
	sort.Ints(p)
	return p
}

// takeRows copies rows idx of a into a new array of the same dtype and
// scale, so uint8 images stay bytes.
func takeRows(a *data.Array, idx []int) *data.Array {
	w := a.RowLen()
	shape := append([]int{len(idx)}, a.Shape[1:]...)
	var b *data.Array
	switch {
	case a.U8 != nil:
		v := make([]uint8, 0, len(idx)*w)
		for _, i := range idx {
			v = append(v, a.U8[i*w:(i+1)*w]...)
		}
		b = &data.Array{Shape: shape, DType: a.DType, U8: v}
	case a.I64 != nil:
		v := make([]int64, 0, len(idx)*w)
		for _, i := range idx {
			v = append(v, a.I64[i*w:(i+1)*w]...)
		}
		b = &data.Array{Shape: shape, DType: a.DType, I64: v}
	case a.F32 != nil:
		v := make([]float32, 0, len(idx)*w)
		for _, i := range idx {
			v = append(v, a.F32[i*w:(i+1)*w]...)
		}
		b = &data.Array{Shape: shape, DType: a.DType, F32: v}
	default:
		v := make([]float64, 0, len(idx)*w)
		for _, i := range idx {
			v = append(v, a.F64[i*w:(i+1)*w]...)
		}
		b = &data.Array{Shape: shape, DType: a.DType, F64: v}
	}
	if len(shape) == 1 && len(a.Shape) == 1 {
		b.Shape = []int{len(idx)}
	}
	if a.Scale != 0 && a.Scale != 1 {
		b = b.WithScale(a.Scale)
	}
	return b
}

// featureStats summarises the features of x (as the model sees them).
type featureStats struct {
	Rows, Features int
	DType          string
	Min, Max       float64
	MaxAbs         float64
	RMS            float64 // over all values
	Mean           float64
	FeatRMS        []float64 // per feature
	FeatMean       []float64
	FeatStd        []float64
	NonNegative    bool
	Integral       bool // every value is a whole number
}

// statsOf computes featureStats over up to maxRows rows of x.
func statsOf(x *data.Array, maxRows int) featureStats {
	idx := spread(x.Rows(), maxRows)
	w := x.RowLen()
	v := rowsF32(x, idx)
	s := featureStats{Rows: len(idx), Features: w, DType: string(x.DType), Min: math.Inf(1), Max: math.Inf(-1),
		FeatRMS: make([]float64, w), FeatMean: make([]float64, w), FeatStd: make([]float64, w), NonNegative: true, Integral: true}
	sq := make([]float64, w)
	var tot, totSq float64
	for r := range idx {
		row := v[r*w : (r+1)*w]
		for j, f := range row {
			x := float64(f)
			s.FeatMean[j] += x
			sq[j] += x * x
			tot += x
			totSq += x * x
			if x < s.Min {
				s.Min = x
			}
			if x > s.Max {
				s.Max = x
			}
			if x < 0 {
				s.NonNegative = false
			}
			if s.Integral && x != math.Trunc(x) {
				s.Integral = false
			}
		}
	}
	n := float64(len(idx))
	for j := range sq {
		s.FeatMean[j] /= n
		s.FeatRMS[j] = math.Sqrt(sq[j] / n)
		s.FeatStd[j] = math.Sqrt(math.Max(0, sq[j]/n-s.FeatMean[j]*s.FeatMean[j]))
	}
	s.Mean = tot / (n * float64(w))
	s.RMS = math.Sqrt(totSq / (n * float64(w)))
	s.MaxAbs = math.Max(math.Abs(s.Min), math.Abs(s.Max))
	return s
}

// maxFeatRMS returns the largest per-feature RMS and its feature index.
func (s featureStats) maxFeatRMS() (float64, int) {
	best, at := 0.0, -1
	for j, v := range s.FeatRMS {
		if v > best {
			best, at = v, j
		}
	}
	return best, at
}

// medianFeatRMS is the median RMS of the features that are not all zero.
func (s featureStats) medianFeatRMS() float64 {
	var v []float64
	for _, r := range s.FeatRMS {
		if r > 0 {
			v = append(v, r)
		}
	}
	return median(v)
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	c := append([]float64(nil), v...)
	sort.Float64s(c)
	if len(c)%2 == 1 {
		return c[len(c)/2]
	}
	return (c[len(c)/2-1] + c[len(c)/2]) / 2
}

// labelInfo describes the labels.
type labelInfo struct {
	Rows, Width int
	Rank        int
	DType       string
	Min, Max    float64
	Integral    bool
	OneHot      bool // width > 1 and every row has exactly one 1, the rest 0
	Binary      bool // every value is 0 or 1
	Distinct    []float64
	TooMany     bool // more than 64 distinct values (Distinct is then partial)
	RowSumMin   float64
	RowSumMax   float64
}

func labelsOf(y *data.Array) labelInfo {
	l := labelInfo{Rows: y.Rows(), Width: y.RowLen(), Rank: len(y.Shape), DType: string(y.DType),
		Min: math.Inf(1), Max: math.Inf(-1), Integral: true, Binary: true, RowSumMin: math.Inf(1), RowSumMax: math.Inf(-1)}
	seen := map[float64]bool{}
	oneHot := l.Width > 1
	w := l.Width
	for r := 0; r < l.Rows; r++ {
		ones, sum := 0, 0.0
		for j := 0; j < w; j++ {
			v := y.At(r*w + j)
			if y.Scale != 0 {
				v *= y.Scale
			}
			sum += v
			if v < l.Min {
				l.Min = v
			}
			if v > l.Max {
				l.Max = v
			}
			if v != math.Trunc(v) {
				l.Integral = false
			}
			if v != 0 && v != 1 {
				l.Binary = false
				oneHot = false
			}
			if v == 1 {
				ones++
			}
			if !seen[v] && len(seen) <= 64 {
				seen[v] = true
			}
		}
		if ones != 1 {
			oneHot = false
		}
		l.RowSumMin = math.Min(l.RowSumMin, sum)
		l.RowSumMax = math.Max(l.RowSumMax, sum)
	}
	l.OneHot = oneHot && l.Rows > 0
	l.TooMany = len(seen) > 64
	for v := range seen {
		l.Distinct = append(l.Distinct, v)
	}
	sort.Float64s(l.Distinct)
	return l
}

// taskKind is what the model is asked to do, judged from loss, units and labels.
type taskKind string

const (
	kindMulticlass taskKind = "multiclass"
	kindBinary     taskKind = "binary"
	kindMultilabel taskKind = "multilabel"
	kindRegression taskKind = "regression"
)

// task is the learning problem as explain scores it.
type task struct {
	kind       taskKind
	classes    int // multiclass: number of classes; binary: 2
	units      int
	act        string // output activation
	loss       string
	fromLogits bool
	ce         bool
	// outputLogits: the output layer itself applies sigmoid/softmax, so
	// Keras' TF backend has its logits cached (kiln.LossPlan.OutputLogits).
	outputLogits bool
	// actBefore: the activation is applied before a Dropout/Flatten output
	// layer, so PredictLogits returns the activated outputs.
	actBefore bool
}

// setOutput fills the output and loss fields from the model's LossPlan.
func (t *task) setOutput(p *kiln.LossPlan) {
	t.units, t.act, t.loss, t.fromLogits, t.ce = p.Units, p.Activation, p.Loss, p.FromLogits, p.CrossEntropy
	t.outputLogits, t.actBefore = p.OutputLogits, p.ActivationLayer != p.Layer
}

// classOf returns the class of label row r (multiclass/binary tasks).
func classOf(y *data.Array, r int) int {
	w := y.RowLen()
	if w == 1 {
		v := y.At(r)
		if y.Scale != 0 {
			v *= y.Scale
		}
		return int(math.Round(v))
	}
	best, bv := 0, math.Inf(-1)
	for j := 0; j < w; j++ {
		if v := y.At(r*w + j); v > bv {
			best, bv = j, v
		}
	}
	return best
}

// predicted returns, for n rows of logits (pre-activation) of the model's
// output layer, the activated outputs.
func (t *task) outputs(logits []float32, n int) []float32 {
	out := make([]float32, len(logits))
	f, err := activations.Get(t.act)
	if err != nil || t.actBefore {
		copy(out, logits)
		return out
	}
	f.Forward(out, logits, n, t.units)
	return out
}

// threshold is the decision threshold on the output for binary decisions.
func (t *task) binaryPositive(out, logit float32) bool {
	switch t.act {
	case "sigmoid", "softmax":
		return out > 0.5
	}
	if t.fromLogits && t.ce {
		return logit > 0
	}
	return out > 0.5
}

// score returns the task's quality measure on n rows: accuracy for
// classification (argmax of the logits, like kiln's accuracy), the mean
// element-wise accuracy for multi-label, R² for regression. preds receives
// the predicted class per row (classification) when not nil.
func (t *task) score(logits []float32, y *data.Array, idx []int, preds []int) float64 {
	n := len(idx)
	u := t.units
	out := t.outputs(logits, n)
	switch t.kind {
	case kindMulticlass, kindBinary:
		hits := 0
		for r, i := range idx {
			var p int
			if u == 1 && t.kind == kindBinary {
				if t.binaryPositive(out[r], logits[r]) {
					p = 1
				}
			} else if u == 1 {
				p = int(math.Round(float64(out[r]))) // a class index regressed
			} else {
				p = metrics.Argmax(logits[r*u : (r+1)*u])
			}
			if preds != nil {
				preds[r] = p
			}
			if p == classOf(y, i) {
				hits++
			}
		}
		return float64(hits) / float64(n)
	case kindMultilabel:
		w := y.RowLen()
		hits, tot := 0, 0
		for r, i := range idx {
			for j := 0; j < u && j < w; j++ {
				pos := t.binaryPositive(out[r*u+j], logits[r*u+j])
				if pos == (y.At(i*w+j) > 0.5) {
					hits++
				}
				tot++
			}
		}
		return float64(hits) / float64(max(tot, 1))
	default:
		yv := rowsF32(y, idx)
		var mean float64
		for _, v := range yv {
			mean += float64(v)
		}
		mean /= float64(len(yv))
		var ss, res float64
		for k, v := range yv {
			if k >= len(out) {
				break
			}
			d := float64(v) - mean
			ss += d * d
			e := float64(out[k]) - float64(v)
			res += e * e
		}
		if ss == 0 {
			return math.NaN()
		}
		return 1 - res/ss
	}
}

// scoreName names the score.
func (t *task) scoreName() string {
	switch t.kind {
	case kindRegression:
		return "r2"
	case kindMultilabel:
		return "binary_accuracy"
	}
	return "accuracy"
}

// scoreLabel names the score for messages.
func (t *task) scoreLabel() string {
	switch t.kind {
	case kindRegression:
		return "R²"
	case kindMultilabel:
		return "per-label accuracy"
	}
	return "accuracy"
}

// isClassification reports whether the task has classes.
func (t *task) isClassification() bool { return t.kind == kindMulticlass || t.kind == kindBinary }

// hashRows returns an FNV-64 hash of each row's values (as float32).
func hashRows(x *data.Array) []uint64 {
	w := x.RowLen()
	n := x.Rows()
	out := make([]uint64, n)
	buf := make([]float32, 256*w)
	idx := make([]int, 0, 256)
	b := make([]byte, 4)
	for lo := 0; lo < n; lo += 256 {
		hi := min(lo+256, n)
		idx = idx[:0]
		for i := lo; i < hi; i++ {
			idx = append(idx, i)
		}
		x.GatherRows(buf, idx)
		for r := range idx {
			h := fnv.New64a()
			for _, v := range buf[r*w : (r+1)*w] {
				u := math.Float32bits(v)
				b[0], b[1], b[2], b[3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
				h.Write(b)
			}
			out[lo+r] = h.Sum64()
		}
	}
	return out
}

// binomialSE is the standard error of an accuracy p measured on n samples.
func binomialSE(p float64, n int) float64 {
	if n <= 0 {
		return 0
	}
	p = math.Min(math.Max(p, 0.01), 0.99)
	return math.Sqrt(p * (1 - p) / float64(n))
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func round(v float64, digits int) float64 {
	if !finite(v) {
		return v
	}
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

// sig rounds v to n significant digits (for evidence numbers).
func sig(v float64, n int) float64 {
	if v == 0 || !finite(v) {
		return v
	}
	d := n - 1 - int(math.Floor(math.Log10(math.Abs(v))))
	p := math.Pow(10, float64(d))
	return math.Round(v*p) / p
}
