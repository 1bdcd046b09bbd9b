# A DataFrame built from a dict of arrays, a derived column, class_weight,
# shuffle=False.
import numpy as np
import pandas as pd
import tensorflow as tf

rng = np.random.RandomState(0)
n = 200
frame = pd.DataFrame({"height": rng.normal(170, 10, n), "weight": rng.normal(70, 15, n)})
frame["bmi"] = frame["weight"] / (frame["height"] / 100) ** 2
frame["target"] = (frame["bmi"] > 27).astype(int)
print(frame["target"].value_counts().sort_index().to_dict())
features = (frame[["height", "weight"]] - frame[["height", "weight"]].mean()) / frame[["height", "weight"]].std()

tf.random.set_seed(9)
model = tf.keras.Sequential([tf.keras.layers.Dense(4, activation="relu", input_shape=(2,)), tf.keras.layers.Dense(1, activation="sigmoid")])
model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"])
history = model.fit(features, frame["target"], epochs=5, batch_size=16, shuffle=False,
                    class_weight={0: 1.0, 1: 3.0}, verbose=0)
print(history.history["loss"][-1])
