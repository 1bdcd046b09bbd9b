package data

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
)

// CSVOptions says how to read a numeric CSV file.
type CSVOptions struct {
	// Label is the label column: its header name, or its 0-based index as a
	// decimal string. Empty means the last column. A name is tried first,
	// then an index.
	Label string
	// Classes are the class names of a label column of strings, index =
	// class (a test file reuses the training file's); nil: the sorted
	// distinct labels of this file, as scikit-learn's LabelEncoder.
	Classes []string
	// Header is "auto" (the default when empty), "yes" or "no" ("true" and
	// "false" are accepted for them, as YAML writes booleans). With "auto"
	// the first row is a header if any of its fields is not a number.
	Header string
}

// ReadCSV reads a numeric CSV file into features x, float32 of shape
// (rows, columns-1), and labels y of shape (rows,): int64 if every label is
// an integer value (such as 3 or 3.0), otherwise float32. Fields may be
// quoted and surrounded by spaces; empty fields, NaN and infinities are
// errors, and so are rows whose field count differs from the first row's.
// Errors name the file, the 1-based line and column, and the field.
func ReadCSV(path string, opt CSVOptions) (x, y *Array, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: cannot open the CSV file: %v; check the path", path, unwrapPathError(err))
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return nil, nil, fmt.Errorf("%s is a directory, not a CSV file; give the path of the file itself", path)
	}
	return DecodeCSV(bufio.NewReaderSize(f, 1<<16), path, opt)
}

// DecodeCSV is ReadCSV reading from r; name (usually the file name) is used
// in error messages.
func DecodeCSV(r io.Reader, name string, opt CSVOptions) (x, y *Array, err error) {
	header := strings.ToLower(strings.TrimSpace(opt.Header))
	switch header {
	case "":
		header = "auto"
	case "true": // YAML's header: true (pandas' header=0)
		header = "yes"
	case "false": // header: false (pandas' header=None)
		header = "no"
	case "auto", "yes", "no":
	default:
		return nil, nil, fmt.Errorf("%s: CSV header option %q is not one of auto, yes (true) or no (false); fix the option", name, opt.Header)
	}
	br := bufio.NewReader(r)
	if b, _ := br.Peek(3); string(b) == "\ufeff" { // UTF-8 byte order mark, as Excel writes
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true

	first, err := cr.Read()
	if err == io.EOF {
		return nil, nil, fmt.Errorf("%s: the CSV file is empty; it needs rows of numbers, the label in one column", name)
	}
	if err != nil {
		return nil, nil, csvReadError(name, err)
	}
	firstLine, _ := cr.FieldPos(0)
	ncol := len(first)

	hasHeader := header == "yes"
	if header == "auto" {
		for _, f := range first {
			if !looksNumeric(strings.TrimSpace(f)) {
				hasHeader = true
				break
			}
		}
	}
	var names []string
	if hasHeader {
		names = make([]string, ncol)
		for i, f := range first {
			names[i] = strings.TrimSpace(f)
		}
	}
	if ncol < 2 {
		return nil, nil, fmt.Errorf("%s: line %d has %d column; a CSV for training needs at least two, the features and a label", name, firstLine, ncol)
	}
	label, err := findLabel(name, opt.Label, header, names, ncol)
	if err != nil {
		return nil, nil, err
	}

	colName := func(i int) string {
		if names != nil {
			return fmt.Sprintf("column %d (%q)", i+1, names[i])
		}
		return fmt.Sprintf("column %d", i+1)
	}
	var xs []float32
	var yf []float32
	var yi []int64
	var ys []string // the labels as written
	var lines []int
	strLabels, numLabels := false, 0
	var firstName error // the first label that is not a number
	allInt := true
	rows := 0
	rec := first
	if hasHeader {
		rec = nil
	}
	for {
		if rec == nil {
			rec, err = cr.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, nil, csvReadError(name, err)
			}
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != ncol {
			what := "the first row has"
			if hasHeader {
				what = "the header has"
			}
			return nil, nil, fmt.Errorf("%s: line %d has %d fields but %s %d; every row needs the same number of columns: fix that row", name, line, len(rec), what, ncol)
		}
		for i, f := range rec {
			s := strings.TrimSpace(f)
			if i == label {
				l, _ := cr.FieldPos(i)
				ys = append(ys, s)
				lines = append(lines, l)
				iv, fv, isInt, msg := parseLabel(s)
				if msg != "" {
					badLabel := fmt.Errorf("%s: line %d, %s (the label): %q %s; fix the field", name, l, colName(i), short(f), msg)
					if _, perr := strconv.ParseFloat(s, 64); s == "" || perr == nil || errors.Is(perr, strconv.ErrRange) {
						return nil, nil, badLabel
					}
					if !strLabels {
						firstName = badLabel
					}
					strLabels = true // class names: mapped to indices below
				} else {
					numLabels++
				}
				allInt = allInt && isInt
				yi = append(yi, iv)
				yf = append(yf, fv)
				continue
			}
			v, msg := parseNumber(s, 32)
			if msg != "" {
				l, _ := cr.FieldPos(i)
				return nil, nil, fmt.Errorf("%s: line %d, %s: %q %s; fix the field (kiln reads numeric CSV only)", name, l, colName(i), short(f), msg)
			}
			xs = append(xs, float32(v))
		}
		rows++
		rec = nil
	}
	if rows == 0 {
		return nil, nil, fmt.Errorf("%s: the CSV file has a header row but no data rows; add rows of numbers", name)
	}
	if xs == nil {
		xs = []float32{}
	}
	x = &Array{Shape: []int{rows, ncol - 1}, DType: Float32, F32: xs}
	if strLabels && numLabels > 0 {
		// Numbers and words in one label column: a typo in a numeric
		// file, far more often than class names that look like numbers.
		return nil, nil, firstName
	}
	if strLabels || opt.Classes != nil {
		y, err = encodeLabels(name, ys, lines, opt.Classes)
		return x, y, err
	}
	if allInt {
		y = &Array{Shape: []int{rows}, DType: Int64, I64: yi}
	} else {
		y = &Array{Shape: []int{rows}, DType: Float32, F32: yf}
	}
	return x, y, nil
}

// findLabel resolves opt.Label to a column index.
func findLabel(name, label, header string, names []string, ncol int) (int, error) {
	label = strings.TrimSpace(label)
	if label == "" {
		return ncol - 1, nil
	}
	if names != nil {
		found := -1
		for i, n := range names {
			if n == label {
				if found >= 0 {
					return 0, fmt.Errorf("%s: the label column %q appears twice in the header (columns %d and %d); rename one or give the label as a 0-based column index", name, label, found+1, i+1)
				}
				found = i
			}
		}
		if found >= 0 {
			return found, nil
		}
	}
	if idx, err := strconv.Atoi(label); err == nil && idx >= 0 && idx < ncol {
		return idx, nil
	}
	if names == nil {
		why := "the file has no header row"
		if header == "auto" {
			why = "the first row is all numbers, so it was read as data, not as a header"
		}
		return 0, fmt.Errorf("%s: label column %q not found: %s, so give the label as a 0-based column index from 0 to %d (or set the header option to \"yes\")", name, label, why, ncol-1)
	}
	cols := make([]string, len(names))
	for i, n := range names {
		cols[i] = fmt.Sprintf("%d %q", i, n)
	}
	list := strings.Join(cols, ", ")
	if len(cols) > 50 {
		list = strings.Join(cols[:50], ", ") + fmt.Sprintf(", ... (%d columns)", len(cols))
	}
	return 0, fmt.Errorf("%s: label column %q not found; the columns are %s: give one of those names or 0-based indexes", name, label, list)
}

func csvReadError(name string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: line %d, byte %d: %v; fix the quoting of that field", name, pe.Line, pe.Column, pe.Err)
	}
	return fmt.Errorf("%s: reading the CSV file: %w", name, err)
}

// looksNumeric reports whether s parses as a number (NaN and infinities
// included: those are data, rejected later with a clearer message).
func looksNumeric(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil || errors.Is(err, strconv.ErrRange)
}

// parseNumber parses a field as a finite float of the given bit size; msg
// says what is wrong, or is empty.
func parseNumber(s string, bits int) (float64, string) {
	if s == "" {
		return 0, "is empty (a missing value)"
	}
	v, err := strconv.ParseFloat(s, bits)
	switch {
	case errors.Is(err, strconv.ErrRange) && (math.IsInf(v, 0)):
		return 0, fmt.Sprintf("is out of the float%d range", bits)
	case err != nil:
		return 0, "is not a number"
	case math.IsNaN(v):
		return 0, "is NaN, which kiln does not accept"
	case math.IsInf(v, 0):
		return 0, "is infinite, which kiln does not accept"
	}
	return v, ""
}

// parseLabel parses a label field as an integer if it is an integer value
// (3, -1, 3.0, 1e2), else as a float.
func parseLabel(s string) (iv int64, fv float32, isInt bool, msg string) {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i, float32(i), true, ""
	}
	v, msg := parseNumber(s, 64)
	if msg != "" {
		return 0, 0, false, msg
	}
	if v > math.MaxFloat32 || v < -math.MaxFloat32 {
		return 0, 0, false, "is out of the float32 range"
	}
	if v == math.Trunc(v) && v >= -(1<<63) && v < 1<<63 {
		return int64(v), float32(v), true, ""
	}
	return 0, float32(v), false, ""
}

func short(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// encodeLabels maps string labels to class indices, as scikit-learn's
// LabelEncoder does: classes are the sorted distinct labels, unless given
// (a test file takes the training file's, and a label not among them is an
// error naming its line).
func encodeLabels(name string, ys []string, lines []int, classes []string) (*Array, error) {
	if classes == nil {
		seen := map[string]bool{}
		for _, s := range ys {
			if !seen[s] {
				seen[s] = true
				classes = append(classes, s)
			}
		}
		sort.Strings(classes)
	}
	index := make(map[string]int64, len(classes))
	for i, c := range classes {
		index[c] = int64(i)
	}
	ids := make([]int64, len(ys))
	for i, s := range ys {
		id, ok := index[s]
		if !ok {
			return nil, fmt.Errorf("%s: line %d: the label %q is not one of the training labels (%s); every class must appear in the training data", name, lines[i], short(s), strings.Join(classes, ", "))
		}
		ids[i] = id
	}
	return &Array{Shape: []int{len(ys)}, DType: Int64, I64: ids, Classes: classes}, nil
}
