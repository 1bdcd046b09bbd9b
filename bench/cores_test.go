package bench

import (
	"runtime"
	"testing"
	"time"
)

// TestCoreRoundTrip: a round trip between two cores takes some time, and
// far less than a millisecond (it is a few hundred nanoseconds on the
// machines kiln was measured on).
func TestCoreRoundTrip(t *testing.T) {
	d := CoreRoundTrip(2000)
	if runtime.NumCPU() < 2 {
		if d != 0 {
			t.Errorf("one CPU: %v, want 0", d)
		}
		return
	}
	if d <= 0 || d > time.Millisecond {
		t.Errorf("round trip %v, want between 0 and 1 ms", d)
	}
}
