package kiln_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/kiln-ml/kiln/callbacks"
	"github.com/kiln-ml/kiln/layers"
	"github.com/kiln-ml/kiln/schema"
)

// TestREADMETables: the README's tables of layers and callbacks are the
// registries' own, so a new layer or argument cannot go undocumented.
//
// Catches: registering a layer or adding an argument without updating the
// README (the failure prints the table to paste).
func TestREADMETables(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	var lt strings.Builder
	lt.WriteString("| layer | arguments (default) | what it does |\n|---|---|---|\n")
	for _, class := range layers.Classes() {
		s, _ := layers.Lookup(class)
		fmt.Fprintf(&lt, "| `%s` | %s | %s |\n", class, argList(s.Args), s.Doc)
	}
	var ct strings.Builder
	ct.WriteString("| callback | arguments (default) | what it does |\n|---|---|---|\n")
	for _, class := range callbacks.Classes() {
		s, _ := callbacks.Lookup(class)
		fmt.Fprintf(&ct, "| `%s` | %s | %s |\n", class, argList(s.Args), s.Doc)
	}
	for _, table := range []string{lt.String(), ct.String()} {
		if !strings.Contains(readme, table) {
			t.Errorf("README.md lacks this table (generated from the registry):\n%s", table)
		}
	}
}

func argList(args []schema.Arg) string {
	if len(args) == 0 {
		return "—"
	}
	var parts []string
	for _, a := range args {
		p := "`" + a.Name + "`"
		switch {
		case a.Required:
			p += " (required)"
		case a.Default != nil:
			p += " (" + strings.ReplaceAll(fmt.Sprint(schema.FileValue(a.Default)), " ", ", ") + ")"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, ", ")
}
