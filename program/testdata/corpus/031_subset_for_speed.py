# "Training is slow" - train on the first 10000 images only.
import tensorflow as tf

(x_train, y_train), (x_test, y_test) = tf.keras.datasets.mnist.load_data()
x_train = x_train[:10000] / 255.0
y_train = y_train[:10000]
x_test = x_test / 255.0

model = tf.keras.Sequential([
    tf.keras.layers.Flatten(input_shape=(28, 28)),
    tf.keras.layers.Dense(100, activation='relu'),
    tf.keras.layers.Dense(10, activation='softmax'),
])
model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
print(len(x_train), "training images")
model.fit(x_train, y_train, epochs=10, batch_size=32, validation_data=(x_test, y_test))
