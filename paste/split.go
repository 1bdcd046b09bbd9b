package paste

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
)

// LineKind is what a line of a pasted question is.
type LineKind int

const (
	// Blank is an empty or all-space line.
	Blank LineKind = iota
	// Prose is the asker's own words.
	Prose
	// Code is a line of the Python program.
	Code
	// Log is Keras console output: an "Epoch n/N" header, a progress line,
	// "Train on N samples", or a printed result such as "Test accuracy: 0.92".
	Log
	// Output is other console output: model.summary() tables, tracebacks,
	// warnings, downloads, TensorFlow's own log lines.
	Output
	// Markup is a Markdown fence, a notebook "In [3]:" marker or the like.
	Markup
)

var kindNames = [...]string{"blank", "prose", "code", "log", "output", "markup"}

// String returns the kind's name ("prose", "code", …).
func (k LineKind) String() string {
	if int(k) < len(kindNames) && k >= 0 {
		return kindNames[k]
	}
	return fmt.Sprintf("LineKind(%d)", int(k))
}

// Pos is where a line of Question.Source came from.
type Pos struct {
	// Line is the 1-based line in the pasted file.
	Line int
	// Col is the 1-based column in that line where the source line's first
	// byte was (5 after a ">>> " prompt); 0 if unknown (notebooks).
	Col int
}

// Line is one line of the pasted text, with its 1-based number.
type Line struct {
	// Line is the 1-based line number (for a notebook, in the JSON file).
	Line int
	// Text is the line without its line ending.
	Text string
}

// Question is a pasted question taken apart.
type Question struct {
	// File is the name the question was read under, for messages.
	File string
	// Kinds[i] is the kind of line i+1 of the file. For a notebook it is
	// the kind of what each line of the JSON holds, Markup for the rest.
	Kinds []LineKind
	// Source is the Python program: the code lines in order, each at its
	// original line number for a text file (other lines are left blank),
	// with prompts (">>> ", "In [3]: ") and block indentation removed.
	Source []byte
	// Lines[i] is where line i+1 of Source came from.
	Lines []Pos
	// Prose is the asker's text, line by line.
	Prose []Line
	// Runs are the pasted Keras runs in order.
	Runs []Run
}

// Position returns "file:line:col" in the pasted file for a 1-based line
// and column of Source, the form error messages use. The column is left
// out where it is unknown.
func (q *Question) Position(line, col int) string {
	if line < 1 || line > len(q.Lines) {
		return fmt.Sprintf("%s:%d", q.File, line)
	}
	p := q.Lines[line-1]
	if p.Col == 0 || col < 1 {
		return fmt.Sprintf("%s:%d", q.File, p.Line)
	}
	return fmt.Sprintf("%s:%d:%d", q.File, p.Line, p.Col+col-1)
}

// Error is a problem with a pasted file, located in it.
type Error struct {
	// File is the file's name as given.
	File string
	// Line is 1-based, 0 when the problem is with the file as a whole.
	Line int
	// Msg says what is wrong and how to fix it.
	Msg string
}

// Error formats e as "file:line: message".
func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

var (
	fenceRE      = regexp.MustCompile("^ {0,3}(```+|~~~+)\\s*([^`\\s]*)")
	promptRE     = regexp.MustCompile(`^(\s*>>> ?)`)
	moreRE       = regexp.MustCompile(`^(\s*\.\.\.(?: |$))`)
	ipyInRE      = regexp.MustCompile(`^(In \[[\d ]*\]:\s?)(.*)$`)
	ipyMoreRE    = regexp.MustCompile(`^(\s+\.\.\.:\s?)`)
	ipyOutRE     = regexp.MustCompile(`^Out\[\d+\]:\s*(.*)$`)
	outputREs    = regexp.MustCompile(`^(?:Model: "|Layer \(type\)|(?:Total|Trainable|Non-trainable) params:|_{10,}$|={10,}$|Traceback \(most recent call last\)|File ".*", line \d|WARNING|INFO:|ERROR:|[WIEF]\d{4} \d|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d|Downloading data from|Epoch \d+: |Restoring model weights|(?:array|tensor)\(|<tf\.Tensor|Out\[\d+\]:|\^C$|<(?:keras|tensorflow|matplotlib)[.\w]* .*>$|[┏┃┡│└┌├╭╰]|[A-Z]\w*(?:Error|Exception|Warning|Interrupt)(?::|$))`)
	summaryRowRE = regexp.MustCompile(`^\S+ \(\w+\)\s+\(.*\)\s+[\d,]+$`)
)

// isOutput reports whether s (trimmed) is console output other than Keras
// training logs.
func isOutput(s string) bool {
	return outputREs.MatchString(s) || summaryRowRE.MatchString(s)
}

// Split takes a pasted question apart: which lines are Python code, which
// Keras console output, which prose. name is used in messages and, with
// the content, to recognise a Jupyter notebook (.ipynb JSON), whose code
// cells and outputs are read instead. Markdown fences, when present, are
// trusted: only fenced lines are code. Without them each line is judged
// on its own and by the brackets left open before it (see the package
// documentation).
func Split(name string, text []byte) (*Question, error) {
	if isNotebook(name, text) {
		return splitNotebook(name, text)
	}
	if bytes.IndexByte(text, 0) >= 0 {
		return nil, &Error{File: name, Line: 1 + bytes.Count(text[:bytes.IndexByte(text, 0)], []byte("\n")),
			Msg: "binary data (a NUL byte): not a pasted question"}
	}
	lines := splitLines(string(text))
	q := &Question{File: name, Kinds: make([]LineKind, len(lines))}
	code := make([]string, len(lines)) // the code of each line, prompt removed
	cols := make([]int, len(lines))
	fenced := false
	for _, l := range lines {
		if fenceRE.MatchString(l) {
			fenced = true
			break
		}
	}
	c := classifier{q: q, lines: lines, code: code, cols: cols}
	if fenced {
		c.fenced()
	} else {
		c.unfenced()
	}
	c.dedent()
	var a assembler
	for i, l := range lines {
		k := q.Kinds[i]
		if k == Code {
			q.Lines = append(q.Lines, Pos{Line: i + 1, Col: cols[i] + 1})
		} else {
			q.Lines = append(q.Lines, Pos{Line: i + 1, Col: 1})
			code[i] = ""
		}
		if k == Prose {
			q.Prose = append(q.Prose, Line{Line: i + 1, Text: l})
		}
		a.add(item{line: i + 1, kind: k, text: l})
	}
	q.Source = []byte(strings.Join(code, "\n"))
	if len(lines) > 0 {
		q.Source = append(q.Source, '\n')
	}
	q.Runs = a.result()
	return q, nil
}

// splitLines splits on \n, dropping the \r of \r\n endings; a final
// newline does not start another line.
func splitLines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return lines
}

// classifier holds the state of classifying one text.
type classifier struct {
	q     *Question
	lines []string
	code  []string
	cols  []int
}

func (c *classifier) setCode(i int, off int) {
	c.q.Kinds[i] = Code
	c.code[i] = c.lines[i][off:]
	c.cols[i] = off
}

// consoleKind classifies a line that is not code: Log, Output, Blank or
// Prose.
func consoleKind(l string) LineKind {
	t := cleanLog(l)
	switch {
	case t == "":
		return Blank
	case classifyLog(l) != logNone:
		return Log
	case isOutput(t):
		return Output
	}
	return Prose
}

// pyFence are the info strings of fences that hold Python.
var pyFence = map[string]bool{"python": true, "py": true, "python3": true, "ipython": true, "ipython3": true, "pycon": true}

// fenced classifies a text with Markdown fences: outside them prose (and
// console output), inside them code (and console output).
func (c *classifier) fenced() {
	in := false
	lang := ""
	var st pyState
	var block []int
	flush := func() {
		// A Python fence holds code; an untagged one only if it reads as
		// code; any other (text, console, bash, yaml…) holds none.
		keep := pyFence[lang]
		if lang == "" {
			n, codeLike := 0, 0
			var st pyState
			for _, i := range block {
				n++
				var info lineInfo
				st, info = scanPython(c.lines[i], st)
				if info.valid {
					codeLike++
				}
			}
			keep = codeLike*2 >= n
		}
		if !keep {
			for _, i := range block {
				c.q.Kinds[i] = Output
				c.code[i] = ""
			}
		}
		block = block[:0]
	}
	for i, l := range c.lines {
		if m := fenceRE.FindStringSubmatch(l); m != nil && (!in || strings.TrimSpace(l) == strings.TrimSpace(m[1])) {
			if in {
				flush()
			}
			in = !in
			lang = strings.ToLower(m[2])
			st = pyState{}
			c.q.Kinds[i] = Markup
			continue
		}
		if !in {
			c.q.Kinds[i] = consoleKind(l)
			continue
		}
		if k := consoleKind(l); k == Log || k == Output || k == Blank {
			c.q.Kinds[i] = k
			continue
		}
		if pyFence[lang] {
			// A sentence in a Python fence means the fence was never
			// closed and the question went on.
			open := st.open()
			var info lineInfo
			st, info = scanPython(l, st)
			if !open && !info.valid && readsLikeProse(strings.TrimSpace(l)) {
				c.q.Kinds[i] = Prose
				st = pyState{}
				continue
			}
		}
		block = append(block, i)
		c.setCode(i, 0)
	}
	if in {
		flush()
	}
	c.prompts()
}

// prompts turns interactive sessions among code lines into code: ">>> "
// and "... " lose their prompt, and unprompted lines after a prompt are
// the session's output.
func (c *classifier) prompts() {
	session := false
	for i, l := range c.lines {
		if c.q.Kinds[i] != Code {
			if c.q.Kinds[i] != Blank {
				session = false
			}
			continue
		}
		if m := promptRE.FindString(l); m != "" {
			session = true
			c.setCode(i, len(m))
		} else if m := moreRE.FindString(l); m != "" && session {
			c.setCode(i, len(m))
		} else if session {
			c.q.Kinds[i] = consoleKind(l)
			if c.q.Kinds[i] == Prose {
				c.q.Kinds[i] = Output
			}
			c.code[i] = ""
		}
	}
}

// unfenced classifies a text without fences, line by line.
func (c *classifier) unfenced() {
	var st pyState
	// lastCode is the index of the last code line, -1 if none; neutral
	// lines (comments, lone words) are decided by their neighbours.
	lastCode := -1
	var neutral []int
	traceback, summary, session, ipy := false, false, false, false
	prevBlank := true
	for i, l := range c.lines {
		t := strings.TrimSpace(l)
		kinds := c.q.Kinds
		if t == "" {
			kinds[i] = Blank
			summary = summary && !prevBlank
			// As in doctests, a blank line ends a prompt's output.
			session = session && st.open()
			prevBlank = true
			continue
		}
		wasBlank := prevBlank
		prevBlank = false
		// A statement left open continues, unless Keras output breaks in.
		if st.open() {
			lk := classifyLog(l)
			// A sentence inside brackets means the bracket was never
			// closed: "model.fit(x, y" and then the question goes on.
			_, info := scanPython(l, st)
			lost := st.triple == "" && !info.valid && readsLikeProse(t)
			if lk != logEpoch && lk != logProgress && lk != logTrainOn && !lost {
				off := 0
				if session {
					if m := moreRE.FindString(l); m != "" {
						off = len(m)
					}
				} else if ipy {
					if m := ipyMoreRE.FindString(l); m != "" {
						off = len(m)
					}
				}
				st, _ = scanPython(l[off:], st)
				c.setCode(i, off)
				lastCode = i
				continue
			}
			st = pyState{}
		}
		if traceback {
			kinds[i] = Output
			// The exception line, at column 0, ends a traceback.
			traceback = strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t") || strings.HasPrefix(t, "Traceback")
			continue
		}
		if summary {
			kinds[i] = Output
			summary = !strings.HasPrefix(t, "Non-trainable params:")
			continue
		}
		// Interactive prompts: ">>> code", "... code", "In [3]: code".
		if m := promptRE.FindString(l); m != "" {
			session, ipy = true, false
			st, _ = scanPython(l[len(m):], st)
			c.setCode(i, len(m))
			lastCode = i
			continue
		}
		if m := ipyInRE.FindStringSubmatch(l); m != nil {
			ipy, session = true, false
			if strings.TrimSpace(m[2]) == "" {
				kinds[i] = Markup
				continue
			}
			st, _ = scanPython(m[2], st)
			c.setCode(i, len(m[1]))
			lastCode = i
			continue
		}
		if m := ipyMoreRE.FindString(l); m != "" && ipy {
			st, _ = scanPython(l[len(m):], st)
			c.setCode(i, len(m))
			lastCode = i
			continue
		}
		if m := moreRE.FindString(l); m != "" && session {
			st, _ = scanPython(l[len(m):], st)
			c.setCode(i, len(m))
			lastCode = i
			continue
		}
		k := consoleKind(l)
		if k == Log || k == Output {
			kinds[i] = k
			if strings.HasPrefix(t, "Traceback") {
				traceback = true
			}
			if strings.HasPrefix(t, `Model: "`) {
				summary = true
			}
			continue
		}
		if session && !readsLikeProse(t) {
			// Unprompted lines after a prompt are its output.
			kinds[i] = Output
			continue
		}
		session = false
		nst, info := scanPython(l, st)
		indented := l[0] == ' ' || l[0] == '\t'
		// Inside a block, a plausible line is code even without a feature
		// ("return x", "pass" have one; "x" alone does not).
		inBlock := indented && lastCode >= 0 && lastCode == c.prevNonBlank(i) && !wasBlank
		switch {
		case info.comment:
			kinds[i] = Prose
			neutral = append(neutral, i)
			continue
		case info.valid && (info.feature || inBlock):
			st = nst
			c.setCode(i, 0)
			lastCode = i
		case info.valid && info.names == 0 && !info.feature && nst == st:
			// Only values: what print showed ("(60000, 28, 28)", "...").
			kinds[i] = Output
		case info.valid && info.names <= 1 && !strings.ContainsAny(t, ":") && nst == st:
			kinds[i] = Prose
			neutral = append(neutral, i)
		default:
			kinds[i] = Prose
		}
	}
	c.resolveNeutral(neutral)
}

// readsLikeProse reports whether t looks like a sentence: three or more
// words ending in sentence punctuation.
func readsLikeProse(t string) bool {
	return len(strings.Fields(t)) >= 3 && strings.ContainsAny(t[len(t)-1:], ".?!:")
}

// prevNonBlank returns the index of the last non-blank line before i, -1
// if none.
func (c *classifier) prevNonBlank(i int) int {
	for j := i - 1; j >= 0; j-- {
		if c.q.Kinds[j] != Blank {
			return j
		}
	}
	return -1
}

func (c *classifier) nextNonBlank(i int) int {
	for j := i + 1; j < len(c.lines); j++ {
		if c.q.Kinds[j] != Blank {
			return j
		}
	}
	return -1
}

// resolveNeutral decides comments and lone words: a comment is code if
// code follows it; a lone word only between code lines (a stray "Thanks"
// must not become a NameError).
func (c *classifier) resolveNeutral(neutral []int) {
	isNeutral := map[int]bool{}
	for _, i := range neutral {
		isNeutral[i] = true
	}
	// Walk backwards so a run of comments above code all become code.
	for k := len(neutral) - 1; k >= 0; k-- {
		i := neutral[k]
		next := c.nextNonBlank(i)
		prev := c.prevNonBlank(i)
		nextCode := next >= 0 && c.q.Kinds[next] == Code
		prevCode := prev >= 0 && c.q.Kinds[prev] == Code && !isNeutral[prev]
		comment := strings.HasPrefix(strings.TrimSpace(c.lines[i]), "#")
		if nextCode && (comment || prevCode) {
			c.setCode(i, 0)
		}
	}
}

// dedent removes the indentation of code blocks that start indented
// (Markdown's four-space code blocks, text pasted from inside a function)
// unless they continue a block header or an indented block above them.
func (c *classifier) dedent() {
	prevIndent, prevColon := 0, false
	for i := 0; i < len(c.lines); {
		if c.q.Kinds[i] != Code {
			i++
			continue
		}
		// The segment: code lines up to the next line that is neither
		// code nor blank.
		j := i
		for j < len(c.lines) && (c.q.Kinds[j] == Code || c.q.Kinds[j] == Blank) {
			j++
		}
		ind := indentOf(c.code[i])
		if ind > 0 && !prevColon && ind > prevIndent {
			for k := i; k < j; k++ {
				if c.q.Kinds[k] == Code && indentOf(c.code[k]) < ind && strings.TrimSpace(c.code[k]) != "" {
					ind = indentOf(c.code[k])
				}
			}
			for k := i; k < j; k++ {
				if c.q.Kinds[k] == Code && len(c.code[k]) >= ind && strings.TrimSpace(c.code[k][:ind]) == "" {
					c.code[k] = c.code[k][ind:]
					c.cols[k] += ind
				}
			}
		}
		for k := j - 1; k >= i; k-- {
			if c.q.Kinds[k] == Code && strings.TrimSpace(c.code[k]) != "" && !strings.HasPrefix(strings.TrimSpace(c.code[k]), "#") {
				prevIndent = indentOf(c.code[k])
				prevColon = strings.HasSuffix(strings.TrimSpace(stripComment(c.code[k])), ":")
				break
			}
		}
		i = j
	}
}

func indentOf(s string) int {
	return len(s) - len(strings.TrimLeft(s, " \t"))
}

// stripComment drops a trailing comment, roughly (a '#' in a string ends
// the line early, which only matters for the ':' test).
func stripComment(s string) string {
	if i := strings.IndexByte(s, '#'); i >= 0 {
		return s[:i]
	}
	return s
}
