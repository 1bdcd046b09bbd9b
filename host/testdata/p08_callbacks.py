# StandardScaler, validation_split, EarlyStopping and a callback of the
# program's own that prints the epoch logs.
import pandas as pd
from sklearn.preprocessing import StandardScaler
from tensorflow import keras


class Printer(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        print("end of epoch %d: %s" % (epoch, ", ".join("%s=%.4f" % kv for kv in logs.items())))


keras.utils.set_random_seed(8)
df = pd.read_csv("blobs.csv")
X = StandardScaler().fit_transform(df[["x1", "x2"]])
y = df.label.values

model = keras.Sequential([keras.layers.Dense(8, activation="relu", input_shape=(2,)), keras.layers.Dense(3, activation="softmax")])
model.compile(optimizer=keras.optimizers.Adagrad(learning_rate=0.1), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=2)
model.fit(X, y, epochs=10, batch_size=32, validation_split=0.2, callbacks=[stop, Printer()], verbose=0)
