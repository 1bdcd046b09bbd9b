package sweep

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/kiln-ml/kiln/internal/atomicfile"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// Format identifies the results.json layout.
const Format = "kiln-sweep/1"

// Results are the finished runs of a plan (all of them, one shard's, or
// those done before an interruption).
type Results struct {
	Plan *Plan
	// Runs are the finished runs, ordered by id.
	Runs []RunResult
}

// RunResult is one finished run: its place in the plan and its History.
type RunResult struct {
	ID     int   `json:"id"`
	Cell   int   `json:"cell"`
	Repeat int   `json:"repeat"`
	Seed   int64 `json:"seed"`
	// Epochs are the 0-based epochs run, as kiln.History.Epoch.
	Epochs []int `json:"epochs"`
	// Keys are the History keys in Keras' order.
	Keys []string `json:"keys"`
	// History maps each key to one value per epoch, exactly as Fit
	// returned them.
	History map[string]Values `json:"history"`
	// Seconds is the run's wall time. It is not saved, so that results
	// do not depend on the machine or the number of jobs.
	Seconds float64 `json:"-"`
}

// MarshalJSON writes the run with its history in Keras' key order.
func (r *RunResult) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(struct {
		ID     int      `json:"id"`
		Cell   int      `json:"cell"`
		Repeat int      `json:"repeat"`
		Seed   int64    `json:"seed"`
		Epochs []int    `json:"epochs"`
		Keys   []string `json:"keys"`
	}{r.ID, r.Cell, r.Repeat, r.Seed, r.Epochs, r.Keys})
	if err != nil {
		return nil, err
	}
	b = append(b[:len(b)-1], `,"history":{`...)
	keys := append([]string(nil), r.Keys...)
	for _, k := range sortedKeys(r.History) {
		if !contains(keys, k) {
			keys = append(keys, k)
		}
	}
	n := 0
	for _, k := range keys {
		v, ok := r.History[k]
		if !ok {
			continue
		}
		if n > 0 {
			b = append(b, ',')
		}
		n++
		kb, _ := json.Marshal(k)
		vb, _ := v.MarshalJSON()
		b = append(append(append(b, kb...), ':'), vb...)
	}
	return append(b, "}}"...), nil
}

func sortedKeys(m map[string]Values) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Values are per-epoch values. In JSON, finite values are numbers that
// read back to the same float64, and NaN and ±Inf are the strings "NaN",
// "Infinity" and "-Infinity".
type Values []float64

// MarshalJSON implements json.Marshaler.
func (v Values) MarshalJSON() ([]byte, error) {
	b := []byte{'['}
	for i, x := range v {
		if i > 0 {
			b = append(b, ',')
		}
		switch {
		case math.IsNaN(x):
			b = append(b, `"NaN"`...)
		case math.IsInf(x, 1):
			b = append(b, `"Infinity"`...)
		case math.IsInf(x, -1):
			b = append(b, `"-Infinity"`...)
		default:
			b = strconv.AppendFloat(b, x, 'g', -1, 64)
		}
	}
	return append(b, ']'), nil
}

// UnmarshalJSON implements json.Unmarshaler; null reads as NaN.
func (v *Values) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	out := make(Values, len(raw))
	for i, r := range raw {
		switch s := string(r); s {
		case `"NaN"`, "null":
			out[i] = math.NaN()
		case `"Infinity"`:
			out[i] = math.Inf(1)
		case `"-Infinity"`:
			out[i] = math.Inf(-1)
		default:
			if err := json.Unmarshal(r, &out[i]); err != nil {
				return fmt.Errorf("value %d: %s is not a number", i, s)
			}
		}
	}
	*v = out
	return nil
}

// MarshalJSON writes results.json: the plan's fields, then the cells and
// the runs, one per line, runs ordered by id. The output depends only on
// the plan and the runs' numbers, so merged shards give the same bytes as
// one sweep.
func (r *Results) MarshalJSON() ([]byte, error) {
	p := r.Plan
	var b bytes.Buffer
	var err error
	field := func(name string, v any, last bool) {
		if err != nil {
			return
		}
		var x []byte
		if x, err = json.Marshal(v); err == nil {
			fmt.Fprintf(&b, "  %q: %s", name, x)
			if !last {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
	}
	list := func(name string, n int, item func(i int) any, last bool) {
		fmt.Fprintf(&b, "  %q: [", name)
		for i := 0; i < n && err == nil; i++ {
			var x []byte
			if x, err = json.Marshal(item(i)); err == nil {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString("\n    ")
				b.Write(x)
			}
		}
		if n > 0 {
			b.WriteString("\n  ")
		}
		b.WriteByte(']')
		if !last {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("{\n")
	field("format", Format, false)
	field("file", p.File, false)
	field("file_sha256", p.FileSHA256, false)
	field("sets", nonNil(p.Sets), false)
	list("grids", len(p.Grids), func(i int) any { return p.Grids[i] }, false)
	field("repeats", p.Repeats, false)
	field("runs_total", len(p.Cells)*p.Repeats, false)
	list("cells", len(p.Cells), func(i int) any { return &p.Cells[i] }, false)
	list("runs", len(r.Runs), func(i int) any { return &r.Runs[i] }, true)
	b.WriteString("}\n")
	if err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// UnmarshalJSON reads results.json.
func (r *Results) UnmarshalJSON(b []byte) error {
	var f struct {
		Format string `json:"format"`
		*Plan
		RunsTotal int         `json:"runs_total"`
		Runs      []RunResult `json:"runs"`
	}
	f.Plan = &Plan{}
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	if f.Format != Format {
		return fmt.Errorf("format is %q, want %q (written by another version of kiln?)", f.Format, Format)
	}
	p := f.Plan
	if p.Repeats < 1 || len(p.Cells) == 0 || f.RunsTotal != len(p.Cells)*p.Repeats {
		return fmt.Errorf("the plan is inconsistent: %d cells × %d repeats but %d runs", len(p.Cells), p.Repeats, f.RunsTotal)
	}
	for i, c := range p.Cells {
		if c.Index != i || len(c.Values) != len(p.Grids) || len(c.Seeds) != p.Repeats {
			return fmt.Errorf("cell %d is inconsistent with the grids and repeats", i)
		}
	}
	seen := map[int]bool{}
	for _, run := range f.Runs {
		if run.ID < 0 || run.ID >= f.RunsTotal || run.Cell != run.ID/p.Repeats || run.Repeat != run.ID%p.Repeats {
			return fmt.Errorf("run %d does not belong to the plan", run.ID)
		}
		if seen[run.ID] {
			return fmt.Errorf("run %d is listed twice", run.ID)
		}
		seen[run.ID] = true
		for _, k := range run.Keys {
			if _, ok := run.History[k]; !ok {
				return fmt.Errorf("run %d has no history for %q", run.ID, k)
			}
		}
		p.addKey(run.Keys...)
	}
	r.Plan, r.Runs = p, f.Runs
	r.sortRuns()
	return nil
}

func (p *Plan) addKey(keys ...string) {
	for _, k := range keys {
		if !contains(p.keys, k) {
			p.keys = append(p.keys, k)
		}
	}
}

// ReadFile reads a results.json written by WriteFile (or Save).
func ReadFile(path string) (*Results, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r := &Results{}
	if err := json.Unmarshal(b, r); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return r, nil
}

// WriteFile writes results.json to path, atomically.
func (r *Results) WriteFile(path string) error {
	b, err := r.MarshalJSON()
	if err != nil {
		return err
	}
	return atomicfile.Write(path, b)
}

func (r *Results) sortRuns() {
	sort.Slice(r.Runs, func(i, j int) bool { return r.Runs[i].ID < r.Runs[j].ID })
}

// Missing lists the ids of the plan's runs that have no result.
func (r *Results) Missing() []int {
	have := map[int]bool{}
	for _, run := range r.Runs {
		have[run.ID] = true
	}
	var miss []int
	for _, rs := range r.Plan.Runs() {
		if !have[rs.ID] {
			miss = append(miss, rs.ID)
		}
	}
	return miss
}

// Merge combines the results of shards (or of partial sweeps) of one plan:
// same file contents, overrides, grids and repeats. A run present in
// several inputs must have the same numbers in each. The plan's file name
// is taken from the first input.
func Merge(rs ...*Results) (*Results, error) {
	if len(rs) == 0 {
		return nil, fmt.Errorf("nothing to merge")
	}
	first := rs[0].Plan
	want, err := planKey(first)
	if err != nil {
		return nil, err
	}
	out := &Results{Plan: first}
	byID := map[int]*RunResult{}
	for i, r := range rs {
		got, err := planKey(r.Plan)
		if err != nil {
			return nil, err
		}
		if got != want {
			return nil, fmt.Errorf("input %d is from a different sweep than input 1: %s", i+1, planDiff(first, r.Plan))
		}
		for j := range r.Runs {
			run := &r.Runs[j]
			if prev, ok := byID[run.ID]; ok {
				if !sameRun(prev, run) {
					return nil, fmt.Errorf("run %d differs between the inputs (the same run must give the same numbers); was one of them made by another kiln version or on other data?", run.ID)
				}
				continue
			}
			byID[run.ID] = run
			out.Runs = append(out.Runs, *run)
		}
		first.addKey(r.Plan.keys...)
	}
	out.sortRuns()
	return out, nil
}

// planKey is the plan without the file name, as JSON, for comparing plans.
func planKey(p *Plan) (string, error) {
	q := *p
	q.File = ""
	b, err := json.Marshal(&q)
	return string(b), err
}

func planDiff(a, b *Plan) string {
	switch {
	case a.FileSHA256 != b.FileSHA256:
		return fmt.Sprintf("the experiment file's contents differ (%s vs %s)", filepath.Base(a.File), filepath.Base(b.File))
	case !reflect.DeepEqual(a.Sets, b.Sets):
		return fmt.Sprintf("the --set overrides differ (%s vs %s)", strings.Join(a.Sets, " "), strings.Join(b.Sets, " "))
	case !reflect.DeepEqual(a.Grids, b.Grids):
		return "the grids differ"
	case a.Repeats != b.Repeats:
		return fmt.Sprintf("the repeats differ (%d vs %d)", a.Repeats, b.Repeats)
	}
	return "the cells (seeds or settings) differ"
}

func sameRun(a, b *RunResult) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}
