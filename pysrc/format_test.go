package pysrc

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// roundTrip checks that Format's output parses back to the same tree.
func roundTrip(t *testing.T, name string, src []byte) {
	t.Helper()
	m, err := Parse(name, src)
	if err != nil {
		return
	}
	out := Format(m)
	m2, err := Parse(name, []byte(out))
	if err != nil && strings.Contains(err.Error(), "nesting deeper than") {
		return // Format's parentheses can push deep input past the limit
	}
	if err != nil {
		t.Fatalf("%s: Format output does not parse: %v\nsource:\n%s\nformatted:\n%s", name, err, src, out)
	}
	if a, b := Dump(m), Dump(m2); a != b {
		t.Fatalf("%s: round trip changed the tree:\nsource:\n%s\nformatted:\n%s\nbefore:\n%s\nafter:\n%s", name, src, out, a, b)
	}
}

func TestFormatRoundTrip(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.py")
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		roundTrip(t, name, src)
	}
	for _, src := range []string{
		"def f(a, /, b, *, c=1, **k):\n    return lambda x, /, *y, z: (x, *y)\n",
		"x[1:2, ::3, ...] = {**a, 'k': f'{x!r:>{w}} {{}} {y=}'}\n",
		"f(x for x in y if x)\nwith a as (b, c), d:\n    %time x\n",
		"x = b'\\x00\\xff\"' + '\\t\"\\\\é\\x7f'\n",
		"f'{ {1: 2}[1] }{a:{\"\\n\"}}'\n",
		"class A(B, **kw):\n    def f(self, *a: int, b: str = 'x') -> None: ...\n",
		"try:\n    pass\nexcept E as e:\n    raise X from e\nelse:\n    pass\nfinally:\n    del a[0], b.c\n",
		"if a:\n    pass\nelif b:\n    pass\nelse:\n    for i in x:\n        continue\n    else:\n        break\n",
		"(a.b)[0] = -(1).real ** ~2 @ m\nx: int\nglobal g\nassert (y := 1), 'm'\n",
		"print(f\"Test accuracy: {score[1]:.4f}\", sep='')\n",
	} {
		roundTrip(t, "inline", []byte(src))
	}
}
