package pysrc

// Inspect walks the tree rooted at n in source order, calling f for each
// node; when f returns false the node's children are skipped. Parts that
// are not Stmt or Expr (Alias, Param, Keyword, WithItem, ExceptHandler,
// Comprehension) are visited too.
func Inspect(n Node, f func(Node) bool) {
	if n == nil || !f(n) {
		return
	}
	exprs := func(es ...Expr) {
		for _, e := range es {
			if e != nil {
				Inspect(e, f)
			}
		}
	}
	stmts := func(ss []Stmt) {
		for _, s := range ss {
			Inspect(s, f)
		}
	}
	params := func(ps []*Param) {
		for _, q := range ps {
			Inspect(q, f)
		}
	}
	keywords := func(ks []*Keyword) {
		for _, k := range ks {
			Inspect(k, f)
		}
	}
	comps := func(cs []*Comprehension) {
		for _, c := range cs {
			Inspect(c, f)
		}
	}
	switch n := n.(type) {
	case *Module:
		stmts(n.Body)
	case *ExprStmt:
		exprs(n.X)
	case *Assign:
		exprs(n.Targets...)
		exprs(n.Value)
	case *AugAssign:
		exprs(n.Target, n.Value)
	case *AnnAssign:
		exprs(n.Target, n.Annotation, n.Value)
	case *Del:
		exprs(n.Targets...)
	case *Return:
		exprs(n.Value)
	case *Import:
		for _, a := range n.Names {
			Inspect(a, f)
		}
	case *ImportFrom:
		for _, a := range n.Names {
			Inspect(a, f)
		}
	case *If:
		exprs(n.Cond)
		stmts(n.Body)
		stmts(n.Else)
	case *For:
		exprs(n.Target, n.Iter)
		stmts(n.Body)
		stmts(n.Else)
	case *While:
		exprs(n.Cond)
		stmts(n.Body)
		stmts(n.Else)
	case *FuncDef:
		exprs(n.Decorators...)
		params(n.Params)
		exprs(n.Returns)
		stmts(n.Body)
	case *ClassDef:
		exprs(n.Decorators...)
		exprs(n.Bases...)
		keywords(n.Keywords)
		stmts(n.Body)
	case *With:
		for _, it := range n.Items {
			Inspect(it, f)
		}
		stmts(n.Body)
	case *WithItem:
		exprs(n.Context, n.Target)
	case *Try:
		stmts(n.Body)
		for _, h := range n.Handlers {
			Inspect(h, f)
		}
		stmts(n.Else)
		stmts(n.Finally)
	case *ExceptHandler:
		exprs(n.Type)
		stmts(n.Body)
	case *Raise:
		exprs(n.Exc, n.Cause)
	case *Assert:
		exprs(n.Test, n.Msg)
	case *Param:
		exprs(n.Annotation, n.Default)
	case *Keyword:
		exprs(n.Value)
	case *Comprehension:
		exprs(n.Target, n.Iter)
		exprs(n.Ifs...)
	case *FString:
		exprs(n.Parts...)
	case *FormattedValue:
		exprs(n.Value)
		if n.Spec != nil {
			Inspect(n.Spec, f)
		}
	case *Attribute:
		exprs(n.X)
	case *Call:
		exprs(n.Func)
		exprs(n.Args...)
		keywords(n.Keywords)
	case *Subscript:
		exprs(n.X, n.Index)
	case *Slice:
		exprs(n.Lo, n.Hi, n.Step)
	case *BinOp:
		exprs(n.X, n.Y)
	case *UnaryOp:
		exprs(n.X)
	case *BoolOp:
		exprs(n.Values...)
	case *Compare:
		exprs(n.X)
		exprs(n.Ys...)
	case *IfExp:
		exprs(n.Then, n.Cond, n.Else)
	case *Lambda:
		params(n.Params)
		exprs(n.Body)
	case *Tuple:
		exprs(n.Elts...)
	case *List:
		exprs(n.Elts...)
	case *Set:
		exprs(n.Elts...)
	case *Dict:
		for i, k := range n.Keys {
			exprs(k, n.Values[i])
		}
	case *ListComp:
		exprs(n.Elt)
		comps(n.Gens)
	case *SetComp:
		exprs(n.Elt)
		comps(n.Gens)
	case *DictComp:
		exprs(n.Key, n.Value)
		comps(n.Gens)
	case *GeneratorExp:
		exprs(n.Elt)
		comps(n.Gens)
	case *Starred:
		exprs(n.X)
	case *NamedExpr:
		exprs(n.Target, n.Value)
	}
}
