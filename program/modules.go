package program

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kiln-ml/kiln/report"
)

// numpyModule is the part of NumPy kiln's reader has.
func (in *Interp) numpyModule() *Module {
	arr := func(fn string, v Value) (*Array, error) {
		a, ok := v.(*Array)
		if !ok {
			return nil, fmt.Errorf("np.%s: kiln's reader takes an array here, got %s", fn, typeName(v))
		}
		return a, nil
	}
	np := &Module{Name: "numpy", Attrs: map[string]Value{
		"float32": &dtype{name: "float32"}, "float64": &dtype{name: "float64"}, "uint8": &dtype{name: "uint8"},
		"int32": &dtype{name: "int32"}, "int64": &dtype{name: "int64"},
		"newaxis": nil,
		"argmax": builtin("argmax", func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
			a, err := bind("argmax", pos, kw, "a", "axis=")
			if err != nil {
				return nil, err
			}
			x, err := arr("argmax", a.get("a"))
			if err != nil {
				return nil, err
			}
			return argmax(x, a.get("axis"))
		}),
		"mean": builtin("mean", func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
			a, err := bind("mean", pos, kw, "a")
			if err != nil {
				return nil, err
			}
			if l, ok := a.get("a").(*List); ok {
				var s float64
				for _, v := range l.Items {
					f, ok := toFloat(v)
					if !ok {
						return nil, fmt.Errorf("np.mean: the list holds %s", typeName(v))
					}
					s += f
				}
				return s / float64(len(l.Items)), nil
			}
			x, err := arr("mean", a.get("a"))
			if err != nil {
				return nil, err
			}
			return mean(x)
		}),
		"expand_dims": builtin("expand_dims", func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
			a, err := bind("expand_dims", pos, kw, "a", "axis")
			if err != nil {
				return nil, err
			}
			x, err := arr("expand_dims", a.get("a"))
			if err != nil {
				return nil, err
			}
			ax, err := a.int("axis", -1)
			if err != nil {
				return nil, err
			}
			n := len(x.Shape) + 1
			if ax < 0 {
				ax += n
			}
			if ax < 1 || ax >= n {
				return nil, fmt.Errorf("np.expand_dims: kiln's reader adds axes after the rows (axis -1 or 1..%d), got %d", n-1, ax)
			}
			b := x.clone()
			b.Shape = append(append(append([]int(nil), x.Shape[:ax]...), 1), x.Shape[ax:]...)
			if b.values != nil {
				b.values = b.values.Reshaped(b.Shape)
			}
			return b, nil
		}),
		"random": &Module{Name: "numpy.random", Attrs: map[string]Value{
			"seed": builtin("seed", func(in *Interp, pos []Value, kw []Kwarg) (Value, error) { return in.setSeed("np.random.seed", pos, kw) }),
		}},
	}}
	for _, name := range []string{"min", "max", "amin", "amax"} {
		op := strings.TrimPrefix(name, "a")
		np.Attrs[name] = builtin(name, func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
			a, err := bind(name, pos, kw, "a")
			if err != nil {
				return nil, fmt.Errorf("np.%s: kiln's reader takes the %s of all values (no axis): %v", name, op, err)
			}
			if _, ok := a.get("a").(*Array); !ok {
				// np.max of a list: Python's max.
				return extreme(in, name, []Value{a.get("a")}, nil, map[string]int{"min": -1, "max": 1}[op])
			}
			x, _ := arr(name, a.get("a"))
			return x.extreme(op)
		})
	}
	np.Attrs["reshape"] = builtin("reshape", func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
		a, err := bind("reshape", pos, kw, "a", "newshape")
		if err != nil {
			return nil, err
		}
		x, err := arr("reshape", a.get("a"))
		if err != nil {
			return nil, err
		}
		f, _ := x.attr(in, "reshape")
		return in.call(f, []Value{a.get("newshape")}, nil)
	})
	return np
}

// figure is a matplotlib figure being drawn: the curves plt.plot added,
// and the titles; kiln draws it with its own plots (package report).
type figure struct {
	plot  report.LinePlot
	drawn bool
}

// pyplotModule is matplotlib.pyplot, drawn with kiln's plots: plot, title,
// xlabel, ylabel, yscale, legend, figure, savefig and show (which writes a
// PNG named after the program in the current directory and says where). Calls that only style a figure
// (grid, tight_layout, …) do nothing; subplot starts a new figure.
func (in *Interp) pyplotModule() *Module {
	cur := func() *figure {
		if len(in.figures) == 0 || in.figures[len(in.figures)-1].drawn {
			in.figures = append(in.figures, &figure{})
		}
		return in.figures[len(in.figures)-1]
	}
	text := func(set func(f *figure, s string)) *Builtin {
		return builtin("pyplot", func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
			if len(pos) == 0 {
				return nil, fmt.Errorf("TypeError: missing the text argument")
			}
			set(cur(), str(pos[0]))
			return nil, nil
		})
	}
	m := &Module{Name: "matplotlib.pyplot", Attrs: map[string]Value{
		"title":  text(func(f *figure, s string) { f.plot.Title = s }),
		"xlabel": text(func(f *figure, s string) { f.plot.XLabel = s }),
		"ylabel": text(func(f *figure, s string) { f.plot.YLabel = s }),
		"yscale": text(func(f *figure, s string) { f.plot.LogY = s == "log" }),
		"plot": builtin("plot", func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
			var xs, ys []float64
			var err error
			args := pos
			if len(args) > 0 {
				if _, isFmt := args[len(args)-1].(string); isFmt {
					args = args[:len(args)-1] // a format string such as "b--"
				}
			}
			switch len(args) {
			case 1:
				if ys, err = floats(args[0]); err != nil {
					return nil, err
				}
				for i := range ys {
					xs = append(xs, float64(i))
				}
			case 2:
				if xs, err = floats(args[0]); err != nil {
					return nil, err
				}
				if ys, err = floats(args[1]); err != nil {
					return nil, err
				}
			default:
				return nil, fmt.Errorf("plt.plot: kiln draws plot(y) or plot(x, y) (one curve per call)")
			}
			if len(xs) != len(ys) {
				return nil, fmt.Errorf("ValueError: x and y must have same first dimension, but have shapes (%d,) and (%d,)", len(xs), len(ys))
			}
			s := report.Series{X: xs, Y: ys}
			for _, k := range kw {
				switch k.Name {
				case "label":
					s.Name = str(k.Value)
				case "linestyle", "ls":
					s.Dashed = str(k.Value) == "--" || str(k.Value) == "dashed"
				}
			}
			if len(pos) > len(args) && strings.Contains(str(pos[len(pos)-1]), "--") {
				s.Dashed = true
			}
			f := cur()
			if s.Name == "" {
				s.Name = fmt.Sprintf("line %d", len(f.plot.Series)+1)
			}
			f.plot.Series = append(f.plot.Series, s)
			return nil, nil
		}),
		"savefig": builtin("savefig", func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
			if len(pos) == 0 {
				return nil, fmt.Errorf("TypeError: savefig() missing the file name")
			}
			return nil, in.drawFigure(cur(), str(pos[0]))
		}),
		"show": builtin("show", func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
			for _, f := range in.figures {
				if f.drawn || len(f.plot.Series) == 0 {
					continue
				}
				in.shown++
				base := strings.TrimSuffix(filepath.Base(in.File), filepath.Ext(in.File))
				if err := in.drawFigure(f, fmt.Sprintf("%s_figure%d.png", base, in.shown)); err != nil {
					return nil, err
				}
			}
			return nil, nil
		}),
		"figure": builtin("figure", func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
			in.figures = append(in.figures, &figure{})
			return nil, nil
		}),
		"subplot": builtin("subplot", func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
			if f := cur(); len(f.plot.Series) > 0 {
				in.figures = append(in.figures, &figure{})
			}
			return nil, nil
		}),
	}}
	for _, name := range []string{"legend", "grid", "tight_layout", "close", "ylim", "xlim", "xticks", "yticks", "suptitle", "axis", "style"} {
		m.Attrs[name] = builtin(name, func(in *Interp, pos []Value, kw []Kwarg) (Value, error) { return nil, nil })
	}
	m.Attrs["imshow"] = builtin("imshow", func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
		return nil, fmt.Errorf("plt.imshow: kiln draws line plots of numbers (histories); remove the image display, or run the program with its own Python (--python)")
	})
	return m
}

// drawFigure writes a figure with kiln's plots and says where.
func (in *Interp) drawFigure(f *figure, path string) error {
	if !strings.HasSuffix(path, ".png") && !strings.HasSuffix(path, ".svg") {
		return fmt.Errorf("plt.savefig(%s): kiln writes .png and .svg files", quote(path))
	}
	f.drawn = true
	if in.DryRun {
		return nil
	}
	if err := f.plot.Save(path); err != nil {
		return err
	}
	in.note("drew the figure to %s (matplotlib's plot, with kiln's plots)", path)
	return nil
}

// floats reads a list, tuple or 1-D array of numbers.
func floats(v Value) ([]float64, error) {
	if a, ok := v.(*Array); ok {
		d, err := a.load()
		if err != nil {
			return nil, err
		}
		out := make([]float64, d.Len())
		for i := range out {
			out[i] = d.At(i)
		}
		return out, nil
	}
	items, err := iterate(v)
	if err != nil {
		return nil, fmt.Errorf("plt.plot: kiln plots lists or arrays of numbers, got %s", typeName(v))
	}
	out := make([]float64, len(items))
	for i, it := range items {
		f, ok := toFloat(it)
		if !ok {
			return nil, fmt.Errorf("plt.plot: kiln plots numbers, got %s", repr(it))
		}
		out[i] = f
	}
	return out, nil
}

// osModule is the part of os scripts use in their preamble: environ (a
// copy of the environment: setting TF_CPP_MIN_LOG_LEVEL changes nothing
// in kiln) and path.join.
func (in *Interp) osModule() *Module {
	env := NewDict()
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env.Set(k, v)
		}
	}
	join := builtin("join", func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
		parts := make([]string, len(pos))
		for i, p := range pos {
			s, ok := p.(string)
			if !ok || len(kw) > 0 {
				return nil, fmt.Errorf("TypeError: os.path.join takes strings")
			}
			parts[i] = s
		}
		return filepath.Join(parts...), nil
	})
	return &Module{Name: "os", Attrs: map[string]Value{
		"environ": env,
		"path":    &Module{Name: "os.path", Attrs: map[string]Value{"join": join}},
	}}
}

// timeModule is time.time and time.perf_counter, for programs that time
// their training.
func (in *Interp) timeModule() *Module {
	start := time.Now()
	return &Module{Name: "time", Attrs: map[string]Value{
		"time": builtin("time", func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
			return float64(time.Now().UnixNano()) / 1e9, nil
		}),
		"perf_counter": builtin("perf_counter", func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
			return time.Since(start).Seconds(), nil
		}),
	}}
}

// modules are the importable modules, by dotted name.
func (in *Interp) modules() map[string]*Module {
	keras := in.kerasModule()
	tf := in.tensorflowModule(keras)
	np := in.numpyModule()
	plt := in.pyplotModule()
	mods := map[string]*Module{
		"keras": keras, "tensorflow": tf, "numpy": np,
		"matplotlib": {Name: "matplotlib", Attrs: map[string]Value{"pyplot": plt}},
		"os":         in.osModule(),
		"time":       in.timeModule(),
	}
	return mods
}

// importModule resolves a dotted module name: a root module, then
// attributes that are modules (tensorflow.keras.layers).
func (in *Interp) importModule(name string) (*Module, error) {
	if in.mods == nil {
		in.mods = in.modules()
	}
	parts := strings.Split(name, ".")
	m, ok := in.mods[parts[0]]
	if !ok {
		hint := "kiln's reader knows keras, tensorflow, numpy, matplotlib.pyplot, os and time"
		switch parts[0] {
		case "pandas", "sklearn", "scipy", "seaborn", "cv2", "PIL", "torch":
			hint += "; a program that uses " + parts[0] + " runs with its own Python (kiln fit --python python3 FILE)"
		}
		return nil, fmt.Errorf("ModuleNotFoundError: No module named '%s' in kiln's reader; %s", name, hint)
	}
	for i, p := range parts[1:] {
		v, ok := m.Attrs[p]
		sub, isMod := v.(*Module)
		if !ok || !isMod {
			return nil, fmt.Errorf("ModuleNotFoundError: No module named '%s' in kiln's reader", strings.Join(parts[:i+2], "."))
		}
		m = sub
	}
	return m, nil
}
