package config_test

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"github.com/kiln-ml/kiln/config"
)

// checkParsed checks what Parse returned: an *Error on failure, and on
// success a canonical form that parses and is stable.
func checkParsed(t *testing.T, e *config.Experiment, err error) {
	t.Helper()
	if err != nil {
		var ce *config.Error
		if !errors.As(err, &ce) {
			t.Fatalf("error %T is not a *config.Error: %v", err, err)
		}
		if ce.Msg == "" || ce.File == "" {
			t.Fatalf("error without message or file: %#v", ce)
		}
		return
	}
	b, err := e.Marshal()
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	e2, err := config.Parse(b, "canonical.yaml", nil)
	if err != nil {
		t.Fatalf("canonical form does not parse: %v\n%s", err, b)
	}
	b2, err := e2.Marshal()
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	if !bytes.Equal(b, b2) {
		t.Fatalf("canonical form is not stable:\n%s\n---\n%s", b, b2)
	}
	_ = e.Canonical()
}

func fuzzSeeds(f *testing.F) {
	for _, p := range []string{"testdata/seed.yaml", "testdata/seed.json"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"",
		"data: {dataset: mnist}\nmodel: [{Dense: {units: 1}}]\ncompile: {optimizer: sgd, loss: mse}\n",
		"data: {csv: {train: a.csv, label: y}, scale: 1/255}\nmodel:\n  - Dense: &d {units: 1, x: [1, 2.0, null, {a: b}]}\n  - Dense: *d\ncompile: {optimizer: {name: adam, learning_rate: 1e-3}, loss: {name: mse, from_logits: true}}\nfit: {validation_split: 0.5, verbose: auto}\n",
		"data: {train: {x: a, y: b}, test: {x: c, y: d}}\nmodel: [{Flatten: }]\ncompile: {optimizer: sgd, loss: mse}\nfit: {validation_data: test, epochs: 3.0, initial_epoch: 2}\n",
		"a: &x [*x]\n",
		"model: &m [*m]\n",
		"data: &d {train: *d}\n",
		"fit:\n\tepochs: 3\n",
		"fit: {epochs: 3\n",
		"seed: a: b\n",
		"---\n---\n",
		"[1, 2]\n",
		"data: {dataset: mnist}\n<<: {model: []}\n",
		"\xef\xbb\xbfseed: 1\n",
		"seed: \"\x01\"\n",
		"data: {dataset: mnist, scale: 0x10}\nmodel: [{D: {\"<<\": 1, \"~\": 2}}]\ncompile: {optimizer: sgd, loss: mse}\n",
		"data: {dataset: mnist}\nmodel: [{Conv2D: {filters: 2, kernel_size: [3, 3]}}]\ncompile: {optimizer: sgd, loss: mse}\nfit: {class_weight: {0: 1, 1: 2.5}, callbacks: [{EarlyStopping: {patience: 2}}, {ModelCheckpoint: {filepath: \"w-{epoch:02d}.safetensors\"}}]}\n",
		"data: {dataset: mnist}\nmodel: m.json\ncompile: {optimizer: sgd, loss: mse}\nfit: {class_weight: balanced, callbacks: []}\n",
	} {
		f.Add([]byte(s))
	}
}

// FuzzParse checks that Parse never panics, fails only with *Error, and
// that whatever it accepts has a stable canonical form.
func FuzzParse(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, src []byte) {
		e, err := config.Parse(src, "fuzz.yaml", nil)
		checkParsed(t, e, err)
	})
}

// FuzzSet checks --set overrides the same way, on the seed file.
func FuzzSet(f *testing.F) {
	src, err := os.ReadFile("testdata/seed.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		"fit.epochs=3", "compile.optimizer.learning_rate=0.03", "compile.optimizer=adam", "compile.loss.from_logits=true",
		"model.2.Dense.units=32", "model.2.units=32", "model.0.shape.1=14", "model.9.units=1", "model.x=1",
		"fit.validation_split=0.1", "data.scale=\"1/255\"", "data={npz: a.npz}", "fit.epochs", "=", "a..b=1",
		"seed.x=1", "fit.epochs=[1,", "model=[]", "fit=", "x=1", "model.1.name=&a [*a]", "compile.metrics.0.x=1",
	} {
		f.Add(s, "")
	}
	f.Add("data.scale=1/255", "fit.validation_data=")
	f.Fuzz(func(t *testing.T, set1, set2 string) {
		e, err := config.Parse(src, "seed.yaml", []string{set1, set2})
		checkParsed(t, e, err)
	})
}
