package pysrc

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden dumps in testdata")

// TestGolden parses realistic Keras programs in testdata/*.py and compares
// their dumps with testdata/*.golden.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.py")
	if err != nil || len(files) < 4 {
		t.Fatalf("want at least 4 programs in testdata, got %v (%v)", files, err)
	}
	for _, name := range files {
		t.Run(filepath.Base(name), func(t *testing.T) {
			src, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			m, err := Parse(filepath.Base(name), src)
			if err != nil {
				t.Fatal(err)
			}
			got := Dump(m)
			golden := strings.TrimSuffix(name, ".py") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("dump differs from %s (rerun with -update and review the diff):\n%s", golden, got)
			}
		})
	}
}
