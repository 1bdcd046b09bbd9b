// Package optimizers implements Keras' optimizers with the Keras 2.11+ /
// Keras 3 update formulas and defaults: SGD (momentum, Nesterov), RMSprop
// (rho, momentum, centered), Adam and Adagrad. All state is float32 and
// allocated once, when the optimizer is built for a model's variables.
package optimizers

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/kiln-ml/kiln/internal/kernels"
	"github.com/kiln-ml/kiln/tensor"
)

// Optimizer updates variables from their gradients.
type Optimizer interface {
	// Name is Keras' name: "SGD", "RMSprop", "Adam", "Adagrad".
	Name() string
	// LearningRate returns the current learning rate.
	LearningRate() float32
	// SetLearningRate changes the learning rate (for schedules and callbacks).
	SetLearningRate(lr float32)
	// Build allocates the optimizer's slots for vars; it must be called
	// before Apply and again if the variables change.
	Build(vars []*tensor.Variable)
	// Apply performs one update of every built variable from its Grad.
	Apply()
	// Iterations is the number of updates applied so far.
	Iterations() int
	// Config returns Keras' get_config() keys.
	Config() map[string]any
}

type base struct {
	lr   float32
	vars []*tensor.Variable
	t    int
	sp   split // the pool Apply splits over (see threads.go)
}

func (b *base) LearningRate() float32      { return b.lr }
func (b *base) SetLearningRate(lr float32) { b.lr = lr }
func (b *base) Iterations() int            { return b.t }

func slots(vars []*tensor.Variable) [][]float32 {
	s := make([][]float32, len(vars))
	for i, v := range vars {
		s[i] = make([]float32, len(v.Value))
	}
	return s
}

// SGD is Keras' SGD: w −= lr·g; with momentum μ: v = μv − lr·g, w += v;
// with Nesterov: w += μv − lr·g using the new v.
type SGD struct {
	base
	Momentum float32
	Nesterov bool
	velocity [][]float32
	upd      func(i, lo, hi int)
}

// NewSGD returns SGD with the given learning rate (Keras' default is 0.01).
func NewSGD(lr float32) *SGD { return &SGD{base: base{lr: lr}} }

// Name returns "SGD".
func (*SGD) Name() string { return "SGD" }

// Build allocates the momentum slots when momentum is used.
func (o *SGD) Build(vars []*tensor.Variable) {
	o.vars, o.sp.total = vars, 0
	o.upd = o.update // made here, not in Apply: a method value allocates
	if o.Momentum != 0 {
		o.velocity = slots(vars)
	}
}

// Apply performs one SGD step. Without momentum it is w −= lr·g with the
// product rounded to float32 (kernels.SGD, vectorised).
func (o *SGD) Apply() {
	o.t++
	o.each(o.upd)
}

// update applies the step to elements lo … hi−1 of variable i.
func (o *SGD) update(i, lo, hi int) {
	lr, mu := o.lr, o.Momentum
	v := o.vars[i]
	w, g := v.Value[lo:hi], v.Grad[lo:hi]
	if mu == 0 {
		kernels.SGD(w, g, lr)
		return
	}
	m := o.velocity[i][lo:hi]
	for j := range w {
		m[j] = mu*m[j] - lr*g[j]
		if o.Nesterov {
			w[j] += mu*m[j] - lr*g[j]
		} else {
			w[j] += m[j]
		}
	}
}

// Config returns Keras' SGD config keys.
func (o *SGD) Config() map[string]any {
	return map[string]any{"name": "SGD", "learning_rate": float64(o.lr), "momentum": float64(o.Momentum), "nesterov": o.Nesterov}
}

// RMSprop is Keras' RMSprop (2.11+): r = ρr + (1−ρ)g²; w −= lr·g/√(r+ε).
type RMSprop struct {
	base
	Rho, Momentum, Epsilon float32
	Centered               bool
	ms, mom, mg            [][]float32
	upd                    func(i, lo, hi int)
}

// NewRMSprop returns RMSprop with Keras' defaults (rho 0.9, epsilon 1e-7).
func NewRMSprop(lr float32) *RMSprop {
	return &RMSprop{base: base{lr: lr}, Rho: 0.9, Epsilon: 1e-7}
}

// Name returns "RMSprop".
func (*RMSprop) Name() string { return "RMSprop" }

// Build allocates the slots.
func (o *RMSprop) Build(vars []*tensor.Variable) {
	o.vars, o.sp.total = vars, 0
	o.upd = o.update // made here, not in Apply: a method value allocates
	o.ms = slots(vars)
	if o.Momentum != 0 {
		o.mom = slots(vars)
	}
	if o.Centered {
		o.mg = slots(vars)
	}
}

// Apply performs one RMSprop step.
func (o *RMSprop) Apply() {
	o.t++
	o.each(o.upd)
}

// update applies the step to elements lo … hi−1 of variable i: without
// momentum and not centered (Keras' defaults) by kernels.RMSprop, which
// vectorises the loop below's operations (a 512×512 kernel: 3 ns a weight
// in the loop), else by the loop.
func (o *RMSprop) update(i, lo, hi int) {
	lr, rho, eps, mu := o.lr, o.Rho, o.Epsilon, o.Momentum
	v := o.vars[i]
	w, g, r := v.Value, v.Grad, o.ms[i]
	if mu == 0 && !o.Centered {
		kernels.RMSprop(w[lo:hi], g[lo:hi], r[lo:hi], lr, rho, eps)
		return
	}
	for j := lo; j < hi; j++ {
		r[j] = rho*r[j] + (1-rho)*g[j]*g[j]
		den := r[j]
		if o.Centered {
			mg := o.mg[i]
			mg[j] = rho*mg[j] + (1-rho)*g[j]
			den -= mg[j] * mg[j]
		}
		inc := lr * g[j] / sqrt32(den+eps)
		if mu != 0 {
			m := o.mom[i]
			m[j] = mu*m[j] + inc
			w[j] -= m[j]
		} else {
			w[j] -= inc
		}
	}
}

// Config returns Keras' RMSprop config keys.
func (o *RMSprop) Config() map[string]any {
	return map[string]any{"name": "RMSprop", "learning_rate": float64(o.lr), "rho": float64(o.Rho),
		"momentum": float64(o.Momentum), "epsilon": float64(o.Epsilon), "centered": o.Centered}
}

// Adam is Keras' Adam: α = lr·√(1−β₂ᵗ)/(1−β₁ᵗ); m += (g−m)(1−β₁);
// v += (g²−v)(1−β₂); w −= α·m/(√v + ε).
type Adam struct {
	base
	Beta1, Beta2, Epsilon float32
	m, v                  [][]float32
	alpha                 float32 // this step's, for update
	upd                   func(i, lo, hi int)
}

// NewAdam returns Adam with Keras' defaults (0.9, 0.999, 1e-7).
func NewAdam(lr float32) *Adam {
	return &Adam{base: base{lr: lr}, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-7}
}

// Name returns "Adam".
func (*Adam) Name() string { return "Adam" }

// Build allocates the moment slots.
func (o *Adam) Build(vars []*tensor.Variable) {
	o.vars, o.sp.total = vars, 0
	o.upd = o.update // made here, not in Apply: a method value allocates
	o.m = slots(vars)
	o.v = slots(vars)
}

// Apply performs one Adam step.
func (o *Adam) Apply() {
	o.t++
	t := float64(o.t)
	b1, b2 := o.Beta1, o.Beta2
	// Keras computes the powers in float32: pow(β, t) with t cast to float32.
	p1 := float32(math.Pow(float64(b1), t))
	p2 := float32(math.Pow(float64(b2), t))
	o.alpha = o.lr * sqrt32(1-p2) / (1 - p1)
	o.each(o.upd)
}

// update applies the step to elements lo … hi−1 of variable i: m +=
// (g−m)(1−β₁); v += (g²−v)(1−β₂); w −= α·m/(√v + ε), every operation
// rounded to float32 (kernels.Adam, vectorised, element by element).
func (o *Adam) update(i, lo, hi int) {
	vr := o.vars[i]
	kernels.Adam(vr.Value[lo:hi], vr.Grad[lo:hi], o.m[i][lo:hi], o.v[i][lo:hi], o.alpha, 1-o.Beta1, 1-o.Beta2, o.Epsilon)
}

// Config returns Keras' Adam config keys.
func (o *Adam) Config() map[string]any {
	return map[string]any{"name": "Adam", "learning_rate": float64(o.lr), "beta_1": float64(o.Beta1),
		"beta_2": float64(o.Beta2), "epsilon": float64(o.Epsilon)}
}

// Adagrad is Keras' Adagrad: a += g²; w −= lr·g/√(a + ε).
type Adagrad struct {
	base
	InitialAccumulator, Epsilon float32
	acc                         [][]float32
	upd                         func(i, lo, hi int)
}

// NewAdagrad returns Adagrad with Keras' defaults (initial accumulator 0.1, epsilon 1e-7).
func NewAdagrad(lr float32) *Adagrad {
	return &Adagrad{base: base{lr: lr}, InitialAccumulator: 0.1, Epsilon: 1e-7}
}

// Name returns "Adagrad".
func (*Adagrad) Name() string { return "Adagrad" }

// Build allocates the accumulators, filled with the initial value.
func (o *Adagrad) Build(vars []*tensor.Variable) {
	o.vars, o.sp.total = vars, 0
	o.upd = o.update // made here, not in Apply: a method value allocates
	o.acc = slots(vars)
	for _, a := range o.acc {
		for j := range a {
			a[j] = o.InitialAccumulator
		}
	}
}

// Apply performs one Adagrad step.
func (o *Adagrad) Apply() {
	o.t++
	o.each(o.upd)
}

// update applies the step to elements lo … hi−1 of variable i.
func (o *Adagrad) update(i, lo, hi int) {
	vr := o.vars[i]
	w, g, a := vr.Value, vr.Grad, o.acc[i]
	for j := lo; j < hi; j++ {
		a[j] += g[j] * g[j]
		w[j] -= o.lr * g[j] / sqrt32(a[j]+o.Epsilon)
	}
}

// Config returns Keras' Adagrad config keys.
func (o *Adagrad) Config() map[string]any {
	return map[string]any{"name": "Adagrad", "learning_rate": float64(o.lr),
		"initial_accumulator_value": float64(o.InitialAccumulator), "epsilon": float64(o.Epsilon)}
}

func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }

// spec describes one optimizer's constructor arguments and defaults.
type spec struct {
	lr   float64
	args map[string]float64 // numeric args and their defaults
	make func(lr float32, a map[string]float64, b map[string]bool) (Optimizer, error)
}

var specs = map[string]spec{
	"sgd": {0.01, map[string]float64{"momentum": 0}, func(lr float32, a map[string]float64, b map[string]bool) (Optimizer, error) {
		o := NewSGD(lr)
		o.Momentum, o.Nesterov = float32(a["momentum"]), b["nesterov"]
		if o.Momentum < 0 || o.Momentum > 1 {
			return nil, fmt.Errorf("optimizer sgd: momentum must be in [0, 1], got %g", o.Momentum)
		}
		return o, nil
	}},
	"rmsprop": {0.001, map[string]float64{"rho": 0.9, "momentum": 0, "epsilon": 1e-7}, func(lr float32, a map[string]float64, b map[string]bool) (Optimizer, error) {
		o := NewRMSprop(lr)
		o.Rho, o.Momentum, o.Epsilon, o.Centered = float32(a["rho"]), float32(a["momentum"]), float32(a["epsilon"]), b["centered"]
		return o, nil
	}},
	"adam": {0.001, map[string]float64{"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}, func(lr float32, a map[string]float64, b map[string]bool) (Optimizer, error) {
		o := NewAdam(lr)
		o.Beta1, o.Beta2, o.Epsilon = float32(a["beta_1"]), float32(a["beta_2"]), float32(a["epsilon"])
		if o.Beta1 < 0 || o.Beta1 >= 1 || o.Beta2 < 0 || o.Beta2 >= 1 {
			return nil, fmt.Errorf("optimizer adam: beta_1 and beta_2 must be in [0, 1), got %g and %g", o.Beta1, o.Beta2)
		}
		return o, nil
	}},
	"adagrad": {0.001, map[string]float64{"initial_accumulator_value": 0.1, "epsilon": 1e-7}, func(lr float32, a map[string]float64, b map[string]bool) (Optimizer, error) {
		o := NewAdagrad(lr)
		o.InitialAccumulator, o.Epsilon = float32(a["initial_accumulator_value"]), float32(a["epsilon"])
		return o, nil
	}},
}

var boolArgs = map[string][]string{"sgd": {"nesterov"}, "rmsprop": {"centered"}}

// Names lists the optimizer names Get accepts, sorted.
func Names() []string {
	var n []string
	for k := range specs {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// Get builds an optimizer from Keras' name (case-insensitive: "sgd", "SGD",
// "rmsprop", "adam", "adagrad") and arguments with Keras' names
// (learning_rate, momentum, nesterov, rho, epsilon, centered, beta_1, beta_2,
// initial_accumulator_value). Missing arguments take Keras' defaults.
func Get(name string, args map[string]any) (Optimizer, error) {
	key := strings.ToLower(name)
	sp, ok := specs[key]
	if !ok {
		return nil, fmt.Errorf("unknown optimizer %q; valid optimizers: %s", name, strings.Join(Names(), ", "))
	}
	nums := map[string]float64{}
	for k, v := range sp.args {
		nums[k] = v
	}
	bools := map[string]bool{}
	lr := sp.lr
	for k, v := range args {
		if k == "name" {
			continue
		}
		isBool := false
		for _, b := range boolArgs[key] {
			if b == k {
				isBool = true
			}
		}
		if isBool {
			bv, ok := v.(bool)
			if !ok {
				return nil, fmt.Errorf("optimizer %s: %s must be true or false, got %v", key, k, v)
			}
			bools[k] = bv
			continue
		}
		f, ok := toFloat(v)
		if !ok {
			return nil, fmt.Errorf("optimizer %s: %s must be a number, got %v", key, k, v)
		}
		if k == "learning_rate" || k == "lr" {
			lr = f
			continue
		}
		if _, known := sp.args[k]; !known {
			valid := []string{"learning_rate"}
			for a := range sp.args {
				valid = append(valid, a)
			}
			valid = append(valid, boolArgs[key]...)
			sort.Strings(valid)
			return nil, fmt.Errorf("optimizer %s: unknown argument %q; valid arguments: %s", key, k, strings.Join(valid, ", "))
		}
		nums[k] = f
	}
	if !(lr > 0) || math.IsInf(lr, 0) {
		return nil, fmt.Errorf("optimizer %s: learning_rate must be a positive number, got %g; Keras' default for %s is %g", key, lr, key, sp.lr)
	}
	if e, ok := nums["epsilon"]; ok && e < 0 {
		return nil, fmt.Errorf("optimizer %s: epsilon must be ≥ 0, got %g", key, e)
	}
	return sp.make(float32(lr), nums, bools)
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	}
	return 0, false
}

// State is what an optimizer needs to continue exactly where it stopped:
// its iteration count, learning rate and slots (moments, velocities,
// accumulators), one float32 slice per built variable for each slot name.
// A backup (callbacks.BackupAndRestore) keeps it.
type State struct {
	Iterations   int
	LearningRate float32
	// Slots maps a slot name ("m", "v", "velocity", "rms", "momentum",
	// "mean_gradient", "accumulator") to one slice per variable, in the
	// order the optimizer was built with.
	Slots map[string][][]float32
}

// Stateful is an optimizer whose state can be saved and restored. kiln's
// optimizers implement it.
type Stateful interface {
	Optimizer
	// State returns a copy of the current state.
	State() State
	// SetState restores a state returned by State of an optimizer of the
	// same kind built for variables of the same sizes; nothing changes on
	// error.
	SetState(s State) error
}

func copySlots(s [][]float32) [][]float32 {
	if s == nil {
		return nil
	}
	out := make([][]float32, len(s))
	for i, v := range s {
		out[i] = append([]float32(nil), v...)
	}
	return out
}

func (b *base) state(slots map[string][][]float32) State {
	st := State{Iterations: b.t, LearningRate: b.lr, Slots: map[string][][]float32{}}
	for k, v := range slots {
		if v != nil {
			st.Slots[k] = copySlots(v)
		}
	}
	return st
}

// setState checks s against the slots (name → destination) and copies it in.
func (b *base) setState(name string, s State, slots map[string][][]float32) error {
	for k := range s.Slots {
		if _, ok := slots[k]; !ok || slots[k] == nil {
			return fmt.Errorf("optimizer %s: the saved state has slot %q, which this optimizer does not use; the state comes from another optimizer or configuration", name, k)
		}
	}
	for k, dst := range slots {
		if dst == nil {
			continue
		}
		src, ok := s.Slots[k]
		if !ok {
			return fmt.Errorf("optimizer %s: the saved state lacks slot %q; the state comes from another optimizer or configuration", name, k)
		}
		if len(src) != len(dst) {
			return fmt.Errorf("optimizer %s: slot %q has %d variables in the saved state, the optimizer has %d", name, k, len(src), len(dst))
		}
		for i := range dst {
			if len(src[i]) != len(dst[i]) {
				return fmt.Errorf("optimizer %s: slot %q variable %d has %d values in the saved state, the optimizer has %d", name, k, i, len(src[i]), len(dst[i]))
			}
		}
	}
	if s.Iterations < 0 {
		return fmt.Errorf("optimizer %s: the saved iteration count %d is negative", name, s.Iterations)
	}
	for k, dst := range slots {
		for i := range dst {
			copy(dst[i], s.Slots[k][i])
		}
	}
	b.t, b.lr = s.Iterations, s.LearningRate
	return nil
}

// State returns SGD's iteration count, learning rate and velocities.
func (o *SGD) State() State { return o.state(map[string][][]float32{"velocity": o.velocity}) }

// SetState restores a state returned by State.
func (o *SGD) SetState(s State) error {
	return o.setState("SGD", s, map[string][][]float32{"velocity": o.velocity})
}

func (o *RMSprop) slotMap() map[string][][]float32 {
	return map[string][][]float32{"rms": o.ms, "momentum": o.mom, "mean_gradient": o.mg}
}

// State returns RMSprop's iteration count, learning rate and slots.
func (o *RMSprop) State() State { return o.state(o.slotMap()) }

// SetState restores a state returned by State.
func (o *RMSprop) SetState(s State) error { return o.setState("RMSprop", s, o.slotMap()) }

// State returns Adam's iteration count, learning rate and moments.
func (o *Adam) State() State { return o.state(map[string][][]float32{"m": o.m, "v": o.v}) }

// SetState restores a state returned by State.
func (o *Adam) SetState(s State) error {
	return o.setState("Adam", s, map[string][][]float32{"m": o.m, "v": o.v})
}

// State returns Adagrad's iteration count, learning rate and accumulators.
func (o *Adagrad) State() State { return o.state(map[string][][]float32{"accumulator": o.acc}) }

// SetState restores a state returned by State.
func (o *Adagrad) SetState(s State) error {
	return o.setState("Adagrad", s, map[string][][]float32{"accumulator": o.acc})
}
