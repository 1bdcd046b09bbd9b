package callbacks

import (
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"strings"
)

// Model is what the callbacks that save or restore weights need of the
// model being trained; *kiln.Sequential implements it.
type Model interface {
	// SaveWeights writes the weights to path (.safetensors).
	SaveWeights(path string) error
	// GetWeights returns a copy of every variable's values, like Keras'
	// model.get_weights().
	GetWeights() [][]float32
	// SetWeights sets every variable's values, like model.set_weights().
	SetWeights(w [][]float32) error
}

// ModelSetter is implemented by callbacks that need the model; Fit calls
// SetModel before TrainBegin, as Keras calls callback.set_model.
type ModelSetter interface {
	SetModel(m Model)
}

// ModelCheckpoint saves the weights after each epoch, or only when a
// monitored value improves, with the semantics and messages of Keras
// 2.13's ModelCheckpoint (save_freq "epoch", weights only).
//
// Path may hold Python format fields filled from the epoch (1-based) and
// the logs, as in Keras: "ckpt-{epoch:02d}-{val_loss:.2f}.safetensors".
type ModelCheckpoint struct {
	// Path is where the weights go (a .safetensors file), with optional
	// {epoch} and {log name} fields.
	Path string
	// Monitor is the log value SaveBestOnly watches; "" means "val_loss".
	Monitor string
	// SaveBestOnly saves only when Monitor improves on the best so far.
	SaveBestOnly bool
	// Mode is "min", "max" or "auto" ("" is auto: max for names containing
	// "acc", min otherwise, as Keras decides).
	Mode string
	// Verbose > 0 prints Keras' messages to Out.
	Verbose int
	// Out receives the messages; nil means os.Stdout. Warn receives
	// warnings; nil means os.Stderr.
	Out, Warn io.Writer

	// Best is the best monitored value so far (±Inf before any); Saved
	// lists the files written. Both reset at TrainBegin.
	Best  float64
	Saved []string
	// Err is the first error saving a file (training continues, as a
	// callback cannot stop it with an error; the caller should check).
	Err error

	model   Model
	greater bool
	resume  *checkpointState
}

// SetModel gives the checkpoint the model to save.
func (c *ModelCheckpoint) SetModel(m Model) { c.model = m }

func (c *ModelCheckpoint) monitor() string {
	if c.Monitor == "" {
		return "val_loss"
	}
	return c.Monitor
}

// TrainBegin resolves the mode and resets the state.
func (c *ModelCheckpoint) TrainBegin(Params, *Control) {
	switch c.Mode {
	case "min":
		c.greater = false
	case "max":
		c.greater = true
	default:
		m := c.monitor()
		c.greater = strings.Contains(m, "acc") || strings.HasPrefix(m, "fmeasure")
	}
	c.Best = math.Inf(1)
	if c.greater {
		c.Best = math.Inf(-1)
	}
	c.Saved, c.Err = nil, nil
	if r := c.resume; r != nil {
		c.resume = nil
		c.Best, c.Saved = float64(r.Best), r.Saved
	}
}

// EpochBegin does nothing.
func (c *ModelCheckpoint) EpochBegin(int) {}

// BatchEnd does nothing.
func (c *ModelCheckpoint) BatchEnd(int, Logs) {}

// TrainEnd does nothing.
func (c *ModelCheckpoint) TrainEnd(Logs) {}

// EpochEnd saves the weights if they are to be saved.
func (c *ModelCheckpoint) EpochEnd(epoch int, logs Logs) {
	out := c.Out
	if out == nil {
		out = os.Stdout
	}
	path, err := FormatPath(c.Path, epoch, logs)
	if err != nil {
		c.fail(err)
		return
	}
	if c.SaveBestOnly {
		current, ok := logs.Get(c.monitor())
		if !ok {
			w := c.Warn
			if w == nil {
				w = os.Stderr
			}
			fmt.Fprintf(w, "WARNING:tensorflow:Can save best model only with %s available, skipping.\n", c.monitor())
			return
		}
		better := current < c.Best
		if c.greater {
			better = current > c.Best
		}
		if !better {
			if c.Verbose > 0 {
				fmt.Fprintf(out, "\nEpoch %d: %s did not improve from %s\n", epoch+1, c.monitor(), pyFixed5(c.Best))
			}
			return
		}
		if c.Verbose > 0 {
			fmt.Fprintf(out, "\nEpoch %d: %s improved from %s to %s, saving model to %s\n", epoch+1, c.monitor(), pyFixed5(c.Best), pyFixed5(current), path)
		}
		c.Best = current
	} else if c.Verbose > 0 {
		fmt.Fprintf(out, "\nEpoch %d: saving model to %s\n", epoch+1, path)
	}
	if c.model == nil {
		c.fail(fmt.Errorf("ModelCheckpoint: no model to save (Fit sets it; call SetModel when driving callbacks yourself)"))
		return
	}
	if err := c.model.SaveWeights(path); err != nil {
		c.fail(fmt.Errorf("ModelCheckpoint: %w", err))
		return
	}
	c.Saved = append(c.Saved, path)
}

func (c *ModelCheckpoint) fail(err error) {
	if c.Err == nil {
		c.Err = err
		w := c.Warn
		if w == nil {
			w = os.Stderr
		}
		fmt.Fprintf(w, "kiln: warning: %v\n", err)
	}
}

var pathField = regexp.MustCompile(`\{([A-Za-z_][A-Za-z0-9_]*)(?::([^{}]*))?\}`)
var formatSpec = regexp.MustCompile(`^([0+-]?)(\d*)(?:\.(\d+))?([dfeEgG%]?)$`)

// FormatPath fills the Python format fields of a checkpoint path:
// {epoch} is the 1-based epoch, any other name a value from logs; a spec
// after ':' is a Python format spec such as 02d, .2f or .3e.
func FormatPath(path string, epoch int, logs Logs) (string, error) {
	var err error
	out := pathField.ReplaceAllStringFunc(path, func(f string) string {
		m := pathField.FindStringSubmatch(f)
		name, spec := m[1], m[2]
		var v float64
		isInt := false
		if name == "epoch" {
			v, isInt = float64(epoch+1), true
		} else if lv, ok := logs.Get(name); ok {
			v = lv
		} else {
			err = fmt.Errorf("checkpoint path %q: no value for {%s}; the logs have epoch, %s", path, name, strings.Join(logs.Names, ", "))
			return f
		}
		s := formatSpec.FindStringSubmatch(spec)
		if s == nil {
			err = fmt.Errorf("checkpoint path %q: format spec %q is not one kiln knows (e.g. 02d, .2f, .3e)", path, spec)
			return f
		}
		flag, width, prec, typ := s[1], s[2], s[3], s[4]
		if typ == "" {
			if isInt && prec == "" {
				typ = "d"
			} else {
				typ = "g"
			}
		}
		verb := "%" + flag + width
		if prec != "" {
			verb += "." + prec
		}
		if typ == "d" {
			if !isInt && v != math.Trunc(v) {
				err = fmt.Errorf("checkpoint path %q: {%s:%s} needs an integer, the value is %v", path, name, spec, v)
				return f
			}
			return fmt.Sprintf(verb+"d", int64(v))
		}
		if typ == "%" {
			return fmt.Sprintf(verb+"f", 100*v) + "%"
		}
		return fmt.Sprintf(verb+typ, v)
	})
	if err != nil {
		return "", err
	}
	return out, nil
}

// pyFixed5 formats v like Python's "%0.5f": inf, -inf and nan spelled as
// Python spells them.
func pyFixed5(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	case math.IsNaN(v):
		return "nan"
	}
	return fmt.Sprintf("%0.5f", v)
}
