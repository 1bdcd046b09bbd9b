package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// maxValueNodes bounds the YAML nodes decoded into Args values, so that
// aliases cannot expand a small file into a huge one.
const maxValueNodes = 100000

// decoder turns a YAML node tree into an Experiment, remembering what it
// needs for error messages.
type decoder struct {
	file   string
	sets   []string
	budget int
}

// errAt returns an *Error located at node n (which may be nil).
func (d *decoder) errAt(n *yaml.Node, key, format string, args ...any) *Error {
	e := &Error{File: d.file, Key: key, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		switch {
		case n.Line > 0:
			e.Line = n.Line
		case n.Line < 0 && -n.Line <= len(d.sets):
			e.Set = d.sets[-n.Line-1]
		}
	}
	return e
}

// parseYAML parses src into a node tree and returns the document's root
// node, nil for an empty document.
func (d *decoder) parseYAML(src []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, d.syntaxError(err, src)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		return nil, d.errAt(&extra, "", "the file holds more than one YAML document (a second one starts here); "+
			"an experiment file is one document, so remove the extra \"---\" line and what follows it, or merge the two")
	case !errors.Is(err, io.EOF):
		return nil, d.syntaxError(err, src)
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	return doc.Content[0], nil
}

var (
	yamlLineRE   = regexp.MustCompile(`^line (\d+): (.*)$`)
	yamlAnchorRE = regexp.MustCompile(`^unknown anchor '(.*)' referenced$`)
)

// parserProblems are yaml.v3's parser (not scanner) messages; yaml.v3
// reports their lines 0-based.
var parserProblems = map[string]bool{
	"did not find expected <stream-start>":   true,
	"did not find expected <document start>": true,
	"found undefined tag handle":             true,
	"did not find expected node content":     true,
	"did not find expected '-' indicator":    true,
	"did not find expected key":              true,
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found duplicate %TAG directive":         true,
}

// readerProblems are yaml.v3's messages about bad bytes, which carry no line.
var readerProblems = []string{
	"control characters are not allowed",
	"invalid leading UTF-8 octet",
	"incomplete UTF-8 octet sequence",
	"invalid trailing UTF-8 octet",
	"invalid length of a UTF-8 sequence",
	"invalid Unicode character",
}

// syntaxError rewords a yaml.v3 error as "file:N: YAML syntax error: ...".
func (d *decoder) syntaxError(err error, src []byte) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	hint := "check the indentation (spaces, never tabs) and the quoting near that line"
	switch {
	case parserProblems[msg]:
		line++ // yaml.v3 counts a parser error's line from 0, and omits 0
	case yamlAnchorRE.MatchString(msg):
		name := yamlAnchorRE.FindStringSubmatch(msg)[1]
		line = lineOf(src, bytes.Index(src, []byte("*"+name)))
		hint = fmt.Sprintf("define the anchor with &%s before using it, or write the value out", name)
	case isReaderProblem(msg):
		line = lineOf(src, badByte(src))
		hint = "the file must be UTF-8 text without control characters; remove or retype the odd character"
	case line == 0 && !strings.Contains(msg, "exceeded max depth"):
		line = 1 // yaml.v3 omits the line when it is the first
	}
	lineText := ""
	if line > 0 {
		lines := bytes.Split(src, []byte("\n"))
		if line <= len(lines) {
			lineText = string(lines[line-1])
		}
	}
	switch {
	case strings.Contains(msg, "tab character") ||
		(msg == "found character that cannot start any token" && strings.HasPrefix(strings.TrimLeft(lineText, " "), "\t")):
		hint = "the line is indented with a tab; YAML indentation must use spaces"
	case msg == "mapping values are not allowed in this context":
		hint = "a value contains \": \" or the indentation is off; quote the value (e.g. name: \"a: b\") or fix the indentation"
	case msg == "did not find expected key":
		hint = "keys of one map must line up exactly; check the indentation of this line and the one above"
	case msg == "did not find expected ',' or ']'" || msg == "did not find expected ',' or '}'":
		hint = "a [list] or {map} written on one line is not closed, or lacks a comma between items"
	case msg == "found unexpected end of stream":
		hint = "a quoted string, [list] or {map} that starts on that line is not closed"
	case msg == "found character that cannot start any token":
		hint = "a value starts with a character YAML reserves (such as @ or `) or the line uses tabs; quote the value or use spaces"
	}
	return &Error{File: d.file, Line: line, Msg: fmt.Sprintf("YAML syntax error: %s; %s", msg, hint)}
}

func isReaderProblem(msg string) bool {
	for _, p := range readerProblems {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// badByte returns the offset of the first byte YAML does not accept, or -1.
func badByte(src []byte) int {
	for i := 0; i < len(src); {
		r, n := utf8.DecodeRune(src[i:])
		ok := r == '\t' || r == '\n' || r == '\r' || (r >= 0x20 && r <= 0x7e) || r == 0x85 ||
			(r >= 0xa0 && r <= 0xd7ff) || (r >= 0xe000 && r <= 0xfffd) || (r >= 0x10000 && r <= 0x10ffff)
		if (r == utf8.RuneError && n <= 1) || !ok {
			return i
		}
		i += n
	}
	return -1
}

// lineNote returns " (line N)" for a node from the file, "" for one from
// an override.
func lineNote(n *yaml.Node) string {
	if n == nil || n.Line <= 0 {
		return ""
	}
	return fmt.Sprintf(" (line %d)", n.Line)
}

// lineOf returns the 1-based line of byte offset off in src, 0 if off < 0.
func lineOf(src []byte, off int) int {
	if off < 0 || off > len(src) {
		return 0
	}
	return bytes.Count(src[:off], []byte("\n")) + 1
}

// resolve follows aliases to the node they name.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

// isNull reports whether n is absent or YAML null.
func isNull(n *yaml.Node) bool {
	n = resolve(n)
	return n == nil || n.Kind == 0 || n.Kind == yaml.AliasNode ||
		(n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// describe says what n is, for "expected X, got Y" messages.
func describe(n *yaml.Node) string {
	n = resolve(n)
	if isNull(n) {
		return "nothing (null)"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a map"
	case yaml.SequenceNode:
		return "a list"
	}
	v := n.Value
	if len(v) > 40 {
		v = v[:37] + "..."
	}
	switch n.ShortTag() {
	case "!!str":
		return fmt.Sprintf("%q (a string)", v)
	case "!!int", "!!float":
		return v + " (a number)"
	case "!!bool":
		return v + " (true/false)"
	}
	return fmt.Sprintf("%q (%s)", v, n.ShortTag())
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// section is a checked YAML map: its keys are known and unique.
type section struct {
	node  *yaml.Node            // the map (nil if absent)
	owner *yaml.Node            // the key whose value the map is (nil at the top)
	path  string                // its dotted path
	keys  map[string]*yaml.Node // key name -> key node
	vals  map[string]*yaml.Node // key name -> value node, aliases resolved
}

// val returns the value of key, nil if absent or null.
func (s *section) val(key string) *yaml.Node {
	v := s.vals[key]
	if isNull(v) {
		return nil
	}
	return v
}

// at returns the node to blame for key: its value, else its key, else the map.
func (s *section) at(key string) *yaml.Node {
	if v := s.vals[key]; v != nil && v.Line != 0 {
		return v
	}
	if k := s.keys[key]; k != nil {
		return k
	}
	return s.here()
}

// here returns the node to blame for the map as a whole: the key naming it
// if there is one, else the map.
func (s *section) here() *yaml.Node {
	if s.owner != nil {
		return s.owner
	}
	return s.node
}

// sub checks the value of key in s as a map, like section.
func (d *decoder) sub(s *section, key string, valid []string, example string) (*section, error) {
	c, err := d.section(s.val(key), join(s.path, key), valid, example)
	if err != nil {
		return nil, err
	}
	c.owner = s.keys[key]
	return c, nil
}

// section checks that n (nil or null for an absent section) is a map whose
// keys are all in valid (any key if valid is nil) and appear once each.
// path is its dotted path, for messages, and example an example of it.
func (d *decoder) section(n *yaml.Node, path string, valid []string, example string) (*section, error) {
	s := &section{node: n, path: path, keys: map[string]*yaml.Node{}, vals: map[string]*yaml.Node{}}
	if isNull(n) {
		return s, nil
	}
	n = resolve(n)
	s.node = n
	if n.Kind != yaml.MappingNode {
		name := path
		if name == "" {
			name = "the top level"
		}
		return nil, d.errAt(n, path, "expected a map, got %s; write %s as key: value lines, e.g. %s", describe(n), name, example)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), resolve(n.Content[i+1])
		if k == nil || k.Kind != yaml.ScalarNode {
			return nil, d.errAt(n.Content[i], path, "a key is %s; keys must be plain names", describe(k))
		}
		if k.ShortTag() == "!!merge" {
			return nil, d.errAt(k, join(path, k.Value), "YAML merge keys (<<) are not supported; write the keys out")
		}
		name := k.Value
		if first, dup := s.keys[name]; dup {
			return nil, d.errAt(k, join(path, name), "the key %q appears twice%s; keep one", name, strings.Replace(lineNote(first), "(line", "(first at line", 1))
		}
		if valid != nil && !hasString(valid, name) {
			return nil, d.errAt(k, join(path, name), "%s", unknownKey(path, name, valid))
		}
		s.keys[name] = k
		s.vals[name] = v
	}
	return s, nil
}

func hasString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// homes says in which section each known key belongs, for "belongs in"
// hints.
var homes = map[string]string{}

func init() {
	for _, sec := range []struct {
		path string
		keys []string
	}{{"", topKeys}, {"data", dataKeys}, {"compile", compileKeys}, {"fit", fitKeys}} {
		for _, k := range sec.keys {
			homes[k] = sec.path
		}
	}
	for _, k := range []string{"learning_rate", "momentum", "nesterov", "beta_1", "beta_2", "epsilon", "rho", "weight_decay", "clipnorm", "clipvalue"} {
		homes[k] = "compile.optimizer"
	}
	for _, k := range []string{"from_logits", "label_smoothing"} {
		homes[k] = "compile.loss"
	}
	homes["units"] = "model"
	homes["activation"] = "model"
	homes["shape"] = "model"
}

// unknownKey explains an unknown key: the closest valid key, or the section
// it belongs in, and the list of valid keys.
func unknownKey(path, key string, valid []string) string {
	where := path
	if where == "" {
		where = "the top level"
	}
	msg := fmt.Sprintf("unknown key %q in %s", key, where)
	if best := closest(key, valid); best != "" {
		msg += fmt.Sprintf("; did you mean %q?", best)
	} else if home, ok := homes[key]; ok && home != path {
		switch home {
		case "":
			msg += fmt.Sprintf("; %s is a top-level key, so un-indent it", key)
		case "model":
			msg += fmt.Sprintf("; %s is a layer argument, written in the model list, e.g. \"- Dense: {units: 10}\"", key)
		case "compile.optimizer":
			msg += fmt.Sprintf("; %s is an optimizer argument: write optimizer: {name: sgd, %s: ...}", key, key)
		case "compile.loss":
			msg += fmt.Sprintf("; %s is a loss argument: write loss: {name: categorical_crossentropy, %s: ...}", key, key)
		default:
			msg += fmt.Sprintf("; %s belongs in the %s section", key, home)
		}
	} else {
		msg += "; remove it or fix its spelling"
	}
	if !strings.HasSuffix(msg, "?") {
		msg += "."
	}
	return msg + fmt.Sprintf(" Valid keys in %s: %s", where, strings.Join(valid, ", "))
}

// closest returns the valid key nearest to key by edit distance, or "" if
// none is near enough to be a likely typo.
func closest(key string, valid []string) string {
	norm := func(s string) string { return strings.ReplaceAll(strings.ToLower(s), "-", "_") }
	best, bestD := "", math.MaxInt
	for _, v := range valid {
		if dist := editDistance(norm(key), norm(v)); dist < bestD {
			best, bestD = v, dist
		}
	}
	limit := max(2, len(key)/4)
	if bestD <= limit && bestD < len(key) {
		return best
	}
	// "batchsize" for "batch_size": compare without underscores too.
	for _, v := range valid {
		if strings.ReplaceAll(norm(key), "_", "") == strings.ReplaceAll(norm(v), "_", "") {
			return v
		}
	}
	return ""
}

// editDistance is the Levenshtein distance between a and b (bytes).
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return math.MaxInt / 2
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// str reads key as a string (a YAML string, not a number or bool).
func (d *decoder) str(s *section, key, example string) (string, *yaml.Node, error) {
	v := s.val(key)
	if v == nil {
		return "", nil, nil
	}
	if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!str" {
		return "", v, d.errAt(s.at(key), join(s.path, key), "expected a name, got %s; write e.g. %s", describe(v), example)
	}
	if v.Value == "" {
		return "", v, d.errAt(s.at(key), join(s.path, key), "the name is empty; write e.g. %s, or remove the key", example)
	}
	return v.Value, v, nil
}

// filePath reads key as a file path: any scalar but null and booleans.
func (d *decoder) filePath(s *section, key, example string) (string, error) {
	v := s.val(key)
	if v == nil {
		return "", nil
	}
	if v.Kind != yaml.ScalarNode || v.ShortTag() == "!!bool" {
		return "", d.errAt(s.at(key), join(s.path, key), "expected a file path, got %s; write e.g. %s", describe(v), example)
	}
	if strings.TrimSpace(v.Value) == "" {
		return "", d.errAt(s.at(key), join(s.path, key), "the file path is empty; write e.g. %s, or remove the key", example)
	}
	return v.Value, nil
}

// oneOf reads key as a string that must be one of choices.
func (d *decoder) oneOf(s *section, key string, choices ...string) (string, error) {
	v := s.val(key)
	if v == nil {
		return "", nil
	}
	if v.Kind == yaml.ScalarNode && hasString(choices, v.Value) {
		return v.Value, nil
	}
	return "", d.errAt(s.at(key), join(s.path, key), "expected %s, got %s; write e.g. \"%s: %s\"",
		orList(choices), describe(v), key, choices[0])
}

func orList(choices []string) string {
	q := make([]string, len(choices))
	for i, c := range choices {
		q[i] = strconv.Quote(c)
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

// integer reads key as a whole number (3.0 is accepted, 3.5 is not).
func (d *decoder) integer(s *section, key, example string) (int64, bool, error) {
	v := s.val(key)
	if v == nil {
		return 0, false, nil
	}
	bad := func(why string) (int64, bool, error) {
		return 0, true, d.errAt(s.at(key), join(s.path, key), "expected a whole number, got %s%s; write e.g. \"%s\"", describe(v), why, example)
	}
	if v.Kind != yaml.ScalarNode {
		return bad("")
	}
	switch v.ShortTag() {
	case "!!int":
		var i int64
		if err := v.Decode(&i); err != nil {
			return bad(", which is too large")
		}
		return i, true, nil
	case "!!float":
		var f float64
		if err := v.Decode(&f); err != nil || f != math.Trunc(f) || math.IsInf(f, 0) {
			return bad("")
		}
		if math.Abs(f) >= 1<<53 {
			return bad(", which is too large")
		}
		return int64(f), true, nil
	}
	return bad("")
}

// smallInt is integer limited to [lo, ∞) and to what an int holds.
func (d *decoder) smallInt(s *section, key string, lo int64, rule, example string) (int, bool, error) {
	i, ok, err := d.integer(s, key, example)
	if err != nil || !ok {
		return 0, ok, err
	}
	if i < lo {
		return 0, true, d.errAt(s.at(key), join(s.path, key), "is %d, but it %s; write e.g. \"%s\"", i, rule, example)
	}
	if i > math.MaxInt32 {
		return 0, true, d.errAt(s.at(key), join(s.path, key), "is %d, which is too large; write e.g. \"%s\"", i, example)
	}
	return int(i), true, nil
}

// number reads key as a finite number.
func (d *decoder) number(s *section, key, example string) (float64, bool, error) {
	v := s.val(key)
	if v == nil {
		return 0, false, nil
	}
	f, ok := scalarNumber(v)
	if !ok {
		return 0, true, d.errAt(s.at(key), join(s.path, key), "expected a number, got %s; write e.g. \"%s\"", describe(v), example)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, true, d.errAt(s.at(key), join(s.path, key), "must be a finite number, got %s; write e.g. \"%s\"", v.Value, example)
	}
	return f, true, nil
}

// scalarNumber returns the value of a YAML int or float scalar.
func scalarNumber(v *yaml.Node) (float64, bool) {
	if v == nil || v.Kind != yaml.ScalarNode || (v.ShortTag() != "!!int" && v.ShortTag() != "!!float") {
		return 0, false
	}
	var f float64
	if err := v.Decode(&f); err != nil {
		return 0, false
	}
	return f, true
}

// boolean reads key as true or false.
func (d *decoder) boolean(s *section, key string) (bool, bool, error) {
	v := s.val(key)
	if v == nil {
		return false, false, nil
	}
	var b bool
	if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!bool" || v.Decode(&b) != nil {
		return false, true, d.errAt(s.at(key), join(s.path, key), "expected true or false, got %s; write e.g. \"%s: true\"", describe(v), key)
	}
	return b, true, nil
}

// value decodes n into a plain Go value: int, float64, string, bool, nil,
// []any or map[string]any (uint64 for integers above MaxInt64).
func (d *decoder) value(n *yaml.Node, path string) (any, error) {
	orig := n
	n = resolve(n)
	if d.budget--; d.budget < 0 {
		return nil, d.errAt(orig, path, "the file expands to more than %d values (through YAML aliases); write it out more simply", maxValueNodes)
	}
	if isNull(n) {
		return nil, nil
	}
	switch n.Kind {
	case yaml.ScalarNode:
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, d.errAt(orig, path, "cannot read the value %s: %v; write a plain number, string, true/false, list or map", describe(n), err)
		}
		return v, nil
	case yaml.SequenceNode:
		list := make([]any, 0, len(n.Content))
		for i, c := range n.Content {
			v, err := d.value(c, join(path, strconv.Itoa(i)))
			if err != nil {
				return nil, err
			}
			list = append(list, v)
		}
		return list, nil
	case yaml.MappingNode:
		s, err := d.section(n, path, nil, "{key: value}")
		if err != nil {
			return nil, err
		}
		return d.valueMap(s, "")
	}
	return nil, d.errAt(orig, path, "cannot read this value; write a plain number, string, true/false, list or map")
}

// valueMap decodes the values of a checked map, except the key skip.
func (d *decoder) valueMap(s *section, skip string) (map[string]any, error) {
	m := make(map[string]any, len(s.vals))
	keys := make([]string, 0, len(s.vals))
	for k := range s.vals {
		keys = append(keys, k)
	}
	sort.Strings(keys) // deterministic: the first error is always the same
	for _, k := range keys {
		if k == skip {
			continue
		}
		v, err := d.value(s.vals[k], join(s.path, k))
		if err != nil {
			return nil, err
		}
		m[k] = v
	}
	return m, nil
}
