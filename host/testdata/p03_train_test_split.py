# scikit-learn's train_test_split with a random_state, validation_data.
import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split
import tensorflow as tf

np.random.seed(42)

df = pd.read_csv("blobs.csv")
X = df.iloc[:, :-1].to_numpy()
y = df.iloc[:, -1].to_numpy()
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=42)
print("train", X_train.shape, "test", X_test.shape)

model = tf.keras.models.Sequential()
model.add(tf.keras.layers.Dense(10, activation=tf.nn.relu, input_shape=(X.shape[1],)))
model.add(tf.keras.layers.Dense(len(np.unique(y)), activation=tf.nn.softmax))
model.compile(optimizer=tf.keras.optimizers.RMSprop(0.01),
              loss=tf.keras.losses.SparseCategoricalCrossentropy(),
              metrics=["accuracy"])
history = model.fit(X_train, y_train, validation_data=(X_test, y_test), epochs=6, batch_size=16, verbose=0)
for epoch, (a, va) in enumerate(zip(history.history["accuracy"], history.history["val_accuracy"])):
    print("epoch %d: accuracy %.3f, val_accuracy %.3f" % (epoch + 1, a, va))
