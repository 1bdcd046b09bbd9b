#!/usr/bin/env python3
# -*- coding: utf-8 -*-
"""Train a small classifier with callbacks, then plot the history."""
import os
import sys
import argparse

import numpy as np
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras import layers, callbacks as cb

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
SEED = 42
np.random.seed(SEED)
tf.random.set_seed(SEED)


def load(limit=None):
    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    x_train = x_train.reshape(-1, 28 * 28).astype("float32") / 255.0
    x_test = x_test.reshape((-1, 784)).astype(np.float32) / 255.
    if limit is not None:
        x_train, y_train = x_train[:limit], y_train[:limit]
    y_train = keras.utils.to_categorical(y_train, num_classes=10)
    y_test = keras.utils.to_categorical(y_test, 10)
    return (x_train, y_train), (x_test, y_test)


def make_model(hidden=(256, 128), dropout=0.2, lr=1e-3):
    inputs = keras.Input(shape=(784,), name="digits")
    x = inputs
    for i, units in enumerate(hidden):
        x = layers.Dense(units, activation="relu", name=f"dense_{i}")(x)
        if dropout:
            x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(10, activation="softmax", name="predictions")(x)
    model = keras.Model(inputs=inputs, outputs=outputs)
    model.compile(
        optimizer=keras.optimizers.RMSprop(learning_rate=lr),
        loss=keras.losses.CategoricalCrossentropy(),
        metrics=[keras.metrics.CategoricalAccuracy(), "AUC"],
    )
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args(argv)

    (x_train, y_train), (x_test, y_test) = load(args.limit)
    assert x_train.shape[1:] == (784,), f"bad shape {x_train.shape!r}"
    model = make_model()
    model.summary(line_length=80)

    stop = cb.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    ckpt = cb.ModelCheckpoint(os.path.join("ckpt", "best.keras"), save_best_only=True)
    try:
        history = model.fit(
            x_train, y_train,
            batch_size=64,
            epochs=args.epochs,
            validation_data=(x_test, y_test),
            callbacks=[stop, ckpt],
            verbose=2,
        )
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 1
    finally:
        print("done")

    loss, acc, *rest = model.evaluate(x_test, y_test, verbose=0)
    print("test loss %.4f, acc %.4f" % (loss, acc))
    print("test loss {:.4f}, acc {:.4f}".format(loss, acc))
    preds = model.predict(x_test[:5])
    print("predicted:", preds.argmax(axis=-1), "true:", np.argmax(y_test[:5], axis=1))
    wrong = [i for i, (p, t) in enumerate(zip(preds.argmax(-1), y_test[:5].argmax(-1))) if p != t]
    counts = {k: len(v) for k, v in history.history.items() if not k.startswith("val_")}
    best_epoch = int(np.argmin(history.history["val_loss"])) + 1
    total = 0
    for v in history.history["loss"]:
        total += v
    else:
        mean = total / max(len(history.history["loss"]), 1)
    while mean > 10 and not wrong:
        mean /= 2
    with open("history.txt", "w") as f, open(os.devnull, "w") as null:
        f.write(str(history.history) + "\n")
    return 0 if acc > 0.9 else 2


if __name__ == "__main__":
    sys.exit(main())
