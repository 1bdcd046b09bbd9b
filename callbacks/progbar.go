package callbacks

import (
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// Progress bar geometry and redraw throttle, as in Keras 2's Progbar.
const (
	barWidth       = 30
	redrawInterval = 0.05 // seconds
)

// ProgressBar prints Keras 2's console output (tf.keras 2.6–2.15,
// Progbar driven by ProgbarLogger), byte for byte:
//
//	Epoch 1/10
//	1875/1875 [==============================] - 2s 946us/step - loss: 0.2950 - accuracy: 0.9160 - val_loss: 0.1580 - val_accuracy: 0.9530
//
// Params.Verbose selects the mode: 0 prints nothing; 1 prints the bar; 2
// prints one line per epoch:
//
//	1875/1875 - 3s - loss: 0.2950 - accuracy: 0.9160 - 3s/epoch - 1ms/step
//
// The "Epoch e/E" header is printed at EpochBegin when Params.Epochs > 1
// (verbose 1 or 2); Params.Epochs == 0 (evaluate, predict) prints none.
//
// With verbose 1 and TTY set, the bar is redrawn in place after steps at
// most every 0.05 s, each draw starting with one backspace per character
// of the previous draw and a carriage return, as Keras does; only the
// final draw of an epoch ends the line. The final line is drawn at
// EpochEnd, so its elapsed time and time per step include validation.
// With TTY unset (a log file or pipe) only each epoch's final line is
// printed, with no control characters.
//
// The time per step ignores the first step, which is usually slow (Keras
// 2.7+): it is (now - end of step 1) / (current - 1).
type ProgressBar struct {
	// W receives the output.
	W io.Writer
	// TTY makes verbose 1 redraw the bar in place while an epoch runs.
	TTY bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	verbose int
	epochs  int
	target  int // steps per epoch; 0 while unknown

	// per-epoch state, reset at EpochBegin
	active        bool
	start         time.Time
	lastUpdate    time.Time
	updated       bool
	firstStepAt   time.Time
	haveFirstStep bool
	epochEndAt    time.Time
	haveEpochEnd  bool
	totalWidth    int
	seen          int
	order         []string
	values        map[string]float64
}

// NewProgressBar returns a ProgressBar writing to w; tty says whether w is a
// terminal (in-place redraws) or a log (final lines only).
func NewProgressBar(w io.Writer, tty bool) *ProgressBar {
	return &ProgressBar{W: w, TTY: tty}
}

func (b *ProgressBar) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}

// TrainBegin records the run's parameters.
func (b *ProgressBar) TrainBegin(p Params, _ *Control) {
	b.verbose = p.Verbose
	b.epochs = p.Epochs
	b.target = p.Steps
	if b.target < 0 {
		b.target = 0
	}
	b.active = false
}

// EpochBegin starts a new bar (and its clock) and prints the epoch header.
func (b *ProgressBar) EpochBegin(epoch int) {
	if b.verbose == 0 {
		return
	}
	b.reset()
	if b.epochs > 1 {
		b.write(fmt.Sprintf("Epoch %d/%d\n", epoch+1, b.epochs))
	}
}

// BatchEnd updates the bar with the running logs; in verbose 1 it redraws
// it (TTY only) unless the last redraw was under 0.05 s ago. It never draws
// the final line, not even after the last step.
func (b *ProgressBar) BatchEnd(step int, logs Logs) {
	if b.verbose == 0 {
		return
	}
	if !b.active {
		b.reset()
	}
	b.seen = step
	if b.verbose == 1 {
		b.update(step, logs, false)
	}
}

// EpochEnd draws the epoch's final line with logs, which include the
// validation values.
func (b *ProgressBar) EpochEnd(_ int, logs Logs) {
	if b.verbose == 0 {
		return
	}
	if !b.active {
		b.reset()
	}
	if b.target == 0 {
		// Unknown length: the first epoch teaches it, as in Keras.
		b.target = b.seen
	}
	b.update(b.target, logs, true)
	b.active = false
}

// TrainEnd does nothing.
func (b *ProgressBar) TrainEnd(Logs) {}

func (b *ProgressBar) reset() {
	b.active = true
	b.start = b.now()
	b.updated = false
	b.haveFirstStep = false
	b.haveEpochEnd = false
	b.totalWidth = 0
	b.seen = 0
	b.order = b.order[:0]
	b.values = make(map[string]float64)
}

// update is Keras 2's Progbar.update for stateful metrics (logs already
// hold running means).
func (b *ProgressBar) update(current int, logs Logs, finalize bool) {
	for i, k := range logs.Names {
		if k == BatchLoss {
			continue // a per-step value; the bar shows epoch means, as Keras
		}
		if _, ok := b.values[k]; !ok {
			b.order = append(b.order, k)
		}
		b.values[k] = logs.Values[i]
	}
	b.seen = current

	now := b.now()
	info := " - " + pyFixed(now.Sub(b.start).Seconds(), 0) + "s"
	if b.target > 0 && current == b.target {
		b.epochEndAt = now
		b.haveEpochEnd = true
	}
	switch b.verbose {
	case 1:
		if b.updated && now.Sub(b.lastUpdate).Seconds() < redrawInterval && !finalize {
			return
		}
		prev := b.totalWidth
		var msg strings.Builder
		if b.TTY {
			msg.WriteString(strings.Repeat("\b", prev))
			msg.WriteByte('\r')
		}
		bar := b.bar(current)
		b.totalWidth = utf8.RuneCountInString(bar)
		msg.WriteString(bar)

		perStep := b.estimateStepDuration(current, now)
		if b.target == 0 || finalize {
			info += formatTime(perStep, "step")
		} else {
			info = " - ETA: " + formatETA(perStep*float64(b.target-current))
		}
		for _, k := range b.order {
			info += " - " + k + ": " + FormatValue(b.values[k])
		}
		b.totalWidth += utf8.RuneCountInString(info)
		if b.TTY && prev > b.totalWidth {
			info += strings.Repeat(" ", prev-b.totalWidth)
		}
		if finalize {
			info += "\n"
		}
		msg.WriteString(info)
		if b.TTY || finalize {
			b.write(msg.String())
		}
	case 2:
		if finalize {
			line := padLeft(current, numDigits(b.target)) + "/" + fmt.Sprint(b.target) + info
			for _, k := range b.order {
				line += " - " + k + ": " + formatValueVerbose2(b.values[k])
			}
			if b.haveEpochEnd {
				perEpoch := b.epochEndAt.Sub(b.start).Seconds()
				perStep := 0.0
				if b.target > 0 {
					perStep = perEpoch / float64(b.target)
				}
				line += " -" + formatTime(perEpoch, "epoch")
				line += " -" + formatTime(perStep, "step")
				line += "\n"
			}
			b.write(line)
		}
	}
	b.lastUpdate = now
	b.updated = true
}

// bar is the count field and the bar: "  100/1875 [=>............................]",
// or "      7/Unknown" while the number of steps is unknown.
func (b *ProgressBar) bar(current int) string {
	if b.target == 0 {
		return padLeft(current, 7) + "/Unknown"
	}
	var s strings.Builder
	s.WriteString(padLeft(current, numDigits(b.target)))
	s.WriteString("/")
	s.WriteString(fmt.Sprint(b.target))
	s.WriteString(" [")
	progWidth := int(barWidth * (float64(current) / float64(b.target)))
	if progWidth > 0 {
		s.WriteString(strings.Repeat("=", progWidth-1))
		if current < b.target {
			s.WriteByte('>')
		} else {
			s.WriteByte('=')
		}
	}
	if progWidth < barWidth {
		s.WriteString(strings.Repeat(".", barWidth-progWidth))
	}
	s.WriteByte(']')
	return s.String()
}

// estimateStepDuration is Keras 2.7+'s Progbar._estimate_step_duration: the
// first step is left out of the estimate once a later one is seen. Like
// Keras, it is only called when a line is drawn (or, without a TTY, would
// be).
func (b *ProgressBar) estimateStepDuration(current int, now time.Time) float64 {
	if current == 0 {
		return 0
	}
	var t float64
	if b.haveFirstStep && current > 1 {
		t = now.Sub(b.firstStepAt).Seconds() / float64(current-1)
	} else {
		t = now.Sub(b.start).Seconds() / float64(current)
	}
	if current == 1 {
		b.firstStepAt = now
		b.haveFirstStep = true
	}
	return t
}

type flusher interface{ Flush() error }

func (b *ProgressBar) write(s string) {
	if b.W == nil {
		return
	}
	_, _ = io.WriteString(b.W, s)
	if f, ok := b.W.(flusher); ok {
		_ = f.Flush()
	}
}
