package safetensors

import (
	"bytes"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	in := []Tensor{
		{Name: "dense/kernel", Shape: []int{3, 2}, Data: []float32{1, -2, 3.5, 4, 5, 6}},
		{Name: "dense/bias", Shape: []int{2}, Data: []float32{0.25, -0}},
	}
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := WriteFile(path, in, map[string]string{"format": "kiln"}); err != nil {
		t.Fatal(err)
	}
	out, meta, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if meta["format"] != "kiln" {
		t.Errorf("metadata %v", meta)
	}
	want := []Tensor{in[1], in[0]} // sorted by name
	if !reflect.DeepEqual(out, want) {
		t.Errorf("got %+v, want %+v", out, want)
	}
}

func TestRejectsCorrupt(t *testing.T) {
	var b bytes.Buffer
	if err := Encode(&b, []Tensor{{Name: "w", Shape: []int{4}, Data: []float32{1, 2, 3, 4}}}, nil); err != nil {
		t.Fatal(err)
	}
	good := b.Bytes()
	cases := map[string][]byte{
		"short":       good[:5],
		"truncated":   good[:len(good)-3],
		"huge header": append([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}, good[8:]...),
		"not json":    append(append([]byte(nil), good[:8]...), bytes.Repeat([]byte{'x'}, len(good)-8)...),
	}
	for name, data := range cases {
		if _, _, err := Decode(data, "f.safetensors"); err == nil || !strings.Contains(err.Error(), "f.safetensors") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	var b bytes.Buffer
	Encode(&b, []Tensor{{Name: "w", Shape: []int{2, 2}, Data: []float32{1, 2, 3, 4}}}, map[string]string{"a": "b"})
	f.Add(b.Bytes())
	f.Add([]byte{8, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' ', ' ', ' ', ' ', ' '})
	f.Fuzz(func(t *testing.T, data []byte) {
		ts, _, err := Decode(data, "fuzz")
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := Encode(&out, ts, nil); err != nil {
			t.Fatalf("decoded tensors do not re-encode: %v", err)
		}
	})
}

// TestChecksum: kiln's files carry the data's SHA-256, and any flipped bit
// of the data section is refused; files without it (other tools') load.
//
// Catches: damaged weights loaded silently (a flipped bit changes a value,
// not the layout).
func TestChecksum(t *testing.T) {
	var b bytes.Buffer
	ts := []Tensor{{Name: "w", Shape: []int{2, 2}, Data: []float32{1, 2, 3, 4}}}
	if err := Encode(&b, ts, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	good := b.Bytes()
	_, meta, err := Decode(good, "w.safetensors")
	if err != nil || len(meta[ChecksumKey]) != 64 || meta["format"] != "pt" {
		t.Fatalf("meta %v, %v", meta, err)
	}
	for i := len(good) - 16; i < len(good); i++ {
		for bit := 0; bit < 8; bit++ {
			bad := append([]byte(nil), good...)
			bad[i] ^= 1 << bit
			if _, _, err := Decode(bad, "w.safetensors"); err == nil {
				t.Fatalf("byte %d bit %d flipped: no error", i, bit)
			}
		}
	}
}
