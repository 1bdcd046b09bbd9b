//go:build amd64 && !purego

package bench

import (
	"unsafe"

	"github.com/kiln-ml/kiln/internal/kernels"
)

//go:generate sh -c "cd _asm && go run . -out ../peak_amd64.s -stubs ../peak_stubs_amd64.go -pkg bench"

// probeLoops returns the probe loops for the kernel level in use: each runs
// n iterations and reports the work one iteration does. nil means the
// portable Go loops (peak_generic.go).
func probeLoops() *loops {
	switch kernels.Current() {
	case kernels.AVX512:
		return &loops{
			mulAdd:  mulAdd512,
			perMA:   4 * 7 * 2 * 16,
			sqrtDiv: sqrtDiv512,
			perSD:   7 * 16,
			read: func(p []float32) {
				readSum512((*float32)(unsafe.Pointer(&p[0])), len(p))
			},
		}
	case kernels.AVX2:
		return &loops{
			mulAdd:  mulAdd256,
			perMA:   4 * 7 * 2 * 8,
			sqrtDiv: sqrtDiv256,
			perSD:   7 * 8,
			read: func(p []float32) {
				readSum256((*float32)(unsafe.Pointer(&p[0])), len(p))
			},
		}
	}
	return nil
}
