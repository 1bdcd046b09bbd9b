#!/usr/bin/env python3
"""Generate golden numerical fixtures for kiln (Keras-like trainer in Go).

Run from the module root (/work/main):

    /usr/bin/python3 testdata/golden/gen_golden.py

It writes testdata/golden/golden.json next to this script.

What it reproduces (Keras 2.11+/Keras 3 with the TensorFlow backend):

* Dense layers, kernel shape (in, units), y = act(x @ W + b).
* One epoch of training, no shuffling: batches are consecutive slices of the
  data, the last (partial) batch is kept.  Each step: forward pass, loss =
  mean over the batch of per-sample losses, backprop, optimizer update.  The
  recorded step loss is the batch loss computed BEFORE that step's update.
* Losses with the TF-backend "cached logits" behaviour: when the output
  activation is sigmoid/softmax, crossentropies are computed from the
  pre-activation logits z (see loss_fn below), plus one case with the plain
  "probabilities" formula.
* Optimizer updates written out by hand with the Keras formulas (NOT the
  torch.optim ones), in float32, under torch.no_grad().  Autograd is only
  used for the gradients.  Hyper-parameters are float32 scalars.

Everything is float32 and fully deterministic (fixed numpy seeds, CPU,
single thread).  At the end the manual optimizer code is cross-checked
against torch.optim and the comparison is printed.
"""

import json
import os

import numpy as np
import torch

torch.set_num_threads(1)           # deterministic reduction order
torch.manual_seed(0)               # not actually used for data, but fixed anyway
torch.use_deterministic_algorithms(True)

F32 = torch.float32
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "golden.json")


def f32(v):
    """A Python float rounded to float32, as a 0-d float32 tensor.

    Keras computes things like (1 - rho) in Python double and then the
    backend casts the result to the variable dtype (float32); we do the same.
    """
    return torch.tensor(float(v), dtype=F32)


# ---------------------------------------------------------------------------
# Model: stack of Dense layers
# ---------------------------------------------------------------------------

def forward(x, params, activations):
    """Return (output, pre-activation logits of the last layer)."""
    h = x
    z = None
    for (w, b), act in zip(params, activations):
        z = h @ w + b
        if act == "linear":
            h = z
        elif act == "relu":
            h = torch.relu(z)
        elif act == "sigmoid":
            h = torch.sigmoid(z)
        elif act == "tanh":
            h = torch.tanh(z)
        elif act == "softmax":
            h = torch.softmax(z, dim=-1)
        else:
            raise ValueError(act)
    return h, z


# ---------------------------------------------------------------------------
# Losses (per-sample values; the caller averages over the batch)
# ---------------------------------------------------------------------------

def loss_fn(loss, out, z, y, out_act):
    name = loss["name"]
    if name == "categorical_crossentropy":
        ls = loss.get("label_smoothing", 0.0)
        if ls:
            C = y.shape[-1]
            # y <- y*(1-ls) + ls/C   (constants rounded to float32 like Keras)
            y = y * f32(1.0 - ls) + f32(ls / C)
        if loss["semantics"] == "logits":
            # Cached logits: softmax cross-entropy on the pre-activation z,
            # whether the output activation was softmax or sigmoid.
            # tf.nn.softmax_cross_entropy_with_logits = -sum(y * log_softmax(z))
            # which equals logsumexp(z) - sum(y*z) because sum(y) == 1.
            assert out_act in ("softmax", "sigmoid")
            return -(y * torch.log_softmax(z, dim=-1)).sum(-1)
        else:
            # Probabilities: p = p/sum(p); clip to [eps, 1-eps]; -sum(y log p)
            eps = 1e-7
            p = out / out.sum(-1, keepdim=True)
            p = torch.clamp(p, f32(eps), f32(1.0 - eps))
            return -(y * torch.log(p)).sum(-1)
    if name == "sparse_categorical_crossentropy":
        # Integer labels; cached logits -> sparse softmax CE on z:
        # per-sample logsumexp(z) - z[label]
        assert loss["semantics"] == "logits" and out_act == "softmax"
        lsm = torch.log_softmax(z, dim=-1)
        return -lsm.gather(-1, y.long().unsqueeze(-1)).squeeze(-1)
    if name == "binary_crossentropy":
        # Cached logits (sigmoid output): tf.nn.sigmoid_cross_entropy_with_logits
        # max(z,0) - z*y + log(1+exp(-|z|)), mean over last axis.
        assert loss["semantics"] == "logits" and out_act == "sigmoid"
        e = torch.clamp(z, min=0) - z * y + torch.log1p(torch.exp(-torch.abs(z)))
        return e.mean(-1)
    if name == "mean_squared_error":
        return ((out - y) ** 2).mean(-1)
    raise ValueError(name)


# ---------------------------------------------------------------------------
# Optimizers: Keras update rules, written by hand (float32)
# ---------------------------------------------------------------------------

class KerasOptimizer:
    def __init__(self, cfg, params):
        self.cfg = cfg
        self.t = 0
        self.lr = f32(cfg["learning_rate"])
        name = cfg["name"]
        zeros = lambda: [torch.zeros_like(p) for p in params]
        if name == "sgd":
            self.mom = zeros()
        elif name == "rmsprop":
            self.vel = zeros()        # r
            self.mom = zeros()        # m (only if momentum > 0)
            self.avg = zeros()        # g-bar (only if centered)
        elif name == "adam":
            self.m = zeros()
            self.v = zeros()
        elif name == "adagrad":
            # NOTE: Keras' Adagrad accumulator starts at initial_accumulator_value
            # (0.1 by default), not at 0.
            iav = f32(cfg["initial_accumulator_value"])
            self.acc = [torch.full_like(p, float(iav)) for p in params]
        else:
            raise ValueError(name)

    @torch.no_grad()
    def apply(self, params, grads):
        c = self.cfg
        self.t += 1
        lr = self.lr
        name = c["name"]
        if name == "adam":
            t = torch.tensor(float(self.t), dtype=F32)
            b1p = torch.pow(f32(c["beta_1"]), t)
            b2p = torch.pow(f32(c["beta_2"]), t)
            alpha = lr * torch.sqrt(1 - b2p) / (1 - b1p)
        for i, (w, g) in enumerate(zip(params, grads)):
            if name == "sgd":
                mu = c["momentum"]
                if mu != 0:
                    mu = f32(mu)
                    # v = mu*v - lr*g
                    self.mom[i] = -g * lr + self.mom[i] * mu
                    if c["nesterov"]:
                        # w += mu*v_new - lr*g
                        w.add_(-g * lr + self.mom[i] * mu)
                    else:
                        w.add_(self.mom[i])
                else:
                    w.sub_(g * lr)
            elif name == "rmsprop":
                rho = f32(c["rho"])
                one_m_rho = f32(1.0 - c["rho"])
                eps = f32(c["epsilon"])
                self.vel[i] = rho * self.vel[i] + one_m_rho * (g * g)
                if c["centered"]:
                    self.avg[i] = rho * self.avg[i] + one_m_rho * g
                    denom = self.vel[i] - self.avg[i] * self.avg[i] + eps
                else:
                    denom = self.vel[i] + eps
                incr = (lr * g) / torch.sqrt(denom)       # eps INSIDE the sqrt
                if c["momentum"] > 0:
                    self.mom[i] = f32(c["momentum"]) * self.mom[i] + incr
                    w.sub_(self.mom[i])
                else:
                    w.sub_(incr)
            elif name == "adam":
                eps = f32(c["epsilon"])
                self.m[i] = self.m[i] + (g - self.m[i]) * f32(1.0 - c["beta_1"])
                self.v[i] = self.v[i] + (g * g - self.v[i]) * f32(1.0 - c["beta_2"])
                w.sub_((self.m[i] * alpha) / (torch.sqrt(self.v[i]) + eps))
            elif name == "adagrad":
                eps = f32(c["epsilon"])
                self.acc[i] = self.acc[i] + g * g
                w.sub_((lr * g) / torch.sqrt(self.acc[i] + eps))


# ---------------------------------------------------------------------------
# Training loop
# ---------------------------------------------------------------------------

def batches(n, bs):
    return [(s, min(s + bs, n)) for s in range(0, n, bs)]


def train(case, x_np, y_np, init, opt_factory):
    """One epoch, no shuffle. opt_factory(params) -> object with .apply/.step."""
    acts = [l["activation"] for l in case["layers"]]
    params = []
    for layer in init:
        w = torch.tensor(layer["kernel"], dtype=F32).requires_grad_(True)
        b = torch.tensor(layer["bias"], dtype=F32).requires_grad_(True)
        params.append((w, b))
    flat = [p for wb in params for p in wb]
    opt = opt_factory(flat)
    x = torch.tensor(x_np, dtype=F32)
    y = torch.tensor(y_np, dtype=(torch.int64 if y_np.dtype.kind == "i" else F32))
    losses = []
    for s, e in batches(len(x_np), case["batch_size"]):
        out, z = forward(x[s:e], params, acts)
        per = loss_fn(case["loss"], out, z, y[s:e], acts[-1])
        if "class_weight" in case:
            # Keras' class_weight: each sample's loss times the weight of its
            # class (argmax of a one-hot row), summed and divided by the batch
            # size (sum_over_batch_size, not the sum of the weights).
            cw = torch.tensor(case["class_weight"], dtype=F32)
            cls = y[s:e] if y.dtype == torch.int64 else y[s:e].argmax(-1)
            loss = (per * cw[cls]).sum() / f32(e - s)
        else:
            loss = per.mean()
        losses.append(float(loss.item()))          # float32 -> Python float
        grads = torch.autograd.grad(loss, flat)
        opt(flat, grads)
    final = [{"kernel": w.detach().numpy().copy(), "bias": b.detach().numpy().copy()}
             for w, b in params]
    return losses, final


@torch.no_grad()
def full_loss(case, x_np, y_np, ws):
    """Mean loss over the whole data set for the given weights (sanity check only)."""
    acts = [l["activation"] for l in case["layers"]]
    params = [(torch.tensor(w["kernel"], dtype=F32), torch.tensor(w["bias"], dtype=F32))
              for w in ws]
    x = torch.tensor(x_np, dtype=F32)
    y = torch.tensor(y_np, dtype=(torch.int64 if y_np.dtype.kind == "i" else F32))
    out, z = forward(x, params, acts)
    return float(loss_fn(case["loss"], out, z, y, acts[-1]).mean().item())


def keras_factory(cfg):
    def make(flat):
        o = KerasOptimizer(cfg, flat)
        return o.apply
    return make


# ---------------------------------------------------------------------------
# Case definitions and data
# ---------------------------------------------------------------------------

def glorot_uniform(rng, fan_in, fan_out):
    lim = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-lim, lim, size=(fan_in, fan_out)).astype(np.float32)


def make_data(rng, spec):
    """Random normal inputs; targets from a random 'teacher' so training makes progress."""
    n, d = spec["n"], spec["input_dim"]
    x = rng.standard_normal((n, d)).astype(np.float32)
    out_units = spec["layers"][-1]["units"]
    teacher = rng.standard_normal((d, out_units)).astype(np.float32)
    logits = x @ teacher + 0.5 * rng.standard_normal((n, out_units)).astype(np.float32)
    kind = spec["targets"]
    if kind == "onehot":
        y = np.eye(out_units, dtype=np.float32)[logits.argmax(-1)]
    elif kind == "onehot_random":
        # labels unrelated to x (used with the x50 inputs: the loss stays huge)
        y = np.eye(out_units, dtype=np.float32)[rng.randint(0, out_units, size=n)]
    elif kind == "sparse":
        y = logits.argmax(-1).astype(np.int64)
    elif kind == "multilabel":
        y = (logits > 0).astype(np.float32)
    elif kind == "regression":
        y = (0.3 * logits).astype(np.float32)
    else:
        raise ValueError(kind)
    x = (x * np.float32(spec.get("x_scale", 1.0))).astype(np.float32)
    return x, y


def make_init(rng, spec):
    init, fan_in = [], spec["input_dim"]
    for layer in spec["layers"]:
        k = glorot_uniform(rng, fan_in, layer["units"])
        if spec.get("random_bias"):
            b = rng.uniform(-0.1, 0.1, size=layer["units"]).astype(np.float32)
        else:
            b = np.zeros(layer["units"], dtype=np.float32)
        init.append({"kernel": k, "bias": b})
        fan_in = layer["units"]
    return init


def cce(semantics="logits", ls=0.0):
    return {"name": "categorical_crossentropy", "label_smoothing": ls, "semantics": semantics}


def sgd(lr, momentum=0.0, nesterov=False):
    return {"name": "sgd", "learning_rate": lr, "momentum": momentum, "nesterov": nesterov}


def rmsprop(lr, momentum=0.0, centered=False, rho=0.9, epsilon=1e-7):
    return {"name": "rmsprop", "learning_rate": lr, "rho": rho, "momentum": momentum,
            "epsilon": epsilon, "centered": centered}


def adam(lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    return {"name": "adam", "learning_rate": lr, "beta_1": beta_1, "beta_2": beta_2,
            "epsilon": epsilon}


def adagrad(lr, initial_accumulator_value=0.1, epsilon=1e-7):
    return {"name": "adagrad", "learning_rate": lr,
            "initial_accumulator_value": initial_accumulator_value, "epsilon": epsilon}


MLP = [{"units": 16, "activation": "relu"}, {"units": 4, "activation": "softmax"}]

# n / batch_size chosen so that the last batch is always partial (5..9 steps).
SPECS = [
    dict(name="dense_softmax_cce", input_dim=10, n=60, batch_size=8,        # 8 steps, last 4
         layers=[{"units": 5, "activation": "softmax"}], targets="onehot",
         loss=cce(), optimizer=sgd(0.1)),
    dict(name="dense_sigmoid_cce_logits", input_dim=20, n=55, batch_size=8,  # 7 steps, last 7
         layers=[{"units": 5, "activation": "sigmoid"}], targets="onehot_random", x_scale=50.0,
         loss=cce(), optimizer=sgd(0.05)),
    dict(name="dense_sigmoid_bce", input_dim=8, n=50, batch_size=8,          # 7 steps, last 2
         layers=[{"units": 3, "activation": "sigmoid"}], targets="multilabel", random_bias=True,
         loss={"name": "binary_crossentropy", "label_smoothing": 0.0, "semantics": "logits"},
         optimizer=sgd(0.1)),
    dict(name="mlp_relu_sgd_momentum", input_dim=20, n=70, batch_size=16,   # 5 steps, last 6
         layers=MLP, targets="onehot", loss=cce(), optimizer=sgd(0.05, momentum=0.9)),
    dict(name="mlp_relu_sgd_nesterov", input_dim=20, n=70, batch_size=16,
         layers=MLP, targets="onehot", loss=cce(),
         optimizer=sgd(0.05, momentum=0.9, nesterov=True)),
    dict(name="mlp_relu_rmsprop", input_dim=20, n=65, batch_size=8,         # 9 steps, last 1
         layers=MLP, targets="onehot", random_bias=True, loss=cce(), optimizer=rmsprop(0.01)),
    dict(name="mlp_relu_rmsprop_centered_momentum", input_dim=20, n=62, batch_size=8,  # 8, last 6
         layers=MLP, targets="onehot", random_bias=True, loss=cce(),
         optimizer=rmsprop(0.005, momentum=0.5, centered=True)),
    dict(name="mlp_relu_adam", input_dim=20, n=60, batch_size=8,            # 8 steps, last 4
         layers=MLP, targets="onehot", loss=cce(), optimizer=adam(0.01)),
    dict(name="mlp_tanh_adagrad", input_dim=14, n=58, batch_size=8,         # 8 steps, last 2
         layers=[{"units": 12, "activation": "tanh"}, {"units": 3, "activation": "softmax"}],
         targets="onehot", random_bias=True, loss=cce(), optimizer=adagrad(0.05)),
    dict(name="dense_softmax_cce_probabilities", input_dim=10, n=60, batch_size=8,
         layers=[{"units": 5, "activation": "softmax"}], targets="onehot",
         loss=cce(semantics="probabilities"), optimizer=sgd(0.1)),
    dict(name="dense_softmax_cce_label_smoothing", input_dim=10, n=60, batch_size=8,
         layers=[{"units": 5, "activation": "softmax"}], targets="onehot",
         loss=cce(ls=0.1), optimizer=sgd(0.1)),
    dict(name="mlp_mse", input_dim=6, n=52, batch_size=8,                   # 7 steps, last 4
         layers=[{"units": 8, "activation": "relu"}, {"units": 2, "activation": "linear"}],
         targets="regression", random_bias=True,
         loss={"name": "mean_squared_error"}, optimizer=adam(0.01)),
    dict(name="sparse_cce", input_dim=16, n=67, batch_size=16,              # 5 steps, last 3
         layers=MLP, targets="sparse",
         loss={"name": "sparse_categorical_crossentropy", "semantics": "logits"},
         optimizer=sgd(0.05)),
    dict(name="class_weight_cce", input_dim=10, n=60, batch_size=8,         # 8 steps, last 4
         layers=MLP, targets="onehot", loss=cce(), optimizer=sgd(0.1),
         class_weight=[1.0, 3.0, 0.5, 2.0]),
    dict(name="class_weight_sparse_adam", input_dim=16, n=67, batch_size=16,  # 5 steps, last 3
         layers=MLP, targets="sparse",
         loss={"name": "sparse_categorical_crossentropy", "semantics": "logits"},
         optimizer=adam(0.01), class_weight=[0.25, 1.0, 4.0, 1.5]),
]


def to_list(a):
    """numpy array -> nested lists of Python floats (exact float32 values) or ints."""
    a = np.asarray(a)
    if a.dtype.kind == "i":
        return [int(v) for v in a.tolist()]
    assert a.dtype == np.float32, a.dtype
    return a.astype(np.float64).tolist()   # float32 -> float64 is exact


def weights_json(ws):
    return [{"kernel": to_list(w["kernel"]), "bias": to_list(w["bias"])} for w in ws]


# ---------------------------------------------------------------------------
# Cross-check of the manual update code against torch.optim
# ---------------------------------------------------------------------------

def torch_factory(cfg):
    """torch.optim equivalents.  Exact for SGD (incl. momentum/nesterov when lr is
    constant); approximate for the others because of epsilon placement:
      Adam:    torch  w -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps)
               keras  w -= lr*sqrt(bc2)/bc1 * m / (sqrt(v) + eps)
      RMSprop: torch  sqrt(r) + eps       keras sqrt(r + eps)
      Adagrad: torch  sqrt(a) + eps       keras sqrt(a + eps)
    """
    name = cfg["name"]

    def make(flat):
        if name == "sgd":
            o = torch.optim.SGD(flat, lr=cfg["learning_rate"], momentum=cfg["momentum"],
                                nesterov=cfg["nesterov"])
        elif name == "adam":
            o = torch.optim.Adam(flat, lr=cfg["learning_rate"],
                                 betas=(cfg["beta_1"], cfg["beta_2"]), eps=cfg["epsilon"])
        elif name == "rmsprop":
            o = torch.optim.RMSprop(flat, lr=cfg["learning_rate"], alpha=cfg["rho"],
                                    eps=cfg["epsilon"], momentum=cfg["momentum"],
                                    centered=cfg["centered"])
        elif name == "adagrad":
            o = torch.optim.Adagrad(flat, lr=cfg["learning_rate"], eps=cfg["epsilon"],
                                    initial_accumulator_value=cfg["initial_accumulator_value"])

        def step(params, grads):
            for p, g in zip(params, grads):
                p.grad = g.clone()
            o.step()
        return step
    return make


def max_abs_diff(ws_a, ws_b):
    m = 0.0
    for a, b in zip(ws_a, ws_b):
        for k in ("kernel", "bias"):
            m = max(m, float(np.max(np.abs(a[k].astype(np.float64) - b[k].astype(np.float64)))))
    return m


def main():
    cases, summary = [], []
    for idx, spec in enumerate(SPECS):
        rng = np.random.RandomState(1000 + idx)   # one fixed seed per case
        x, y = make_data(rng, spec)
        init = make_init(rng, spec)
        case = {
            "name": spec["name"],
            "input_dim": spec["input_dim"],
            "layers": spec["layers"],
            "loss": spec["loss"],
            "optimizer": spec["optimizer"],
            "batch_size": spec["batch_size"],
        }
        if "class_weight" in spec:
            case["class_weight"] = spec["class_weight"]
        losses, final = train(case, x, y, init, keras_factory(spec["optimizer"]))
        assert all(np.isfinite(losses)), spec["name"]
        full_before = full_loss(case, x, y, init)
        full_after = full_loss(case, x, y, final)

        # Cross-check against torch.optim (not stored in the fixture).
        t_losses, t_final = train(case, x, y, init, torch_factory(spec["optimizer"]))
        summary.append((spec["name"], spec["optimizer"]["name"], len(losses),
                        losses[0], losses[-1], full_before, full_after,
                        max_abs_diff(final, t_final),
                        max(abs(a - b) for a, b in zip(losses, t_losses))))

        case.update({
            "x": to_list(x),
            "y": to_list(y),
            "initial_weights": weights_json(init),
            "step_losses": losses,
            "final_weights": weights_json(final),
        })
        cases.append(case)

    doc = {"generator": "testdata/golden/gen_golden.py",
           "torch_version": torch.__version__,
           "cases": cases}
    with open(OUT, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")

    print(f"torch {torch.__version__}, numpy {np.__version__}")
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes, {len(cases)} cases)")
    print()
    print("first/last = step losses (batch losses, noisy); full before/after = loss on the")
    print("whole data set with the initial/final weights (sanity only, not stored).")
    print(f"{'case':36s} {'opt':8s} {'steps':>5s} {'first loss':>12s} {'last loss':>12s}"
          f" {'full before':>12s} {'full after':>12s} {'|dW| vs torch.optim':>20s} {'|dloss|':>10s}")
    for name, opt, n, l0, l1, fb, fa, dw, dl in summary:
        print(f"{name:36s} {opt:8s} {n:5d} {l0:12.6f} {l1:12.6f} {fb:12.6f} {fa:12.6f}"
              f" {dw:20.3e} {dl:10.3e}")
    print()
    print("SGD rows (plain/momentum/nesterov) should agree with torch.optim to float32 rounding;")
    print("Adam/RMSprop/Adagrad differ slightly because torch puts epsilon outside the sqrt")
    print("(and Adam scales it by sqrt(1-beta_2^t)).")

    # Stronger checks: with epsilon = 0 the Keras and torch.optim formulas for
    # Adam / RMSprop / Adagrad coincide algebraically, so only float32 rounding
    # differences remain.  (RMSprop with eps=0 needs gradients that are never
    # exactly 0, so it is checked on the tanh network, which has no dead units.)
    print()
    checks = [("mlp_relu_adam", None), ("mlp_mse", None),
              ("mlp_tanh_adagrad", None),
              ("mlp_tanh_adagrad", rmsprop(0.01)),
              ("mlp_tanh_adagrad", rmsprop(0.005, momentum=0.5, centered=True))]
    for spec_name, opt_override in checks:
        idx = [s["name"] for s in SPECS].index(spec_name)
        spec = SPECS[idx]
        rng = np.random.RandomState(1000 + idx)
        x, y = make_data(rng, spec)
        init = make_init(rng, spec)
        cfg = dict(opt_override or spec["optimizer"], epsilon=0.0)
        case = {"layers": spec["layers"], "loss": spec["loss"], "batch_size": spec["batch_size"]}
        la, fa = train(case, x, y, init, keras_factory(cfg))
        lb, fb = train(case, x, y, init, torch_factory(cfg))
        desc = f"{cfg['name']}" + (" centered+momentum" if cfg.get("centered") else "")
        print(f"eps=0 check {desc:28s} on {spec_name:18s}: max |dW| manual vs torch.optim = "
              f"{max_abs_diff(fa, fb):.3e}, max |dloss| = "
              f"{max(abs(a - b) for a, b in zip(la, lb)):.3e}")


if __name__ == "__main__":
    main()
