# Data built in a loop of Python lists (a regression: y = 2a - b + noise),
# np.array of lists, a helper function that builds the model.
import random
import numpy as np
import tensorflow as tf

random.seed(1)
tf.random.set_seed(2)

X, Y = [], []
for i in range(256):
    a = random.uniform(-1, 1)
    b = random.uniform(-1, 1)
    X.append([a, b, a * b])
    Y.append(2 * a - b + random.gauss(0, 0.05))
X = np.array(X)
Y = np.array(Y)


def build_model(hidden):
    model = tf.keras.Sequential()
    model.add(tf.keras.layers.Dense(hidden, activation="relu", input_dim=3))
    model.add(tf.keras.layers.Dense(1))
    model.compile(optimizer=tf.keras.optimizers.SGD(learning_rate=0.05), loss="mse")
    return model


model = build_model(8)
hist = model.fit(X, Y, epochs=6, batch_size=32, shuffle=False, verbose=0)
for e, l in enumerate(hist.history["loss"]):
    print(f"epoch {e}: mse {l:.5f}")
