# pandas read_csv, column selection by name, integer labels.
import pandas as pd
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras import layers

tf.random.set_seed(7)

df = pd.read_csv("blobs.csv")
print(df.head())
X = df[["x1", "x2"]].values
y = df["label"].values

model = keras.Sequential([
    layers.Dense(16, activation="relu", input_shape=(2,)),
    layers.Dense(3, activation="softmax"),
])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
history = model.fit(X, y, epochs=5, batch_size=32, verbose=0)
print("final loss", history.history["loss"][-1])
print("final accuracy", history.history["accuracy"][-1])
