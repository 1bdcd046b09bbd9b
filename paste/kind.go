package paste

import (
	"bytes"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
)

// The kinds of file Kind tells apart.
const (
	KindExperiment = "experiment" // a kiln experiment file (YAML or JSON)
	KindPython     = "python"     // a Python program
	KindQuestion   = "question"   // a pasted question: prose, code, logs
	KindNotebook   = "notebook"   // a Jupyter notebook
	KindKerasJSON  = "keras-json" // a Keras model.to_json() or TF.js model.json
)

func ext(name string) string { return strings.ToLower(filepath.Ext(name)) }

// experimentKeyRE matches the top-level keys of an experiment file.
var experimentKeyRE = regexp.MustCompile(`^(seed|data|model|compile|fit|callbacks|evaluate|explain|sweep):(\s|$)`)

// Kind says what a file is, from its extension and, where that does not
// settle it (.txt, .md, no extension), its content: one of KindExperiment,
// KindPython, KindQuestion, KindNotebook, KindKerasJSON. A file that could
// be more than one, or none, is an error saying what it looked like and
// how to say which it is.
func Kind(name string, text []byte) (string, error) {
	switch ext(name) {
	case ".yaml", ".yml":
		return KindExperiment, nil
	case ".py":
		return KindPython, nil
	case ".ipynb":
		if k := jsonKind(text); k != KindNotebook {
			return "", &Error{File: name, Msg: `named .ipynb but not a Jupyter notebook (no top-level "cells")`}
		}
		return KindNotebook, nil
	case ".json":
		if k := jsonKind(text); k != "" {
			return k, nil
		}
		// Invalid JSON: the experiment reader says where.
		return KindExperiment, nil
	}
	if k := jsonKind(text); k != "" {
		return k, nil
	}
	if bytes.IndexByte(text, 0) >= 0 {
		return "", &Error{File: name, Msg: "binary data, not a text file"}
	}
	lines := splitLines(string(text))
	yamlKeys, yamlLine := 0, 0
	for i, l := range lines {
		if experimentKeyRE.MatchString(l) {
			yamlKeys++
			if yamlLine == 0 {
				yamlLine = i + 1
			}
		}
	}
	q, err := Split(name, text)
	if err != nil {
		return "", err
	}
	// other counts what a Python file would not hold as is: prose, logs,
	// output, fences, and code that lost a prompt or an indentation.
	var code, prose, logs, other int
	firstCode, firstProse := 0, 0
	for i, k := range q.Kinds {
		if k != Code && k != Blank || k == Code && q.Lines[i].Col != 1 {
			other++
		}
		switch k {
		case Code:
			if !strings.HasPrefix(strings.TrimSpace(lines[i]), "#") {
				code++
				if firstCode == 0 {
					firstCode = i + 1
				}
			}
		case Prose:
			prose++
			if firstProse == 0 {
				firstProse = i + 1
			}
		case Log:
			logs++
		}
	}
	switch {
	case yamlKeys >= 2 && code == 0:
		return KindExperiment, nil
	case yamlKeys >= 2:
		return "", &Error{File: name, Line: firstCode, Msg: fmt.Sprintf(
			"looks like both an experiment file (%d top-level keys such as line %d's) and Python code; rename it to .yaml or .py to say which",
			yamlKeys, yamlLine)}
	case code > 0 && other == 0:
		return KindPython, nil
	case code > 0 || logs > 0:
		return KindQuestion, nil
	case prose > 0:
		return "", &Error{File: name, Line: firstProse, Msg: "found only prose: no Python code and no Keras log; " +
			"if it is a program, rename it to .py; if a question, put its code between ``` fences"}
	}
	return "", &Error{File: name, Msg: "empty: nothing to run"}
}

// jsonKind says what a JSON text is, "" if it is not a JSON object.
func jsonKind(text []byte) string {
	keys := topKeys(text)
	switch {
	case keys == nil:
		return ""
	case keys["cells"] || keys["worksheets"]:
		return KindNotebook
	case keys["modelTopology"] || keys["class_name"] && keys["config"]:
		return KindKerasJSON
	}
	return KindExperiment
}
