package data

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestDecodeCSV(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		opt   CSVOptions
		x     []float32
		shape []int
		yInt  []int64
		yF    []float32
	}{
		{"header auto, label last", "a,b,label\n1,2,0\n3.5,-4,1\n", CSVOptions{}, []float32{1, 2, 3.5, -4}, []int{2, 2}, []int64{0, 1}, nil},
		{"no header auto", "1,2,0\n3,4,1\n", CSVOptions{}, []float32{1, 2, 3, 4}, []int{2, 2}, []int64{0, 1}, nil},
		{"label by name", "label,a,b\n7,1,2\n8,3,4\n", CSVOptions{Label: "label"}, []float32{1, 2, 3, 4}, []int{2, 2}, []int64{7, 8}, nil},
		{"label by index", "1,9,2\n3,8,4\n", CSVOptions{Label: "1"}, []float32{1, 2, 3, 4}, []int{2, 2}, []int64{9, 8}, nil},
		{"label index with header", "a,b,c\n1,9,2\n", CSVOptions{Label: "0"}, []float32{9, 2}, []int{1, 2}, []int64{1}, nil},
		{"name wins over index", "a,0,c\n1,9,2\n", CSVOptions{Label: "0"}, []float32{1, 2}, []int{1, 2}, []int64{9}, nil},
		{"float labels", "x,y\n1,0.5\n2,1\n", CSVOptions{}, []float32{1, 2}, []int{2, 1}, nil, []float32{0.5, 1}},
		{"integer-valued floats", "x,y\n1,1.0\n2,2e0\n3,-0\n", CSVOptions{}, []float32{1, 2, 3}, []int{3, 1}, []int64{1, 2, 0}, nil},
		{"big int label", "1,9007199254740993\n", CSVOptions{}, []float32{1}, []int{1, 1}, []int64{9007199254740993}, nil},
		{"header yes numeric", "1,2\n3,4\n", CSVOptions{Header: "yes"}, []float32{3}, []int{1, 1}, []int64{4}, nil},
		{"header true (YAML boolean)", "1,2\n3,4\n", CSVOptions{Header: "true"}, []float32{3}, []int{1, 1}, []int64{4}, nil},
		{"header false", "1,2\n3,4\n", CSVOptions{Header: "false"}, []float32{1, 3}, []int{2, 1}, []int64{2, 4}, nil},
		{"header no", "1,2\n3,4\n", CSVOptions{Header: "no"}, []float32{1, 3}, []int{2, 1}, []int64{2, 4}, nil},
		{"header case", "a,b\n3,4\n", CSVOptions{Header: "YES"}, []float32{3}, []int{1, 1}, []int64{4}, nil},
		{"spaces quotes crlf bom", "\ufeff\"a\", \"b c\",y\r\n 1 , \"2\",3\r\n\r\n4,5,6\r\n", CSVOptions{}, []float32{1, 2, 4, 5}, []int{2, 2}, []int64{3, 6}, nil},
		{"pandas index header", ",a,y\n0,1.5,1\n1,2.5,0\n", CSVOptions{}, []float32{0, 1.5, 1, 2.5}, []int{2, 2}, []int64{1, 0}, nil},
		{"exponents", "1e-3,2E+2,-.5\n", CSVOptions{}, []float32{0.001, 200}, []int{1, 2}, nil, []float32{-0.5}},
		{"no trailing newline", "a,b\n1,2", CSVOptions{}, []float32{1}, []int{1, 1}, []int64{2}, nil},
		{"label by name spaces", " a , y \n1,2\n", CSVOptions{Label: " y "}, []float32{1}, []int{1, 1}, []int64{2}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x, y, err := DecodeCSV(strings.NewReader(tc.in), "t.csv", tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			wantX := &Array{Shape: tc.shape, DType: Float32, F32: tc.x}
			if d := equalArrays(x, wantX); d != "" {
				t.Errorf("x: %s", d)
			}
			var wantY *Array
			if tc.yInt != nil {
				wantY = &Array{Shape: []int{len(tc.yInt)}, DType: Int64, I64: tc.yInt}
			} else {
				wantY = &Array{Shape: []int{len(tc.yF)}, DType: Float32, F32: tc.yF}
			}
			if d := equalArrays(y, wantY); d != "" {
				t.Errorf("y: %s", d)
			}
			if s := storageOK(x); s != "" {
				t.Error(s)
			}
		})
	}
}

func TestDecodeCSVErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		opt  CSVOptions
		want []string
	}{
		{"empty", "", CSVOptions{}, []string{"empty"}},
		{"blank lines", "\n\n\n", CSVOptions{}, []string{"empty"}},
		{"header only", "a,b\n", CSVOptions{}, []string{"no data rows"}},
		{"one column", "a\n1\n", CSVOptions{}, []string{"line 1 has 1 column", "at least two"}},
		{"ragged short", "a,b,c\n1,2,3\n4,5\n", CSVOptions{}, []string{"line 3 has 2 fields but the header has 3"}},
		{"ragged long", "1,2\n3,4,5\n", CSVOptions{}, []string{"line 2 has 3 fields but the first row has 2"}},
		{"bad field", "a,b,c\n1,2,3\n4,x5,6\n", CSVOptions{}, []string{"line 3, column 2 (\"b\")", `"x5"`, "not a number"}},
		{"bad field no header", "1,2,3\n4,5,x\n", CSVOptions{Label: "0"}, []string{"line 2, column 3:", `"x"`, "not a number"}},
		{"bad label", "a,b\n1,2\n3,cat\n", CSVOptions{}, []string{"line 3, column 2 (\"b\") (the label)", `"cat"`}},
		{"empty field", "a,b\n1,\n", CSVOptions{}, []string{"line 2, column 2", "empty"}},
		{"nan", "a,b\n1,2\nNaN,3\n", CSVOptions{}, []string{"line 3, column 1", "NaN"}},
		{"nan label", "a,b\n1,nan\n", CSVOptions{}, []string{"line 2, column 2", "NaN"}},
		{"nan first row", "nan,1\n", CSVOptions{}, []string{"line 1, column 1", "NaN"}},
		{"inf", "a,b\n-inf,2\n", CSVOptions{}, []string{"line 2, column 1", "infinite"}},
		{"infinity label", "a,b\n1,+Infinity\n", CSVOptions{}, []string{"line 2, column 2", "infinite"}},
		{"float32 range", "a,b\n1e39,2\n", CSVOptions{}, []string{"line 2, column 1", "float32 range"}},
		{"float64 range label", "a,b\n1,1e400\n", CSVOptions{}, []string{"line 2, column 2", "float64 range"}},
		{"float32 range label", "a,b\n1,1e300\n", CSVOptions{}, []string{"line 2, column 2", "float32 range"}},
		{"label missing", "a,b,c\n1,2,3\n", CSVOptions{Label: "y"}, []string{`label column "y" not found`, `0 "a", 1 "b", 2 "c"`}},
		{"label index out of range", "a,b\n1,2\n", CSVOptions{Label: "5"}, []string{`label column "5" not found`}},
		{"label name without header", "1,2\n", CSVOptions{Label: "y"}, []string{`"y" not found`, "all numbers", "0 to 1"}},
		{"label name header no", "a,b\n", CSVOptions{Label: "a", Header: "no"}, []string{`"a" not found`, "no header row"}},
		{"label ambiguous", "y,y\n1,2\n", CSVOptions{Label: "y"}, []string{"appears twice", "columns 1 and 2"}},
		{"header option", "1,2\n", CSVOptions{Header: "maybe"}, []string{`"maybe"`}},
		{"bare quote", "a,b\n1,2\"x\n", CSVOptions{}, []string{"line 2", "quot"}},
		{"unterminated quote", "a,b\n1,\"2\n", CSVOptions{}, []string{"line 2", "quot"}},
		{"header no, text", "a,b\n1,2\n", CSVOptions{Header: "no"}, []string{"line 1, column 1", `"a"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := DecodeCSV(strings.NewReader(tc.in), "t.csv", tc.opt)
			mustContain(t, err, append(tc.want, "t.csv")...)
		})
	}
}

func TestReadCSV(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "iris.csv")
	var b strings.Builder
	b.WriteString("sepal_length,sepal_width,species\n")
	for i := range 1000 {
		b.WriteString(strings.Join([]string{"5.1", "3.5", []string{"0", "1", "2"}[i%3]}, ",") + "\n")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	x, y, err := ReadCSV(path, CSVOptions{Label: "species"})
	if err != nil {
		t.Fatal(err)
	}
	if ShapeString(x.Shape) != "(1000, 2)" || ShapeString(y.Shape) != "(1000,)" || y.DType != Int64 || y.I64[2] != 2 || x.F32[1] != 3.5 {
		t.Fatalf("x %s %v, y %s %s", ShapeString(x.Shape), x.F32[:2], ShapeString(y.Shape), y.DType)
	}
	_, _, err = ReadCSV(filepath.Join(dir, "missing.csv"), CSVOptions{})
	mustContain(t, err, "missing.csv", "cannot open")
	_, _, err = ReadCSV(dir, CSVOptions{})
	mustContain(t, err, dir, "directory")
}

func FuzzDecodeCSV(f *testing.F) {
	f.Add("a,b,label\n1,2,0\n3.5,-4,1\n", "", "")
	f.Add("1,2,0\n3,4,1\n", "1", "no")
	f.Add("x,y\n1,0.5\n2,1\n", "y", "yes")
	f.Add("\ufeff\"a\", \"b c\",y\r\n 1 , \"2\",3\r\n", "b c", "auto")
	f.Add("a,b\n1,nan\n", "", "")
	f.Add("a,b,c\n1,2\n", "", "")
	f.Add("\"\n", "", "")
	f.Fuzz(func(t *testing.T, in, label, header string) {
		x, y, err := DecodeCSV(strings.NewReader(in), "fuzz.csv", CSVOptions{Label: label, Header: header})
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.csv") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if s := storageOK(x); s != "" {
			t.Fatal(s)
		}
		if s := storageOK(y); s != "" {
			t.Fatal(s)
		}
		if len(x.Shape) != 2 || len(y.Shape) != 1 || x.Shape[0] != y.Shape[0] || x.Shape[0] < 1 || x.Shape[1] < 1 {
			t.Fatalf("shapes x %v y %v", x.Shape, y.Shape)
		}
		if x.FirstNonFinite() >= 0 || y.FirstNonFinite() >= 0 {
			t.Fatal("non-finite value accepted")
		}
	})
}

// TestCSVStringLabels: a label column of class names is numbered in sorted
// order (scikit-learn's LabelEncoder); a test file reuses the training
// file's classes, and a label outside them names its line.
//
// Catches: string labels refused as "not a number", classes in file order,
// test labels numbered on their own.
func TestCSVStringLabels(t *testing.T) {
	x, y, err := DecodeCSV(strings.NewReader("a,b,kind\n1,2,yes\n3,4,no\n5,6,maybe\n7,8,no\n"), "t.csv", CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(y.Classes, []string{"maybe", "no", "yes"}) || !reflect.DeepEqual(y.I64, []int64{2, 1, 0, 1}) || x.Rows() != 4 {
		t.Errorf("classes %v, labels %v", y.Classes, y.I64)
	}
	_, yt, err := DecodeCSV(strings.NewReader("a,b,kind\n1,2,no\n"), "v.csv", CSVOptions{Classes: y.Classes})
	if err != nil || !reflect.DeepEqual(yt.I64, []int64{1}) {
		t.Errorf("test labels %v, %v", yt, err)
	}
	_, _, err = DecodeCSV(strings.NewReader("a,b,kind\n1,2,no\n3,4,perhaps\n"), "v.csv", CSVOptions{Classes: y.Classes})
	if err == nil || !strings.Contains(err.Error(), `v.csv: line 3: the label "perhaps" is not one of the training labels (maybe, no, yes)`) {
		t.Errorf("unknown label: %v", err)
	}
}
