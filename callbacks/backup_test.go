package callbacks

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestBackupDiskFull: a write failing half-way (ENOSPC) makes Save fail
// with a message that says the previous backup is kept, leaves no
// temporary files, and the previous backup still loads, unwarned.
func TestBackupDiskFull(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "bk")
	b := NewBackupAndRestore(dir)
	one := map[string][]byte{"a": []byte("first a"), "b": bytes.Repeat([]byte{1, 2, 3}, 1000)}
	if err := b.Save(one); err != nil {
		t.Fatal(err)
	}
	defer func() { writeFile = writeSynced }()
	writeFile = func(path string, data []byte) error {
		os.WriteFile(path, data[:len(data)/2], 0o644)
		return &os.PathError{Op: "write", Path: path, Err: syscall.ENOSPC}
	}
	err := b.Save(map[string][]byte{"a": []byte("second a"), "b": []byte("second b")})
	if err == nil || !strings.Contains(err.Error(), "no space left on device") || !strings.Contains(err.Error(), "the previous backup is kept") {
		t.Fatalf("Save on a full disk: %v", err)
	}
	writeFile = writeSynced
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 || ents[0].Name() != "backup-00000001" {
		t.Errorf("left in %s: %v", dir, ents)
	}
	var warn bytes.Buffer
	b2 := NewBackupAndRestore(dir)
	b2.Warn = &warn
	got, err := b2.Load()
	if err != nil || fmt.Sprint(got) != fmt.Sprint(one) || warn.Len() > 0 {
		t.Fatalf("Load after the failed Save: %v %v %q", err, got, warn.String())
	}
	// The next good Save keeps two generations and numbers on.
	for i := 0; i < 3; i++ {
		if err := b2.Save(one); err != nil {
			t.Fatal(err)
		}
	}
	ents, _ = os.ReadDir(dir)
	if len(ents) != 2 || ents[0].Name() != "backup-00000003" || ents[1].Name() != "backup-00000004" {
		t.Errorf("generations kept: %v", ents)
	}
	b2.TrainEnd(Logs{})
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("delete_checkpoint left %s: %v", dir, err)
	}
}
