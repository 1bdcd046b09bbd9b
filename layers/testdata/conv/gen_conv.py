#!/usr/bin/python3
"""Writes conv.json, the golden values TestConvGolden compares kiln with.

Run with Debian's python3 and python3-torch (apt-get install python3-torch):

    /usr/bin/python3 layers/testdata/conv/gen_conv.py

Inputs, kernels, biases and output gradients come from fixed formulas
(sines of the flat index), rounded to float32, and are stored in the file, so
nothing depends on a random generator. PyTorch computes in float64 on those
float32 values: NHWC is permuted to NCHW, a Keras kernel (kh, kw, cin, cout)
to (cout, cin, kh, kw), and TensorFlow's "same" padding (pad_total =
max((out-1)*stride + k - in, 0), the smaller half before) is applied
explicitly with F.pad (zeros for Conv2D, -inf for max pooling, so padded
cells never win). The loss is sum(y * dy), so the gradients are those of a
backward pass given dLoss/dy = dy.
"""
import json
import math
import os

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


def f32(v):
    """Rounds a float to the nearest float32 (kept as a Python float)."""
    return float(torch.tensor(v, dtype=torch.float32).item())


def g9(t):
    """A tensor's values, flattened, to 9 significant digits (a float32's
    precision, far finer than the test's tolerance; keeps the file small)."""
    return s9(t.detach().flatten().tolist())


def s9(vs):
    """Floats to 9 significant digits: a float32 survives that exactly when
    read back as float32, as the Go test reads the inputs."""
    return [float("%.9g" % v) for v in vs]


def values(n, a, b, scale):
    return [f32(scale * math.sin(a * i + b)) for i in range(n)]


def tf_pad(size, k, s, padding):
    if padding == "valid":
        return (size - k) // s + 1, 0, 0
    out = (size + s - 1) // s
    total = max((out - 1) * s + k - size, 0)
    return out, total // 2, total - total // 2


def conv_case(name, shape, filters, ksize, strides, padding, activation, use_bias, seed):
    n, h, w, c = shape
    kh, kw = ksize
    x = values(n * h * w * c, 0.37 + 0.01 * seed, 0.11 * seed, 1.0)
    kern = values(kh * kw * c * filters, 0.53 + 0.01 * seed, 0.7 + seed, 0.4)
    bias = values(filters, 1.3, 0.2 * seed, 0.5) if use_bias else []
    oh, pt, pb = tf_pad(h, kh, strides[0], padding)
    ow, pl, pr = tf_pad(w, kw, strides[1], padding)
    dy = values(n * oh * ow * filters, 0.29 + 0.01 * seed, 0.5 * seed, 1.0)

    xt = torch.tensor(x).reshape(n, h, w, c).requires_grad_()
    kt = torch.tensor(kern).reshape(kh, kw, c, filters).requires_grad_()
    bt = torch.tensor(bias).requires_grad_() if use_bias else None
    xn = F.pad(xt.permute(0, 3, 1, 2), (pl, pr, pt, pb))
    z = F.conv2d(xn, kt.permute(3, 2, 0, 1), bt, stride=tuple(strides))
    z = z.permute(0, 2, 3, 1)  # NHWC
    assert tuple(z.shape) == (n, oh, ow, filters), z.shape
    if activation == "relu":
        # Keep pre-activations away from 0: a float32 rounding must not flip relu.
        assert z.detach().abs().min().item() > 1e-4, name
        y = torch.relu(z)
    else:
        assert activation == "linear"
        y = z
    (y * torch.tensor(dy).reshape(y.shape)).sum().backward()
    case = {
        "name": name, "layer": "Conv2D", "input_shape": [n, h, w, c],
        "filters": filters, "kernel_size": list(ksize), "strides": list(strides),
        "padding": padding, "activation": activation, "use_bias": use_bias,
        "output_shape": [n, oh, ow, filters],
        "x": s9(x), "kernel": s9(kern), "bias": s9(bias), "dy": s9(dy),
        "y": g9(y),
        "dx": g9(xt.grad),
        "dkernel": g9(kt.grad),
        "dbias": g9(bt.grad) if use_bias else [],
    }
    return case


def pool_case(name, shape, psize, strides, padding, seed):
    n, h, w, c = shape
    x = values(n * h * w * c, 0.731 + 0.01 * seed, 0.3 * seed, 1.0)
    # Distinct values: no ties for the gradient to choose between.
    assert len(set(x)) == len(x), name
    oh, pt, pb = tf_pad(h, psize[0], strides[0], padding)
    ow, pl, pr = tf_pad(w, psize[1], strides[1], padding)
    dy = values(n * oh * ow * c, 0.41, 0.1 * seed, 1.0)
    xt = torch.tensor(x).reshape(n, h, w, c).requires_grad_()
    xn = F.pad(xt.permute(0, 3, 1, 2), (pl, pr, pt, pb), value=-math.inf)
    y = F.max_pool2d(xn, tuple(psize), stride=tuple(strides)).permute(0, 2, 3, 1)
    assert tuple(y.shape) == (n, oh, ow, c), y.shape
    assert torch.isfinite(y).all(), name
    (y * torch.tensor(dy).reshape(y.shape)).sum().backward()
    return {
        "name": name, "layer": "MaxPooling2D", "input_shape": [n, h, w, c],
        "pool_size": list(psize), "strides": list(strides), "padding": padding,
        "output_shape": [n, oh, ow, c],
        "x": s9(x), "dy": s9(dy),
        "y": g9(y),
        "dx": g9(xt.grad),
    }


def main():
    cases = [
        conv_case("valid_s1", (2, 7, 6, 3), 4, (3, 3), (1, 1), "valid", "linear", True, 1),
        conv_case("same_s2", (2, 7, 6, 3), 4, (3, 3), (2, 2), "same", "linear", True, 2),
        conv_case("same_s1", (2, 7, 6, 3), 4, (3, 3), (1, 1), "same", "linear", True, 3),
        conv_case("k1x1", (2, 7, 6, 3), 5, (1, 1), (1, 1), "valid", "linear", True, 4),
        conv_case("k2x3_s12_same_relu_nobias", (2, 7, 6, 3), 4, (2, 3), (1, 2), "same", "relu", False, 5),
        conv_case("k4x2_s21_valid_wide", (1, 8, 5, 40), 3, (4, 2), (2, 1), "valid", "linear", True, 6),
        pool_case("pool2x2_valid", (2, 7, 6, 3), (2, 2), (2, 2), "valid", 1),
        pool_case("pool3x3_s2_same", (2, 7, 6, 3), (3, 3), (2, 2), "same", 2),
        pool_case("pool2x3_s1_same", (1, 5, 4, 2), (2, 3), (1, 1), "same", 3),
    ]
    out = {"generator": "gen_conv.py", "torch": torch.__version__, "cases": cases}
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "conv.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=None, separators=(",", ":"))
        f.write("\n")
    print("wrote", path, len(cases), "cases")


if __name__ == "__main__":
    main()
