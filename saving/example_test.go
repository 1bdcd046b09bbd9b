package saving_test

import (
	"context"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/config"
	"github.com/kiln-ml/kiln/data"
	"github.com/kiln-ml/kiln/saving"
)

// A Go program loads the folder that kiln fit --save DIR wrote with one call,
// and predicts. (fitAndSave, below, writes such a folder first, as kiln fit
// --save would.)
func Example() {
	dir, err := os.MkdirTemp("", "kiln-saving-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	fitAndSave(dir, filepath.Join(dir, "model")) // kiln fit experiment.yaml --save model

	s, err := saving.Load(filepath.Join(dir, "model"), nil)
	if err != nil {
		log.Fatal(err)
	}
	// Three points near the centres of classes 0, 1 and 2, in the units of
	// the training data: Predict applies the experiment's data.scale.
	x := data.NewFloat32([]float32{
		1, -2,
		38, 3,
		-1, 41,
	}, 3, 2)
	p, err := s.Predict(context.Background(), x, kiln.EvaluateOptions{})
	if err != nil {
		log.Fatal(err)
	}
	for i := range p.Rows() {
		best := 0
		for c := range 3 {
			if p.At(i*3+c) > p.At(i*3+best) {
				best = c
			}
		}
		fmt.Printf("point %d: class %d\n", i, best)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "model"))
	for _, e := range entries {
		fmt.Println(e.Name())
	}
	// Output:
	// point 0: class 0
	// point 1: class 1
	// point 2: class 2
	// config.json
	// experiment.yaml
	// metadata.json
	// model.onnx
	// model.safetensors
}

// fitAndSave does in Go what kiln fit experiment.yaml --save saved does: it
// trains a small classifier of 2-D points, three blobs centred on (0, 0),
// (40, 0) and (0, 40), and saves it in the folder saved.
func fitAndSave(dir, saved string) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 300
	x, y := make([]float32, 2*n), make([]int64, n)
	centres := [3][2]float32{{0, 0}, {40, 0}, {0, 40}}
	for i := range n {
		c := i % 3
		y[i] = int64(c)
		x[2*i] = centres[c][0] + float32(rng.NormFloat64()*4)
		x[2*i+1] = centres[c][1] + float32(rng.NormFloat64()*4)
	}
	if err := data.WriteNPY(filepath.Join(dir, "x.npy"), data.NewFloat32(x, n, 2)); err != nil {
		log.Fatal(err)
	}
	if err := data.WriteNPY(filepath.Join(dir, "y.npy"), data.NewInt64(y, n)); err != nil {
		log.Fatal(err)
	}
	exp := filepath.Join(dir, "experiment.yaml")
	err := os.WriteFile(exp, []byte(`seed: 1
data:
  train: {x: x.npy, y: y.npy}
  scale: "1/40"
  labels: onehot
model:
  - Input: {shape: [2]}
  - Dense: {units: 16, activation: relu}
  - Dense: {units: 3, activation: softmax}
compile:
  optimizer: {name: adam, learning_rate: 0.05}
  loss: categorical_crossentropy
fit:
  epochs: 20
  verbose: 0
`), 0o644)
	if err != nil {
		log.Fatal(err)
	}
	e, err := config.Load(exp, nil)
	if err != nil {
		log.Fatal(err)
	}
	r, err := config.Build(e, nil)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := r.Model.Fit(context.Background(), r.X, r.Y, r.Fit); err != nil {
		log.Fatal(err)
	}
	if err := saving.Save(saved, r.Model, r.Exp, nil); err != nil {
		log.Fatal(err)
	}
}
