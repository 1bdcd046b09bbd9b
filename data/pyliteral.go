package data

import (
	"fmt"
	"strconv"
	"strings"
)

// A small parser for the Python literals found in .npy headers: dicts,
// tuples, lists, strings, integers, True, False and None. Values come out as
// pyDict, pyTuple, pyList, string, int64, bool and pyNone.

type pyKV struct {
	key string
	val any
}

// pyDict keeps the keys in source order; keys are strings.
type pyDict []pyKV

func (d pyDict) get(k string) (any, bool) {
	for _, kv := range d {
		if kv.key == k {
			return kv.val, true
		}
	}
	return nil, false
}

type pyTuple []any

type pyList []any

type pyNone struct{}

// maxPyDepth bounds nesting so a hostile header cannot recurse deeply.
const maxPyDepth = 32

type pyParser struct {
	s   string
	pos int
}

// parsePyLiteral parses s, which must hold exactly one literal, possibly
// surrounded by whitespace.
func parsePyLiteral(s string) (any, error) {
	p := &pyParser{s: s}
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos < len(p.s) {
		return nil, fmt.Errorf("unexpected %s after the literal", p.near())
	}
	return v, nil
}

func (p *pyParser) skipSpace() {
	for p.pos < len(p.s) {
		switch p.s[p.pos] {
		case ' ', '\t', '\n', '\r', '\f', '\v':
			p.pos++
		default:
			return
		}
	}
}

func (p *pyParser) near() string {
	if p.pos >= len(p.s) {
		return "end of header"
	}
	rest := p.s[p.pos:]
	if len(rest) > 20 {
		rest = rest[:20]
	}
	return fmt.Sprintf("%q at offset %d", rest, p.pos)
}

func (p *pyParser) value(depth int) (any, error) {
	if depth > maxPyDepth {
		return nil, fmt.Errorf("literal nested more than %d deep", maxPyDepth)
	}
	p.skipSpace()
	if p.pos >= len(p.s) {
		return nil, fmt.Errorf("unexpected end of header, expected a value")
	}
	c := p.s[p.pos]
	switch {
	case c == '{':
		return p.dict(depth)
	case c == '(':
		return p.seq(depth, '(', ')')
	case c == '[':
		return p.seq(depth, '[', ']')
	case c == '\'' || c == '"':
		return p.str()
	case (c == 'u' || c == 'U' || c == 'b' || c == 'B') && p.pos+1 < len(p.s) && (p.s[p.pos+1] == '\'' || p.s[p.pos+1] == '"'):
		p.pos++ // Python 2 style u'...' or b'...'
		return p.str()
	case c == '-' || c == '+' || (c >= '0' && c <= '9'):
		return p.integer()
	}
	for _, w := range []struct {
		word string
		val  any
	}{{"True", true}, {"False", false}, {"None", pyNone{}}} {
		if strings.HasPrefix(p.s[p.pos:], w.word) {
			end := p.pos + len(w.word)
			if end == len(p.s) || !isIdentByte(p.s[end]) {
				p.pos = end
				return w.val, nil
			}
		}
	}
	return nil, fmt.Errorf("unexpected %s, expected a value", p.near())
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func (p *pyParser) dict(depth int) (any, error) {
	p.pos++ // {
	var d pyDict
	for {
		p.skipSpace()
		if p.pos < len(p.s) && p.s[p.pos] == '}' {
			p.pos++
			return d, nil
		}
		k, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		key, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("dict key %s is not a string", pyRepr(k))
		}
		if _, dup := d.get(key); dup {
			return nil, fmt.Errorf("dict key %q appears twice", key)
		}
		p.skipSpace()
		if p.pos >= len(p.s) || p.s[p.pos] != ':' {
			return nil, fmt.Errorf("unexpected %s, expected ':' after dict key %q", p.near(), key)
		}
		p.pos++
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		d = append(d, pyKV{key, v})
		p.skipSpace()
		if p.pos < len(p.s) && p.s[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.pos < len(p.s) && p.s[p.pos] == '}' {
			p.pos++
			return d, nil
		}
		return nil, fmt.Errorf("unexpected %s, expected ',' or '}' in dict", p.near())
	}
}

// seq parses a tuple or list. Like Python, "(x)" is x itself, not a tuple.
func (p *pyParser) seq(depth int, open, close byte) (any, error) {
	p.pos++
	var items []any
	comma := false
	for {
		p.skipSpace()
		if p.pos < len(p.s) && p.s[p.pos] == close {
			p.pos++
			break
		}
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		items = append(items, v)
		p.skipSpace()
		if p.pos < len(p.s) && p.s[p.pos] == ',' {
			p.pos++
			comma = true
			continue
		}
		if p.pos < len(p.s) && p.s[p.pos] == close {
			p.pos++
			break
		}
		return nil, fmt.Errorf("unexpected %s, expected ',' or '%c'", p.near(), close)
	}
	if open == '[' {
		return pyList(items), nil
	}
	if len(items) == 1 && !comma {
		return items[0], nil
	}
	return pyTuple(items), nil
}

func (p *pyParser) str() (any, error) {
	q := p.s[p.pos]
	p.pos++
	var b strings.Builder
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		switch {
		case c == q:
			p.pos++
			return b.String(), nil
		case c == '\n':
			return nil, fmt.Errorf("string literal runs into a line break")
		case c == '\\' && p.pos+1 < len(p.s):
			e := p.s[p.pos+1]
			p.pos += 2
			switch e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case '0':
				b.WriteByte(0)
			default:
				b.WriteByte(e)
			}
		default:
			b.WriteByte(c)
			p.pos++
		}
	}
	return nil, fmt.Errorf("unterminated string literal")
}

func (p *pyParser) integer() (any, error) {
	start := p.pos
	if c := p.s[p.pos]; c == '-' || c == '+' {
		p.pos++
	}
	digits := p.pos
	for p.pos < len(p.s) && p.s[p.pos] >= '0' && p.s[p.pos] <= '9' {
		p.pos++
	}
	if p.pos == digits {
		p.pos = start
		return nil, fmt.Errorf("unexpected %s, expected a number", p.near())
	}
	text := p.s[start:p.pos]
	if p.pos < len(p.s) && (p.s[p.pos] == 'L' || p.s[p.pos] == 'l') {
		p.pos++ // Python 2 long, as old NumPy wrote shapes: (3L, 4L)
	}
	if p.pos < len(p.s) && (p.s[p.pos] == '.' || p.s[p.pos] == 'e' || p.s[p.pos] == 'E' || isIdentByte(p.s[p.pos])) {
		p.pos = start
		return nil, fmt.Errorf("unexpected %s, expected an integer", p.near())
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("integer %s is out of range", text)
	}
	return n, nil
}

// pyRepr formats a parsed value roughly as Python would, for messages,
// shortened to 100 characters.
func pyRepr(v any) string {
	s := pyReprFull(v)
	if len(s) > 100 {
		s = s[:100] + "..."
	}
	return s
}

func pyReprFull(v any) string {
	switch v := v.(type) {
	case string:
		return "'" + strings.ReplaceAll(v, "'", `\'`) + "'"
	case int64:
		return strconv.FormatInt(v, 10)
	case bool:
		if v {
			return "True"
		}
		return "False"
	case pyNone:
		return "None"
	case pyTuple:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = pyReprFull(e)
		}
		if len(parts) == 1 {
			return "(" + parts[0] + ",)"
		}
		return "(" + strings.Join(parts, ", ") + ")"
	case pyList:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = pyReprFull(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case pyDict:
		parts := make([]string, len(v))
		for i, kv := range v {
			parts[i] = pyReprFull(kv.key) + ": " + pyReprFull(kv.val)
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprint(v)
}
