#!/usr/bin/python3
"""Writes batchnorm.json, the golden values TestBatchNormGolden compares
kiln's BatchNormalization with.

Run with Debian's python3 and python3-torch (apt-get install python3-torch):

    /usr/bin/python3 layers/testdata/batchnorm/gen_batchnorm.py

Inputs, gamma, beta, the moving statistics and the output gradient come from
fixed formulas (sines of the flat index) rounded to float32 and are stored
in the file. PyTorch computes in float64 on those values, channels_last
inputs permuted to channels-first for F.batch_norm:

- training: y = F.batch_norm(x, None, None, gamma, beta, training=True, eps),
  which normalises by the biased batch variance as Keras does; dx, dgamma
  and dbeta by autograd of sum(y * dy);
- the moving statistics after that step, with Keras 3's rule
  moving·momentum + batch·(1 − momentum) and the *biased* batch variance
  (PyTorch's own running_var would use the unbiased one, so it is computed
  here from torch.var_mean(unbiased=False));
- inference: F.batch_norm with the moving statistics before the step.
"""
import json
import math
import os

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


def f32(v):
    return float(torch.tensor(v, dtype=torch.float32).item())


def s9(vs):
    return [float("%.9g" % v) for v in vs]


def g9(t):
    return s9(t.detach().flatten().tolist())


def values(n, a, b, scale, offset=0.0):
    return [f32(offset + scale * math.sin(a * i + b)) for i in range(n)]


def case(name, shape, momentum, epsilon, center, scale, seed):
    c = shape[-1]
    size = math.prod(shape)
    # Channels with different means and spreads, as real activations have.
    x = [f32(v * (1 + (i % c)) + 0.5 * (i % c)) for i, v in enumerate(values(size, 0.41 + 0.01 * seed, 0.2 * seed, 1.0))]
    gamma = values(c, 0.9, 0.3 + seed, 0.5, 1.0) if scale else [1.0] * c
    beta = values(c, 0.7, 0.1 + seed, 0.3) if center else [0.0] * c
    mmean = values(c, 0.5, 0.7 + seed, 0.4)
    mvar = values(c, 0.6, 0.2 + seed, 0.5, 1.2)
    dy = values(size, 0.23, 0.05 * seed, 1.0)

    rank = len(shape)
    perm = [0, rank - 1] + list(range(1, rank - 1))  # NHWC → NCHW
    inv = [0] + list(range(2, rank)) + [1]           # NCHW → NHWC
    xt = torch.tensor(x).reshape(shape).permute(perm).contiguous().requires_grad_(True)
    g = torch.tensor(gamma, requires_grad=True)
    b = torch.tensor(beta, requires_grad=True)
    y = F.batch_norm(xt, None, None, g, b, training=True, eps=epsilon)
    dyt = torch.tensor(dy).reshape(shape).permute(perm)
    (y * dyt).sum().backward()

    axes = [0] + list(range(2, rank))
    var, mean = torch.var_mean(xt.detach(), dim=axes, unbiased=False)
    mm = torch.tensor(mmean) * momentum + mean * (1 - momentum)
    mv = torch.tensor(mvar) * momentum + var * (1 - momentum)

    yi = F.batch_norm(xt.detach(), torch.tensor(mmean), torch.tensor(mvar), torch.tensor(gamma), torch.tensor(beta),
                      training=False, eps=epsilon)
    return {
        "name": name, "shape": shape, "momentum": momentum, "epsilon": epsilon, "center": center, "scale": scale,
        "x": s9(x), "gamma": s9(gamma), "beta": s9(beta), "moving_mean": s9(mmean), "moving_variance": s9(mvar),
        "dy": s9(dy),
        "y": g9(y.permute(inv)), "dx": g9(xt.grad.permute(inv)), "dgamma": g9(g.grad), "dbeta": g9(b.grad),
        "new_moving_mean": g9(mm), "new_moving_variance": g9(mv), "y_inference": g9(yi.permute(inv)),
    }


cases = [
    case("dense_out", [16, 5], 0.99, 1e-3, True, True, 1),
    case("images", [4, 5, 6, 3], 0.99, 1e-3, True, True, 2),
    case("images_momentum_eps", [3, 4, 4, 8], 0.9, 1e-5, True, True, 3),
    case("no_center_no_scale", [8, 7], 0.99, 1e-3, False, False, 4),
    case("scale_only", [2, 3, 3, 4], 0.5, 0.01, False, True, 5),
]
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "batchnorm.json")
with open(out, "w") as f:
    json.dump({"generator": "gen_batchnorm.py", "torch": torch.__version__, "cases": cases}, f, separators=(",", ":"))
    f.write("\n")
print("wrote", out)
