package explain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/kiln-ml/kiln/internal/atomicfile"
	"html/template"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/kiln-ml/kiln/report"
)

// ProbeSummary is one training run explain made.
type ProbeSummary struct {
	Name           string      `json:"name"`
	Sets           []string    `json:"sets,omitempty"`
	Transform      string      `json:"transform,omitempty"`
	PermutedLabels bool        `json:"permuted_labels,omitempty"`
	LearningRate   float64     `json:"learning_rate"`
	Rows           int         `json:"rows"`
	Steps          int         `json:"steps"`
	Seconds        float64     `json:"seconds"`
	Error          string      `json:"error,omitempty"`
	Aborted        string      `json:"aborted,omitempty"`
	InitLoss       float64     `json:"init_loss"`
	Loss           []float64   `json:"loss"`
	ValLoss        []float64   `json:"val_loss,omitempty"`
	ScoreName      string      `json:"score_name"`
	InitScore      float64     `json:"init_score"`
	TrainScore     []float64   `json:"train_score,omitempty"`
	ValScore       []float64   `json:"val_score,omitempty"`
	LogitRMS       float64     `json:"logit_rms"`
	InitLogitRMS   float64     `json:"init_logit_rms"`
	Kernels        []string    `json:"kernels,omitempty"`
	WeightNorm     []float64   `json:"weight_norm,omitempty"`
	WeightChange   []float64   `json:"weight_change,omitempty"`
	GradientRMS    []float64   `json:"gradient_rms,omitempty"`
	UpdateRatio    []float64   `json:"update_weight_ratio,omitempty"`
	Layers         []layerStat `json:"layers,omitempty"`

	score string
}

func (p *probeResult) summary() *ProbeSummary {
	s := &ProbeSummary{Name: p.spec.label, Sets: p.spec.sets, Transform: p.spec.tname, PermutedLabels: p.spec.permute,
		LearningRate: sig(p.lr, 6), Rows: p.rows, Steps: p.steps, Seconds: p.seconds, Aborted: p.aborted,
		InitLoss: sig(p.initLoss, 5), Loss: sigs(p.epochLoss, 5), ValLoss: sigs(p.valLoss, 5),
		InitScore: round(p.initScore, 4), TrainScore: rounds(p.trainScore, 4), ValScore: rounds(p.valScore, 4),
		LogitRMS: sig(p.logitRMS, 4), InitLogitRMS: sig(p.initLogitRMS, 4), Kernels: p.kernelNames,
		WeightNorm: sigs(p.w1, 4), WeightChange: sigs(p.dW, 4), GradientRMS: sigs(medianColumn(p.gradRMS), 3),
		UpdateRatio: sigs(medianColumn(p.updateRatio), 3), Layers: p.layerStats}
	if p.err != nil {
		s.Error = p.err.Error()
	}
	return s
}

func rounds(v []float64, d int) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = round(x, d)
	}
	return out
}

// ---- JSON ----

// WriteJSON writes the report as indented JSON. Non-finite numbers become
// null (JSON has no NaN).
func (r *Report) WriteJSON(w io.Writer) error {
	b, err := json.MarshalIndent(jsonValue(reflect.ValueOf(r)), "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// jsonValue converts v to plain values for encoding/json, honouring json
// tags and turning NaN/±Inf into nil.
func jsonValue(v reflect.Value) any {
	switch v.Kind() {
	case reflect.Invalid:
		return nil
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return jsonValue(v.Elem())
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil
		}
		return f
	case reflect.Struct:
		m := map[string]any{}
		var order []string
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			if !sf.IsExported() {
				continue
			}
			tag := sf.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			if name == "" {
				name = sf.Name
			}
			fv := v.Field(i)
			if strings.Contains(opts, "omitempty") && fv.IsZero() {
				continue
			}
			if strings.Contains(opts, "omitempty") && (fv.Kind() == reflect.Slice || fv.Kind() == reflect.Map) && fv.Len() == 0 {
				continue
			}
			m[name] = jsonValue(fv)
			order = append(order, name)
		}
		return orderedMap{keys: order, m: m}
	case reflect.Map:
		m := map[string]any{}
		for _, k := range v.MapKeys() {
			m[fmt.Sprint(k.Interface())] = jsonValue(v.MapIndex(k))
		}
		return m
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			return []any{}
		}
		out := make([]any, v.Len())
		for i := range out {
			out[i] = jsonValue(v.Index(i))
		}
		return out
	}
	return v.Interface()
}

// orderedMap keeps a struct's field order in JSON.
type orderedMap struct {
	keys []string
	m    map[string]any
}

func (o orderedMap) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		vb, err := json.Marshal(o.m[k])
		if err != nil {
			return nil, err
		}
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// matters reports whether the two loss semantics differ enough to show.
func (s *LossSemantics) matters() bool {
	for _, p := range [][2]float64{{s.TFBackend, s.ProbabilityPath}, {s.InitTFBackend, s.InitProbabilityPath}} {
		if r := p[0] / p[1]; !(r < 1.5 && r > 1/1.5) {
			return true
		}
	}
	return s.Activation == "sigmoid" && strings.Contains(s.Loss, "categorical")
}

// ---- terminal text ----

const textWidth = 100

// WriteText writes the explanation for a person.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "kiln explain %s", r.Experiment)
	for _, s := range r.Sets {
		fmt.Fprintf(&b, " --set %s", s)
	}
	b.WriteString("\n")
	if p := r.Plan; p != nil {
		var line string
		if r.Blocked != "" && len(r.Probes) == 0 {
			line = "Probes: none. fit cannot run the experiment as written, and no fix can be expressed as a change to the experiment to run instead."
		} else if r.Blocked != "" {
			line = fmt.Sprintf("Probes: fit cannot run the experiment as written, so only the fixes were run: the real fit on %s, validation on %d rows of %s; seed %d, batch %d; %d runs, %.1f s.",
				p.describe(), p.ValidationRows, p.Validation, p.Seed, p.BatchSize, len(r.Probes), r.ElapsedSeconds)
		} else {
			line = fmt.Sprintf("Probes: the real fit on %s (%s), validation on %d rows of %s; seed %d, batch %d, lr %s, lr×%g and lr÷10; %d runs, %.1f s.",
				p.describe(), map[bool]string{true: "every training row", false: "a fixed subset"}[p.FullData], p.ValidationRows, p.Validation,
				p.Seed, p.BatchSize, fmtLR(p.LearningRate), p.LRFactor, len(r.Probes), r.ElapsedSeconds)
			if p.Shortened {
				line += fmt.Sprintf(" The probes are shortened to %d of the experiment's %d optimizer steps (budget): fixes they cannot confirm are reported as inconclusive.", p.Steps, p.ConfiguredSteps)
			}
		}
		b.WriteString(wrap(line, "", textWidth))
	}
	if r.Blocked != "" {
		b.WriteString(wrap("fit cannot run this experiment as written: "+r.Blocked, "", textWidth))
	}
	if in := r.Initialisation; in != nil {
		b.WriteString(wrap("At initialisation: "+in.Comparison+".", "", textWidth))
	}
	c := r.Counts()
	fmt.Fprintf(&b, "\n%d error(s), %d warning(s), %d note(s).\n", c[Error], c[Warning], c[Info])
	if c[Error]+c[Warning] == 0 {
		b.WriteString("Nothing is wrong with this experiment that explain can find.\n")
	}
	for i, f := range r.Findings {
		b.WriteString("\n")
		fmt.Fprintf(&b, "%d. %s  %s\n", i+1, strings.ToUpper(string(f.Severity)), f.ID)
		b.WriteString(wrap(f.Summary, "   ", textWidth))
		if f.Why != "" && f.Severity != Info {
			b.WriteString(wrap("Why: "+f.Why, "   ", textWidth))
		}
		b.WriteString(wrap("Evidence: "+evidenceText(f.Evidence), "   ", textWidth))
		if f.Fix != "" {
			fix := "Fix: " + f.Fix
			if len(f.FixSets) > 0 {
				fix += "   [--set " + strings.Join(f.FixSets, " --set ") + "]"
			}
			b.WriteString(wrap(fix, "   ", textWidth))
		}
		if v := f.Verified; v != nil {
			b.WriteString(wrap(verifiedText(v), "   ", textWidth))
		}
		if v := f.VerifiedWithOthers; v != nil {
			b.WriteString(wrap(verifiedText(v), "   ", textWidth))
		}
		if f.SeverityBasis != "" {
			b.WriteString(wrap("Severity: "+f.SeverityBasis+".", "   ", textWidth))
		}
	}
	if s := r.LossSemantics; s != nil && s.matters() {
		b.WriteString("\n")
		fmt.Fprintf(&b, "How the loss is computed (%s after %s):\n", s.Loss, s.Activation)
		b.WriteString(wrap(fmt.Sprintf("Keras TF backend and kiln (loss from the cached pre-activation logits): %s at initialisation, %s after the probe.",
			fmtNum(s.InitTFBackend), fmtNum(s.TFBackend)), "   ", textWidth))
		b.WriteString(wrap(fmt.Sprintf("TF.js, Keras JAX/torch (loss from clipped, renormalised probabilities, at most %.3f per sample): %s at initialisation, %s after the probe.",
			s.Bound, fmtNum(s.InitProbabilityPath), fmtNum(s.ProbabilityPath)), "   ", textWidth))
		b.WriteString(wrap(fmt.Sprintf("(%d validation rows; this experiment trains with %q semantics.) %s", s.Rows, s.Used, s.Note), "   ", textWidth))
	}
	if cf := r.CombinedFix; cf != nil {
		b.WriteString("\n")
		cmd := "kiln fit " + r.Experiment
		for _, s := range cf.Sets {
			cmd += " --set " + s
		}
		b.WriteString("All fixes together:\n")
		b.WriteString(wrap(cmd, "   ", textWidth))
		b.WriteString(wrap(verifiedText(cf.Verified), "   ", textWidth))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func verifiedText(v *Verified) string {
	head := "Verified: "
	if !v.Confirmed {
		head = "Not confirmed: "
		if v.Inconclusive {
			head = "Inconclusive: "
		}
	}
	return fmt.Sprintf("%s%s (probe: %s).", head, v.Note, v.Probe)
}

// evidenceText renders evidence as "key value; ..." with the threshold last.
func evidenceText(ev map[string]any) string {
	var keys []string
	for k := range ev {
		if k != "threshold" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, k+" "+valueText(ev[k]))
	}
	s := strings.Join(parts, "; ")
	if t, ok := ev["threshold"]; ok {
		s += ". Threshold: " + fmt.Sprint(t) + "."
	}
	return s
}

func valueText(v any) string {
	switch x := v.(type) {
	case float64:
		return fmtNum(x)
	case []float64:
		var p []string
		for i, f := range x {
			if len(x) > 12 && i == 5 {
				p = append(p, fmt.Sprintf("… %d more …", len(x)-10))
			}
			if len(x) > 12 && i >= 5 && i < len(x)-5 {
				continue
			}
			p = append(p, fmtNum(f))
		}
		return "[" + strings.Join(p, ", ") + "]"
	case map[string]int:
		var keys []string
		for k := range x {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return natLess(keys[i], keys[j]) })
		var p []string
		for _, k := range keys {
			p = append(p, fmt.Sprintf("%s: %d", k, x[k]))
		}
		return "{" + strings.Join(p, ", ") + "}"
	case map[string]any:
		var keys []string
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var p []string
		for _, k := range keys {
			p = append(p, k+": "+valueText(x[k]))
		}
		return "{" + strings.Join(p, ", ") + "}"
	case []layerStat:
		var p []string
		for _, s := range x {
			if s.Act == "relu" {
				p = append(p, fmt.Sprintf("%s (%s, %d units): %.0f%% dead", s.Layer, s.Act, s.Units, 100*s.Dead))
			} else {
				p = append(p, fmt.Sprintf("%s (%s, %d units): %.0f%% saturated", s.Layer, s.Act, s.Units, 100*s.Saturated))
			}
		}
		return strings.Join(p, ", ")
	case string:
		if x == "" {
			return `""`
		}
		return x
	}
	return fmt.Sprint(v)
}

func natLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// wrap breaks s into lines of at most width, each starting with indent.
func wrap(s, indent string, width int) string {
	var b strings.Builder
	line := indent
	for _, w := range strings.Fields(s) {
		if len(line) > len(indent) && len(line)+1+len(w) > width {
			b.WriteString(line + "\n")
			line = indent + "  "
		}
		if len(line) > len(indent) && !strings.HasSuffix(line, "  ") {
			line += " "
		}
		line += w
	}
	if strings.TrimSpace(line) != "" {
		b.WriteString(line + "\n")
	}
	return b.String()
}

// ---- report directory ----

// WriteReport writes report.md, report.html and the plots (PNG) into dir,
// creating it if needed.
func (r *Report) WriteReport(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	plots, err := r.plots(dir)
	if err != nil {
		return err
	}
	var text bytes.Buffer
	r.WriteText(&text)
	md := r.markdown(plots)
	if err := atomicfile.Write(filepath.Join(dir, "report.md"), []byte(md)); err != nil {
		return err
	}
	var h bytes.Buffer
	if err := htmlTmpl.Execute(&h, map[string]any{"R": r, "Plots": plots, "Text": text.String()}); err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, "report.html"), h.Bytes())
}

type plotFile struct {
	File, Title, Caption string
}

// plots draws the running training loss of the main probes and of each
// verified fix against the run as written.
func (r *Report) plots(dir string) ([]plotFile, error) {
	var out []plotFile
	byLabel := map[string]*probeResult{}
	for _, p := range r.probes {
		byLabel[p.spec.label] = p
	}
	series := func(p *probeResult, name string, dashed bool) report.Series {
		return report.Series{Name: name, X: p.stepX, Y: p.stepLoss, Dashed: dashed}
	}
	var base, lrk *probeResult
	for _, p := range r.probes {
		if p.spec.label == "experiment as written" {
			base = p
		}
		if strings.HasPrefix(p.spec.label, "learning rate ×") {
			lrk = p
		}
	}
	save := func(name, title, caption string, s []report.Series) error {
		var ok []report.Series
		for _, x := range s {
			if len(x.Y) > 0 {
				ok = append(ok, x)
			}
		}
		if len(ok) == 0 {
			return nil
		}
		lp := &report.LinePlot{Title: title, XLabel: "training step", YLabel: "loss (running mean of the epoch)", LogY: true, Series: ok}
		if err := lp.Save(filepath.Join(dir, name)); err != nil {
			return err
		}
		out = append(out, plotFile{File: name, Title: title, Caption: caption})
		return nil
	}
	if base != nil && base.err == nil {
		s := []report.Series{series(base, fmt.Sprintf("lr %s (as written)", fmtLR(base.lr)), false)}
		if lrk != nil && lrk.err == nil {
			s = append(s, series(lrk, fmt.Sprintf("lr %s", fmtLR(lrk.lr)), true))
		}
		if err := save("loss_lr.png", "Training loss at lr and lr×k", "The experiment as written at its learning rate and at k times it.", s); err != nil {
			return nil, err
		}
	}
	for _, f := range r.Findings {
		if f.fix == nil || f.Verified == nil {
			continue
		}
		var after []*probeResult
		for _, p := range r.probes {
			if p.spec.tname == f.fix.name && slices.Equal(p.spec.sets, f.fix.sets) && !p.spec.permute {
				after = append(after, p)
			}
			if f.fix.atK && strings.HasPrefix(p.spec.label, "fix: ") && strings.HasSuffix(p.spec.label, "lr×"+fmt.Sprint(r.Plan.LRFactor)) &&
				p.spec.tname == f.fix.name && len(p.spec.sets) == len(f.fix.sets)+1 && slices.Equal(p.spec.sets[:len(f.fix.sets)], f.fix.sets) {
				after = append(after, p)
			}
		}
		var s []report.Series
		if base != nil && base.err == nil {
			s = append(s, series(base, fmt.Sprintf("as written, lr %s", fmtLR(base.lr)), false))
			if f.fix.atK && lrk != nil {
				s = append(s, series(lrk, fmt.Sprintf("as written, lr %s", fmtLR(lrk.lr)), true))
			}
		}
		for _, p := range after {
			if p.err == nil {
				s = append(s, series(p, fmt.Sprintf("fixed, lr %s", fmtLR(p.lr)), len(s)%2 == 1 && f.fix.atK))
			}
		}
		if err := save("fix_"+f.ID+".png", "Before/after: "+f.ID, f.Verified.Note, s); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (r *Report) markdown(plots []plotFile) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# kiln explain: %s\n\n", r.Experiment)
	if p := r.Plan; p != nil {
		fmt.Fprintf(&b, "Probes ran the real `fit` on %s (validation: %d rows of %s), seed %d, batch %d, learning rate %s and ×%g; %d runs in %.1f s.\n\n",
			p.describe(), p.ValidationRows, p.Validation, p.Seed, p.BatchSize, fmtLR(p.LearningRate), p.LRFactor, len(r.Probes), r.ElapsedSeconds)
	}
	if r.Blocked != "" {
		fmt.Fprintf(&b, "**fit cannot run this experiment as written:** %s\n\n", r.Blocked)
	}
	c := r.Counts()
	fmt.Fprintf(&b, "**%d error(s), %d warning(s), %d note(s).**\n\n", c[Error], c[Warning], c[Info])
	for i, f := range r.Findings {
		fmt.Fprintf(&b, "## %d. %s — `%s`\n\n%s\n\n", i+1, strings.ToUpper(string(f.Severity)), f.ID, f.Summary)
		if f.Why != "" {
			fmt.Fprintf(&b, "**Why.** %s\n\n", f.Why)
		}
		b.WriteString("**Evidence.**\n\n| | |\n|---|---|\n")
		var keys []string
		for k := range f.Evidence {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "| %s | %s |\n", k, strings.ReplaceAll(valueText(f.Evidence[k]), "|", "\\|"))
		}
		b.WriteString("\n")
		if f.Fix != "" {
			fmt.Fprintf(&b, "**Fix.** %s", f.Fix)
			if len(f.FixSets) > 0 {
				fmt.Fprintf(&b, " — `--set %s`", strings.Join(f.FixSets, " --set "))
			}
			b.WriteString("\n\n")
		}
		if f.Verified != nil {
			fmt.Fprintf(&b, "**%s**\n\n", verifiedText(f.Verified))
		}
		if f.VerifiedWithOthers != nil {
			fmt.Fprintf(&b, "**%s**\n\n", verifiedText(f.VerifiedWithOthers))
		}
		for _, p := range plots {
			if p.File == "fix_"+f.ID+".png" {
				fmt.Fprintf(&b, "![%s](%s)\n\n", p.Title, p.File)
			}
		}
	}
	if s := r.LossSemantics; s != nil && s.matters() {
		fmt.Fprintf(&b, "## How the loss is computed\n\n| semantics | at initialisation | after the probe |\n|---|---|---|\n")
		fmt.Fprintf(&b, "| Keras TF backend / kiln (cached logits) | %s | %s |\n", fmtNum(s.InitTFBackend), fmtNum(s.TFBackend))
		fmt.Fprintf(&b, "| TF.js, Keras JAX/torch (probabilities, ≤ %.3f per sample) | %s | %s |\n\n%s\n\n", s.Bound, fmtNum(s.InitProbabilityPath), fmtNum(s.ProbabilityPath), s.Note)
	}
	for _, p := range plots {
		if p.File == "loss_lr.png" {
			fmt.Fprintf(&b, "## Learning-rate probe\n\n![%s](%s)\n\n", p.Title, p.File)
		}
	}
	if cf := r.CombinedFix; cf != nil {
		fmt.Fprintf(&b, "## All fixes together\n\n```\nkiln fit %s --set %s\n```\n\n%s\n", r.Experiment, strings.Join(cf.Sets, " --set "), verifiedText(cf.Verified))
	}
	return b.String()
}

var htmlTmpl = template.Must(template.New("r").Funcs(template.FuncMap{
	"upper":    func(s Severity) string { return strings.ToUpper(string(s)) },
	"evidence": evidenceText,
	"verified": verifiedText,
	"join":     strings.Join,
	"num":      fmtNum,
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>kiln explain: {{.R.Experiment}}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.45;color:#222}
h2{margin-top:2rem;border-bottom:1px solid #ddd}
.error{color:#b00020}.warning{color:#a05a00}.info{color:#555}
code,pre{background:#f5f5f5;padding:.1rem .3rem}
pre{padding:.8rem;overflow-x:auto}
img{max-width:100%}
</style></head><body>
<h1>kiln explain: <code>{{.R.Experiment}}</code></h1>
{{with .R.Plan}}<p>Probes: the real fit on {{.Rows}} rows × {{.Epochs}} epoch(s), validation on {{.ValidationRows}} rows of {{.Validation}}; seed {{.Seed}}, batch {{.BatchSize}}, learning rate {{.LearningRate}} and ×{{.LRFactor}}.</p>{{end}}
{{if .R.Blocked}}<p><strong>fit cannot run this experiment as written:</strong> {{.R.Blocked}}</p>{{end}}
{{range $i, $f := .R.Findings}}
<h2 class="{{$f.Severity}}">{{upper $f.Severity}} — <code>{{$f.ID}}</code></h2>
<p>{{$f.Summary}}</p>
{{if $f.Why}}<p><strong>Why.</strong> {{$f.Why}}</p>{{end}}
<p><strong>Evidence.</strong> {{evidence $f.Evidence}}</p>
{{if $f.Fix}}<p><strong>Fix.</strong> {{$f.Fix}}{{if $f.FixSets}} — <code>--set {{join $f.FixSets " --set "}}</code>{{end}}</p>{{end}}
{{with $f.Verified}}<p><strong>{{verified .}}</strong></p>{{end}}
{{range $.Plots}}{{if eq .File (printf "fix_%s.png" $f.ID)}}<img src="{{.File}}" alt="{{.Title}}">{{end}}{{end}}
{{end}}
{{with .R.LossSemantics}}<h2>How the loss is computed</h2>
<table><tr><th>semantics</th><th>at initialisation</th><th>after the probe</th></tr>
<tr><td>Keras TF backend / kiln (cached logits)</td><td>{{num .InitTFBackend}}</td><td>{{num .TFBackend}}</td></tr>
<tr><td>TF.js, Keras JAX/torch (probabilities)</td><td>{{num .InitProbabilityPath}}</td><td>{{num .ProbabilityPath}}</td></tr></table>
<p>{{.Note}}</p>{{end}}
{{range .Plots}}{{if eq .File "loss_lr.png"}}<h2>Learning-rate probe</h2><img src="{{.File}}" alt="{{.Title}}">{{end}}{{end}}
{{with .R.CombinedFix}}<h2>All fixes together</h2><pre>kiln fit {{$.R.Experiment}} --set {{join .Sets " --set "}}</pre><p>{{verified .Verified}}</p>{{end}}
<h2>Terminal output</h2><pre>{{.Text}}</pre>
</body></html>
`))
