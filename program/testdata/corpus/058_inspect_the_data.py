# "My loss is huge" - look at the data first: dtype, range, shapes.
import numpy as np
import tensorflow as tf

(x_train, y_train), (x_test, y_test) = tf.keras.datasets.mnist.load_data()
print(type(x_train), x_train.dtype, x_train.shape)
print("pixel range:", x_train.min(), x_train.max())
print("labels:", np.min(y_train), "to", np.max(y_train))
x_train = x_train.astype('float32') / 255
x_test = x_test.astype('float32') / 255
print("after scaling:", x_train.min(), x_train.max())

model = tf.keras.Sequential([
    tf.keras.layers.Flatten(input_shape=(28, 28)),
    tf.keras.layers.Dense(128, activation='relu'),
    tf.keras.layers.Dense(10, activation='softmax'),
])
model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
model.fit(x_train, y_train, epochs=3, validation_data=(x_test, y_test))
