# Fit, look, fit some more: the second fit continues training.
import tensorflow as tf

(x_train, y_train), (x_test, y_test) = tf.keras.datasets.mnist.load_data()
x_train = x_train / 255.0
x_test = x_test / 255.0

model = tf.keras.Sequential([
    tf.keras.layers.Flatten(input_shape=(28, 28)),
    tf.keras.layers.Dense(64, activation='relu'),
    tf.keras.layers.Dense(10, activation='softmax'),
])
model.compile(optimizer='sgd', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
h1 = model.fit(x_train, y_train, epochs=2, verbose=0)
print("after 2 epochs:", round(h1.history['accuracy'][-1], 2) > 0)
h2 = model.fit(x_train, y_train, epochs=4, initial_epoch=2, verbose=0)
print("epochs of the second fit:", h2.epoch)
