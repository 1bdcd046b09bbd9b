package program

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
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

// pyplotModule is matplotlib.pyplot: kiln's reader does not draw yet, so
// its calls are skipped with one note.
func (in *Interp) pyplotModule() *Module {
	m := &Module{Name: "matplotlib.pyplot", Attrs: map[string]Value{}}
	for _, name := range []string{"plot", "title", "xlabel", "ylabel", "legend", "savefig", "show", "figure", "subplot", "grid", "xticks", "yticks", "imshow", "tight_layout", "close", "ylim", "xlim", "suptitle", "axis"} {
		m.Attrs[name] = builtin(name, func(in *Interp, pos []Value, kw []Kwarg) (Value, error) {
			if !in.assumed["pyplot"] {
				in.assumed["pyplot"] = true
				in.note("matplotlib calls are skipped: kiln's reader does not draw figures yet (kiln fit --history h.json, then kiln's plots)")
			}
			return nil, nil
		})
	}
	return m
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
