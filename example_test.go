package kiln_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/datasets/mnist"
	"github.com/kiln-ml/kiln/layers"
	"github.com/kiln-ml/kiln/optimizers"
)

// The question's program (Stack Overflow 69485339) with the Go API, on
// the first 6,000 MNIST images for one epoch. Raw pixels and a sigmoid output
// under categorical cross-entropy give the question's unbounded loss.
func Example() {
	ds, err := mnist.Load("")
	if err != nil {
		log.Fatal(err)
	}
	n := 6000
	x := ds.XTrain.Slice(0, n) // uint8, fed as float32 0..255 like Keras
	y := kiln.ToCategorical(ds.YTrain.Slice(0, n), 10)

	m := kiln.NewSequential(
		layers.NewInput(28, 28),
		layers.NewFlatten(),
		layers.MustNewDense(10, layers.WithActivation("sigmoid")),
	)
	err = m.Compile(kiln.CompileOptions{
		Optimizer: optimizers.NewSGD(0.01),
		Loss:      "categorical_crossentropy",
		Metrics:   []string{"accuracy"},
		Seed:      1,
		Warnings:  os.Stdout,
	})
	if err != nil {
		log.Fatal(err)
	}
	hist, err := m.Fit(context.Background(), x, y, kiln.FitOptions{BatchSize: 32, Epochs: 1})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("loss in the hundreds: %v\n", hist.History["loss"][0] > 100)
	fmt.Printf("accuracy above 0.7: %v\n", hist.History["accuracy"][0] > 0.7)
	// Output:
	// kiln: warning: layer "dense" uses sigmoid with categorical_crossentropy: the loss is computed from the pre-sigmoid logits as softmax cross-entropy (unbounded); use activation softmax for one class per sample (kiln explain shows the effect)
	// loss in the hundreds: true
	// accuracy above 0.7: true
}
