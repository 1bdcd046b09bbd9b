package paste

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// dump renders a Question as text for golden files: each line's kind, the
// program with its positions, and the runs.
func dump(q *Question, text string) string {
	var b strings.Builder
	b.WriteString("== lines\n")
	lines := splitLines(text)
	for i, k := range q.Kinds {
		l := ""
		if i < len(lines) {
			l = lines[i]
		}
		if k == Blank || k == Markup && q.Lines != nil && len(q.Lines) > 0 && q.Lines[0].Col == 0 {
			continue
		}
		if r := []rune(l); len(r) > 70 {
			l = string(r[:70]) + "…"
		}
		fmt.Fprintf(&b, "%3d %-6s| %q\n", i+1, k, l)
	}
	b.WriteString("== source\n")
	for i, l := range strings.Split(strings.TrimSuffix(string(q.Source), "\n"), "\n") {
		if strings.TrimSpace(l) == "" {
			continue
		}
		fmt.Fprintf(&b, "%s | %s\n", q.Position(i+1, 1), l)
	}
	b.WriteString("== runs\n")
	for i, r := range q.Runs {
		fmt.Fprintf(&b, "run %d line %d", i+1, r.Line)
		if r.CaptionLine > 0 {
			fmt.Fprintf(&b, " caption line %d %q", r.CaptionLine, r.Caption)
		}
		if r.TrainSamples+r.ValSamples+r.TrainSteps+r.ValSteps > 0 {
			fmt.Fprintf(&b, " train %d/%d samples %d/%d steps", r.TrainSamples, r.ValSamples, r.TrainSteps, r.ValSteps)
		}
		b.WriteString("\n")
		for _, e := range r.Epochs {
			fmt.Fprintf(&b, "  epoch %d/%d line %d: %d/%d time %q per %q", e.Epoch, e.Epochs, e.Line, e.Steps, e.Total, e.Time, e.PerStep)
			if e.Partial {
				b.WriteString(" partial")
			}
			b.WriteString(values(e.Metrics) + "\n")
		}
		for _, e := range r.Evaluations {
			fmt.Fprintf(&b, "  evaluate line %d: %d/%d time %q per %q%s\n", e.Line, e.Steps, e.Total, e.Time, e.PerStep, values(e.Metrics))
		}
		for _, p := range r.Printed {
			fmt.Fprintf(&b, "  printed line %d:%s\n", p.Line, values(p.Values))
		}
	}
	return b.String()
}

func values(vs []Value) string {
	var b strings.Builder
	for _, v := range vs {
		fmt.Fprintf(&b, " %s=%s(%g)", v.Name, v.Text, v.Value)
	}
	return b.String()
}

// TestGolden splits every testdata/*.txt, *.md and *.ipynb and compares
// the result with its .golden file (go test -update rewrites them; read
// the diff before committing).
func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/*")
	n := 0
	for _, f := range files {
		switch filepath.Ext(f) {
		case ".txt", ".md", ".ipynb", ".log":
		default:
			continue
		}
		if filepath.Base(f) == "README.md" {
			continue
		}
		n++
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			q, err := Split(filepath.Base(f), b)
			if err != nil {
				t.Fatal(err)
			}
			got := dump(q, string(b))
			g := f + ".golden"
			if *update {
				if err := os.WriteFile(g, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(g)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("Split(%s) differs from %s (go test -update rewrites it):\n%s", f, g, diff(string(want), got))
			}
		})
	}
	if n < 13 {
		t.Errorf("%d fixtures in testdata, want at least 13", n)
	}
}

// diff shows the first differing lines.
func diff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return fmt.Sprintf("line %d:\nwant %s\ngot  %s", i+1, a, b)
		}
	}
	return ""
}
