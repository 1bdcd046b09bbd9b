#!/usr/bin/env python3
"""Generate the golden fixture of a Functional (graph) model for kiln.

Run from the module root:

    /usr/bin/python3 testdata/golden/gen_functional.py

It writes testdata/golden/functional.json next to this script, which
functional_golden_test.go (TestFunctionalGoldenPyTorch) reads.

The network is, in Keras:

    x  = keras.Input(shape=(784,))                       # input_1
    h  = Dense(32, activation="relu")(x)                 # dense
    r  = Dense(32, activation="relu")(h)                 # dense_1
    a  = Add()([r, h])                                   # add (residual)
    b1 = Dense(16, activation="relu")(a)                 # dense_2
    b2 = Dense(16, activation="tanh")(a)                 # dense_3
    c  = Concatenate()([b1, b2])                         # concatenate
    y  = Dense(10, activation="softmax")(c)              # dense_4
    model = keras.Model(x, y)
    model.compile(optimizer=SGD(0.1), loss="categorical_crossentropy")

with kernels (in, units) drawn here (glorot_uniform-like, fixed numpy
seed) and random biases, so every weight's gradient matters. The loss is
Keras' TF-backend categorical cross-entropy of a softmax output: computed
from the cached logits (log_softmax), mean over the batch.

Recorded (all float32, CPU, one thread):
* "output": the forward output (probabilities) of the 8 samples of batch 0
  at the initial weights, and "loss" their loss;
* "gradients": dLoss/dWeight of every weight on batch 0 (autograd);
* "final_weights": the weights after 3 SGD steps (w -= lr·g, in float32,
  by hand as Keras does) on batches 0, 1, 2, and "step_losses" the loss of
  each step before its update.
Weights are listed in Keras' model.weights order with Keras' names.
"""

import json
import os

import numpy as np
import torch

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

F32 = torch.float32
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "functional.json")

rs = np.random.RandomState(20261206)

LAYERS = [  # name, fan_in, units
    ("dense", 784, 32),
    ("dense_1", 32, 32),
    ("dense_2", 32, 16),
    ("dense_3", 32, 16),
    ("dense_4", 32, 10),
]


def init(fan_in, units):
    lim = np.sqrt(6.0 / (fan_in + units))
    w = rs.uniform(-lim, lim, size=(fan_in, units)).astype(np.float32)
    b = rs.uniform(-0.1, 0.1, size=(units,)).astype(np.float32)
    return w, b


params = {}
for name, fi, u in LAYERS:
    w, b = init(fi, u)
    params[name + "/kernel"] = torch.tensor(w, requires_grad=True)
    params[name + "/bias"] = torch.tensor(b, requires_grad=True)
ORDER = [n + s for n, _, _ in LAYERS for s in ("/kernel", "/bias")]

# MNIST-like inputs: values in [0, 1], about 70% exact zeros.
N, BATCH = 24, 8
x = rs.uniform(0, 1, size=(N, 784)).astype(np.float32)
x[rs.uniform(size=x.shape) < 0.7] = 0
labels = rs.randint(0, 10, size=N)
y = np.eye(10, dtype=np.float32)[labels]


def dense(name, h):
    return h @ params[name + "/kernel"] + params[name + "/bias"]


def forward(xb):
    h = torch.relu(dense("dense", xb))
    r = torch.relu(dense("dense_1", h))
    a = r + h
    b1 = torch.relu(dense("dense_2", a))
    b2 = torch.tanh(dense("dense_3", a))
    c = torch.cat([b1, b2], dim=-1)
    z = dense("dense_4", c)
    return torch.softmax(z, dim=-1), z


def loss_fn(z, yb):
    return (-(yb * torch.log_softmax(z, dim=-1)).sum(dim=-1)).mean()


def g9(v):
    """A float32 value in 9 significant digits (exact for float32)."""
    return float("%.9g" % v)


def flat(t):
    return [g9(v) for v in t.detach().numpy().reshape(-1)]


def weights():
    return [{"name": n, "shape": list(params[n].shape), "value": flat(params[n])} for n in ORDER]


initial = weights()
xb0, yb0 = torch.tensor(x[:BATCH]), torch.tensor(y[:BATCH])
out0, z0 = forward(xb0)
loss0 = loss_fn(z0, yb0)
grads0 = torch.autograd.grad(loss0, [params[n] for n in ORDER])
gradients = [{"name": n, "value": flat(g)} for n, g in zip(ORDER, grads0)]

lr = torch.tensor(0.1, dtype=F32)
step_losses = []
for s in range(3):
    xb = torch.tensor(x[s * BATCH:(s + 1) * BATCH])
    yb = torch.tensor(y[s * BATCH:(s + 1) * BATCH])
    _, z = forward(xb)
    loss = loss_fn(z, yb)
    step_losses.append(g9(loss))
    gs = torch.autograd.grad(loss, [params[n] for n in ORDER])
    with torch.no_grad():
        for n, g in zip(ORDER, gs):
            params[n] -= lr * g

fixture = {
    "x": [g9(v) for v in x.reshape(-1)],
    "y": [float(v) for v in y.reshape(-1)],
    "n": N,
    "batch_size": BATCH,
    "learning_rate": 0.1,
    "initial_weights": initial,
    "output": flat(out0),
    "loss": g9(loss0),
    "gradients": gradients,
    "step_losses": step_losses,
    "final_weights": weights(),
}
with open(OUT, "w") as f:
    json.dump(fixture, f)
print("wrote", OUT, "loss", float(loss0), "step losses", step_losses)
