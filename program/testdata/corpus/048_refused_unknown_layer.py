# An LSTM over the image rows: a layer kiln does not have.
import tensorflow as tf
from tensorflow.keras.layers import LSTM, Dense

(x_train, y_train), (x_test, y_test) = tf.keras.datasets.mnist.load_data()
model = tf.keras.Sequential([LSTM(128, input_shape=(28, 28)), Dense(10, activation='softmax')])
