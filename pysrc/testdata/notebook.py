# Jupyter notebook exported as text; CRLF line endings, tabs and no final newline
%matplotlib inline
!pip install -q keras
import matplotlib.pyplot as plt
import numpy as np
from tensorflow import keras
from tensorflow.keras.layers import (Dense,
                                     Flatten as F)

def build_model(units=10, *, activation: str = "relu", **kwargs) -> keras.Model:
	"""Returns a compiled two-layer model."""
	model = keras.Sequential([F(input_shape=(28, 28)),
	                          Dense(units, activation=activation),
	                          Dense(10, activation="softmax")], **kwargs)
	model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
	              metrics=["accuracy"])
	return model

(x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
x_train, x_test = x_train / 255.0, x_test / 255.0
x_train = x_train[:10_000]; y_train = y_train[:10_000]
histories = {}
for lr in [0.01, 0.03]:
	for units in (32, 64):
		if units > 32 and lr == 0.03:
			continue
		model = build_model(units)
		model.optimizer.learning_rate = lr
		h = model.fit(x_train, y_train, epochs=5, validation_split=0.2, verbose=0)
		histories[(lr, units)] = h.history
		print(f"lr={lr:g} units={units:>4d}: val_acc={h.history['val_accuracy'][-1]:.3f}")

best = max(histories, key=lambda k: histories[k]["val_accuracy"][-1])
print("best:", *best, sep=" ")

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4))
for (lr, units), hist in histories.items():
	ax1.plot(hist["loss"], label=f"{lr=} {units=}")
	ax2.plot(hist["val_accuracy"], "--", label=f"lr {lr}, {units} units")
ax1.set_title("Loss"); ax1.legend()
ax2.set_xlabel("epoch")
plt.tight_layout()
plt.savefig("curves.png", dpi=150)
plt.show()