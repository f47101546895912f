#!/usr/bin/python3
"""PyTorch eager doing bench_train_step's step: 784-512-512-10 ReLU MLP, batch 256,
cross-entropy, hand-written SGD. Run with the same thread count as Kiln, e.g.
  OMP_NUM_THREADS=2 /usr/bin/python3 bench/train_step_torch.py [steps]"""
import statistics
import sys
import time

import torch

torch.set_num_threads(int(__import__("os").environ.get("OMP_NUM_THREADS", "2")))
steps = int(sys.argv[1]) if len(sys.argv) > 1 else 50
model = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, 512),
                            torch.nn.ReLU(), torch.nn.Linear(512, 10))
x = torch.rand(256, 784)
y = torch.randint(0, 10, (256,))


def step():
    loss = torch.nn.functional.cross_entropy(model(x), y)
    model.zero_grad(set_to_none=True)
    loss.backward()
    with torch.no_grad():
        for p in model.parameters():
            p -= 0.01 * p.grad
    return loss.item()


for _ in range(5):
    step()
times = []
for _ in range(steps):
    t0 = time.perf_counter()
    step()
    times.append(time.perf_counter() - t0)
print(f"PyTorch {torch.__version__} eager, {torch.get_num_threads()} threads: "
      f"step median {1e3 * statistics.median(times):.3f} ms")
