package metrics

import (
	"strings"
	"testing"
)

func TestResolveAccuracyLikeKeras(t *testing.T) {
	cases := []struct {
		s    Shapes
		want string
	}{
		{Shapes{2, 10, 10}, "categorical_accuracy"},
		{Shapes{1, 1, 10}, "sparse_categorical_accuracy"},
		{Shapes{2, 1, 10}, "sparse_categorical_accuracy"},
		{Shapes{2, 1, 1}, "binary_accuracy"},
		{Shapes{1, 1, 1}, "binary_accuracy"},
	}
	for _, c := range cases {
		for _, name := range []string{"accuracy", "acc"} {
			m, err := Get(name, c.s)
			if err != nil || m.Kind() != c.want || m.Name() != name {
				t.Errorf("%s with %+v = %v/%v (%v), want %s named %s", name, c.s, m.Kind(), m.Name(), err, c.want, name)
			}
		}
	}
	if _, err := Get("f1", Shapes{}); err == nil || !strings.Contains(err.Error(), "binary_accuracy") {
		t.Errorf("unknown metric error = %v", err)
	}
}

func TestAccuracies(t *testing.T) {
	pred := []float32{0.1, 0.7, 0.2, 0.5, 0.5, 0.0}
	onehot := []float32{0, 1, 0, 0, 1, 0}
	if got := categorical(pred, onehot, 2, 3); got != 1 { // second row ties → index 0
		t.Errorf("categorical = %v, want 1", got)
	}
	if got := sparseCategorical(pred, []float32{1, 0}, 2, 3); got != 2 {
		t.Errorf("sparse = %v, want 2", got)
	}
	if got := binary([]float32{0.6, 0.5, 0.2, 0.9}, []float32{1, 1, 0, 0}, 2, 2); got != 1 {
		t.Errorf("binary = %v, want 1 (0.5 is not > 0.5)", got)
	}
}
