package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConvertCorpus: kiln convert of every program in kiln's corpus
// (program/testdata/corpus) prints the first experiment of its golden
// file, with the notes the golden file lists; a refused program exits 2
// with the golden file's error.
func TestConvertCorpus(t *testing.T) {
	const dir = "../../program/testdata/corpus/"
	files, err := filepath.Glob(dir + "*.py")
	if err != nil || len(files) < 40 {
		t.Fatalf("%d corpus programs (%v)", len(files), err)
	}
	for _, file := range files {
		golden, err := os.ReadFile(strings.TrimSuffix(file, ".py") + ".golden")
		if err != nil {
			t.Fatal(err)
		}
		// The golden file: "# " header lines (the command, "refused" or
		// the number of fits, kiln's notes), then the experiments, the
		// first of which kiln convert prints, or the error.
		var notes []string
		refused := false
		body := string(golden)
		for strings.HasPrefix(body, "# ") {
			i := strings.IndexByte(body, '\n')
			l := body[2:i]
			body = body[i+1:]
			if l == "refused" {
				refused = true
			}
			if strings.HasPrefix(l, "kiln: ") {
				notes = append(notes, l)
			}
		}
		var out, errb bytes.Buffer
		code := run(context.Background(), []string{"convert", file}, &out, &errb)
		stderr := strings.ReplaceAll(errb.String(), dir, "")
		for _, n := range notes {
			if !strings.Contains(stderr, n+"\n") {
				t.Errorf("kiln convert %s: stderr lacks %q:\n%s", file, n, stderr)
			}
		}
		if refused {
			if want := "kiln: error: " + body; code != 2 || !strings.HasSuffix(stderr, want) {
				t.Errorf("kiln convert %s: exit %d\n%s\nwant exit 2 and\n%s", file, code, stderr, want)
			}
			continue
		}
		first, _, _ := strings.Cut(body, "--- #")
		if code != 0 || out.String() != first {
			t.Errorf("kiln convert %s: exit %d\n%s\nwant\n%s\nstderr:\n%s", file, code, out.String(), first, stderr)
		}
	}
}
