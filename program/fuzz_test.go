package program

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzRun: kiln's reader on any source (a dry run: nothing trains) returns
// or refuses with an error; it never panics or hangs.
func FuzzRun(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.py")
	more, _ := filepath.Glob("../pysrc/testdata/*.py")
	for _, p := range append(files, more...) {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("x = [i * 2 for i in range(10) if i % 3]\nprint(f'{x!r:>20}', sum(x), max(x), sorted(x, reverse=True))\n"))
	f.Add([]byte("def f(a, *b, c=1, **d):\n    return a, b, c, d\nprint(f(1, 2, 3, c=4, e=5))\n"))
	f.Add([]byte("import numpy as np\n(a, b), (c, d) = __import__\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _ = Run(ctx, "fuzz.py", src, Options{DryRun: true})
	})
}
