# A custom layer class.
import tensorflow as tf


class MyDense(tf.keras.layers.Layer):
    def __init__(self, units):
        super().__init__()
        self.units = units


model = tf.keras.Sequential([tf.keras.layers.Flatten(input_shape=(28, 28)), MyDense(10)])
