//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package mnist

import (
	"fmt"
	"os"
)

// mapFile reads the file at path, which must be size bytes long (systems
// without mmap in package syscall).
func mapFile(path string, size int) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil && len(b) != size {
		err = fmt.Errorf("%s: %d bytes, want %d", path, len(b), size)
	}
	return b, err
}

// unmapFile releases b (nothing to do).
func unmapFile([]byte) {}
