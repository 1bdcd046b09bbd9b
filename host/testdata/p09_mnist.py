# keras.datasets.mnist (kiln's built-in copy), slicing, float32 / 255,
# to_categorical, validation on a slice of the test split.
import numpy as np
import tensorflow as tf
from tensorflow import keras

tf.random.set_seed(1)
(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
x_train = x_train[:2000].astype("float32") / 255
x_test = x_test[:500].astype("float32") / 255
y_train = keras.utils.to_categorical(y_train[:2000], 10)
y_test = keras.utils.to_categorical(y_test[:500], 10)
print(x_train.shape, y_train.shape, x_train.dtype)

model = keras.Sequential([
    keras.layers.Flatten(input_shape=(28, 28)),
    keras.layers.Dense(32, activation="relu"),
    keras.layers.Dense(10, activation="softmax"),
])
model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=64, epochs=2, validation_data=(x_test, y_test), verbose=0)
score = model.evaluate(x_test, y_test, verbose=0)
print("Test loss:", score[0])
print("Test accuracy:", score[1])
