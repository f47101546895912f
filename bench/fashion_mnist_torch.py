#!/usr/bin/python3
"""PyTorch eager doing what examples/fashion_mnist does, for the side-by-side benchmark
(bench/fashion_mnist.sh): the same models, initializations' distributions, hyperparameters and
data order (Kiln's DataLoader permutation, re-implemented below), pixels / 255, 2 threads.
Prints one line per epoch and a final JSON line for the comparison script.

  OMP_NUM_THREADS=2 /usr/bin/python3 bench/fashion_mnist_torch.py [--model mlp|cnn] [--epochs N]
"""
import argparse
import gzip
import json
import os
import struct
import time

import numpy as np
import torch
import torch.nn as nn

MASK = (1 << 64) - 1


def kiln_order(n, seed, epoch):
    """kiln::data::DataLoader::order: Fisher-Yates driven by splitmix64."""
    state = (seed ^ (epoch * 0x9E3779B97F4A7C15)) & MASK
    order = list(range(n))
    for i in range(n - 1, 0, -1):
        state = (state + 0x9E3779B97F4A7C15) & MASK
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        z ^= z >> 31
        j = z % (i + 1)
        order[i], order[j] = order[j], order[i]
    return order


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    rank = raw[3]
    shape = struct.unpack(">" + "I" * rank, raw[4:4 + 4 * rank])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * rank).reshape(shape)


def load(root, prefix):
    def find(name):
        p = os.path.join(root, name)
        return p if os.path.exists(p) else p + ".gz"
    x = torch.from_numpy(read_idx(find(prefix + "-images-idx3-ubyte")).copy()).float() / 255
    y = torch.from_numpy(read_idx(find(prefix + "-labels-idx1-ubyte")).copy()).long()
    return x.unsqueeze(1), y


def write_safetensors(path, tensors):
    """The safetensors format by hand (json + struct): f32 tensors, contiguous offsets."""
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        data = t.detach().contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (size,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + size])
    out = {}
    for name, h in header.items():
        if name == "__metadata__":
            continue
        assert h["dtype"] == "F32", f"{name}: only F32 is read here"
        begin, end = h["data_offsets"]
        data = np.frombuffer(raw, dtype="<f4", count=(end - begin) // 4, offset=8 + size + begin)
        out[name] = torch.from_numpy(data.copy()).reshape(h["shape"])
    return out


def model_for(kind):
    if kind == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512),
                             nn.ReLU(), nn.Linear(512, 10))
    return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(1568, 10))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="mlp", choices=["mlp", "cnn"])
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--init", help="start from these weights (safetensors, as Kiln writes them)")
    ap.add_argument("--write-init", help="write the initial weights here (safetensors) and stop")
    args = ap.parse_args()
    epochs = args.epochs or (5 if args.model == "mlp" else 2)
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    torch.manual_seed(args.seed)
    xtr, ytr = load(args.data, "train")
    xte, yte = load(args.data, "t10k")
    model = model_for(args.model)
    if args.write_init:
        write_safetensors(args.write_init, model.state_dict())
        return
    if args.init:
        model.load_state_dict(read_safetensors(args.init))
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    results = []
    for epoch in range(epochs):
        order = torch.tensor(kiln_order(len(ytr), args.seed, epoch))
        start = time.perf_counter()
        total, batches = 0.0, 0
        for b in range(0, len(order), args.batch_size):
            idx = order[b:b + args.batch_size]
            opt.zero_grad()
            loss = loss_fn(model(xtr[idx]), ytr[idx])
            loss.backward()
            opt.step()
            total += loss.item()
            batches += 1
        seconds = time.perf_counter() - start
        with torch.no_grad():
            model.eval()
            right = sum(int((model(xte[i:i + 1000]).argmax(1) == yte[i:i + 1000]).sum())
                        for i in range(0, len(yte), 1000))
            model.train()
        results.append({"loss": total / batches, "accuracy": right / len(yte), "seconds": seconds,
                        "samples_per_second": len(ytr) / seconds})
        r = results[-1]
        print(f"epoch {epoch + 1}/{epochs}: train loss {r['loss']:.4f}, test accuracy "
              f"{r['accuracy']:.4f}, {seconds:.2f} s, {r['samples_per_second']:.0f} samples/s "
              f"(PyTorch {torch.__version__}, {torch.get_num_threads()} threads)", flush=True)
    print("RESULT " + json.dumps({"model": args.model, "epochs": results}))


if __name__ == "__main__":
    main()
