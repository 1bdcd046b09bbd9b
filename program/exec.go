package program

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/kiln-ml/kiln/pysrc"
)

// Error is an error of a running program, placed at the statement (or
// expression) that raised it: "file:line:col: message".
type Error struct {
	File string
	Pos  pysrc.Pos
	Msg  string
}

// Error formats e as "file:line:col: message".
func (e *Error) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Pos.Line, e.Pos.Col, e.Msg)
}

// at wraps err with pos unless it already has a position.
func (in *Interp) wrap(pos pysrc.Pos, err error) error {
	if err == nil {
		return nil
	}
	var pe *Error
	if errors.As(err, &pe) {
		return err
	}
	var se *pysrc.Error
	if errors.As(err, &se) {
		return err
	}
	return &Error{File: in.File, Pos: pos, Msg: err.Error()}
}

// ctrl is how a block of statements ended.
type ctrl int

const (
	ctrlNone ctrl = iota
	ctrlBreak
	ctrlContinue
	ctrlReturn
)

// scope holds a function call's local names; nil means module level.
type scope struct {
	vars    map[string]Value
	globals map[string]bool // names declared global
}

// maxSteps bounds the statements a program may run, so that a loop kiln
// cannot see the end of does not hang it.
const maxSteps = 10_000_000

// Exec runs a parsed module.
func (in *Interp) Exec(m *pysrc.Module) error {
	if in.mods == nil {
		in.mods = in.modules()
	}
	if _, ok := in.globals["__name__"]; !ok {
		in.globals["__name__"] = "__main__"
	}
	_, _, err := in.block(m.Body, nil)
	in.flushNotes()
	return err
}

// flushNotes prints the imports kiln assumed, as one note.
func (in *Interp) flushNotes() {
	if len(in.pendingImports) > 0 {
		in.note("the program does not import what it uses; kiln assumes:\n    %s", strings.Join(in.pendingImports, "\n    "))
		in.pendingImports = nil
	}
}

func (in *Interp) block(body []pysrc.Stmt, sc *scope) (ctrl, Value, error) {
	for _, s := range body {
		c, v, err := in.stmt(s, sc)
		if err != nil || c != ctrlNone {
			return c, v, err
		}
	}
	return ctrlNone, nil, nil
}

func (in *Interp) stmt(s pysrc.Stmt, sc *scope) (c ctrl, v Value, err error) {
	in.steps++
	if in.steps > maxSteps {
		return ctrlNone, nil, in.wrap(s.Pos(), fmt.Errorf("the program ran %d statements; kiln's reader stops here (an endless loop?)", maxSteps))
	}
	in.at = fmt.Sprintf("%s:%d", in.File, s.Pos().Line)
	if err := in.Ctx.Err(); err != nil {
		return ctrlNone, nil, err
	}
	defer func() { err = in.wrap(s.Pos(), err) }()
	switch s := s.(type) {
	case *pysrc.ExprStmt:
		_, err := in.eval(s.X, sc)
		return ctrlNone, nil, err
	case *pysrc.Assign:
		val, err := in.eval(s.Value, sc)
		if err != nil {
			return ctrlNone, nil, err
		}
		for _, t := range s.Targets {
			if err := in.assign(t, val, sc); err != nil {
				return ctrlNone, nil, err
			}
		}
		return ctrlNone, nil, nil
	case *pysrc.AnnAssign:
		if s.Value == nil {
			return ctrlNone, nil, nil
		}
		val, err := in.eval(s.Value, sc)
		if err != nil {
			return ctrlNone, nil, err
		}
		return ctrlNone, nil, in.assign(s.Target, val, sc)
	case *pysrc.AugAssign:
		cur, err := in.eval(s.Target, sc)
		if err != nil {
			return ctrlNone, nil, err
		}
		val, err := in.eval(s.Value, sc)
		if err != nil {
			return ctrlNone, nil, err
		}
		if l, ok := cur.(*List); ok && s.Op == "+" {
			items, err := iterate(val)
			if err != nil {
				return ctrlNone, nil, err
			}
			l.Items = append(l.Items, items...)
			return ctrlNone, nil, nil
		}
		nv, err := binaryOp(s.Op, cur, val)
		if err != nil {
			return ctrlNone, nil, err
		}
		return ctrlNone, nil, in.assign(s.Target, nv, sc)
	case *pysrc.If:
		cond, err := in.eval(s.Cond, sc)
		if err != nil {
			return ctrlNone, nil, err
		}
		if truth(cond) {
			return in.block(s.Body, sc)
		}
		return in.block(s.Else, sc)
	case *pysrc.For:
		it, err := in.eval(s.Iter, sc)
		if err != nil {
			return ctrlNone, nil, err
		}
		items, err := iterate(it)
		if err != nil {
			return ctrlNone, nil, err
		}
		for _, item := range items {
			if err := in.assign(s.Target, item, sc); err != nil {
				return ctrlNone, nil, err
			}
			c, v, err := in.block(s.Body, sc)
			if err != nil || c == ctrlReturn {
				return c, v, err
			}
			if c == ctrlBreak {
				return ctrlNone, nil, nil
			}
		}
		return in.block(s.Else, sc)
	case *pysrc.While:
		for {
			cond, err := in.eval(s.Cond, sc)
			if err != nil {
				return ctrlNone, nil, err
			}
			if !truth(cond) {
				return in.block(s.Else, sc)
			}
			c, v, err := in.block(s.Body, sc)
			if err != nil || c == ctrlReturn {
				return c, v, err
			}
			if c == ctrlBreak {
				return ctrlNone, nil, nil
			}
		}
	case *pysrc.Break:
		return ctrlBreak, nil, nil
	case *pysrc.Continue:
		return ctrlContinue, nil, nil
	case *pysrc.Pass:
		return ctrlNone, nil, nil
	case *pysrc.Return:
		if sc == nil {
			return ctrlNone, nil, fmt.Errorf("SyntaxError: 'return' outside function")
		}
		var v Value
		if s.Value != nil {
			if v, err = in.eval(s.Value, sc); err != nil {
				return ctrlNone, nil, err
			}
		}
		return ctrlReturn, v, nil
	case *pysrc.FuncDef:
		if len(s.Decorators) > 0 {
			return ctrlNone, nil, fmt.Errorf("decorators are not in kiln's reader; run the program with its own Python (--python)")
		}
		f := &function{def: s, in: in}
		for _, p := range s.Params {
			var d Value = noDefault{}
			if p.Default != nil {
				if d, err = in.eval(p.Default, sc); err != nil {
					return ctrlNone, nil, err
				}
			}
			f.defaults = append(f.defaults, d)
		}
		return ctrlNone, nil, in.setName(s.Name, f, sc)
	case *pysrc.Import:
		for _, a := range s.Names {
			m, err := in.importModule(a.Name)
			if err != nil {
				return ctrlNone, nil, err
			}
			if a.AsName != "" {
				if err := in.setName(a.AsName, m, sc); err != nil {
					return ctrlNone, nil, err
				}
				continue
			}
			// import a.b binds a.
			root, _ := in.importModule(strings.Split(a.Name, ".")[0])
			if err := in.setName(strings.Split(a.Name, ".")[0], root, sc); err != nil {
				return ctrlNone, nil, err
			}
		}
		return ctrlNone, nil, nil
	case *pysrc.ImportFrom:
		if s.Level > 0 {
			return ctrlNone, nil, fmt.Errorf("relative imports are not in kiln's reader; the program must be one file")
		}
		if s.Module == "__future__" {
			return ctrlNone, nil, nil
		}
		m, err := in.importModule(s.Module)
		if err != nil {
			return ctrlNone, nil, err
		}
		for _, a := range s.Names {
			if a.Name == "*" {
				for k, v := range m.Attrs {
					in.globals[k] = v
				}
				continue
			}
			v, err := m.attr(in, a.Name)
			if err != nil {
				return ctrlNone, nil, fmt.Errorf("ImportError: cannot import name '%s' from '%s' (kiln's reader)%s", a.Name, s.Module, m.Missing)
			}
			name := a.Name
			if a.AsName != "" {
				name = a.AsName
			}
			if err := in.setName(name, v, sc); err != nil {
				return ctrlNone, nil, err
			}
		}
		return ctrlNone, nil, nil
	case *pysrc.Magic:
		in.note("%s:%d: skipped the notebook line %q", in.File, s.At.Line, s.Line)
		return ctrlNone, nil, nil
	case *pysrc.Global:
		if sc != nil {
			for _, n := range s.Names {
				sc.globals[n] = true
			}
		}
		return ctrlNone, nil, nil
	case *pysrc.Del:
		for _, t := range s.Targets {
			n, ok := t.(*pysrc.Name)
			if !ok {
				return ctrlNone, nil, fmt.Errorf("del of anything but a name is not in kiln's reader")
			}
			if sc != nil && !sc.globals[n.ID] {
				delete(sc.vars, n.ID)
			} else {
				delete(in.globals, n.ID)
			}
		}
		return ctrlNone, nil, nil
	case *pysrc.Assert:
		t, err := in.eval(s.Test, sc)
		if err != nil {
			return ctrlNone, nil, err
		}
		if !truth(t) {
			msg := ""
			if s.Msg != nil {
				m, err := in.eval(s.Msg, sc)
				if err != nil {
					return ctrlNone, nil, err
				}
				msg = ": " + str(m)
			}
			return ctrlNone, nil, fmt.Errorf("AssertionError%s", msg)
		}
		return ctrlNone, nil, nil
	case *pysrc.Raise:
		msg := "an exception"
		if s.Exc != nil {
			if v, err := in.eval(s.Exc, sc); err == nil {
				msg = str(v)
			}
		}
		return ctrlNone, nil, fmt.Errorf("the program raised %s", msg)
	case *pysrc.ClassDef:
		return ctrlNone, nil, fmt.Errorf("class %s: classes (custom layers, models or callbacks) are not in kiln's reader; run the program with its own Python (--python)", s.Name)
	case *pysrc.Try:
		return ctrlNone, nil, fmt.Errorf("try/except is not in kiln's reader; remove it, or run the program with its own Python (--python)")
	case *pysrc.With:
		return ctrlNone, nil, fmt.Errorf("with blocks are not in kiln's reader; remove it, or run the program with its own Python (--python)")
	case *pysrc.Nonlocal:
		return ctrlNone, nil, fmt.Errorf("nonlocal is not in kiln's reader")
	}
	return ctrlNone, nil, fmt.Errorf("this statement (%T) is not in kiln's reader", s)
}

// noDefault marks a parameter without a default.
type noDefault struct{}

// function is a def of the program.
type function struct {
	def      *pysrc.FuncDef
	defaults []Value
	in       *Interp
}

func (f *function) typeName() string { return "function" }
func (f *function) repr() string     { return "<function " + f.def.Name + ">" }

func (f *function) callValue(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
	in.depth++
	defer func() { in.depth-- }()
	if in.depth > 200 {
		return nil, fmt.Errorf("RecursionError: maximum recursion depth exceeded in %s()", f.def.Name)
	}
	sc := &scope{vars: map[string]Value{}, globals: map[string]bool{}}
	used := map[string]bool{}
	var varargs *pysrc.Param
	var kwargs *pysrc.Param
	next := 0
	for i, p := range f.def.Params {
		switch p.Kind {
		case pysrc.PosOnly, pysrc.Positional:
			if next < len(pos) {
				sc.vars[p.Name] = pos[next]
				used[p.Name] = true
				next++
			} else if _, none := f.defaults[i].(noDefault); !none {
				sc.vars[p.Name] = f.defaults[i]
			}
		case pysrc.VarArgs:
			varargs = p
		case pysrc.KwOnly:
			if _, none := f.defaults[i].(noDefault); !none {
				sc.vars[p.Name] = f.defaults[i]
			}
		case pysrc.KwArgs:
			kwargs = p
		}
	}
	if varargs != nil {
		sc.vars[varargs.Name] = Tuple(append([]Value(nil), pos[next:]...))
	} else if next < len(pos) {
		return nil, fmt.Errorf("TypeError: %s() takes %d positional arguments but %d were given", f.def.Name, next, len(pos))
	}
	extra := NewDict()
	for _, k := range kw {
		known := false
		for _, p := range f.def.Params {
			if p.Name == k.Name && p.Kind != pysrc.VarArgs && p.Kind != pysrc.KwArgs && p.Kind != pysrc.PosOnly {
				known = true
			}
		}
		switch {
		case known && used[k.Name]:
			return nil, fmt.Errorf("TypeError: %s() got multiple values for argument '%s'", f.def.Name, k.Name)
		case known:
			sc.vars[k.Name] = k.Value
			used[k.Name] = true
		case kwargs != nil:
			extra.Set(k.Name, k.Value)
		default:
			return nil, fmt.Errorf("TypeError: %s() got an unexpected keyword argument '%s'", f.def.Name, k.Name)
		}
	}
	if kwargs != nil {
		sc.vars[kwargs.Name] = extra
	}
	for _, p := range f.def.Params {
		if _, ok := sc.vars[p.Name]; !ok {
			return nil, fmt.Errorf("TypeError: %s() missing required argument: '%s'", f.def.Name, p.Name)
		}
	}
	_, v, err := in.block(f.def.Body, sc)
	return v, err
}

// setName binds a name in the current scope.
func (in *Interp) setName(name string, v Value, sc *scope) error {
	if sc != nil && !sc.globals[name] {
		sc.vars[name] = v
		return nil
	}
	in.globals[name] = v
	return nil
}

// lookup finds a name: locals, globals, builtins, then the names kiln
// assumes for a snippet.
func (in *Interp) lookup(name string, sc *scope) (Value, error) {
	if sc != nil && !sc.globals[name] {
		if v, ok := sc.vars[name]; ok {
			return v, nil
		}
	}
	if v, ok := in.globals[name]; ok {
		return v, nil
	}
	if in.builtinNames == nil {
		in.builtinNames = in.builtins()
	}
	if v, ok := in.builtinNames[name]; ok {
		return v, nil
	}
	if v, ok := in.assume(name); ok {
		return v, nil
	}
	// Names a snippet uses without importing them.
	if v, ok := in.implicitImport(name); ok {
		return v, nil
	}
	return nil, fmt.Errorf("NameError: name '%s' is not defined", name)
}

// implicitImport resolves the Keras names a snippet uses without its
// imports (Sequential, Dense, tf, np, keras), with a note.
func (in *Interp) implicitImport(name string) (Value, bool) {
	var v Value
	var from string
	switch name {
	case "tf":
		v, from = in.mods["tensorflow"], "import tensorflow as tf"
	case "keras":
		v, from = in.mods["keras"], "from tensorflow import keras"
	case "np":
		v, from = in.mods["numpy"], "import numpy as np"
	case "plt":
		v, from = in.mods["matplotlib"].Attrs["pyplot"], "import matplotlib.pyplot as plt"
	default:
		for _, path := range []string{"keras.models", "keras.layers", "keras.optimizers", "keras.callbacks", "keras.losses"} {
			m, _ := in.importModule(path)
			if x, ok := m.Attrs[name]; ok {
				v, from = x, "from tensorflow."+path+" import "+name
				break
			}
		}
	}
	if v == nil {
		return nil, false
	}
	in.pendingImports = append(in.pendingImports, from)
	in.globals[name] = v
	return v, true
}

// assign binds val to a target: a name, a tuple/list of targets, or a
// subscript of a list or dict.
func (in *Interp) assign(t pysrc.Expr, val Value, sc *scope) error {
	switch t := t.(type) {
	case *pysrc.Name:
		return in.setName(t.ID, val, sc)
	case *pysrc.Tuple:
		return in.unpack(t.Elts, val, sc)
	case *pysrc.List:
		return in.unpack(t.Elts, val, sc)
	case *pysrc.Subscript:
		obj, err := in.eval(t.X, sc)
		if err != nil {
			return err
		}
		idx, err := in.eval(t.Index, sc)
		if err != nil {
			return err
		}
		switch o := obj.(type) {
		case *Dict:
			return o.Set(idx, val)
		case *List:
			i, ok := idx.(int)
			if !ok {
				return fmt.Errorf("TypeError: list indices must be integers")
			}
			if i < 0 {
				i += len(o.Items)
			}
			if i < 0 || i >= len(o.Items) {
				return fmt.Errorf("IndexError: list assignment index out of range")
			}
			o.Items[i] = val
			return nil
		}
		return fmt.Errorf("assigning into a %s is not in kiln's reader", typeName(obj))
	case *pysrc.Attribute:
		return fmt.Errorf("setting attributes (.%s = ...) is not in kiln's reader; run the program with its own Python (--python)", t.Name)
	case *pysrc.Starred:
		return fmt.Errorf("a starred assignment needs a tuple target")
	}
	return fmt.Errorf("cannot assign to %T", t)
}

func (in *Interp) unpack(targets []pysrc.Expr, val Value, sc *scope) error {
	items, err := iterate(val)
	if err != nil {
		return fmt.Errorf("TypeError: cannot unpack non-iterable %s object", typeName(val))
	}
	star := -1
	for i, t := range targets {
		if _, ok := t.(*pysrc.Starred); ok {
			star = i
		}
	}
	if star < 0 {
		if len(items) != len(targets) {
			if len(items) > len(targets) {
				return fmt.Errorf("ValueError: too many values to unpack (expected %d)", len(targets))
			}
			return fmt.Errorf("ValueError: not enough values to unpack (expected %d, got %d)", len(targets), len(items))
		}
		for i, t := range targets {
			if err := in.assign(t, items[i], sc); err != nil {
				return err
			}
		}
		return nil
	}
	after := len(targets) - star - 1
	if len(items) < star+after {
		return fmt.Errorf("ValueError: not enough values to unpack")
	}
	for i := 0; i < star; i++ {
		if err := in.assign(targets[i], items[i], sc); err != nil {
			return err
		}
	}
	mid := &List{Items: append([]Value(nil), items[star:len(items)-after]...)}
	if err := in.assign(targets[star].(*pysrc.Starred).X, mid, sc); err != nil {
		return err
	}
	for i := 0; i < after; i++ {
		if err := in.assign(targets[star+1+i], items[len(items)-after+i], sc); err != nil {
			return err
		}
	}
	return nil
}

// eval evaluates an expression.
func (in *Interp) eval(e pysrc.Expr, sc *scope) (Value, error) {
	switch e := e.(type) {
	case *pysrc.Name:
		return in.lookup(e.ID, sc)
	case *pysrc.Num:
		switch e.Kind {
		case pysrc.Int:
			if !e.Int.IsInt64() || e.Int.Int64() > math.MaxInt32*int64(1<<20) {
				return nil, fmt.Errorf("the integer %s is too large for kiln's reader", e.Text)
			}
			return int(e.Int.Int64()), nil
		case pysrc.Float:
			return e.Float, nil
		}
		return nil, fmt.Errorf("complex numbers are not in kiln's reader")
	case *pysrc.Str:
		return e.Value, nil
	case *pysrc.Bytes:
		return nil, fmt.Errorf("bytes literals are not in kiln's reader")
	case *pysrc.FString:
		return in.fstring(e, sc)
	case *pysrc.Bool:
		return e.Value, nil
	case *pysrc.None:
		return nil, nil
	case *pysrc.Ellipsis:
		return ellipsis{}, nil
	case *pysrc.Attribute:
		x, err := in.eval(e.X, sc)
		if err != nil {
			return nil, err
		}
		return in.getAttr(x, e.Name)
	case *pysrc.Call:
		return in.evalCall(e, sc)
	case *pysrc.Subscript:
		x, err := in.eval(e.X, sc)
		if err != nil {
			return nil, err
		}
		return in.subscript(x, e.Index, sc)
	case *pysrc.BinOp:
		x, err := in.eval(e.X, sc)
		if err != nil {
			return nil, err
		}
		y, err := in.eval(e.Y, sc)
		if err != nil {
			return nil, err
		}
		return binaryOp(e.Op, x, y)
	case *pysrc.UnaryOp:
		x, err := in.eval(e.X, sc)
		if err != nil {
			return nil, err
		}
		return unaryOp(e.Op, x)
	case *pysrc.BoolOp:
		var v Value
		for _, x := range e.Values {
			var err error
			if v, err = in.eval(x, sc); err != nil {
				return nil, err
			}
			if truth(v) == (e.Op == "or") {
				return v, nil
			}
		}
		return v, nil
	case *pysrc.Compare:
		left, err := in.eval(e.X, sc)
		if err != nil {
			return nil, err
		}
		var result Value = true
		for i, op := range e.Ops {
			right, err := in.eval(e.Ys[i], sc)
			if err != nil {
				return nil, err
			}
			switch op {
			case "is":
				result = left == right || (left == nil && right == nil)
			case "is not":
				result = !(left == right || (left == nil && right == nil))
			default:
				if result, err = binaryOp(op, left, right); err != nil {
					return nil, err
				}
			}
			if _, isArr := result.(*Array); isArr || !truth(result) {
				return result, nil
			}
			left = right
		}
		return result, nil
	case *pysrc.IfExp:
		c, err := in.eval(e.Cond, sc)
		if err != nil {
			return nil, err
		}
		if truth(c) {
			return in.eval(e.Then, sc)
		}
		return in.eval(e.Else, sc)
	case *pysrc.Lambda:
		def := &pysrc.FuncDef{At: e.At, Name: "<lambda>", Params: e.Params, Body: []pysrc.Stmt{&pysrc.Return{At: e.At, Value: e.Body}}}
		f := &function{def: def, in: in}
		for _, p := range e.Params {
			var d Value = noDefault{}
			if p.Default != nil {
				var err error
				if d, err = in.eval(p.Default, sc); err != nil {
					return nil, err
				}
			}
			f.defaults = append(f.defaults, d)
		}
		return f, nil
	case *pysrc.Tuple:
		items, err := in.evalList(e.Elts, sc)
		return Tuple(items), err
	case *pysrc.List:
		items, err := in.evalList(e.Elts, sc)
		return &List{Items: items}, err
	case *pysrc.Set:
		return nil, fmt.Errorf("sets are not in kiln's reader")
	case *pysrc.Dict:
		d := NewDict()
		for i, k := range e.Keys {
			v, err := in.eval(e.Values[i], sc)
			if err != nil {
				return nil, err
			}
			if k == nil {
				src, ok := v.(*Dict)
				if !ok {
					return nil, fmt.Errorf("TypeError: '%s' object is not a mapping", typeName(v))
				}
				for _, kk := range src.keys {
					d.Set(kk, src.m[kk])
				}
				continue
			}
			kv, err := in.eval(k, sc)
			if err != nil {
				return nil, err
			}
			if err := d.Set(kv, v); err != nil {
				return nil, err
			}
		}
		return d, nil
	case *pysrc.ListComp:
		items, err := in.comprehension(e.Gens, sc, func(sc *scope) (Value, error) { return in.eval(e.Elt, sc) })
		return &List{Items: items}, err
	case *pysrc.GeneratorExp:
		items, err := in.comprehension(e.Gens, sc, func(sc *scope) (Value, error) { return in.eval(e.Elt, sc) })
		return &List{Items: items}, err
	case *pysrc.DictComp:
		d := NewDict()
		_, err := in.comprehension(e.Gens, sc, func(sc *scope) (Value, error) {
			k, err := in.eval(e.Key, sc)
			if err != nil {
				return nil, err
			}
			v, err := in.eval(e.Value, sc)
			if err != nil {
				return nil, err
			}
			return nil, d.Set(k, v)
		})
		return d, err
	case *pysrc.SetComp:
		return nil, fmt.Errorf("set comprehensions are not in kiln's reader")
	case *pysrc.Starred:
		return nil, fmt.Errorf("a starred expression is only allowed in a call or a display")
	case *pysrc.NamedExpr:
		v, err := in.eval(e.Value, sc)
		if err != nil {
			return nil, err
		}
		return v, in.setName(e.Target.ID, v, sc)
	case *pysrc.Slice:
		return nil, fmt.Errorf("a slice is only allowed in a subscript")
	}
	return nil, fmt.Errorf("this expression (%T) is not in kiln's reader", e)
}

// ellipsis is Python's ... (in x[..., None]).
type ellipsis struct{}

func (ellipsis) typeName() string { return "ellipsis" }
func (ellipsis) repr() string     { return "Ellipsis" }

func (in *Interp) evalList(es []pysrc.Expr, sc *scope) ([]Value, error) {
	var out []Value
	for _, x := range es {
		if st, ok := x.(*pysrc.Starred); ok {
			v, err := in.eval(st.X, sc)
			if err != nil {
				return nil, err
			}
			items, err := iterate(v)
			if err != nil {
				return nil, err
			}
			out = append(out, items...)
			continue
		}
		v, err := in.eval(x, sc)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// comprehension runs the for/if clauses gens in a scope of their own (as
// Python 3 does) and collects elt for each binding.
func (in *Interp) comprehension(gens []*pysrc.Comprehension, outer *scope, elt func(*scope) (Value, error)) ([]Value, error) {
	sc := &scope{vars: map[string]Value{}, globals: map[string]bool{}}
	if outer != nil {
		for k, v := range outer.vars {
			sc.vars[k] = v
		}
	}
	var out []Value
	var loop func(i int) error
	loop = func(i int) error {
		if i == len(gens) {
			v, err := elt(sc)
			out = append(out, v)
			return err
		}
		g := gens[i]
		it, err := in.eval(g.Iter, sc)
		if err != nil {
			return err
		}
		items, err := iterate(it)
		if err != nil {
			return err
		}
		for _, item := range items {
			if err := in.assign(g.Target, item, sc); err != nil {
				return err
			}
			keep := true
			for _, cond := range g.Ifs {
				c, err := in.eval(cond, sc)
				if err != nil {
					return err
				}
				keep = keep && truth(c)
			}
			if keep {
				if err := loop(i + 1); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return out, loop(0)
}

func (in *Interp) evalCall(e *pysrc.Call, sc *scope) (Value, error) {
	f, err := in.eval(e.Func, sc)
	if err != nil {
		return nil, err
	}
	pos, err := in.evalList(e.Args, sc)
	if err != nil {
		return nil, err
	}
	var kw []Kwarg
	for _, k := range e.Keywords {
		v, err := in.eval(k.Value, sc)
		if err != nil {
			return nil, err
		}
		if k.Name == "" {
			d, ok := v.(*Dict)
			if !ok {
				return nil, fmt.Errorf("TypeError: argument after ** must be a mapping, not %s", typeName(v))
			}
			for _, key := range d.keys {
				ks, ok := key.(string)
				if !ok {
					return nil, fmt.Errorf("TypeError: keywords must be strings")
				}
				kw = append(kw, Kwarg{ks, d.m[key]})
			}
			continue
		}
		kw = append(kw, Kwarg{k.Name, v})
	}
	v, err := in.call(f, pos, kw)
	return v, in.wrap(e.At, err)
}

// subscript is x[index].
func (in *Interp) subscript(x Value, index pysrc.Expr, sc *scope) (Value, error) {
	if sl, ok := index.(*pysrc.Slice); ok {
		lo, hi, step, err := in.sliceBounds(sl, sc)
		if err != nil {
			return nil, err
		}
		return sliceValue(x, lo, hi, step)
	}
	if t, ok := index.(*pysrc.Tuple); ok {
		// x[..., None] / x[..., np.newaxis] / x[:, :, None]: a new last axis.
		a, isArr := x.(*Array)
		if isArr && len(t.Elts) >= 2 {
			last, err := in.eval(t.Elts[len(t.Elts)-1], sc)
			if err == nil && last == nil {
				b := a.clone()
				b.Shape = append(b.Shape, 1)
				if b.values != nil {
					b.values = b.values.Reshaped(b.Shape)
				}
				return b, nil
			}
		}
		return nil, fmt.Errorf("indexing with several axes is not in kiln's reader; only x[..., None] (a channel axis)")
	}
	idx, err := in.eval(index, sc)
	if err != nil {
		return nil, err
	}
	switch o := x.(type) {
	case *Dict:
		v, ok := o.Get(idx)
		if !ok {
			return nil, fmt.Errorf("KeyError: %s", repr(idx))
		}
		return v, nil
	case *Array:
		i, ok := idx.(int)
		if !ok {
			return nil, fmt.Errorf("IndexError: only integers and slices are valid indices in kiln's reader, got %s", repr(idx))
		}
		return o.index(i)
	}
	items, err := seqItems(x)
	if err != nil {
		return nil, err
	}
	i, ok := idx.(int)
	if !ok {
		return nil, fmt.Errorf("TypeError: %s indices must be integers, not %s", typeName(x), typeName(idx))
	}
	if i < 0 {
		i += len(items)
	}
	if i < 0 || i >= len(items) {
		return nil, fmt.Errorf("IndexError: %s index out of range", typeName(x))
	}
	return items[i], nil
}

func seqItems(x Value) ([]Value, error) {
	switch o := x.(type) {
	case Tuple:
		return o, nil
	case *List:
		return o.Items, nil
	case string:
		var out []Value
		for _, r := range o {
			out = append(out, string(r))
		}
		return out, nil
	}
	return nil, fmt.Errorf("TypeError: '%s' object is not subscriptable", typeName(x))
}

func (in *Interp) sliceBounds(sl *pysrc.Slice, sc *scope) (lo, hi, step Value, err error) {
	ev := func(e pysrc.Expr) (Value, error) {
		if e == nil {
			return nil, nil
		}
		return in.eval(e, sc)
	}
	if lo, err = ev(sl.Lo); err != nil {
		return
	}
	if hi, err = ev(sl.Hi); err != nil {
		return
	}
	step, err = ev(sl.Step)
	return
}

func sliceValue(x Value, lo, hi, step Value) (Value, error) {
	if a, ok := x.(*Array); ok {
		if step != nil && step != 1 {
			return nil, fmt.Errorf("slicing arrays with a step is not in kiln's reader")
		}
		return a.slice(lo, hi)
	}
	items, err := seqItems(x)
	if err != nil {
		return nil, err
	}
	n := len(items)
	st := 1
	if step != nil {
		s, ok := step.(int)
		if !ok || s == 0 {
			return nil, fmt.Errorf("ValueError: slice step must be a non-zero integer")
		}
		st = s
	}
	bound := func(v Value, def int) (int, error) {
		if v == nil {
			return def, nil
		}
		i, ok := v.(int)
		if !ok {
			return 0, fmt.Errorf("TypeError: slice indices must be integers or None")
		}
		if i < 0 {
			i += n
		}
		if st > 0 {
			return max(0, min(i, n)), nil
		}
		return max(-1, min(i, n-1)), nil
	}
	var start, stop int
	if st > 0 {
		if start, err = bound(lo, 0); err != nil {
			return nil, err
		}
		if stop, err = bound(hi, n); err != nil {
			return nil, err
		}
	} else {
		if start, err = bound(lo, n-1); err != nil {
			return nil, err
		}
		if stop, err = bound(hi, -1); err != nil {
			return nil, err
		}
	}
	var out []Value
	for i := start; (st > 0 && i < stop) || (st < 0 && i > stop); i += st {
		out = append(out, items[i])
	}
	switch x.(type) {
	case Tuple:
		return Tuple(out), nil
	case string:
		var b strings.Builder
		for _, v := range out {
			b.WriteString(v.(string))
		}
		return b.String(), nil
	}
	return &List{Items: out}, nil
}

// fstring evaluates an f-string.
func (in *Interp) fstring(e *pysrc.FString, sc *scope) (Value, error) {
	var b strings.Builder
	for _, p := range e.Parts {
		switch p := p.(type) {
		case *pysrc.Str:
			b.WriteString(p.Value)
		case *pysrc.FormattedValue:
			v, err := in.eval(p.Value, sc)
			if err != nil {
				return nil, err
			}
			switch p.Conv {
			case 'r', 'a':
				v = repr(v)
			case 's':
				v = str(v)
			}
			spec := ""
			if p.Spec != nil {
				sv, err := in.fstring(p.Spec, sc)
				if err != nil {
					return nil, err
				}
				spec = sv.(string)
			}
			s, err := formatValue(v, spec)
			if err != nil {
				return nil, err
			}
			b.WriteString(s)
		}
	}
	return b.String(), nil
}
