# Older answers: metrics=['acc'], and clear_session between runs.
import tensorflow as tf
from tensorflow.keras import backend as K

(x_train, y_train), (x_test, y_test) = tf.keras.datasets.mnist.load_data()
x_train = x_train / 255.0
y_train = tf.keras.utils.to_categorical(y_train)

for units in [32, 128]:
    K.clear_session()
    model = tf.keras.Sequential([
        tf.keras.layers.Flatten(input_shape=(28, 28)),
        tf.keras.layers.Dense(units, activation='relu'),
        tf.keras.layers.Dense(10, activation='softmax'),
    ])
    model.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['acc'])
    history = model.fit(x_train, y_train, epochs=2, batch_size=128, validation_split=0.1, verbose=0)
    print(units, "units: val_acc", history.history['val_acc'][-1])
