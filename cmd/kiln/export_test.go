package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExportONNX: fit --save writes model.onnx, kiln export writes the same
// bytes from the saved directory, and bad flags are usage errors.
func TestExportONNX(t *testing.T) {
	exp := writeToy(t, "")
	saved := filepath.Join(filepath.Dir(exp), "saved")
	if code, _, e := runKiln(t, "fit", exp, "--save", saved, "--verbose", "0"); code != 0 {
		t.Fatalf("fit --save: %s", e)
	}
	fromSave, err := os.ReadFile(filepath.Join(saved, "model.onnx"))
	if err != nil {
		t.Fatalf("fit --save wrote no model.onnx: %v", err)
	}
	if !bytes.HasPrefix(fromSave[:2], []byte{0x08}) || !bytes.Contains(fromSave, []byte("Gemm")) || !bytes.Contains(fromSave, []byte("Softmax")) {
		t.Errorf("model.onnx does not look like the model (%d bytes)", len(fromSave))
	}
	out := filepath.Join(t.TempDir(), "m.onnx")
	code, _, e := runKiln(t, "export", saved, "--onnx", out)
	if code != 0 {
		t.Fatalf("export: exit %d: %s", code, e)
	}
	got, err := os.ReadFile(out)
	if err != nil || !bytes.Equal(got, fromSave) {
		t.Errorf("kiln export wrote different bytes from fit --save's model.onnx (%v)", err)
	}
	for _, args := range [][]string{
		{"export", saved},
		{"export", saved, "--onnx", out, "--opset", "7"},
		{"export", "--onnx", out},
		{"export", filepath.Join(saved, "nope"), "--onnx", out},
	} {
		code, _, e := runKiln(t, args...)
		if code != 2 || !strings.Contains(e, "kiln: error:") {
			t.Errorf("%v: exit %d, stderr %q; want a usage error (exit 2)", args, code, e)
		}
	}
}
