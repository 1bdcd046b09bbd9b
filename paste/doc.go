// Package paste reads a question as people paste it into Stack Overflow, a
// forum or a notebook: prose, Python code and Keras console output mixed in
// one text, with or without Markdown fences. Split separates the three,
// keeping the original line numbers, so that kiln can run the code, put the
// pasted numbers beside its own epoch by epoch, and let `kiln explain` treat
// the pasted logs as the user's observation. ParseLog reads Keras console
// output on its own, in every format Keras has printed (Keras 1, tf.keras
// "Train on N samples", Keras 2 progress bars, verbose=2 lines, Keras 3).
// Kind tells experiment files, Python programs, notebooks and pasted
// questions apart.
//
// Without fences, telling code from prose is a heuristic: a line is code if
// it tokenises as Python (no two operands side by side, no unterminated
// quote, no '?' or '`') and has something only code has (an assignment, a
// call, a subscript, an attribute, a statement keyword), or if it continues
// an open bracket, a triple-quoted string or a backslash. Everything else
// that is not console output is prose. With fences, only fenced lines are
// code.
package paste
