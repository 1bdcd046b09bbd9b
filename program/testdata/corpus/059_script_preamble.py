# The preamble many scripts start with: silence TensorFlow's logging,
# check for a GPU, time the training.
import os
os.environ['TF_CPP_MIN_LOG_LEVEL'] = '2'
import time

import tensorflow as tf

print("Num GPUs Available:", len(tf.config.list_physical_devices('GPU')))

(x_train, y_train), (x_test, y_test) = tf.keras.datasets.mnist.load_data()
x_train, x_test = x_train / 255.0, x_test / 255.0

model = tf.keras.Sequential([
    tf.keras.layers.Flatten(input_shape=(28, 28)),
    tf.keras.layers.Dense(128, activation='relu'),
    tf.keras.layers.Dense(10, activation='softmax'),
])
model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
start = time.time()
model.fit(x_train, y_train, epochs=3, batch_size=64)
elapsed = time.time() - start
print("training took %.1f seconds" % elapsed)
