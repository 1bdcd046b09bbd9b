package layers

import (
	"strings"
	"testing"
)

// TestOptions: options are shared across layers; a layer refuses one it
// does not have, and Must* panics where New* returns the error.
func TestOptions(t *testing.T) {
	c, err := NewConv2D(4, [2]int{3, 3}, WithStrides(2, 1), WithPadding("same"), WithActivation("relu"), WithoutBias())
	if err != nil {
		t.Fatal(err)
	}
	if c.Strides != [2]int{2, 1} || c.Padding != "same" || c.ActivationName() != "relu" || c.UseBias {
		t.Errorf("Conv2D options not applied: %+v", c.Config())
	}
	p := MustNewMaxPooling2D([2]int{3, 3})
	if p.Strides != [2]int{3, 3} || p.Padding != "valid" {
		t.Errorf("MaxPooling2D defaults: strides %v padding %q; want the pool size and valid", p.Strides, p.Padding)
	}
	b := MustNewBatchNormalization(WithMomentum(0.9), WithCenter(false))
	if b.Momentum != 0.9 || b.Center != false || b.Scale != true || b.Epsilon != 1e-3 {
		t.Errorf("BatchNormalization options: %+v", b.Config())
	}
	for _, c := range []struct {
		err  error
		want string
	}{
		{second(NewDense(3, WithStrides(2, 2))), "Dense has no strides option; its options set activation, use_bias"},
		{second(NewMaxPooling2D([2]int{2, 2}, WithActivation("relu"))), "MaxPooling2D has no activation option"},
		{second(NewBatchNormalization(WithMomentum(1.5))), "momentum must be in [0, 1]"},
		{second(NewConv2D(2, [2]int{3, 3}, WithPadding("full"))), `padding must be "valid" or "same"`},
		{second(NewDense(3, WithActivation("swish3"))), "Dense: unknown activation"},
	} {
		if c.err == nil || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("error %v, want %q", c.err, c.want)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("MustNewDense(0) did not panic")
		}
	}()
	MustNewDense(0)
}

func second[L any](_ L, err error) error { return err }
