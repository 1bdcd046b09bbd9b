package program

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/kiln-ml/kiln/data"
	"github.com/kiln-ml/kiln/datasets/mnist"
)

// Array is a NumPy array in kiln's reader. Arrays that come from a data
// source keep their provenance (which split, the scale applied, one-hot
// labels, the rows kept), so that model.fit can train on the source as an
// experiment file would, and kiln convert can write that file; their
// values are loaded only when the program looks at them. Arrays computed
// from values (predictions, argmax, comparisons) hold the values.
type Array struct {
	// Source names the data: "mnist" or "" for computed values.
	Source string
	// Part is the split and role: x_train, y_train, x_test or y_test.
	Part string
	// Scale multiplies the values (x / 255 is 1/255); ScaleText writes it.
	Scale     float64
	ScaleText string
	// OneHot is the number of classes of to_categorical labels (0: as
	// stored).
	OneHot int
	// Limit, if positive, keeps the first Limit rows.
	Limit int
	// Shape is the array's shape, rows first.
	Shape []int
	// DType is NumPy's dtype name.
	DType string
	// Assumed is set for arrays kiln defined for a snippet (x_train used
	// without being loaded): their labels follow the loss.
	Assumed bool

	values *data.Array
}

func (a *Array) typeName() string { return "ndarray" }

func (a *Array) repr() string {
	if a.Source != "" {
		return fmt.Sprintf("<%s %s array of shape %s>", a.Source, a.Part, shapeRepr(a.Shape))
	}
	v := a.values
	if v.Len() <= 12 {
		parts := make([]Value, v.Len())
		for i := range parts {
			parts[i] = v.At(i)
		}
		return "array(" + repr(&List{Items: parts}) + ")"
	}
	return fmt.Sprintf("<array of shape %s>", shapeRepr(a.Shape))
}

func shapeRepr(shape []int) string {
	t := make(Tuple, len(shape))
	for i, d := range shape {
		t[i] = d
	}
	return repr(t)
}

// mnistArrays are keras.datasets.mnist.load_data()'s four arrays.
func mnistArrays() Tuple {
	mk := func(part string, shape ...int) *Array {
		dt := "uint8"
		return &Array{Source: "mnist", Part: part, Scale: 1, ScaleText: "1", Shape: shape, DType: dt}
	}
	return Tuple{
		Tuple{mk("x_train", 60000, 28, 28), mk("y_train", 60000)},
		Tuple{mk("x_test", 10000, 28, 28), mk("y_test", 10000)},
	}
}

func (a *Array) clone() *Array {
	b := *a
	b.Shape = append([]int(nil), a.Shape...)
	return &b
}

func (a *Array) isLabels() bool { return a.Part == "y_train" || a.Part == "y_test" }

func (a *Array) length() (int, error) {
	if len(a.Shape) == 0 {
		return 0, fmt.Errorf("TypeError: len() of unsized object")
	}
	return a.Shape[0], nil
}

// scalar returns the value of a one-element array.
func (a *Array) scalar() (float64, bool) {
	if a.Source != "" || a.values == nil || a.values.Len() != 1 {
		return 0, false
	}
	return a.values.At(0), true
}

// load returns the array's values.
func (a *Array) load() (*data.Array, error) {
	if a.values != nil {
		return a.values, nil
	}
	if a.Source != "mnist" {
		return nil, fmt.Errorf("the array has no values")
	}
	ds, err := mnist.Load("")
	if err != nil {
		return nil, err
	}
	src := map[string]*data.Array{"x_train": ds.XTrain, "y_train": ds.YTrain, "x_test": ds.XTest, "y_test": ds.YTest}[a.Part]
	n := src.Rows()
	if a.Limit > 0 && a.Limit < n {
		n = a.Limit
	}
	out := make([]float32, 0, n*src.RowLen())
	w := src.RowLen()
	for i := 0; i < n*w; i++ {
		out = append(out, float32(src.At(i)*a.Scale))
	}
	v := data.NewFloat32(out, append([]int{n}, src.Shape[1:]...)...)
	if a.OneHot > 0 {
		oh := make([]float32, n*a.OneHot)
		for i := 0; i < n; i++ {
			c := int(out[i])
			if c < 0 || c >= a.OneHot {
				return nil, fmt.Errorf("to_categorical: label %d is not below num_classes %d", c, a.OneHot)
			}
			oh[i*a.OneHot+c] = 1
		}
		v = data.NewFloat32(oh, n, a.OneHot)
	}
	if v.Len() == size(a.Shape) {
		v = v.Reshaped(a.Shape)
	}
	a.values = v
	return v, nil
}

func size(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// binary is arithmetic and comparison with an array on one side.
func (a *Array) binary(op string, other Value, swapped bool) (Value, error) {
	if f, ok := toFloat(other); ok && a.Source != "" && !swapped && (op == "/" || op == "*") {
		// x / 255, x * (1/255): a scale the experiment file can say.
		if a.isLabels() && a.OneHot > 0 {
			return nil, fmt.Errorf("scaling one-hot labels is not in kiln's reader")
		}
		if f == 0 && op == "/" {
			return nil, fmt.Errorf("ZeroDivisionError: division by zero")
		}
		b := a.clone()
		if op == "/" {
			b.Scale /= f
			if a.ScaleText == "1" {
				b.ScaleText = "1/" + strconv.FormatFloat(f, 'g', -1, 64)
			} else {
				b.ScaleText = strconv.FormatFloat(b.Scale, 'g', -1, 64)
			}
		} else {
			b.Scale *= f
			b.ScaleText = strconv.FormatFloat(b.Scale, 'g', -1, 64)
		}
		if a.DType == "uint8" {
			b.DType = "float64"
		}
		b.values = nil
		return b, nil
	}
	if a.Source != "" && !a.isLabels() {
		// The values of a data set's images exist only to be trained on:
		// arithmetic other than a scale cannot be written in an
		// experiment, and would copy the whole array.
		return nil, fmt.Errorf("%s %s %s: kiln's reader scales a data set's images (x / 255, x * k) but does no other arithmetic on them; run the program with its own Python (--python)", a.Part, op, repr(other))
	}
	// Element-wise on values.
	x, err := a.load()
	if err != nil {
		return nil, err
	}
	var y *data.Array
	var ys float64
	if o, ok := other.(*Array); ok {
		if y, err = o.load(); err != nil {
			return nil, err
		}
		if y.Len() != x.Len() {
			return nil, fmt.Errorf("ValueError: operands could not be broadcast together with shapes %s %s", shapeRepr(x.Shape), shapeRepr(y.Shape))
		}
	} else if f, ok := toFloat(other); ok {
		ys = f
	} else {
		return nil, fmt.Errorf("TypeError: unsupported operand type(s) for %s: 'ndarray' and '%s'", op, typeName(other))
	}
	out := make([]float32, x.Len())
	isBool := false
	for i := range out {
		l, r := x.At(i), ys
		if y != nil {
			r = y.At(i)
		}
		if swapped {
			l, r = r, l
		}
		var v float64
		switch op {
		case "+":
			v = l + r
		case "-":
			v = l - r
		case "*":
			v = l * r
		case "/":
			v = l / r
		case "==", "!=", "<", "<=", ">", ">=":
			isBool = true
			t := map[string]bool{"==": l == r, "!=": l != r, "<": l < r, "<=": l <= r, ">": l > r, ">=": l >= r}[op]
			if t {
				v = 1
			}
		default:
			return nil, fmt.Errorf("TypeError: operator %s on arrays is not in kiln's reader", op)
		}
		out[i] = float32(v)
	}
	r := &Array{Shape: append([]int(nil), x.Shape...), DType: "float32", values: data.NewFloat32(out, x.Shape...)}
	if isBool {
		r.DType = "bool"
	}
	return r, nil
}

// argmax is np.argmax(a, axis=-1) over the last axis of a 2-D array, or
// of all values with axis None.
func argmax(a *Array, axis Value) (Value, error) {
	v, err := a.load()
	if err != nil {
		return nil, err
	}
	if axis == nil {
		best := 0
		for i := 1; i < v.Len(); i++ {
			if v.At(i) > v.At(best) {
				best = i
			}
		}
		return best, nil
	}
	ax, ok := axis.(int)
	if !ok || len(v.Shape) != 2 || (ax != 1 && ax != -1) {
		return nil, fmt.Errorf("np.argmax: kiln's reader takes the argmax over the last axis of a 2-D array (axis=1 or -1), got axis=%s of shape %s", repr(axis), shapeRepr(v.Shape))
	}
	n := v.Rows()
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(v.ClassOf(i))
	}
	return &Array{Shape: []int{n}, DType: "int64", values: data.NewFloat32(out, n)}, nil
}

// extreme is a.min() or a.max() over all values: an int for an integer
// array, as NumPy prints it.
func (a *Array) extreme(name string) (Value, error) {
	best, err := a.extremeValue(name)
	if err != nil {
		return nil, err
	}
	switch a.DType {
	case "uint8", "int", "int32", "int64":
		return int(best), nil
	}
	return best, nil
}

func (a *Array) extremeValue(name string) (float64, error) {
	if a.values == nil && a.Source == "mnist" && a.OneHot == 0 {
		// The images' bytes as stored: their extremes, scaled as load
		// scales them, without making the float32 copy.
		if b, err := a.sourceBytes(); err != nil {
			return 0, err
		} else if b != nil && len(b) > 0 {
			lo, hi := b[0], b[0]
			for _, x := range b {
				lo, hi = min(lo, x), max(hi, x)
			}
			l, h := float64(float32(float64(lo)*a.Scale)), float64(float32(float64(hi)*a.Scale))
			if name == "max" {
				return max(l, h), nil
			}
			return min(l, h), nil
		}
	}
	v, err := a.load()
	if err != nil {
		return 0, err
	}
	if v.Len() == 0 {
		return 0, fmt.Errorf("ValueError: zero-size array to reduction operation %simum which has no identity", name)
	}
	best := v.At(0)
	for i := 1; i < v.Len(); i++ {
		if x := v.At(i); (name == "max") == (x > best) && x != best {
			best = x
		}
	}
	return best, nil
}

// sourceBytes are the stored bytes of a data-set array's rows (nil if the
// data set does not store bytes).
func (a *Array) sourceBytes() ([]uint8, error) {
	ds, err := mnist.Load("")
	if err != nil {
		return nil, err
	}
	src := map[string]*data.Array{"x_train": ds.XTrain, "y_train": ds.YTrain, "x_test": ds.XTest, "y_test": ds.YTest}[a.Part]
	if src == nil || src.U8 == nil {
		return nil, nil
	}
	n := src.Rows()
	if a.Limit > 0 && a.Limit < n {
		n = a.Limit
	}
	return src.U8[:n*src.RowLen()], nil
}

// mean is np.mean(a) over all values.
func mean(a *Array) (Value, error) {
	v, err := a.load()
	if err != nil {
		return nil, err
	}
	if v.Len() == 0 {
		return math.NaN(), nil
	}
	var s float64
	for i := 0; i < v.Len(); i++ {
		s += v.At(i)
	}
	return s / float64(v.Len()), nil
}

func (a *Array) attr(in *Interp, name string) (Value, error) {
	switch name {
	case "shape":
		t := make(Tuple, len(a.Shape))
		for i, d := range a.Shape {
			t[i] = d
		}
		return t, nil
	case "ndim":
		return len(a.Shape), nil
	case "size":
		return size(a.Shape), nil
	case "dtype":
		return a.DType, nil
	case "astype":
		return builtin("astype", func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
			args, err := bind("astype", pos, kw, "dtype")
			if err != nil {
				return nil, err
			}
			dt := dtypeName(args.get("dtype"))
			switch dt {
			case "float32", "float64", "float", "int", "int32", "int64", "uint8":
			default:
				return nil, fmt.Errorf("astype(%s) is not in kiln's reader; use 'float32'", repr(args.get("dtype")))
			}
			b := a.clone()
			b.DType = dt
			return b, nil
		}), nil
	case "reshape":
		return builtin("reshape", func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
			if len(pos) == 1 {
				if t, ok := pos[0].(Tuple); ok {
					pos = t
				}
			}
			shape, err := reshape(a.Shape, pos)
			if err != nil {
				return nil, err
			}
			b := a.clone()
			b.Shape = shape
			if b.values != nil {
				b.values = b.values.Reshaped(shape)
			}
			return b, nil
		}), nil
	case "mean":
		return builtin("mean", func(in *Interp, pos []Value, kw []Kwarg) (Value, error) { return mean(a) }), nil
	case "min", "max":
		return builtin(name, func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
			if _, err := bind(name, pos, kw); err != nil {
				return nil, fmt.Errorf("ndarray.%s: kiln's reader takes the %s of all values (no axis): %v", name, name, err)
			}
			return a.extreme(name)
		}), nil
	case "argmax":
		return builtin("argmax", func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
			args, err := bind("argmax", pos, kw, "axis=")
			if err != nil {
				return nil, err
			}
			return argmax(a, args.get("axis"))
		}), nil
	}
	return nil, fmt.Errorf("AttributeError: kiln's reader has no ndarray.%s; run the program with its own Python (--python)", name)
}

// reshape resolves a NumPy shape with one -1 for an array of shape from.
func reshape(from []int, dims []Value) ([]int, error) {
	n := size(from)
	var out []int
	free, known := -1, 1
	for i, d := range dims {
		v, ok := d.(int)
		if !ok {
			return nil, fmt.Errorf("TypeError: reshape: dimensions must be integers, got %s", repr(d))
		}
		if v == -1 {
			if free >= 0 {
				return nil, fmt.Errorf("ValueError: can only specify one unknown dimension")
			}
			free = i
		} else {
			known *= v
		}
		out = append(out, v)
	}
	if free >= 0 {
		if known == 0 || n%known != 0 {
			return nil, fmt.Errorf("ValueError: cannot reshape array of size %d into shape %s", n, repr(Tuple(dims)))
		}
		out[free] = n / known
	}
	if size(out) != n {
		return nil, fmt.Errorf("ValueError: cannot reshape array of size %d into shape %s", n, repr(Tuple(dims)))
	}
	return out, nil
}

// slice is a[lo:hi] on rows: kiln keeps the first rows (lo 0).
func (a *Array) slice(lo, hi Value) (Value, error) {
	if lo != nil && lo != 0 {
		return nil, fmt.Errorf("slicing rows from %s is not in kiln's reader: it keeps the first rows, a[:n]", repr(lo))
	}
	n := a.Shape[0]
	end := n
	if hi != nil {
		h, ok := hi.(int)
		if !ok {
			return nil, fmt.Errorf("TypeError: slice indices must be integers")
		}
		if h < 0 {
			h += n
		}
		end = max(0, min(h, n))
	}
	b := a.clone()
	b.Shape[0] = end
	if a.Source != "" {
		b.Limit = end
		b.values = nil
		return b, nil
	}
	b.values = a.values.Slice(0, end)
	return b, nil
}

// index is a[i]: one row as a Python number or a smaller array.
func (a *Array) index(i int) (Value, error) {
	if a.Source == "mnist" && !a.isLabels() {
		return a.row(i)
	}
	v, err := a.load()
	if err != nil {
		return nil, err
	}
	n := v.Rows()
	if i < 0 {
		i += n
	}
	if i < 0 || i >= n {
		return nil, fmt.Errorf("IndexError: index %d is out of bounds for axis 0 with size %d", i, n)
	}
	if len(v.Shape) == 1 {
		if a.DType == "int64" || a.DType == "uint8" {
			return int(v.At(i)), nil
		}
		return v.At(i), nil
	}
	row := v.Slice(i, i+1)
	return &Array{Shape: append([]int(nil), v.Shape[1:]...), DType: a.DType, values: row.Reshaped(v.Shape[1:])}, nil
}

func dtypeName(v Value) string {
	switch x := v.(type) {
	case string:
		return x
	case *dtype:
		return x.name
	case *Builtin:
		return x.Name // float, int
	}
	return repr(v)
}

// dtype is a NumPy dtype object (np.float32).
type dtype struct{ name string }

func (d *dtype) repr() string { return "<class 'numpy." + d.name + "'>" }

func (d *dtype) typeName() string { return "type" }

// row is one image of a data set's x array, read alone (loading the whole
// array for it would copy 188 MB).
func (a *Array) row(i int) (Value, error) {
	ds, err := mnist.Load("")
	if err != nil {
		return nil, err
	}
	src := ds.XTrain
	if a.Part == "x_test" {
		src = ds.XTest
	}
	n := a.Shape[0]
	if i < 0 {
		i += n
	}
	if i < 0 || i >= n {
		return nil, fmt.Errorf("IndexError: index %d is out of bounds for axis 0 with size %d", i, n)
	}
	w := src.RowLen()
	out := make([]float32, w)
	for j := range out {
		out[j] = float32(src.At(i*w+j) * a.Scale)
	}
	shape := append([]int(nil), a.Shape[1:]...)
	return &Array{Shape: shape, DType: a.DType, values: data.NewFloat32(out, shape...)}, nil
}

// str is NumPy's str of a 1-D array of integers or of whole-number floats
// (labels, one-hot rows): "[5 0 4 1 9]", "[0. 0. 1.]", long arrays
// summarised as "[5 0 4 ... 5 6 8]", lines wrapped at 75 characters as
// NumPy wraps them. Other arrays (ok false) print as kiln's repr.
func (a *Array) str() (string, bool) {
	if len(a.Shape) != 1 {
		return "", false
	}
	v, err := a.load()
	if err != nil {
		return "", false
	}
	n := v.Len()
	idx := make([]int, 0, n)
	summary := n > 1000 // NumPy's threshold; edgeitems 3
	for i := 0; i < n; i++ {
		if !summary || i < 3 || i >= n-3 {
			idx = append(idx, i)
		}
	}
	isInt := a.DType == "uint8" || a.DType == "int" || a.DType == "int32" || a.DType == "int64"
	words := make([]string, len(idx))
	width := 0
	for k, i := range idx {
		x := v.At(i)
		if x != math.Trunc(x) || math.IsInf(x, 0) {
			return "", false
		}
		words[k] = strconv.FormatFloat(x, 'f', 0, 64)
		if !isInt {
			words[k] += "."
		}
		width = max(width, len(words[k]))
	}
	for k, w := range words {
		words[k] = strings.Repeat(" ", width-len(w)) + w
	}
	if summary {
		words = append(words[:3:3], append([]string{"..."}, words[3:]...)...)
	}
	// NumPy's _formatArray: the line starts with the hanging indent " "
	// (the "[" replaces it), elements wrap past 75 characters, the last
	// leaves room for "]".
	var b strings.Builder
	line := " "
	for k, w := range words {
		limit := 75
		if k == len(words)-1 {
			limit = 74
		}
		if len(line)+len(w) > limit && len(line) > 1 {
			b.WriteString(strings.TrimRight(line, " ") + "\n")
			line = " "
		}
		line += w
		if k < len(words)-1 {
			line += " "
		}
	}
	b.WriteString(line)
	return "[" + b.String()[1:] + "]", true
}
