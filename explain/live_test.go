package explain

import (
	"strings"
	"testing"
	"time"
)

// TestLiveStatusLine: with Live, a probe set keeps a status line (probes
// done and running, time spent and left of the budget) under the per-probe
// lines, and clears it when the batch ends.
//
// Catches: the status line never drawn, or left on screen.
func TestLiveStatusLine(t *testing.T) {
	var b strings.Builder
	a := &analysis{opts: Options{Progress: &b, Live: true, Budget: 60 * time.Second}, start: time.Now().Add(-15 * time.Second)}
	ps := &probeSet{a: a}
	ps.finished, ps.running = 2, 1
	ps.redraw()
	if got := b.String(); !strings.Contains(got, "kiln explain: 2 probe(s) done, 1 running, 15") || !strings.Contains(got, "left of the 1m0s budget") {
		t.Errorf("status line %q", got)
	}
	ps.clearStatus()
	if !strings.HasSuffix(b.String(), "\r\x1b[K") || ps.status {
		t.Errorf("status line not cleared: %q", b.String())
	}
	b.Reset()
	a.opts.Live = false
	ps.redraw()
	if b.Len() != 0 {
		t.Errorf("without Live: %q", b.String())
	}
}
