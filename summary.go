package kiln

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/kiln-ml/kiln/layers"
)

// Summary writes the model summary in Keras 2.13+'s layout (width 65,
// column stops 29/55/65). The model must be built (compiled).
func (m *Sequential) Summary(w io.Writer) error {
	if !m.built {
		if err := m.build(0); err != nil {
			return err
		}
	}
	if m.graph != nil {
		return m.summaryFunctional(w)
	}
	const width = 65
	stops := []int{29, 55, 65}
	row := func(fields ...string) string {
		return strings.Join(summaryRow(fields, stops), "\n")
	}
	fmt.Fprintf(w, "Model: %q\n", m.Name)
	fmt.Fprintln(w, strings.Repeat("_", width))
	fmt.Fprintln(w, row("Layer (type)", "Output Shape", "Param #"))
	fmt.Fprintln(w, strings.Repeat("=", width))
	total, trainable := 0, 0
	for _, l := range m.layers {
		params := 0
		for _, v := range layerWeights(l) {
			params += len(v.Value)
		}
		for _, v := range l.Variables() {
			trainable += len(v.Value)
		}
		total += params
		fmt.Fprintln(w, row(fmt.Sprintf("%s (%s)", l.Name(), l.ClassName()), layers.ShapeTuple(l.OutputShape()), strconv.Itoa(params)))
		fmt.Fprintln(w, strings.Repeat(" ", width))
	}
	summaryTotals(w, width, total, trainable)
	return nil
}

// summaryFunctional writes a Functional model's summary in Keras 2.13+'s
// layout: width 98, columns "Layer (type)", "Output Shape", "Param #" and
// "Connected to" (stops 32/53/65/98), one row per layer in model.layers
// order, the input first with its shape as a list, [(None, 784)]; each
// layer's inputs are listed as Keras prints them, ['dense[0][0]', ...].
func (m *Sequential) summaryFunctional(w io.Writer) error {
	const width = 98
	stops := []int{32, 53, 65, 98}
	row := func(fields ...string) string {
		return strings.Join(summaryRow(fields, stops), "\n")
	}
	fmt.Fprintf(w, "Model: %q\n", m.Name)
	fmt.Fprintln(w, strings.Repeat("_", width))
	fmt.Fprintln(w, row("Layer (type)", "Output Shape", "Param #", "Connected to"))
	fmt.Fprintln(w, strings.Repeat("=", width))
	total, trainable := 0, 0
	for _, n := range m.graph.Nodes() {
		params := 0
		for _, v := range n.Weights() {
			params += len(v.Value)
		}
		for _, v := range n.Variables() {
			trainable += len(v.Value)
		}
		total += params
		shape := layers.ShapeTuple(n.OutputShape())
		if n.IsInput() {
			shape = "[" + shape + "]"
		}
		var conn []string
		for _, in := range n.Inputs() {
			conn = append(conn, fmt.Sprintf("'%s[0][0]'", in.Name()))
		}
		fmt.Fprintln(w, row(fmt.Sprintf("%s (%s)", n.Name(), n.ClassName()), shape, strconv.Itoa(params), "["+strings.Join(conn, ", ")+"]"))
		fmt.Fprintln(w, strings.Repeat(" ", width))
	}
	summaryTotals(w, width, total, trainable)
	return nil
}

// summaryTotals writes the summary's last lines, Keras' parameter counts,
// for a summary width characters wide.
func summaryTotals(w io.Writer, width, total, trainable int) {
	fmt.Fprintln(w, strings.Repeat("=", width))
	fmt.Fprintf(w, "Total params: %d (%s)\n", total, byteSize(total*4))
	fmt.Fprintf(w, "Trainable params: %d (%s)\n", trainable, byteSize(trainable*4))
	fmt.Fprintf(w, "Non-trainable params: %d (%s)\n", total-trainable, byteSize((total-trainable)*4))
	fmt.Fprintln(w, strings.Repeat("_", width))
}

// summaryRow lays out one summary row as Keras 2.13+'s print_row does:
// each field is cut to its column (less two separating spaces and, except
// in the last column, one more), preferring a cut just after "),", "},",
// "]," or "',", and what does not fit wraps onto the following lines.
func summaryRow(fields []string, stops []int) []string {
	left := append([]string(nil), fields...)
	var lines []string
	for strings.Join(left, "") != "" {
		line := ""
		for col := range left {
			start := 0
			if col > 0 {
				start = stops[col-1]
			}
			last := col == len(stops)-1
			space := 2
			if last {
				space = 0
			}
			cutoff := stops[col] - start - space
			if !last {
				cutoff--
			}
			fit := left[col][:min(cutoff, len(left[col]))]
			best := -1
			for _, c := range []string{"),", "},", "],", "',"} {
				if i := strings.Index(fit, c); i >= 0 && (best < 0 || i+len(c) < best) {
					best = i + len(c)
				}
			}
			if best >= 0 {
				cutoff = best
				fit = fit[:cutoff]
			}
			if col == 0 {
				line += " "
			}
			line += fit + strings.Repeat(" ", space)
			left[col] = left[col][min(cutoff, len(left[col])):]
			line += strings.Repeat(" ", max(stops[col]-len(line), 0))
		}
		lines = append(lines, line)
	}
	return lines
}

// byteSize formats like Keras' readable_memory_size: "30.66 KB", "0.00 Byte".
func byteSize(n int) string {
	units := []string{"Byte", "KB", "MB", "GB", "TB"}
	v := float64(n)
	i := 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	return fmt.Sprintf("%.2f %s", v, units[i])
}

// KerasJSON returns Keras' history.history as Python's json.dumps writes it:
// keys in Keras' order, each a list of per-epoch values, floats as Python
// prints them, and NaN/Infinity for non-finite values (as Python does).
func (h *History) KerasJSON() []byte { return h.json(false) }

// MarshalJSON is KerasJSON with non-finite values written as null, so the
// output is standard JSON.
func (h *History) MarshalJSON() ([]byte, error) { return h.json(true), nil }

func (h *History) json(strict bool) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range h.Keys {
		if i > 0 {
			b.WriteString(", ")
		}
		key, _ := json.Marshal(k)
		b.Write(key)
		b.WriteString(": [")
		for j, v := range h.History[k] {
			if j > 0 {
				b.WriteString(", ")
			}
			if strict && (math.IsNaN(v) || math.IsInf(v, 0)) {
				b.WriteString("null")
				continue
			}
			b.WriteString(pyFloat(v))
		}
		b.WriteByte(']')
	}
	b.WriteByte('}')
	return b.Bytes()
}

// pyFloat formats v like Python's repr(float), with NaN and Infinity
// spelled as Python's json module writes them.
func pyFloat(v float64) string {
	switch {
	case v != v:
		return "NaN"
	case math.IsInf(v, 1):
		return "Infinity"
	case math.IsInf(v, -1):
		return "-Infinity"
	}
	e := strconv.FormatFloat(v, 'e', -1, 64) // shortest digits, e.g. "1.2345e+06"
	mant, expText, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expText)
	if exp < -4 || exp >= 16 {
		// Python: 1e-05, 1.5e+16 (at least two exponent digits, like Go).
		return mant + "e" + expText
	}
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}
