# Activations passed as functions and as layers.
import tensorflow as tf
from tensorflow.keras import layers, activations

(x_train, y_train), (x_test, y_test) = tf.keras.datasets.mnist.load_data()
x_train = x_train / 255.0

model = tf.keras.Sequential([
    layers.Flatten(input_shape=(28, 28)),
    layers.Dense(128, activation=activations.tanh),
    layers.Dense(64),
    layers.Activation('relu'),
    layers.Dense(10, activation=tf.nn.softmax),
])
model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
model.fit(x_train, y_train, epochs=3)
