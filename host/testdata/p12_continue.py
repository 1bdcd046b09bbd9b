# Training in two steps (fit, then fit again: Keras goes on from the
# trained weights), a LambdaCallback, a callback that predicts and stops.
import numpy as np
import tensorflow as tf

tf.random.set_seed(12)
rng = np.random.RandomState(3)
x = rng.uniform(-1, 1, size=(128, 2))
y = (x[:, 0] > x[:, 1]).astype("float32")


class StopWhenGood(tf.keras.callbacks.Callback):
    def __init__(self, x, y):
        super().__init__()
        self.x, self.y = x, y

    def on_epoch_end(self, epoch, logs=None):
        acc = ((self.model.predict(self.x, verbose=0)[:, 0] > 0.5) == self.y).mean()
        print("epoch %d: my accuracy %.4f" % (epoch, acc))
        if epoch == 2:
            self.model.stop_training = True


model = tf.keras.Sequential([tf.keras.Input(shape=(2,)), tf.keras.layers.Dense(1, activation="sigmoid")])
model.compile(optimizer=tf.keras.optimizers.SGD(0.5), loss="binary_crossentropy", metrics=["accuracy"])
log = tf.keras.callbacks.LambdaCallback(on_train_begin=lambda logs: print("training starts"))
h1 = model.fit(x, y, epochs=2, batch_size=32, verbose=0, callbacks=[log])
h2 = model.fit(x, y, epochs=10, batch_size=32, verbose=0, callbacks=[StopWhenGood(x, y)])
print("epochs run:", len(h1.epoch), len(h2.epoch))
