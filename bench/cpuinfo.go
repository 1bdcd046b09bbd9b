package bench

import (
	"bufio"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/kiln-ml/kiln/internal/kernels"
)

// CPU describes the machine: the CPU model (from /proc/cpuinfo where there
// is one), the logical CPU count, the features the kernels check and the
// kernel level in use.
func CPU() string {
	model := runtime.GOARCH
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		var name, family, mod string
		for sc.Scan() {
			k, v, ok := strings.Cut(sc.Text(), ":")
			if !ok {
				continue
			}
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			switch {
			case k == "model name" && name == "":
				name = v
			case k == "cpu family" && family == "":
				family = v
			case k == "model" && mod == "":
				mod = v
			}
		}
		if name != "" {
			model = name
			if family != "" {
				model += " (family " + family + ", model " + mod + ")"
			}
		}
	}
	return model + ", " + strconv.Itoa(runtime.NumCPU()) + " logical CPUs; " + kernels.Features() + "; kernels: " + kernels.Current().String()
}
