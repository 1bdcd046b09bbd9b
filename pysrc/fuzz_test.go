package pysrc

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics or hangs: it returns an *Error
// placed inside the input, or a module that Format prints as source that
// parses back to the same tree.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.py")
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	for _, s := range []string{
		"x = f'{a!r:>{w}.{p}f}' 'b' rb'\\x' 0x_1f 1_0.5e-3j",
		"if a:\n\tb[:, 0] = (c := d) if e else [*f for g in h]\nelif i:\n  pass\n",
		"def f(a, /, b=1, *c, d, **e) -> int:\n    return lambda x=1: {**x, 'k': v}\n",
		"%matplotlib inline\n!pip install x\ntry:\n    pass\nexcept (A, B) as e:\n    raise X from e\n",
		"with (a as b, c):\n    del x[1:2:3], y.z\n",
		"f\"{f'{x[\"a\"]}'}\"",
		"class A(B, metaclass=M):\n  @d\n  def f(self): ...\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		m, err := Parse("f.py", src)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not an *Error", err)
			}
			lines := strings.Count(string(src), "\n") + strings.Count(string(src), "\r") + 2
			if pe.Line < 1 || pe.Col < 1 || pe.Line > lines {
				t.Fatalf("error position %d:%d outside the input: %v", pe.Line, pe.Col, err)
			}
			return
		}
		DumpPos(m)
		checkPositions(t, src, m)
		roundTrip(t, "f.py", src)
	})
}
