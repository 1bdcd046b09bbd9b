//go:build !linux

package bench

// pinThread is a no-op outside Linux: the two threads of CoreRoundTrip
// run wherever the system puts them.
func pinThread(int) bool { return false }
