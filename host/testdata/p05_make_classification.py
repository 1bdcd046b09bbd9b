# scikit-learn's make_classification, one-hot labels with to_categorical.
from sklearn.datasets import make_classification
from tensorflow import keras
from tensorflow.keras.utils import to_categorical

X, y = make_classification(n_samples=300, n_features=6, n_informative=4, n_redundant=0,
                           n_classes=3, random_state=1)
Y = to_categorical(y, num_classes=3)
keras.utils.set_random_seed(11)

model = keras.Sequential()
model.add(keras.Input(shape=(6,)))
model.add(keras.layers.Dense(24, activation="relu"))
model.add(keras.layers.Dense(3, activation="softmax"))
model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.005), loss="categorical_crossentropy", metrics=["accuracy"])
h = model.fit(X, Y, epochs=5, batch_size=25, validation_split=0.2, verbose=0)
print(sorted(h.history))
