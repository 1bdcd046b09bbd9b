# Flat input, a Reshape layer back to an image for the conv layer.
import tensorflow as tf
from tensorflow.keras.layers import Reshape, Conv2D, MaxPool2D, Flatten, Dense

(x_train, y_train), (x_test, y_test) = tf.keras.datasets.mnist.load_data()
x_train = x_train.reshape(60000, 784) / 255.0
x_test = x_test.reshape(10000, 784) / 255.0

model = tf.keras.Sequential([
    Reshape((28, 28, 1), input_shape=(784,)),
    Conv2D(8, 5, activation='relu'),
    MaxPool2D(2),
    Flatten(),
    Dense(10, activation='softmax'),
])
model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
model.fit(x_train, y_train, epochs=2, batch_size=100, validation_data=(x_test, y_test))
