# A DataFrame's features by dropping the label column; one-hot labels with
# pandas.get_dummies; categorical cross-entropy.
import numpy as np
import pandas as pd
from keras.models import Sequential
from keras.layers import Dense
from keras.optimizers import SGD
import keras

keras.utils.set_random_seed(3)

data = pd.read_csv("blobs.csv")
features = data.drop("label", axis=1)
labels = pd.get_dummies(data["label"])
print(features.shape, labels.shape)

model = Sequential()
model.add(Dense(12, input_dim=2, activation="tanh"))
model.add(Dense(3, activation="softmax"))
model.compile(loss="categorical_crossentropy", optimizer=SGD(learning_rate=0.1, momentum=0.9), metrics=["accuracy"])
model.fit(features, labels, epochs=4, batch_size=20, verbose=0)
loss, acc = model.evaluate(features, labels, verbose=0)
print("evaluate: loss %.4f accuracy %.4f" % (loss, acc))
