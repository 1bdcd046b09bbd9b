# Same model, several learning rates: does the loss scale with lr?
import tensorflow as tf
from tensorflow.keras.models import Sequential
from tensorflow.keras.layers import Input, Flatten, Dense

(x_train, y_train), (x_test, y_test) = tf.keras.datasets.mnist.load_data()
y_train = tf.keras.utils.to_categorical(y_train)
y_test = tf.keras.utils.to_categorical(y_test)

for lr in [0.001, 0.01, 0.1]:
    model = Sequential()
    model.add(Input(shape=(28, 28)))
    model.add(Flatten())
    model.add(Dense(10, activation='sigmoid'))
    model.compile(optimizer=tf.keras.optimizers.SGD(learning_rate=lr),
                  loss='categorical_crossentropy', metrics=['accuracy'])
    history = model.fit(x_train, y_train, validation_data=(x_test, y_test),
                        batch_size=32, epochs=3, verbose=0)
    print("lr", lr, "loss", history.history['loss'])
