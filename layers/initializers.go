package layers

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/kiln-ml/kiln/internal/value"
	"github.com/kiln-ml/kiln/schema"
)

// Initializer fills a new weight tensor, like a Keras initializer, from
// the layer's fans (Keras' fan_in and fan_out) and the model's random
// stream. Keras' draws come from TensorFlow's generators, kiln's from its
// own: the distributions are Keras', the values are not.
type Initializer struct {
	// Name is the Keras name, e.g. "he_normal".
	Name string
	// Class is the Keras class name, e.g. "HeNormal".
	Class string
	fill  func(w []float32, fanIn, fanOut int, rng *rand.Rand)
}

var initializers = schema.NewRegistry[*Initializer]("initializers")

// Initializers returns the initializer names kiln has, sorted.
func Initializers() []string { return initializers.Names() }

// GetInitializer returns the initializer called name (Keras' snake_case
// name or its class name, e.g. "he_normal" or "HeNormal").
func GetInitializer(name string) (*Initializer, error) {
	if in, ok := initializers.Get(name); ok {
		return in, nil
	}
	for _, n := range initializers.Names() {
		if in, _ := initializers.Get(n); strings.EqualFold(in.Class, name) {
			return in, nil
		}
	}
	return nil, fmt.Errorf("unknown initializer %q; kiln has %s", name, strings.Join(initializers.Names(), ", "))
}

// varianceScaling is Keras' VarianceScaling: scale / n, n the fan the mode
// names, as a uniform ±√(3·scale/n) or a normal truncated at two standard
// deviations whose stddev is corrected to √(scale/n), as Keras does.
func varianceScaling(scale float64, mode, dist string) func(w []float32, fanIn, fanOut int, rng *rand.Rand) {
	return func(w []float32, fanIn, fanOut int, rng *rand.Rand) {
		n := float64(fanIn)
		switch mode {
		case "fan_out":
			n = float64(fanOut)
		case "fan_avg":
			n = float64(fanIn+fanOut) / 2
		}
		n = math.Max(1, n)
		if dist == "uniform" {
			limit := math.Sqrt(3 * scale / n)
			for i := range w {
				w[i] = float32((2*rng.Float64() - 1) * limit)
			}
			return
		}
		// Keras: stddev / .87962566103423978, the stddev of a unit normal
		// truncated to [-2, 2].
		std := math.Sqrt(scale/n) / .87962566103423978
		for i := range w {
			w[i] = float32(truncatedNormal(rng) * std)
		}
	}
}

// truncatedNormal draws a unit normal, redrawn outside [-2, 2].
func truncatedNormal(rng *rand.Rand) float64 {
	for {
		if x := rng.NormFloat64(); x >= -2 && x <= 2 {
			return x
		}
	}
}

// The initializers are registered as a package variable, before the
// layers' init functions, whose argument checks look them up.
var _ = registerInitializers()

func registerInitializers() bool {
	for _, in := range []*Initializer{
		// glorot_uniform keeps kiln's own fill: the same draws as always.
		{Name: "glorot_uniform", Class: "GlorotUniform", fill: glorotUniform},
		{Name: "glorot_normal", Class: "GlorotNormal", fill: varianceScaling(1, "fan_avg", "truncated_normal")},
		{Name: "he_uniform", Class: "HeUniform", fill: varianceScaling(2, "fan_in", "uniform")},
		{Name: "he_normal", Class: "HeNormal", fill: varianceScaling(2, "fan_in", "truncated_normal")},
		{Name: "lecun_uniform", Class: "LecunUniform", fill: varianceScaling(1, "fan_in", "uniform")},
		{Name: "lecun_normal", Class: "LecunNormal", fill: varianceScaling(1, "fan_in", "truncated_normal")},
		{Name: "zeros", Class: "Zeros", fill: func(w []float32, _, _ int, _ *rand.Rand) { clear(w) }},
		{Name: "ones", Class: "Ones", fill: func(w []float32, _, _ int, _ *rand.Rand) {
			for i := range w {
				w[i] = 1
			}
		}},
		// Keras' defaults for these: mean 0, stddev 0.05; ±0.05.
		{Name: "random_normal", Class: "RandomNormal", fill: func(w []float32, _, _ int, rng *rand.Rand) {
			for i := range w {
				w[i] = float32(rng.NormFloat64() * 0.05)
			}
		}},
		{Name: "random_uniform", Class: "RandomUniform", fill: func(w []float32, _, _ int, rng *rand.Rand) {
			for i := range w {
				w[i] = float32((2*rng.Float64() - 1) * 0.05)
			}
		}},
	} {
		initializers.Add(in.Name, in)
	}
	return true
}

// initializerArg is the kernel_initializer or bias_initializer argument of
// Dense and Conv2D.
func initializerArg(name, def string) schema.Arg {
	return schema.Arg{Name: name, Kind: schema.String, Default: def,
		Doc: "an initializer: " + strings.Join(initializers.Names(), ", "),
		Valid: func(v any) bool {
			_, err := GetInitializer(v.(string))
			return err == nil
		}}
}

// kerasInitializer reads an initializer of a Keras config: a name, a
// {"class_name", "config"} object (Keras 2/3, TF.js), or a VarianceScaling
// with the parameters of a named one. Parameters other than Keras'
// defaults (a RandomNormal with stddev 0.1) are refused by name. It
// returns the kiln name ("" for null: the default).
func (k *KerasConfig) kerasInitializer(key string) (string, error) {
	v := k.Get(key)
	if v == nil {
		return "", nil
	}
	class, cfg := initializerParts(v)
	refuse := func(why string) (string, error) {
		return "", k.Errorf("%s is %s; %s: use one of %s, or train it in Keras", key, value.JSON(v), why, strings.Join(initializers.Names(), ", "))
	}
	if strings.EqualFold(strings.ReplaceAll(class, "_", ""), "variancescaling") {
		scale, _ := value.Float(cfg["scale"])
		mode, _ := cfg["mode"].(string)
		dist, _ := cfg["distribution"].(string)
		if dist == "normal" {
			dist = "truncated_normal" // TF.js and Keras 2.0 spell the truncated normal "normal"
		}
		for _, named := range []struct {
			scale      float64
			mode, dist string
			name       string
		}{{1, "fan_avg", "uniform", "glorot_uniform"}, {1, "fan_avg", "truncated_normal", "glorot_normal"},
			{2, "fan_in", "uniform", "he_uniform"}, {2, "fan_in", "truncated_normal", "he_normal"},
			{1, "fan_in", "uniform", "lecun_uniform"}, {1, "fan_in", "truncated_normal", "lecun_normal"}} {
			if scale == named.scale && mode == named.mode && dist == named.dist {
				return named.name, nil
			}
		}
		return refuse(fmt.Sprintf("kiln has no VarianceScaling(scale=%v, mode=%s, distribution=%s)", scale, mode, dist))
	}
	in, err := GetInitializer(strings.ReplaceAll(class, "Xavier", "Glorot"))
	if err != nil {
		return refuse("kiln has no such initializer")
	}
	// Parameters: only Keras' defaults (and seeds, which kiln replaces
	// with the experiment's).
	defaults := map[string]map[string]float64{"random_normal": {"mean": 0, "stddev": 0.05}, "random_uniform": {"minval": -0.05, "maxval": 0.05}}[in.Name]
	for p, pv := range cfg {
		if p == "seed" {
			continue
		}
		f, ok := value.Float(pv)
		if want, known := defaults[p]; !known || !ok || f != want {
			return refuse(fmt.Sprintf("kiln's %s takes Keras' defaults only (%s=%s is not one)", in.Name, p, value.JSON(pv)))
		}
	}
	return in.Name, nil
}

// initClass is an initializer's Keras class name, def for nil.
func initClass(init *Initializer, def string) string {
	if init == nil {
		return def
	}
	return init.Class
}
