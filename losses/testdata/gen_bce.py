"""Golden values for kiln's binary_crossentropy on probabilities.

Keras 3 (every backend) and TensorFlow.js compute binary cross-entropy on
probabilities as -[y·log(clip(p)) + (1-y)·log(1-clip(p))], clip to
[1e-7, 1-1e-7], mean over the last axis, then over the batch. This script
writes that loss and its gradient with respect to p, computed by PyTorch
(the formula of keras/src/backend/torch/nn.py binary_crossentropy), in
float32, for predictions that include values near and beyond the clip.

Run with Debian's python3-torch: /usr/bin/python3 gen_bce.py > bce.json
"""
import json

import torch

torch.manual_seed(7)
eps = 1e-7
cases = []
for n, c, soft in [(4, 3, False), (5, 1, False), (3, 4, True)]:
    p = torch.rand(n, c, dtype=torch.float32)
    # Values the clip bites on, and values next to it.
    p.view(-1)[0] = 0.0
    p.view(-1)[1] = 1.0
    p.view(-1)[2] = 3e-8
    if n * c > 4:
        p.view(-1)[3] = 1 - 1e-3
    if soft:
        y = torch.rand(n, c, dtype=torch.float32)
    else:
        y = (torch.rand(n, c) > 0.5).to(torch.float32)
    p.requires_grad_(True)
    q = torch.clamp(p, eps, 1 - eps)
    bce = -(y * torch.log(q) + (1 - y) * torch.log(1 - q))
    loss = bce.mean(dim=-1).mean()
    loss.backward()
    cases.append({
        "n": n, "c": c,
        "pred": p.detach().view(-1).tolist(),
        "y": y.view(-1).tolist(),
        "loss": loss.item(),
        "grad": p.grad.view(-1).tolist(),
    })
print(json.dumps({"torch": torch.__version__, "cases": cases}, indent=1))
