package pysrc

import "fmt"

// Pos is a position in the source: Line and Col are 1-based, and Col counts
// Unicode code points (runes) from the start of the line, as editors show
// it. A tab counts as one column. A leading byte-order mark is not counted.
type Pos struct {
	Line, Col int
}

// String formats p as line:col.
func (p Pos) String() string { return fmt.Sprintf("%d:%d", p.Line, p.Col) }

// Error is a syntax error or a refused construct at a position in a file.
// Msg names the construct and, where there is one, what to do about it.
type Error struct {
	File      string
	Line, Col int
	Msg       string
}

// Error formats e as "pysrc: file:line:col: message".
func (e *Error) Error() string {
	return fmt.Sprintf("pysrc: %s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// Pos returns the position of the error.
func (e *Error) Pos() Pos { return Pos{e.Line, e.Col} }

// hintPython ends the message of a construct kiln refuses but Python runs.
const hintPython = "; kiln runs plain scripts: rewrite it or run the program with --python"
