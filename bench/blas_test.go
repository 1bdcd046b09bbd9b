package bench

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// Excerpts of torch_bench.py's /proc/self/maps (executable segments) from
// Debian's PyTorch 1.13 on Debian 12, with the address sgemm_ resolved to.
const (
	// The system's alternative points at OpenBLAS.
	mapsOpenBLAS = `0041f000-006d2000 r-xp 0001f000 fe:00 247702                             /usr/bin/python3.11
7fea5880a000-7fea5d89b000 r-xp 0080a000 fe:00 15631026                   /usr/lib/x86_64-linux-gnu/libtorch_cpu.so.1.13.0
7fea60a23000-7fea6104b000 r-xp 00023000 fe:00 15631116                   /usr/lib/x86_64-linux-gnu/openblas-pthread/liblapack.so.3
7fea6a23d000-7fea6a245000 r-xp 00125000 fe:00 15631117                   /usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblasp-r0.3.21.so
7fea6a248000-7fea6c229000 r-xp 00130000 fe:00 15631117                   /usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblasp-r0.3.21.so
7fea6c428000-7fea6c74c000 r-xp 00028000 fe:00 5505207                    /usr/lib/python3/dist-packages/numpy/core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so
7fea6c9a3000-7fea6c9d9000 r-xp 0001e000 fe:00 15631115                   /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3
7fea6cfa0000-7fea6d0f6000 r-xp 00026000 fe:00 326269                     /usr/lib/x86_64-linux-gnu/libc.so.6`
	sgemmOpenBLAS = 0x7fea6c9ab140

	// LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/blas: libblas.so.3 is the
	// reference BLAS, but liblapack.so.3 (still OpenBLAS's) loads
	// libopenblas too, and OpenBLAS's functions answer.
	mapsReference = `0041f000-006d2000 r-xp 0001f000 fe:00 247702                             /usr/bin/python3.11
7fa516a0a000-7fa51ba9b000 r-xp 0080a000 fe:00 15631026                   /usr/lib/x86_64-linux-gnu/libtorch_cpu.so.1.13.0
7fa527c3d000-7fa527c45000 r-xp 00125000 fe:00 15631117                   /usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblasp-r0.3.21.so
7fa527c48000-7fa529c29000 r-xp 00130000 fe:00 15631117                   /usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblasp-r0.3.21.so
7fa529e23000-7fa52a44b000 r-xp 00023000 fe:00 15631116                   /usr/lib/x86_64-linux-gnu/openblas-pthread/liblapack.so.3
7fa52a828000-7fa52ab4c000 r-xp 00028000 fe:00 5505207                    /usr/lib/python3/dist-packages/numpy/core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so
7fa52ad66000-7fa52adc6000 r-xp 00005000 fe:00 15630430                   /usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0
7fa52b37a000-7fa52b4d0000 r-xp 00026000 fe:00 326269                     /usr/lib/x86_64-linux-gnu/libc.so.6`
	sgemmReference = 0x7fa52ad9f620

	openblasConfigText = "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64"
)

func TestParseMaps(t *testing.T) {
	text := `00400000-00452000 r-xp 00000000 08:02 173521      /usr/bin/dbus-daemon
00e03000-00e24000 rw-p 00000000 00:00 0                                  [heap]
7f00aa000000-7f00aa100000 r-xp 00001000 fe:00 42                         /opt/my libs/libblas.so.3 (deleted)
7f00ab000000-7f00ab100000 ---p 00000000 00:00 0
garbage line
zz-7f r-xp 0 0 0 /x
`
	got := ParseMaps(text)
	want := []MapRegion{
		{0x400000, 0x452000, "r-xp", "/usr/bin/dbus-daemon"},
		{0xe03000, 0xe24000, "rw-p", "[heap]"},
		{0x7f00aa000000, 0x7f00aa100000, "r-xp", "/opt/my libs/libblas.so.3 (deleted)"},
		{0x7f00ab000000, 0x7f00ab100000, "---p", ""},
	}
	if !slices.Equal(got, want) {
		t.Errorf("ParseMaps:\n got %+v\nwant %+v", got, want)
	}
	for _, c := range []struct {
		addr uint64
		want string
	}{{0x400000, "/usr/bin/dbus-daemon"}, {0x451fff, "/usr/bin/dbus-daemon"}, {0x452000, ""}, {0x7f00aa000100, "/opt/my libs/libblas.so.3 (deleted)"}} {
		if got := FileAt(want, c.addr); got != c.want {
			t.Errorf("FileAt(%#x) = %q, want %q", c.addr, got, c.want)
		}
	}
}

func TestDetectBLAS(t *testing.T) {
	for _, c := range []struct {
		name  string
		probe BLASProbe
		want  BLAS
		str   string
	}{
		{"system OpenBLAS, kernel forced",
			BLASProbe{Sgemm: sgemmOpenBLAS, Maps: mapsOpenBLAS, OpenBLASConfig: openblasConfigText, OpenBLASCore: "Haswell", OpenBLASThreads: 1, BuildInfo: "generic", CoreTypeEnv: "Haswell"},
			BLAS{Kind: BLASOpenBLAS, Path: "/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3", Version: "0.3.21", Variant: "pthread", Core: "Haswell", ForcedCore: "Haswell", Threads: 1, BuildInfo: "generic"},
			"OpenBLAS 0.3.21 (pthread, Haswell kernel forced by OPENBLAS_CORETYPE=Haswell)"},
		{"system OpenBLAS, version from the file name",
			BLASProbe{Sgemm: sgemmOpenBLAS, Maps: mapsOpenBLAS, OpenBLASCore: "Cooperlake", BuildInfo: "generic"},
			BLAS{Kind: BLASOpenBLAS, Path: "/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3", Version: "0.3.21", Variant: "pthread", Core: "Cooperlake", BuildInfo: "generic"},
			"OpenBLAS 0.3.21 (pthread, Cooperlake kernel)"},
		{"reference libblas with OpenBLAS loaded by liblapack",
			BLASProbe{Sgemm: sgemmReference, Maps: mapsReference, OpenBLASConfig: openblasConfigText, OpenBLASCore: "Haswell", OpenBLASThreads: 1, BuildInfo: "generic", CoreTypeEnv: "Haswell"},
			BLAS{Kind: BLASReference, Path: "/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0", Version: "3.11.0", BuildInfo: "generic"},
			"the reference (netlib) BLAS 3.11.0"},
		{"OpenBLAS itself (a wheel's libopenblas)",
			BLASProbe{Sgemm: 0x7f0000001000, Maps: "7f0000000000-7f0000100000 r-xp 00000000 fe:00 1 /venv/lib/torch.libs/libopenblaso-r0.3.23.so", BuildInfo: "open"},
			BLAS{Kind: BLASOpenBLAS, Path: "/venv/lib/torch.libs/libopenblaso-r0.3.23.so", Version: "0.3.23", Variant: "openmp", BuildInfo: "open"},
			"OpenBLAS 0.3.23 (openmp)"},
		{"MKL linked into libtorch",
			BLASProbe{Maps: mapsOpenBLAS, BuildInfo: "mkl", MKL: true},
			BLAS{Kind: BLASMKL, BuildInfo: "mkl"},
			"MKL (linked into libtorch)"},
		{"Debian's BLIS",
			BLASProbe{Sgemm: 0x7f0000001000, Maps: "7f0000000000-7f0000100000 r-xp 00000000 fe:00 1 /usr/lib/x86_64-linux-gnu/blis-pthread/libblas.so.3"},
			BLAS{Kind: BLASBLIS, Path: "/usr/lib/x86_64-linux-gnu/blis-pthread/libblas.so.3"},
			"BLIS"},
		{"sgemm_ outside every mapped file",
			BLASProbe{Sgemm: 0x10, Maps: mapsOpenBLAS, BuildInfo: "generic"},
			BLAS{Kind: BLASUnknown, BuildInfo: "generic"},
			"an unidentified BLAS (BLAS_INFO=generic)"},
		{"sgemm_ in a library of no known BLAS",
			BLASProbe{Sgemm: 0x7fea6cfa0100, Maps: mapsOpenBLAS, BuildInfo: "generic"},
			BLAS{Kind: BLASUnknown, Path: "/usr/lib/x86_64-linux-gnu/libc.so.6", BuildInfo: "generic"},
			"an unidentified BLAS (sgemm_ from /usr/lib/x86_64-linux-gnu/libc.so.6)"},
	} {
		got := DetectBLAS(c.probe)
		if got != c.want {
			t.Errorf("%s:\n got %+v\nwant %+v", c.name, got, c.want)
		}
		if s := got.String(); s != c.str {
			t.Errorf("%s: String() = %q, want %q", c.name, s, c.str)
		}
		if got.Optimised() != (c.want.Kind != BLASReference && c.want.Kind != BLASUnknown) {
			t.Errorf("%s: Optimised() = %v", c.name, got.Optimised())
		}
	}
}

func TestRatioLabel(t *testing.T) {
	openblas := BLAS{Kind: BLASOpenBLAS, Version: "0.3.21", Variant: "pthread", Core: "Cooperlake", Threads: 1}
	reference := BLAS{Kind: BLASReference, Version: "3.11.0"}
	for _, c := range []struct {
		name         string
		b            BLAS
		torch, kiln  int
		label        string
		warnContains []string // one substring per expected warning, in order
	}{
		{"like for like", openblas, 1, 1, "PyTorch 1.13.0a0 with OpenBLAS 0.3.21 (pthread, Cooperlake kernel), 1 thread", nil},
		{"reference BLAS", reference, 1, 1, "PyTorch 1.13.0a0 with the reference (netlib) BLAS 3.11.0, 1 thread",
			[]string{"against PyTorch on the reference (netlib) BLAS — not what pip users get"}},
		{"unidentified BLAS", BLAS{}, 2, 2, "PyTorch 1.13.0a0 with an unidentified BLAS, 2 threads", []string{"not identified"}},
		{"torch threads differ", openblas, 2, 1, "PyTorch 1.13.0a0 with OpenBLAS 0.3.21 (pthread, Cooperlake kernel), 2 threads",
			[]string{"threads differ: kiln 1, PyTorch 2"}},
		{"OpenBLAS threads differ", openblas, 2, 2, "PyTorch 1.13.0a0 with OpenBLAS 0.3.21 (pthread, Cooperlake kernel), 2 threads",
			[]string{"threads differ: kiln 2, OpenBLAS 1"}},
	} {
		label, warnings := RatioLabel("1.13.0a0", c.b, c.torch, c.kiln)
		if label != c.label {
			t.Errorf("%s: label %q, want %q", c.name, label, c.label)
		}
		if len(warnings) != len(c.warnContains) {
			t.Errorf("%s: warnings %q, want %d", c.name, warnings, len(c.warnContains))
			continue
		}
		for i, w := range c.warnContains {
			if !strings.Contains(warnings[i], w) {
				t.Errorf("%s: warning %q lacks %q", c.name, warnings[i], w)
			}
		}
	}
}

// TestParseTorchOutput reads a run's output whose summary line, with the
// process's maps, is longer than bufio.Scanner's default 64 KiB limit.
func TestParseTorchOutput(t *testing.T) {
	maps := strings.Repeat(mapsOpenBLAS+"\n", 150) + mapsOpenBLAS
	if len(maps) < 100<<10 {
		t.Fatalf("maps only %d bytes", len(maps))
	}
	out := `{"epoch": 1, "train": 0.5, "validation": 0.25, "total": 0.75, "loss": 1.5, "accuracy": 0.5, "val_loss": 2, "val_accuracy": 0.25}
{"epoch": 2, "train": 0.25, "validation": 0.125, "total": 0.375, "loss": 1, "accuracy": 0.75, "val_loss": 1, "val_accuracy": 0.5}
{"torch": "1.13.0a0", "threads": 1, "blas": {"sgemm": ` + fmt.Sprint(sgemmOpenBLAS) + `, "maps": ` + jsonString(maps) + `, "openblas_config": "` + openblasConfigText + `", "openblas_core": "Haswell", "openblas_threads": 1, "blas_info": "generic", "mkl": false, "coretype_env": ""}}
`
	r, err := parseTorchOutput([]byte(out), "")
	if err != nil {
		t.Fatal(err)
	}
	if r.Version != "1.13.0a0" || r.Threads != 1 || len(r.Epochs) != 2 {
		t.Fatalf("got %+v", r.TorchInfo)
	}
	if r.BLAS.Kind != BLASOpenBLAS || r.BLAS.Version != "0.3.21" || r.BLAS.Core != "Haswell" || r.BLAS.Threads != 1 {
		t.Errorf("BLAS %+v", r.BLAS)
	}
	if e := r.Epochs[1]; e.Train.Seconds() != 0.25 || e.Validation.Seconds() != 0.125 || e.ValAccuracy != 0.5 {
		t.Errorf("epoch 2: %+v", e)
	}
	if _, err := parseTorchOutput([]byte(`{"torch": "1.13.0a0"}`+"\n"), "boom"); err == nil || !strings.Contains(err.Error(), "no epochs") {
		t.Errorf("no epochs: err %v", err)
	}
}

func jsonString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

func TestTorchEnviron(t *testing.T) {
	t.Setenv("LD_LIBRARY_PATH", "/old")
	env := TorchEnv{Threads: 2, BLASDir: "/priv/openblas-pthread"}.environ()
	last := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		last[k] = v // exec uses the last value of a duplicated key
	}
	for k, want := range map[string]string{"LD_LIBRARY_PATH": "/priv/openblas-pthread:/old",
		"OMP_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "2", "MKL_NUM_THREADS": "2"} {
		if last[k] != want {
			t.Errorf("%s=%q, want %q", k, last[k], want)
		}
	}
	if got := (TorchEnv{}).environ(); !slices.Contains(got, "OMP_NUM_THREADS=1") {
		t.Error("default threads: no OMP_NUM_THREADS=1")
	}
	if err := CheckBLASDir(t.TempDir()); err == nil {
		t.Error("CheckBLASDir accepted a directory without libblas.so.3")
	}
}

// TestProbeTorch runs Debian's PyTorch (skipped when it cannot be
// imported) and checks that the BLAS is identified and runs on the thread
// count asked for; with the reference BLAS's directory on LD_LIBRARY_PATH,
// that it reports the reference BLAS.
func TestProbeTorch(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PyTorch")
	}
	info, err := ProbeTorch(context.Background(), TorchEnv{Threads: 1})
	if errors.Is(err, ErrNoTorch) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("PyTorch %s, %d thread(s), %s from %s", info.Version, info.Threads, info.BLAS, info.BLAS.Path)
	if info.Threads != 1 {
		t.Errorf("PyTorch runs %d threads, want 1", info.Threads)
	}
	if info.BLAS.Kind == BLASUnknown {
		t.Errorf("BLAS not identified: %+v", info.BLAS)
	}
	if info.BLAS.Kind == BLASOpenBLAS && info.BLAS.Threads != 1 {
		t.Errorf("OpenBLAS runs %d threads, want 1", info.BLAS.Threads)
	}
	const ref = "/usr/lib/x86_64-linux-gnu/blas"
	if CheckBLASDir(ref) != nil || info.BLAS.BuildInfo != "generic" {
		return
	}
	info, err = ProbeTorch(context.Background(), TorchEnv{Threads: 1, BLASDir: ref})
	if err != nil {
		t.Fatal(err)
	}
	if info.BLAS.Kind != BLASReference {
		t.Errorf("with LD_LIBRARY_PATH=%s: %s from %s, want the reference BLAS", ref, info.BLAS, info.BLAS.Path)
	}
}
