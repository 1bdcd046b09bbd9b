# A typo in a keyword argument: Keras raises a TypeError, so does kiln.
import tensorflow as tf

model = tf.keras.Sequential([
    tf.keras.layers.Flatten(input_shape=(28, 28)),
    tf.keras.layers.Dense(128, activaton='relu'),
    tf.keras.layers.Dense(10, activation='softmax'),
])
