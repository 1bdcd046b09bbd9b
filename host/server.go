package host

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/config"
	"github.com/kiln-ml/kiln/data"
)

// server answers the stand-in's requests: one JSON object per line in,
// zero or more {"out": text} / {"event": ...} lines and then one
// {"result": ...} or {"error": {...}} line out per request.
type server struct {
	ctx    context.Context
	file   string
	arrays string
	in     *bufio.Reader
	out    *os.File
	wmu    sync.Mutex
	o      Options
	res    *Result
	notes  io.Writer

	models  map[int]*modelState
	nextNPY int
	noted   map[string]bool
	// failure is the program's uncaught exception, as the stand-in
	// reported it.
	failure *ProgramError
}

func newServer(ctx context.Context, file, arrays string, in, out *os.File, o Options, res *Result) *server {
	return &server{ctx: ctx, file: file, arrays: arrays, in: bufio.NewReaderSize(in, 1<<16), out: out, o: o, res: res,
		notes: orDiscard(o.Notes), models: map[int]*modelState{}, noted: map[string]bool{}}
}

// request is one request of the stand-in.
type request struct {
	Op string `json:"op"`
	// At is the program's file:line making the call.
	At   string          `json:"at"`
	Args json.RawMessage `json:"args"`
}

// pyError is an exception for the stand-in to raise at the program's call.
type pyError struct {
	Type, Msg string
}

func (e *pyError) Error() string { return e.Type + ": " + e.Msg }

func typeErr(format string, a ...any) error {
	return &pyError{"TypeError", fmt.Sprintf(format, a...)}
}

func valueErr(format string, a ...any) error {
	return &pyError{"ValueError", fmt.Sprintf(format, a...)}
}

func (s *server) serve() error {
	for {
		line, err := s.in.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			var req request
			if jerr := json.Unmarshal(line, &req); jerr != nil {
				return fmt.Errorf("bad request %q: %v", truncate(string(line), 200), jerr)
			}
			res, herr := s.handle(&req)
			if werr := s.answer(res, herr); werr != nil {
				return werr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// send writes one message line to the stand-in.
func (s *server) send(msg any) error {
	b, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_, err = s.out.Write(append(b, '\n'))
	return err
}

func (s *server) answer(res any, err error) error {
	if err == nil {
		return s.send(map[string]any{"result": res})
	}
	var pe *pyError
	if !errors.As(err, &pe) {
		typ := "ValueError"
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			typ = "KeyboardInterrupt"
		}
		pe = &pyError{typ, err.Error()}
	}
	return s.send(map[string]any{"error": map[string]string{"type": pe.Type, "message": pe.Msg}})
}

// console is an io.Writer that sends Keras' console output to the
// stand-in, which writes it to the program's sys.stdout.
type console struct{ s *server }

func (c console) Write(p []byte) (int, error) {
	if err := c.s.send(map[string]string{"out": string(p)}); err != nil {
		return 0, err
	}
	return len(p), nil
}

// note prints one of kiln's notes, once per key.
func (s *server) note(key, format string, a ...any) {
	if key != "" {
		if s.noted[key] {
			return
		}
		s.noted[key] = true
	}
	fmt.Fprintf(s.notes, "kiln: note: %s\n", fmt.Sprintf(format, a...))
}

func (s *server) handle(req *request) (any, error) {
	var args map[string]any
	if len(req.Args) > 0 {
		dec := json.NewDecoder(bytes.NewReader(req.Args))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		args, _ = plain(v).(map[string]any)
	}
	if args == nil {
		args = map[string]any{}
	}
	switch req.Op {
	case "hello":
		return s.hello(), nil
	case "make":
		return s.make(args)
	case "compile":
		return s.compile(args)
	case "fit":
		return s.fit(req.At, args)
	case "evaluate":
		return s.evaluate(args)
	case "predict":
		return s.predict(args)
	case "summary":
		return s.summary(args)
	case "count_params":
		return s.countParams(args)
	case "mnist":
		return s.mnist()
	case "note":
		msg, _ := args["message"].(string)
		key, _ := args["key"].(string)
		s.note(key, "%s", msg)
		return nil, nil
	case "failed":
		return s.failed(args)
	}
	return nil, fmt.Errorf("kiln: unknown request %q (the stand-in modules and kiln disagree: a bug)", req.Op)
}

// failed records the program's uncaught exception.
func (s *server) failed(a map[string]any) (any, error) {
	pe := &ProgramError{}
	pe.File, _ = a["file"].(string)
	if n, ok := a["line"].(int); ok {
		pe.Line = n
	}
	pe.Type, _ = a["type"].(string)
	pe.Message, _ = a["message"].(string)
	pe.Traceback, _ = a["traceback"].(string)
	s.failure = pe
	return nil, nil
}

// plain turns decoded JSON (with json.Number) into the values experiment
// files hold: int for integers, float64 otherwise.
func plain(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil && !strings.ContainsAny(string(x), ".eE") {
			return int(i)
		}
		f, _ := x.Float64()
		return f
	case []any:
		for i := range x {
			x[i] = plain(x[i])
		}
		return x
	case map[string]any:
		for k := range x {
			x[k] = plain(x[k])
		}
		return x
	}
	return v
}

// readArray reads an array the stand-in saved.
func (s *server) readArray(a map[string]any, key string) (*data.Array, string, error) {
	p, _ := a[key].(string)
	if p == "" {
		return nil, "", nil
	}
	if filepath.Dir(p) != filepath.Clean(s.arrays) {
		return nil, "", fmt.Errorf("kiln: array path %s outside kiln's directory", p)
	}
	arr, err := data.ReadNPY(p)
	return arr, p, err
}

// history is a History as the stand-in's History object takes it.
func history(h *kiln.History) map[string]any {
	hist := map[string]any{}
	for k, v := range h.History {
		hist[k] = pyFloats(v)
	}
	out := map[string]any{"keys": h.Keys, "history": hist, "epoch": h.Epoch, "params": h.Params}
	if h.Keys == nil {
		out["keys"] = []string{}
	}
	if h.Epoch == nil {
		out["epoch"] = []int{}
	}
	return out
}

// summaryText is the model summary as Keras prints it.
func summaryText(m *kiln.Sequential) (string, error) {
	var b strings.Builder
	if err := m.Summary(&b); err != nil {
		return "", err
	}
	return b.String(), nil
}

// freshExperiment is the experiment used to build an untrained model (for
// summary, count_params, and evaluate or predict before fit).
func freshExperiment(spec *modelSpec, seed int64) *config.Experiment {
	c := spec.Compile
	if c == nil {
		c = &config.CompileSpec{Optimizer: config.OptimizerSpec{Name: "sgd", Args: map[string]any{}}, Loss: config.LossSpec{Name: "mean_squared_error"}}
	}
	return &config.Experiment{Seed: seed, Model: spec.Layers, Compile: *c}
}

// pyFloats is v for JSON, with NaN and ±Inf (a diverging training) as the
// strings "nan", "inf" and "-inf", which the stand-in turns back into
// floats.
func pyFloats(v []float64) []any {
	out := make([]any, len(v))
	for i, x := range v {
		switch {
		case math.IsNaN(x):
			out[i] = "nan"
		case math.IsInf(x, 1):
			out[i] = "inf"
		case math.IsInf(x, -1):
			out[i] = "-inf"
		default:
			out[i] = x
		}
	}
	return out
}
