package pysrc

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// tokKind is the kind of a token.
type tokKind int

const (
	tEOF tokKind = iota
	tNewline
	tIndent
	tDedent
	tName
	tNumber
	tString
	tOp
	tMagic
)

// token is one lexical token. text holds the name, operator, number
// literal or magic line; str holds a string literal's decoded form.
type token struct {
	kind tokKind
	pos  Pos
	text string
	str  *strLit
}

// strLit is one string literal token, before implicit concatenation.
type strLit struct {
	bytes, fstr bool
	value       string   // decoded value of a plain string or bytes literal
	parts       []fpiece // pieces of an f-string
}

// fpiece is a literal run (field == nil) or a replacement field of an f-string.
type fpiece struct {
	lit   string
	field *ffield
}

// ffield is a replacement field {expr=!c:spec} as scanned: its expression
// is kept as source text and parsed later by a nested parser.
type ffield struct {
	pos     Pos    // of the '{'
	src     string // the expression's source text
	srcPos  Pos    // where src starts
	debug   string // "expr=" text of a self-documenting field {expr=}
	conv    byte   // 'r', 's', 'a' or 0
	spec    []fpiece
	hasSpec bool
}

// maxFStringDepth bounds nesting of f-strings and format-spec fields.
const maxFStringDepth = 20

// scanner turns source into tokens. All input goes through adv, which keeps
// line and col in step with off, so every loop that calls adv progresses.
type scanner struct {
	file      string
	src       []byte
	off       int
	line, col int
	toks      []token
	indents   []int // indentation columns with tabs to multiples of 8
	alt       []int // the same with tabs as one column, to catch mixing
	parens    []token
	lineToks  bool // the current logical line has tokens
	lineStart bool
	expr      bool // scanning an f-string expression inside an implicit "("
}

func newScanner(file string, src []byte, start Pos) *scanner {
	return &scanner{file: file, src: src, line: start.Line, col: start.Col,
		indents: []int{0}, alt: []int{0}, lineStart: true}
}

// normalize strips a BOM and turns CRLF and CR line endings into LF, as
// Python does when it reads source.
func normalize(src []byte) []byte {
	src = []byte(strings.TrimPrefix(string(src), "\ufeff"))
	if !strings.ContainsRune(string(src), '\r') {
		return src
	}
	s := strings.ReplaceAll(string(src), "\r\n", "\n")
	return []byte(strings.ReplaceAll(s, "\r", "\n"))
}

func (s *scanner) errAt(p Pos, format string, args ...any) *Error {
	return &Error{File: s.file, Line: p.Line, Col: p.Col, Msg: fmt.Sprintf(format, args...)}
}

func (s *scanner) pos() Pos { return Pos{s.line, s.col} }

func (s *scanner) peek() byte { return s.peekAt(0) }

func (s *scanner) peekAt(k int) byte {
	if s.off+k < len(s.src) {
		return s.src[s.off+k]
	}
	return 0
}

func (s *scanner) eof() bool { return s.off >= len(s.src) }

// adv consumes one rune.
func (s *scanner) adv() {
	if s.eof() {
		return
	}
	r, n := utf8.DecodeRune(s.src[s.off:])
	s.off += n
	if r == '\n' {
		s.line++
		s.col = 1
	} else {
		s.col++
	}
}

func (s *scanner) emit(k tokKind, p Pos, text string) {
	s.toks = append(s.toks, token{kind: k, pos: p, text: text})
	if k != tNewline && k != tIndent && k != tDedent {
		s.lineToks = true
	}
}

// checkInput refuses invalid UTF-8 and NUL bytes, which Python refuses too.
func (s *scanner) checkInput() error {
	for s.off < len(s.src) {
		r, n := utf8.DecodeRune(s.src[s.off:])
		if r == utf8.RuneError && n == 1 {
			return s.errAt(s.pos(), "invalid UTF-8 byte %#x; save the file as UTF-8", s.src[s.off])
		}
		if r == 0 {
			return s.errAt(s.pos(), "NUL byte in source; the file is not Python text")
		}
		s.adv()
	}
	return nil
}

// tokenize scans a whole module.
func tokenize(file string, src []byte) ([]token, error) {
	src = normalize(src)
	s := newScanner(file, src, Pos{1, 1})
	if err := s.checkInput(); err != nil {
		return nil, err
	}
	s.off, s.line, s.col = 0, 1, 1
	if err := s.run(); err != nil {
		return nil, err
	}
	return s.toks, nil
}

// tokenizeExpr scans the expression of an f-string field, starting at pos,
// as if inside parentheses: no NEWLINE or INDENT tokens.
func tokenizeExpr(file string, src string, start Pos) ([]token, error) {
	s := newScanner(file, []byte(src), start)
	if err := s.checkInput(); err != nil {
		return nil, err
	}
	s.off, s.line, s.col = 0, start.Line, start.Col
	s.parens = []token{{kind: tOp, text: "(", pos: start}}
	s.lineStart = false
	s.expr = true
	if err := s.run(); err != nil {
		return nil, err
	}
	return s.toks, nil
}

func (s *scanner) run() error {
	for {
		if s.lineStart && len(s.parens) == 0 {
			done, err := s.indentation()
			if err != nil || done {
				return err
			}
			continue
		}
		c := s.peek()
		switch {
		case s.eof():
			return s.finish()
		case c == ' ' || c == '\t' || c == '\f':
			s.adv()
		case c == '#':
			for !s.eof() && s.peek() != '\n' {
				s.adv()
			}
		case c == '\n':
			p := s.pos()
			s.adv()
			if len(s.parens) == 0 {
				if s.lineToks {
					s.emit(tNewline, p, "")
					s.lineToks = false
				}
				s.lineStart = true
			}
		case c == '\\':
			p := s.pos()
			s.adv()
			if s.eof() {
				return s.errAt(p, "`\\` at the end of the file; remove it or continue the line")
			}
			if s.peek() != '\n' {
				return s.errAt(p, "unexpected character after line continuation `\\`; `\\` must end the line")
			}
			s.adv()
			if s.eof() {
				return s.errAt(p, "`\\` continues the last line into the end of the file; remove it")
			}
		case isIdentStart(s.src[s.off:]):
			p := s.pos()
			start := s.off
			s.scanIdent()
			id := string(s.src[start:s.off])
			if isStringPrefix(id) && (s.peek() == '"' || s.peek() == '\'') {
				lit, err := s.scanString(id, p, 0)
				if err != nil {
					return err
				}
				s.emit(tString, p, string(s.src[start:s.off]))
				s.toks[len(s.toks)-1].str = lit
				continue
			}
			s.emit(tName, p, id)
		case isDigit(c) || c == '.' && isDigit(s.peekAt(1)):
			if err := s.scanNumber(); err != nil {
				return err
			}
		case c == '"' || c == '\'':
			p := s.pos()
			start := s.off
			lit, err := s.scanString("", p, 0)
			if err != nil {
				return err
			}
			s.emit(tString, p, string(s.src[start:s.off]))
			s.toks[len(s.toks)-1].str = lit
		default:
			if err := s.scanOp(); err != nil {
				return err
			}
		}
	}
}

// finish ends the token stream: the last line's NEWLINE, DEDENTs, EOF.
func (s *scanner) finish() error {
	if n := len(s.parens); n > 0 {
		// Inside an f-string expression the outer "(" is implicit.
		if !s.expr || n > 1 {
			o := s.parens[n-1]
			return s.errAt(o.pos, "`%s` is never closed; close it or remove it", o.text)
		}
		// The end of a field's expression is its closing brace.
		s.emit(tEOF, s.pos(), "}")
		return nil
	}
	if s.lineToks {
		s.emit(tNewline, s.pos(), "")
	}
	for len(s.indents) > 1 {
		s.indents = s.indents[:len(s.indents)-1]
		s.emit(tDedent, s.pos(), "")
	}
	s.emit(tEOF, s.pos(), "")
	return nil
}

// indentation measures the indentation of a new line, skips blank and
// comment-only lines, and emits INDENT/DEDENT and magic lines. done
// reports the end of input.
func (s *scanner) indentation() (done bool, err error) {
	col, alt := 0, 0
	for {
		switch s.peek() {
		case ' ':
			col++
			alt++
		case '\t':
			col = (col/8 + 1) * 8
			alt++
		case '\f':
			col, alt = 0, 0
		default:
			goto measured
		}
		s.adv()
	}
measured:
	switch c := s.peek(); {
	case s.eof():
		return true, s.finish()
	case c == '#' || c == '\n':
		for !s.eof() && s.peek() != '\n' {
			s.adv()
		}
		s.adv()
		return false, nil
	}
	p := s.pos()
	top := len(s.indents) - 1
	switch {
	case col == s.indents[top]:
		if alt != s.alt[top] {
			return false, s.errAt(p, "inconsistent use of tabs and spaces in indentation; indent with spaces only")
		}
	case col > s.indents[top]:
		if alt <= s.alt[top] {
			return false, s.errAt(p, "inconsistent use of tabs and spaces in indentation; indent with spaces only")
		}
		s.indents = append(s.indents, col)
		s.alt = append(s.alt, alt)
		s.emit(tIndent, p, "")
	default:
		for col < s.indents[len(s.indents)-1] {
			s.indents = s.indents[:len(s.indents)-1]
			s.alt = s.alt[:len(s.alt)-1]
			s.emit(tDedent, p, "")
		}
		top = len(s.indents) - 1
		if col != s.indents[top] {
			return false, s.errAt(p, "unindent does not match any outer indentation level; line up this line with the block it belongs to")
		}
		if alt != s.alt[top] {
			return false, s.errAt(p, "inconsistent use of tabs and spaces in indentation; indent with spaces only")
		}
	}
	s.lineStart = false
	if strings.HasPrefix(string(s.src[s.off:min(s.off+3, len(s.src))]), ">>>") {
		return false, s.errAt(p, "`>>>` prompt from an interactive session; remove the `>>>` and `...` prompts and the output lines")
	}
	if c := s.peek(); c == '%' || c == '!' {
		// IPython magics and shell escapes, as pasted from notebooks.
		start := s.off
		for !s.eof() && s.peek() != '\n' {
			s.adv()
		}
		s.emit(tMagic, p, strings.TrimRight(string(s.src[start:s.off]), " \t\f"))
	}
	return false, nil
}
