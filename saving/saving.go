// Package saving writes and reads kiln's saved-model folder, the folder that
// `kiln fit --save DIR` writes, like Keras' keras.saving.save_model and
// load_model. One call loads a folder into a compiled model with its
// trained weights, ready to predict, evaluate or train further:
//
//	s, err := saving.Load("model", nil)
//	p, err := s.Predict(ctx, x, kiln.EvaluateOptions{})
//
// # The folder
//
// A saved model is a folder of five files:
//
//	experiment.yaml    the experiment (config.Experiment.Marshal), data paths
//	                   made absolute: the model, compile and fit settings
//	                   and where the data is. Load builds the model from it.
//	model.safetensors  the weights (kiln.Sequential.SaveWeights): float32
//	                   tensors named like Keras' variables ("dense/kernel").
//	config.json        the Keras-style model config (kiln.Sequential.Config),
//	                   for other tools; config.KerasModel reads it back.
//	model.onnx         the model as ONNX (Saved.ExportONNX), for onnxruntime
//	                   and Netron; left out when the model has no ONNX form.
//	metadata.json      {"format_version": 1, "kiln_version": "..."}
//
// Load needs experiment.yaml and model.safetensors. A folder without
// metadata.json is format version 1 (kiln wrote none before versioning it);
// a folder of a newer format than FormatVersion is refused with a message
// that says so, never half read.
//
// Save writes each file atomically (a temporary file renamed into place), so
// a crash or a full disk never leaves a half-written file in the folder. The
// folder as a whole is not replaced at once: a crash while Save overwrites
// an earlier save can leave files of both (Load refuses weights whose shapes
// do not fit the experiment); save again.
//
// # Inputs
//
// A saved model takes its data as the experiment reads it, before
// data.scale: [Saved.Predict] applies the scale as training did, and the
// ONNX graph starts with the same multiplication, so the folder's three
// consumers (Go, the kiln command, ONNX tools) take the same raw input, such
// as MNIST's 0..255 pixels.
package saving

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/config"
	"github.com/kiln-ml/kiln/data"
	"github.com/kiln-ml/kiln/export/onnx"
	"github.com/kiln-ml/kiln/internal/atomicfile"
	"github.com/kiln-ml/kiln/tensor"
)

// The files of a saved-model folder.
const (
	// ExperimentFile holds the experiment; Load builds the model from it.
	ExperimentFile = "experiment.yaml"
	// WeightsFile holds the weights as safetensors.
	WeightsFile = "model.safetensors"
	// ConfigFile holds the Keras-style model config, for other tools.
	ConfigFile = "config.json"
	// ONNXFile holds the model as ONNX, for other tools.
	ONNXFile = "model.onnx"
	// MetadataFile holds the format version and the kiln version that
	// saved the folder.
	MetadataFile = "metadata.json"
)

// FormatVersion is the version of the folder format this package writes, and
// the newest it reads.
const FormatVersion = 1

// Metadata is the content of metadata.json.
type Metadata struct {
	// FormatVersion is the folder's format version, 1 to FormatVersion.
	FormatVersion int `json:"format_version"`
	// KilnVersion is the version of the kiln module that saved the folder
	// ("devel" for a build outside a module version, "" if unknown).
	KilnVersion string `json:"kiln_version"`
	// SHA256 holds the SHA-256 (hex) of the files Load must not take
	// damaged: model.safetensors and config.json. experiment.yaml is left
	// out on purpose: it may be edited (e.g. to move the data). Folders
	// saved before kiln wrote it have none.
	SHA256 map[string]string `json:"sha256,omitempty"`
	// Classes are the class names of labels read as strings (a CSV label
	// column of names), index = class, so that a prediction's argmax names
	// its class without the training data; nil for numeric labels.
	Classes []string `json:"classes,omitempty"`
}

// Options configure Save. The zero value (or nil) is the default.
type Options struct {
	// Warnings receives a line when the model has no ONNX form (Save then
	// leaves model.onnx out); nil discards it.
	Warnings io.Writer
	// Classes are the class names of the labels (config.Run.Classes),
	// saved in metadata.json; nil for numeric labels.
	Classes []string
}

// Saved is a model loaded from a saved-model folder: the compiled model with
// its trained weights, and the experiment it was trained by.
type Saved struct {
	// Dir is the folder the model was loaded from.
	Dir string
	// Model is the compiled model, with the saved weights.
	Model *kiln.Sequential
	// Experiment is the saved experiment (with LoadOptions.Overrides
	// applied); its data section says how inputs are scaled and where the
	// data is.
	Experiment *config.Experiment
	// Metadata is the folder's metadata.json (FormatVersion 1 and no
	// KilnVersion for a folder saved without one).
	Metadata Metadata
}

// LoadOptions configure Load. The zero value (or nil) is the default.
type LoadOptions struct {
	// Overrides change settings of the saved experiment before the model
	// is built, in the form of kiln's --set flag ("dotted.path=value", see
	// package config), e.g. "data.npz=/new/place/data.npz".
	Overrides []string
	// Weights, if not "", is the safetensors file to load instead of the
	// folder's model.safetensors (e.g. one a ModelCheckpoint callback wrote).
	Weights string
	// Warnings receives the compile warnings of the model (e.g. a sigmoid
	// output under categorical_crossentropy), as when it was trained; nil
	// discards them.
	Warnings io.Writer
}

// Save writes m, trained by the experiment e, as a saved-model folder dir,
// creating dir if needed and replacing the files of an earlier save. e must
// describe m's layers (m is normally what config.Build made of e and then
// trained): Save refuses a model its experiment does not describe, which
// could not be loaded back. e's relative data paths are written absolute,
// so that the folder can be loaded from anywhere. opts may be nil.
func Save(dir string, m *kiln.Sequential, e *config.Experiment, opts *Options) error {
	if opts == nil {
		opts = &Options{}
	}
	if m == nil || e == nil {
		return fmt.Errorf("save %s: the model and its experiment are both required", dir)
	}
	if err := describes(e, m); err != nil {
		return fmt.Errorf("save %s: %w", dir, err)
	}
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		return fmt.Errorf("save %s: it is a file, not a folder; choose another path for the saved model", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("save %s: %w", dir, err)
	}
	saved := *e
	saved.Data = absData(e)
	y, err := saved.Marshal()
	if err != nil {
		return fmt.Errorf("save %s: %s: %w", dir, ExperimentFile, err)
	}
	if err := atomicfile.Write(filepath.Join(dir, ExperimentFile), y); err != nil {
		return fmt.Errorf("save %s: %w", dir, err)
	}
	cfg, err := json.MarshalIndent(m.Config(), "", "  ")
	if err != nil {
		return fmt.Errorf("save %s: %s: %w", dir, ConfigFile, err)
	}
	if err := atomicfile.Write(filepath.Join(dir, ConfigFile), append(cfg, '\n')); err != nil {
		return fmt.Errorf("save %s: %w", dir, err)
	}
	if err := m.SaveWeights(filepath.Join(dir, WeightsFile)); err != nil {
		return fmt.Errorf("save %s: %w", dir, err)
	}
	// The ONNX file is a convenience for other tools: a model it cannot
	// express is still saved, without the model.onnx of an earlier save.
	s := &Saved{Dir: dir, Model: m, Experiment: e}
	if err := s.ExportONNX(filepath.Join(dir, ONNXFile), 0); err != nil {
		if opts.Warnings != nil {
			fmt.Fprintf(opts.Warnings, "kiln: warning: saved %s without %s: %v\n", dir, ONNXFile, err)
		}
		if err := os.Remove(filepath.Join(dir, ONNXFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("save %s: the model has no ONNX form, and the %s of an earlier save cannot be removed: %w", dir, ONNXFile, err)
		}
	}
	sums := map[string]string{}
	for _, f := range []string{WeightsFile, ConfigFile} {
		sum, err := fileSHA256(filepath.Join(dir, f))
		if err != nil {
			return fmt.Errorf("save %s: %w", dir, err)
		}
		sums[f] = sum
	}
	meta, err := json.MarshalIndent(Metadata{FormatVersion: FormatVersion, KilnVersion: kilnVersion(), SHA256: sums, Classes: opts.Classes}, "", "  ")
	if err != nil {
		return fmt.Errorf("save %s: %s: %w", dir, MetadataFile, err)
	}
	if err := atomicfile.Write(filepath.Join(dir, MetadataFile), append(meta, '\n')); err != nil {
		return fmt.Errorf("save %s: %w", dir, err)
	}
	return nil
}

// describes checks that e builds a model of m's layers, so that the weights
// Save writes load into the model Load builds.
func describes(e *config.Experiment, m *kiln.Sequential) error {
	built, err := config.BuildModel(e, io.Discard)
	if err != nil {
		return fmt.Errorf("the experiment does not build: %w", err)
	}
	layerConfigs := func(m *kiln.Sequential) string {
		b, _ := json.Marshal(m.Config()["config"].(map[string]any)["layers"])
		return string(b)
	}
	if got, want := layerConfigs(m), layerConfigs(built); got != want {
		return fmt.Errorf("the model is not the one its experiment describes (its layers are %s, the experiment's %s); pass the experiment the model was built from", got, want)
	}
	return nil
}

// absData returns e's data section with its paths made absolute.
func absData(e *config.Experiment) config.DataSpec {
	d := e.Data
	abs := func(p string) string {
		if p == "" {
			return ""
		}
		a, err := filepath.Abs(e.Resolve(p))
		if err != nil {
			return p
		}
		return a
	}
	d.MNISTDir, d.NPZ = abs(d.MNISTDir), abs(d.NPZ)
	if d.Train != nil {
		d.Train = &config.XYFiles{X: abs(d.Train.X), Y: abs(d.Train.Y)}
	}
	if d.Test != nil {
		d.Test = &config.XYFiles{X: abs(d.Test.X), Y: abs(d.Test.Y)}
	}
	if d.CSV != nil {
		c := *d.CSV
		c.Train, c.Test = abs(c.Train), abs(c.Test)
		d.CSV = &c
	}
	return d
}

// Load reads the saved-model folder dir: it builds and compiles the model
// its experiment.yaml describes and loads model.safetensors into it, like
// Keras' load_model. The data is not read (see [Saved.LoadData]). Every
// error names the folder or the file and says how to fix it. opts may be
// nil.
func Load(dir string, opts *LoadOptions) (*Saved, error) {
	if opts == nil {
		opts = &LoadOptions{}
	}
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, &pathError{fmt.Sprintf("%s: no such folder; pass a folder written by kiln fit --save DIR", dir), err}
	case err != nil:
		return nil, fmt.Errorf("%s: cannot read the saved model: %w", dir, err)
	case !st.IsDir():
		return nil, fmt.Errorf("%s is a file, not a saved-model folder; pass a folder written by kiln fit --save DIR", dir)
	}
	meta, err := readMetadata(dir)
	if err != nil {
		return nil, err
	}
	expPath := filepath.Join(dir, ExperimentFile)
	src, err := os.ReadFile(expPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &pathError{fmt.Sprintf("%s is not a kiln saved model: it has no %s; save one with kiln fit --save %s", dir, ExperimentFile, dir), err}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: cannot read the saved model: %w", dir, err)
	}
	e, err := config.Parse(src, expPath, opts.Overrides)
	if err != nil {
		return nil, err // a *config.Error naming the file, the line and the key
	}
	e.Path = expPath
	warn := opts.Warnings
	if warn == nil {
		warn = io.Discard
	}
	m, err := config.BuildModel(e, warn)
	if err != nil {
		return nil, err
	}
	weights := opts.Weights
	if weights == "" {
		weights = filepath.Join(dir, WeightsFile)
		if _, err := os.Stat(weights); errors.Is(err, fs.ErrNotExist) {
			return nil, &pathError{fmt.Sprintf("%s: the saved model has no %s (an interrupted save?); save it again with kiln fit --save %s", dir, WeightsFile, dir), err}
		}
	}
	if err := m.LoadWeights(weights); err != nil {
		hint := "save the model again with kiln fit --save " + dir
		switch {
		case len(opts.Overrides) > 0:
			hint = fmt.Sprintf("check the overrides %q: they may change the model the weights were saved from", opts.Overrides)
		case opts.Weights != "":
			hint = "pass weights saved from this model"
		}
		return nil, fmt.Errorf("%w; %s", err, hint)
	}
	if opts.Weights == "" {
		// Weights that load can still be damaged (a flipped bit changes a
		// value, not a shape): the checksums say.
		if err := verify(dir, meta, WeightsFile, ConfigFile); err != nil {
			return nil, err
		}
	}
	return &Saved{Dir: dir, Model: m, Experiment: e, Metadata: meta}, nil
}

// pathError is a message about a missing file or folder that wraps the
// fs.ErrNotExist error without repeating its text.
type pathError struct {
	msg string
	err error
}

func (e *pathError) Error() string { return e.msg }
func (e *pathError) Unwrap() error { return e.err }

// readMetadata reads dir's metadata.json; a folder without one is format 1.
func readMetadata(dir string) (Metadata, error) {
	path := filepath.Join(dir, MetadataFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Metadata{FormatVersion: 1}, nil
	}
	if err != nil {
		return Metadata{}, fmt.Errorf("%s: cannot read the saved model's metadata: %w", path, err)
	}
	return parseMetadata(b, path)
}

// parseMetadata reads the content of a metadata.json; name is its path, for
// messages. It accepts format versions 1 to FormatVersion and ignores keys
// it does not know (a later version of the same format may add some).
func parseMetadata(b []byte, name string) (Metadata, error) {
	var raw struct {
		FormatVersion *json.Number      `json:"format_version"`
		KilnVersion   *string           `json:"kiln_version"`
		SHA256        map[string]string `json:"sha256"`
		Classes       []string          `json:"classes"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return Metadata{}, fmt.Errorf("%s: not the metadata of a saved model (%v); the file is damaged: save the model again", name, err)
	}
	if raw.FormatVersion == nil {
		return Metadata{}, fmt.Errorf("%s: no format_version; the file is damaged: save the model again, or write {\"format_version\": 1}", name)
	}
	v, err := raw.FormatVersion.Int64()
	if err != nil || v < 1 {
		return Metadata{}, fmt.Errorf("%s: format_version is %s; it must be a whole number from 1: the file is damaged: save the model again", name, raw.FormatVersion)
	}
	var m Metadata
	if raw.KilnVersion != nil {
		m.KilnVersion = *raw.KilnVersion
	}
	if v > FormatVersion {
		by := ""
		if m.KilnVersion != "" {
			by = " by kiln " + m.KilnVersion
		}
		return Metadata{}, fmt.Errorf("%s: the model was saved%s in format version %d; this kiln (%s) reads versions up to %d: upgrade kiln (go get github.com/kiln-ml/kiln@latest, go install github.com/kiln-ml/kiln/cmd/kiln@latest)", name, by, v, kilnVersion(), FormatVersion)
	}
	m.FormatVersion = int(v)
	m.SHA256 = raw.SHA256
	m.Classes = raw.Classes
	return m, nil
}

// fileSHA256 is the hex SHA-256 of a file's bytes.
func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// verify checks files of dir against the checksums the metadata holds
// (a folder saved without them is taken as it is).
func verify(dir string, meta Metadata, files ...string) error {
	for _, f := range files {
		want, ok := meta.SHA256[f]
		if !ok {
			continue
		}
		got, err := fileSHA256(filepath.Join(dir, f))
		if err != nil {
			return fmt.Errorf("%s: cannot read %s: %w", dir, f, err)
		}
		if got != want {
			return fmt.Errorf("%s: %s is damaged (its SHA-256 is not the one %s recorded when it was saved); save the model again with kiln fit --save %s", dir, f, MetadataFile, dir)
		}
	}
	return nil
}

// Predict returns the model's outputs for x, given as the experiment reads
// its data: before data.scale, which Predict applies as training did (for
// MNIST, the raw 0..255 pixels). x is a batch of samples of the model's
// Input shape, one sample without the batch axis, or samples flattened to
// rows (2-D).
func (s *Saved) Predict(ctx context.Context, x *data.Array, opts kiln.EvaluateOptions) (*data.Array, error) {
	in := s.Model.InputShape()
	if slices.Equal(x.Shape, in) {
		x = x.Reshaped(append([]int{1}, in...)) // one sample without the batch axis
	} else if len(x.Shape) == 2 && len(in) > 1 && x.Shape[1] == tensor.Size(in) {
		x = x.Reshaped(append([]int{x.Rows()}, in...))
	} else if len(x.Shape) == len(in) && len(in) > 1 && in[len(in)-1] == 1 && slices.Equal(x.Shape[1:], in[:len(in)-1]) {
		// Grey images (N, 28, 28) for an Input (28, 28, 1), as fit takes them.
		x = x.Reshaped(append([]int{x.Rows()}, in...))
	}
	if sc := s.Experiment.Data.Scale; sc != 0 && sc != 1 {
		x = x.WithScale(sc)
	}
	return s.Model.Predict(ctx, x, opts)
}

// LoadData reads the experiment's data, training and test splits prepared as
// for training, and returns them with the loaded model (not a new one) as a
// config.Run: for Model.Evaluate on Run.Test, or to train further with
// Run.Fit.
func (s *Saved) LoadData() (*config.Run, error) {
	r, err := config.Build(s.Experiment, io.Discard)
	if err != nil {
		return nil, err
	}
	r.Model = s.Model
	return r, nil
}

// ExportONNX writes the model as ONNX to path, atomically, as Save writes
// model.onnx: the graph takes the data as the experiment reads it (data.scale
// is its first operation, see the package doc). opset is the ONNX operator
// set, onnx.MinOpset to onnx.MaxOpset, or 0 for onnx.DefaultOpset.
func (s *Saved) ExportONNX(path string, opset int) error {
	o := onnx.Options{Opset: opset, ProducerVersion: kilnVersion()}
	if sc := s.Experiment.Data.Scale; sc != 0 && sc != 1 {
		o.InputScale = float32(sc)
	}
	return onnx.Save(path, s.Model, o)
}

// kilnModule is the kiln module's path, to find its version in the build info.
const kilnModule = "github.com/kiln-ml/kiln"

// kilnVersion is the version of the kiln module in the running program (the
// kiln command, or a program that imports kiln), or "devel".
func kilnVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	mod := &bi.Main
	if mod.Path != kilnModule {
		mod = nil
		for _, d := range bi.Deps {
			if d.Path == kilnModule {
				mod = d
				break
			}
		}
	}
	if mod == nil {
		return "devel"
	}
	if mod.Replace != nil {
		mod = mod.Replace
	}
	if mod.Version == "" || mod.Version == "(devel)" {
		return "devel"
	}
	return mod.Version
}
