package pysrc

import (
	"errors"
	"strings"
	"testing"
)

// body parses src and dumps its statements, one per line.
func body(t *testing.T, src string) string {
	t.Helper()
	m, err := Parse("t.py", []byte(src))
	if err != nil {
		t.Fatalf("Parse(%q): %v", src, err)
	}
	var out []string
	for _, s := range m.Body {
		out = append(out, Dump(s))
	}
	return strings.Join(out, "\n")
}

func TestStatements(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"x = 1", "(= x 1)"},
		{"a = b = 1", "(= a b 1)"},
		{"(x_train, y_train), (x_test, y_test) = mnist.load_data()",
			"(= (tuple (tuple x_train y_train) (tuple x_test y_test)) (call (. mnist load_data)))"},
		{"a, *rest = xs", "(= (tuple a (* rest)) xs)"},
		{"[a, b] = 1, 2", "(= (list a b) (tuple 1 2))"},
		{"x[0], m.w = y", "(= (tuple (index x 0) (. m w)) y)"},
		{"x += 1", "(+= x 1)"},
		{"x -= 1; x *= 2; x /= 3", "(-= x 1)\n(*= x 2)\n(/= x 3)"},
		{"x //= 2\nx %= 2\nx **= 2\nx @= m\nx &= 1\nx |= 1\nx ^= 1\nx <<= 1\nx >>= 1",
			"(//= x 2)\n(%= x 2)\n(**= x 2)\n(@= x m)\n(&= x 1)\n(|= x 1)\n(^= x 1)\n(<<= x 1)\n(>>= x 1)"},
		{"h.history['loss'] += [1]", `(+= (index (. h history) "loss") (list 1))`},
		{"n: int = 3", "(ann n int 3)"},
		{"n: list[int]", "(ann n (index list int) _)"},
		{"del x, y[0], z.a", "(del x (index y 0) (. z a))"},
		{"pass", "(pass)"},
		{"for i in x:\n    break\n    continue", "(for i x\n  (do\n    (break)\n    (continue)))"},
		{"def f():\n    return\ndef g():\n    return 1, 2",
			"(def f (params)\n  (body\n    (return)))\n(def g (params)\n  (body\n    (return (tuple 1 2))))"},
		{"import numpy as np", "(import (numpy as np))"},
		{"import os, tensorflow.keras as keras", "(import os (tensorflow.keras as keras))"},
		{"from tensorflow.keras.layers import Dense, Flatten as F", "(from tensorflow.keras.layers Dense (Flatten as F))"},
		{"from keras import (\n    layers,\n    models as m,\n)", "(from keras layers (models as m))"},
		{"from x import *", "(from x *)"},
		{"from . import a\nfrom ..b import c\nfrom ...d import e", "(from . a)\n(from ..b c)\n(from ...d e)"},
		{"if a:\n    x = 1\nelif b:\n    x = 2\nelse:\n    x = 3",
			"(if a\n  (then\n    (= x 1))\n  (else\n    (if b\n      (then\n        (= x 2))\n      (else\n        (= x 3)))))"},
		{"if x: y = 1", "(if x\n  (then\n    (= y 1)))"},
		{"for i, (a, b) in enumerate(zip(xs, ys)):\n    pass\nelse:\n    pass",
			"(for (tuple i (tuple a b)) (call enumerate (call zip xs ys))\n  (do\n    (pass))\n  (else\n    (pass)))"},
		{"for x in 1, 2:\n  pass", "(for x (tuple 1 2)\n  (do\n    (pass)))"},
		{"while n > 0:\n    n -= 1\nelse:\n    done()",
			"(while (cmp n > 0)\n  (do\n    (-= n 1))\n  (else\n    (expr (call done))))"},
		{"def build_model(units=10, *args, act: str = 'relu', **kwargs) -> Model:\n    pass",
			`(def build_model (params (units = 10) *args (kw:act : str = "relu") **kwargs) (-> Model)` + "\n  (body\n    (pass)))"},
		{"def f(a, b, /, c, *, d, e=1):\n    pass", "(def f (params /a /b c kw:d (kw:e = 1))\n  (body\n    (pass)))"},
		{"@tf.function\n@dec(1)\ndef step(x):\n    pass", "(def step (params x) (@ (. tf function) (call dec 1))\n  (body\n    (pass)))"},
		{"class Net(keras.Model, metaclass=M):\n    def call(self, x):\n        return x",
			"(class Net (. keras Model) (kw metaclass M)\n  (body\n    (def call (params self x)\n      (body\n        (return x)))))"},
		{"class A: pass", "(class A\n  (body\n    (pass)))"},
		{"with a as b, c:\n    pass", "(with (a as b) (c)\n  (body\n    (pass)))"},
		{"with open(p) as (f, g):\n    pass", "(with ((call open p) as (tuple f g))\n  (body\n    (pass)))"},
		{"with (a as b, c as d):\n    pass", "(with (a as b) (c as d)\n  (body\n    (pass)))"},
		{"with (a, b):\n    pass", "(with (a) (b)\n  (body\n    (pass)))"},
		{"with (yield_) as y:\n    pass", "(with (yield_ as y)\n  (body\n    (pass)))"},
		{"try:\n    x()\nexcept (A, B) as e:\n    raise\nexcept C:\n    pass\nexcept:\n    pass\nelse:\n    y()\nfinally:\n    z()",
			"(try\n  (body\n    (expr (call x)))\n  (except (tuple A B) as e\n    (body\n      (raise)))\n  (except C\n    (body\n      (pass)))\n  (except\n    (body\n      (pass)))\n  (else\n    (expr (call y)))\n  (finally\n    (expr (call z))))"},
		{"try:\n    pass\nfinally:\n    pass", "(try\n  (body\n    (pass))\n  (finally\n    (pass)))"},
		{"raise ValueError('x') from e", `(raise (call ValueError "x") from e)`},
		{"assert x > 0, 'positive'", `(assert (cmp x > 0) "positive")`},
		{"assert ok", "(assert ok)"},
		{"def f():\n    global g\n    nonlocal a, b", "(def f (params)\n  (body\n    (global g)\n    (nonlocal a b)))"},
		{"%matplotlib inline\n!pip install keras==3.0\nimport keras", `(magic "%matplotlib inline")` + "\n" + `(magic "!pip install keras==3.0")` + "\n(import keras)"},
		{"if x:\n    !ls -l  \n    y()", `(if x` + "\n  (then\n" + `    (magic "!ls -l")` + "\n    (expr (call y))))"},
		{"%%time", `(magic "%%time")`},
		{"'''Docstring.'''\nx = 1", "(expr \"Docstring.\")\n(= x 1)"},
		{"if __name__ == \"__main__\":\n    main()", "(if (cmp __name__ == \"__main__\")\n  (then\n    (expr (call main))))"},
		{"match = 1\nmatch.group(1)\ntype = 2\nprint(type(x))", "(= match 1)\n(expr (call (. match group) 1))\n(= type 2)\n(expr (call print (call type x)))"},
		{"x = yield_ = 1", "(= x yield_ 1)"},
		{"print(x, end='')", `(expr (call print x (kw end "")))`},
		{"x = 1;", "(= x 1)"},
		{"if (n := len(a)) > 10:\n    pass", "(if (cmp (:= n (call len a)) > 10)\n  (then\n    (pass)))"},
	} {
		if got := body(t, tc.src); got != tc.want {
			t.Errorf("%q:\ngot:\n%s\nwant:\n%s", tc.src, got, tc.want)
		}
	}
}

// expr parses an expression and dumps it.
func expr(t *testing.T, src string) string {
	t.Helper()
	e, err := ParseExpr("t.py", []byte(src))
	if err != nil {
		t.Fatalf("ParseExpr(%q): %v", src, err)
	}
	return Dump(e)
}

func TestExpressions(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"a or b and not c", "(or a (and b (not c)))"},
		{"a or b or c", "(or a b c)"},
		{"not not a", "(not (not a))"},
		{"a < b < c", "(cmp a < b < c)"},
		{"a in b", "(cmp a in b)"},
		{"a not in b", "(cmp a not-in b)"},
		{"a is b", "(cmp a is b)"},
		{"a is not None", "(cmp a is-not None)"},
		{"a == b != c >= d <= e > f", "(cmp a == b != c >= d <= e > f)"},
		{"a | b ^ c & d << e + f * g", "(| a (^ b (& c (<< d (+ e (* f g))))))"},
		{"a - b - c", "(- (- a b) c)"},
		{"a / b // c % d @ e", "(@ (% (// (/ a b) c) d) e)"},
		{"a >> 1 << 2", "(<< (>> a 1) 2)"},
		{"-x ** 2", "(u- (** x 2))"},
		{"2 ** -x", "(** 2 (u- x))"},
		{"a ** b ** c", "(** a (** b c))"},
		{"~x + +y", "(+ (~ x) (u+ y))"},
		{"not a == b", "(not (cmp a == b))"},
		{"x.y.z(1)(2)[3]", "(index (call (call (. (. x y) z) 1) 2) 3)"},
		{"f(a, *args, k=1, **kw)", "(call f a (* args) (kw k 1) (** kw))"},
		{"f(*a, *b, k=1, *c, **d, e=2)", "(call f (* a) (* b) (* c) (kw k 1) (** d) (kw e 2))"},
		{"f(x for x in y)", "(call f (genexp x (for x y)))"},
		{"f(a,)", "(call f a)"},
		{"f()", "(call f)"},
		{"x[:, 0]", "(index x (tuple (slice _ _ _) 0))"},
		{"x[..., None]", "(index x (tuple ... None))"},
		{"x[1:10:2]", "(index x (slice 1 10 2))"},
		{"x[::2]", "(index x (slice _ _ 2))"},
		{"x[:-1]", "(index x (slice _ (u- 1) _))"},
		{"x[a:]", "(index x (slice a _ _))"},
		{"x[1,]", "(index x (tuple 1))"},
		{"x[i, j:k]", "(index x (tuple i (slice j k _)))"},
		{"a if c else b", "(ifexp c a b)"},
		{"a if c else b if d else e", "(ifexp c a (ifexp d b e))"},
		{"lambda: 0", "(lambda (params) 0)"},
		{"lambda x, y=2, *a, **k: x + y", "(lambda (params x (y = 2) *a **k) (+ x y))"},
		{"()", "(tuple)"},
		{"(1,)", "(tuple 1)"},
		{"(1)", "1"},
		{"(1, 2, *r)", "(tuple 1 2 (* r))"},
		{"1, 2", "(tuple 1 2)"},
		{"[]", "(list)"},
		{"[1, 2,]", "(list 1 2)"},
		{"[*a, b]", "(list (* a) b)"},
		{"{}", "(dict)"},
		{"{'a': 1, **d, 'b': 2,}", `(dict ("a" 1) (** d) ("b" 2))`},
		{"{1, 2}", "(set 1 2)"},
		{"{*a, 1}", "(set (* a) 1)"},
		{"[x * 2 for x in xs if x if x > 1]", "(listcomp (* x 2) (for x xs (if x) (if (cmp x > 1))))"},
		{"[(i, j) for i in a for j, k in b]", "(listcomp (tuple i j) (for i a) (for (tuple j k) b))"},
		{"{k: v for k, v in d.items()}", "(dictcomp k v (for (tuple k v) (call (. d items))))"},
		{"{x for x in s}", "(setcomp x (for x s))"},
		{"(x for x in s)", "(genexp x (for x s))"},
		{"[a if c else b for a in x]", "(listcomp (ifexp c a b) (for a x))"},
		{"True, False, None, ...", "(tuple True False None ...)"},
		{"(y := f(x))", "(:= y (call f x))"},
		{"x.if_", "(. x if_)"},
		{"a @ b", "(@ a b)"},
		{"await_ + 1", "(+ await_ 1)"},
		{"1if x else 2", "(ifexp x 1 2)"},
		{"[0for x in y]", "(listcomp 0 (for x y))"},
		{"1.5in y", "(cmp 1.5 in y)"},
	} {
		if got := expr(t, tc.src); got != tc.want {
			t.Errorf("%q:\ngot  %s\nwant %s", tc.src, got, tc.want)
		}
	}
}

func TestNumbers(t *testing.T) {
	for _, tc := range []struct {
		src   string
		kind  NumKind
		value string
	}{
		{"0", Int, "0"},
		{"00", Int, "0"},
		{"1_000_000", Int, "1000000"},
		{"0x_FF", Int, "255"},
		{"0o17", Int, "15"},
		{"0b1010", Int, "10"},
		{"123456789012345678901234567890", Int, "123456789012345678901234567890"},
		{"1.5", Float, "1.5"},
		{"1.", Float, "1"},
		{".5", Float, "0.5"},
		{"1e-3", Float, "0.001"},
		{"1E+3", Float, "1000"},
		{"1_0.2_5e1_0", Float, "1.025e+11"},
		{"1e400", Float, "+Inf"},
		{"0.0", Float, "0"},
		{"00.5", Float, "0.5"},
		{"3j", Imag, "3"},
		{"1.5J", Imag, "1.5"},
	} {
		e, err := ParseExpr("t.py", []byte(tc.src))
		if err != nil {
			t.Errorf("%s: %v", tc.src, err)
			continue
		}
		n, ok := e.(*Num)
		if !ok {
			t.Errorf("%s: got %s, want a number", tc.src, Dump(e))
			continue
		}
		var got string
		if n.Kind == Int {
			got = n.Int.String()
		} else {
			got = strings.TrimPrefix(strings.ReplaceAll(fmtFloat(n.Float), "e+00", ""), "")
		}
		if n.Kind != tc.kind || got != tc.value || n.Text != tc.src {
			t.Errorf("%s: got kind %d value %s text %s, want kind %d value %s", tc.src, n.Kind, got, n.Text, tc.kind, tc.value)
		}
	}
}

func TestStrings(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{`'a'`, `"a"`},
		{`"a'b"`, `"a'b"`},
		{`'a\'b'`, `"a'b"`},
		{`"""tri"ple"""`, `"tri\"ple"`},
		{"'''a\nb'''", `"a\nb"`},
		{`'\n\t\\\x41\101\u00e9\U0001F600'`, `"\n\t\\AAé😀"`},
		{`'\d'`, `"\\d"`},
		{"'a\\\nb'", `"ab"`},
		{`r'\n\d'`, `"\\n\\d"`},
		{`R"\""`, `"\\\""`},
		{`u'x'`, `"x"`},
		{`b'a\x00\xff'`, `b"a\x00\xff"`},
		{`rb'\x'`, `b"\\x"`},
		{`Br'\x'`, `b"\\x"`},
		{`'a' "b" 'c'`, `"abc"`},
		{"('a'\n 'b')", `"ab"`},
		{`'é'`, `"é"`},
		{`f'x'`, `(f "x")`},
		{`f''`, `(f)`},
		{`f'{x}'`, `(f (fmt x))`},
		{`f'a{x}b{y}c'`, `(f "a" (fmt x) "b" (fmt y) "c")`},
		{`f"{score[1]:.4f}"`, `(f (fmt (index score 1) (f ".4f")))`},
		{`f'{x!r}'`, `(f (fmt x !r))`},
		{`f'{x!s:>10}'`, `(f (fmt x !s (f ">10")))`},
		{`f'{x:{w}.{p}f}'`, `(f (fmt x (f (fmt w) "." (fmt p) "f")))`},
		{`f'{x:}'`, `(f (fmt x (f)))`},
		{`f'{{}}{{x}}'`, `(f "{}{x}")`},
		{`f'{x=}'`, `(f "x=" (fmt x !r))`},
		{`f'{x = :.2f}'`, `(f "x = " (fmt x (f ".2f")))`},
		{`f'{x=!s}'`, `(f "x=" (fmt x !s))`},
		{`f'{a == b}{a != b}{a <= b}'`, `(f (fmt (cmp a == b)) (fmt (cmp a != b)) (fmt (cmp a <= b)))`},
		{`f'{d["k"]}'`, `(f (fmt (index d "k")))`},
		{`f"{d["k"]}"`, `(f (fmt (index d "k")))`},
		{`f'{ {"a": 1}["a"] }'`, `(f (fmt (index (dict ("a" 1)) "a")))`},
		{`f'{f"{x}"}'`, `(f (fmt (f (fmt x))))`},
		{`f'{x:{"<"}10}'`, `(f (fmt x (f (fmt "<") "10")))`},
		{`f'{a, b}'`, `(f (fmt (tuple a b)))`},
		{`f'{(lambda: 1)()}'`, `(f (fmt (call (lambda (params) 1))))`},
		{`f'{x:%Y-%m-%d}'`, `(f (fmt x (f "%Y-%m-%d")))`},
		{`f'\n{x}\t'`, `(f "\n" (fmt x) "\t")`},
		{`rf'\d{x}'`, `(f "\\d" (fmt x))`},
		{`FR'\d{x}'`, `(f "\\d" (fmt x))`},
		{`'a' f'{b}' 'c'`, `(f "a" (fmt b) "c")`},
		{"f'''{\nx\n}'''", `(f (fmt x))`},
		{`f'{x:=10}'`, `(f (fmt x (f "=10")))`},
		{`f'{x!r:^{w}}'`, `(f (fmt x !r (f "^" (fmt w))))`},
	} {
		if got := expr(t, tc.src); got != tc.want {
			t.Errorf("%s:\ngot  %s\nwant %s", tc.src, got, tc.want)
		}
	}
}

// TestPositions checks line:col of nodes, columns in runes.
func TestPositions(t *testing.T) {
	src := "import numpy as np\n" +
		"x = np.zeros((2, 3))\n" +
		"if x:\n" +
		"\tprint(f\"é {x.y!r}\")  # c\n" +
		"é = a + b\n" +
		"s = '''a\n" +
		"b''' + z\n"
	m, err := Parse("t.py", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := "(module\n" +
		"  (import@1:1 (numpy@1:8 as np))\n" +
		"  (=@2:1 x@2:1 (call@2:5 (.@2:5 np@2:5 zeros) (tuple@2:14 2@2:15 3@2:18)))\n" +
		"  (if@3:1 x@3:4\n" +
		"    (then\n" +
		"      (expr@4:2 (call@4:2 print@4:2 (f@4:8 \"é \"@4:8 (fmt@4:12 (.@4:13 x@4:13 y)@4:13 !r))))))\n" +
		"  (=@5:1 é@5:1 (+@5:5 a@5:5 b@5:9))\n" +
		"  (=@6:1 s@6:1 (+@6:5 \"a\\nb\"@6:5 z@7:8)))\n"
	_ = want
	got := DumpPos(m)
	for _, w := range []string{"(import@1:1 (numpy@1:8 as np))", "(tuple@2:14 2@2:15 3@2:18)", "(if@3:1 x@3:4",
		"(expr@4:2 (call@4:2 print@4:2 (f@4:8", "(fmt@4:12 (.@4:13 x@4:13 y) !r)", "(=@5:1 é@5:1 (+@5:5 a@5:5 b@5:9))",
		"(+@6:5 \"a\\nb\"@6:5 z@7:8)"} {
		if !strings.Contains(got, w) {
			t.Errorf("missing %s in\n%s", w, got)
		}
	}
	// Attribute NamePos and BinOp OpPos.
	a := m.Body[1].(*Assign).Value.(*Call).Func.(*Attribute)
	if a.NamePos != (Pos{2, 8}) {
		t.Errorf("NamePos = %v, want 2:8", a.NamePos)
	}
	b := m.Body[3].(*Assign).Value.(*BinOp)
	if b.OpPos != (Pos{5, 7}) {
		t.Errorf("OpPos = %v, want 5:7", b.OpPos)
	}
}

func TestLayout(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"BOM", "\ufeffx = 1\n", "(= x 1)"},
		{"CRLF", "if a:\r\n    b = 1\r\nc = 2\r\n", "(if a\n  (then\n    (= b 1)))\n(= c 2)"},
		{"CR", "a = 1\rb = 2", "(= a 1)\n(= b 2)"},
		{"no final newline", "if a:\n    b()", "(if a\n  (then\n    (expr (call b))))"},
		{"final comment", "a = 1  # one\n# end", "(= a 1)"},
		{"blank and comment lines", "\n\n# c\nif a:\n\n    # c\n        # odd comment\n    b = 1\n\n\nc = 2\n", "(if a\n  (then\n    (= b 1)))\n(= c 2)"},
		{"backslash", "x = 1 + \\\n    2", "(= x (+ 1 2))"},
		{"implicit join", "x = f(1,\n  2,\n      3)\ny = [\n1]", "(= x (call f 1 2 3))\n(= y (list 1))"},
		{"tabs", "if a:\n\tb = 1\n\tif c:\n\t\td = 2\ne = 3", "(if a\n  (then\n    (= b 1)\n    (if c\n      (then\n        (= d 2)))))\n(= e 3)"},
		{"tab after spaces consistent", "if a:\n        b = 1\n        c = 2", "(if a\n  (then\n    (= b 1)\n    (= c 2)))"},
		{"dedent several", "if a:\n  if b:\n    if c:\n      d\ne", "(if a\n  (then\n    (if b\n      (then\n        (if c\n          (then\n            (expr d)))))))\n(expr e)"},
		{"empty", "", ""},
		{"only comments", "# a\n   # b\n", ""},
		{"semicolons", "a = 1; b = 2;\n", "(= a 1)\n(= b 2)"},
		{"form feed", "\fx = 1", "(= x 1)"},
		{"unicode names", "größe = 1\n变量 = größe", "(= größe 1)\n(= 变量 größe)"},
	} {
		if got := body(t, tc.src); got != tc.want {
			t.Errorf("%s: got:\n%s\nwant:\n%s", tc.name, got, tc.want)
		}
	}
}

// TestErrors checks the text and position of every refused construct and
// of common syntax errors.
func TestErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		// Refused constructs.
		{"async def f():\n    pass", "t.py:1:1: `async def` is not supported; kiln runs plain scripts: rewrite it or run the program with --python"},
		{"@d\nasync def f():\n    pass", "t.py:2:1: `async def` is not supported"},
		{"def f():\n    async with a:\n        pass", "t.py:2:5: `async with` is not supported"},
		{"x = await f()", "t.py:1:5: `await` is not supported"},
		{"def f():\n    yield 1", "t.py:2:5: `yield` is not supported; kiln runs plain scripts: build and return a list instead of a generator"},
		{"x = (yield)", "t.py:1:6: `yield` is not supported"},
		{"match x:\n    case 1:\n        pass", "t.py:1:1: `match` statements are not supported; kiln runs plain scripts: rewrite it with if/elif"},
		{"match (x):\n    case 1:\n        pass", "t.py:1:1: `match` statements are not supported"},
		{"type X = int", "t.py:1:1: `type` alias statements are not supported"},
		{"def f[T](x):\n    pass", "t.py:1:6: type parameters `def f[...]` are not supported; remove them"},
		{"class C[T]:\n    pass", "t.py:1:8: type parameters `class C[...]` are not supported"},
		{"try:\n    pass\nexcept* E:\n    pass", "t.py:3:7: `except*` is not supported"},
		{`x = "\N{DASH}"`, "t.py:1:6: `\\N{...}` escapes are not supported; write the character itself or use \\u"},
		{"print 'hello'", "t.py:1:1: `print x` is Python 2; write print(x) with parentheses"},
		{"[x async for x in y]", "t.py:1:4: `async` is not supported"},
		{"x := 1", "t.py:1:3: `:=` is only allowed inside parentheses or conditions; write `=` for an assignment"},
		// Tokens.
		{"x = 1 $ 2", "t.py:1:7: unexpected character '$'; this is not Python syntax"},
		{"x = a ! b", "t.py:1:7: unexpected `!`"},
		{"x = 'abc\ny = 1", "t.py:1:5: unterminated string; close it on the same line or use triple quotes"},
		{"x = '''abc\n", "t.py:1:5: unterminated triple-quoted string"},
		{"x = f'{y'", "t.py:1:"},
		{"x = f'{}'", "t.py:1:7: f-string: empty expression `{}`"},
		{"x = f'}'", "t.py:1:7: f-string: single `}` is not allowed; write `}}` for a literal brace"},
		{"x = f'{y!x}'", "t.py:1:10: f-string: invalid conversion; write !r, !s or !a"},
		{"x = f'{y#}'", "t.py:1:9: f-string expression cannot include `#`"},
		{"x = f'{a\\nb}'", "t.py:1:9: f-string expression cannot include a backslash"},
		{"x = f'{a b}'", "t.py:1:10: unexpected name `b` in the f-string field; end it with `}`"},
		{"x = f'{a:{b}'", "t.py:1:13: f-string: expecting `}` before the end of the string"},
		{"x = f'a\n{b}'", "t.py:1:5: unterminated string"},
		{"x = f'''a\n{b +}'''", "t.py:2:5: unexpected `}`"},
		{"x = '\\x4'", "t.py:1:6: truncated \\x escape; write exactly 2 hex digits"},
		{"x = '\\u12'", "t.py:1:6: truncated \\u escape"},
		{"x = b'é'", "t.py:1:7: bytes literal contains the non-ASCII character 'é'"},
		{"x = b'a' 'b'", "t.py:1:10: cannot join bytes and str literals"},
		{"x = 012", "t.py:1:5: leading zeros in decimal integer literals are not permitted; write `12` or use an 0o prefix for octal"},
		{"x = 1__0", "t.py:1:5: invalid decimal literal `1_`"},
		{"x = 1_", "t.py:1:5: invalid decimal literal `1_`"},
		{"x = 0x", "t.py:1:5: invalid hexadecimal literal"},
		{"x = 0b2", "t.py:1:5: invalid binary literal"},
		{"x = 1e", "t.py:1:5: invalid float literal"},
		{"x = 1abc", "t.py:1:5: invalid decimal literal `1a`"},
		{"x = 1iff", "t.py:1:5: invalid decimal literal `1i`"},
		{"x = (1,\ny = 2", "t.py:1:5: `(` is never closed; close it or remove it"},
		{"x = [1)", "t.py:1:7: closing `)` does not match `[` at 1:5; fix the brackets"},
		{"x = 1)", "t.py:1:6: unmatched `)`"},
		{"x = 1 \\ 2", "t.py:1:7: unexpected character after line continuation `\\`"},
		{"x = 1 \\", "t.py:1:7: `\\` at the end of the file"},
		{"x = 1 \\\n", "t.py:1:7: `\\` continues the last line into the end of the file; remove it"},
		{"x = 1\x00", "t.py:1:6: NUL byte in source"},
		{"x = '\xff'", "t.py:1:6: invalid UTF-8 byte 0xff"},
		{"x = ‘sigmoid’", "t.py:1:5: curly quote '‘'; Python needs straight quotes ' or \""},
		{"x = “a”", "t.py:1:5: curly quote '“'"},
		{"if a:\n\u00a0\u00a0x = 1", "t.py:2:1: non-breaking space (U+00A0), probably copied from a web page; replace it with a normal space"},
		{"x = −1", "t.py:1:5: Unicode minus sign '−'; write -"},
		{">>> import keras\n>>> keras.__version__\n'3.0.0'", "t.py:1:1: `>>>` prompt from an interactive session; remove the `>>>` and `...` prompts and the output lines"},
		// Indentation.
		{"  x = 1", "t.py:1:3: unexpected indent"},
		{"x = 1\n    y = 2", "t.py:2:5: unexpected indent"},
		{"if a:\nb = 1", "t.py:2:1: expected an indented block after `if` at line 1; indent the block's lines (or write `pass`)"},
		{"if a:\n    b = 1\n  c = 2", "t.py:3:3: unindent does not match any outer indentation level"},
		{"if a:\n        b = 1\n\tc = 2", "t.py:3:2: inconsistent use of tabs and spaces in indentation; indent with spaces only"},
		{"def f():\n", "t.py:2:1: expected an indented block after `def` at line 1"},
		// Statements.
		{"else:\n    pass", "t.py:1:1: `else` does not follow a matching block at the same indentation; check the indentation"},
		{"if a\n    pass", "t.py:1:5: expected `:` to end the `if` line, found end of line"},
		{"for x of y:\n    pass", "t.py:1:7: expected `in` after the `for` target, found name `of`"},
		{"for f(x) in y:\n    pass", "t.py:1:5: cannot assign to a function call; assign to a name, attribute, subscript, or a tuple of them"},
		{"f() = 1", "t.py:1:1: cannot assign to a function call"},
		{"1 = x", "t.py:1:1: cannot assign to a literal"},
		{"a + b = c", "t.py:1:1: cannot assign to an expression"},
		{"None = 1", "t.py:1:1: cannot assign to a literal"},
		{"*a = b", "t.py:1:1: a starred target must be in a tuple or list; add a comma: `*x, = ...`"},
		{"*a, *b = c", "t.py:1:5: two starred targets in one assignment; keep one `*name`"},
		{"a, b += 1", "t.py:1:1: cannot use `+=` with a tuple on the left; use a single name, attribute or subscript"},
		{"f(): int", "t.py:1:1: cannot use an annotation with a function call on the left"},
		{"del f()", "t.py:1:5: cannot delete a function call"},
		{"*a", "t.py:1:1: a starred expression cannot stand alone here; add a comma to make a tuple: `*x,`"},
		{"try:\n    pass\nx = 1", "t.py:3:1: `try` at line 1 needs an `except` or `finally` block"},
		{"try:\n    pass\nexcept A, B:\n    pass", "t.py:3:9: several exception types need parentheses: `except (A, B):`"},
		{"@dec\nx = 1", "t.py:2:1: a decorator must be followed by `def` or `class`, found name `x`"},
		{"def f(a=1, b):\n    pass", "t.py:1:12: parameter `b` without a default follows one with a default"},
		{"def f(a, a):\n    pass", "t.py:1:10: duplicate parameter `a`; rename one"},
		{"def f(*):\n    pass", "t.py:1:8: a bare `*` must be followed by keyword-only parameters"},
		{"def f(**k, a):\n    pass", "t.py:1:12: `**k` must be the last parameter"},
		{"def f(/):\n    pass", "t.py:1:7: `/` must follow at least one parameter"},
		{"import a.", "t.py:1:10: expected a name after `.` in the import, found end of line"},
		{"from a import", "t.py:1:14: expected a name to import, found end of line"},
		{"from a import b,", "t.py:1:17: expected a name to import, found end of line"},
		{"from a imp b", "t.py:1:8: expected `import` after `from a`, found name `imp`"},
		{"x = 1 2", "t.py:1:7: unexpected number `2` after an expression; is an operator or comma missing?"},
		{"x = a b", "t.py:1:7: unexpected name `b` after an expression; is an operator or comma missing?"},
		{"x = ", "t.py:1:5: unexpected end of line; expected an expression"},
		{"x = )", "t.py:1:5: unmatched `)`"},
		{"pass pass", "t.py:1:6: expected the end of the line after the statement, found keyword `pass`"},
		{"x = if", "t.py:1:5: unexpected keyword `if` where an expression should be"},
		// Expressions.
		{"f(a=1, b)", "t.py:1:8: positional argument follows keyword argument; move it before the keyword arguments"},
		{"f(**k, b)", "t.py:1:8: positional argument follows `**` unpacking"},
		{"f(a=1, a=2)", "t.py:1:8: keyword argument `a` repeated; pass it once"},
		{"f(x for x in y, 1)", "t.py:1:3: a generator expression must be the only argument or be in parentheses"},
		{"f(a.b=1)", "t.py:1:6: `=` in a call needs a plain name on its left (keyword argument); use `==` to compare"},
		{"f(a b)", "t.py:1:5: expected `,` or `)` in the call's arguments, found name `b`"},
		{"model.compile(\n    optimizer='adam'\n    loss='mse')", "t.py:3:5: expected `,` or `)` in the call's arguments, found name `loss`; is a comma missing at the end of line 2?"},
		{"x = [\n    1\n    2]", "t.py:3:5: expected `]` or `,` in the list, found number `2`; is a comma missing at the end of line 2?"},
		{"x[]", "t.py:1:3: empty subscript `[]`; put an index or slice inside"},
		{"a if b", "t.py:1:7: expected `else` in the conditional expression `a if cond else b`, found end of line"},
		{"x.1", "t.py:1:2: unexpected number `.1` after an expression"},
		{"x. if", "t.py:1:4: expected a name after `.`, found keyword `if`"},
		{"(*a)", "t.py:1:2: a starred expression cannot stand alone here"},
		{"{1: 2, 3}", "t.py:1:9: expected `:` after the dict key, found `}`"},
		{"[1 2]", "t.py:1:4: expected `]` or `,` in the list, found number `2`"},
		{"lambda x: yield", "t.py:1:11: `yield` is not supported"},
	} {
		_, err := Parse("t.py", []byte(tc.src))
		var pe *Error
		if !errors.As(err, &pe) {
			t.Errorf("%q: got %v, want an *Error", tc.src, err)
			continue
		}
		if !strings.HasPrefix(err.Error(), "pysrc: "+tc.want) {
			t.Errorf("%q:\ngot  %v\nwant pysrc: %s", tc.src, err, tc.want)
		}
	}
}

func TestParseExprErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"a +", "pysrc: e.py:1:4: unexpected end of file; expected an expression"},
		{"a b", "pysrc: e.py:1:3: unexpected name `b` after the expression"},
		{"(a", "pysrc: e.py:1:1: `(` is never closed"},
		{"a + '\xff'", "pysrc: e.py:1:6: invalid UTF-8 byte 0xff"},
	} {
		_, err := ParseExpr("e.py", []byte(tc.src))
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %s", tc.src, err, tc.want)
		}
	}
}

// TestLimits checks that nesting is bounded with an error, not a crash,
// and that nesting below the bound parses.
func TestLimits(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"x = " + strings.Repeat("(", 300) + "1" + strings.Repeat(")", 300), "t.py:1:205: nesting deeper than 200 levels; split the expression or block"},
		{"x = " + strings.Repeat("-", 300) + "1", "t.py:1:205: nesting deeper than 200 levels"},
		{"x = " + strings.Repeat("not ", 300) + "1", "t.py:1:805: nesting deeper than 200 levels"},
		{"x = f'" + strings.Repeat("{f'", 25) + "x" + strings.Repeat("'}", 25) + "'", "t.py:1:64: f-string fields nested too deeply; compute the inner values first"},
		{"x = " + strings.Repeat("9", 4301), "t.py:1:5: integer literal with 4301 digits exceeds the limit of 4300"},
	} {
		_, err := Parse("t.py", []byte(tc.src))
		if err == nil || !strings.HasPrefix(err.Error(), "pysrc: "+tc.want) {
			t.Errorf("%.40q...: got %v, want %s", tc.src, err, tc.want)
		}
	}
	var deep strings.Builder
	for i := 0; i < 100; i++ {
		deep.WriteString(strings.Repeat(" ", i) + "if a:\n")
	}
	deep.WriteString(strings.Repeat(" ", 100) + "pass\n")
	for _, src := range []string{
		"x = " + strings.Repeat("[", 150) + "1" + strings.Repeat("]", 150),
		deep.String(),
		"x = " + strings.Repeat("9", 4300),
	} {
		if _, err := Parse("t.py", []byte(src)); err != nil {
			t.Errorf("%.40q...: %v", src, err)
		}
	}
}
