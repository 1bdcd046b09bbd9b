// Package pysrc reads the Python that Keras programs are written in: a
// tokenizer and recursive-descent parser for Python 3 source, in pure Go,
// producing a syntax tree with positions. kiln's program commands (kiln
// fit|explain|summary|convert PROGRAM) interpret that tree; no Python is
// needed.
//
// Parse accepts a whole script (.py), notebook text or a pasted forum
// snippet. It handles what such programs use: imports, assignment with
// chains, tuple unpacking and starred targets, augmented and annotated
// assignment, if/elif/else, for and while with else, def (defaults, *args,
// **kwargs, keyword-only and positional-only parameters, annotations,
// decorators), class (parsed; the interpreter decides), with, try/except/
// else/finally, raise, assert, del, global, nonlocal, lambda; expressions
// with Python's precedence, chained comparisons, slices and tuples of
// slices, comprehensions and generator expressions, conditional
// expressions, starred and double-starred arguments, the walrus operator
// in parentheses and conditions; all number literals; strings with every
// prefix (r, b, u, f, rf, fr, br, rb in any case), decoded escapes,
// implicit concatenation; f-strings split into literal text and fields
// {expr!r:spec} with nested spec fields, {x=}, and nested quotes as in
// Python 3.12. A leading BOM, CRLF line endings and a last line without a
// newline are fine. IPython lines pasted from notebooks, "%matplotlib
// inline" and "!pip install keras", become Magic statements, which the
// interpreter can skip with a note.
//
// It refuses, with an *Error giving file:line:col, the construct and what
// to do, what Keras scripts do not need: async, await, yield, match
// statements, type aliases and type parameters, except*, \N{...} escapes,
// and Python 2 print statements. Syntax errors are reported the same way.
//
// Positions (Pos) are 1-based lines and columns, columns counted in
// runes; each node's position is that of its first token (an opening
// parenthesis included). Attribute.NamePos and BinOp.OpPos point at the
// name and the operator, for messages about them.
//
// The API: Parse reads a module, ParseExpr one expression; Inspect walks a
// tree; Dump prints it as S-expressions (DumpPos with positions), for
// debugging and golden tests; Format prints it back as Python source.
//
// Nesting of blocks and expressions is bounded (200 levels, as in Python)
// so hostile input cannot exhaust the stack, decimal integer literals are
// limited to 4300 digits as in Python, and the time taken is linear in the
// input.
package pysrc
