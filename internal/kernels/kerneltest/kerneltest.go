// Package kerneltest helps tests run code at every kernel level this
// machine supports (see kernels.Use).
package kerneltest

import (
	"testing"

	"github.com/kiln-ml/kiln/internal/kernels"
)

// ForLevels runs f at every kernel level this machine supports, and puts
// the level in use back after each.
func ForLevels(t testing.TB, f func(l kernels.Level)) {
	for _, l := range kernels.Supported() {
		prev, err := kernels.Use(l)
		if err != nil {
			t.Fatal(err)
		}
		f(l)
		kernels.Use(prev)
	}
}
