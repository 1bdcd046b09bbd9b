# The functional API: keras.Input, layers called on tensors, a merge
# layer, keras.Model(inputs, outputs); data from scikit-learn's
# make_classification and train_test_split.
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from tensorflow import keras
from tensorflow.keras import layers

X, y = make_classification(n_samples=240, n_features=5, n_informative=3, random_state=4)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=1)

keras.utils.set_random_seed(21)
inputs = keras.Input(shape=(5,), name="features")
a = layers.Dense(8, activation="relu")(inputs)
b = layers.Dense(8, activation="tanh")(inputs)
merged = layers.Concatenate()([a, b])
outputs = layers.Dense(1, activation="sigmoid")(merged)
model = keras.Model(inputs=inputs, outputs=outputs)
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
model.summary()
model.fit(X_train, y_train, epochs=4, batch_size=16, validation_data=(X_test, y_test), verbose=0)
print("layers:", [l.name for l in model.layers])
