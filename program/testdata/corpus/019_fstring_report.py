# f-strings for the report.
import tensorflow as tf

(x_train, y_train), (x_test, y_test) = tf.keras.datasets.mnist.load_data()
x_train, x_test = x_train / 255.0, x_test / 255.0
print(f"train: {x_train.shape}, test: {x_test.shape}")

model = tf.keras.Sequential([
    tf.keras.layers.Flatten(input_shape=(28, 28)),
    tf.keras.layers.Dense(64, activation="relu"),
    tf.keras.layers.Dense(10, activation="softmax"),
])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
history = model.fit(x_train, y_train, epochs=3, validation_split=0.1, verbose=0)
for epoch, (loss, acc) in enumerate(zip(history.history["loss"], history.history["accuracy"]), start=1):
    print(f"epoch {epoch}: loss={loss:.4f} accuracy={acc:.2%}")
test_loss, test_acc = model.evaluate(x_test, y_test, verbose=0)
print(f"Test accuracy: {test_acc:.4f}")
