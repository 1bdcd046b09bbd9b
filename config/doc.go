// Package config reads kiln experiment files: one YAML file (JSON is
// accepted too, being a subset of YAML 1.2) that says which data to load,
// which Sequential model to build, and how to compile and fit it, using
// Keras' argument names. The format is a contract that other tools script
// against, so it is checked strictly: unknown keys, wrong types and values
// out of range are errors that name the file, the line and the key, and say
// how to fix them.
//
// The Keras program
//
//	model = keras.Sequential([keras.Input(shape=(28, 28)),
//	    layers.Flatten(), layers.Dense(10, activation="sigmoid")])
//	model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01),
//	    loss="categorical_crossentropy", metrics=["accuracy"])
//	model.fit(x_train, y_train, batch_size=32, epochs=10,
//	    validation_data=(x_test, y_test))
//
// is written as
//
//	seed: 1
//	data:
//	  dataset: mnist          # or npz: file.npz
//	                          # or train: {x: x.npy, y: y.npy} (+ test: {x: ..., y: ...})
//	                          # or csv: {train: a.csv, test: b.csv, label: label}
//	  scale: 1                # a number, or a fraction string like "1/255"
//	  labels: onehot          # onehot | int (onehot = keras to_categorical)
//	  limit: 1000             # optional: use the first N training rows
//	  validation_limit: 500   # optional: use the first N validation rows
//	model:
//	  - Input: {shape: [28, 28]}
//	  - Flatten: {}
//	  - Dense: {units: 10, activation: sigmoid}
//	compile:
//	  optimizer: {name: sgd, learning_rate: 0.01}   # or a bare name: sgd
//	  loss: categorical_crossentropy   # or {name: ..., from_logits: true, label_smoothing: 0.1}
//	  metrics: [accuracy]
//	  loss_semantics: logits           # optional: logits | probabilities
//	fit:
//	  batch_size: 32
//	  epochs: 10
//	  validation_data: test   # or validation_split: 0.1
//	  shuffle: true
//	  initial_epoch: 0
//	  verbose: 1
//	  validation_batch_size: 32
//	  threads: 2              # cores per training step (default: all); results do not depend on it
//
// # Sections
//
// The top level has the keys seed, data, model, compile and fit; data, model
// and compile are required, seed defaults to 0 and every fit key has Keras'
// default. A key whose value is null (written "key:" with nothing after it)
// counts as absent.
//
// data needs exactly one source: dataset (only "mnist"; mnist_dir optionally
// says where its files are), npz (a NumPy .npz with the arrays x_train,
// y_train, x_test and y_test), train (with an optional test) naming .npy
// files for the features x and labels y, or csv (train and label required,
// test and header optional). Relative paths are relative to the experiment
// file's directory; see [Experiment.Resolve].
//
// model is a list of layers, each a map with exactly one key, Keras' class
// name (case-sensitive), whose value is the map of the layer's arguments
// (written {} or left empty when there are none). compile and fit take
// Keras' argument names. The names of layers, activations, losses,
// optimizers and metrics are kept as written; this package does not check
// them against what kiln implements.
//
// # Overrides
//
// [Load] and [Parse] take overrides in the form of kiln's --set flag,
// "dotted.path=value", applied to the YAML before it is checked. Path
// segments are map keys, or list indices under model: model.2.Dense.units=32,
// or model.2.units=32 for short (the key of layer 2). The value is YAML, so
// 0.03, true, [28, 28] and "1/255" mean what they would in the file, and an
// empty value means null, which unsets an optional key. Missing keys are
// created. A bare optimizer or loss name becomes {name: <name>} when a path
// goes below it, so compile.optimizer.learning_rate=0.03 works with
// "optimizer: sgd", while compile.optimizer=adam replaces the optimizer.
//
// # Errors
//
// Every problem with a file is reported as an [*Error] (at most one per
// call: the first one found), whose message reads
//
//	seed.yaml:14: fit.epochs: expected a whole number, got "ten" (a string); write e.g. "epochs: 10"
//
// # Canonical form
//
// [Experiment.Canonical] and [Experiment.Marshal] give the effective
// configuration, after overrides and defaults, in the same format;
// parsing the output of Marshal gives back the same Experiment.
package config
