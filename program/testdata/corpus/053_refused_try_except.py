# Guarding the GPU setup with try/except.
import tensorflow as tf

try:
    gpus = tf.config.experimental.list_physical_devices('GPU')
except RuntimeError as e:
    print(e)
