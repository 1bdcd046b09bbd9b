package program

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// formatValue is Python's format(v, spec) for the format mini-language:
// [[fill]align][sign][#][0][width][,|_][.precision][type], types s d f F e
// E g G % and none.
func formatValue(v Value, spec string) (string, error) {
	if sc, ok := v.(interface{ scalar() (float64, bool) }); ok {
		if f, ok := sc.scalar(); ok {
			v = f
		}
	}
	fs, err := parseSpec(spec)
	if err != nil {
		return "", err
	}
	var body string
	switch fs.typ {
	case 0, 's':
		if fs.typ == 0 && fs.precision < 0 {
			if _, isNum := toFloat(v); !isNum || fs.sign == 0 {
				body = str(v)
				break
			}
		}
		if f, isNum := toFloat(v); isNum && fs.typ == 0 {
			body = numberBody(v, f, fs)
			break
		}
		s, ok := v.(string)
		if !ok && fs.typ == 's' {
			return "", fmt.Errorf("ValueError: Unknown format code 's' for object of type '%s'", typeName(v))
		}
		if !ok {
			s = str(v)
		}
		if fs.precision >= 0 && fs.precision < len([]rune(s)) {
			s = string([]rune(s)[:fs.precision])
		}
		body = s
	case 'd', 'f', 'F', 'e', 'E', 'g', 'G', '%':
		f, ok := toFloat(v)
		if !ok {
			return "", fmt.Errorf("ValueError: Unknown format code '%c' for object of type '%s'", fs.typ, typeName(v))
		}
		if fs.typ == 'd' {
			if _, isInt := v.(int); !isInt {
				if _, isBool := v.(bool); !isBool {
					return "", fmt.Errorf("ValueError: Unknown format code 'd' for object of type 'float'")
				}
			}
		}
		body = numberBody(v, f, fs)
	default:
		return "", fmt.Errorf("ValueError: format code '%c' is not in kiln's reader", fs.typ)
	}
	return pad(body, fs), nil
}

type formatSpec struct {
	fill      rune
	align     byte
	sign      byte
	zero      bool
	width     int
	grouping  byte
	precision int
	typ       byte
}

func parseSpec(spec string) (formatSpec, error) {
	fs := formatSpec{fill: ' ', precision: -1}
	r := []rune(spec)
	i := 0
	isAlign := func(c rune) bool { return c == '<' || c == '>' || c == '^' || c == '=' }
	if len(r) >= 2 && isAlign(r[1]) {
		fs.fill, fs.align, i = r[0], byte(r[1]), 2
	} else if len(r) >= 1 && isAlign(r[0]) {
		fs.align, i = byte(r[0]), 1
	}
	if i < len(r) && (r[i] == '+' || r[i] == '-' || r[i] == ' ') {
		fs.sign = byte(r[i])
		i++
	}
	if i < len(r) && r[i] == '#' {
		i++
	}
	if i < len(r) && r[i] == '0' {
		fs.zero = true
		i++
	}
	for i < len(r) && r[i] >= '0' && r[i] <= '9' {
		fs.width = fs.width*10 + int(r[i]-'0')
		i++
	}
	if i < len(r) && (r[i] == ',' || r[i] == '_') {
		fs.grouping = byte(r[i])
		i++
	}
	if i < len(r) && r[i] == '.' {
		i++
		fs.precision = 0
		start := i
		for i < len(r) && r[i] >= '0' && r[i] <= '9' {
			fs.precision = fs.precision*10 + int(r[i]-'0')
			i++
		}
		if i == start {
			return fs, fmt.Errorf("ValueError: Format specifier missing precision")
		}
	}
	if i < len(r) {
		fs.typ = byte(r[i])
		i++
	}
	if i != len(r) {
		return fs, fmt.Errorf("ValueError: Invalid format specifier '%s'", spec)
	}
	return fs, nil
}

func numberBody(v Value, f float64, fs formatSpec) string {
	neg := math.Signbit(f) && !(f == 0 && fs.typ == 'd')
	a := math.Abs(f)
	var s string
	switch fs.typ {
	case 'd':
		s = strconv.FormatInt(int64(a), 10)
	case 'f', 'F':
		s = strconv.FormatFloat(a, 'f', precisionOr(fs, 6), 64)
	case 'e', 'E':
		s = pyExp(strconv.FormatFloat(a, 'e', precisionOr(fs, 6), 64))
	case '%':
		s = strconv.FormatFloat(a*100, 'f', precisionOr(fs, 6), 64) + "%"
	case 'g', 'G':
		p := precisionOr(fs, 6)
		if p == 0 {
			p = 1
		}
		s = pyExp(strconv.FormatFloat(a, 'g', p, 64))
	default: // no type
		if _, isInt := v.(int); isInt {
			s = strconv.FormatInt(int64(a), 10)
		} else if fs.precision >= 0 {
			s = pyExp(strconv.FormatFloat(a, 'g', max(fs.precision, 1), 64))
		} else {
			s = floatRepr(a)
		}
	}
	if fs.typ == 'E' || fs.typ == 'G' || fs.typ == 'F' {
		s = strings.ToUpper(s)
	}
	if fs.grouping != 0 {
		s = group(s, fs.grouping)
	}
	switch {
	case neg:
		s = "-" + s
	case fs.sign == '+':
		s = "+" + s
	case fs.sign == ' ':
		s = " " + s
	}
	return s
}

func precisionOr(fs formatSpec, def int) int {
	if fs.precision >= 0 {
		return fs.precision
	}
	return def
}

// pyExp writes Go's exponent the way Python does: at least two digits.
func pyExp(s string) string {
	i := strings.IndexAny(s, "eE")
	if i < 0 {
		return s
	}
	mant, exp := s[:i+1], s[i+1:]
	sign := "+"
	if exp[0] == '+' || exp[0] == '-' {
		sign, exp = exp[:1], exp[1:]
	}
	if len(exp) < 2 {
		exp = "0" + exp
	}
	return mant + sign + exp
}

func group(s string, sep byte) string {
	end := strings.IndexAny(s, ".e%")
	if end < 0 {
		end = len(s)
	}
	intPart, rest := s[:end], s[end:]
	var b strings.Builder
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(sep)
		}
		b.WriteRune(c)
	}
	return b.String() + rest
}

func pad(s string, fs formatSpec) string {
	n := len([]rune(s))
	if n >= fs.width {
		return s
	}
	fill := strings.Repeat(string(fs.fill), fs.width-n)
	align := fs.align
	if align == 0 {
		align = '<'
		if fs.zero {
			align, fill = '=', strings.Repeat("0", fs.width-n)
		} else if len(s) > 0 && (s[0] == '-' || s[0] == '+' || (s[0] >= '0' && s[0] <= '9')) {
			align = '>'
		}
	}
	switch align {
	case '>':
		return fill + s
	case '^':
		left := (fs.width - n) / 2
		return string([]rune(fill)[:left]) + s + string([]rune(fill)[left:])
	case '=':
		if len(s) > 0 && (s[0] == '-' || s[0] == '+' || s[0] == ' ') {
			return s[:1] + fill + s[1:]
		}
		return fill + s
	}
	return s + fill
}

// formatMethod is Python's str.format: {} {0} {name} fields with !r/!s
// conversions and format specs; {{ and }} are braces.
func formatMethod(tmpl string, pos []Value, kw []Kwarg) (Value, error) {
	var b strings.Builder
	auto := 0
	for i := 0; i < len(tmpl); i++ {
		c := tmpl[i]
		if c == '}' {
			if i+1 < len(tmpl) && tmpl[i+1] == '}' {
				i++
			}
			b.WriteByte('}')
			continue
		}
		if c != '{' {
			b.WriteByte(c)
			continue
		}
		if i+1 < len(tmpl) && tmpl[i+1] == '{' {
			b.WriteByte('{')
			i++
			continue
		}
		end := strings.IndexByte(tmpl[i:], '}')
		if end < 0 {
			return nil, fmt.Errorf("ValueError: Single '{' encountered in format string")
		}
		field := tmpl[i+1 : i+end]
		i += end
		name, spec, _ := strings.Cut(field, ":")
		name, conv, _ := strings.Cut(name, "!")
		var v Value
		switch {
		case name == "":
			if auto >= len(pos) {
				return nil, fmt.Errorf("IndexError: Replacement index %d out of range for positional args tuple", auto)
			}
			v = pos[auto]
			auto++
		case name[0] >= '0' && name[0] <= '9':
			n, err := strconv.Atoi(name)
			if err != nil || n >= len(pos) {
				return nil, fmt.Errorf("IndexError: Replacement index %s out of range for positional args tuple", name)
			}
			v = pos[n]
		default:
			found := false
			for _, k := range kw {
				if k.Name == name {
					v, found = k.Value, true
				}
			}
			if !found {
				return nil, fmt.Errorf("KeyError: '%s'", name)
			}
		}
		if conv == "r" {
			v = repr(v)
		}
		s, err := formatValue(v, spec)
		if err != nil {
			return nil, err
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

// percentFormat is Python's "..." % args for %s %d %f %r %.Nf %e %g %%.
func percentFormat(tmpl string, arg Value) (Value, error) {
	args, ok := arg.(Tuple)
	if !ok {
		args = Tuple{arg}
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(tmpl); i++ {
		if tmpl[i] != '%' {
			b.WriteByte(tmpl[i])
			continue
		}
		j := i + 1
		for j < len(tmpl) && strings.IndexByte("0123456789.-+ ", tmpl[j]) >= 0 {
			j++
		}
		if j >= len(tmpl) {
			return nil, fmt.Errorf("ValueError: incomplete format")
		}
		if tmpl[j] == '%' {
			b.WriteByte('%')
			i = j
			continue
		}
		if n >= len(args) {
			return nil, fmt.Errorf("TypeError: not enough arguments for format string")
		}
		flags, verb := tmpl[i+1:j], tmpl[j]
		v := args[n]
		n++
		spec := strings.TrimPrefix(flags, "-")
		align := ""
		if strings.HasPrefix(flags, "-") {
			align = "<"
		}
		var s string
		var err error
		switch verb {
		case 's':
			s, err = formatValue(str(v), align+spec)
		case 'r':
			s, err = formatValue(repr(v), align+spec)
		case 'd', 'i':
			if f, ok := toFloat(v); ok {
				v = int(f)
			}
			s, err = formatValue(v, align+spec+"d")
		case 'f', 'e', 'g', 'E', 'G':
			s, err = formatValue(v, align+spec+string(verb))
		default:
			return nil, fmt.Errorf("ValueError: unsupported format character '%c'", verb)
		}
		if err != nil {
			return nil, err
		}
		b.WriteString(s)
		i = j
	}
	if n < len(args) {
		return nil, fmt.Errorf("TypeError: not all arguments converted during string formatting")
	}
	return b.String(), nil
}
