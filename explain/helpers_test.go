package explain

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func TestNiceScale(t *testing.T) {
	for _, c := range []struct {
		cur, maxAbs float64
		want        string
	}{
		{1, 255, "1/255"}, {0, 255, "1/255"}, {1, 200, "1/255"}, {1, 4000, "1/10000"}, {1, 60000, "1/65535"},
		{0.5, 127.5, "0.00196078"},
	} {
		if _, got := niceScale(c.cur, c.maxAbs); got != c.want {
			t.Errorf("niceScale(%g, %g) = %s, want %s", c.cur, c.maxAbs, got, c.want)
		}
	}
}

func TestJSONNonFinite(t *testing.T) {
	r := &Report{SchemaVersion: 1, Findings: []*Finding{{ID: IDOverfitting, Severity: Warning, Summary: "s",
		Evidence: map[string]any{"a": math.NaN(), "b": []float64{1, math.Inf(1)}, "threshold": "t"}}}}
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	if !strings.Contains(buf.String(), `"a": null`) || !strings.Contains(buf.String(), "null") {
		t.Errorf("NaN not written as null:\n%s", buf.String())
	}
	// Field order follows the struct: id first.
	if i, j := strings.Index(buf.String(), `"id"`), strings.Index(buf.String(), `"severity"`); i < 0 || i > j {
		t.Errorf("field order:\n%s", buf.String())
	}
}

func TestWrap(t *testing.T) {
	s := wrap(strings.Repeat("word ", 50), "   ", 40)
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		if len(line) > 40 {
			t.Errorf("line too long: %q", line)
		}
	}
}

func TestIDsUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, id := range IDs {
		if seen[id] {
			t.Errorf("duplicate id %s", id)
		}
		seen[id] = true
	}
	// The ids the issue fixed must stay (scripts match on them); later
	// ones are added, never renamed.
	for _, id := range []string{"inputs-not-normalized", "targets-not-normalized", "train-validation-scale-mismatch",
		"loss-scales-with-learning-rate", "sigmoid-with-categorical-crossentropy", "binary-crossentropy-multiclass",
		"logits-without-from-logits", "double-softmax", "single-unit-softmax", "label-encoding-mismatch",
		"output-range-mismatch", "mse-for-classification", "learning-rate-too-high", "learning-rate-too-low",
		"dead-relu", "vanishing-gradient", "saturated-activations", "labels-not-learnable", "class-imbalance",
		"validation-overlaps-training", "overfitting", "missing-nonlinearity", "too-few-updates",
		"batchnorm-small-batch"} {
		if !seen[id] {
			t.Errorf("id %s is missing", id)
		}
	}
}
