// Package metrics implements Keras' accuracy metrics, including how Keras
// resolves the string "accuracy" (or "acc") from the shapes of the labels and
// the predictions.
package metrics

import (
	"fmt"
	"sort"
	"strings"

	"github.com/kiln-ml/kiln/internal/kernels"
)

// Metric scores a batch. Update returns the sum over the n rows of each row's
// value (1/0 matches, or the mean of matches over the last axis); Keras'
// MeanMetricWrapper divides the epoch's total by the number of rows.
type Metric interface {
	// Name is the name shown in logs and History, as the user wrote it.
	Name() string
	// Kind is the resolved Keras function, e.g. "sparse_categorical_accuracy".
	Kind() string
	Update(pred, y []float32, n, c int) float32
}

type metric struct {
	name, kind string
	fn         func(pred, y []float32, n, c int) float32
}

func (m metric) Name() string                               { return m.name }
func (m metric) Kind() string                               { return m.kind }
func (m metric) Update(pred, y []float32, n, c int) float32 { return m.fn(pred, y, n, c) }

var kinds = map[string]func(pred, y []float32, n, c int) float32{
	"categorical_accuracy":        categorical,
	"sparse_categorical_accuracy": sparseCategorical,
	"binary_accuracy":             binary,
}

// Names lists the metric names Get accepts, sorted.
func Names() []string {
	n := []string{"accuracy", "acc"}
	for k := range kinds {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// Shapes describes the labels and predictions a metric will see.
type Shapes struct {
	TargetRank    int // rank of y including the batch axis (1 for class indices)
	TargetLastDim int // last dimension of y (1 for rank-1 y)
	PredLastDim   int // model output units
}

// Get returns the metric called name. "accuracy" and "acc" resolve like
// Keras 2: one output unit → binary_accuracy; labels of lower rank or a last
// dimension of 1 → sparse_categorical_accuracy; else categorical_accuracy.
func Get(name string, s Shapes) (Metric, error) {
	kind := name
	if name == "accuracy" || name == "acc" {
		switch {
		case s.PredLastDim == 1:
			kind = "binary_accuracy"
		case s.TargetRank < 2 || s.TargetLastDim == 1:
			kind = "sparse_categorical_accuracy"
		default:
			kind = "categorical_accuracy"
		}
	}
	fn, ok := kinds[kind]
	if !ok {
		return nil, fmt.Errorf("unknown metric %q; valid metrics: %s", name, strings.Join(Names(), ", "))
	}
	return metric{name, kind, fn}, nil
}

// Argmax returns the index of the largest value (the first on ties, like tf.argmax).
func Argmax(row []float32) int {
	if len(row) == 0 {
		return 0
	}
	// The best value is kept in a register (no reload of row[best]).
	best, bv := 0, row[0]
	for j, v := range row[1:] {
		if v > bv {
			best, bv = j+1, v
		}
	}
	return best
}

// batchRows is how many rows the batched metrics take per kernels.ArgmaxRows
// call (stack arrays).
const batchRows = 64

// batched reports whether the batched metrics take n rows of c values: the
// count of matches is an int, converted to float32 at the end, which equals
// a float32 incremented once per match up to 2^24.
func batched(n, c int) bool { return c > 0 && n <= 1<<24 }

func categorical(pred, y []float32, n, c int) float32 {
	if !batched(n, c) {
		return categoricalRows(pred, y, n, c)
	}
	var ip, iy [batchRows]int32
	matches := 0
	for r0 := 0; r0 < n; r0 += batchRows {
		k := min(batchRows, n-r0)
		kernels.ArgmaxRows(ip[:k], pred[r0*c:(r0+k)*c], c)
		kernels.ArgmaxRows(iy[:k], y[r0*c:(r0+k)*c], c)
		for i, p := range ip[:k] {
			if p == iy[i] {
				matches++
			}
		}
	}
	return float32(matches)
}

// categoricalRows is categorical one row at a time.
func categoricalRows(pred, y []float32, n, c int) float32 {
	var s float32
	for r := 0; r < n; r++ {
		if Argmax(pred[r*c:(r+1)*c]) == Argmax(y[r*c:(r+1)*c]) {
			s++
		}
	}
	return s
}

func sparseCategorical(pred, y []float32, n, c int) float32 {
	if !batched(n, c) {
		return sparseCategoricalRows(pred, y, n, c)
	}
	var ip [batchRows]int32
	matches := 0
	for r0 := 0; r0 < n; r0 += batchRows {
		k := min(batchRows, n-r0)
		kernels.ArgmaxRows(ip[:k], pred[r0*c:(r0+k)*c], c)
		for i, p := range ip[:k] {
			if float32(p) == y[r0+i] {
				matches++
			}
		}
	}
	return float32(matches)
}

// sparseCategoricalRows is sparseCategorical one row at a time.
func sparseCategoricalRows(pred, y []float32, n, c int) float32 {
	var s float32
	for r := 0; r < n; r++ {
		if float32(Argmax(pred[r*c:(r+1)*c])) == y[r] {
			s++
		}
	}
	return s
}

// binary compares pred > 0.5 with y (Keras' threshold), averaging over the last axis.
// A match is y equal to the thresholded prediction as 1 or 0, counted
// without branches (adding 0 leaves the float32 count as it was).
func binary(pred, y []float32, n, c int) float32 {
	var s float32
	for r := 0; r < n; r++ {
		var row float32
		p, t := pred[r*c:(r+1)*c], y[r*c:(r+1)*c]
		t = t[:len(p)]
		for j, v := range p {
			var want float32
			if v > 0.5 {
				want = 1
			}
			var m float32
			if t[j] == want {
				m = 1
			}
			row += m
		}
		s += row / float32(c)
	}
	return s
}
