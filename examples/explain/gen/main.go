// Command gen writes the synthetic datasets of the kiln explain scenario
// suite (see package synth) as .npz files.
//
//	go run ./examples/explain/gen [-out examples/explain/data]
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/kiln-ml/kiln/examples/explain/synth"
)

func main() {
	out := flag.String("out", "examples/explain/data", "directory to write the .npz files into")
	flag.Parse()
	if err := synth.Write(*out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	for _, line := range synth.Describe() {
		fmt.Printf("%s/%s\n", *out, line)
	}
}
