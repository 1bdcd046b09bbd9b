// Package atomicfile writes files so that a failure never leaves a
// half-written file behind: the bytes go to a temporary file in the same
// directory, which is renamed into place only once it is complete.
package atomicfile

import (
	"os"
	"path/filepath"
)

// Write writes b to path atomically, with mode 0644.
func Write(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".kiln-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op after the rename
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
