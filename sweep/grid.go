package sweep

import (
	"fmt"
	"strings"
)

// Grid is one --grid argument: a setting, addressed by its dotted path as
// for --set, and the values to try, each a YAML value as written.
type Grid struct {
	// Path is the dotted path, e.g. "compile.optimizer.learning_rate".
	Path string `json:"path"`
	// Name is the short name used in cell labels, e.g. "lr".
	Name string `json:"name"`
	// Values are the values to try, in order, as written.
	Values []string `json:"values"`
}

// ParseGrid parses a --grid argument, "dotted.path=v1,v2,...". Values are
// separated by commas outside brackets, braces and quotes, so a list or map
// value such as [28, 28] or {name: sgd, momentum: 0.9} stays whole; spaces
// around values are dropped. Name is left empty (NewPlan fills it in).
func ParseGrid(arg string) (Grid, error) {
	path, raw, ok := strings.Cut(arg, "=")
	path = strings.TrimSpace(path)
	if !ok || path == "" {
		return Grid{}, fmt.Errorf("--grid %s: expected dotted.path=v1,v2,..., e.g. --grid compile.optimizer.learning_rate=0.01,0.03", arg)
	}
	for _, s := range strings.Split(path, ".") {
		if s == "" {
			return Grid{}, fmt.Errorf("--grid %s: the path %q has an empty part; write keys separated by single dots, e.g. fit.batch_size", arg, path)
		}
	}
	g := Grid{Path: path}
	seen := map[string]int{}
	for i, v := range splitValues(raw) {
		v = strings.TrimSpace(v)
		if v == "" {
			return Grid{}, fmt.Errorf("--grid %s: value %d of %s is empty; list at least one value, separated by commas, e.g. --grid %s=0.01,0.03", arg, i+1, path, path)
		}
		if j, dup := seen[v]; dup {
			return Grid{}, fmt.Errorf("--grid %s: the value %s is listed twice (values %d and %d); list each value once", arg, v, j+1, i+1)
		}
		seen[v] = i
		g.Values = append(g.Values, v)
	}
	return g, nil
}

// splitValues splits s at commas that are not inside [...], {...} or quotes.
func splitValues(s string) []string {
	var out []string
	depth, start := 0, 0
	var quote rune
	for i, c := range s {
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '[' || c == '{':
			depth++
		case (c == ']' || c == '}') && depth > 0:
			depth--
		case c == ',' && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// abbreviations shorten common setting names in cell labels.
var abbreviations = map[string]string{
	"compile.optimizer":               "opt",
	"compile.optimizer.name":          "opt",
	"compile.optimizer.learning_rate": "lr",
	"compile.loss":                    "loss",
	"compile.loss.name":               "loss",
	"fit.batch_size":                  "batch",
	"fit.validation_split":            "val_split",
}

// shortNames gives each grid a short, unique name for labels: a known
// abbreviation (lr, opt, batch) or the path's last part, or the whole path
// when two grids would otherwise share a name.
func shortNames(grids []Grid) []string {
	names := make([]string, len(grids))
	count := map[string]int{}
	for i, g := range grids {
		n, ok := abbreviations[g.Path]
		if !ok {
			n = g.Path[strings.LastIndex(g.Path, ".")+1:]
		}
		names[i] = n
		count[n]++
	}
	for i, g := range grids {
		if count[names[i]] > 1 {
			names[i] = g.Path
		}
	}
	return names
}
