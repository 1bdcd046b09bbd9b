//go:build !amd64 || purego

package kernels

func convForwardArch(_, _ []float32, _ []uint8, _ []float32, _, _ []int32, _ []float32, _ int, _ []float32) bool {
	return false
}

func convGradArch(_, _, _ []float32, _, _ []int32, _ []float32, _ []uint8, _ int) bool { return false }

func maxPoolArch([]float32, []int32, []float32, []int32, []int32, []int32, int) bool { return false }

func maxPoolGradArch(_, _ []float32, _ []int32, _, _, _ []int32, _ int) bool { return false }

func maxPool8Arch([]float32, []uint8, []float32, []int32, []int32, []int32, int) bool { return false }

func maxPoolGrad8Arch(_, _ []float32, _ []uint8, _, _, _ []int32, _ int) bool { return false }

func maxPool8Vector(int, int) bool { return false }
