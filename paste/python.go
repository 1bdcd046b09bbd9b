package paste

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// pyKeywords are Python's reserved words; two of them, or one and an
// operand, may stand side by side ("for x in y", "is not None").
var pyKeywords = map[string]bool{
	"and": true, "as": true, "assert": true, "async": true, "await": true, "break": true,
	"class": true, "continue": true, "def": true, "del": true, "elif": true, "else": true,
	"except": true, "finally": true, "for": true, "from": true, "global": true, "if": true,
	"import": true, "in": true, "is": true, "lambda": true, "nonlocal": true, "not": true,
	"or": true, "pass": true, "raise": true, "return": true, "try": true, "while": true,
	"with": true, "yield": true,
	// Python 2's print statement still appears in old posts.
	"print": true,
}

// operandWords are keywords that are values, not glue.
var operandWords = map[string]bool{"True": true, "False": true, "None": true}

// blockWords start a compound statement's header, which ends with ':'.
var blockWords = map[string]bool{
	"def": true, "class": true, "if": true, "elif": true, "else": true, "for": true,
	"while": true, "with": true, "try": true, "except": true, "finally": true, "async": true,
}

// statementWords start a simple statement.
var statementWords = map[string]bool{
	"import": true, "from": true, "return": true, "pass": true, "break": true, "continue": true,
	"raise": true, "assert": true, "del": true, "global": true, "nonlocal": true, "yield": true,
}

// headerRE is the shape of statements whose first word is also English.
var headerRE = map[string]*regexp.Regexp{
	"for":    regexp.MustCompile(`^for\s.*\sin\b`),
	"async":  regexp.MustCompile(`^async\s+(def|for|with)\s`),
	"def":    regexp.MustCompile(`^def\s+\w+\s*\(`),
	"class":  regexp.MustCompile(`^class\s+\w+\s*[(:]`),
	"from":   regexp.MustCompile(`^from\s+\.*[\w.]*\s+import\b`),
	"import": regexp.MustCompile(`^import\s+\w`),
}

// pyState is what carries over from one line of Python to the next.
type pyState struct {
	depth  int    // open brackets
	triple string // the open triple quote, if inside a triple-quoted string
	cont   bool   // the line ended with a backslash
}

// open reports whether the next line continues the current statement.
func (s pyState) open() bool { return s.depth > 0 || s.triple != "" || s.cont }

// lineInfo is what scanning one line found.
type lineInfo struct {
	valid bool // tokenises as (part of) Python
	// feature is true if the line has something prose does not: an
	// assignment, a call, a subscript, an attribute, a keyword statement.
	feature bool
	// names counts the identifier tokens, words the non-keyword ones.
	names int
	// endsColon: the code part ends with ':'.
	endsColon bool
	// comment: the line is only a comment.
	comment bool
}

// scanPython tokenises one line starting in state st and returns the state
// after it and what it found. It knows enough Python to tell it from
// English: strings, comments, brackets, and which tokens may be adjacent.
func scanPython(line string, st pyState) (pyState, lineInfo) {
	var info lineInfo
	info.valid = true
	cont := st.open()
	st.cont = false
	i := 0
	// prev is the kind of the previous token: 0 none, 'o' operand (name,
	// number, string, closing bracket), 'k' keyword, 'p' operator.
	prev := byte(0)
	prevName := ""
	first := ""
	if st.triple != "" {
		end := strings.Index(line, st.triple)
		if end < 0 {
			return st, info
		}
		i = end + 3
		st.triple = ""
		prev = 'o'
	}
	lastTok := ""
	for i < len(line) {
		c := line[i]
		switch {
		case c == ' ' || c == '\t' || c == '\f':
			i++
			continue
		case c == '#':
			if lastTok == "" && !cont {
				info.comment = true
			}
			i = len(line)
			continue
		case c == '\\' && strings.TrimSpace(line[i+1:]) == "":
			st.cont = true
			i = len(line)
			continue
		}
		if c == '"' || c == '\'' {
			q := string(c)
			if strings.HasPrefix(line[i:], q+q+q) {
				q = q + q + q
			}
			end := -1
			for j := i + len(q); j < len(line); j++ {
				if line[j] == '\\' {
					j++
					continue
				}
				if strings.HasPrefix(line[j:], q) {
					end = j
					break
				}
			}
			if prev == 'o' && prevName != "" && !isStringPrefix(prevName) && prevName != "print" {
				info.valid = false
			}
			prevName = ""
			if end < 0 {
				if len(q) == 3 {
					st.triple = q
					return st, info
				}
				// A quote left open on its line is an apostrophe.
				info.valid = false
				return st, info
			}
			i = end + len(q)
			prev = 'o'
			lastTok = "str"
			continue
		}
		r, size := utf8.DecodeRuneInString(line[i:])
		if r == '_' || unicode.IsLetter(r) {
			j := i
			for j < len(line) {
				r, size := utf8.DecodeRuneInString(line[j:])
				if r != '_' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
					break
				}
				j += size
			}
			w := line[i:j]
			info.names++
			if first == "" && lastTok == "" {
				first = w
			}
			if pyKeywords[w] {
				prev = 'k'
				prevName = w
			} else {
				if prev == 'o' && !(prevName == "print") {
					info.valid = false
				}
				prev = 'o'
				prevName = w
			}
			lastTok = w
			i = j
			continue
		}
		if c >= '0' && c <= '9' || c == '.' && i+1 < len(line) && line[i+1] >= '0' && line[i+1] <= '9' {
			j := i
			for j < len(line) && (isNumByte(line[j]) || (line[j] == '+' || line[j] == '-') && (line[j-1] == 'e' || line[j-1] == 'E')) {
				j++
			}
			if prev == 'o' && prevName != "print" {
				info.valid = false
			}
			prev, prevName, lastTok = 'o', "", line[i:j]
			i = j
			continue
		}
		i += size
		switch c {
		case '(', '[', '{':
			if prev == 'o' && (c == '(' || c == '[') {
				info.feature = true // a call or a subscript
			}
			st.depth++
			prev = 'p'
		case ')', ']', '}':
			if st.depth == 0 && !cont {
				// A closer with nothing open: prose like "1) do this".
				info.valid = false
			}
			if st.depth > 0 {
				st.depth--
			}
			prev = 'o'
		case '=':
			if i < len(line) && line[i] == '=' {
				i++
			} else if st.depth == 0 {
				info.feature = true // an assignment
			}
			prev = 'p'
		case '.':
			if prev == 'o' && i < len(line) && (line[i] == '_' || isLetter(line[i])) {
				info.feature = true // an attribute
			} else if first == "from" {
				// A relative import: "from . import x", "from ..a import b".
			} else if strings.HasPrefix(line[i-1:], "...") {
				i += 2 // Ellipsis
				prev = 'o'
				continue
			} else {
				info.valid = false
			}
			prev = 'p'
		case ':':
			if strings.HasPrefix(line[i:], "//") {
				info.valid = false // a URL
			}
			prev = 'p'
		case ',', ';', '+', '-', '*', '/', '%', '<', '>', '&', '|', '^', '~', '!', '@':
			if c == '!' && !(i < len(line) && line[i] == '=') {
				// '!' only comes in "!=".
				info.valid = false
			}
			prev = 'p'
		default:
			// '?', '`', '$' and non-ASCII punctuation are not Python.
			info.valid = false
		}
		lastTok = string(c)
		prevName = ""
	}
	if info.comment || lastTok == "" {
		return st, info
	}
	if lastTok == ":" {
		info.endsColon = true
	}
	// A statement ends with an operand, or with ':' after a block keyword,
	// or inside brackets, or at a backslash.
	if !st.open() && !cont && prev == 'p' && lastTok != ")" && lastTok != "]" && lastTok != "}" {
		if !(lastTok == ":" && blockWords[first]) && lastTok != "," {
			info.valid = false
		}
	}
	if lastTok == ":" && !blockWords[first] && st.depth == 0 && !cont {
		info.valid = false
	}
	if re := headerRE[first]; re != nil && !cont && !re.MatchString(strings.TrimSpace(line)) {
		// "for example:", "from the docs": the keyword is an English word.
		info.valid = false
	}
	if blockWords[first] || statementWords[first] || strings.HasPrefix(strings.TrimSpace(line), "@") {
		info.feature = true
	}
	if first == "print" && !cont {
		info.feature = true
	}
	return st, info
}

func isStringPrefix(w string) bool {
	switch strings.ToLower(w) {
	case "r", "b", "u", "f", "rb", "br", "fr", "rf":
		return true
	}
	return false
}

func isNumByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '.' || c == '_' || c == 'e' || c == 'E' || c == 'j' || c == 'x' || c == 'X' ||
		c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80 }
