package kiln

import (
	"bytes"
	"context"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/kiln-ml/kiln/callbacks"
)

// Fit's BatchEnd logs carry each step's own loss after the running means;
// the epoch logs, History and the progress bar do not.
func TestBatchEndLogsBatchLoss(t *testing.T) {
	x, y, _ := blobs(100, 4)
	for _, cw := range []map[int]float64{nil, {0: 1, 1: 3, 2: 0.5}} {
		compiled := func() *Sequential {
			m := mlp("softmax")
			if err := m.Compile(CompileOptions{Optimizer: "sgd", Loss: "categorical_crossentropy", Metrics: []string{"accuracy"}, Seed: 2}); err != nil {
				t.Fatal(err)
			}
			return m
		}
		// The first batch's loss at the initial weights, computed apart.
		res, err := compiled().TrainOnBatchWith(x.Slice(0, 32), y.Slice(0, 32), TrainOnBatchOptions{ClassWeight: cw})
		if err != nil {
			t.Fatal(err)
		}
		first := res.Values[0]
		m := compiled()
		var batch, means []float64
		var names []string
		cb := callbacks.Func{OnBatchEnd: func(step int, logs callbacks.Logs) {
			names = append(names[:0], logs.Names...)
			v, ok := logs.Get(callbacks.BatchLoss)
			if !ok {
				t.Fatalf("step %d: no %s in %v", step, callbacks.BatchLoss, logs.Names)
			}
			batch = append(batch, v)
			means = append(means, logs.Values[0])
		}}
		var out bytes.Buffer
		h, err := m.Fit(context.Background(), x, y, FitOptions{BatchSize: 32, Epochs: 1, NoShuffle: true, ClassWeight: cw,
			Verbose: 1, Out: &out, Callbacks: []callbacks.Callback{cb}})
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"loss", "accuracy", callbacks.BatchLoss}; !slices.Equal(names, want) {
			t.Errorf("BatchEnd names %v, want %v", names, want)
		}
		if math.Abs(batch[0]-first) > 1e-6 || batch[0] != means[0] {
			t.Errorf("class weights %v: first batch loss %g, running mean %g; want %g", cw, batch[0], means[0], first)
		}
		// The running mean is the row-weighted mean of the batch losses.
		sum := 0.0
		for i, b := range batch {
			sum += b * float64(min(32, 100-32*i))
		}
		if got := h.History["loss"][0]; math.Abs(sum/100-got) > 1e-5 {
			t.Errorf("class weights %v: batch losses average to %g, the epoch loss is %g", cw, sum/100, got)
		}
		if slices.Contains(h.Keys, callbacks.BatchLoss) || strings.Contains(out.String(), callbacks.BatchLoss) {
			t.Errorf("%s leaked into History %v or the progress bar %q", callbacks.BatchLoss, h.Keys, out.String())
		}
	}
}
