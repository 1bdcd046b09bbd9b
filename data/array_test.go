package data

import "testing"

func TestClassOf(t *testing.T) {
	oh := NewFloat32([]float32{0, 1, 0, 0.2, 0.2, 0.6, 1, 0, 0}, 3, 3)
	ids := NewInt64([]int64{4, 0, 2}, 3)
	col := NewFloat32([]float32{1, 0, 3}, 3, 1)
	for _, c := range []struct {
		a    *Array
		want []int
	}{{oh, []int{1, 2, 0}}, {ids, []int{4, 0, 2}}, {col, []int{1, 0, 3}}} {
		for i, w := range c.want {
			if got := c.a.ClassOf(i); got != w {
				t.Errorf("%v row %d: class %d, want %d", c.a.Shape, i, got, w)
			}
		}
	}
}
