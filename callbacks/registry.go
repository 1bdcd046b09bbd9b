package callbacks

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/kiln-ml/kiln/schema"
)

// Spec describes a callback that an experiment file's fit.callbacks can
// name, with Keras' class name and arguments. Each callback registers its
// Spec here; nothing else lists callback types or their arguments.
type Spec struct {
	// Class is Keras' class name, e.g. "EarlyStopping".
	Class string
	// Doc is one line on what the callback does.
	Doc string
	// Args are the arguments, under Keras' names.
	Args []schema.Arg
	// New makes a fresh callback from checked arguments.
	New func(a schema.Values) (Callback, error)
	// WritesFiles is true for callbacks that write files, which a sweep's
	// parallel runs would overwrite and explain's probes must not write.
	WritesFiles bool
}

// LogsChecker is a callback that can tell before training whether the
// run's log names give it what it needs (e.g. a checkpoint path's fields).
type LogsChecker interface {
	Callback
	// CheckLogs returns an error if logs (the names a run will log, with
	// placeholder values) do not serve the callback.
	CheckLogs(logs Logs) error
}

var registry = schema.NewRegistry[*Spec]("callbacks")

// Register adds a callback type. It panics on a duplicate or incomplete
// Spec (a programming error, met in init).
func Register(s Spec) {
	if s.Class == "" || s.New == nil {
		panic("callbacks.Register: a Spec needs Class and New")
	}
	schema.Check(s.Class, s.Args)
	registry.Add(s.Class, &s)
}

// Lookup returns the Spec of a callback class name.
func Lookup(class string) (*Spec, bool) { return registry.Get(class) }

// Classes returns the registered callback class names, sorted.
func Classes() []string { return registry.Names() }

// Make checks raw (arguments as an experiment file gives them) and makes a
// fresh callback.
func (s *Spec) Make(raw map[string]any) (Callback, error) {
	a, err := schema.Parse(s.Class, s.Args, raw)
	if err != nil {
		return nil, err
	}
	return s.New(a)
}

var modeArg = schema.Arg{Name: "mode", Kind: schema.String, Default: "auto", Doc: "auto, min or max", Valid: schema.OneOf("auto", "min", "max")}

func init() {
	Register(Spec{
		Class: "EarlyStopping",
		Doc:   "stops training when a monitored log value stops improving",
		Args: []schema.Arg{
			{Name: "monitor", Kind: schema.String, Default: "val_loss", Doc: "a log name, e.g. val_loss"},
			{Name: "min_delta", Kind: schema.Float, Default: 0.0, Doc: "a number"},
			{Name: "patience", Kind: schema.Int, Default: 0, Doc: "a non-negative integer", Valid: schema.NonNegative},
			modeArg,
			{Name: "baseline", Kind: schema.OptionalFloat, Doc: "a number or null"},
			{Name: "restore_best_weights", Kind: schema.Bool, Default: false, Doc: "true or false"},
			{Name: "start_from_epoch", Kind: schema.Int, Default: 0, Doc: "a non-negative integer", Valid: schema.NonNegative},
			{Name: "verbose", Kind: schema.Int, Default: 0, Doc: "a non-negative integer", Valid: schema.NonNegative},
		},
		New: func(a schema.Values) (Callback, error) {
			return &EarlyStopping{Monitor: a.String("monitor"), MinDelta: a.Float("min_delta"), Patience: a.Int("patience"),
				Mode: a.String("mode"), Baseline: a.OptionalFloat("baseline"), RestoreBestWeights: a.Bool("restore_best_weights"),
				StartFromEpoch: a.Int("start_from_epoch"), Verbose: a.Int("verbose")}, nil
		},
	})
	Register(Spec{
		Class: "ModelCheckpoint",
		Doc:   "saves the weights (safetensors) at the end of epochs, or only the best",
		Args: []schema.Arg{
			{Name: "filepath", Kind: schema.String, Required: true, Doc: "a path ending in .safetensors, e.g. best.safetensors"},
			{Name: "monitor", Kind: schema.String, Default: "val_loss", Doc: "a log name, e.g. val_loss"},
			{Name: "verbose", Kind: schema.Int, Default: 0, Doc: "a non-negative integer", Valid: schema.NonNegative},
			{Name: "save_best_only", Kind: schema.Bool, Default: false, Doc: "true or false"},
			// kiln checkpoints the weights either way (Keras' default,
			// false, saves the whole model).
			{Name: "save_weights_only", Kind: schema.Bool, Default: false, Doc: "true or false"},
			modeArg,
			{Name: "save_freq", Kind: schema.String, Default: "epoch", Doc: "epoch (kiln saves at the end of epochs)", Valid: schema.OneOf("epoch")},
		},
		New: func(a schema.Values) (Callback, error) {
			path := a.String("filepath")
			if !strings.HasSuffix(path, ".safetensors") {
				return nil, fmt.Errorf("filepath %q: kiln checkpoints the weights as safetensors; give a path ending in .safetensors (fields like {epoch:02d} and {val_loss:.2f} work), e.g. filepath: best.safetensors", path)
			}
			return &ModelCheckpoint{Path: path, Monitor: a.String("monitor"), SaveBestOnly: a.Bool("save_best_only"),
				Mode: a.String("mode"), Verbose: a.Int("verbose")}, nil
		},
		WritesFiles: true,
	})
	Register(Spec{
		Class: "CSVLogger",
		Doc:   "writes each epoch's logs as a row of a CSV file",
		Args: []schema.Arg{
			{Name: "filename", Kind: schema.String, Required: true, Doc: "a file name, e.g. training.csv", Valid: func(v any) bool { return v != "" }},
			{Name: "separator", Kind: schema.String, Default: ",", Doc: "one character", Valid: func(v any) bool { return utf8.RuneCountInString(v.(string)) == 1 }},
			{Name: "append", Kind: schema.Bool, Default: false, Doc: "true or false"},
		},
		New: func(a schema.Values) (Callback, error) {
			l := NewCSVLogger(a.String("filename"), a.Bool("append"))
			l.Separator, _ = utf8.DecodeRuneInString(a.String("separator"))
			return l, nil
		},
		WritesFiles: true,
	})
	Register(Spec{
		Class: "BackupAndRestore",
		Doc:   "backs the whole training state up and resumes from it after an interruption, bit for bit",
		Args: []schema.Arg{
			{Name: "backup_dir", Kind: schema.String, Required: true, Doc: "a directory, e.g. backup", Valid: func(v any) bool { return v != "" }},
			{Name: "save_freq", Kind: schema.StringOrInt, Default: "epoch", Doc: "epoch or a positive number of batches", Valid: func(v any) bool {
				n, isInt := v.(int)
				return v == "epoch" || isInt && n > 0
			}},
			{Name: "delete_checkpoint", Kind: schema.Bool, Default: true, Doc: "true or false"},
		},
		New: func(a schema.Values) (Callback, error) {
			b := NewBackupAndRestore(a.String("backup_dir"))
			if n, ok := a.Value("save_freq").(int); ok {
				b.SaveFreq = n
			}
			b.DeleteCheckpoint = a.Bool("delete_checkpoint")
			return b, nil
		},
		WritesFiles: true,
	})
	Register(Spec{
		Class: "TerminateOnNaN",
		Doc:   "stops training when the loss becomes NaN or infinite",
		New:   func(schema.Values) (Callback, error) { return &TerminateOnNaN{}, nil },
	})
}

// CheckLogs checks that every field of the checkpoint path names a value
// the run logs, so that a run never trains without its checkpoints.
func (c *ModelCheckpoint) CheckLogs(logs Logs) error {
	_, err := FormatPath(c.Path, 0, logs)
	return err
}
