// Package safetensors reads and writes the safetensors format (Hugging Face):
// an 8-byte little-endian header length, a JSON header naming each tensor's
// dtype, shape and byte range, then the raw little-endian data. kiln saves
// weights as float32 tensors named like Keras' variables: "dense/kernel".
package safetensors

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"sort"

	"github.com/kiln-ml/kiln/internal/atomicfile"
)

// Tensor is one named float32 tensor.
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32
}

type entry struct {
	DType       string   `json:"dtype"`
	Shape       []int    `json:"shape"`
	DataOffsets [2]int64 `json:"data_offsets"`
}

// maxHeader bounds the JSON header (the format's own limit is 100 MB).
const maxHeader = 100 << 20

// ChecksumKey is the __metadata__ key under which kiln records the
// SHA-256 (hex) of a file's data section; Decode verifies it when present,
// so a damaged weights file is refused, not loaded with wrong values.
// Files from other tools have no such key and load as they are.
const ChecksumKey = "kiln_data_sha256"

// Encode writes tensors (in the given order) and optional string metadata,
// adding the data section's checksum (ChecksumKey).
func Encode(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	header := map[string]any{}
	meta := map[string]string{}
	for k, v := range metadata {
		meta[k] = v
	}
	sum := sha256.New()
	var word [4]byte
	for _, t := range tensors {
		for _, v := range t.Data {
			binary.LittleEndian.PutUint32(word[:], math.Float32bits(v))
			sum.Write(word[:])
		}
	}
	meta[ChecksumKey] = hex.EncodeToString(sum.Sum(nil))
	header["__metadata__"] = meta
	var off int64
	for _, t := range tensors {
		n := 1
		for _, d := range t.Shape {
			n *= d
		}
		if n != len(t.Data) {
			return fmt.Errorf("safetensors: tensor %q has shape %v (%d values) but %d values", t.Name, t.Shape, n, len(t.Data))
		}
		if _, dup := header[t.Name]; dup {
			return fmt.Errorf("safetensors: duplicate tensor name %q", t.Name)
		}
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		header[t.Name] = entry{"F32", shape, [2]int64{off, off + int64(4*n)}}
		off += int64(4 * n)
	}
	h, err := json.Marshal(header)
	if err != nil {
		return err
	}
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	var lenBuf [8]byte
	binary.LittleEndian.PutUint64(lenBuf[:], uint64(len(h)))
	if _, err := w.Write(lenBuf[:]); err != nil {
		return err
	}
	if _, err := w.Write(h); err != nil {
		return err
	}
	buf := make([]byte, 0, 4096)
	for _, t := range tensors {
		for _, v := range t.Data {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
			if len(buf) >= 4096 {
				if _, err := w.Write(buf); err != nil {
					return err
				}
				buf = buf[:0]
			}
		}
	}
	_, err = w.Write(buf)
	return err
}

// WriteFile writes tensors to path atomically (a temporary file renamed into
// place), so a failed write leaves no half-written file.
func WriteFile(path string, tensors []Tensor, metadata map[string]string) error {
	var b bytes.Buffer
	if err := Encode(&b, tensors, metadata); err != nil {
		return err
	}
	return atomicfile.Write(path, b.Bytes())
}

// Decode parses a whole safetensors file held in b; name is used in errors.
// Only F32, F64, F16-free numeric types kiln writes are accepted: F32 and F64
// (converted to float32).
func Decode(b []byte, name string) ([]Tensor, map[string]string, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%s: not a valid safetensors file: %s", name, fmt.Sprintf(format, a...))
	}
	if len(b) < 8 {
		return nil, nil, bad("%d bytes, shorter than the 8-byte header length", len(b))
	}
	hl := binary.LittleEndian.Uint64(b[:8])
	if hl > maxHeader || hl > uint64(len(b)-8) {
		return nil, nil, bad("header length %d exceeds the file (%d bytes)", hl, len(b))
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+hl], &raw); err != nil {
		return nil, nil, bad("header is not JSON: %v", err)
	}
	body := b[8+hl:]
	var meta map[string]string
	var out []Tensor
	type span struct{ lo, hi int64 }
	var spans []span
	for key, msg := range raw {
		if key == "__metadata__" {
			if err := json.Unmarshal(msg, &meta); err != nil {
				return nil, nil, bad("__metadata__ must map strings to strings: %v", err)
			}
			continue
		}
		var e entry
		if err := json.Unmarshal(msg, &e); err != nil {
			return nil, nil, bad("tensor %q: %v", key, err)
		}
		width := map[string]int64{"F32": 4, "F64": 8}[e.DType]
		if width == 0 {
			return nil, nil, bad("tensor %q has dtype %q; kiln reads F32 and F64", key, e.DType)
		}
		n := int64(1)
		for _, d := range e.Shape {
			if d < 0 || (d > 0 && n > math.MaxInt32/int64(d)) {
				return nil, nil, bad("tensor %q has an invalid shape %v", key, e.Shape)
			}
			n *= int64(d)
		}
		lo, hi := e.DataOffsets[0], e.DataOffsets[1]
		if lo < 0 || hi < lo || hi > int64(len(body)) || hi-lo != n*width {
			return nil, nil, bad("tensor %q: data_offsets [%d, %d] do not hold %d %s values within the %d data bytes", key, lo, hi, n, e.DType, len(body))
		}
		spans = append(spans, span{lo, hi})
		t := Tensor{Name: key, Shape: e.Shape, Data: make([]float32, n)}
		for i := range t.Data {
			if width == 4 {
				t.Data[i] = math.Float32frombits(binary.LittleEndian.Uint32(body[lo+4*int64(i):]))
			} else {
				t.Data[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(body[lo+8*int64(i):])))
			}
		}
		out = append(out, t)
	}
	if want, ok := meta[ChecksumKey]; ok {
		got := sha256.Sum256(body)
		if hex.EncodeToString(got[:]) != want {
			return nil, nil, fmt.Errorf("%s: the weights are damaged (the data's SHA-256 is not the one recorded when the file was written); use another copy, or train again", name)
		}
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].lo < spans[j].lo })
	for i := 1; i < len(spans); i++ {
		if spans[i].lo < spans[i-1].hi {
			return nil, nil, bad("tensors overlap in the data section")
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, meta, nil
}

// ReadFile reads and decodes a safetensors file.
func ReadFile(path string) ([]Tensor, map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot read weights: %w", err)
	}
	return Decode(b, path)
}
