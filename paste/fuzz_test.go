package paste

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func addFixtures(f *testing.F) {
	files, _ := filepath.Glob("testdata/*")
	for _, p := range files {
		if strings.HasSuffix(p, ".golden") {
			continue
		}
		if b, err := os.ReadFile(p); err == nil {
			f.Add(filepath.Base(p), b)
		}
	}
}

// FuzzSplit checks that Split never panics and that every line of the
// program maps back into the text, to the very bytes it came from.
func FuzzSplit(f *testing.F) {
	addFixtures(f)
	f.Add("q.txt", []byte("model.compile(\n\"\"\"\n>>> x = (\n... 1)\nIn [1]: y = [\n   ...: 2]\n"))
	f.Fuzz(func(t *testing.T, name string, text []byte) {
		q, err := Split(name, text)
		if err != nil {
			if !strings.HasPrefix(err.Error(), name+":") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		n := strings.Count(string(text), "\n") + 1
		var src []string
		if len(q.Source) > 0 {
			src = strings.Split(strings.TrimSuffix(string(q.Source), "\n"), "\n")
		}
		if len(src) != len(q.Lines) {
			t.Fatalf("%d source lines, %d positions", len(src), len(q.Lines))
		}
		notebook := isNotebook(name, text)
		lines := splitLines(string(text))
		for i, p := range q.Lines {
			if p.Line < 1 || p.Line > n {
				t.Fatalf("source line %d maps to line %d of %d", i+1, p.Line, n)
			}
			if notebook || src[i] == "" {
				continue
			}
			if p.Col < 1 || p.Col-1 > len(lines[p.Line-1]) || lines[p.Line-1][p.Col-1:] != src[i] {
				t.Fatalf("source line %d %q does not come from line %d col %d %q", i+1, src[i], p.Line, p.Col, lines[p.Line-1])
			}
			if q.Kinds[p.Line-1] != Code {
				t.Fatalf("source line %d comes from %v line %d", i+1, q.Kinds[p.Line-1], p.Line)
			}
		}
		if !notebook && len(q.Kinds) != len(lines) {
			t.Fatalf("%d kinds for %d lines", len(q.Kinds), len(lines))
		}
		checkRuns(t, q.Runs, n)
		_, _ = Kind(name, text)
	})
}

// FuzzParseLog checks that ParseLog never panics, that line numbers stay
// in range, and that every number's text parses to its value.
func FuzzParseLog(f *testing.F) {
	addFixtures(f)
	f.Add("x", []byte("Epoch 1/2\n 1/2 [>.] - ETA: 0s - loss: 1e\r2/2 [==] - 0s - loss: -inf\nTrain on 3 samples\n1/Unknown - loss: 1"))
	f.Fuzz(func(t *testing.T, _ string, text []byte) {
		lines := strings.Split(string(text), "\n")
		checkRuns(t, ParseLog(lines), len(lines))
	})
}

func checkRuns(t *testing.T, runs []Run, n int) {
	t.Helper()
	in := func(what string, l int) {
		if l < 1 || l > n {
			t.Fatalf("%s at line %d of %d", what, l, n)
		}
	}
	values := func(vs []Value) {
		for _, v := range vs {
			w, ok := parseNumber(v.Text)
			if !ok || !(w.Value == v.Value || w.Value != w.Value && v.Value != v.Value) {
				t.Fatalf("value %+v does not parse back", v)
			}
			if _, err := strconv.ParseFloat(strings.TrimSuffix(v.Text, "%"), 64); err != nil && !strings.Contains(strings.ToLower(v.Text), "nan") && !strings.Contains(strings.ToLower(v.Text), "inf") {
				t.Fatalf("value text %q is not a number", v.Text)
			}
		}
	}
	for _, r := range runs {
		in("run", r.Line)
		if r.CaptionLine != 0 {
			in("caption", r.CaptionLine)
		}
		for _, e := range r.Epochs {
			in("epoch", e.Line)
			values(e.Metrics)
		}
		for _, e := range r.Evaluations {
			in("evaluation", e.Line)
			values(e.Metrics)
		}
		for _, p := range r.Printed {
			in("printed", p.Line)
			values(p.Values)
		}
	}
}
