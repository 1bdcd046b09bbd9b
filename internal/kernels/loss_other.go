//go:build !amd64 || purego

package kernels

func softmaxShiftArch([]float64, []float32, []float32, int) bool { return false }

func logArch([]float64, []float64) int { return 0 }

func logVectorForTest() bool { return false }

func argmaxRowsArch([]int32, []float32, int) bool { return false }

func xentRowsArch([]float32, []float64, []float64, []float32, []float32, []float32, []float64, []float64, int, float32) bool {
	return false
}
