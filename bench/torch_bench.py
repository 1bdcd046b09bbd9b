"""PyTorch version of `kiln bench`'s workloads, for `kiln bench --vs-torch`.

Usage: python3 torch_bench.py --mnist DIR [--workload seed|mlp|mlp512|cnn|cnn-bn] [--epochs N] [--threads T] [--default-malloc]
       python3 torch_bench.py --probe [--threads T]

seed: the question's program. MNIST 60000 rows of raw uint8 pixels (not
      normalised), Linear(784, 10) whose sigmoid output is never used in
      training (Keras' TF backend computes categorical_crossentropy from the
      logits), cross-entropy on the logits, SGD lr 0.01, batch 32, shuffled
      every epoch; validation on the 10000 test rows in batches of 32.
mlp:  pixels / 255, Linear(784, 128) + ReLU + Linear(128, 10), softmax
mlp512: Keras' mnist_mlp: pixels / 255, Linear(784, 512) + ReLU + Dropout(0.2) +
      Linear(512, 512) + ReLU + Dropout(0.2) + Linear(512, 10), RMSprop
      (lr 0.001, alpha 0.9, eps 1e-7: Keras' rho and epsilon), batch 128
      cross-entropy on the logits, Adam (lr 0.001, eps 1e-7 as Keras), batch 32.
cnn:  pixels / 255 as (N, 1, 28, 28), Conv2d(1, 32, 3) + ReLU + MaxPool2d(2) +
      Flatten + Linear(5408, 10), softmax cross-entropy on the logits, Adam
      (lr 0.001, eps 1e-7), batch 128 (validation in batches of 128 too).
      PyTorch's NCHW layout flattens (channel, row, column) where kiln's
      channels_last flattens (row, column, channel); that only permutes the
      Linear layer's inputs. Every step allocates new 11 MB activations; with
      glibc's default settings each is mmap'd and unmapped again, and the
      page faults cost PyTorch 4-5x its compute (127 against 28 ms/step on
      a 2-core AVX-512 VM), so for cnn the script sets glibc's mmap and trim
      thresholds (mallopt) to keep freed memory for reuse, as kiln does by
      allocating its buffers once; --default-malloc keeps glibc's settings.
cnn-bn: cnn with Conv2d(1, 32, 3, bias=False) + BatchNorm2d(32, eps=1e-3,
      momentum=0.01, i.e. Keras' 0.99) + ReLU; malloc tuned as for cnn.

The data stay uint8 and each batch is gathered and converted to float32
(scaled for mlp), as kiln does. One JSON object per line is printed: one per
epoch ({"epoch", "train", "validation", "total", "loss", "accuracy",
"val_loss", "val_accuracy"}), then a summary ({"torch", "threads", "blas"}).
--probe prints only the summary, without training.

"blas" says which BLAS library PyTorch's float32 matrix products call: Debian's
PyTorch is built with BLAS_INFO=generic and calls sgemm_ from libblas.so.3,
which is netlib's reference BLAS or OpenBLAS depending on the system's
alternatives, LD_LIBRARY_PATH and LD_PRELOAD. The script resolves sgemm_ as
the dynamic loader does for libtorch_cpu (the global scope first, then
libtorch_cpu's own dependencies) and reports its address with the process's
/proc/self/maps (its executable segments), so that `kiln bench` can name the
file that holds it; plus OpenBLAS's own report (openblas_get_config,
openblas_get_corename, openblas_get_num_threads) when OpenBLAS is loaded, and
torch's BLAS_INFO build setting.
"""

import argparse
import ctypes
import ctypes.util
import gzip
import json
import os
import re
import time

import numpy as np
import torch


def load_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def glorot_(w, gen):
    # Keras' glorot_uniform: for a convolution the fans are multiplied by
    # the receptive field (kh·kw).
    fan_out, fan_in = w.shape[0], w.shape[1]
    rf = 1
    for d in w.shape[2:]:
        rf *= d
    limit = (6.0 / (fan_in * rf + fan_out * rf)) ** 0.5
    with torch.no_grad():
        w.uniform_(-limit, limit, generator=gen)


def tune_malloc():
    """Keep freed memory in glibc's heap for reuse (see cnn above)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    libc.mallopt(m_mmap_threshold, 32 << 20)  # glibc's largest allowed value
    libc.mallopt(m_trim_threshold, 1 << 30)


def _symbol(lib, name, restype):
    try:
        f = getattr(lib, name)
    except AttributeError:
        return None
    f.restype = restype
    return f


def blas_info():
    """Which BLAS a float32 matrix product runs on (see the module doc)."""
    a = torch.ones(64, 64)
    torch.mm(a, a)  # make sure the BLAS is loaded and initialised
    maps = []  # the executable segments of mapped files: sgemm_ is code
    with open("/proc/self/maps") as f:
        for line in f:
            parts = line.split(None, 5)
            if len(parts) == 6 and "x" in parts[1] and parts[5].startswith("/"):
                maps.append(line.rstrip("\n"))
    libs = []
    try:
        libs.append(ctypes.CDLL(None))
    except OSError:
        pass
    for line in maps:
        path = line.split(None, 5)[5].strip()
        if os.path.basename(path).startswith("libtorch_cpu.so"):
            try:
                libs.append(ctypes.CDLL(path))
            except OSError:
                pass
            break
    sgemm, config, core, nthreads = 0, "", "", 0
    for lib in libs:
        f = _symbol(lib, "sgemm_", ctypes.c_void_p)
        if f is not None and not sgemm:
            sgemm = ctypes.cast(f, ctypes.c_void_p).value or 0
        g = _symbol(lib, "openblas_get_config", ctypes.c_char_p)
        if g is not None and not config:
            config = g().decode(errors="replace")
            c = _symbol(lib, "openblas_get_corename", ctypes.c_char_p)
            core = c().decode(errors="replace") if c is not None else ""
            n = _symbol(lib, "openblas_get_num_threads", ctypes.c_int)
            nthreads = n() if n is not None else 0
    build = re.search(r"BLAS_INFO=([^,\s]+)", torch.__config__.show())
    return {"sgemm": sgemm, "maps": "\n".join(maps), "openblas_config": config, "openblas_core": core,
            "openblas_threads": nthreads, "blas_info": build.group(1) if build else "",
            "mkl": bool(torch.backends.mkl.is_available()),
            "coretype_env": os.environ.get("OPENBLAS_CORETYPE", "")}


def summary():
    return json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "blas": blas_info()})


def set_threads(n):
    torch.set_num_threads(n)
    try:
        torch.set_num_interop_threads(n)
    except RuntimeError:
        pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mnist")
    ap.add_argument("--probe", action="store_true", help="print the summary (versions, threads, BLAS) and exit")
    ap.add_argument("--workload", default="seed", choices=["seed", "mlp", "mlp512", "cnn", "cnn-bn"])
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--default-malloc", action="store_true", help="cnn: keep glibc's malloc settings")
    a = ap.parse_args()
    if a.probe:
        set_threads(a.threads)
        print(summary(), flush=True)
        return
    if not a.mnist:
        ap.error("--mnist is required")
    if a.workload in ("cnn", "cnn-bn") and not a.default_malloc:
        tune_malloc()

    set_threads(a.threads)
    gen = torch.Generator().manual_seed(1)

    def idx(name):
        return torch.from_numpy(load_idx(os.path.join(a.mnist, name)).copy())

    x_train = idx("train-images-idx3-ubyte.gz").reshape(60000, 784)  # uint8
    y_train = idx("train-labels-idx1-ubyte.gz").long()
    x_test = idx("t10k-images-idx3-ubyte.gz").reshape(10000, 784)
    y_test = idx("t10k-labels-idx1-ubyte.gz").long()

    batch, shape = 32, (-1, 784)
    if a.workload == "seed":
        scale = 1.0
        model = torch.nn.Linear(784, 10)
        layers = [model]
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
    elif a.workload == "mlp512":
        scale, batch = 1.0 / 255, 128
        l1, l2, l3 = torch.nn.Linear(784, 512), torch.nn.Linear(512, 512), torch.nn.Linear(512, 10)
        layers = [l1, l2, l3]
        model = torch.nn.Sequential(l1, torch.nn.ReLU(), torch.nn.Dropout(0.2), l2, torch.nn.ReLU(), torch.nn.Dropout(0.2), l3)
        opt = torch.optim.RMSprop(model.parameters(), lr=0.001, alpha=0.9, eps=1e-7)
    elif a.workload == "cnn":
        scale, batch, shape = 1.0 / 255, 128, (-1, 1, 28, 28)
        conv, lin = torch.nn.Conv2d(1, 32, 3), torch.nn.Linear(32 * 13 * 13, 10)
        layers = [conv, lin]
        model = torch.nn.Sequential(conv, torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(), lin)
        opt = torch.optim.Adam(model.parameters(), lr=0.001, eps=1e-7)
    elif a.workload == "cnn-bn":
        scale, batch, shape = 1.0 / 255, 128, (-1, 1, 28, 28)
        conv, lin = torch.nn.Conv2d(1, 32, 3, bias=False), torch.nn.Linear(32 * 13 * 13, 10)
        layers = [conv, lin]
        bn = torch.nn.BatchNorm2d(32, eps=1e-3, momentum=0.01)
        model = torch.nn.Sequential(conv, bn, torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(), lin)
        opt = torch.optim.Adam(model.parameters(), lr=0.001, eps=1e-7)
    else:
        scale = 1.0 / 255
        l1, l2 = torch.nn.Linear(784, 128), torch.nn.Linear(128, 10)
        layers = [l1, l2]
        model = torch.nn.Sequential(l1, torch.nn.ReLU(), l2)
        opt = torch.optim.Adam(model.parameters(), lr=0.001, eps=1e-7)
    for l in layers:
        glorot_(l.weight, gen)
        if l.bias is not None:
            torch.nn.init.zeros_(l.bias)

    def batch_x(x, rows):
        b = x[rows].float()
        b = b if scale == 1.0 else b * scale
        return b.reshape(shape)

    n = x_train.shape[0]
    loss_fn = torch.nn.functional.cross_entropy
    for epoch in range(a.epochs):
        t0 = time.perf_counter()
        order = torch.randperm(n, generator=gen)
        model.train()  # BatchNorm2d: batch statistics
        loss_sum, correct = 0.0, 0
        for lo in range(0, n, batch):
            rows = order[lo:lo + batch]
            xb, yb = batch_x(x_train, rows), y_train[rows]
            logits = model(xb)
            loss = loss_fn(logits, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(rows)
            correct += (logits.argmax(1) == yb).sum().item()
        t1 = time.perf_counter()
        vloss, vcorrect = 0.0, 0
        model.eval()  # BatchNorm2d: running statistics, as Keras validates
        with torch.no_grad():
            for lo in range(0, x_test.shape[0], batch):
                xb = batch_x(x_test, slice(lo, lo + batch))
                yb = y_test[lo:lo + batch]
                logits = model(xb)
                vloss += loss_fn(logits, yb).item() * len(yb)
                vcorrect += (logits.argmax(1) == yb).sum().item()
        t2 = time.perf_counter()
        print(json.dumps({"epoch": epoch + 1, "train": t1 - t0, "validation": t2 - t1, "total": t2 - t0,
                          "loss": loss_sum / n, "accuracy": correct / n,
                          "val_loss": vloss / x_test.shape[0], "val_accuracy": vcorrect / x_test.shape[0]}),
              flush=True)
    print(summary(), flush=True)


if __name__ == "__main__":
    main()
