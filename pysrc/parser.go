package pysrc

import (
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
)

// Parse parses a Python 3 module. filename is used only in positions of
// errors. On failure the error is an *Error.
func Parse(filename string, src []byte) (*Module, error) {
	toks, err := tokenize(filename, src)
	if err != nil {
		return nil, err
	}
	p := &parser{file: filename, toks: toks}
	m := &Module{File: filename}
	if err := p.guard(func() { m.Body = p.parseFile() }); err != nil {
		return nil, err
	}
	return m, nil
}

// ParseExpr parses a single expression, such as "x[:, 0] * 2".
func ParseExpr(filename string, src []byte) (Expr, error) {
	toks, err := tokenizeExpr(filename, string(normalize(src)), Pos{1, 1})
	if err != nil {
		return nil, err
	}
	toks[len(toks)-1].text = "" // a plain end of input, not a field's "}"
	p := &parser{file: filename, toks: toks}
	var e Expr
	err = p.guard(func() {
		e = p.parseStarExprs()
		if p.tok().kind != tEOF {
			p.unexpected("after the expression")
		}
	})
	return e, err
}

// maxDepth bounds the nesting of blocks and expressions so that hostile
// input cannot exhaust the stack; Python's own limit is similar.
const maxDepth = 200

// maxIntDigits bounds decimal integer literals, as Python does.
const maxIntDigits = 4300

type parser struct {
	file  string
	toks  []token
	i     int
	depth int
}

// bailout carries an *Error up through panics to guard.
type bailout struct{ err *Error }

func (p *parser) guard(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			b, ok := r.(bailout)
			if !ok {
				panic(r)
			}
			err = b.err
		}
	}()
	f()
	return nil
}

func (p *parser) fail(at Pos, format string, args ...any) {
	panic(bailout{&Error{File: p.file, Line: at.Line, Col: at.Col, Msg: fmt.Sprintf(format, args...)}})
}

func (p *parser) enter() {
	p.depth++
	if p.depth > maxDepth {
		p.fail(p.tok().pos, "nesting deeper than %d levels; split the expression or block", maxDepth)
	}
}

func (p *parser) leave() { p.depth-- }

func (p *parser) tok() token { return p.toks[p.i] }

func (p *parser) peek(k int) token {
	if p.i+k < len(p.toks) {
		return p.toks[p.i+k]
	}
	return p.toks[len(p.toks)-1]
}

func (p *parser) next() token {
	t := p.toks[p.i]
	if p.i < len(p.toks)-1 {
		p.i++
	}
	return t
}

func (p *parser) isOp(op string) bool { t := p.tok(); return t.kind == tOp && t.text == op }

func (p *parser) isKw(kw string) bool { t := p.tok(); return t.kind == tName && t.text == kw }

func (p *parser) gotOp(op string) bool {
	if p.isOp(op) {
		p.next()
		return true
	}
	return false
}

func (p *parser) gotKw(kw string) bool {
	if p.isKw(kw) {
		p.next()
		return true
	}
	return false
}

func (p *parser) expectOp(op, where string) token {
	if t := p.tok(); t.kind == tName && (t.text == "async" || t.text == "await" || t.text == "yield") {
		p.unexpected(where)
	}
	if !p.isOp(op) {
		p.fail(p.tok().pos, "expected `%s` %s, found %s%s", op, where, describe(p.tok()), p.commaHint())
	}
	return p.next()
}

// commaHint suggests a missing comma when an expression starts on a line
// after the previous token, as in a call split over lines.
func (p *parser) commaHint() string {
	t := p.tok()
	if p.i == 0 || !startsExpr(t) {
		return ""
	}
	if prev := p.toks[p.i-1]; prev.pos.Line < t.pos.Line && !(prev.kind == tOp && prev.text == ",") {
		return fmt.Sprintf("; is a comma missing at the end of line %d?", prev.pos.Line)
	}
	return ""
}

// name consumes an identifier that is not a keyword.
func (p *parser) name(where string) token {
	t := p.tok()
	if t.kind != tName || keywords[t.text] {
		p.fail(t.pos, "expected a name %s, found %s", where, describe(t))
	}
	return p.next()
}

func (p *parser) unexpected(where string) {
	t := p.tok()
	switch {
	case t.kind == tIndent:
		p.fail(t.pos, "unexpected indent %s; line this up with the lines around it", where)
	case t.kind == tName && t.text == "yield":
		p.fail(t.pos, "`yield` is not supported; kiln runs plain scripts: build and return a list instead of a generator")
	case t.kind == tName && t.text == "await":
		p.fail(t.pos, "`await` is not supported%s", hintPython)
	case t.kind == tName && t.text == "async":
		p.fail(t.pos, "`async` is not supported%s", hintPython)
	case t.kind == tOp && t.text == ":=":
		p.fail(t.pos, "`:=` is only allowed inside parentheses or conditions; write `=` for an assignment")
	}
	p.fail(t.pos, "unexpected %s %s", describe(t), where)
}

var keywords = map[string]bool{}

func init() {
	for _, k := range strings.Fields(`False None True and as assert async await break class
		continue def del elif else except finally for from global if import in is lambda
		nonlocal not or pass raise return try while with yield`) {
		keywords[k] = true
	}
}

// describe names a token for error messages.
func describe(t token) string {
	switch t.kind {
	case tEOF:
		if t.text != "" {
			return "`" + t.text + "`"
		}
		return "end of file"
	case tNewline:
		return "end of line"
	case tIndent:
		return "indent"
	case tDedent:
		return "end of block"
	case tNumber:
		return "number `" + t.text + "`"
	case tString:
		return "string " + clip(t.text)
	case tMagic:
		return "`" + clip(t.text) + "`"
	case tName:
		if keywords[t.text] {
			return "keyword `" + t.text + "`"
		}
		return "name `" + t.text + "`"
	}
	return "`" + t.text + "`"
}

func clip(s string) string {
	if r := []rune(s); len(r) > 20 {
		return string(r[:17]) + "..."
	}
	return s
}

// atEnd reports whether the current token ends a simple statement.
func (p *parser) atEnd() bool {
	t := p.tok()
	return t.kind == tNewline || t.kind == tEOF || t.kind == tOp && t.text == ";"
}

// startsExpr reports whether t can begin an expression.
func startsExpr(t token) bool {
	switch t.kind {
	case tNumber, tString:
		return true
	case tName:
		switch t.text {
		case "True", "False", "None", "not", "lambda", "await", "yield":
			return true
		}
		return !keywords[t.text]
	case tOp:
		switch t.text {
		case "(", "[", "{", "-", "+", "~", "*", "...":
			return true
		}
	}
	return false
}

// Statements.

func (p *parser) parseFile() []Stmt {
	var body []Stmt
	for p.tok().kind != tEOF {
		if p.tok().kind == tNewline {
			p.next()
			continue
		}
		body = append(body, p.parseStatement()...)
	}
	return body
}

func (p *parser) parseStatement() []Stmt {
	t := p.tok()
	switch t.kind {
	case tMagic:
		p.next()
		p.endLine("the `" + clip(t.text) + "` line")
		return []Stmt{&Magic{At: t.pos, Line: t.text}}
	case tIndent:
		p.unexpected("at the start of a statement")
	case tOp:
		if t.text == "@" {
			return []Stmt{p.parseDecorated()}
		}
	case tName:
		switch t.text {
		case "if":
			return []Stmt{p.parseIf()}
		case "while":
			return []Stmt{p.parseWhile()}
		case "for":
			return []Stmt{p.parseFor()}
		case "try":
			return []Stmt{p.parseTry()}
		case "with":
			return []Stmt{p.parseWith()}
		case "def":
			return []Stmt{p.parseDef(t.pos, nil)}
		case "class":
			return []Stmt{p.parseClass(t.pos, nil)}
		case "async":
			p.fail(t.pos, "`async %s` is not supported%s", p.peek(1).text, hintPython)
		case "elif", "else", "except", "finally":
			p.fail(t.pos, "`%s` does not follow a matching block at the same indentation; check the indentation", t.text)
		case "match":
			if p.looksLikeMatch() {
				p.fail(t.pos, "`match` statements are not supported; kiln runs plain scripts: rewrite it with if/elif or run the program with --python")
			}
		case "type":
			if n := p.peek(1); n.kind == tName && !keywords[n.text] && (p.peek(2).text == "=" || p.peek(2).text == "[") && p.peek(2).kind == tOp {
				p.fail(t.pos, "`type` alias statements are not supported%s", hintPython)
			}
		}
	}
	return p.parseSimpleStmts()
}

// notMatchSubject lists tokens that, right after the name match, show an
// expression statement or assignment rather than a match statement.
var notMatchSubject = map[string]bool{"=": true, ".": true, ":": true, ";": true, ",": true,
	")": true, "]": true, "}": true, "+": true, "-": true, "*": true, "/": true, "%": true,
	"@": true, "&": true, "|": true, "^": true, "<": true, ">": true, "==": true, "!=": true,
	"<=": true, ">=": true, "**": true, "//": true, "<<": true, ">>": true, ":=": true}

// looksLikeMatch tells a match statement from an expression using the name
// match: the line ends with ':' and an indented block follows.
func (p *parser) looksLikeMatch() bool {
	n := p.peek(1)
	if n.kind == tNewline || n.kind == tEOF || n.kind == tOp && (notMatchSubject[n.text] || augOps[n.text]) {
		return false
	}
	// Stop at ";" too, so that many statements on one line stay linear.
	for k := p.i + 1; k < len(p.toks)-1; k++ {
		if t := p.toks[k]; t.kind == tOp && t.text == ";" {
			return false
		}
		if p.toks[k].kind == tNewline {
			return p.toks[k-1].kind == tOp && p.toks[k-1].text == ":" && p.toks[k+1].kind == tIndent
		}
	}
	return false
}

func (p *parser) endLine(what string) {
	t := p.tok()
	if t.kind == tEOF {
		return
	}
	if t.kind != tNewline {
		p.fail(t.pos, "expected the end of the line after %s, found %s", what, describe(t))
	}
	p.next()
}

func (p *parser) parseSimpleStmts() []Stmt {
	var out []Stmt
	for {
		out = append(out, p.parseSmall())
		if t := p.tok(); !p.atEnd() && (t.kind == tOp && t.text == ":=" || t.kind == tName && (t.text == "async" || t.text == "await" || t.text == "yield")) {
			p.unexpected("after the statement")
		} else if !p.atEnd() && startsExpr(t) && t.kind != tOp {
			p.fail(t.pos, "unexpected %s after an expression; is an operator or comma missing?", describe(t))
		}
		if !p.gotOp(";") || p.tok().kind == tNewline || p.tok().kind == tEOF {
			break
		}
	}
	p.endLine("the statement")
	return out
}

var augOps = map[string]bool{"+=": true, "-=": true, "*=": true, "/=": true, "//=": true, "%=": true,
	"**=": true, "@=": true, "&=": true, "|=": true, "^=": true, "<<=": true, ">>=": true}

func (p *parser) parseSmall() Stmt {
	t := p.tok()
	at := t.pos
	if t.kind == tName {
		switch t.text {
		case "pass":
			p.next()
			return &Pass{At: at}
		case "break":
			p.next()
			return &Break{At: at}
		case "continue":
			p.next()
			return &Continue{At: at}
		case "return":
			p.next()
			r := &Return{At: at}
			if !p.atEnd() {
				r.Value = p.parseStarExprs()
			}
			return r
		case "raise":
			p.next()
			r := &Raise{At: at}
			if !p.atEnd() {
				r.Exc = p.parseTest()
				if p.gotKw("from") {
					r.Cause = p.parseTest()
				}
			}
			return r
		case "global", "nonlocal":
			p.next()
			var names []string
			for {
				names = append(names, p.name("after `"+t.text+"`").text)
				if !p.gotOp(",") {
					break
				}
			}
			if t.text == "global" {
				return &Global{At: at, Names: names}
			}
			return &Nonlocal{At: at, Names: names}
		case "del":
			p.next()
			d := &Del{At: at}
			for {
				e := p.parseBitOr()
				p.checkDel(e)
				d.Targets = append(d.Targets, e)
				if !p.gotOp(",") || p.atEnd() {
					break
				}
			}
			return d
		case "assert":
			p.next()
			a := &Assert{At: at, Test: p.parseTest()}
			if p.gotOp(",") {
				a.Msg = p.parseTest()
			}
			return a
		case "import":
			return p.parseImport()
		case "from":
			return p.parseFrom()
		case "print":
			if n := p.peek(1); n.kind == tString || n.kind == tNumber || n.kind == tName && !keywords[n.text] {
				p.fail(at, "`print x` is Python 2; write print(x) with parentheses")
			}
		}
	}
	e := p.parseStarExprs()
	switch op := p.tok(); {
	case op.kind == tOp && op.text == ":":
		p.next()
		p.checkSingleTarget(e, "an annotation")
		a := &AnnAssign{At: at, Target: e, Annotation: p.parseTest()}
		if p.gotOp("=") {
			a.Value = p.parseStarExprs()
		}
		return a
	case op.kind == tOp && augOps[op.text]:
		p.next()
		p.checkSingleTarget(e, "`"+op.text+"`")
		return &AugAssign{At: at, Target: e, Op: strings.TrimSuffix(op.text, "="), Value: p.parseStarExprs()}
	case op.kind == tOp && op.text == "=":
		a := &Assign{At: at}
		for p.gotOp("=") {
			p.checkTarget(e, true)
			a.Targets = append(a.Targets, e)
			e = p.parseStarExprs()
		}
		p.noBareStar(e)
		a.Value = e
		return a
	}
	p.noBareStar(e)
	return &ExprStmt{At: at, X: e}
}

func (p *parser) noBareStar(e Expr) {
	if s, ok := e.(*Starred); ok {
		p.fail(s.At, "a starred expression cannot stand alone here; add a comma to make a tuple: `*x,`")
	}
}

// describeExpr names the kind of an expression for error messages.
func describeExpr(e Expr) string {
	switch e := e.(type) {
	case *Call:
		return "a function call"
	case *Num, *Str, *Bytes, *FString, *Bool, *None, *Ellipsis:
		return "a literal"
	case *BinOp, *UnaryOp:
		return "an expression"
	case *BoolOp:
		return "an `" + e.Op + "` expression"
	case *Compare:
		return "a comparison"
	case *IfExp:
		return "a conditional expression"
	case *Lambda:
		return "a lambda"
	case *Dict, *Set:
		return "a dict or set display"
	case *ListComp, *SetComp, *DictComp, *GeneratorExp:
		return "a comprehension"
	case *NamedExpr:
		return "a `:=` expression"
	case *Starred:
		return "a starred expression"
	case *Tuple:
		return "a tuple"
	case *List:
		return "a list"
	}
	return "this expression"
}

// checkTarget checks an assignment, for or with target. top says e is the
// whole target, where a starred expression needs a tuple or list around it.
func (p *parser) checkTarget(e Expr, top bool) {
	switch e := e.(type) {
	case *Name, *Attribute, *Subscript:
		return
	case *Tuple, *List:
		var elts []Expr
		if t, ok := e.(*Tuple); ok {
			elts = t.Elts
		} else {
			elts = e.(*List).Elts
		}
		stars := 0
		for _, x := range elts {
			if s, ok := x.(*Starred); ok {
				stars++
				if stars > 1 {
					p.fail(s.At, "two starred targets in one assignment; keep one `*name`")
				}
				p.checkTarget(s.X, false)
				continue
			}
			p.checkTarget(x, false)
		}
		return
	case *Starred:
		if top {
			p.fail(e.At, "a starred target must be in a tuple or list; add a comma: `*x, = ...`")
		}
	}
	p.fail(e.Pos(), "cannot assign to %s; assign to a name, attribute, subscript, or a tuple of them", describeExpr(e))
}

func (p *parser) checkSingleTarget(e Expr, what string) {
	switch e.(type) {
	case *Name, *Attribute, *Subscript:
		return
	}
	p.fail(e.Pos(), "cannot use %s with %s on the left; use a single name, attribute or subscript", what, describeExpr(e))
}

func (p *parser) checkDel(e Expr) {
	switch e := e.(type) {
	case *Name, *Attribute, *Subscript:
		return
	case *Tuple:
		for _, x := range e.Elts {
			p.checkDel(x)
		}
		return
	case *List:
		for _, x := range e.Elts {
			p.checkDel(x)
		}
		return
	}
	p.fail(e.Pos(), "cannot delete %s; del takes names, attributes and subscripts", describeExpr(e))
}

func (p *parser) dottedName(where string) string {
	n := p.name(where).text
	for p.gotOp(".") {
		n += "." + p.name("after `.` "+where).text
	}
	return n
}

func (p *parser) parseImport() Stmt {
	at := p.next().pos
	s := &Import{At: at}
	for {
		a := &Alias{At: p.tok().pos, Name: p.dottedName("in the import")}
		if p.gotKw("as") {
			a.AsName = p.name("after `as`").text
		}
		s.Names = append(s.Names, a)
		if !p.gotOp(",") {
			return s
		}
	}
}

func (p *parser) parseFrom() Stmt {
	at := p.next().pos
	s := &ImportFrom{At: at}
	for {
		if p.gotOp(".") {
			s.Level++
		} else if p.gotOp("...") {
			s.Level += 3
		} else {
			break
		}
	}
	if s.Level == 0 || !p.isKw("import") {
		s.Module = p.dottedName("of the module after `from`")
	}
	if !p.gotKw("import") {
		p.fail(p.tok().pos, "expected `import` after `from %s`, found %s", s.Module, describe(p.tok()))
	}
	if t := p.tok(); p.gotOp("*") {
		s.Names = []*Alias{{At: t.pos, Name: "*"}}
		return s
	}
	paren := p.gotOp("(")
	for {
		a := &Alias{At: p.tok().pos, Name: p.name("to import").text}
		if p.gotKw("as") {
			a.AsName = p.name("after `as`").text
		}
		s.Names = append(s.Names, a)
		if !p.gotOp(",") {
			break
		}
		if paren && p.isOp(")") {
			break
		}
	}
	if paren {
		p.expectOp(")", "to close the import list")
	}
	return s
}

// parseBlock parses ":" and a suite: statements on the same line, or an
// indented block. what names the statement that owns the block.
func (p *parser) parseBlock(what string, at Pos) []Stmt {
	p.enter()
	defer p.leave()
	p.expectOp(":", "to end the `"+what+"` line")
	if p.tok().kind != tNewline {
		return p.parseSimpleStmts()
	}
	p.next()
	if p.tok().kind != tIndent {
		p.fail(p.tok().pos, "expected an indented block after `%s` at line %d; indent the block's lines (or write `pass`)", what, at.Line)
	}
	p.next()
	var body []Stmt
	for p.tok().kind != tDedent && p.tok().kind != tEOF {
		body = append(body, p.parseStatement()...)
	}
	p.next()
	return body
}

func (p *parser) parseIf() Stmt {
	t := p.next()
	s := &If{At: t.pos, Cond: p.parseNamedExpr()}
	s.Body = p.parseBlock(t.text, t.pos)
	switch e := p.tok(); {
	case e.kind == tName && e.text == "elif":
		s.Else = []Stmt{p.parseIf()}
	case e.kind == tName && e.text == "else":
		p.next()
		s.Else = p.parseBlock("else", e.pos)
	}
	return s
}

func (p *parser) parseElse() []Stmt {
	if e := p.tok(); p.gotKw("else") {
		return p.parseBlock("else", e.pos)
	}
	return nil
}

func (p *parser) parseWhile() Stmt {
	t := p.next()
	s := &While{At: t.pos, Cond: p.parseNamedExpr()}
	s.Body = p.parseBlock("while", t.pos)
	s.Else = p.parseElse()
	return s
}

func (p *parser) parseFor() Stmt {
	t := p.next()
	s := &For{At: t.pos, Target: p.parseTargetList()}
	if !p.gotKw("in") {
		p.fail(p.tok().pos, "expected `in` after the `for` target, found %s", describe(p.tok()))
	}
	s.Iter = p.parseStarExprs()
	s.Body = p.parseBlock("for", t.pos)
	s.Else = p.parseElse()
	return s
}

func (p *parser) parseTry() Stmt {
	t := p.next()
	s := &Try{At: t.pos, Body: p.parseBlock("try", t.pos)}
	for p.isKw("except") {
		e := p.next()
		if p.isOp("*") {
			p.fail(p.tok().pos, "`except*` is not supported; catch the exception group with plain `except`")
		}
		h := &ExceptHandler{At: e.pos}
		if !p.isOp(":") {
			h.Type = p.parseTest()
			if p.isOp(",") {
				p.fail(p.tok().pos, "several exception types need parentheses: `except (A, B):`")
			}
			if p.gotKw("as") {
				h.Name = p.name("after `as`").text
			}
		}
		h.Body = p.parseBlock("except", e.pos)
		s.Handlers = append(s.Handlers, h)
	}
	if len(s.Handlers) > 0 {
		s.Else = p.parseElse()
	}
	if f := p.tok(); p.gotKw("finally") {
		s.Finally = p.parseBlock("finally", f.pos)
	}
	if len(s.Handlers) == 0 && s.Finally == nil {
		p.fail(p.tok().pos, "`try` at line %d needs an `except` or `finally` block", t.pos.Line)
	}
	return s
}

func (p *parser) parseWith() Stmt {
	t := p.next()
	s := &With{At: t.pos}
	// Python 3.9+ allows the items in parentheses; try that first.
	if p.isOp("(") {
		save := p.i
		var items []*WithItem
		if p.guard(func() {
			p.next()
			for !p.isOp(")") {
				items = append(items, p.parseWithItem())
				if !p.gotOp(",") {
					break
				}
			}
			p.expectOp(")", "to close the with items")
			p.expectOp(":", "to end the `with` line")
		}) == nil && len(items) > 0 {
			p.i--
			s.Items = items
			s.Body = p.parseBlock("with", t.pos)
			return s
		}
		p.i = save
	}
	for {
		s.Items = append(s.Items, p.parseWithItem())
		if !p.gotOp(",") {
			break
		}
	}
	s.Body = p.parseBlock("with", t.pos)
	return s
}

func (p *parser) parseWithItem() *WithItem {
	w := &WithItem{Context: p.parseTest()}
	if p.gotKw("as") {
		w.Target = p.parseBitOr()
		p.checkTarget(w.Target, true)
	}
	return w
}

func (p *parser) parseDecorated() Stmt {
	at := p.tok().pos
	var decos []Expr
	for p.gotOp("@") {
		decos = append(decos, p.parseNamedExpr())
		p.endLine("the decorator")
	}
	switch t := p.tok(); {
	case t.kind == tName && t.text == "def":
		return p.parseDef(at, decos)
	case t.kind == tName && t.text == "class":
		return p.parseClass(at, decos)
	case t.kind == tName && t.text == "async":
		p.fail(t.pos, "`async def` is not supported%s", hintPython)
	}
	p.fail(p.tok().pos, "a decorator must be followed by `def` or `class`, found %s", describe(p.tok()))
	return nil
}

func (p *parser) parseDef(at Pos, decos []Expr) Stmt {
	t := p.next()
	s := &FuncDef{At: at, Decorators: decos, Name: p.name("after `def`").text}
	if p.isOp("[") {
		p.fail(p.tok().pos, "type parameters `def %s[...]` are not supported; remove them", s.Name)
	}
	p.expectOp("(", "after the function name")
	s.Params = p.parseParams(")", true)
	p.expectOp(")", "to close the parameters")
	if p.gotOp("->") {
		s.Returns = p.parseTest()
	}
	s.Body = p.parseBlock("def", t.pos)
	return s
}

func (p *parser) parseClass(at Pos, decos []Expr) Stmt {
	t := p.next()
	s := &ClassDef{At: at, Decorators: decos, Name: p.name("after `class`").text}
	if p.isOp("[") {
		p.fail(p.tok().pos, "type parameters `class %s[...]` are not supported; remove them", s.Name)
	}
	if p.gotOp("(") {
		s.Bases, s.Keywords = p.parseArgs()
	}
	s.Body = p.parseBlock("class", t.pos)
	return s
}

// parseParams parses parameters up to (not including) the closer ")" of a
// def or ":" of a lambda; annotations only in a def.
func (p *parser) parseParams(closer string, annotations bool) []*Param {
	var ps []*Param
	seen := map[string]bool{}
	kwOnly, sawDefault, sawSlash, bareStar := false, false, false, false
	for !p.isOp(closer) {
		t := p.tok()
		switch {
		case p.gotOp("/"):
			if sawSlash || kwOnly || len(ps) == 0 {
				p.fail(t.pos, "`/` must follow at least one parameter, once, before `*`")
			}
			sawSlash = true
			for _, q := range ps {
				q.Kind = PosOnly
			}
		case p.isOp("**"):
			p.next()
			q := p.param(KwArgs, annotations, seen)
			if q.Default != nil {
				p.fail(q.At, "`**%s` cannot have a default", q.Name)
			}
			ps = append(ps, q)
			p.gotOp(",")
			if !p.isOp(closer) {
				p.fail(p.tok().pos, "`**%s` must be the last parameter", q.Name)
			}
			return ps
		case p.isOp("*"):
			p.next()
			if kwOnly {
				p.fail(t.pos, "only one `*` is allowed in the parameters")
			}
			kwOnly = true
			if p.isOp(",") || p.isOp(closer) {
				bareStar = true
				break
			}
			q := p.param(VarArgs, annotations, seen)
			if q.Default != nil {
				p.fail(q.At, "`*%s` cannot have a default", q.Name)
			}
			ps = append(ps, q)
		default:
			kind := Positional
			if kwOnly {
				kind = KwOnly
			}
			q := p.param(kind, annotations, seen)
			if kind == Positional {
				if q.Default != nil {
					sawDefault = true
				} else if sawDefault {
					p.fail(q.At, "parameter `%s` without a default follows one with a default; give it a default or move it first", q.Name)
				}
			}
			bareStar = false
			ps = append(ps, q)
		}
		if !p.gotOp(",") {
			break
		}
	}
	if bareStar {
		p.fail(p.tok().pos, "a bare `*` must be followed by keyword-only parameters")
	}
	return ps
}

func (p *parser) param(kind ParamKind, annotations bool, seen map[string]bool) *Param {
	t := p.name("for the parameter")
	if seen[t.text] {
		p.fail(t.pos, "duplicate parameter `%s`; rename one", t.text)
	}
	seen[t.text] = true
	q := &Param{At: t.pos, Kind: kind, Name: t.text}
	if annotations && p.gotOp(":") {
		q.Annotation = p.parseTest()
	}
	if p.gotOp("=") {
		q.Default = p.parseTest()
	}
	return q
}

// Expressions.

// parseStarExprs parses comma-separated expressions, starred allowed; more
// than one, or a trailing comma, makes a Tuple.
func (p *parser) parseStarExprs() Expr {
	start := p.tok().pos
	first := p.parseStarExpr()
	if !p.isOp(",") {
		return first
	}
	t := &Tuple{At: start, Elts: []Expr{first}}
	for p.gotOp(",") && startsExpr(p.tok()) {
		t.Elts = append(t.Elts, p.parseStarExpr())
	}
	return t
}

func (p *parser) parseStarExpr() Expr {
	if t := p.tok(); p.gotOp("*") {
		return &Starred{At: t.pos, X: p.parseBitOr()}
	}
	return p.parseTest()
}

// parseStarNamed parses an element of a display or call: *x or a named
// expression.
func (p *parser) parseStarNamed() Expr {
	if t := p.tok(); p.gotOp("*") {
		return &Starred{At: t.pos, X: p.parseBitOr()}
	}
	return p.parseNamedExpr()
}

// parseTargetList parses the targets of a for loop or comprehension, which
// stop before `in`.
func (p *parser) parseTargetList() Expr {
	start := p.tok().pos
	one := func() Expr {
		if t := p.tok(); p.gotOp("*") {
			return &Starred{At: t.pos, X: p.parseBitOr()}
		}
		return p.parseBitOr()
	}
	e := one()
	if p.isOp(",") {
		t := &Tuple{At: start, Elts: []Expr{e}}
		for p.gotOp(",") && !p.isKw("in") {
			t.Elts = append(t.Elts, one())
		}
		e = t
	}
	p.checkTarget(e, true)
	return e
}

func (p *parser) parseNamedExpr() Expr {
	if t := p.tok(); t.kind == tName && !keywords[t.text] && p.peek(1).kind == tOp && p.peek(1).text == ":=" {
		p.next()
		p.next()
		return &NamedExpr{At: t.pos, Target: &Name{At: t.pos, ID: t.text}, Value: p.parseTest()}
	}
	return p.parseTest()
}

// parseTest parses a full expression: a conditional expression or lambda.
func (p *parser) parseTest() Expr {
	start := p.tok().pos
	p.enter()
	defer p.leave()
	if p.isKw("lambda") {
		return p.parseLambda()
	}
	x := p.parseOr()
	if p.gotKw("if") {
		cond := p.parseOr()
		if !p.gotKw("else") {
			p.fail(p.tok().pos, "expected `else` in the conditional expression `a if cond else b`, found %s", describe(p.tok()))
		}
		return &IfExp{At: start, Cond: cond, Then: x, Else: p.parseTest()}
	}
	return x
}

func (p *parser) parseLambda() Expr {
	t := p.next()
	l := &Lambda{At: t.pos, Params: p.parseParams(":", false)}
	p.expectOp(":", "after the lambda parameters")
	l.Body = p.parseTest()
	return l
}

func (p *parser) parseOr() Expr {
	start := p.tok().pos
	x := p.parseAnd()
	if !p.isKw("or") {
		return x
	}
	b := &BoolOp{At: start, Op: "or", Values: []Expr{x}}
	for p.gotKw("or") {
		b.Values = append(b.Values, p.parseAnd())
	}
	return b
}

func (p *parser) parseAnd() Expr {
	start := p.tok().pos
	x := p.parseNot()
	if !p.isKw("and") {
		return x
	}
	b := &BoolOp{At: start, Op: "and", Values: []Expr{x}}
	for p.gotKw("and") {
		b.Values = append(b.Values, p.parseNot())
	}
	return b
}

func (p *parser) parseNot() Expr {
	if t := p.tok(); p.gotKw("not") {
		p.enter()
		defer p.leave()
		return &UnaryOp{At: t.pos, Op: "not", X: p.parseNot()}
	}
	return p.parseComparison()
}

// compOp consumes a comparison operator, returning "" if there is none.
func (p *parser) compOp() string {
	t := p.tok()
	switch {
	case t.kind == tOp:
		switch t.text {
		case "<", ">", "==", ">=", "<=", "!=":
			p.next()
			return t.text
		}
	case t.kind == tName && t.text == "in":
		p.next()
		return "in"
	case t.kind == tName && t.text == "not" && p.peek(1).kind == tName && p.peek(1).text == "in":
		p.next()
		p.next()
		return "not in"
	case t.kind == tName && t.text == "is":
		p.next()
		if p.gotKw("not") {
			return "is not"
		}
		return "is"
	}
	return ""
}

func (p *parser) parseComparison() Expr {
	start := p.tok().pos
	x := p.parseBitOr()
	op := p.compOp()
	if op == "" {
		return x
	}
	c := &Compare{At: start, X: x}
	for ; op != ""; op = p.compOp() {
		c.Ops = append(c.Ops, op)
		c.Ys = append(c.Ys, p.parseBitOr())
	}
	return c
}

// binLevels lists binary operators from loosest to tightest binding.
var binLevels = [][]string{{"|"}, {"^"}, {"&"}, {"<<", ">>"}, {"+", "-"}, {"*", "/", "//", "%", "@"}}

func (p *parser) parseBitOr() Expr { return p.parseBin(0) }

func (p *parser) parseBin(level int) Expr {
	start := p.tok().pos
	if level == len(binLevels) {
		return p.parseFactor()
	}
	x := p.parseBin(level + 1)
	for {
		t := p.tok()
		if t.kind != tOp || !slices.Contains(binLevels[level], t.text) {
			return x
		}
		p.next()
		x = &BinOp{At: start, Op: t.text, OpPos: t.pos, X: x, Y: p.parseBin(level + 1)}
	}
}

func (p *parser) parseFactor() Expr {
	t := p.tok()
	start := t.pos
	if t.kind == tOp && (t.text == "-" || t.text == "+" || t.text == "~") {
		p.next()
		p.enter()
		defer p.leave()
		return &UnaryOp{At: t.pos, Op: t.text, X: p.parseFactor()}
	}
	x := p.parsePrimary()
	if t := p.tok(); p.gotOp("**") {
		p.enter()
		defer p.leave()
		return &BinOp{At: start, Op: "**", OpPos: t.pos, X: x, Y: p.parseFactor()}
	}
	return x
}

func (p *parser) parsePrimary() Expr {
	start := p.tok().pos
	x := p.parseAtom()
	for {
		switch {
		case p.gotOp("."):
			n := p.name("after `.`")
			x = &Attribute{At: start, X: x, Name: n.text, NamePos: n.pos}
		case p.gotOp("("):
			args, kws := p.parseArgs()
			x = &Call{At: start, Func: x, Args: args, Keywords: kws}
		case p.gotOp("["):
			x = &Subscript{At: start, X: x, Index: p.parseSubscript()}
		default:
			return x
		}
	}
}

// parseArgs parses call arguments after "(" through ")".
func (p *parser) parseArgs() ([]Expr, []*Keyword) {
	var args []Expr
	var kws []*Keyword
	seen := map[string]bool{}
	unpacked := false
	for !p.isOp(")") {
		t := p.tok()
		switch {
		case p.gotOp("*"):
			args = append(args, &Starred{At: t.pos, X: p.parseTest()})
		case p.gotOp("**"):
			kws = append(kws, &Keyword{At: t.pos, Value: p.parseTest()})
			unpacked = true
		case t.kind == tName && !keywords[t.text] && p.peek(1).kind == tOp && p.peek(1).text == "=":
			p.next()
			p.next()
			if seen[t.text] {
				p.fail(t.pos, "keyword argument `%s` repeated; pass it once", t.text)
			}
			seen[t.text] = true
			kws = append(kws, &Keyword{At: t.pos, Name: t.text, Value: p.parseTest()})
		default:
			e := p.parseNamedExpr()
			if p.isKw("for") {
				e = &GeneratorExp{At: e.Pos(), Elt: e, Gens: p.parseComps()}
				if len(args) > 0 || len(kws) > 0 || !p.isOp(")") {
					p.fail(e.Pos(), "a generator expression must be the only argument or be in parentheses")
				}
			}
			if unpacked {
				p.fail(e.Pos(), "positional argument follows `**` unpacking; move it before")
			}
			if len(kws) > 0 {
				p.fail(e.Pos(), "positional argument follows keyword argument; move it before the keyword arguments")
			}
			args = append(args, e)
		}
		if !p.gotOp(",") {
			break
		}
	}
	if !p.isOp(")") {
		if p.tok().kind == tOp && p.tok().text == "=" {
			p.fail(p.tok().pos, "`=` in a call needs a plain name on its left (keyword argument); use `==` to compare")
		}
		p.fail(p.tok().pos, "expected `,` or `)` in the call's arguments, found %s%s", describe(p.tok()), p.commaHint())
	}
	p.next()
	return args, kws
}

// parseSubscript parses the index after "[" through "]".
func (p *parser) parseSubscript() Expr {
	if p.isOp("]") {
		p.fail(p.tok().pos, "empty subscript `[]`; put an index or slice inside")
	}
	start := p.tok().pos
	first := p.parseSliceItem()
	if !p.isOp(",") {
		p.expectOp("]", "to close the subscript")
		return first
	}
	t := &Tuple{At: start, Elts: []Expr{first}}
	for p.gotOp(",") && !p.isOp("]") {
		t.Elts = append(t.Elts, p.parseSliceItem())
	}
	p.expectOp("]", "to close the subscript")
	return t
}

func (p *parser) parseSliceItem() Expr {
	at := p.tok().pos
	var lo Expr
	if !p.isOp(":") {
		lo = p.parseStarNamed()
		if !p.isOp(":") {
			return lo
		}
	}
	p.next()
	s := &Slice{At: at, Lo: lo}
	if !p.isOp(":") && !p.isOp("]") && !p.isOp(",") {
		s.Hi = p.parseTest()
	}
	if p.gotOp(":") && !p.isOp("]") && !p.isOp(",") {
		s.Step = p.parseTest()
	}
	return s
}

// parseComps parses one or more "for ... in ... if ..." clauses.
func (p *parser) parseComps() []*Comprehension {
	var gens []*Comprehension
	for p.isKw("for") {
		t := p.next()
		c := &Comprehension{At: t.pos, Target: p.parseTargetList()}
		if !p.gotKw("in") {
			p.fail(p.tok().pos, "expected `in` after the comprehension's `for` target, found %s", describe(p.tok()))
		}
		c.Iter = p.parseOr()
		for p.gotKw("if") {
			c.Ifs = append(c.Ifs, p.parseOr())
		}
		gens = append(gens, c)
		if p.isKw("async") {
			p.fail(p.tok().pos, "`async for` is not supported%s", hintPython)
		}
	}
	return gens
}

func (p *parser) parseAtom() Expr {
	t := p.tok()
	switch t.kind {
	case tName:
		switch t.text {
		case "True", "False":
			p.next()
			return &Bool{At: t.pos, Value: t.text == "True"}
		case "None":
			p.next()
			return &None{At: t.pos}
		}
		if keywords[t.text] {
			p.unexpected("where an expression should be")
		}
		p.next()
		return &Name{At: t.pos, ID: t.text}
	case tNumber:
		p.next()
		return p.number(t)
	case tString:
		return p.parseStrings()
	case tOp:
		switch t.text {
		case "(":
			return p.parseParen()
		case "[":
			return p.parseList()
		case "{":
			return p.parseBrace()
		case "...":
			p.next()
			return &Ellipsis{At: t.pos}
		}
	case tNewline, tEOF:
		p.fail(t.pos, "unexpected %s; expected an expression", describe(t))
	}
	p.unexpected("where an expression should be")
	return nil
}

func (p *parser) parseParen() Expr {
	t := p.next()
	if p.gotOp(")") {
		return &Tuple{At: t.pos}
	}
	first := p.parseStarNamed()
	if p.isKw("for") {
		if _, ok := first.(*Starred); ok {
			p.fail(first.Pos(), "a starred expression cannot be a generator's element")
		}
		g := &GeneratorExp{At: t.pos, Elt: first, Gens: p.parseComps()}
		p.expectOp(")", "to close the generator expression")
		return g
	}
	if p.gotOp(")") {
		p.noBareStar(first)
		return first
	}
	tup := &Tuple{At: t.pos, Elts: []Expr{first}}
	p.expectOp(",", "or `)` in the parentheses")
	for !p.isOp(")") {
		tup.Elts = append(tup.Elts, p.parseStarNamed())
		if !p.gotOp(",") {
			break
		}
	}
	p.expectOp(")", "to close the tuple")
	return tup
}

func (p *parser) parseList() Expr {
	t := p.next()
	l := &List{At: t.pos}
	if p.gotOp("]") {
		return l
	}
	first := p.parseStarNamed()
	if p.isKw("for") {
		c := &ListComp{At: t.pos, Elt: first, Gens: p.parseComps()}
		p.expectOp("]", "to close the list comprehension")
		return c
	}
	l.Elts = append(l.Elts, first)
	for p.gotOp(",") && !p.isOp("]") {
		l.Elts = append(l.Elts, p.parseStarNamed())
	}
	p.expectOp("]", "or `,` in the list")
	return l
}

func (p *parser) parseBrace() Expr {
	t := p.next()
	if p.gotOp("}") {
		return &Dict{At: t.pos}
	}
	if p.isOp("**") || !p.isOp("*") {
		d := &Dict{At: t.pos}
		var first Expr
		if p.gotOp("**") {
			d.Keys = append(d.Keys, nil)
			d.Values = append(d.Values, p.parseBitOr())
		} else {
			first = p.parseNamedExpr()
			if p.gotOp(":") {
				v := p.parseTest()
				if p.isKw("for") {
					c := &DictComp{At: t.pos, Key: first, Value: v, Gens: p.parseComps()}
					p.expectOp("}", "to close the dict comprehension")
					return c
				}
				d.Keys = append(d.Keys, first)
				d.Values = append(d.Values, v)
			} else {
				return p.parseSetRest(t.pos, first)
			}
		}
		for p.gotOp(",") && !p.isOp("}") {
			if p.gotOp("**") {
				d.Keys = append(d.Keys, nil)
				d.Values = append(d.Values, p.parseBitOr())
				continue
			}
			k := p.parseTest()
			p.expectOp(":", "after the dict key")
			d.Keys = append(d.Keys, k)
			d.Values = append(d.Values, p.parseTest())
		}
		p.expectOp("}", "or `,` in the dict")
		return d
	}
	return p.parseSetRest(t.pos, p.parseStarNamed())
}

func (p *parser) parseSetRest(at Pos, first Expr) Expr {
	if p.isKw("for") {
		c := &SetComp{At: at, Elt: first, Gens: p.parseComps()}
		p.expectOp("}", "to close the set comprehension")
		return c
	}
	s := &Set{At: at, Elts: []Expr{first}}
	for p.gotOp(",") && !p.isOp("}") {
		s.Elts = append(s.Elts, p.parseStarNamed())
	}
	p.expectOp("}", "or `,` in the set")
	return s
}

func (p *parser) number(t token) Expr {
	text := strings.ReplaceAll(t.text, "_", "")
	n := &Num{At: t.pos, Text: t.text}
	lower := strings.ToLower(text)
	switch {
	case strings.HasSuffix(lower, "j"):
		n.Kind = Imag
		n.Float, _ = strconv.ParseFloat(text[:len(text)-1], 64)
	case !strings.HasPrefix(lower, "0x") && strings.ContainsAny(lower, ".e"):
		n.Kind = Float
		// An overflowing literal is ±Inf, as in Python; the error is moot.
		n.Float, _ = strconv.ParseFloat(text, 64)
	default:
		// Python's limit too; it keeps the conversion below quadratic blowup.
		if len(lower) > maxIntDigits && !strings.HasPrefix(lower, "0x") && !strings.HasPrefix(lower, "0b") && !strings.HasPrefix(lower, "0o") {
			p.fail(t.pos, "integer literal with %d digits exceeds the limit of %d; write it as a float or compute it", len(lower), maxIntDigits)
		}
		n.Int = new(big.Int)
		if len(lower) > 1 && lower[0] == '0' && lower[1] >= '0' && lower[1] <= '9' {
			lower = "0" // "00": the scanner allows only zeros here
		}
		if _, ok := n.Int.SetString(lower, 0); !ok {
			p.fail(t.pos, "invalid integer literal `%s`", t.text)
		}
	}
	return n
}

// parseStrings joins adjacent string literals into one Str, Bytes or
// FString.
func (p *parser) parseStrings() Expr {
	first := p.tok()
	var toks []token
	for p.tok().kind == tString {
		t := p.next()
		if t.str.bytes != first.str.bytes {
			p.fail(t.pos, "cannot join bytes and str literals; make both bytes (b\"\") or both str")
		}
		toks = append(toks, t)
	}
	fstr := false
	for _, t := range toks {
		fstr = fstr || t.str.fstr
	}
	if !fstr {
		var b strings.Builder
		for _, t := range toks {
			b.WriteString(t.str.value)
		}
		if first.str.bytes {
			return &Bytes{At: first.pos, Value: b.String()}
		}
		return &Str{At: first.pos, Value: b.String()}
	}
	f := &FString{At: first.pos}
	for _, t := range toks {
		if !t.str.fstr {
			f.Parts = appendLit(f.Parts, t.pos, t.str.value)
			continue
		}
		f.Parts = p.fparts(f.Parts, t.pos, t.str.parts)
	}
	f.Parts = mergeLits(f.Parts)
	return f
}

// appendLit appends literal text as a Str; mergeLits joins runs of them
// afterwards, in linear time however many literals there are.
func appendLit(parts []Expr, at Pos, s string) []Expr {
	if s == "" {
		return parts
	}
	return append(parts, &Str{At: at, Value: s})
}

func mergeLits(parts []Expr) []Expr {
	var out []Expr
	for i := 0; i < len(parts); {
		first, ok := parts[i].(*Str)
		if !ok {
			out = append(out, parts[i])
			i++
			continue
		}
		var b strings.Builder
		for ; i < len(parts); i++ {
			s, ok := parts[i].(*Str)
			if !ok {
				break
			}
			b.WriteString(s.Value)
		}
		out = append(out, &Str{At: first.At, Value: b.String()})
	}
	return out
}

func (p *parser) fparts(parts []Expr, at Pos, pieces []fpiece) []Expr {
	for _, pc := range pieces {
		if pc.field == nil {
			parts = appendLit(parts, at, pc.lit)
			continue
		}
		f := pc.field
		if f.debug != "" {
			parts = appendLit(parts, f.srcPos, f.debug)
		}
		v := &FormattedValue{At: f.pos, Value: p.fieldExpr(f), Conv: f.conv}
		if f.hasSpec {
			v.Spec = &FString{At: f.pos, Parts: mergeLits(p.fparts(nil, f.pos, f.spec))}
		}
		if f.debug != "" && f.conv == 0 && !f.hasSpec {
			v.Conv = 'r'
		}
		parts = append(parts, v)
	}
	return parts
}

// fieldExpr parses the expression of an f-string field with a nested
// parser that shares the depth limit.
func (p *parser) fieldExpr(f *ffield) Expr {
	toks, err := tokenizeExpr(p.file, f.src, f.srcPos)
	if err != nil {
		panic(bailout{err.(*Error)})
	}
	sub := &parser{file: p.file, toks: toks, depth: p.depth + 1}
	sub.enter()
	e := sub.parseStarExprs()
	if t := sub.tok(); t.kind != tEOF {
		sub.fail(t.pos, "unexpected %s in the f-string field; end it with `}`", describe(t))
	}
	return e
}
