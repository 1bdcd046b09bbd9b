package kiln

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/kiln-ml/kiln/safetensors"
)

// SaveWeights writes the weights as safetensors, one float32 tensor per
// weight (Weights: trainable or not) named like Keras' variables
// ("dense/kernel", "dense/bias", "batch_normalization/moving_mean").
func (m *Sequential) SaveWeights(path string) error {
	if !m.built {
		return fmt.Errorf("save weights: the model is not built; compile it first")
	}
	var ts []safetensors.Tensor
	for _, v := range m.Weights() {
		ts = append(ts, safetensors.Tensor{Name: v.Name, Shape: v.Shape, Data: v.Value})
	}
	return safetensors.WriteFile(path, ts, map[string]string{"format": "kiln", "model": m.Name})
}

// LoadWeights sets the weights from a safetensors file written by
// SaveWeights (or any file with the same tensor names and shapes). Every
// variable must be present with its shape; nothing changes on error.
func (m *Sequential) LoadWeights(path string) error {
	if !m.built {
		return fmt.Errorf("load weights: the model is not built; compile it first")
	}
	ts, _, err := safetensors.ReadFile(path)
	if err != nil {
		return err
	}
	byName := map[string]safetensors.Tensor{}
	var names []string
	for _, t := range ts {
		byName[t.Name] = t
		names = append(names, t.Name)
	}
	sort.Strings(names)
	vars := m.Weights()
	for _, v := range vars {
		t, ok := byName[v.Name]
		if !ok {
			return fmt.Errorf("%s: no tensor %q for the model's variable of shape %v; the file has: %s", path, v.Name, v.Shape, strings.Join(names, ", "))
		}
		if !slices.Equal(t.Shape, v.Shape) {
			return fmt.Errorf("%s: tensor %q has shape %v, the model's variable has shape %v; the weights come from a different model", path, v.Name, t.Shape, v.Shape)
		}
	}
	for _, v := range vars {
		copy(v.Value, byName[v.Name].Data)
	}
	return nil
}

// GetWeights returns a copy of every weight's values, in Weights order,
// like Keras' model.get_weights().
func (m *Sequential) GetWeights() [][]float32 {
	var out [][]float32
	for _, v := range m.Weights() {
		out = append(out, append([]float32(nil), v.Value...))
	}
	return out
}

// SetWeights sets every weight's values from w, in Weights order, like
// Keras' model.set_weights(); the sizes must match.
func (m *Sequential) SetWeights(w [][]float32) error {
	vars := m.Weights()
	if len(w) != len(vars) {
		return fmt.Errorf("set_weights: the model has %d variables, got %d arrays", len(vars), len(w))
	}
	for i, v := range vars {
		if len(w[i]) != len(v.Value) {
			return fmt.Errorf("set_weights: variable %d (%s) has %d values, got %d", i, v.Name, len(v.Value), len(w[i]))
		}
	}
	for i, v := range vars {
		copy(v.Value, w[i])
	}
	return nil
}
