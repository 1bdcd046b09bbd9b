package pysrc

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Format prints a node as Python source that parses back to the same tree.
// Compound expressions are fully parenthesized and f-string fields may
// reuse the enclosing quotes (Python 3.12 syntax), so the output is for
// messages, debugging and round-trip tests rather than for people.
func Format(n Node) string {
	f := &formatter{}
	switch n := n.(type) {
	case *Module:
		f.stmts(n.Body)
	case Stmt:
		f.stmt(n)
	case Expr:
		f.x(n)
	default:
		f.b.WriteString(fmt.Sprintf("<%T>", n))
	}
	return f.b.String()
}

type formatter struct {
	b      strings.Builder
	indent int
}

func (f *formatter) w(ss ...string) {
	for _, s := range ss {
		f.b.WriteString(s)
	}
}

// open starts a line at the current indentation.
func (f *formatter) open() { f.w(strings.Repeat("    ", f.indent)) }

func (f *formatter) stmts(ss []Stmt) {
	for _, s := range ss {
		f.stmt(s)
	}
}

// block ends a header line and writes an indented body.
func (f *formatter) block(body []Stmt) {
	f.w(":\n")
	f.indent++
	f.stmts(body)
	f.indent--
}

// kwBlock writes "else:", "try:" and the like with their bodies.
func (f *formatter) kwBlock(kw string, body []Stmt) {
	f.open()
	f.w(kw)
	f.block(body)
}

func (f *formatter) list(es []Expr) {
	for i, e := range es {
		if i > 0 {
			f.w(", ")
		}
		f.x(e)
	}
}

func (f *formatter) aliases(as []*Alias) {
	for i, a := range as {
		if i > 0 {
			f.w(", ")
		}
		f.w(a.Name)
		if a.AsName != "" {
			f.w(" as ", a.AsName)
		}
	}
}

func (f *formatter) stmt(s Stmt) {
	f.open()
	switch s := s.(type) {
	case *ExprStmt:
		f.x(s.X)
	case *Assign:
		for _, t := range s.Targets {
			f.x(t)
			f.w(" = ")
		}
		f.x(s.Value)
	case *AugAssign:
		f.x(s.Target)
		f.w(" ", s.Op, "= ")
		f.x(s.Value)
	case *AnnAssign:
		f.x(s.Target)
		f.w(": ")
		f.x(s.Annotation)
		if s.Value != nil {
			f.w(" = ")
			f.x(s.Value)
		}
	case *Del:
		f.w("del ")
		f.list(s.Targets)
	case *Pass:
		f.w("pass")
	case *Break:
		f.w("break")
	case *Continue:
		f.w("continue")
	case *Return:
		f.w("return")
		if s.Value != nil {
			f.w(" ")
			f.x(s.Value)
		}
	case *Import:
		f.w("import ")
		f.aliases(s.Names)
	case *ImportFrom:
		f.w("from ", strings.Repeat(".", s.Level), s.Module, " import ")
		f.aliases(s.Names)
	case *If:
		f.w("if ")
		f.x(s.Cond)
		f.block(s.Body)
		if s.Else != nil {
			f.kwBlock("else", s.Else)
		}
		return
	case *For:
		f.w("for ")
		f.x(s.Target)
		f.w(" in ")
		f.x(s.Iter)
		f.block(s.Body)
		if s.Else != nil {
			f.kwBlock("else", s.Else)
		}
		return
	case *While:
		f.w("while ")
		f.x(s.Cond)
		f.block(s.Body)
		if s.Else != nil {
			f.kwBlock("else", s.Else)
		}
		return
	case *FuncDef:
		f.decorators(s.Decorators)
		f.w("def ", s.Name, "(")
		f.params(s.Params)
		f.w(")")
		if s.Returns != nil {
			f.w(" -> ")
			f.x(s.Returns)
		}
		f.block(s.Body)
		return
	case *ClassDef:
		f.decorators(s.Decorators)
		f.w("class ", s.Name, "(")
		f.args(s.Bases, s.Keywords)
		f.w(")")
		f.block(s.Body)
		return
	case *With:
		f.w("with ")
		for i, it := range s.Items {
			if i > 0 {
				f.w(", ")
			}
			f.x(it.Context)
			if it.Target != nil {
				f.w(" as ")
				f.x(it.Target)
			}
		}
		f.block(s.Body)
		return
	case *Try:
		f.w("try")
		f.block(s.Body)
		for _, h := range s.Handlers {
			f.open()
			f.w("except")
			if h.Type != nil {
				f.w(" ")
				f.x(h.Type)
			}
			if h.Name != "" {
				f.w(" as ", h.Name)
			}
			f.block(h.Body)
		}
		if s.Else != nil {
			f.kwBlock("else", s.Else)
		}
		if s.Finally != nil {
			f.kwBlock("finally", s.Finally)
		}
		return
	case *Raise:
		f.w("raise")
		if s.Exc != nil {
			f.w(" ")
			f.x(s.Exc)
		}
		if s.Cause != nil {
			f.w(" from ")
			f.x(s.Cause)
		}
	case *Assert:
		f.w("assert ")
		f.x(s.Test)
		if s.Msg != nil {
			f.w(", ")
			f.x(s.Msg)
		}
	case *Global:
		f.w("global ", strings.Join(s.Names, ", "))
	case *Nonlocal:
		f.w("nonlocal ", strings.Join(s.Names, ", "))
	case *Magic:
		f.w(s.Line)
	default:
		f.w(fmt.Sprintf("<%T>", s))
	}
	f.w("\n")
}

// decorators writes one line per decorator and indents the def or class
// line that follows.
func (f *formatter) decorators(ds []Expr) {
	for _, d := range ds {
		f.w("@")
		f.x(d)
		f.w("\n")
		f.open()
	}
}

func (f *formatter) params(ps []*Param) {
	star := false
	for i, q := range ps {
		if i > 0 {
			f.w(", ")
		}
		if q.Kind == KwOnly && !star {
			f.w("*, ")
		}
		switch q.Kind {
		case VarArgs:
			f.w("*")
		case KwArgs:
			f.w("**")
		}
		star = star || q.Kind == VarArgs || q.Kind == KwOnly || q.Kind == KwArgs
		f.w(q.Name)
		if q.Annotation != nil {
			f.w(": ")
			f.x(q.Annotation)
		}
		if q.Default != nil {
			f.w("=")
			f.x(q.Default)
		}
		if q.Kind == PosOnly && (i+1 == len(ps) || ps[i+1].Kind != PosOnly) {
			f.w(", /")
		}
	}
}

func (f *formatter) args(args []Expr, kws []*Keyword) {
	f.list(args)
	for i, k := range kws {
		if i > 0 || len(args) > 0 {
			f.w(", ")
		}
		if k.Name == "" {
			f.w("**")
		} else {
			f.w(k.Name, "=")
		}
		f.x(k.Value)
	}
}

// primary writes e for use before ".", "(" or "[".
func (f *formatter) primary(e Expr) {
	switch e.(type) {
	case *Name, *Attribute, *Call, *Subscript:
		f.x(e)
		return
	}
	f.w("(")
	f.x(e)
	f.w(")")
}

func (f *formatter) comps(gens []*Comprehension) {
	for _, c := range gens {
		f.w(" for ")
		f.x(c.Target)
		f.w(" in ")
		f.x(c.Iter)
		for _, x := range c.Ifs {
			f.w(" if ")
			f.x(x)
		}
	}
}

// x writes an expression.
func (f *formatter) x(e Expr) {
	switch e := e.(type) {
	case nil:
	case *Name:
		f.w(e.ID)
	case *Num:
		f.w(e.Text)
	case *Str:
		f.w(quoteStr(e.Value))
	case *Bytes:
		f.w(quoteBytes(e.Value))
	case *FString:
		f.w(`f"`)
		f.fparts(e.Parts, false)
		f.w(`"`)
	case *Bool:
		if e.Value {
			f.w("True")
		} else {
			f.w("False")
		}
	case *None:
		f.w("None")
	case *Ellipsis:
		f.w("...")
	case *Attribute:
		f.primary(e.X)
		f.w(".", e.Name)
	case *Call:
		f.primary(e.Func)
		f.w("(")
		f.args(e.Args, e.Keywords)
		f.w(")")
	case *Subscript:
		f.primary(e.X)
		f.w("[")
		if t, ok := e.Index.(*Tuple); ok && len(t.Elts) > 0 {
			// No parentheses: slices are not allowed inside them.
			f.list(t.Elts)
			if len(t.Elts) == 1 {
				f.w(",")
			}
		} else {
			f.x(e.Index)
		}
		f.w("]")
	case *Slice:
		f.x(e.Lo)
		f.w(":")
		f.x(e.Hi)
		if e.Step != nil {
			f.w(":")
			f.x(e.Step)
		}
	case *BinOp:
		f.w("(")
		f.x(e.X)
		f.w(" ", e.Op, " ")
		f.x(e.Y)
		f.w(")")
	case *UnaryOp:
		f.w("(", e.Op, " ")
		f.x(e.X)
		f.w(")")
	case *BoolOp:
		f.w("(")
		for i, v := range e.Values {
			if i > 0 {
				f.w(" ", e.Op, " ")
			}
			f.x(v)
		}
		f.w(")")
	case *Compare:
		f.w("(")
		f.x(e.X)
		for i, op := range e.Ops {
			f.w(" ", op, " ")
			f.x(e.Ys[i])
		}
		f.w(")")
	case *IfExp:
		f.w("(")
		f.x(e.Then)
		f.w(" if ")
		f.x(e.Cond)
		f.w(" else ")
		f.x(e.Else)
		f.w(")")
	case *Lambda:
		f.w("(lambda ")
		f.params(e.Params)
		f.w(": ")
		f.x(e.Body)
		f.w(")")
	case *Tuple:
		f.w("(")
		f.list(e.Elts)
		if len(e.Elts) == 1 {
			f.w(",")
		}
		f.w(")")
	case *List:
		f.w("[")
		f.list(e.Elts)
		f.w("]")
	case *Set:
		f.w("{")
		f.list(e.Elts)
		f.w("}")
	case *Dict:
		f.w("{")
		for i, k := range e.Keys {
			if i > 0 {
				f.w(", ")
			}
			if k == nil {
				f.w("**")
			} else {
				f.x(k)
				f.w(": ")
			}
			f.x(e.Values[i])
		}
		f.w("}")
	case *ListComp:
		f.w("[")
		f.x(e.Elt)
		f.comps(e.Gens)
		f.w("]")
	case *SetComp:
		f.w("{")
		f.x(e.Elt)
		f.comps(e.Gens)
		f.w("}")
	case *DictComp:
		f.w("{")
		f.x(e.Key)
		f.w(": ")
		f.x(e.Value)
		f.comps(e.Gens)
		f.w("}")
	case *GeneratorExp:
		f.w("(")
		f.x(e.Elt)
		f.comps(e.Gens)
		f.w(")")
	case *Starred:
		f.w("*")
		f.x(e.X)
	case *NamedExpr:
		f.w("(", e.Target.ID, " := ")
		f.x(e.Value)
		f.w(")")
	default:
		f.w(fmt.Sprintf("<%T>", e))
	}
}

// fparts writes f-string parts between the quotes; spec says they are a
// format spec, where braces are never doubled.
func (f *formatter) fparts(parts []Expr, spec bool) {
	for _, p := range parts {
		switch p := p.(type) {
		case *Str:
			s := quoteStr(p.Value)
			s = s[1 : len(s)-1]
			if !spec {
				s = strings.NewReplacer("{", "{{", "}", "}}").Replace(s)
			}
			f.w(s)
		case *FormattedValue:
			// Spaces keep a leading "{" of a display apart from the field's.
			f.w("{ ")
			f.x(p.Value)
			f.w(" ")
			if p.Conv != 0 {
				f.w("!", string(p.Conv))
			}
			if p.Spec != nil {
				f.w(":")
				f.fparts(p.Spec.Parts, true)
			}
			f.w("}")
		}
	}
}

// quoteStr quotes s as a Python string literal in double quotes.
func quoteStr(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteString("\\" + string(r))
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r == utf8.RuneError || !unicode.IsPrint(r) && r > 0x7f:
			fmt.Fprintf(&b, `\U%08x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// quoteBytes quotes s as a Python bytes literal.
func quoteBytes(s string) string {
	var b strings.Builder
	b.WriteString(`b"`)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteString("\\" + string(c))
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&b, `\x%02x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
