#!/usr/bin/python3
"""PyTorch eager for bench_backward_ops' conv2d rows (3x3, padding 1; forward, and forward +
backward of sum() for input and weight). OMP_NUM_THREADS=2 /usr/bin/python3 bench/conv_torch.py"""
import os
import statistics
import time

import torch

torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))


def median_ms(f, reps=7):
    f()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(ts)


for n, c, h, o in [(256, 1, 28, 16), (256, 16, 14, 32)]:
    x = torch.randn(n, c, h, h, requires_grad=True)
    w = (torch.randn(o, c, 3, 3) * 0.1).requires_grad_()

    def fwd():
        with torch.no_grad():
            torch.nn.functional.conv2d(x, w, padding=1)

    def fwd_bwd():
        x.grad = None
        w.grad = None
        torch.nn.functional.conv2d(x, w, padding=1).sum().backward()

    print(f"  [{n},{c},{h},{h}] -> {o} ch:  forward {median_ms(fwd):7.2f} ms   "
          f"forward+backward {median_ms(fwd_bwd):7.2f} ms   (PyTorch {torch.__version__})")
