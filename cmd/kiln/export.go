package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/kiln-ml/kiln/export/onnx"
)

// cmdExport writes a trained model in a format other tools load (ONNX).
func cmdExport(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	var sets setFlags
	fs.Var(&sets, "set", "override a setting of the experiment: dotted.path=value (repeatable)")
	weights := fs.String("weights", "", "weights (.safetensors) for an experiment file")
	out := fs.String("onnx", "", "write the model as ONNX to this file (required)")
	opset := fs.Int("opset", onnx.DefaultOpset, fmt.Sprintf("ONNX operator set, %d to %d", onnx.MinOpset, onnx.MaxOpset))
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: kiln export MODEL --onnx model.onnx [flags]

Writes the trained model as ONNX for onnxruntime, Netron and other tools. The
graph's input "input" takes the data as the experiment reads it, before
data.scale (e.g. MNIST's raw 0..255 pixels, as float32); its output "output"
is the model's output (after the last activation). MODEL is a directory
written by 'kiln fit --save DIR' (which also holds model.onnx), or an
experiment file with --weights.

Flags:
`)
		fs.PrintDefaults()
	}
	pos, err := parse(fs, args, stderr)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("export needs one model (a 'kiln fit --save' directory or an experiment file), got %d arguments", len(pos))
	}
	if *out == "" {
		return usageErr("export needs --onnx FILE, the file to write")
	}
	if *opset < onnx.MinOpset || *opset > onnx.MaxOpset {
		return usageErr("--opset %d: kiln writes operator sets %d to %d", *opset, onnx.MinOpset, onnx.MaxOpset)
	}
	s, err := openModel(pos[0], *weights, sets, stderr)
	if err != nil {
		return err
	}
	if err := s.ExportONNX(*out, *opset); err != nil {
		return &exitError{2, err}
	}
	fmt.Fprintf(stderr, "kiln export: wrote %s (ONNX opset %d)\n", *out, *opset)
	return nil
}
