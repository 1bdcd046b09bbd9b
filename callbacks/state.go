package callbacks

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strconv"
)

// Float is a float64 that JSON keeps exactly, NaN and ±Inf included: it is
// written as a string (strconv's shortest round-trip form).
type Float float64

// MarshalJSON writes f as a string.
func (f Float) MarshalJSON() ([]byte, error) {
	return json.Marshal(strconv.FormatFloat(float64(f), 'g', -1, 64))
}

// UnmarshalJSON reads a string written by MarshalJSON.
func (f *Float) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return err
	}
	*f = Float(v)
	return nil
}

// Float32s is a []float32 that JSON keeps exactly: base64 of the values'
// little-endian bits.
type Float32s []float32

// MarshalJSON writes the values as base64.
func (v Float32s) MarshalJSON() ([]byte, error) {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return json.Marshal(base64.StdEncoding.EncodeToString(b))
}

// UnmarshalJSON reads values written by MarshalJSON.
func (v *Float32s) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b)%4 != 0 {
		return fmt.Errorf("bad float32 data")
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	*v = out
	return nil
}

type earlyStoppingState struct {
	Best         Float
	BestEpoch    int
	Wait         int
	StoppedEpoch int
	BestWeights  [][]float32 `json:"-"`
	Weights      []Float32s  `json:",omitempty"`
}

// MarshalState returns the best value, its epoch, the wait and, with
// RestoreBestWeights, the best weights.
func (e *EarlyStopping) MarshalState() ([]byte, error) {
	s := earlyStoppingState{Best: Float(e.Best), BestEpoch: e.BestEpoch, Wait: e.Wait, StoppedEpoch: e.StoppedEpoch}
	for _, w := range e.best {
		s.Weights = append(s.Weights, w)
	}
	return json.Marshal(s)
}

// UnmarshalState sets the state TrainBegin resumes from.
func (e *EarlyStopping) UnmarshalState(b []byte) error {
	var s earlyStoppingState
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("EarlyStopping state: %v", err)
	}
	for _, w := range s.Weights {
		s.BestWeights = append(s.BestWeights, w)
	}
	e.resume = &s
	return nil
}

type csvLoggerState struct {
	Keys        []string
	WroteHeader bool
	// Size is the file's size after the last row written (the position a
	// resumed run truncates to and appends at).
	Size int64
}

// MarshalState returns the columns, whether the header was written and
// the file's size.
func (l *CSVLogger) MarshalState() ([]byte, error) {
	s := csvLoggerState{Keys: l.keys, WroteHeader: l.wroteHeader}
	if l.file != nil {
		st, err := l.file.Stat()
		if err != nil {
			return nil, fmt.Errorf("CSVLogger %s: %v", l.Path, err)
		}
		s.Size = st.Size()
	}
	return json.Marshal(s)
}

// UnmarshalState sets the state TrainBegin resumes from: the file is
// opened without truncating, cut back to the size it had at the backup
// (rows of epochs after it are written again), and appended to.
func (l *CSVLogger) UnmarshalState(b []byte) error {
	var s csvLoggerState
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("CSVLogger state: %v", err)
	}
	l.resume = &s
	return nil
}

func (l *CSVLogger) resumeFile(r *csvLoggerState) {
	l.keys, l.wroteHeader = r.Keys, r.WroteHeader
	f, err := os.OpenFile(l.Path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o666)
	if err != nil {
		l.setErr(err)
		l.out = nil
		return
	}
	st, err := f.Stat()
	if err == nil && st.Size() < r.Size {
		err = fmt.Errorf("CSVLogger: %s has %d bytes, but the backup resumed from recorded %d; the file was changed since: the rows of the resumed epochs are appended to it anyway", l.Path, st.Size(), r.Size)
		l.setErr(err)
	} else if err == nil {
		err = f.Truncate(r.Size)
	}
	if err != nil {
		l.setErr(err)
	}
	l.file = f
	l.out = f
}

type checkpointState struct {
	Best  Float
	Saved []string
}

// MarshalState returns the best value and the files saved.
func (c *ModelCheckpoint) MarshalState() ([]byte, error) {
	return json.Marshal(checkpointState{Best: Float(c.Best), Saved: c.Saved})
}

// UnmarshalState sets the state TrainBegin resumes from.
func (c *ModelCheckpoint) UnmarshalState(b []byte) error {
	var s checkpointState
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("ModelCheckpoint state: %v", err)
	}
	c.resume = &s
	return nil
}
