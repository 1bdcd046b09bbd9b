package pysrc

import "math/big"

// Node is any node of the syntax tree.
type Node interface {
	// Pos is where the node starts in the source.
	Pos() Pos
}

// Stmt is a statement node.
type Stmt interface {
	Node
	stmtNode()
}

// Expr is an expression node.
type Expr interface {
	Node
	exprNode()
}

// Module is a parsed file.
type Module struct {
	File string
	Body []Stmt
}

// Pos returns the start of the file.
func (m *Module) Pos() Pos { return Pos{1, 1} }

// Statements.
type (
	// ExprStmt is an expression evaluated for its effect, such as a call or
	// a docstring.
	ExprStmt struct {
		At Pos
		X  Expr
	}

	// Assign is Targets[0] = Targets[1] = ... = Value. A target is a Name,
	// Attribute, Subscript, Starred, or a Tuple or List of targets.
	Assign struct {
		At      Pos
		Targets []Expr
		Value   Expr
	}

	// AugAssign is Target Op= Value; Op is the binary operator, such as "+".
	AugAssign struct {
		At     Pos
		Target Expr
		Op     string
		Value  Expr
	}

	// AnnAssign is Target: Annotation [= Value]; Value may be nil.
	AnnAssign struct {
		At         Pos
		Target     Expr
		Annotation Expr
		Value      Expr
	}

	// Del is del Targets.
	Del struct {
		At      Pos
		Targets []Expr
	}

	// Pass is pass.
	Pass struct{ At Pos }

	// Break is break.
	Break struct{ At Pos }

	// Continue is continue.
	Continue struct{ At Pos }

	// Return is return [Value]; Value may be nil.
	Return struct {
		At    Pos
		Value Expr
	}

	// Import is import a.b as c, d.
	Import struct {
		At    Pos
		Names []*Alias
	}

	// ImportFrom is from Module import Names, with Level leading dots. A
	// star import has one Alias named "*".
	ImportFrom struct {
		At     Pos
		Module string
		Level  int
		Names  []*Alias
	}

	// If is if Cond: Body else: Else. An elif is an If alone in Else.
	If struct {
		At   Pos
		Cond Expr
		Body []Stmt
		Else []Stmt
	}

	// For is for Target in Iter: Body else: Else.
	For struct {
		At     Pos
		Target Expr
		Iter   Expr
		Body   []Stmt
		Else   []Stmt
	}

	// While is while Cond: Body else: Else.
	While struct {
		At   Pos
		Cond Expr
		Body []Stmt
		Else []Stmt
	}

	// FuncDef is a def statement. Returns (the -> annotation) may be nil.
	FuncDef struct {
		At         Pos
		Decorators []Expr
		Name       string
		Params     []*Param
		Returns    Expr
		Body       []Stmt
	}

	// ClassDef is a class statement; Bases holds positional and Keywords
	// keyword arguments of the class header.
	ClassDef struct {
		At         Pos
		Decorators []Expr
		Name       string
		Bases      []Expr
		Keywords   []*Keyword
		Body       []Stmt
	}

	// With is with Items: Body.
	With struct {
		At    Pos
		Items []*WithItem
		Body  []Stmt
	}

	// Try is try: Body, its Handlers, else: Else and finally: Finally.
	Try struct {
		At       Pos
		Body     []Stmt
		Handlers []*ExceptHandler
		Else     []Stmt
		Finally  []Stmt
	}

	// Raise is raise [Exc [from Cause]].
	Raise struct {
		At         Pos
		Exc, Cause Expr
	}

	// Assert is assert Test[, Msg]; Msg may be nil.
	Assert struct {
		At   Pos
		Test Expr
		Msg  Expr
	}

	// Global is global Names.
	Global struct {
		At    Pos
		Names []string
	}

	// Nonlocal is nonlocal Names.
	Nonlocal struct {
		At    Pos
		Names []string
	}

	// Magic is an IPython line pasted from a notebook: "%matplotlib
	// inline" or "!pip install keras". Line is the text from the % or !
	// to the end of the line, without a trailing newline.
	Magic struct {
		At   Pos
		Line string
	}
)

// Parts of statements.
type (
	// Alias is a name in an import: Name (dotted) as AsName ("" if none).
	Alias struct {
		At     Pos
		Name   string
		AsName string
	}

	// WithItem is Context [as Target]; Target may be nil.
	WithItem struct {
		Context Expr
		Target  Expr
	}

	// ExceptHandler is except [Type [as Name]]: Body.
	ExceptHandler struct {
		At   Pos
		Type Expr
		Name string
		Body []Stmt
	}

	// Param is one parameter of a def or lambda.
	Param struct {
		At         Pos
		Kind       ParamKind
		Name       string
		Annotation Expr // nil if none
		Default    Expr // nil if none
	}

	// Keyword is a keyword argument Name=Value, or **Value when Name is "".
	Keyword struct {
		At    Pos
		Name  string
		Value Expr
	}

	// Comprehension is one "for Target in Iter if Ifs..." clause.
	Comprehension struct {
		At     Pos
		Target Expr
		Iter   Expr
		Ifs    []Expr
	}
)

// ParamKind says how a parameter binds arguments.
type ParamKind int

// Parameter kinds, in the order they may appear.
const (
	PosOnly    ParamKind = iota // before a "/"
	Positional                  // positional or keyword
	VarArgs                     // *args
	KwOnly                      // after * or *args
	KwArgs                      // **kwargs
)

// Expressions.
type (
	// Name is an identifier.
	Name struct {
		At Pos
		ID string
	}

	// Num is a number literal. Text is the literal as written. An Int has
	// its value in Int; a Float or Imag (the imaginary part) in Float.
	Num struct {
		At    Pos
		Kind  NumKind
		Text  string
		Int   *big.Int
		Float float64
	}

	// Str is a string literal, adjacent literals joined, escapes decoded.
	Str struct {
		At    Pos
		Value string
	}

	// Bytes is a bytes literal, adjacent literals joined, escapes decoded.
	Bytes struct {
		At    Pos
		Value string
	}

	// FString is an f-string (joined with any adjacent literals). Parts are
	// *Str and *FormattedValue.
	FString struct {
		At    Pos
		Parts []Expr
	}

	// FormattedValue is a replacement field {Value!Conv:Spec}. Conv is 'r',
	// 's', 'a' or 0; Spec is nil without a format spec. A self-documenting
	// {x=} is a Str "x=" before it, with Conv 'r' unless a conversion or
	// spec is given, as in Python's own tree.
	FormattedValue struct {
		At    Pos
		Value Expr
		Conv  byte
		Spec  *FString
	}

	// Bool is True or False.
	Bool struct {
		At    Pos
		Value bool
	}

	// None is None.
	None struct{ At Pos }

	// Ellipsis is "...".
	Ellipsis struct{ At Pos }

	// Attribute is X.Name; NamePos is where Name is.
	Attribute struct {
		At      Pos
		X       Expr
		Name    string
		NamePos Pos
	}

	// Call is Func(Args, Keywords). Args may contain *Starred (*args);
	// Keywords holds name=value and **kwargs.
	Call struct {
		At       Pos
		Func     Expr
		Args     []Expr
		Keywords []*Keyword
	}

	// Subscript is X[Index]. Index is an expression, a *Slice, or a *Tuple
	// of them for x[:, 0].
	Subscript struct {
		At    Pos
		X     Expr
		Index Expr
	}

	// Slice is Lo:Hi:Step inside a subscript; any part may be nil.
	Slice struct {
		At           Pos
		Lo, Hi, Step Expr
	}

	// BinOp is X Op Y with Op one of + - * / // % ** @ << >> & | ^.
	BinOp struct {
		At    Pos
		Op    string
		OpPos Pos
		X, Y  Expr
	}

	// UnaryOp is Op X with Op one of - + ~ not.
	UnaryOp struct {
		At Pos
		Op string
		X  Expr
	}

	// BoolOp is Values joined by Op, "and" or "or".
	BoolOp struct {
		At     Pos
		Op     string
		Values []Expr
	}

	// Compare is a possibly chained comparison X Ops[0] Ys[0] Ops[1] Ys[1]...
	// An op is one of < > == >= <= != in "not in" is "is not".
	Compare struct {
		At  Pos
		X   Expr
		Ops []string
		Ys  []Expr
	}

	// IfExp is Then if Cond else Else.
	IfExp struct {
		At               Pos
		Cond, Then, Else Expr
	}

	// Lambda is lambda Params: Body.
	Lambda struct {
		At     Pos
		Params []*Param
		Body   Expr
	}

	// Tuple is a tuple display, with or without parentheses.
	Tuple struct {
		At   Pos
		Elts []Expr
	}

	// List is a list display [a, b].
	List struct {
		At   Pos
		Elts []Expr
	}

	// Set is a set display {a, b}.
	Set struct {
		At   Pos
		Elts []Expr
	}

	// Dict is a dict display; a nil key marks **Values[i].
	Dict struct {
		At     Pos
		Keys   []Expr
		Values []Expr
	}

	// ListComp is [Elt for ...].
	ListComp struct {
		At   Pos
		Elt  Expr
		Gens []*Comprehension
	}

	// SetComp is {Elt for ...}.
	SetComp struct {
		At   Pos
		Elt  Expr
		Gens []*Comprehension
	}

	// DictComp is {Key: Value for ...}.
	DictComp struct {
		At         Pos
		Key, Value Expr
		Gens       []*Comprehension
	}

	// GeneratorExp is (Elt for ...).
	GeneratorExp struct {
		At   Pos
		Elt  Expr
		Gens []*Comprehension
	}

	// Starred is *X in a call, display or assignment target.
	Starred struct {
		At Pos
		X  Expr
	}

	// NamedExpr is Target := Value.
	NamedExpr struct {
		At     Pos
		Target *Name
		Value  Expr
	}
)

// NumKind is the kind of a number literal.
type NumKind int

// Number kinds.
const (
	Int NumKind = iota
	Float
	Imag
)

// Pos methods. Each node's At is the position of its first token.

// Pos returns where the node starts.
func (n *ExprStmt) Pos() Pos { return n.At }

// Pos returns where the node starts.
func (n *Assign) Pos() Pos { return n.At }

// Pos returns where the node starts.
func (n *AugAssign) Pos() Pos { return n.At }

// Pos returns where the node starts.
func (n *AnnAssign) Pos() Pos { return n.At }

// Pos returns where the node starts.
func (n *Del) Pos() Pos { return n.At }

// Pos returns where the node starts.
func (n *Pass) Pos() Pos { return n.At }

// Pos returns where the node starts.
func (n *Break) Pos() Pos { return n.At }

// Pos returns where the node starts.
func (n *Continue) Pos() Pos { return n.At }

// Pos returns where the node starts.
func (n *Return) Pos() Pos { return n.At }

// Pos returns where the node starts.
func (n *Import) Pos() Pos { return n.At }

// Pos returns where the node starts.
func (n *ImportFrom) Pos() Pos { return n.At }

// Pos returns where the node starts.
func (n *If) Pos() Pos { return n.At }

// Pos returns where the node starts.
func (n *For) Pos() Pos { return n.At }

// Pos returns where the node starts.
func (n *While) Pos() Pos { return n.At }

// Pos returns where the node starts (its first decorator, if any).
func (n *FuncDef) Pos() Pos { return n.At }

// Pos returns where the node starts (its first decorator, if any).
func (n *ClassDef) Pos() Pos { return n.At }

// Pos returns where the node starts.
func (n *With) Pos() Pos { return n.At }

// Pos returns where the node starts.
func (n *Try) Pos() Pos { return n.At }

// Pos returns where the node starts.
func (n *Raise) Pos() Pos { return n.At }

// Pos returns where the node starts.
func (n *Assert) Pos() Pos { return n.At }

// Pos returns where the node starts.
func (n *Global) Pos() Pos { return n.At }

// Pos returns where the node starts.
func (n *Nonlocal) Pos() Pos { return n.At }

// Pos returns where the node starts.
func (n *Magic) Pos() Pos { return n.At }

// Pos returns where the node starts.
func (n *Alias) Pos() Pos { return n.At }

// Pos returns where the node starts.
func (n *WithItem) Pos() Pos { return n.Context.Pos() }

// Pos returns where the node starts.
func (n *ExceptHandler) Pos() Pos { return n.At }

// Pos returns where the node starts.
func (n *Param) Pos() Pos { return n.At }

// Pos returns where the node starts.
func (n *Keyword) Pos() Pos { return n.At }

// Pos returns where the node starts.
func (n *Comprehension) Pos() Pos { return n.At }

// Pos returns where the node starts.
func (n *Name) Pos() Pos { return n.At }

// Pos returns where the node starts.
func (n *Num) Pos() Pos { return n.At }

// Pos returns where the node starts.
func (n *Str) Pos() Pos { return n.At }

// Pos returns where the node starts.
func (n *Bytes) Pos() Pos { return n.At }

// Pos returns where the node starts.
func (n *FString) Pos() Pos { return n.At }

// Pos returns where the node starts.
func (n *FormattedValue) Pos() Pos { return n.At }

// Pos returns where the node starts.
func (n *Bool) Pos() Pos { return n.At }

// Pos returns where the node starts.
func (n *None) Pos() Pos { return n.At }

// Pos returns where the node starts.
func (n *Ellipsis) Pos() Pos { return n.At }

// Pos returns where the node starts.
func (n *Attribute) Pos() Pos { return n.At }

// Pos returns where the node starts.
func (n *Call) Pos() Pos { return n.At }

// Pos returns where the node starts.
func (n *Subscript) Pos() Pos { return n.At }

// Pos returns where the node starts.
func (n *Slice) Pos() Pos { return n.At }

// Pos returns where the node starts.
func (n *BinOp) Pos() Pos { return n.At }

// Pos returns where the node starts.
func (n *UnaryOp) Pos() Pos { return n.At }

// Pos returns where the node starts.
func (n *BoolOp) Pos() Pos { return n.At }

// Pos returns where the node starts.
func (n *Compare) Pos() Pos { return n.At }

// Pos returns where the node starts.
func (n *IfExp) Pos() Pos { return n.At }

// Pos returns where the node starts.
func (n *Lambda) Pos() Pos { return n.At }

// Pos returns where the node starts.
func (n *Tuple) Pos() Pos { return n.At }

// Pos returns where the node starts.
func (n *List) Pos() Pos { return n.At }

// Pos returns where the node starts.
func (n *Set) Pos() Pos { return n.At }

// Pos returns where the node starts.
func (n *Dict) Pos() Pos { return n.At }

// Pos returns where the node starts.
func (n *ListComp) Pos() Pos { return n.At }

// Pos returns where the node starts.
func (n *SetComp) Pos() Pos { return n.At }

// Pos returns where the node starts.
func (n *DictComp) Pos() Pos { return n.At }

// Pos returns where the node starts.
func (n *GeneratorExp) Pos() Pos { return n.At }

// Pos returns where the node starts.
func (n *Starred) Pos() Pos { return n.At }

// Pos returns where the node starts.
func (n *NamedExpr) Pos() Pos { return n.At }

func (*ExprStmt) stmtNode()   {}
func (*Assign) stmtNode()     {}
func (*AugAssign) stmtNode()  {}
func (*AnnAssign) stmtNode()  {}
func (*Del) stmtNode()        {}
func (*Pass) stmtNode()       {}
func (*Break) stmtNode()      {}
func (*Continue) stmtNode()   {}
func (*Return) stmtNode()     {}
func (*Import) stmtNode()     {}
func (*ImportFrom) stmtNode() {}
func (*If) stmtNode()         {}
func (*For) stmtNode()        {}
func (*While) stmtNode()      {}
func (*FuncDef) stmtNode()    {}
func (*ClassDef) stmtNode()   {}
func (*With) stmtNode()       {}
func (*Try) stmtNode()        {}
func (*Raise) stmtNode()      {}
func (*Assert) stmtNode()     {}
func (*Global) stmtNode()     {}
func (*Nonlocal) stmtNode()   {}
func (*Magic) stmtNode()      {}

func (*Name) exprNode()           {}
func (*Num) exprNode()            {}
func (*Str) exprNode()            {}
func (*Bytes) exprNode()          {}
func (*FString) exprNode()        {}
func (*FormattedValue) exprNode() {}
func (*Bool) exprNode()           {}
func (*None) exprNode()           {}
func (*Ellipsis) exprNode()       {}
func (*Attribute) exprNode()      {}
func (*Call) exprNode()           {}
func (*Subscript) exprNode()      {}
func (*Slice) exprNode()          {}
func (*BinOp) exprNode()          {}
func (*UnaryOp) exprNode()        {}
func (*BoolOp) exprNode()         {}
func (*Compare) exprNode()        {}
func (*IfExp) exprNode()          {}
func (*Lambda) exprNode()         {}
func (*Tuple) exprNode()          {}
func (*List) exprNode()           {}
func (*Set) exprNode()            {}
func (*Dict) exprNode()           {}
func (*ListComp) exprNode()       {}
func (*SetComp) exprNode()        {}
func (*DictComp) exprNode()       {}
func (*GeneratorExp) exprNode()   {}
func (*Starred) exprNode()        {}
func (*NamedExpr) exprNode()      {}
