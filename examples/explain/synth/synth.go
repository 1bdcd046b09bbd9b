// Package synth writes the small synthetic datasets of kiln explain's
// scenario suite (examples/explain/*.yaml) as .npz files with the arrays
// x_train, y_train, x_test and y_test. Every dataset is generated from a
// fixed seed, so the files are byte-for-byte reproducible:
//
//	go run ./examples/explain/gen            # writes examples/explain/data/*.npz
//
// The explain tests call Write on a temporary directory instead, so the
// suite never depends on files being present.
package synth

//go:generate go run ../gen -out ../data

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"

	"github.com/kiln-ml/kiln/data"
)

// Dataset is one generated .npz file.
type Dataset struct {
	Name string // file name without .npz
	Doc  string // what it is for
	gen  func(r *rand.Rand) split
}

type split struct {
	xTrain, yTrain, xTest, yTest *data.Array
}

// Datasets lists every dataset, in name order.
func Datasets() []Dataset {
	ds := []Dataset{
		{"blobs", "4 Gaussian classes in 10 standardised features; integer labels 0..3", func(r *rand.Rand) split { return blobs(r, 0) }},
		{"blobs_1based", "the blobs with labels 1..4 (one-based)", func(r *rand.Rand) split { return blobs(r, 1) }},
		{"binary", "two classes, logistic in 10 standardised features; labels 0/1", func(r *rand.Rand) split { return binary(r, 0.5, false) }},
		{"binary_pm1", "the binary data with labels −1/+1", func(r *rand.Rand) split { return binary(r, 0.5, true) }},
		{"imbalanced", "two classes, 3% positives with a weak signal", func(r *rand.Rand) split { return binary(r, 0.03, false) }},
		{"regression", "linear regression in 8 standardised features; standardised targets", func(r *rand.Rand) split { return regression(r, 1, 0) }},
		{"regression_big", "the regression with targets ×2000 + 10000 (house prices in dollars)", func(r *rand.Rand) split { return regression(r, 2000, 10000) }},
		{"unscaled", "two classes; features on scales from 1 to 5000", unscaled},
		{"scale_mismatch", "pixel-like features in [0, 1] for training, [0, 255] for testing", scaleMismatch},
		{"random_labels", "10 standardised features and labels drawn independently of them", randomLabels},
		{"overlap", "the blobs with 25% label noise and 60% of the test rows copied from the training rows", overlap},
		{"circles", "two concentric circles in 2 features (not linearly separable)", circles},
		{"overfit", "200 training rows, 40 features, 25% label noise", overfit},
		{"multilabel", "3 independent yes/no labels from 10 standardised features", multilabel},
		{"xor_repeated", "the 4 XOR points repeated (1000 training, 200 test rows; only 4 distinct rows)", xorRepeated},
		{"blobs3_small", "3 overlapping Gaussian classes in 4 features, 150 training and 150 test rows (iris-sized)", blobs3Small},
		{"majority88", "two classes, 88% of class 0, a weak signal (always answering 0 scores 0.88)", func(r *rand.Rand) split { return majority(r, 0.35) }},
		{"majority88_strong", "two classes, 88% of class 0, a strong signal", func(r *rand.Rand) split { return majority(r, 3) }},
		{"wide_linear", "300 training rows of 100 standardised features, a linear label with 10% noise (easy to memorise, learnable)", wideLinear},
		{"square100", "x = 0..99 standardised, y = x² + 3 on the raw x (targets up to 9804); 100 rows, no test split", square100},
		{"threshold_raw", "one raw feature in [0, 100000); label 1 when it is ≥ 50000", thresholdRaw},
		{"raw_pixels_digits", "10 classes of 8×8 'digits' (noisy templates) as raw 0..255 values, labels 0..9", rawDigits},
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i].Name < ds[j].Name })
	return ds
}

// Write writes every dataset into dir (created if needed) as NAME.npz.
func Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for i, d := range Datasets() {
		_ = i
		if err := WriteOne(dir, d); err != nil {
			return err
		}
	}
	return nil
}

// WriteOne writes dataset d into dir as d.Name + ".npz".
func WriteOne(dir string, d Dataset) error {
	r := rand.New(rand.NewPCG(seedOf(d.Name), 0x73796e74))
	s := d.gen(r)
	if s.xTest == nil { // no test split
		return data.WriteNPZ(filepath.Join(dir, d.Name+".npz"), []string{"x_train", "y_train"},
			map[string]*data.Array{"x_train": s.xTrain, "y_train": s.yTrain})
	}
	return data.WriteNPZ(filepath.Join(dir, d.Name+".npz"), []string{"x_train", "y_train", "x_test", "y_test"},
		map[string]*data.Array{"x_train": s.xTrain, "y_train": s.yTrain, "x_test": s.xTest, "y_test": s.yTest})
}

func seedOf(name string) uint64 {
	var h uint64 = 1469598103934665603
	for i := 0; i < len(name); i++ {
		h = (h ^ uint64(name[i])) * 1099511628211
	}
	return h
}

const nTrain, nTest = 1500, 500

func f32(v []float64, shape ...int) *data.Array {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return data.NewFloat32(out, shape...)
}

func i64(v []int64) *data.Array { return data.NewInt64(v, len(v)) }

// blobs: 4 classes with centres at distance ~3 in 10-D.
func blobs(r *rand.Rand, offset int64) split {
	const d, k = 10, 4
	centres := make([][]float64, k)
	for c := range centres {
		centres[c] = make([]float64, d)
		for j := range centres[c] {
			centres[c][j] = r.NormFloat64() * 1.0
		}
	}
	gen := func(n int) (*data.Array, *data.Array) {
		x := make([]float64, n*d)
		y := make([]int64, n)
		for i := 0; i < n; i++ {
			c := r.IntN(k)
			y[i] = int64(c) + offset
			for j := 0; j < d; j++ {
				x[i*d+j] = centres[c][j] + r.NormFloat64()
			}
		}
		return f32(x, n, d), i64(y)
	}
	var s split
	s.xTrain, s.yTrain = gen(nTrain)
	s.xTest, s.yTest = gen(nTest)
	return s
}

// binary: P(y=1) = sigmoid(w·x + b), b chosen for the positive rate.
func binary(r *rand.Rand, rate float64, pm1 bool) split {
	const d = 10
	w := make([]float64, d)
	for j := range w {
		w[j] = r.NormFloat64()
	}
	strength := 1.5
	if rate < 0.5 {
		strength = 0.5
	}
	gen := func(n int) (*data.Array, *data.Array) {
		x := make([]float64, n*d)
		y := make([]float64, n)
		for i := 0; i < n; i++ {
			var z float64
			for j := 0; j < d; j++ {
				v := r.NormFloat64()
				x[i*d+j] = v
				z += w[j] * v
			}
			z = strength * z / math.Sqrt(d)
			var pos bool
			if rate == 0.5 {
				pos = r.Float64() < 1/(1+math.Exp(-3*z))
			} else {
				// Rare positives, shifted along w.
				pos = r.Float64() < rate
				if pos {
					for j := 0; j < d; j++ {
						x[i*d+j] += 0.9 * w[j] / math.Sqrt(d)
					}
				}
			}
			switch {
			case pos:
				y[i] = 1
			case pm1:
				y[i] = -1
			}
		}
		return f32(x, n, d), f32(y, n)
	}
	var s split
	s.xTrain, s.yTrain = gen(nTrain)
	s.xTest, s.yTest = gen(nTest)
	return s
}

func regression(r *rand.Rand, scale, offset float64) split {
	const d = 8
	w := make([]float64, d)
	var nw float64
	for j := range w {
		w[j] = r.NormFloat64()
		nw += w[j] * w[j]
	}
	for j := range w {
		w[j] *= math.Sqrt(d / nw) // unit signal variance
	}
	gen := func(n int) (*data.Array, *data.Array) {
		x := make([]float64, n*d)
		y := make([]float64, n)
		for i := 0; i < n; i++ {
			var z float64
			for j := 0; j < d; j++ {
				v := r.NormFloat64()
				x[i*d+j] = v
				z += w[j] * v
			}
			z = z/math.Sqrt(d)*0.95 + 0.3*r.NormFloat64()
			y[i] = z*scale + offset
		}
		return f32(x, n, d), f32(y, n)
	}
	var s split
	s.xTrain, s.yTrain = gen(nTrain)
	s.xTest, s.yTest = gen(nTest)
	return s
}

// unscaled: a binary problem whose features have scales 1 … 5000.
func unscaled(r *rand.Rand) split {
	s := binary(r, 0.5, false)
	scales := []float64{1, 5000, 3, 800, 10, 2000, 1, 300, 50, 1000}
	for _, x := range []*data.Array{s.xTrain, s.xTest} {
		for i := range x.F32 {
			j := i % len(scales)
			x.F32[i] = float32(float64(x.F32[i])*scales[j] + 2*scales[j])
		}
	}
	return s
}

func scaleMismatch(r *rand.Rand) split {
	s := blobs(r, 0)
	squash := func(x *data.Array, mul float64) {
		for i, v := range x.F32 {
			x.F32[i] = float32(mul / (1 + math.Exp(-float64(v))))
		}
	}
	squash(s.xTrain, 1)
	squash(s.xTest, 255)
	return s
}

func randomLabels(r *rand.Rand) split {
	s := blobs(r, 0)
	for _, y := range []*data.Array{s.yTrain, s.yTest} {
		for i := range y.I64 {
			y.I64[i] = int64(r.IntN(4))
		}
	}
	return s
}

func overlap(r *rand.Rand) split {
	s := blobs(r, 0)
	// 25% label noise: a model that memorises its training rows gets the
	// copies right and the fresh rows wrong, so the copies inflate accuracy.
	for _, y := range []*data.Array{s.yTrain, s.yTest} {
		for i := range y.I64 {
			if r.Float64() < 0.25 {
				y.I64[i] = int64(r.IntN(4))
			}
		}
	}
	d := s.xTrain.RowLen()
	for i := 0; i < nTest*6/10; i++ {
		src := r.IntN(nTrain)
		copy(s.xTest.F32[i*d:(i+1)*d], s.xTrain.F32[src*d:(src+1)*d])
		s.yTest.I64[i] = s.yTrain.I64[src]
	}
	return s
}

func circles(r *rand.Rand) split {
	gen := func(n int) (*data.Array, *data.Array) {
		x := make([]float64, n*2)
		y := make([]int64, n)
		for i := 0; i < n; i++ {
			c := r.IntN(2)
			rad := 0.6 + 0.9*float64(c) + 0.15*r.NormFloat64()
			t := 2 * math.Pi * r.Float64()
			x[2*i], x[2*i+1] = rad*math.Cos(t), rad*math.Sin(t)
			y[i] = int64(c)
		}
		return f32(x, n, 2), i64(y)
	}
	var s split
	s.xTrain, s.yTrain = gen(nTrain)
	s.xTest, s.yTest = gen(nTest)
	return s
}

func overfit(r *rand.Rand) split {
	const d = 40
	gen := func(n int) (*data.Array, *data.Array) {
		x := make([]float64, n*d)
		y := make([]int64, n)
		for i := 0; i < n; i++ {
			for j := 0; j < d; j++ {
				x[i*d+j] = r.NormFloat64()
			}
			c := int64(0)
			if x[i*d]+0.5*x[i*d+1] > 0 {
				c = 1
			}
			if r.Float64() < 0.25 {
				c = 1 - c
			}
			y[i] = c
		}
		return f32(x, n, d), i64(y)
	}
	var s split
	s.xTrain, s.yTrain = gen(200)
	s.xTest, s.yTest = gen(600)
	return s
}

func multilabel(r *rand.Rand) split {
	const d, k = 10, 3
	w := make([]float64, d*k)
	for i := range w {
		w[i] = r.NormFloat64()
	}
	gen := func(n int) (*data.Array, *data.Array) {
		x := make([]float64, n*d)
		y := make([]float64, n*k)
		for i := 0; i < n; i++ {
			for j := 0; j < d; j++ {
				x[i*d+j] = r.NormFloat64()
			}
			for c := 0; c < k; c++ {
				var z float64
				for j := 0; j < d; j++ {
					z += w[j*k+c] * x[i*d+j]
				}
				if z+0.3*r.NormFloat64() > 0 {
					y[i*k+c] = 1
				}
			}
		}
		return f32(x, n, d), f32(y, n, k)
	}
	var s split
	s.xTrain, s.yTrain = gen(nTrain)
	s.xTest, s.yTest = gen(nTest)
	return s
}

// xorRepeated: the four XOR points, repeated; every test row is a
// training row by construction.
func xorRepeated(r *rand.Rand) split {
	pts := [4][3]float64{{0, 0, 0}, {0, 1, 1}, {1, 0, 1}, {1, 1, 0}}
	gen := func(n int) (*data.Array, *data.Array) {
		x := make([]float64, n*2)
		y := make([]float64, n)
		for i := 0; i < n; i++ {
			p := pts[r.IntN(4)]
			x[2*i], x[2*i+1], y[i] = p[0], p[1], p[2]
		}
		return f32(x, n, 2), f32(y, n)
	}
	var s split
	s.xTrain, s.yTrain = gen(1000)
	s.xTest, s.yTest = gen(200)
	return s
}

// blobs3Small: 3 classes, 4 features, 150 training and 150 test rows.
func blobs3Small(r *rand.Rand) split {
	const d, k = 4, 3
	centres := [k][d]float64{{-1, 0, 0.5, 0}, {1, 0.5, -0.5, 0}, {0, -1, 0, 0.75}}
	gen := func(n int) (*data.Array, *data.Array) {
		x := make([]float64, n*d)
		y := make([]int64, n)
		for i := 0; i < n; i++ {
			c := i % k
			y[i] = int64(c)
			for j := 0; j < d; j++ {
				x[i*d+j] = centres[c][j] + r.NormFloat64()
			}
		}
		return f32(x, n, d), i64(y)
	}
	var s split
	s.xTrain, s.yTrain = gen(150)
	s.xTest, s.yTest = gen(150)
	return s
}

// majority: 88% of class 0; the positives are shifted by shift/√d along
// every feature.
func majority(r *rand.Rand, shift float64) split {
	const d = 8
	gen := func(n int) (*data.Array, *data.Array) {
		x := make([]float64, n*d)
		y := make([]float64, n)
		for i := 0; i < n; i++ {
			pos := r.Float64() < 0.12
			for j := 0; j < d; j++ {
				x[i*d+j] = r.NormFloat64()
				if pos {
					x[i*d+j] += shift / math.Sqrt(d)
				}
			}
			if pos {
				y[i] = 1
			}
		}
		return f32(x, n, d), f32(y, n)
	}
	var s split
	s.xTrain, s.yTrain = gen(nTrain)
	s.xTest, s.yTest = gen(nTest)
	return s
}

// rawDigits: 10 random 8×8 templates with noise, stored as raw 0..255
// values (like unscaled pixels); labels 0..9.
func rawDigits(r *rand.Rand) split {
	const d, k = 64, 10
	var tmpl [k][d]float64
	for c := range tmpl {
		for j := range tmpl[c] {
			if r.Float64() < 0.4 {
				tmpl[c][j] = 1
			}
		}
	}
	gen := func(n int) (*data.Array, *data.Array) {
		x := make([]float64, n*d)
		y := make([]int64, n)
		for i := 0; i < n; i++ {
			c := r.IntN(k)
			y[i] = int64(c)
			for j := 0; j < d; j++ {
				v := 255 * (0.15 + 0.7*tmpl[c][j] + 0.25*r.NormFloat64())
				x[i*d+j] = math.Round(math.Min(255, math.Max(0, v)))
			}
		}
		return f32(x, n, d), i64(y)
	}
	var s split
	s.xTrain, s.yTrain = gen(nTrain)
	s.xTest, s.yTest = gen(nTest)
	return s
}

// wideLinear: few rows, many features, a linear rule with 10% label noise.
func wideLinear(r *rand.Rand) split {
	const d = 100
	w := make([]float64, d)
	for j := range w {
		w[j] = r.NormFloat64()
	}
	gen := func(n int) (*data.Array, *data.Array) {
		x := make([]float64, n*d)
		y := make([]int64, n)
		for i := 0; i < n; i++ {
			var z float64
			for j := 0; j < d; j++ {
				x[i*d+j] = r.NormFloat64()
				z += w[j] * x[i*d+j]
			}
			if z > 0 {
				y[i] = 1
			}
			if r.Float64() < 0.1 {
				y[i] = 1 - y[i]
			}
		}
		return f32(x, n, d), i64(y)
	}
	var s split
	s.xTrain, s.yTrain = gen(300)
	s.xTest, s.yTest = gen(500)
	return s
}

// square100: the toy regression of a question: y = x² + 3 for x = 0..99,
// with x standardised and y not. It has no test split.
func square100(r *rand.Rand) split {
	const n = 100
	x := make([]float64, n)
	y := make([]float64, n)
	mean, sd := 49.5, math.Sqrt((n*n-1)/12.0)
	for i := range x {
		x[i] = (float64(i) - mean) / sd
		y[i] = float64(i*i) + 3
	}
	return split{xTrain: f32(x, n, 1), yTrain: f32(y, n)}
}

// thresholdRaw: one unscaled feature and a threshold label.
func thresholdRaw(r *rand.Rand) split {
	gen := func(n int) (*data.Array, *data.Array) {
		x := make([]float64, n)
		y := make([]float64, n)
		for i := range x {
			x[i] = math.Floor(r.Float64() * 100000)
			if x[i] >= 50000 {
				y[i] = 1
			}
		}
		return f32(x, n, 1), f32(y, n)
	}
	var s split
	s.xTrain, s.yTrain = gen(2000)
	s.xTest, s.yTest = gen(500)
	return s
}

// Describe returns "name: doc" lines for every dataset.
func Describe() []string {
	var out []string
	for _, d := range Datasets() {
		out = append(out, fmt.Sprintf("%s.npz: %s", d.Name, d.Doc))
	}
	return out
}
