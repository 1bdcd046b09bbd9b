#!/usr/bin/env python3
"""Generate the golden fixture of a Functional (graph) model for kiln.

Run from the module root:

    /usr/bin/python3 testdata/golden/gen_functional.py

It writes testdata/golden/functional.json and functional_merges.json next
to this script, which functional_golden_test.go (TestFunctionalGoldenPyTorch)
reads.

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


def g9(v):
    """A float32 value in 9 significant digits (exact for float32)."""
    return float("%.9g" % v)


def flat(t):
    return [g9(v) for v in t.detach().numpy().reshape(-1)]


def init(fan_in, units):
    lim = np.sqrt(6.0 / (fan_in + units))
    w = rs.uniform(-lim, lim, size=(fan_in, units)).astype(np.float32)
    b = rs.uniform(-0.1, 0.1, size=(units,)).astype(np.float32)
    return w, b


def loss_fn(z, yb):
    return (-(yb * torch.log_softmax(z, dim=-1)).sum(dim=-1)).mean()


def make_case(out, layers, input_dim, classes, forward, sparse):
    """Draw the weights (Keras order) and data, run forward/backward and 3
    SGD steps, and write the fixture to out. forward(dense, x) returns the
    output probabilities and the logits."""
    params = {}
    for name, fi, u in layers:
        w, b = init(fi, u)
        params[name + "/kernel"] = torch.tensor(w, requires_grad=True)
        params[name + "/bias"] = torch.tensor(b, requires_grad=True)
    order = [n + s for n, _, _ in layers for s in ("/kernel", "/bias")]

    N, BATCH = 24, 8
    if sparse:  # MNIST-like inputs: values in [0, 1], about 70% exact zeros.
        x = rs.uniform(0, 1, size=(N, input_dim)).astype(np.float32)
        x[rs.uniform(size=x.shape) < 0.7] = 0
    else:
        x = rs.uniform(-1, 1, size=(N, input_dim)).astype(np.float32)
    labels = rs.randint(0, classes, size=N)
    y = np.eye(classes, dtype=np.float32)[labels]

    def dense(name, h):
        return h @ params[name + "/kernel"] + params[name + "/bias"]

    def weights():
        return [{"name": n, "shape": list(params[n].shape), "value": flat(params[n])} for n in order]

    initial = weights()
    xb0, yb0 = torch.tensor(x[:BATCH]), torch.tensor(y[:BATCH])
    out0, z0 = forward(dense, xb0)
    loss0 = loss_fn(z0, yb0)
    grads0 = torch.autograd.grad(loss0, [params[n] for n in order])
    gradients = [{"name": n, "value": flat(g)} for n, g in zip(order, grads0)]

    lr = torch.tensor(0.1, dtype=F32)
    step_losses = []
    for s in range(3):
        xb = torch.tensor(x[s * BATCH:(s + 1) * BATCH])
        yb = torch.tensor(y[s * BATCH:(s + 1) * BATCH])
        _, z = forward(dense, xb)
        loss = loss_fn(z, yb)
        step_losses.append(g9(loss))
        gs = torch.autograd.grad(loss, [params[n] for n in order])
        with torch.no_grad():
            for n, g in zip(order, gs):
                params[n] -= lr * g

    fixture = {
        "x": [g9(v) for v in x.reshape(-1)],
        "y": [g9(v) for v in y.reshape(-1)],
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
    with open(out, "w") as f:
        json.dump(fixture, f)
    print("wrote", out, "loss", float(loss0), "step losses", step_losses)


# 1. The residual + concatenate network (functional.json).
def residual_concat(dense, xb):
    h = torch.relu(dense("dense", xb))
    r = torch.relu(dense("dense_1", h))
    a = r + h
    b1 = torch.relu(dense("dense_2", a))
    b2 = torch.tanh(dense("dense_3", a))
    c = torch.cat([b1, b2], dim=-1)
    z = dense("dense_4", c)
    return torch.softmax(z, dim=-1), z


make_case(OUT, [("dense", 784, 32), ("dense_1", 32, 32), ("dense_2", 32, 16), ("dense_3", 32, 16), ("dense_4", 32, 10)],
          784, 10, residual_concat, sparse=True)


# 2. Every merge layer (functional_merges.json), in Keras:
#
#    x = keras.Input(shape=(6,))                        # input_1
#    g = Dense(5, activation="sigmoid")(x)              # dense
#    v = Dense(5, activation="tanh")(x)                 # dense_1
#    m = Multiply()([g, v])                             # multiply
#    s = Subtract()([m, g])                             # subtract
#    a = Average()([s, v, m])                           # average: (s + v + m) / 3
#    c = Concatenate()([a, g])                          # concatenate
#    y = Dense(3, activation="softmax")(c)              # dense_2
def merges(dense, xb):
    g = torch.sigmoid(dense("dense", xb))
    v = torch.tanh(dense("dense_1", xb))
    m = g * v
    s = m - g
    a = (s + v + m) / 3
    c = torch.cat([a, g], dim=-1)
    z = dense("dense_2", c)
    return torch.softmax(z, dim=-1), z


make_case(os.path.join(HERE, "functional_merges.json"), [("dense", 6, 5), ("dense_1", 6, 5), ("dense_2", 10, 3)],
          6, 3, merges, sparse=False)
