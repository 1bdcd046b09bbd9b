package paste

import (
	"regexp"
	"strconv"
	"strings"
)

// Value is one number as Keras printed it.
type Value struct {
	// Name is the metric's name as written: "loss", "accuracy", "acc",
	// "val_loss", "Test accuracy", …; "" for an element of a printed list.
	Name string
	// Value is Text parsed as a float64 (NaN for "nan"); a trailing "%" is
	// kept in Text but not divided out of Value.
	Value float64
	// Text is the number verbatim, for side-by-side tables.
	Text string
}

// Epoch is the final progress line of one epoch of a pasted run.
type Epoch struct {
	// Line is the 1-based line of the final progress line (of the
	// "Epoch n/N" header if the epoch has no progress line).
	Line int
	// Epoch and Epochs are n and N of "Epoch n/N"; 0 if no header was
	// pasted.
	Epoch, Epochs int
	// Steps and Total are "1875/1875"; Total is 0 for "/Unknown" and both
	// are 0 for lines without a counter (Keras 2.2 verbose=2: " - 3s - loss").
	Steps, Total int
	// Time is the elapsed time as printed ("2s"), PerStep the time per step
	// or sample ("946us/step", "50us/sample"); "" when not printed.
	Time, PerStep string
	// Metrics are the "name: value" pairs in the order printed.
	Metrics []Value
	// Partial is true when the epoch has no completed progress line (the
	// paste stops mid-epoch); Metrics then come from its last progress line.
	Partial bool
}

// Evaluation is a completed progress line that is not an epoch's: what
// model.evaluate prints ("313/313 [====] - 0s 1ms/step - loss: 0.27 -
// accuracy: 0.92").
type Evaluation struct {
	// Line is the 1-based line of the progress line.
	Line int
	// Steps, Total, Time and PerStep are as in Epoch.
	Steps, Total  int
	Time, PerStep string
	// Metrics are the "name: value" pairs in the order printed.
	Metrics []Value
}

// Printed is a result the program printed itself: "Test accuracy: 0.92"
// (one named Value) or "[0.2712, 0.9231]" (unnamed Values).
type Printed struct {
	// Line is the 1-based line.
	Line int
	// Values are the numbers printed, in order.
	Values []Value
}

// Run is one pasted training run: the epochs of one call to fit, the
// evaluations and printed results that follow it, and the sentence that
// introduced it.
type Run struct {
	// Caption is the prose that introduced the run ("This is the output
	// when the learning rate is 0.01:"): the last paragraph between the
	// previous run and this one, its lines joined by spaces. If code came
	// after that paragraph, it captions the run only if a run came before
	// (or in a notebook): above the first program it is the question's
	// introduction. "" if there is none.
	Caption string
	// CaptionLine is the 1-based line where Caption starts, 0 if none.
	CaptionLine int
	// Line is the 1-based line of the run's first log line.
	Line int
	// TrainSamples and ValSamples come from tf.keras 1.x's "Train on 60000
	// samples, validate on 10000 samples"; TrainSteps and ValSteps from
	// TF 2.0's "Train for 1875 steps, validate for 313 steps"; 0 if absent.
	TrainSamples, ValSamples, TrainSteps, ValSteps int
	// Epochs are the run's epochs in the order printed.
	Epochs []Epoch
	// Evaluations are completed progress lines after the epochs.
	Evaluations []Evaluation
	// Printed are printed results attributed to this run.
	Printed []Printed
}

var (
	ansiRE       = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]`)
	epochRE      = regexp.MustCompile(`^Epoch\s+(\d+)\s*/\s*(\d+)\s*(.*)$`)
	counterRE    = regexp.MustCompile(`^(\d+)/(\d+|Unknown)(?:\s+|$)(.*)$`)
	trainOnRE    = regexp.MustCompile(`^Train on (\d+) samples(?:, validate on (\d+) samples)?\s*$`)
	trainForRE   = regexp.MustCompile(`^Train for (\d+) steps(?:, validate for (\d+) steps)?\s*$`)
	metricRE     = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_.]*)\s*:\s*(\S+)$`)
	timeRE       = regexp.MustCompile(`^(?:\d+(?:\.\d+)?(?:us|µs|ms|s|m|min|h)(?:/(?:step|sample|epoch))?\s*)+$`)
	printedRE    = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9_ ()]{0,40}?)\s*:\s*(\S+?)\s*$`)
	listRE       = regexp.MustCompile(`^\[\s*(\S+?)(?:\s*,\s*(\S+?))*\s*,?\s*\]$`)
	sepRE        = regexp.MustCompile(`\s+-\s+`)
	printedSepRE = regexp.MustCompile(`[,;]\s+`)
)

// cleanLog returns what a terminal would have shown for a pasted console
// line: ANSI colours removed, and of the segments that \r and \b overwrite
// only the last non-blank one.
func cleanLog(s string) string {
	if strings.Contains(s, "\x1b") {
		s = ansiRE.ReplaceAllString(s, "")
	}
	if strings.ContainsAny(s, "\r\b") {
		segs := strings.FieldsFunc(s, func(r rune) bool { return r == '\r' || r == '\b' })
		s = ""
		for i := len(segs) - 1; i >= 0; i-- {
			if strings.TrimSpace(segs[i]) != "" {
				s = segs[i]
				break
			}
		}
	}
	return strings.TrimSpace(s)
}

// parseNumber parses a number as Keras or print() writes it; ok is false
// for anything else.
func parseNumber(text string) (Value, bool) {
	t := strings.TrimSuffix(text, "%")
	switch strings.ToLower(t) {
	case "nan", "-nan":
		t = "NaN"
	case "inf", "+inf":
		t = "+Inf"
	case "-inf":
		t = "-Inf"
	default:
		if t == "" || !strings.ContainsAny(t[len(t)-1:], "0123456789.") {
			return Value{}, false
		}
		// Reject Go-only syntax (0x…, 1_000) that ParseFloat accepts.
		for _, r := range t {
			if !strings.ContainsRune("0123456789.eE+-", r) {
				return Value{}, false
			}
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil {
		return Value{}, false
	}
	return Value{Value: v, Text: text}, true
}

// progress is one parsed progress line.
type progress struct {
	steps, total  int
	hasCounter    bool
	time, perStep string
	metrics       []Value
	complete      bool
}

// parseProgress parses a progress line (after cleanLog) in any Keras
// format. ok is false if s is not one.
func parseProgress(s string) (p progress, ok bool) {
	rest, bar := s, false
	if m := counterRE.FindStringSubmatch(s); m != nil {
		p.hasCounter = true
		p.steps, _ = strconv.Atoi(m[1])
		if m[2] != "Unknown" {
			p.total, _ = strconv.Atoi(m[2])
		}
		rest = m[3]
		// Skip the bar: Keras 2 "[====>...]", Keras 3 "━━━━".
		if strings.HasPrefix(rest, "[") {
			end := strings.IndexByte(rest, ']')
			if end < 0 || strings.Trim(rest[1:end], "=>.- ") != "" {
				return p, false
			}
			rest, bar = rest[end+1:], true
		} else if t := strings.TrimLeft(rest, "━─╸╺■▰▱█░▒"); t != rest {
			rest, bar = t, true
		}
	} else if !strings.HasPrefix(s, "- ") {
		return p, false
	}
	rest = strings.TrimSpace(rest)
	rest = strings.TrimPrefix(rest, "- ")
	if rest == "" {
		// A bare counter ("1875/1875") is a progress line only with a bar.
		return p, bar
	}
	eta := false
	for _, piece := range sepRE.Split(rest, -1) {
		piece = strings.TrimSpace(piece)
		switch {
		case piece == "":
		case strings.HasPrefix(piece, "ETA:"):
			eta = true
		case timeRE.MatchString(piece):
			for _, f := range strings.Fields(piece) {
				switch {
				case strings.HasSuffix(f, "/step"), strings.HasSuffix(f, "/sample"):
					if p.perStep == "" {
						p.perStep = f
					}
				case strings.HasSuffix(f, "/epoch"):
				default:
					if p.time == "" {
						p.time = f
					}
				}
			}
		default:
			m := metricRE.FindStringSubmatch(piece)
			if m == nil {
				return p, false
			}
			v, ok := parseNumber(m[2])
			if !ok {
				return p, false
			}
			v.Name = m[1]
			p.metrics = append(p.metrics, v)
		}
	}
	if !p.hasCounter && len(p.metrics) == 0 {
		return p, false
	}
	p.complete = !eta && (p.total == 0 && !p.hasCounter || p.total > 0 && p.steps == p.total)
	return p, true
}

// parsePrinted parses "Test accuracy: 0.92" or "[0.27, 0.92]".
func parsePrinted(s string) ([]Value, bool) {
	if m := ipyOutRE.FindStringSubmatch(s); m != nil {
		// IPython's "Out[4]: 0.4987" shows an expression's value.
		if v, ok := parseNumber(m[1]); ok {
			return []Value{v}, true
		}
		s = m[1]
	}
	if printedRE.MatchString(strings.SplitN(s, ",", 2)[0]) {
		// One or more "Label: number", separated by commas or semicolons.
		var vs []Value
		for _, piece := range printedSepRE.Split(s, -1) {
			m := printedRE.FindStringSubmatch(piece)
			if m == nil || strings.HasPrefix(m[1], "Epoch") {
				return nil, false
			}
			v, ok := parseNumber(m[2])
			if !ok {
				return nil, false
			}
			v.Name = m[1]
			vs = append(vs, v)
		}
		return vs, true
	}
	if listRE.MatchString(s) {
		var vs []Value
		for _, f := range strings.Split(strings.Trim(s, "[] ,"), ",") {
			v, ok := parseNumber(strings.TrimSpace(f))
			if !ok {
				return nil, false
			}
			vs = append(vs, v)
		}
		return vs, true
	}
	return nil, false
}

// logKind says what a console line is; logNone if it is not Keras output.
type logKind int

const (
	logNone logKind = iota
	logEpoch
	logProgress
	logTrainOn
	logPrinted
)

// classifyLog says whether s (raw) is a Keras console line.
func classifyLog(raw string) logKind {
	s := cleanLog(raw)
	if s == "" {
		return logNone
	}
	if epochRE.MatchString(s) {
		return logEpoch
	}
	if trainOnRE.MatchString(s) || trainForRE.MatchString(s) {
		return logTrainOn
	}
	if _, ok := parseProgress(s); ok {
		return logProgress
	}
	if _, ok := parsePrinted(s); ok {
		return logPrinted
	}
	return logNone
}

// item is one classified line fed to the run assembler.
type item struct {
	line int
	kind LineKind
	text string
}

// assembler groups log lines into runs.
type assembler struct {
	runs []Run
	cur  *Run
	// epoch is the epoch being filled, nil between epochs.
	epoch *Epoch
	// gotFinal is true once the current epoch has its completed line.
	gotFinal bool
	// last is its last progress line, used if none completes.
	last     *progress
	lastLine int
	// caption collects the last paragraph of prose since the last log
	// line; beforeCode is true if code came after it.
	caption     []string
	captionLine int
	beforeCode  bool
	// sawCode and sawCaption are true if code or prose came since the
	// current run's last log line.
	sawCode, sawCaption bool
	// paraBreak is true after a blank line.
	paraBreak bool
	// notebook: a markdown cell above a code cell captions its output,
	// even for the first run.
	notebook bool
}

func (a *assembler) add(it item) {
	switch it.kind {
	case Blank:
		a.paraBreak = true
		return
	case Markup, Output:
		return
	case Prose:
		if a.paraBreak || a.caption == nil {
			// The caption is the last paragraph before the log.
			a.caption = nil
			a.paraBreak, a.beforeCode = false, false
			a.captionLine = it.line
		}
		a.caption = append(a.caption, strings.TrimSpace(it.text))
		a.sawCaption = true
		return
	case Code:
		a.paraBreak, a.beforeCode = true, a.caption != nil
		a.sawCode = true
		return
	}
	s := cleanLog(it.text)
	if m := epochRE.FindStringSubmatch(s); m != nil {
		n, _ := strconv.Atoi(m[1])
		total, _ := strconv.Atoi(m[2])
		if a.cur == nil || a.sawCode || a.sawCaption || len(a.cur.Epochs) > 0 &&
			(n <= a.cur.Epochs[len(a.cur.Epochs)-1].Epoch || total != a.cur.Epochs[len(a.cur.Epochs)-1].Epochs) {
			a.startRun(it.line)
		}
		a.finishEpoch()
		a.cur.Epochs = append(a.cur.Epochs, Epoch{Line: it.line, Epoch: n, Epochs: total})
		a.epoch = &a.cur.Epochs[len(a.cur.Epochs)-1]
		a.done()
		if rest := strings.TrimSpace(m[3]); rest != "" {
			a.add(item{line: it.line, kind: Log, text: rest})
		}
		return
	}
	if m := trainOnRE.FindStringSubmatch(s); m != nil {
		a.startRun(it.line)
		a.cur.TrainSamples, _ = strconv.Atoi(m[1])
		a.cur.ValSamples, _ = strconv.Atoi(m[2])
		a.done()
		return
	}
	if m := trainForRE.FindStringSubmatch(s); m != nil {
		a.startRun(it.line)
		a.cur.TrainSteps, _ = strconv.Atoi(m[1])
		a.cur.ValSteps, _ = strconv.Atoi(m[2])
		a.done()
		return
	}
	if p, ok := parseProgress(s); ok {
		if len(p.metrics) == 0 {
			// Downloads ("11490434/11490434 [====] - 0s 0us/step") and
			// bare counters carry nothing to compare.
			return
		}
		if a.epoch != nil && !a.gotFinal {
			if p.complete {
				a.setEpoch(it.line, p, false)
				a.gotFinal = true
			} else {
				a.last, a.lastLine = &p, it.line
			}
			a.done()
			return
		}
		if !p.complete || a.epoch != nil && hasVal(p.metrics) {
			// evaluate prints no val_ metrics: a second epoch-like line
			// is the epoch's final line pasted twice.
			return
		}
		if a.cur == nil || a.sawCaption && (len(a.cur.Evaluations) > 0 || len(a.cur.Printed) > 0) {
			a.startRun(it.line)
		}
		a.finishEpoch()
		a.cur.Evaluations = append(a.cur.Evaluations, Evaluation{Line: it.line, Steps: p.steps, Total: p.total,
			Time: p.time, PerStep: p.perStep, Metrics: p.metrics})
		a.done()
		return
	}
	if vs, ok := parsePrinted(s); ok {
		if a.cur == nil || a.sawCaption && (len(a.cur.Evaluations) > 0 || len(a.cur.Printed) > 0) {
			a.startRun(it.line)
		}
		a.finishEpoch()
		a.cur.Printed = append(a.cur.Printed, Printed{Line: it.line, Values: vs})
		a.done()
	}
}

func hasVal(vs []Value) bool {
	for _, v := range vs {
		if strings.HasPrefix(v.Name, "val_") {
			return true
		}
	}
	return false
}

// done notes that a log line was consumed: what follows is after it.
func (a *assembler) done() {
	a.sawCode, a.sawCaption = false, false
	a.caption, a.captionLine, a.beforeCode = nil, 0, false
}

func (a *assembler) startRun(line int) {
	a.finishEpoch()
	if a.cur != nil {
		a.runs = append(a.runs, *a.cur)
	}
	a.cur = &Run{Line: line}
	// Prose above the first program is the question's introduction
	// ("This is the code:"), not a caption; above later programs it says
	// what changed ("Second run, with patience=1:").
	if a.caption != nil && (!a.beforeCode || a.notebook || len(a.runs) > 0) {
		a.cur.Caption = strings.Join(a.caption, " ")
		a.cur.CaptionLine = a.captionLine
	}
}

func (a *assembler) setEpoch(line int, p progress, partial bool) {
	e := a.epoch
	e.Line = line
	e.Steps, e.Total = p.steps, p.total
	e.Time, e.PerStep = p.time, p.perStep
	e.Metrics = p.metrics
	e.Partial = partial
}

// finishEpoch closes the current epoch, falling back on its last partial
// progress line if it never completed.
func (a *assembler) finishEpoch() {
	if a.epoch != nil && !a.gotFinal {
		if a.last != nil {
			a.setEpoch(a.lastLine, *a.last, true)
		} else {
			a.epoch.Partial = true
		}
	}
	a.epoch, a.gotFinal, a.last, a.lastLine = nil, false, nil, 0
}

func (a *assembler) result() []Run {
	a.finishEpoch()
	if a.cur != nil {
		a.runs = append(a.runs, *a.cur)
		a.cur = nil
	}
	return a.runs
}

// ParseLog reads Keras console output, one string per line (line 1 first),
// and returns its runs. Lines that are not Keras output are taken as prose
// and become the caption of the run they precede. Progress lines that an
// epoch's final line overwrote (partial bars, "ETA:", \r and \b noise) are
// skipped. A run ends where the epoch count restarts or prose intervenes.
func ParseLog(lines []string) []Run {
	var a assembler
	for i, l := range lines {
		k := Prose
		if strings.TrimSpace(l) == "" {
			k = Blank
		} else if classifyLog(l) != logNone {
			k = Log
		} else if isOutput(cleanLog(l)) {
			k = Output
		}
		a.add(item{line: i + 1, kind: k, text: l})
	}
	return a.result()
}
