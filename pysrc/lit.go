package pysrc

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isIdentStart(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	c := b[0]
	if c < utf8.RuneSelf {
		return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
	}
	r, _ := utf8.DecodeRune(b)
	return unicode.IsLetter(r)
}

func isIdentRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r) || unicode.Is(unicode.Pc, r)
}

func (s *scanner) scanIdent() {
	for !s.eof() {
		r, _ := utf8.DecodeRune(s.src[s.off:])
		if !isIdentRune(r) {
			return
		}
		s.adv()
	}
}

// isStringPrefix reports whether id is a string prefix Python accepts.
func isStringPrefix(id string) bool {
	switch strings.ToLower(id) {
	case "r", "u", "b", "br", "rb", "f", "fr", "rf":
		return true
	}
	return false
}

// scanNumber scans an int, float or imaginary literal, checking its form;
// the parser computes the value.
func (s *scanner) scanNumber() error {
	p := s.pos()
	start := s.off
	bad := func(what string) error {
		return s.errAt(p, "invalid %s literal `%s`", what, s.src[start:s.off])
	}
	// digits scans digits with single underscores between them.
	digits := func(ok func(byte) bool) int {
		n := 0
		for {
			switch c := s.peek(); {
			case ok(c):
				s.adv()
				n++
			case c == '_' && n > 0 && ok(s.peekAt(1)):
				s.adv()
			default:
				return n
			}
		}
	}
	isHex := func(c byte) bool { return isDigit(c) || 'a' <= c|0x20 && c|0x20 <= 'f' }
	isOct := func(c byte) bool { return '0' <= c && c <= '7' }
	isBin := func(c byte) bool { return c == '0' || c == '1' }
	kind := "decimal"
	if s.peek() == '0' && strings.ContainsRune("xXoObB", rune(s.peekAt(1))) && s.peekAt(1) != 0 {
		ok := isHex
		switch s.peekAt(1) | 0x20 {
		case 'x':
			kind = "hexadecimal"
		case 'o':
			kind, ok = "octal", isOct
		case 'b':
			kind, ok = "binary", isBin
		}
		s.adv()
		s.adv()
		if s.peek() == '_' {
			s.adv()
		}
		if digits(ok) == 0 {
			s.adv()
			return bad(kind)
		}
	} else {
		intPart := digits(isDigit)
		isFloat := false
		if s.peek() == '.' {
			isFloat = true
			s.adv()
			digits(isDigit)
		}
		if c := s.peek(); c == 'e' || c == 'E' {
			isFloat = true
			s.adv()
			if c := s.peek(); c == '+' || c == '-' {
				s.adv()
			}
			if digits(isDigit) == 0 {
				s.adv()
				return bad("float")
			}
		}
		if c := s.peek(); c == 'j' || c == 'J' {
			isFloat = true
			s.adv()
		}
		if !isFloat && intPart > 1 && s.src[start] == '0' && strings.Trim(string(s.src[start:s.off]), "0_") != "" {
			return s.errAt(p, "leading zeros in decimal integer literals are not permitted; write `%s` or use an 0o prefix for octal", strings.TrimLeft(string(s.src[start:s.off]), "0_"))
		}
	}
	if s.peek() == '_' || isDigit(s.peek()) || isIdentStart(s.src[s.off:]) && !s.keywordFollows() {
		s.adv()
		return bad(kind)
	}
	s.emit(tNumber, p, string(s.src[start:s.off]))
	return nil
}

// ops lists the operators and delimiters, longest first.
var ops = []string{
	"**=", "//=", ">>=", "<<=", "...",
	"**", "//", ">>", "<<", "<=", ">=", "==", "!=", "->", ":=",
	"+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "@=",
	"+", "-", "*", "/", "%", "@", "&", "|", "^", "~", "<", ">",
	"(", ")", "[", "]", "{", "}", ",", ":", ";", ".", "=",
}

var closing = map[string]string{"(": ")", "[": "]", "{": "}"}

func (s *scanner) scanOp() error {
	p := s.pos()
	rest := s.src[s.off:]
	for _, op := range ops {
		if !strings.HasPrefix(string(rest[:min(len(rest), 3)]), op) {
			continue
		}
		for range op {
			s.adv()
		}
		switch op {
		case "(", "[", "{":
			s.parens = append(s.parens, token{kind: tOp, pos: p, text: op})
		case ")", "]", "}":
			n := len(s.parens)
			if n == 0 || s.expr && n == 1 {
				return s.errAt(p, "unmatched `%s`; remove it or add the opening bracket", op)
			}
			if o := s.parens[n-1]; closing[o.text] != op {
				return s.errAt(p, "closing `%s` does not match `%s` at %s; fix the brackets", op, o.text, o.pos)
			}
			s.parens = s.parens[:n-1]
		}
		s.emit(tOp, p, op)
		return nil
	}
	r, _ := utf8.DecodeRune(rest)
	switch r {
	case '!':
		return s.errAt(p, "unexpected `!`; `!cmd` shell lines must start the line, and `not` is Python's negation")
	case '$', '?', '`':
		return s.errAt(p, "unexpected character %q; this is not Python syntax", r)
	case '‘', '’', '“', '”':
		// Common in code pasted from web pages and word processors.
		return s.errAt(p, "curly quote %q; Python needs straight quotes ' or \"", r)
	case '\u00a0':
		return s.errAt(p, "non-breaking space (U+00A0), probably copied from a web page; replace it with a normal space")
	case '−':
		return s.errAt(p, "Unicode minus sign %q; write -", r)
	}
	return s.errAt(p, "unexpected character %q (U+%04X); remove it", r, r)
}

// scanString scans a string literal whose prefix (already consumed) is
// prefix and whose opening quote is at s.off. start is the literal's
// position, depth the f-string nesting.
func (s *scanner) scanString(prefix string, start Pos, depth int) (*strLit, error) {
	pl := strings.ToLower(prefix)
	raw := strings.Contains(pl, "r")
	lit := &strLit{bytes: strings.Contains(pl, "b"), fstr: strings.Contains(pl, "f")}
	q := s.peek()
	triple := s.peekAt(1) == q && s.peekAt(2) == q
	s.adv()
	if triple {
		s.adv()
		s.adv()
	}
	if lit.fstr {
		if depth >= maxFStringDepth {
			return nil, s.errAt(start, "f-strings nested too deeply; compute the inner values first")
		}
		parts, err := s.scanFPieces(q, triple, raw, false, start, depth)
		lit.parts = parts
		return lit, err
	}
	var buf []byte
	for {
		if s.eof() || !triple && s.peek() == '\n' {
			return nil, s.unterminated(start, triple)
		}
		c := s.peek()
		switch {
		case s.atClose(q, triple):
			s.closeQuote(triple)
			lit.value = string(buf)
			return lit, nil
		case c == '\\' && raw:
			buf = s.rawBackslash(buf, q)
		case c == '\\':
			var err error
			if buf, err = s.escape(buf, lit.bytes); err != nil {
				return nil, err
			}
		default:
			r, n := utf8.DecodeRune(s.src[s.off:])
			if lit.bytes && r >= utf8.RuneSelf {
				return nil, s.errAt(s.pos(), "bytes literal contains the non-ASCII character %q; write it as \\x escapes", r)
			}
			buf = append(buf, s.src[s.off:s.off+n]...)
			s.adv()
		}
	}
}

func (s *scanner) unterminated(start Pos, triple bool) error {
	if triple {
		return s.errAt(start, "unterminated triple-quoted string; close it with the same three quotes")
	}
	return s.errAt(start, "unterminated string; close it on the same line or use triple quotes")
}

func (s *scanner) atClose(q byte, triple bool) bool {
	return s.peek() == q && (!triple || s.peekAt(1) == q && s.peekAt(2) == q)
}

func (s *scanner) closeQuote(triple bool) {
	s.adv()
	if triple {
		s.adv()
		s.adv()
	}
}

// simpleEscapes maps the character after a backslash to its value; a
// backslash-newline continues the string and yields nothing.
var simpleEscapes = map[byte]byte{'\n': 0, '\\': '\\', '\'': '\'', '"': '"', 'a': 7, 'b': 8, 'f': 12, 'n': '\n', 'r': '\r', 't': '\t', 'v': 11}

// escape decodes the escape sequence at s.off (a backslash) onto buf. An
// unknown escape keeps its backslash and leaves the next character for the
// caller, as Python does.
func (s *scanner) escape(buf []byte, bytes bool) ([]byte, error) {
	p := s.pos()
	s.adv()
	if s.eof() {
		return buf, s.errAt(p, "`\\` at the end of the file; close the string")
	}
	c := s.peek()
	if v, ok := simpleEscapes[c]; ok {
		s.adv()
		if c == '\n' {
			return buf, nil
		}
		return append(buf, v), nil
	}
	put := func(v rune) []byte {
		if bytes {
			return append(buf, byte(v))
		}
		return utf8.AppendRune(buf, v)
	}
	hex := func(n int, what string) (rune, error) {
		var v rune
		for i := 0; i < n; i++ {
			d := s.peek()
			switch {
			case isDigit(d):
				v = v*16 + rune(d-'0')
			case 'a' <= d|0x20 && d|0x20 <= 'f':
				v = v*16 + rune(d|0x20-'a'+10)
			default:
				return 0, s.errAt(p, "truncated %s escape; write exactly %d hex digits", what, n)
			}
			s.adv()
		}
		return v, nil
	}
	switch {
	case '0' <= c && c <= '7':
		var v rune
		for i := 0; i < 3 && '0' <= s.peek() && s.peek() <= '7'; i++ {
			v = v*8 + rune(s.peek()-'0')
			s.adv()
		}
		if bytes && v > 0xff {
			return buf, s.errAt(p, "octal escape above \\377 in a bytes literal")
		}
		return put(v), nil
	case c == 'x':
		s.adv()
		v, err := hex(2, "\\x")
		return put(v), err
	case !bytes && (c == 'u' || c == 'U'):
		s.adv()
		n := 4
		if c == 'U' {
			n = 8
		}
		v, err := hex(n, "\\"+string(c))
		if err == nil && v > unicode.MaxRune {
			err = s.errAt(p, "\\U escape beyond U+10FFFF")
		}
		return put(v), err
	case !bytes && c == 'N':
		return buf, s.errAt(p, "`\\N{...}` escapes are not supported; write the character itself or use \\u")
	}
	return append(buf, '\\'), nil
}

// scanFPieces scans f-string text up to the closing quote (consumed) or, in
// a format spec, up to the '}' that ends the field (not consumed).
func (s *scanner) scanFPieces(q byte, triple, raw, spec bool, start Pos, depth int) ([]fpiece, error) {
	var pieces []fpiece
	var buf []byte
	flush := func() {
		if len(buf) > 0 {
			pieces = append(pieces, fpiece{lit: string(buf)})
			buf = nil
		}
	}
	for {
		if s.eof() || !triple && s.peek() == '\n' {
			return nil, s.unterminated(start, triple)
		}
		c := s.peek()
		switch {
		case s.atClose(q, triple):
			if spec {
				return nil, s.errAt(s.pos(), "f-string: expecting `}` before the end of the string")
			}
			s.closeQuote(triple)
			flush()
			return pieces, nil
		case c == '\\' && raw:
			buf = s.rawBackslash(buf, q)
		case c == '\\':
			var err error
			if buf, err = s.escape(buf, false); err != nil {
				return nil, err
			}
		case c == '{' && s.peekAt(1) == '{' && !spec:
			buf = append(buf, '{')
			s.adv()
			s.adv()
		case c == '{':
			flush()
			f, err := s.scanField(q, triple, raw, start, depth+1)
			if err != nil {
				return nil, err
			}
			pieces = append(pieces, fpiece{field: f})
		case c == '}' && spec:
			flush()
			return pieces, nil
		case c == '}' && s.peekAt(1) == '}':
			buf = append(buf, '}')
			s.adv()
			s.adv()
		case c == '}':
			return nil, s.errAt(s.pos(), "f-string: single `}` is not allowed; write `}}` for a literal brace")
		default:
			_, n := utf8.DecodeRune(s.src[s.off:])
			buf = append(buf, s.src[s.off:s.off+n]...)
			s.adv()
		}
	}
}

// scanField scans one replacement field; s.off is at its '{'.
func (s *scanner) scanField(q byte, triple, raw bool, start Pos, depth int) (*ffield, error) {
	if depth >= maxFStringDepth {
		return nil, s.errAt(s.pos(), "f-string fields nested too deeply; compute the inner values first")
	}
	f := &ffield{pos: s.pos()}
	s.adv()
	f.srcPos = s.pos()
	exprStart, exprEnd := s.off, -1
	var nest []byte
	for exprEnd < 0 {
		if s.eof() || !triple && s.peek() == '\n' {
			return nil, s.unterminated(start, triple)
		}
		c := s.peek()
		switch {
		case isIdentStart(s.src[s.off:]):
			p := s.pos()
			idStart := s.off
			s.scanIdent()
			if id := string(s.src[idStart:s.off]); isStringPrefix(id) && (s.peek() == '"' || s.peek() == '\'') {
				if _, err := s.scanString(id, p, depth); err != nil {
					return nil, err
				}
			}
		case c == '"' || c == '\'':
			// A nested string, even in the enclosing quotes (Python 3.12).
			if _, err := s.scanString("", s.pos(), depth); err != nil {
				return nil, err
			}
		case c == '#':
			return nil, s.errAt(s.pos(), "f-string expression cannot include `#`; compute the value before the f-string")
		case c == '\\':
			return nil, s.errAt(s.pos(), "f-string expression cannot include a backslash; compute the value before the f-string")
		case c == '(' || c == '[' || c == '{':
			nest = append(nest, c)
			s.adv()
		case (c == ')' || c == ']' || c == '}') && len(nest) > 0:
			nest = nest[:len(nest)-1]
			s.adv()
		case c == '}' || c == ':' && len(nest) == 0:
			exprEnd = s.off
		case c == '!' && len(nest) == 0 && s.peekAt(1) != '=':
			exprEnd = s.off
		case c == '=' && len(nest) == 0 && s.peekAt(1) != '=' && !strings.ContainsRune("=!<>", rune(s.prevByte())):
			exprEnd = s.off
			s.adv()
			for s.peek() == ' ' || s.peek() == '\t' {
				s.adv()
			}
			f.debug = string(s.src[exprStart:s.off])
			if c := s.peek(); c != '!' && c != ':' && c != '}' {
				return nil, s.errAt(s.pos(), "f-string: expecting `}` after `=`; keyword arguments need a call")
			}
		default:
			s.adv()
		}
	}
	f.src = string(s.src[exprStart:exprEnd])
	if strings.TrimSpace(f.src) == "" {
		return nil, s.errAt(f.pos, "f-string: empty expression `{}`; put an expression inside or write `{{}}` for braces")
	}
	if s.peek() == '!' {
		s.adv()
		switch c := s.peek(); c {
		case 'r', 's', 'a':
			f.conv = c
			s.adv()
		default:
			return nil, s.errAt(s.pos(), "f-string: invalid conversion; write !r, !s or !a")
		}
		if c := s.peek(); c != ':' && c != '}' {
			return nil, s.errAt(s.pos(), "f-string: expecting `:` or `}` after the conversion")
		}
	}
	if s.peek() == ':' {
		s.adv()
		f.hasSpec = true
		spec, err := s.scanFPieces(q, triple, raw, true, start, depth)
		if err != nil {
			return nil, err
		}
		f.spec = spec
	}
	s.adv() // the '}'
	return f, nil
}

func (s *scanner) prevByte() byte {
	if s.off == 0 {
		return 0
	}
	return s.src[s.off-1]
}

// keywordFollows reports whether an operator keyword starts at s.off, as in
// "1if x else 2", which Python still accepts after a number.
func (s *scanner) keywordFollows() bool {
	end := s.off
	for end < len(s.src) && (isDigit(s.src[end]) || isIdentStart(s.src[end:end+1])) {
		end++
	}
	switch string(s.src[s.off:end]) {
	case "and", "else", "for", "if", "in", "is", "not", "or":
		return true
	}
	return false
}

// rawBackslash copies a backslash of a raw string, with the character it
// protects (the quote q, a backslash or a newline) when there is one: a raw
// string keeps both, but that character does not end the string.
func (s *scanner) rawBackslash(buf []byte, q byte) []byte {
	buf = append(buf, '\\')
	s.adv()
	if c := s.peek(); c == q || c == '\\' || c == '\n' {
		buf = append(buf, c)
		s.adv()
	}
	return buf
}
