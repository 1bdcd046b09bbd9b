# A function that builds the model, and a loop over learning rates.
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras import layers


def build_model(hidden=64):
    model = keras.Sequential([
        keras.Input(shape=(28, 28)),
        layers.Flatten(),
        layers.Dense(hidden, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])
    return model


(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
x_train = x_train / 255.0
x_test = x_test / 255.0

results = {}
for lr in [0.1, 0.01, 0.001]:
    model = build_model()
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=lr),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x_train, y_train, epochs=2, batch_size=64, verbose=0,
                        validation_data=(x_test, y_test))
    results[lr] = history.history["val_accuracy"][-1]

for lr, acc in sorted(results.items()):
    print("learning rate %g -> val accuracy %.3f" % (lr, acc))
best = max(results, key=results.get)
print("best learning rate:", best)
