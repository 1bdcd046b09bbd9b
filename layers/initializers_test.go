package layers

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestInitializerDistributions: each initializer draws from Keras'
// distribution: the sample standard deviation and bounds of 40000 draws
// for fans (300, 100) match Keras' formulas.
//
// Catches: a wrong fan (fan_in for fan_avg), a missing truncation
// correction (.8796), uniform limits off by √3.
func TestInitializerDistributions(t *testing.T) {
	const fanIn, fanOut, n = 300, 100, 40000
	for _, c := range []struct {
		name     string
		std, max float64
	}{
		{"glorot_uniform", math.Sqrt(2.0 / 400), math.Sqrt(6.0 / 400)},
		{"glorot_normal", math.Sqrt(2.0 / 400), 2 * math.Sqrt(2.0/400) / .87962566103423978},
		{"he_uniform", math.Sqrt(2.0 / 300), math.Sqrt(6.0 / 300)},
		{"he_normal", math.Sqrt(2.0 / 300), 2 * math.Sqrt(2.0/300) / .87962566103423978},
		{"lecun_uniform", math.Sqrt(1.0 / 300), math.Sqrt(3.0 / 300)},
		{"lecun_normal", math.Sqrt(1.0 / 300), 2 * math.Sqrt(1.0/300) / .87962566103423978},
		{"random_normal", 0.05, math.Inf(1)},
		{"random_uniform", 0.05 / math.Sqrt(3), 0.05},
	} {
		in, err := GetInitializer(c.name)
		if err != nil {
			t.Fatal(err)
		}
		w := make([]float32, n)
		in.fill(w, fanIn, fanOut, rand.New(rand.NewPCG(1, 2)))
		var s, s2, mx float64
		for _, v := range w {
			s += float64(v)
			s2 += float64(v) * float64(v)
			mx = math.Max(mx, math.Abs(float64(v)))
		}
		mean := s / n
		std := math.Sqrt(s2/n - mean*mean)
		if math.Abs(std/c.std-1) > 0.03 || math.Abs(mean) > 3*c.std/math.Sqrt(n) || mx > c.max*1.0001 {
			t.Errorf("%s: std %.5f (want %.5f), mean %.2g, max |w| %.4f (bound %.4f)", c.name, std, c.std, mean, mx, c.max)
		}
	}
	if in, err := GetInitializer("HeNormal"); err != nil || in.Name != "he_normal" {
		t.Errorf("by class name: %v, %v", in, err)
	}
	if _, err := GetInitializer("orthogonal"); err == nil {
		t.Error("orthogonal: no error")
	}
}

// TestDefaultInitializersKeepDraws: a Dense with the initializers given
// as their defaults draws exactly what it draws without them.
//
// Catches: a bias fill that consumes random numbers, or glorot_uniform
// taken through another code path.
func TestDefaultInitializersKeepDraws(t *testing.T) {
	a := MustNewDense(4)
	b := MustNewDense(4, WithKernelInitializer("glorot_uniform"), WithBiasInitializer("zeros"))
	a.Build([]int{5}, rand.New(rand.NewPCG(9, 9)))
	b.Build([]int{5}, rand.New(rand.NewPCG(9, 9)))
	for i := range a.Kernel.Value {
		if a.Kernel.Value[i] != b.Kernel.Value[i] {
			t.Fatal("default initializers changed the kernel")
		}
	}
	c := MustNewDense(4, WithKernelInitializer("he_normal"), WithBiasInitializer("ones"))
	c.Build([]int{5}, rand.New(rand.NewPCG(9, 9)))
	if c.Bias.Value[0] != 1 || c.Config()["kernel_initializer"] != "he_normal" {
		t.Errorf("he_normal/ones: bias %v, config %v", c.Bias.Value, c.Config())
	}
	if _, err := NewConv2D(2, [2]int{3, 3}, WithKernelInitializer("nope")); err == nil {
		t.Error("unknown initializer: no error")
	}
}
