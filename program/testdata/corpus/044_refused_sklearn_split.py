# Splitting with scikit-learn.
import tensorflow as tf
from sklearn.model_selection import train_test_split

(x, y), _ = tf.keras.datasets.mnist.load_data()
x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=0.2)
