package pysrc

import (
	"fmt"
	"strconv"
	"strings"
)

// Dump returns an S-expression form of a node, for debugging and golden
// tests. Statements go on their own lines, indented by block; expressions
// stay on one line. Names print bare, strings quoted, numbers as written.
func Dump(n Node) string {
	d := &dumper{}
	d.node(n)
	return d.b.String()
}

// DumpPos is Dump with each node's position appended as @line:col.
func DumpPos(n Node) string {
	d := &dumper{pos: true}
	d.node(n)
	return d.b.String()
}

type dumper struct {
	b      strings.Builder
	indent int
	pos    bool
}

func (d *dumper) w(s string) { d.b.WriteString(s) }

// open starts "(head" and the position if asked for.
func (d *dumper) open(head string, at Pos) {
	d.w("(" + head)
	d.at(at)
}

func (d *dumper) at(at Pos) {
	if d.pos {
		fmt.Fprintf(&d.b, "@%d:%d", at.Line, at.Col)
	}
}

func (d *dumper) line() {
	d.w("\n" + strings.Repeat("  ", d.indent))
}

func (d *dumper) body(head string, stmts []Stmt) {
	d.indent++
	d.line()
	d.w("(" + head)
	d.indent++
	for _, s := range stmts {
		d.line()
		d.node(s)
	}
	d.indent -= 2
	d.w(")")
}

// exprs writes " e1 e2 ...".
func (d *dumper) exprs(es []Expr) {
	for _, e := range es {
		d.w(" ")
		d.expr(e)
	}
}

// expr writes an expression, "_" for nil.
func (d *dumper) expr(e Expr) {
	if e == nil {
		d.w("_")
		return
	}
	d.node(e)
}

func (d *dumper) params(ps []*Param) {
	d.w("(params")
	for _, q := range ps {
		d.w(" ")
		prefix := map[ParamKind]string{PosOnly: "/", VarArgs: "*", KwOnly: "kw:", KwArgs: "**"}[q.Kind]
		if q.Annotation == nil && q.Default == nil {
			d.w(prefix + q.Name)
			d.at(q.At)
			continue
		}
		d.w("(" + prefix + q.Name)
		d.at(q.At)
		if q.Annotation != nil {
			d.w(" : ")
			d.expr(q.Annotation)
		}
		if q.Default != nil {
			d.w(" = ")
			d.expr(q.Default)
		}
		d.w(")")
	}
	d.w(")")
}

func (d *dumper) keywords(kws []*Keyword) {
	for _, k := range kws {
		if k.Name == "" {
			d.w(" (**")
		} else {
			d.w(" (kw " + k.Name)
		}
		d.at(k.At)
		d.w(" ")
		d.expr(k.Value)
		d.w(")")
	}
}

func (d *dumper) comps(gens []*Comprehension) {
	for _, c := range gens {
		d.w(" ")
		d.open("for", c.At)
		d.w(" ")
		d.expr(c.Target)
		d.w(" ")
		d.expr(c.Iter)
		for _, x := range c.Ifs {
			d.w(" (if ")
			d.expr(x)
			d.w(")")
		}
		d.w(")")
	}
}

func (d *dumper) aliases(names []*Alias) {
	for _, a := range names {
		d.w(" ")
		if a.AsName == "" {
			d.w(a.Name)
			d.at(a.At)
			continue
		}
		d.w("(" + a.Name)
		d.at(a.At)
		d.w(" as " + a.AsName + ")")
	}
}

func (d *dumper) fstring(f *FString) {
	d.open("f", f.At)
	for _, p := range f.Parts {
		d.w(" ")
		d.expr(p)
	}
	d.w(")")
}

func (d *dumper) node(n Node) {
	switch n := n.(type) {
	case *Module:
		d.w("(module")
		d.indent++
		for _, s := range n.Body {
			d.line()
			d.node(s)
		}
		d.indent--
		d.w(")\n")
		return
	// Statements.
	case *ExprStmt:
		d.open("expr", n.At)
		d.exprs([]Expr{n.X})
	case *Assign:
		d.open("=", n.At)
		d.exprs(n.Targets)
		d.exprs([]Expr{n.Value})
	case *AugAssign:
		d.open(n.Op+"=", n.At)
		d.exprs([]Expr{n.Target, n.Value})
	case *AnnAssign:
		d.open("ann", n.At)
		d.exprs([]Expr{n.Target, n.Annotation, n.Value})
	case *Del:
		d.open("del", n.At)
		d.exprs(n.Targets)
	case *Pass:
		d.open("pass", n.At)
	case *Break:
		d.open("break", n.At)
	case *Continue:
		d.open("continue", n.At)
	case *Return:
		d.open("return", n.At)
		if n.Value != nil {
			d.exprs([]Expr{n.Value})
		}
	case *Import:
		d.open("import", n.At)
		d.aliases(n.Names)
	case *ImportFrom:
		d.open("from", n.At)
		d.w(" " + strings.Repeat(".", n.Level) + n.Module)
		d.aliases(n.Names)
	case *If:
		d.open("if", n.At)
		d.exprs([]Expr{n.Cond})
		d.body("then", n.Body)
		if n.Else != nil {
			d.body("else", n.Else)
		}
	case *For:
		d.open("for", n.At)
		d.exprs([]Expr{n.Target, n.Iter})
		d.body("do", n.Body)
		if n.Else != nil {
			d.body("else", n.Else)
		}
	case *While:
		d.open("while", n.At)
		d.exprs([]Expr{n.Cond})
		d.body("do", n.Body)
		if n.Else != nil {
			d.body("else", n.Else)
		}
	case *FuncDef:
		d.open("def "+n.Name, n.At)
		d.w(" ")
		d.params(n.Params)
		if n.Returns != nil {
			d.w(" (-> ")
			d.expr(n.Returns)
			d.w(")")
		}
		if n.Decorators != nil {
			d.w(" (@")
			d.exprs(n.Decorators)
			d.w(")")
		}
		d.body("body", n.Body)
	case *ClassDef:
		d.open("class "+n.Name, n.At)
		d.exprs(n.Bases)
		d.keywords(n.Keywords)
		if n.Decorators != nil {
			d.w(" (@")
			d.exprs(n.Decorators)
			d.w(")")
		}
		d.body("body", n.Body)
	case *With:
		d.open("with", n.At)
		for _, it := range n.Items {
			d.w(" (")
			d.expr(it.Context)
			if it.Target != nil {
				d.w(" as ")
				d.expr(it.Target)
			}
			d.w(")")
		}
		d.body("body", n.Body)
	case *Try:
		d.open("try", n.At)
		d.body("body", n.Body)
		for _, h := range n.Handlers {
			d.indent++
			d.line()
			d.open("except", h.At)
			if h.Type != nil {
				d.exprs([]Expr{h.Type})
			}
			if h.Name != "" {
				d.w(" as " + h.Name)
			}
			d.body("body", h.Body)
			d.w(")")
			d.indent--
		}
		if n.Else != nil {
			d.body("else", n.Else)
		}
		if n.Finally != nil {
			d.body("finally", n.Finally)
		}
	case *Raise:
		d.open("raise", n.At)
		if n.Exc != nil {
			d.exprs([]Expr{n.Exc})
		}
		if n.Cause != nil {
			d.w(" from")
			d.exprs([]Expr{n.Cause})
		}
	case *Assert:
		d.open("assert", n.At)
		d.exprs([]Expr{n.Test})
		if n.Msg != nil {
			d.exprs([]Expr{n.Msg})
		}
	case *Global:
		d.open("global", n.At)
		d.w(" " + strings.Join(n.Names, " "))
	case *Nonlocal:
		d.open("nonlocal", n.At)
		d.w(" " + strings.Join(n.Names, " "))
	case *Magic:
		d.open("magic", n.At)
		d.w(" " + strconv.Quote(n.Line))
	// Expressions.
	case *Name:
		d.w(n.ID)
		d.at(n.At)
		return
	case *Num:
		d.w(n.Text)
		d.at(n.At)
		return
	case *Str:
		d.w(strconv.Quote(n.Value))
		d.at(n.At)
		return
	case *Bytes:
		d.w("b" + strconv.Quote(n.Value))
		d.at(n.At)
		return
	case *Bool:
		d.w(map[bool]string{true: "True", false: "False"}[n.Value])
		d.at(n.At)
		return
	case *None:
		d.w("None")
		d.at(n.At)
		return
	case *Ellipsis:
		d.w("...")
		d.at(n.At)
		return
	case *FString:
		d.fstring(n)
		return
	case *FormattedValue:
		d.open("fmt", n.At)
		d.exprs([]Expr{n.Value})
		if n.Conv != 0 {
			d.w(" !" + string(n.Conv))
		}
		if n.Spec != nil {
			d.w(" ")
			d.fstring(n.Spec)
		}
	case *Attribute:
		d.open(".", n.At)
		d.exprs([]Expr{n.X})
		d.w(" " + n.Name)
	case *Call:
		d.open("call", n.At)
		d.exprs([]Expr{n.Func})
		d.exprs(n.Args)
		d.keywords(n.Keywords)
	case *Subscript:
		d.open("index", n.At)
		d.exprs([]Expr{n.X, n.Index})
	case *Slice:
		d.open("slice", n.At)
		d.exprs([]Expr{n.Lo, n.Hi, n.Step})
	case *BinOp:
		d.open(n.Op, n.At)
		d.exprs([]Expr{n.X, n.Y})
	case *UnaryOp:
		op := n.Op
		if op == "-" || op == "+" {
			op = "u" + op
		}
		d.open(op, n.At)
		d.exprs([]Expr{n.X})
	case *BoolOp:
		d.open(n.Op, n.At)
		d.exprs(n.Values)
	case *Compare:
		d.open("cmp", n.At)
		d.exprs([]Expr{n.X})
		for i, op := range n.Ops {
			d.w(" " + strings.ReplaceAll(op, " ", "-"))
			d.exprs([]Expr{n.Ys[i]})
		}
	case *IfExp:
		d.open("ifexp", n.At)
		d.exprs([]Expr{n.Cond, n.Then, n.Else})
	case *Lambda:
		d.open("lambda", n.At)
		d.w(" ")
		d.params(n.Params)
		d.exprs([]Expr{n.Body})
	case *Tuple:
		d.open("tuple", n.At)
		d.exprs(n.Elts)
	case *List:
		d.open("list", n.At)
		d.exprs(n.Elts)
	case *Set:
		d.open("set", n.At)
		d.exprs(n.Elts)
	case *Dict:
		d.open("dict", n.At)
		for i, k := range n.Keys {
			if k == nil {
				d.w(" (** ")
			} else {
				d.w(" (")
				d.expr(k)
				d.w(" ")
			}
			d.expr(n.Values[i])
			d.w(")")
		}
	case *ListComp:
		d.open("listcomp", n.At)
		d.exprs([]Expr{n.Elt})
		d.comps(n.Gens)
	case *SetComp:
		d.open("setcomp", n.At)
		d.exprs([]Expr{n.Elt})
		d.comps(n.Gens)
	case *DictComp:
		d.open("dictcomp", n.At)
		d.exprs([]Expr{n.Key, n.Value})
		d.comps(n.Gens)
	case *GeneratorExp:
		d.open("genexp", n.At)
		d.exprs([]Expr{n.Elt})
		d.comps(n.Gens)
	case *Starred:
		d.open("*", n.At)
		d.exprs([]Expr{n.X})
	case *NamedExpr:
		d.open(":=", n.At)
		d.exprs([]Expr{n.Target, n.Value})
	default:
		fmt.Fprintf(&d.b, "(?%T)", n)
		return
	}
	d.w(")")
}
