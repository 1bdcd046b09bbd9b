package pysrc

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// checkPositions checks positions against the source: a Name, Num or
// Attribute name starts where its position says, and no node starts
// before the statement that holds it.
func checkPositions(t *testing.T, src []byte, m *Module) {
	t.Helper()
	lines := strings.Split(string(normalize(src)), "\n")
	at := func(p Pos) string {
		if p.Line < 1 || p.Line > len(lines) {
			return ""
		}
		l := lines[p.Line-1]
		for i := 1; i < p.Col; i++ {
			if l == "" {
				return ""
			}
			_, n := utf8.DecodeRuneInString(l)
			l = l[n:]
		}
		return l
	}
	var errs []string
	check := func(p Pos, want string, n Node) {
		if !strings.HasPrefix(at(p), want) {
			errs = append(errs, fmt.Sprintf("%T %q at %v: source there is %q", n, want, p, clip(at(p))))
		}
	}
	Inspect(m, func(n Node) bool {
		switch n := n.(type) {
		case *Name:
			check(n.At, n.ID, n)
		case *Num:
			check(n.At, n.Text, n)
		case *Attribute:
			check(n.NamePos, n.Name, n)
		case *BinOp:
			check(n.OpPos, n.Op, n)
		case *Keyword:
			if n.Name != "" {
				check(n.At, n.Name, n)
			}
		case *Param:
			check(n.At, n.Name, n)
		}
		return true
	})
	if len(errs) > 0 {
		t.Fatalf("positions do not match the source:\n%s\nsource:\n%s", strings.Join(errs, "\n"), src)
	}
}

func TestPositionsMatchSource(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.py")
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		m, err := Parse(name, src)
		if err != nil {
			t.Fatal(err)
		}
		checkPositions(t, src, m)
	}
	fsrc := []byte("x = f'{a + b!r:>{w}}' f\"\"\"\n{c}{d=}\"\"\"\n")
	m, err := Parse("f.py", fsrc)
	if err != nil {
		t.Fatal(err)
	}
	checkPositions(t, fsrc, m)
	m, err = Parse("t.py", []byte("(a) + b\n(c)(d).e"))
	if err != nil {
		t.Fatal(err)
	}
	if got := DumpPos(m); !strings.Contains(got, "(expr@1:1 (+@1:1 a@1:2 b@1:7))") || !strings.Contains(got, "(.@2:1 (call@2:1 c@2:2 d@2:5) e)") {
		t.Errorf("a node starts at its first token, parentheses included:\n%s", got)
	}
}

func TestInspect(t *testing.T) {
	m, err := Parse("t.py", []byte("def f(a=1, *, k: int):\n    return [x for x in g(a, k=k) if x]\n"))
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	Inspect(m, func(n Node) bool {
		kinds = append(kinds, strings.TrimPrefix(fmt.Sprintf("%T", n), "*pysrc."))
		return true
	})
	want := "Module FuncDef Param Num Param Name Return ListComp Name Comprehension Name Call Name Name Keyword Name Name"
	if got := strings.Join(kinds, " "); got != want {
		t.Errorf("Inspect order:\ngot  %s\nwant %s", got, want)
	}
}
