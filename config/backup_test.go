package config_test

import (
	"strings"
	"testing"

	"github.com/kiln-ml/kiln/callbacks"
	"github.com/kiln-ml/kiln/config"
)

// TestBackupAndRestoreAndTerminateOnNaNInFiles: both callbacks are in the
// registry with Keras' arguments; save_freq takes "epoch" or a positive
// number of batches; bad values are refused with the argument named.
func TestBackupAndRestoreAndTerminateOnNaNInFiles(t *testing.T) {
	src := cbBase + `    - BackupAndRestore: {backup_dir: bk, save_freq: 10, delete_checkpoint: false}
    - TerminateOnNaN: {}
`
	e, err := config.Parse([]byte(src), "cb.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Fit.Callbacks) != 2 || e.WritesFiles() != "BackupAndRestore" {
		t.Fatalf("callbacks %+v, writes files: %q", e.Fit.Callbacks, e.WritesFiles())
	}
	roundTrip(t, e)
	for _, c := range []struct {
		args map[string]any
		want callbacks.BackupAndRestore
	}{
		{map[string]any{"backup_dir": "bk", "save_freq": 10, "delete_checkpoint": false}, callbacks.BackupAndRestore{BackupDir: "bk", SaveFreq: 10}},
		{map[string]any{"backup_dir": "b2"}, callbacks.BackupAndRestore{BackupDir: "b2", DeleteCheckpoint: true}},
		{map[string]any{"backup_dir": "b3", "save_freq": "epoch"}, callbacks.BackupAndRestore{BackupDir: "b3", DeleteCheckpoint: true}},
	} {
		spec, _ := callbacks.Lookup("BackupAndRestore")
		cb, err := spec.Make(c.args)
		if err != nil {
			t.Fatalf("%v: %v", c.args, err)
		}
		b := cb.(*callbacks.BackupAndRestore)
		if b.BackupDir != c.want.BackupDir || b.SaveFreq != c.want.SaveFreq || b.DeleteCheckpoint != c.want.DeleteCheckpoint {
			t.Errorf("%v: got %+v", c.args, b)
		}
	}
	spec, _ := callbacks.Lookup("TerminateOnNaN")
	if cb, err := spec.Make(nil); err != nil || cb.(*callbacks.TerminateOnNaN) == nil {
		t.Errorf("TerminateOnNaN: %v", err)
	}
	for _, bad := range []string{"save_freq: 0", "save_freq: batch", "save_freq: -3", "save_freq: 1.5", `backup_dir: ""`} {
		src := cbBase + "    - BackupAndRestore: {backup_dir: bk, " + bad + "}\n"
		if strings.HasPrefix(bad, "backup_dir") {
			src = cbBase + "    - BackupAndRestore: {" + bad + "}\n"
		}
		e, err := config.Parse([]byte(src), "cb.yaml", nil)
		if err == nil {
			spec, _ := callbacks.Lookup("BackupAndRestore")
			_, err = spec.Make(e.Fit.Callbacks[0].Args)
		}
		arg := strings.Fields(strings.TrimSuffix(bad, ":"))[0]
		if err == nil || !strings.Contains(err.Error(), strings.TrimSuffix(arg, ":")) {
			t.Errorf("%s: %v", bad, err)
		}
	}
}
