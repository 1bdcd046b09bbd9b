package callbacks

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"
)

// The expected strings below are Keras 2 output (tf.keras 2.15 Progbar and
// ProgbarLogger), for the same event times.

// fakeClock is a settable clock for ProgressBar.Now.
type fakeClock struct{ t time.Time }

func newFakeClock() *fakeClock { return &fakeClock{t: time.Unix(1700000000, 0)} }

func (c *fakeClock) Now() time.Time          { return c.t }
func (c *fakeClock) Advance(d time.Duration) { c.t = c.t.Add(d) }

// f32 rounds v to float32, as training values are.
func f32(v float64) float64 { return float64(float32(v)) }

func logsOf(kv ...any) Logs {
	var l Logs
	for i := 0; i < len(kv); i += 2 {
		l.Names = append(l.Names, kv[i].(string))
		l.Values = append(l.Values, f32(kv[i+1].(float64)))
	}
	return l
}

func newTestBar(tty bool) (*ProgressBar, *bytes.Buffer, *fakeClock) {
	var buf bytes.Buffer
	clk := newFakeClock()
	pb := NewProgressBar(&buf, tty)
	pb.Now = clk.Now
	return pb, &buf, clk
}

func bs(n int) string { return strings.Repeat("\b", n) }

func TestFinalLineKerasExample(t *testing.T) {
	for _, tty := range []bool{false, true} {
		pb, buf, clk := newTestBar(tty)
		pb.TrainBegin(Params{Epochs: 1, Steps: 1875, Verbose: 1}, &Control{})
		pb.EpochBegin(0)
		train := logsOf("loss", 315.4696, "accuracy", 0.8432)
		clk.Advance(300 * time.Millisecond) // slow first step, left out of the per-step time
		for step := 1; step <= 1875; step++ {
			if step > 1 {
				clk.Advance(946 * time.Microsecond)
			}
			pb.BatchEnd(step, train)
		}
		pb.EpochEnd(0, logsOf("loss", 315.4696, "accuracy", 0.8432, "val_loss", 195.9139, "val_accuracy", 0.8957))
		want := "1875/1875 [==============================] - 2s 946us/step - loss: 315.4696 - accuracy: 0.8432 - val_loss: 195.9139 - val_accuracy: 0.8957\n"
		out := buf.String()
		if !tty {
			if out != want {
				t.Errorf("non-TTY output:\n got %q\nwant %q", out, want)
			}
			continue
		}
		last := out[strings.LastIndex(out, "\r")+1:]
		if last != want {
			t.Errorf("TTY final draw:\n got %q\nwant %q", last, want)
		}
	}
}

func TestEvaluateLineNoHeader(t *testing.T) {
	pb, buf, clk := newTestBar(false)
	pb.TrainBegin(Params{Epochs: 0, Steps: 313, Verbose: 1}, &Control{})
	pb.EpochBegin(0)
	for step := 1; step <= 313; step++ {
		if step == 1 {
			clk.Advance(400 * time.Millisecond)
		} else {
			clk.Advance(2 * time.Millisecond)
		}
		pb.BatchEnd(step, logsOf("loss", 0.0745, "accuracy", 0.9772))
	}
	pb.EpochEnd(0, logsOf("loss", 0.0745, "accuracy", 0.9772))
	want := "313/313 [==============================] - 1s 2ms/step - loss: 0.0745 - accuracy: 0.9772\n"
	if got := buf.String(); got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func TestPredictLineNoMetrics(t *testing.T) {
	pb, buf, clk := newTestBar(false)
	pb.TrainBegin(Params{Steps: 4, Verbose: 1}, &Control{})
	pb.EpochBegin(0)
	for step := 1; step <= 4; step++ {
		clk.Advance(5 * time.Millisecond)
		pb.BatchEnd(step, Logs{})
	}
	pb.EpochEnd(0, Logs{})
	if got, want := buf.String(), "4/4 [==============================] - 0s 5ms/step\n"; got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func TestSecondsPerStep(t *testing.T) {
	pb, buf, clk := newTestBar(false)
	pb.TrainBegin(Params{Epochs: 1, Steps: 10, Verbose: 1}, &Control{})
	pb.EpochBegin(0)
	for step := 1; step <= 10; step++ {
		clk.Advance(2500 * time.Millisecond)
		pb.BatchEnd(step, logsOf("loss", 0.5))
	}
	pb.EpochEnd(0, logsOf("loss", 0.5))
	// 25 s elapsed; 2.5 s/step rounds half to even, like Python's %.0f.
	if got, want := buf.String(), "10/10 [==============================] - 25s 2s/step - loss: 0.5000\n"; got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func TestFinalLineIncludesValidationTime(t *testing.T) {
	pb, buf, clk := newTestBar(false)
	pb.TrainBegin(Params{Epochs: 1, Steps: 10, Verbose: 1}, &Control{})
	pb.EpochBegin(0)
	for step := 1; step <= 10; step++ {
		clk.Advance(100 * time.Millisecond)
		pb.BatchEnd(step, logsOf("loss", 0.25))
	}
	clk.Advance(900 * time.Millisecond) // validation
	pb.EpochEnd(0, logsOf("loss", 0.25, "val_loss", 0.5))
	// (1.9 s - 0.1 s) / 9 steps after the first.
	want := "10/10 [==============================] - 2s 200ms/step - loss: 0.2500 - val_loss: 0.5000\n"
	if got := buf.String(); got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func TestTTYSequence(t *testing.T) {
	pb, buf, clk := newTestBar(true)
	pb.TrainBegin(Params{Epochs: 2, Steps: 3, Verbose: 1}, &Control{})

	pb.EpochBegin(0)
	clk.Advance(time.Second)
	pb.BatchEnd(1, logsOf("loss", 1234.5678))
	clk.Advance(20 * time.Millisecond)
	pb.BatchEnd(2, logsOf("loss", 0.25)) // under 0.05 s: not drawn
	clk.Advance(580 * time.Millisecond)
	pb.BatchEnd(3, logsOf("loss", 0.125)) // last step: in-progress form, ETA: 0s
	clk.Advance(400 * time.Millisecond)
	pb.EpochEnd(0, logsOf("loss", 0.125, "val_loss", 0.1))

	pb.EpochBegin(1)
	clk.Advance(100 * time.Millisecond)
	pb.BatchEnd(1, logsOf("loss", 0.1))
	clk.Advance(100 * time.Millisecond)
	pb.BatchEnd(2, logsOf("loss", 0.09))
	clk.Advance(30 * time.Millisecond)
	pb.BatchEnd(3, logsOf("loss", 0.08)) // under 0.05 s: not drawn
	clk.Advance(70 * time.Millisecond)
	pb.EpochEnd(1, logsOf("loss", 0.08, "val_loss", 0.07))

	want := "Epoch 1/2\n" +
		"\r1/3 [=========>....................] - ETA: 2s - loss: 1234.5677" +
		bs(64) + "\r3/3 [==============================] - ETA: 0s - loss: 0.1250   " +
		bs(61) + "\r3/3 [==============================] - 2s 500ms/step - loss: 0.1250 - val_loss: 0.1000\n" +
		"Epoch 2/2\n" +
		"\r1/3 [=========>....................] - ETA: 0s - loss: 0.1000" +
		bs(61) + "\r2/3 [===================>..........] - ETA: 0s - loss: 0.0900" +
		bs(61) + "\r3/3 [==============================] - 0s 100ms/step - loss: 0.0800 - val_loss: 0.0700\n"
	if got := buf.String(); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestNonTTYPrintsOnlyFinalLines(t *testing.T) {
	pb, buf, clk := newTestBar(false)
	pb.TrainBegin(Params{Epochs: 2, Steps: 3, Verbose: 1}, &Control{})
	for epoch := 0; epoch < 2; epoch++ {
		pb.EpochBegin(epoch)
		for step := 1; step <= 3; step++ {
			clk.Advance(time.Second)
			pb.BatchEnd(step, logsOf("loss", 1234.5678))
		}
		pb.EpochEnd(epoch, logsOf("loss", 0.5, "val_loss", 0.25))
	}
	want := "Epoch 1/2\n" +
		"3/3 [==============================] - 3s 1s/step - loss: 0.5000 - val_loss: 0.2500\n" +
		"Epoch 2/2\n" +
		"3/3 [==============================] - 3s 1s/step - loss: 0.5000 - val_loss: 0.2500\n"
	if got := buf.String(); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestThrottle(t *testing.T) {
	pb, buf, clk := newTestBar(true)
	pb.TrainBegin(Params{Epochs: 1, Steps: 10, Verbose: 1}, &Control{})
	pb.EpochBegin(0)
	for step := 1; step <= 10; step++ {
		clk.Advance(10 * time.Millisecond)
		pb.BatchEnd(step, logsOf("loss", 1.0/float64(step)))
	}
	clk.Advance(time.Millisecond)
	pb.EpochEnd(0, logsOf("loss", 0.1))
	// Drawn: step 1 (first update), step 6 (0.05 s after step 1), and the
	// final line (always, here 0.041 s after the last draw).
	want := "\r 1/10 [==>...........................] - ETA: 0s - loss: 1.0000" +
		bs(63) + "\r 6/10 [=================>............] - ETA: 0s - loss: 0.1667" +
		bs(63) + "\r10/10 [==============================] - 0s 10ms/step - loss: 0.1000\n"
	if got := buf.String(); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestSkippedUpdatesStillCount(t *testing.T) {
	pb, buf, clk := newTestBar(true)
	pb.TrainBegin(Params{Steps: 3, Verbose: 1}, &Control{})
	pb.EpochBegin(0)
	clk.Advance(time.Millisecond)
	pb.BatchEnd(1, logsOf("loss", 2.0))
	clk.Advance(time.Millisecond)
	pb.BatchEnd(2, logsOf("loss", 1.5, "mae", 0.75)) // not drawn, but kept
	clk.Advance(time.Millisecond)
	pb.EpochEnd(0, Logs{}) // Keras keeps the last values it was given
	out := buf.String()
	want := "3/3 [==============================] - 0s 1ms/step - loss: 1.5000 - mae: 0.7500\n"
	if last := out[strings.LastIndex(out, "\r")+1:]; last != want {
		t.Errorf("got  %q\nwant %q", last, want)
	}
}

func TestPartialBarAndCountPadding(t *testing.T) {
	pb, buf, clk := newTestBar(true)
	pb.TrainBegin(Params{Steps: 1875, Verbose: 1}, &Control{})
	pb.EpochBegin(0)
	clk.Advance(time.Second)
	pb.BatchEnd(1, Logs{})
	if got, want := buf.String(), "\r   1/1875 [..............................] - ETA: 31:14"; got != want {
		t.Errorf("step 1: got %q want %q", got, want)
	}
	for step := 2; step <= 100; step++ {
		clk.Advance(50 * time.Millisecond)
		pb.BatchEnd(step, Logs{})
	}
	out := buf.String()
	// int(30*100/1875) = 1: the bar is just ">" (Keras' "=>" starts at 125).
	want := " 100/1875 [>.............................] - ETA: 1:28"
	if last := out[strings.LastIndex(out, "\r")+1:]; last != want {
		t.Errorf("step 100: got %q want %q", last, want)
	}
	for step := 101; step <= 125; step++ {
		clk.Advance(50 * time.Millisecond)
		pb.BatchEnd(step, Logs{})
	}
	out = buf.String()
	want = " 125/1875 [=>............................] - ETA: 1:27"
	if last := out[strings.LastIndex(out, "\r")+1:]; last != want {
		t.Errorf("step 125: got %q want %q", last, want)
	}
}

func TestBarShapes(t *testing.T) {
	cases := []struct {
		current, target int
		want            string
	}{
		{0, 10, " 0/10 [..............................]"},
		{1, 30, " 1/30 [>.............................]"},
		{2, 30, " 2/30 [=>............................]"},
		{29, 30, "29/30 [============================>.]"},
		{30, 30, "30/30 [==============================]"},
		{1, 1, "1/1 [==============================]"},
		{999, 1000, " 999/1000 [============================>.]"},
		{100, 1875, " 100/1875 [>.............................]"},
		{125, 1875, " 125/1875 [=>............................]"},
		{3, 0, "      3/Unknown"},
	}
	for _, c := range cases {
		b := &ProgressBar{target: c.target}
		if got := b.bar(c.current); got != c.want {
			t.Errorf("bar(%d/%d) = %q, want %q", c.current, c.target, got, c.want)
		}
	}
}

func TestETAForms(t *testing.T) {
	cases := []struct {
		eta  float64
		want string
	}{
		{0, "0s"},
		{5.9, "5s"},
		{60, "60s"},
		{65.4, "1:05"},
		{3600, "60:00"},
		{3665.7, "1:01:05"},
		{90061, "25:01:01"},
	}
	for _, c := range cases {
		if got := formatETA(c.eta); got != c.want {
			t.Errorf("formatETA(%v) = %q, want %q", c.eta, got, c.want)
		}
	}

	// Through the bar: 1 step done out of 11, at 0.5 s, 6.5 s and 366.5 s.
	for _, c := range []struct {
		first time.Duration
		want  string
	}{
		{500 * time.Millisecond, " 1/11 [=>............................] - ETA: 5s"},
		{6500 * time.Millisecond, " 1/11 [=>............................] - ETA: 1:05"},
		{366500 * time.Millisecond, " 1/11 [=>............................] - ETA: 1:01:05"},
	} {
		pb, buf, clk := newTestBar(true)
		pb.TrainBegin(Params{Steps: 11, Verbose: 1}, &Control{})
		pb.EpochBegin(0)
		clk.Advance(c.first)
		pb.BatchEnd(1, Logs{})
		if got := strings.TrimPrefix(buf.String(), "\r"); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
}

func TestFormatTime(t *testing.T) {
	cases := []struct {
		t    float64
		want string
	}{
		{0, " 0s/step"},
		{1, " 1s/step"},
		{2.5, " 2s/step"},
		{3.5, " 4s/step"},
		{0.9996, " 1000ms/step"},
		{0.002, " 2ms/step"},
		{0.001, " 1ms/step"},
		{0.000946, " 946us/step"},
		{0.0000005, " 0us/step"},
	}
	for _, c := range cases {
		if got := formatTime(c.t, "step"); got != c.want {
			t.Errorf("formatTime(%v) = %q, want %q", c.t, got, c.want)
		}
	}
}

func TestFormatValue(t *testing.T) {
	cases := []struct {
		v    float64
		want string
	}{
		{f32(0.000123), "1.2300e-04"},
		{f32(0.000123456), "1.2346e-04"},
		{f32(0.2950), "0.2950"},
		{f32(1234.5678), "1234.5677"}, // float32 value, printed via float64
		{315.46960449, "315.4696"},
		{0.001, "1.0000e-03"}, // not > 1e-3
		{0.0010001, "0.0010"},
		{-0.5, "-0.5000"},
		{-0.0001, "-1.0000e-04"},
		{0, "0.0000e+00"},
		{math.Copysign(0, -1), "-0.0000e+00"},
		{1e-100, "1.0000e-100"},
		{math.NaN(), "nan"},
		{math.Inf(1), "inf"},
		{math.Inf(-1), "-inf"},
		{0.00012345, "1.2345e-04"}, // exact binary value is below the tie
		{2.5e-5, "2.5000e-05"},
	}
	for _, c := range cases {
		if got := FormatValue(c.v); got != c.want {
			t.Errorf("FormatValue(%v) = %q, want %q", c.v, got, c.want)
		}
	}
}

func TestVerbose2Line(t *testing.T) {
	for _, tty := range []bool{false, true} {
		pb, buf, clk := newTestBar(tty)
		pb.TrainBegin(Params{Epochs: 3, Steps: 1875, Verbose: 2}, &Control{})
		pb.EpochBegin(1)
		for step := 1; step <= 1875; step++ {
			pb.BatchEnd(step, logsOf("loss", 9.0)) // not printed in verbose 2
		}
		clk.Advance(2600 * time.Millisecond)
		pb.EpochEnd(1, logsOf("loss", 0.2950, "accuracy", 0.9160, "neg", -0.5))
		// Verbose 2 tests v > 1e-3 rather than |v| > 1e-3, so negative values
		// come out in %.4e.
		want := "Epoch 2/3\n1875/1875 - 3s - loss: 0.2950 - accuracy: 0.9160 - neg: -5.0000e-01 - 3s/epoch - 1ms/step\n"
		if got := buf.String(); got != want {
			t.Errorf("tty=%v: got %q\nwant %q", tty, got, want)
		}
	}
}

func TestVerbose2SubSecondEpoch(t *testing.T) {
	pb, buf, clk := newTestBar(false)
	pb.TrainBegin(Params{Epochs: 1, Steps: 5, Verbose: 2}, &Control{})
	pb.EpochBegin(0)
	clk.Advance(12 * time.Millisecond)
	pb.EpochEnd(0, logsOf("loss", 0.5))
	want := "5/5 - 0s - loss: 0.5000 - 12ms/epoch - 2ms/step\n"
	if got := buf.String(); got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func TestHeaders(t *testing.T) {
	cases := []struct {
		p    Params
		want string
	}{
		{Params{Epochs: 5, InitialEpoch: 2, Steps: 1, Verbose: 1}, "Epoch 3/5\n1/1 [==============================] - 0s 0s/step\nEpoch 4/5\n1/1 [==============================] - 0s 0s/step\nEpoch 5/5\n1/1 [==============================] - 0s 0s/step\n"},
		{Params{Epochs: 1, Steps: 1, Verbose: 1}, "1/1 [==============================] - 0s 0s/step\n"},
		{Params{Epochs: 2, InitialEpoch: 1, Steps: 1, Verbose: 2}, "Epoch 2/2\n1/1 - 0s - 0s/epoch - 0s/step\n"},
		{Params{Epochs: 3, Steps: 1, Verbose: 0}, ""},
	}
	for _, c := range cases {
		pb, buf, _ := newTestBar(false)
		pb.TrainBegin(c.p, &Control{})
		for e := c.p.InitialEpoch; e < c.p.Epochs; e++ {
			pb.EpochBegin(e)
			pb.BatchEnd(1, Logs{})
			pb.EpochEnd(e, Logs{})
		}
		pb.TrainEnd(Logs{})
		if got := buf.String(); got != c.want {
			t.Errorf("%+v: got %q\nwant %q", c.p, got, c.want)
		}
	}
}

func TestVerboseZeroPrintsNothing(t *testing.T) {
	pb, buf, clk := newTestBar(true)
	pb.TrainBegin(Params{Epochs: 2, Steps: 2, Verbose: 0}, &Control{})
	for e := 0; e < 2; e++ {
		pb.EpochBegin(e)
		for s := 1; s <= 2; s++ {
			clk.Advance(time.Second)
			pb.BatchEnd(s, logsOf("loss", 1.0))
		}
		pb.EpochEnd(e, logsOf("loss", 1.0))
	}
	if buf.Len() != 0 {
		t.Errorf("verbose 0 printed %q", buf.String())
	}
}

func TestClockRestartsEachEpoch(t *testing.T) {
	pb, buf, clk := newTestBar(false)
	pb.TrainBegin(Params{Epochs: 2, Steps: 2, Verbose: 1}, &Control{})
	for e := 0; e < 2; e++ {
		clk.Advance(time.Hour) // time between epochs is not counted
		pb.EpochBegin(e)
		for s := 1; s <= 2; s++ {
			clk.Advance(3 * time.Second)
			pb.BatchEnd(s, Logs{})
		}
		pb.EpochEnd(e, Logs{})
	}
	want := "Epoch 1/2\n2/2 [==============================] - 6s 3s/step\nEpoch 2/2\n2/2 [==============================] - 6s 3s/step\n"
	if got := buf.String(); got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func TestUnknownSteps(t *testing.T) {
	pb, buf, clk := newTestBar(true)
	pb.TrainBegin(Params{Epochs: 1, Steps: 0, Verbose: 1}, &Control{})
	pb.EpochBegin(0)
	for s := 1; s <= 3; s++ {
		clk.Advance(100 * time.Millisecond)
		pb.BatchEnd(s, logsOf("loss", 0.5))
	}
	pb.EpochEnd(0, logsOf("loss", 0.5))
	want := "\r      1/Unknown - 0s 100ms/step - loss: 0.5000" +
		bs(46) + "\r      2/Unknown - 0s 100ms/step - loss: 0.5000" +
		bs(46) + "\r      3/Unknown - 0s 100ms/step - loss: 0.5000" +
		bs(46) + "\r3/3 [==============================] - 0s 100ms/step - loss: 0.5000\n"
	if got := buf.String(); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestFlushesWriter(t *testing.T) {
	w := &flushCounter{}
	pb := NewProgressBar(w, false)
	clk := newFakeClock()
	pb.Now = clk.Now
	pb.TrainBegin(Params{Epochs: 2, Steps: 1, Verbose: 1}, &Control{})
	pb.EpochBegin(0)
	pb.BatchEnd(1, Logs{})
	pb.EpochEnd(0, Logs{})
	if w.flushes != 2 { // header and final line
		t.Errorf("flushes = %d, want 2", w.flushes)
	}
}

type flushCounter struct {
	bytes.Buffer
	flushes int
}

func (f *flushCounter) Flush() error { f.flushes++; return nil }

// Fit's BatchEnd logs end with BatchLoss; the bar shows only the means,
// in the redraws and in the final line.
func TestBarLeavesOutBatchLoss(t *testing.T) {
	pb, buf, clk := newTestBar(true)
	pb.TrainBegin(Params{Epochs: 1, Steps: 2, Verbose: 1}, &Control{})
	pb.EpochBegin(0)
	for step := 1; step <= 2; step++ {
		clk.Advance(time.Second)
		pb.BatchEnd(step, logsOf("loss", 0.5, "accuracy", 0.75, BatchLoss, 0.25))
	}
	pb.EpochEnd(0, logsOf("loss", 0.5, "accuracy", 0.75))
	if out := buf.String(); strings.Contains(out, BatchLoss) || !strings.Contains(out, "loss: 0.5000 - accuracy: 0.7500\n") {
		t.Errorf("bar output %q", out)
	}
}
