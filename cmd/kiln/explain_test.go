package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-ml/kiln/examples/explain/synth"
)

// explainScenario copies a scenario of examples/explain and its data into a
// temporary directory and returns the experiment's path there.
func explainScenario(t *testing.T, name string) string {
	t.Helper()
	dir := t.TempDir()
	if err := synth.Write(filepath.Join(dir, "data")); err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join("..", "..", "examples", "explain", name+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name+".yaml")
	if err := os.WriteFile(path, src, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// treeHash hashes every file under dir except skip.
func treeHash(t *testing.T, dir, skip string) string {
	t.Helper()
	h := sha256.New()
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p == skip {
			return filepath.SkipDir
		}
		if !d.IsDir() {
			b, _ := os.ReadFile(p)
			h.Write([]byte(p))
			h.Write(b)
		}
		return nil
	})
	return string(h.Sum(nil))
}

func runExplainCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestExplainUsage(t *testing.T) {
	for _, args := range [][]string{
		{"explain"},
		{"explain", "a.yaml", "b.yaml"},
		{"explain", "a.yaml", "--budget", "0"},
		{"explain", "a.yaml", "--lr-factor", "1"},
		{"explain", "a.yaml", "--fail-on", "maybe"},
		{"explain", "does-not-exist.yaml"},
	} {
		if code, _, stderr := runExplainCLI(args...); code != 2 {
			t.Errorf("%v: exit %d, want 2 (stderr %q)", args, code, stderr)
		}
	}
	if code, _, _ := runExplainCLI("explain", "-h"); code != 0 {
		t.Errorf("-h: exit %d", code)
	}
}

func TestExplainHealthyText(t *testing.T) {
	path := explainScenario(t, "healthy_blobs")
	dir := filepath.Dir(path)
	before := treeHash(t, dir, "")
	code, out, stderr := runExplainCLI("explain", path, "--quiet")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, "0 error(s), 0 warning(s)") || !strings.Contains(out, "Nothing is wrong") {
		t.Errorf("unexpected output:\n%s", out)
	}
	if treeHash(t, dir, "") != before {
		t.Error("explain modified the experiment's directory")
	}
}

func TestExplainJSONAndReport(t *testing.T) {
	path := explainScenario(t, "mnist_raw_sigmoid")
	dir := filepath.Dir(path)
	rep := filepath.Join(dir, "report")
	before := treeHash(t, dir, rep)
	code, out, stderr := runExplainCLI("explain", path, "--json", "--report", rep)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var doc struct {
		SchemaVersion int `json:"schema_version"`
		Findings      []struct {
			ID       string         `json:"id"`
			Severity string         `json:"severity"`
			Summary  string         `json:"summary"`
			Evidence map[string]any `json:"evidence"`
			Fix      string         `json:"fix"`
			Verified *struct {
				Confirmed bool `json:"confirmed"`
			} `json:"verified"`
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("--json output does not parse: %v\n%s", err, out)
	}
	ids := map[string]bool{}
	for _, f := range doc.Findings {
		ids[f.ID] = true
		if f.Severity == "" || f.Summary == "" || f.Evidence == nil {
			t.Errorf("incomplete finding %+v", f)
		}
	}
	for _, id := range []string{"inputs-not-normalized", "sigmoid-with-categorical-crossentropy", "loss-scales-with-learning-rate"} {
		if !ids[id] {
			t.Errorf("missing %s in %v", id, ids)
		}
	}
	if doc.SchemaVersion != 1 {
		t.Errorf("schema_version %d", doc.SchemaVersion)
	}
	for _, f := range []string{"report.md", "report.html", "loss_lr.png", "fix_loss-scales-with-learning-rate.png"} {
		st, err := os.Stat(filepath.Join(rep, f))
		if err != nil || st.Size() < 200 {
			t.Errorf("report file %s: %v", f, err)
		}
	}
	html, _ := os.ReadFile(filepath.Join(rep, "report.html"))
	if !bytes.Contains(html, []byte("loss-scales-with-learning-rate")) || !bytes.Contains(html, []byte(`<img src="loss_lr.png"`)) {
		t.Error("report.html lacks the finding or the plot")
	}
	if treeHash(t, dir, rep) != before {
		t.Error("explain modified the experiment or its data")
	}
	// --fail-on error turns the error findings into exit 1.
	if code, _, _ := runExplainCLI("explain", path, "--quiet", "--fail-on", "error"); code != 1 {
		t.Errorf("--fail-on error: exit %d, want 1", code)
	}
}

// A config that would crash fit is explained, not crashed on.
func TestExplainCrashingConfig(t *testing.T) {
	path := explainScenario(t, "blobs_1based")
	code, out, stderr := runExplainCLI("explain", path, "--quiet")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, "label-encoding-mismatch") || !strings.Contains(out, "fit cannot run") {
		t.Errorf("output:\n%s", out)
	}
	code, _, stderr = runExplainCLI("fit", path, "--verbose", "0")
	if code != 2 {
		t.Errorf("fit on the same file: exit %d (%s); the scenario should crash fit", code, stderr)
	}
}
