# Printing the History dictionary, the way answers show it.
from tensorflow import keras

(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
x_train = x_train / 255.0
x_test = x_test / 255.0

model = keras.Sequential([
    keras.layers.Flatten(input_shape=(28, 28)),
    keras.layers.Dense(32, activation='relu'),
    keras.layers.Dense(10, activation='softmax'),
])
model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
history = model.fit(x_train, y_train, epochs=4, validation_data=(x_test, y_test), verbose=0)
print(history.history.keys())
print(history.history['val_accuracy'])
print('best epoch:', history.history['val_accuracy'].index(max(history.history['val_accuracy'])) + 1)
