package pysrc

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// checkPositions checks positions against the source.
func checkPositions(t *testing.T, src []byte, m *Module) {
	t.Helper()
	if errs := positionErrors(src, m); len(errs) > 0 {
		t.Fatalf("positions do not match the source:\n%s\nsource:\n%s", strings.Join(errs, "\n"), src)
	}
}

// positionErrors lists the names, numbers, attribute names, operators,
// keywords and parameters that are not where their positions say.
func positionErrors(src []byte, m *Module) []string {
	var lines [][]rune
	for _, l := range strings.Split(string(normalize(src)), "\n") {
		lines = append(lines, []rune(l))
	}
	// at returns up to n runes of the source at p, in constant time per rune
	// so that fuzzing long lines stays fast.
	at := func(p Pos, n int) string {
		if p.Line < 1 || p.Line > len(lines) || p.Col < 1 || p.Col > len(lines[p.Line-1])+1 {
			return ""
		}
		l := lines[p.Line-1][p.Col-1:]
		return string(l[:min(n, len(l))])
	}
	var errs []string
	check := func(p Pos, want string, n Node) {
		if got := at(p, utf8.RuneCountInString(want)); got != want {
			errs = append(errs, fmt.Sprintf("%T %q at %v: source there is %q", n, want, p, got))
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
	return errs
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

// TestPositionErrors checks that the position check can fail.
func TestPositionErrors(t *testing.T) {
	src := []byte("ab = c.d + 1")
	m, err := Parse("t.py", src)
	if err != nil {
		t.Fatal(err)
	}
	if errs := positionErrors(src, m); len(errs) != 0 {
		t.Fatal(errs)
	}
	a := m.Body[0].(*Assign)
	a.Targets[0].(*Name).At.Col = 2
	a.Value.(*BinOp).OpPos.Col++
	if errs := positionErrors(src, m); len(errs) != 2 {
		t.Errorf("got %q, want two errors", errs)
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
