//go:build !amd64 || purego

package kernels

import "unsafe"

// best is Generic: this build has only the pure-Go kernels.
func best() Level { return Generic }

func nonZeroArch([]int32, []float32, []float32, []uint64, uint64) (int, bool) { return 0, false }

func nonZeroU8Arch([]int32, []float32, []uint8, *[256]float32) (int, bool) { return 0, false }

func accumRowsArch(_, _ []float32, _ int, _ []int32, _ []float32) bool { return false }

func accumRows2Arch(_, _, _ []float32, _ int, _ []int32, _ []float32, _ []int32, _ []float32) bool {
	return false
}

func scatterRowsArch([]float32, int, []int32, []float32, []float32) bool { return false }

func copyRowsArch([]float32, int, []float32, int, int, int, bool) bool { return false }

func gradRowsArch(_, _ []float32, _ int, _ []float32, _ int, _ []uint64, _, _, _ int) bool {
	return false
}

func sgdArch(_, _ []float32, _ float32) bool { return false }

func adamArch(_, _, _, _ []float32, _, _, _, _ float32) bool { return false }

func rmspropArch(_, _, _ []float32, _, _, _, _ float32) bool { return false }

func transposeArch([]float32, int, []float32, int, int, int) bool { return false }

func u8ToF32Arch([]float32, []uint8) bool { return false }

func u8LookupArch([]float32, []uint8, *[256]float32) bool { return false }

func prefetchArch(unsafe.Pointer, int) {}

func expArch(_, _ []float64) bool { return false }

func expVariantForTest() int { return 0 }

func features() string { return "(pure Go build: CPU features not used)" }

func reluArch(_, _ []float32) int { return 0 }

func reluGradArch(_, _, _ []float32) int { return 0 }

func expSumArch([]float32, []float32, float32) (float64, bool) { return 0, false }

func prefetchRowsArch(unsafe.Pointer, int, []int) {}

func scatterBatchArch([]float32, int, []int32, []float32, []int, []float32, int) bool { return false }

func hasAccumColsArch() bool { return false }

func accumColsArch(_, _, _ []float32, _, _ int, _ []uint64, _, _, _, _, _, _ int) bool {
	return false
}

func channelMomentsArch(_, _ []float64, _ []float32) bool { return false }

func channelAffineArch(_, _, _, _ []float32) bool { return false }

func normGradSumsArch(_, _ []float64, _, _, _, _ []float32) bool { return false }

func normGradArch(_, _, _, _, _, _, _, _ []float32) bool { return false }
