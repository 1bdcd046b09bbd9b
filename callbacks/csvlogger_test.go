package callbacks

import (
	"bufio"
	"bytes"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// Expected outputs are what Keras 2.15's CSVLogger (Python's csv module,
// "excel" dialect) writes for the same logs.

func runCSV(l *CSVLogger, epochs ...Logs) {
	c := &Control{}
	l.TrainBegin(Params{Epochs: len(epochs)}, c)
	for i, logs := range epochs {
		l.EpochBegin(i)
		l.EpochEnd(i, logs)
	}
	l.TrainEnd(Logs{})
}

func TestCSVLoggerFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.csv")
	l := NewCSVLogger(path, false)
	runCSV(l,
		logsOf("loss", 0.295, "accuracy", 0.916, "val_loss", 0.158, "val_accuracy", 0.953),
		Logs{Names: []string{"loss", "accuracy", "val_loss", "val_accuracy"},
			Values: []float64{f32(1e-5), 1, math.NaN(), math.Inf(1)}},
	)
	if err := l.Err(); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	want := "epoch,accuracy,loss,val_accuracy,val_loss\r\n" +
		"0,0.9160000085830688,0.29499998688697815,0.953000009059906,0.15800000727176666\r\n" +
		"1,1.0,9.999999747378752e-06,inf,nan\r\n"
	if string(got) != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}

	// A new run without Append truncates the file and writes a header again.
	runCSV(l, logsOf("loss", 0.5, "accuracy", 0.25, "val_loss", 0.125, "val_accuracy", 0.75))
	got, _ = os.ReadFile(path)
	want = "epoch,accuracy,loss,val_accuracy,val_loss\r\n0,0.25,0.5,0.75,0.125\r\n"
	if string(got) != want {
		t.Errorf("second run: got %q\nwant %q", got, want)
	}
}

func TestCSVLoggerNoValidationAddsValColumns(t *testing.T) {
	var buf bytes.Buffer
	l := &CSVLogger{W: &buf}
	runCSV(l,
		logsOf("loss", 0.5, "mae", 0.25),
		Logs{Names: []string{"loss", "mae"}, Values: []float64{f32(0.4), 12345678901234567}},
	)
	want := "epoch,loss,mae,val_loss,val_mae\r\n" +
		"0,0.5,0.25,NA,NA\r\n" +
		"1,0.4000000059604645,1.2345678901234568e+16,NA,NA\r\n"
	if got := buf.String(); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestCSVLoggerQuotingAndSeparator(t *testing.T) {
	var buf bytes.Buffer
	runCSV(&CSVLogger{W: &buf}, Logs{Names: []string{"a,b", `q"x`, "val_z"}, Values: []float64{1, 2, 3}})
	if got, want := buf.String(), "epoch,\"a,b\",\"q\"\"x\",val_z\r\n0,1.0,2.0,3.0\r\n"; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	buf.Reset()
	runCSV(&CSVLogger{W: &buf, Separator: ';'}, Logs{Names: []string{"loss", "val_loss"}, Values: []float64{0.5, 0.25}})
	if got, want := buf.String(), "epoch;loss;val_loss\r\n0;0.5;0.25\r\n"; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestCSVLoggerAppend(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.csv")
	runCSV(NewCSVLogger(path, true), logsOf("loss", 0.5, "val_loss", 0.25))
	// A resumed run appends rows without a second header; its columns are
	// those of its own first epoch.
	l := NewCSVLogger(path, true)
	l.TrainBegin(Params{Epochs: 3, InitialEpoch: 1}, &Control{})
	l.EpochEnd(1, logsOf("loss", 0.25, "val_loss", 0.125))
	l.EpochEnd(2, logsOf("loss", 0.125))
	l.TrainEnd(Logs{})
	if err := l.Err(); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	want := "epoch,loss,val_loss\r\n0,0.5,0.25\r\n1,0.25,0.125\r\n2,0.125,NA\r\n"
	if string(got) != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}

	// Appending to an empty file writes the header.
	empty := filepath.Join(t.TempDir(), "empty.csv")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	runCSV(NewCSVLogger(empty, true), logsOf("loss", 0.5, "val_loss", 0.25))
	got, _ = os.ReadFile(empty)
	if want := "epoch,loss,val_loss\r\n0,0.5,0.25\r\n"; string(got) != want {
		t.Errorf("empty file: got %q\nwant %q", got, want)
	}
}

func TestCSVLoggerRowsReachFileEachEpoch(t *testing.T) {
	// A run killed before TrainEnd keeps its finished epochs.
	path := filepath.Join(t.TempDir(), "log.csv")
	l := NewCSVLogger(path, false)
	l.TrainBegin(Params{Epochs: 5}, &Control{})
	l.EpochEnd(0, logsOf("loss", 0.5, "val_loss", 0.25))
	got, _ := os.ReadFile(path)
	if want := "epoch,loss,val_loss\r\n0,0.5,0.25\r\n"; string(got) != want {
		t.Errorf("after epoch 0: got %q\nwant %q", got, want)
	}
	l.EpochEnd(1, logsOf("loss", 0.25, "val_loss", 0.125))
	got, _ = os.ReadFile(path)
	if want := "epoch,loss,val_loss\r\n0,0.5,0.25\r\n1,0.25,0.125\r\n"; string(got) != want {
		t.Errorf("after epoch 1: got %q\nwant %q", got, want)
	}
	l.TrainEnd(Logs{})
}

func TestCSVLoggerWriterFlushAndHeaderOnce(t *testing.T) {
	var buf bytes.Buffer
	bw := bufio.NewWriter(&buf)
	l := &CSVLogger{W: bw}
	runCSV(l, logsOf("loss", 0.5, "val_loss", 0.25))
	if got, want := buf.String(), "epoch,loss,val_loss\r\n0,0.5,0.25\r\n"; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	runCSV(l, logsOf("loss", 0.25, "val_loss", 0.125))
	if got, want := buf.String(), "epoch,loss,val_loss\r\n0,0.5,0.25\r\n0,0.25,0.125\r\n"; got != want {
		t.Errorf("second run: got %q\nwant %q", got, want)
	}
}

func TestCSVLoggerErrors(t *testing.T) {
	l := NewCSVLogger(filepath.Join(t.TempDir(), "missing", "log.csv"), false)
	runCSV(l, logsOf("loss", 0.5))
	if l.Err() == nil {
		t.Error("want an error for an unwritable path")
	}
}

func TestPyRepr(t *testing.T) {
	cases := []struct {
		v    float64
		want string
	}{
		{0, "0.0"},
		{math.Copysign(0, -1), "-0.0"},
		{1, "1.0"},
		{0.1, "0.1"},
		{0.0001, "0.0001"},
		{0.00001, "1e-05"},
		{1e16, "1e+16"},
		{9999999999999998, "9999999999999998.0"},
		{123456.789, "123456.789"},
		{1.5e300, "1.5e+300"},
		{5e-324, "5e-324"},
		{f32(0.295), "0.29499998688697815"},
		{math.NaN(), "nan"},
		{math.Inf(-1), "-inf"},
	}
	for _, c := range cases {
		if got := pyRepr(c.v); got != c.want {
			t.Errorf("pyRepr(%v) = %q, want %q", c.v, got, c.want)
		}
	}
}
