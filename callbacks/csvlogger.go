package callbacks

import (
	"bufio"
	"errors"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
)

// CSVLogger streams one row per epoch to a CSV file, like Keras 2's
// CSVLogger (tf.keras 2.15):
//
//	epoch,accuracy,loss,val_accuracy,val_loss
//	0,0.9160000085830688,0.29499998688697815,0.953000009059906,0.15800000727176666
//
// The columns are "epoch" (0-based) and the first epoch's log names sorted
// alphabetically; when those hold no "val_" name, "val_"+name columns are
// added for each (Keras does so for validation_freq > 1). Values are written
// as Python's repr of the float64 value, a missing value as NA, and lines
// end with "\r\n" (Python's csv "excel" dialect); fields are quoted only when
// they need it.
//
// The file is opened at TrainBegin (truncated, or appended to when Append
// is set; the header is then skipped if the file already has a first
// line), each row is written with one write as its epoch ends, and the file
// is closed at TrainEnd, so a killed run keeps its finished epochs.
type CSVLogger struct {
	// Path is the CSV file's name.
	Path string
	// Append appends to an existing file instead of truncating it.
	Append bool
	// Separator separates fields; 0 means ','.
	Separator rune
	// W, if set, receives the rows instead of a file at Path; the header is
	// written before the first row ever written to it. If W has a
	// Flush() error method, it is called after each row.
	W io.Writer

	out         io.Writer
	file        *os.File
	keys        []string
	wantHeader  bool
	wroteHeader bool
	wroteToW    bool
	err         error
	resume      *csvLoggerState
}

// NewCSVLogger returns a CSVLogger writing to the file at path, appending to
// it if appendMode is set.
func NewCSVLogger(path string, appendMode bool) *CSVLogger {
	return &CSVLogger{Path: path, Append: appendMode}
}

// Err returns the first error met opening, writing or closing the output.
func (l *CSVLogger) Err() error { return l.err }

func (l *CSVLogger) setErr(err error) {
	if l.err == nil && err != nil {
		l.err = err
	}
}

// TrainBegin opens the output.
func (l *CSVLogger) TrainBegin(Params, *Control) {
	l.wroteHeader = false
	if l.W != nil {
		l.out = l.W
		l.wantHeader = !l.wroteToW
		if r := l.resume; r != nil {
			l.resume = nil
			l.keys, l.wroteHeader = r.Keys, r.WroteHeader
		}
		return
	}
	l.wantHeader = true
	if r := l.resume; r != nil {
		l.resume = nil
		l.resumeFile(r)
		return
	}
	flag := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if l.Append {
		flag = os.O_WRONLY | os.O_CREATE | os.O_APPEND
		if f, err := os.Open(l.Path); err == nil {
			line, _ := bufio.NewReader(f).ReadString('\n')
			l.wantHeader = line == ""
			f.Close()
		}
	}
	f, err := os.OpenFile(l.Path, flag, 0o666)
	if err != nil {
		l.setErr(err)
		l.out = nil
		return
	}
	l.file = f
	l.out = f
}

// EpochBegin does nothing.
func (l *CSVLogger) EpochBegin(int) {}

// BatchEnd does nothing.
func (l *CSVLogger) BatchEnd(int, Logs) {}

// EpochEnd writes the epoch's row (after the header, the first time).
func (l *CSVLogger) EpochEnd(epoch int, logs Logs) {
	if l.out == nil {
		l.setErr(errors.New("callbacks: CSVLogger has no open output (TrainBegin not called or failed)"))
		return
	}
	if l.keys == nil {
		l.keys = append([]string{}, logs.Names...)
		sort.Strings(l.keys)
		hasVal := false
		for _, k := range l.keys {
			if strings.HasPrefix(k, "val_") {
				hasVal = true
				break
			}
		}
		if !hasVal {
			for _, k := range l.keys[:len(l.keys):len(l.keys)] {
				l.keys = append(l.keys, "val_"+k)
			}
		}
	}
	var b strings.Builder
	if l.wantHeader && !l.wroteHeader {
		l.row(&b, "epoch", l.keys)
	}
	vals := make([]string, len(l.keys))
	for i, k := range l.keys {
		if v, ok := logs.Get(k); ok {
			vals[i] = pyRepr(v)
		} else {
			vals[i] = "NA"
		}
	}
	l.row(&b, strconv.Itoa(epoch), vals)
	if _, err := io.WriteString(l.out, b.String()); err != nil {
		l.setErr(err)
		return
	}
	l.wroteHeader = true
	if l.W != nil {
		l.wroteToW = true
	}
	if f, ok := l.out.(flusher); ok {
		l.setErr(f.Flush())
	}
}

// TrainEnd closes the file (a W is left open).
func (l *CSVLogger) TrainEnd(Logs) {
	if l.file != nil {
		l.setErr(l.file.Close())
		l.file = nil
	}
	l.out = nil
}

func (l *CSVLogger) sep() rune {
	if l.Separator == 0 {
		return ','
	}
	return l.Separator
}

// row appends one CSV record, quoting like Python's csv.QUOTE_MINIMAL.
func (l *CSVLogger) row(b *strings.Builder, first string, rest []string) {
	sep := l.sep()
	b.WriteString(l.quote(first))
	for _, f := range rest {
		b.WriteRune(sep)
		b.WriteString(l.quote(f))
	}
	b.WriteString("\r\n")
}

func (l *CSVLogger) quote(f string) string {
	if !strings.ContainsRune(f, l.sep()) && !strings.ContainsAny(f, "\"\r\n") {
		return f
	}
	return `"` + strings.ReplaceAll(f, `"`, `""`) + `"`
}
