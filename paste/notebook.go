package paste

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"sort"
	"strings"
)

// jval is a JSON value that remembers the line it was on, so that a
// notebook's code can be mapped back to lines of the .ipynb file.
type jval struct {
	kind byte // '{', '[', 's' string, 'o' other
	str  string
	line int
	obj  map[string]*jval
	arr  []*jval
}

// parseJSON parses text into a jval tree; lines are 1-based.
func parseJSON(text []byte) (*jval, error) {
	var nl []int
	for i, b := range text {
		if b == '\n' {
			nl = append(nl, i)
		}
	}
	lineAt := func(off int64) int { return 1 + sort.SearchInts(nl, int(off)) }
	d := json.NewDecoder(bytes.NewReader(text))
	d.UseNumber()
	var parse func(depth int) (*jval, error)
	parse = func(depth int) (*jval, error) {
		if depth > 200 {
			return nil, errors.New("nested too deeply")
		}
		tok, err := d.Token()
		if err != nil {
			return nil, err
		}
		// A string token holds no raw newline, so its end's line is its line.
		v := &jval{line: lineAt(d.InputOffset() - 1)}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				v.kind, v.obj = '{', map[string]*jval{}
				for d.More() {
					k, err := d.Token()
					if err != nil {
						return nil, err
					}
					key, _ := k.(string)
					e, err := parse(depth + 1)
					if err != nil {
						return nil, err
					}
					v.obj[key] = e
				}
			case '[':
				v.kind = '['
				for d.More() {
					e, err := parse(depth + 1)
					if err != nil {
						return nil, err
					}
					v.arr = append(v.arr, e)
				}
			default:
				return nil, errors.New("unexpected " + t.String())
			}
			if _, err := d.Token(); err != nil {
				return nil, err
			}
		case string:
			v.kind, v.str = 's', t
		default:
			v.kind = 'o'
		}
		return v, nil
	}
	v, err := parse(0)
	if err != nil {
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, errors.New("text after the JSON value")
	}
	return v, nil
}

// jsonLine converts a decoder error's offset, if it has one, to a line.
func jsonErrLine(text []byte, err error) int {
	var se *json.SyntaxError
	if errors.As(err, &se) && se.Offset <= int64(len(text)) {
		return 1 + bytes.Count(text[:se.Offset], []byte("\n"))
	}
	return 0
}

// multiline returns the lines of a notebook's multi-line string (one
// string, or an array of strings to be concatenated), each with the JSON
// line where it starts.
func multiline(v *jval) []Line {
	if v == nil {
		return nil
	}
	parts := []*jval{v}
	if v.kind == '[' {
		parts = v.arr
	}
	var out []Line
	var cur strings.Builder
	start := 0
	for _, p := range parts {
		if p.kind != 's' {
			continue
		}
		s := p.str
		for s != "" {
			if cur.Len() == 0 {
				start = p.line
			}
			i := strings.IndexByte(s, '\n')
			if i < 0 {
				cur.WriteString(s)
				break
			}
			cur.WriteString(s[:i])
			out = append(out, Line{Line: start, Text: strings.TrimSuffix(cur.String(), "\r")})
			cur.Reset()
			s = s[i+1:]
		}
	}
	if cur.Len() > 0 {
		out = append(out, Line{Line: start, Text: cur.String()})
	}
	return out
}

// isNotebook reports whether text is a Jupyter notebook: named .ipynb, or
// JSON whose top level has "cells" (nbformat 4) or "worksheets" (3).
func isNotebook(name string, text []byte) bool {
	if strings.EqualFold(ext(name), ".ipynb") {
		return true
	}
	keys := topKeys(text)
	return keys["cells"] || keys["worksheets"]
}

// topKeys returns the top-level keys of a JSON object, nil if text is not
// one.
func topKeys(text []byte) map[string]bool {
	t := bytes.TrimSpace(text)
	if len(t) == 0 || t[0] != '{' {
		return nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(t, &m) != nil {
		return nil
	}
	keys := map[string]bool{}
	for k := range m {
		keys[k] = true
	}
	return keys
}

// splitNotebook reads a Jupyter notebook: code cells are the program
// (magics and shell escapes left out), markdown cells are prose, and the
// cells' text outputs are scanned for Keras logs.
func splitNotebook(name string, text []byte) (*Question, error) {
	root, err := parseJSON(text)
	if err != nil {
		return nil, &Error{File: name, Line: jsonErrLine(text, err), Msg: "not a Jupyter notebook: " + err.Error()}
	}
	if root.kind != '{' {
		return nil, &Error{File: name, Line: root.line, Msg: "not a Jupyter notebook: the top level is not a JSON object"}
	}
	cells := root.obj["cells"]
	if cells == nil {
		if ws := root.obj["worksheets"]; ws != nil && ws.kind == '[' && len(ws.arr) > 0 && ws.arr[0].kind == '{' {
			cells = ws.arr[0].obj["cells"]
		}
	}
	if cells == nil || cells.kind != '[' {
		return nil, &Error{File: name, Line: root.line, Msg: `not a Jupyter notebook: no "cells" list`}
	}
	q := &Question{File: name, Kinds: make([]LineKind, 1+bytes.Count(text, []byte("\n")))}
	for i := range q.Kinds {
		q.Kinds[i] = Markup
	}
	mark := func(line int, k LineKind) {
		if line >= 1 && line <= len(q.Kinds) && q.Kinds[line-1] != Code {
			q.Kinds[line-1] = k
		}
	}
	var src []string
	a := assembler{notebook: true}
	for _, cell := range cells.arr {
		if cell.kind != '{' {
			continue
		}
		typ := ""
		if t := cell.obj["cell_type"]; t != nil {
			typ = t.str
		}
		switch typ {
		case "markdown":
			for _, l := range multiline(cell.obj["source"]) {
				k := Prose
				if strings.TrimSpace(l.Text) == "" {
					k = Blank
				} else {
					q.Prose = append(q.Prose, l)
				}
				mark(l.Line, k)
				a.add(item{line: l.Line, kind: k, text: l.Text})
			}
		case "code":
			s := cell.obj["source"]
			if s == nil {
				s = cell.obj["input"] // nbformat 3
			}
			for _, l := range multiline(s) {
				t := strings.TrimSpace(l.Text)
				if strings.HasPrefix(t, "%") || strings.HasPrefix(t, "!") {
					// IPython magics and shell escapes are not Python.
					src = append(src, "")
					q.Lines = append(q.Lines, Pos{Line: l.Line})
					continue
				}
				src = append(src, l.Text)
				q.Lines = append(q.Lines, Pos{Line: l.Line})
				mark(l.Line, Code)
				a.add(item{line: l.Line, kind: Code, text: l.Text})
			}
			if outs := cell.obj["outputs"]; outs != nil {
				for _, o := range outs.arr {
					if o.kind != '{' {
						continue
					}
					t := o.obj["text"]
					if t == nil {
						if d := o.obj["data"]; d != nil && d.kind == '{' {
							t = d.obj["text/plain"]
						}
					}
					for _, l := range multiline(t) {
						k := consoleKind(l.Text)
						if k == Prose {
							k = Output
						}
						mark(l.Line, k)
						a.add(item{line: l.Line, kind: k, text: l.Text})
					}
				}
			}
		}
	}
	q.Source = []byte(strings.Join(src, "\n"))
	if len(src) > 0 {
		q.Source = append(q.Source, '\n')
	}
	q.Runs = a.result()
	return q, nil
}
