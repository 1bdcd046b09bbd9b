// Package program is kiln's own reader of Keras programs: it runs a Keras
// Python program (parsed by package pysrc) in pure Go, in order, without a
// Python. Its Keras calls build kiln models; model.fit writes the
// experiment file that trains the same model on the same data
// (config.Experiment) and trains it with config.Build and Model.Fit, so a
// program and its kiln convert output give the same History bit for bit;
// evaluate, predict and summary do what Keras does; print prints.
//
// The reader runs what Keras programs use: imports in every common
// spelling (keras, tensorflow.keras, tf.keras), Sequential and model.add,
// every layer, optimizer, loss and callback in kiln's registries (with
// Keras 2 spellings such as lr=, nb_epoch=, output_dim=),
// keras.datasets.mnist.load_data and the array operations tutorials apply
// to it (astype, scaling, reshape, expand_dims, slicing, to_categorical,
// argmax, comparisons and mean on predictions), functions, loops,
// comprehensions, f-strings, and matplotlib plots of histories (drawn with
// package report). Anything else — pandas, scikit-learn, classes, other
// data — is refused at its file:line:col with what to do; such programs run
// in the user's own Python with package host.
//
// A snippet without imports or data loading (x_train used but never
// defined) gets the imports and MNIST arrays its asker almost surely had,
// each assumption stated as a note. Run with Options.DryRun records the
// experiments without training (kiln convert).
package program
