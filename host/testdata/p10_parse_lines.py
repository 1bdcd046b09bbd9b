# Reading a file by hand into a list of lists, a comprehension, and a loop
# over learning rates that trains one model each.
import numpy as np
from tensorflow.keras.models import Sequential
from tensorflow.keras.layers import Dense
from tensorflow.keras.optimizers import Adam
import tensorflow as tf

rows = []
with open("blobs.csv") as f:
    next(f)
    for line in f:
        rows.append([float(v) for v in line.strip().split(",")])
data = np.array(rows)
X, y = data[:, :2], data[:, 2].astype(int)

results = {}
for lr in [0.01, 0.001]:
    tf.random.set_seed(4)
    model = Sequential([Dense(6, activation="sigmoid", input_shape=(2,)), Dense(3, activation="softmax")])
    model.compile(optimizer=Adam(learning_rate=lr), loss="sparse_categorical_crossentropy", metrics=["acc"])
    h = model.fit(X, y, epochs=3, batch_size=50, verbose=0)
    results[lr] = h.history["acc"][-1]
for lr, acc in results.items():
    print("lr=%g: accuracy %.4f" % (lr, acc))
