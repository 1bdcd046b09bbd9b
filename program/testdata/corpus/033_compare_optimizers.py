# Compare optimizers by name.
import tensorflow as tf

(x_train, y_train), (x_test, y_test) = tf.keras.datasets.mnist.load_data()
x_train, x_test = x_train / 255.0, x_test / 255.0

histories = {}
for name in ['sgd', 'rmsprop', 'adam', 'adagrad']:
    model = tf.keras.Sequential([
        tf.keras.layers.Flatten(input_shape=(28, 28)),
        tf.keras.layers.Dense(64, activation='relu'),
        tf.keras.layers.Dense(10, activation='softmax'),
    ])
    model.compile(optimizer=name, loss='sparse_categorical_crossentropy', metrics=['accuracy'])
    histories[name] = model.fit(x_train, y_train, epochs=3, validation_data=(x_test, y_test), verbose=0)

for name, h in histories.items():
    print(name.ljust(8), "val_accuracy", ["%.3f" % a for a in h.history['val_accuracy']])
