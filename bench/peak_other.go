//go:build !amd64 || purego

package bench

// probeLoops: no vector probe loops here; the portable Go loops measure
// what the pure-Go kernels can reach.
func probeLoops() *loops { return nil }
