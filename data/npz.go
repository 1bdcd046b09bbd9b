package data

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"time"
)

// NPZ is the content of a NumPy .npz archive, as written by numpy.savez and
// numpy.savez_compressed.
type NPZ struct {
	// Keys are the array names in archive order, without the ".npy" suffix.
	Keys []string
	// Arrays maps each key to its array.
	Arrays map[string]*Array
	// Path is the file the archive was read from.
	Path string
}

// Get returns the array stored under key (a trailing ".npy" is ignored). The
// error for a missing key lists the keys the archive does hold.
func (z *NPZ) Get(key string) (*Array, error) {
	k := strings.TrimSuffix(key, ".npy")
	if a, ok := z.Arrays[k]; ok {
		return a, nil
	}
	if len(z.Keys) == 0 {
		return nil, fmt.Errorf("%s: no array %q: the archive holds no arrays; check that it is the right file", z.Path, key)
	}
	return nil, fmt.Errorf("%s: no array %q; the archive holds %s: use one of those keys", z.Path, key, quoteList(z.Keys))
}

// ReadNPZ reads every array of a .npz archive (zip entries stored or
// deflated; entries whose names do not end in ".npy" are skipped). Keras'
// mnist.npz, for example, holds x_train, y_train, x_test and y_test. Each
// entry is read as by ReadNPY, and errors name the entry as path[entry].
func ReadNPZ(path string) (*NPZ, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: cannot open the .npz file: %v; check the path", path, unwrapPathError(err))
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%s: cannot read the .npz file: %v", path, unwrapPathError(err))
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s is a directory, not a .npz file; give the path of the file itself", path)
	}
	return readNPZ(f, st.Size(), path)
}

func readNPZ(ra io.ReaderAt, size int64, path string) (*NPZ, error) {
	zr, err := zip.NewReader(ra, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		var head [8]byte
		n, _ := ra.ReadAt(head[:], 0)
		if n >= 6 && string(head[:6]) == npyMagic {
			return nil, fmt.Errorf("%s: this is a single-array .npy file, not a .npz archive; read it with ReadNPY", path)
		}
		return nil, fmt.Errorf("%s: not a valid .npz (zip) archive: %v; save the arrays with numpy.savez or numpy.savez_compressed", path, err)
	}
	z := &NPZ{Arrays: map[string]*Array{}, Path: path}
	for _, f := range zr.File {
		if !strings.HasSuffix(f.Name, ".npy") || strings.HasSuffix(f.Name, "/") {
			continue
		}
		key := strings.TrimSuffix(f.Name, ".npy")
		entry := fmt.Sprintf("%s[%s]", path, f.Name)
		if _, dup := z.Arrays[key]; dup {
			return nil, fmt.Errorf("%s: the archive holds two entries named %q; the file is damaged, save it again with numpy.savez", path, f.Name)
		}
		a, err := readNPZEntry(f, size, entry)
		if err != nil {
			return nil, err
		}
		z.Keys = append(z.Keys, key)
		z.Arrays[key] = a
	}
	return z, nil
}

func readNPZEntry(f *zip.File, archiveSize int64, entry string) (*Array, error) {
	rc, err := f.Open()
	if err != nil {
		if errors.Is(err, zip.ErrAlgorithm) {
			return nil, fmt.Errorf("%s: the entry uses zip compression method %d; kiln reads stored and deflated entries: save with numpy.savez or numpy.savez_compressed", entry, f.Method)
		}
		return nil, fmt.Errorf("%s: cannot open the archive entry: %v; the file is damaged, save it again", entry, err)
	}
	defer rc.Close()
	size := int64(-1)
	if f.UncompressedSize64 <= math.MaxInt64 {
		size = int64(f.UncompressedSize64)
	}
	// The zip headers are claims too: allocate up front only what the
	// archive can really hold; a deflated entry's storage grows as it inflates.
	prealloc := int64(unknownSizePrealloc)
	if f.Method == zip.Store && size >= 0 {
		prealloc = min(size, archiveSize)
	}
	a, err := decodeNPY(rc, size, entry, prealloc)
	if err != nil {
		if errors.Is(err, zip.ErrChecksum) || errors.Is(err, zip.ErrFormat) {
			return nil, fmt.Errorf("%s: the archive entry is corrupt (%v); the file is damaged, save it again", entry, err)
		}
		return nil, err
	}
	// Read to the end so that archive/zip checks the entry's CRC-32.
	if _, err := io.Copy(io.Discard, rc); err != nil {
		return nil, fmt.Errorf("%s: the archive entry is corrupt (%v); the file is damaged, save it again", entry, err)
	}
	return a, nil
}

// WriteNPZ writes arrays as an uncompressed .npz archive (like numpy.savez),
// one entry key+".npy" per key, in the order of keys; nil keys means all of
// arrays in sorted order. Every key must be in arrays and every array must be
// named in keys. The file is written to a temporary file in the same
// directory and renamed into place, so a failed write leaves no partial file.
func WriteNPZ(path string, keys []string, arrays map[string]*Array) error {
	if keys == nil {
		for k := range arrays {
			keys = append(keys, k)
		}
		slices.Sort(keys)
	}
	seen := map[string]bool{}
	for _, k := range keys {
		if k == "" {
			return fmt.Errorf("%s: an array key is empty; give every array a name", path)
		}
		if strings.HasSuffix(k, "/") || strings.Contains(k, "\x00") {
			return fmt.Errorf("%s: the key %q cannot be used as a .npz entry name; use a plain name such as x_train", path, k)
		}
		if seen[k] {
			return fmt.Errorf("%s: the key %q is listed twice; list each array once", path, k)
		}
		seen[k] = true
		a, ok := arrays[k]
		if !ok {
			return fmt.Errorf("%s: the key %q has no array in the map; add it or drop the key", path, k)
		}
		if err := checkArray(a, fmt.Sprintf("%s[%s.npy]", path, k)); err != nil {
			return err
		}
	}
	for k := range arrays {
		if !seen[k] {
			return fmt.Errorf("%s: the array %q is not listed in keys; add it to keys (or pass nil keys to write all arrays)", path, k)
		}
	}
	return writeAtomic(path, "the .npz file", func(w io.Writer) error {
		zw := zip.NewWriter(w)
		for _, k := range keys {
			ew, err := zw.CreateHeader(&zip.FileHeader{
				Name:     k + ".npy",
				Method:   zip.Store,
				Modified: time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC),
			})
			if err != nil {
				return fmt.Errorf("writing entry %s.npy: %v", k, err)
			}
			if err := EncodeNPY(ew, arrays[k]); err != nil {
				return fmt.Errorf("writing entry %s.npy: %v", k, err)
			}
		}
		if err := zw.Close(); err != nil {
			return fmt.Errorf("finishing the archive: %v", err)
		}
		return nil
	})
}

func quoteList(keys []string) string {
	var b bytes.Buffer
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		if i == 20 {
			fmt.Fprintf(&b, "and %d more", len(keys)-20)
			break
		}
		fmt.Fprintf(&b, "%q", k)
	}
	return b.String()
}
