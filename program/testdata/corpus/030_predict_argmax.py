# Predictions: argmax over the class axis, accuracy by hand.
import numpy as np
import tensorflow as tf

(x_train, y_train), (x_test, y_test) = tf.keras.datasets.mnist.load_data()
x_train = x_train / 255.0
x_test = x_test / 255.0

model = tf.keras.Sequential([
    tf.keras.layers.Flatten(input_shape=(28, 28)),
    tf.keras.layers.Dense(64, activation='relu'),
    tf.keras.layers.Dense(10, activation='softmax'),
])
model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
model.fit(x_train, y_train, epochs=2, verbose=0)

predictions = model.predict(x_test)
predicted = np.argmax(predictions, axis=1)
print("first prediction:", predicted[0], "label:", y_test[0])
print("accuracy by hand:", np.mean(predicted == y_test))
