package bench

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// BLASKind names a BLAS implementation.
type BLASKind int

// The BLAS implementations DetectBLAS tells apart.
const (
	BLASUnknown   BLASKind = iota // not identified
	BLASReference                 // netlib's reference BLAS: plain Fortran loops
	BLASOpenBLAS
	BLASMKL
	BLASBLIS
	BLASATLAS
)

// String returns the implementation's usual name.
func (k BLASKind) String() string {
	switch k {
	case BLASReference:
		return "the reference (netlib) BLAS"
	case BLASOpenBLAS:
		return "OpenBLAS"
	case BLASMKL:
		return "MKL"
	case BLASBLIS:
		return "BLIS"
	case BLASATLAS:
		return "ATLAS"
	}
	return "an unidentified BLAS"
}

// BLAS describes the BLAS library that PyTorch's float32 matrix products
// (sgemm_) run on, as bench/torch_bench.py found it in its own process.
type BLAS struct {
	Kind BLASKind
	// Path is the file that holds sgemm_ ("" when sgemm_ is not a dynamic
	// symbol, e.g. MKL linked into libtorch as in the pip wheels).
	Path string
	// Version is the library's version when it can be told: OpenBLAS's
	// (from openblas_get_config or the file name), the reference BLAS's from
	// its file name (libblas.so.3.11.0).
	Version string
	// Variant is OpenBLAS's threading layer: pthread, openmp or serial.
	Variant string
	// Core is the kernel OpenBLAS runs (openblas_get_corename), e.g. Haswell.
	Core string
	// ForcedCore is OPENBLAS_CORETYPE in the PyTorch process's environment:
	// when set, OpenBLAS runs that kernel instead of the one it would pick.
	ForcedCore string
	// Threads is openblas_get_num_threads (0 when not OpenBLAS).
	Threads int
	// BuildInfo is PyTorch's BLAS_INFO build setting (generic for Debian's:
	// whatever libblas.so.3 is).
	BuildInfo string
}

// Optimised reports whether the BLAS is a tuned one (OpenBLAS, MKL, BLIS,
// ATLAS), the kind that pip's PyTorch ships.
func (b BLAS) Optimised() bool {
	return b.Kind != BLASUnknown && b.Kind != BLASReference
}

// String names the BLAS for a report: "OpenBLAS 0.3.21 (pthread, Haswell
// kernel)", "the reference (netlib) BLAS 3.11.0".
func (b BLAS) String() string {
	s := b.Kind.String()
	if b.Version != "" {
		s += " " + b.Version
	}
	var notes []string
	if b.Variant != "" {
		notes = append(notes, b.Variant)
	}
	if b.Core != "" {
		k := b.Core + " kernel"
		if b.ForcedCore != "" {
			k += " forced by OPENBLAS_CORETYPE=" + b.ForcedCore
		}
		notes = append(notes, k)
	}
	if b.Kind == BLASMKL && b.Path == "" {
		notes = append(notes, "linked into libtorch")
	}
	if b.Kind == BLASUnknown {
		if b.Path != "" {
			notes = append(notes, "sgemm_ from "+b.Path)
		} else if b.BuildInfo != "" {
			notes = append(notes, "BLAS_INFO="+b.BuildInfo)
		}
	}
	if len(notes) > 0 {
		s += " (" + strings.Join(notes, ", ") + ")"
	}
	return s
}

// MapRegion is one line of /proc/PID/maps: an address range and the file
// mapped there ("" for anonymous memory).
type MapRegion struct {
	Start, End uint64
	Perms      string
	Path       string
}

// ParseMaps parses the text of /proc/PID/maps. Malformed lines are skipped.
func ParseMaps(text string) []MapRegion {
	var out []MapRegion
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		lo, hi, ok := strings.Cut(f[0], "-")
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			continue
		}
		r := MapRegion{Start: start, End: end, Perms: f[1]}
		if len(f) >= 6 {
			// The path is the rest of the line after the inode; it may
			// contain spaces, and ends with " (deleted)" for a removed file.
			r.Path = strings.TrimSpace(line[strings.Index(line, f[5]):])
		}
		out = append(out, r)
	}
	return out
}

// FileAt returns the file mapped at addr in regions, or "".
func FileAt(regions []MapRegion, addr uint64) string {
	for _, r := range regions {
		if addr >= r.Start && addr < r.End {
			return r.Path
		}
	}
	return ""
}

// BLASProbe is what bench/torch_bench.py reports about its BLAS.
type BLASProbe struct {
	Sgemm           uint64 `json:"sgemm"` // the address sgemm_ resolves to for libtorch_cpu (0: not found)
	Maps            string `json:"maps"`  // /proc/self/maps (the executable segments)
	OpenBLASConfig  string `json:"openblas_config"`
	OpenBLASCore    string `json:"openblas_core"`
	OpenBLASThreads int    `json:"openblas_threads"`
	BuildInfo       string `json:"blas_info"`
	MKL             bool   `json:"mkl"` // torch.backends.mkl.is_available()
	CoreTypeEnv     string `json:"coretype_env"`
}

var (
	openblasFile    = regexp.MustCompile(`^libopenblas([po]?)(?:64_?)?-r(\d+(?:\.\d+)+)`)
	openblasConfig  = regexp.MustCompile(`^OpenBLAS (\d+(?:\.\d+)+)`)
	referenceSuffix = regexp.MustCompile(`^libblas(?:64)?\.so\.(\d+(?:\.\d+)*)$`)
)

// DetectBLAS names the BLAS that p's sgemm_ lives in: the file mapped at
// its address, classified by its name and directory (Debian installs each
// implementation's libblas.so.3 in a directory of its own:
// openblas-pthread/, blis-openmp/, atlas/, and blas/ for the reference).
// Only the library that holds sgemm_ counts: Debian's liblapack.so.3 may
// load OpenBLAS next to a reference libblas.so.3 that serves the products.
func DetectBLAS(p BLASProbe) BLAS {
	b := BLAS{BuildInfo: p.BuildInfo}
	regions := ParseMaps(p.Maps)
	if p.Sgemm != 0 {
		b.Path = FileAt(regions, p.Sgemm)
	}
	if b.Path == "" {
		// No dynamic sgemm_: a BLAS linked into libtorch (pip's wheels link
		// MKL statically on x86-64).
		if p.MKL || strings.EqualFold(p.BuildInfo, "mkl") {
			b.Kind = BLASMKL
		}
		return b
	}
	base := filepath.Base(b.Path)
	dir := strings.ToLower(filepath.Base(filepath.Dir(b.Path)))
	lbase := strings.ToLower(base)
	switch {
	case strings.Contains(lbase, "openblas") || strings.HasPrefix(dir, "openblas"):
		b.Kind = BLASOpenBLAS
		b.Core, b.Threads = p.OpenBLASCore, p.OpenBLASThreads
		if b.Core != "" {
			b.ForcedCore = p.CoreTypeEnv
		}
		if m := openblasConfig.FindStringSubmatch(p.OpenBLASConfig); m != nil {
			b.Version = m[1]
		}
		variant := ""
		if v, ok := strings.CutPrefix(dir, "openblas-"); ok {
			variant = v
		}
		// The library file itself, or the libopenblas it wraps.
		for _, r := range regions {
			m := openblasFile.FindStringSubmatch(filepath.Base(r.Path))
			if m == nil || (filepath.Dir(r.Path) != filepath.Dir(b.Path) && r.Path != b.Path) {
				continue
			}
			if b.Version == "" {
				b.Version = m[2]
			}
			if variant == "" {
				variant = map[string]string{"p": "pthread", "o": "openmp", "": "serial"}[m[1]]
			}
			break
		}
		b.Variant = variant
	case strings.Contains(lbase, "mkl") || strings.Contains(dir, "mkl"):
		b.Kind = BLASMKL
	case strings.Contains(lbase, "blis") || strings.HasPrefix(dir, "blis"):
		b.Kind = BLASBLIS
	case strings.Contains(lbase, "atlas") || dir == "atlas":
		b.Kind = BLASATLAS
	case strings.HasPrefix(lbase, "libblas"):
		// A libblas.so.3 of no tuned implementation: netlib's.
		b.Kind = BLASReference
		if m := referenceSuffix.FindStringSubmatch(base); m != nil && strings.Count(m[1], ".") == 2 {
			b.Version = m[1]
		}
	}
	return b
}

// RatioLabel is what `kiln bench --vs-torch` says about the PyTorch side of
// its ratio: label names PyTorch's version, BLAS and threads, and warnings
// say why the comparison is not one a PyTorch user would recognise: the
// reference BLAS (pip's PyTorch ships an optimised one), an unidentified
// BLAS, or thread counts that differ from kiln's.
func RatioLabel(version string, b BLAS, torchThreads, kilnThreads int) (label string, warnings []string) {
	label = fmt.Sprintf("PyTorch %s with %s, %d thread%s", version, b, torchThreads, plural(torchThreads))
	switch b.Kind {
	case BLASReference:
		warnings = append(warnings, "against PyTorch on the reference (netlib) BLAS — not what pip users get; see the README's Speed section to compare with OpenBLAS (--torch-blas)")
	case BLASUnknown:
		warnings = append(warnings, "the BLAS PyTorch runs on was not identified")
	}
	if torchThreads != kilnThreads {
		warnings = append(warnings, fmt.Sprintf("threads differ: kiln %d, PyTorch %d", kilnThreads, torchThreads))
	}
	if b.Kind == BLASOpenBLAS && b.Threads != 0 && b.Threads != kilnThreads {
		warnings = append(warnings, fmt.Sprintf("threads differ: kiln %d, OpenBLAS %d", kilnThreads, b.Threads))
	}
	return label, warnings
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
