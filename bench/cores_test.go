package bench

import (
	"runtime"
	"testing"
	"time"
)

// TestCoreRoundTrip: a round trip between two cores takes some time, and
// not long (200–1000 ns on the machine kiln was measured on; the bound
// leaves room for a machine busy with other tests, whose threads the
// system may stop for milliseconds).
func TestCoreRoundTrip(t *testing.T) {
	d := CoreRoundTrip(2000)
	if runtime.NumCPU() < 2 {
		if d != 0 {
			t.Errorf("one CPU: %v, want 0", d)
		}
		return
	}
	if d <= 0 || d > 50*time.Millisecond {
		t.Errorf("round trip %v, want between 0 and 50 ms", d)
	}
}
