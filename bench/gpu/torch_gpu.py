#!/usr/bin/env python3
"""PyTorch doing bench_gpu's measurements (bench/gpu/kiln_gpu.cpp), eager and with torch.compile
(default mode), fp32 with TF32 off, timed the same way: the first call (for torch.compile, the
cold compile: inductor's and Triton's caches point at fresh directories unless --keep-cache),
one more warm-up, then the median over --reps regions of back-to-back calls between two
torch.cuda.synchronize(). Writes JSON for bench/gpu/table.py, rewritten after every measurement.

  python3 bench/gpu/torch_gpu.py [--device cuda|cpu] [--quick] [--json FILE] [--reps N]
                                 [--only copy,chain,...] [--no-compile] [--keep-cache]
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import traceback

NAMES = ["copy", "chain", "softmax", "layer_norm", "mlp_step"]


def parse():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    ap.add_argument("--quick", action="store_true", help="tiny sizes, few repetitions")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--reps", type=int, default=0)
    ap.add_argument("--only", default="", help="comma-separated subset of " + ",".join(NAMES))
    ap.add_argument("--no-compile", action="store_true", help="eager only")
    ap.add_argument("--keep-cache", action="store_true",
                    help="use inductor's and Triton's usual caches (compile times are then warm)")
    return ap.parse_args()


args = parse()
if not args.keep_cache:
    # Cold compiles: empty caches, set before torch (and inductor) read them.
    _cache = tempfile.mkdtemp(prefix="torch_gpu_cache_")
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = os.path.join(_cache, "inductor")
    os.environ["TRITON_CACHE_DIR"] = os.path.join(_cache, "triton")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

QUICK = args.quick
DEV = torch.device(args.device)
CUDA = DEV.type == "cuda"
REPS = args.reps or (3 if QUICK else 20)
INNER = 10 if CUDA and not QUICK else 1  # calls per timed region for single ops
ONLY = [n for n in args.only.split(",") if n]

report = {"tool": "torch", "meta": {}, "eager": {}, "compiled": {}, "errors": {}}


def write():
    if not args.json:
        return
    tmp = args.json + ".tmp"
    with open(tmp, "w") as f:
        json.dump(report, f, indent=1)
    os.replace(tmp, args.json)


def sync():
    if CUDA:
        torch.cuda.synchronize()


def once(f):
    sync()
    t0 = time.perf_counter()
    f()
    sync()
    return time.perf_counter() - t0


def timed(f, inner=INNER, warmups=1):
    """The first call, `warmups` more, then REPS regions of `inner` calls: ms per call. compile_s:
    what the first call and the warm-ups took beyond a steady call (a recompile at the second
    call counts too), as bench_gpu counts Kiln's MLP step."""
    first = 1e3 * once(f)
    warm = [1e3 * once(f) for _ in range(warmups)]

    def region():
        for _ in range(inner):
            f()
    per_call = [1e3 * once(region) / inner for _ in range(REPS)]
    ms = statistics.median(per_call)
    return {"first_ms": first, "ms": ms, "min_ms": min(per_call),
            "compile_s": (first - ms + sum(max(0.0, w - ms) for w in warm)) / 1e3}


def rel_err(out, ref):
    out, ref = out.double(), ref.double()
    return float((out - ref).norm() / ref.norm())


def measure(kind, name, body):
    if ONLY and name not in ONLY:
        return
    print(f"torch_gpu: {kind} {name}...", file=sys.stderr, flush=True)
    try:
        report[kind][name] = body()
    except Exception as e:  # noqa: BLE001 (recorded, the other measurements still run)
        traceback.print_exc()
        report["errors"][f"{kind}.{name}"] = f"{type(e).__name__}: {e}".strip()[:2000]
    write()


def randn(*shape):
    return torch.randn(*shape, device=DEV, dtype=torch.float32)


def mlp_sizes():
    return (64, [32, 128, 128, 32]) if QUICK else (4096, [1024, 4096, 4096, 1024])


def make_mlp(sizes, seed):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(sizes[0], sizes[1]), torch.nn.GELU(),
                               torch.nn.Linear(sizes[1], sizes[2]), torch.nn.GELU(),
                               torch.nn.Linear(sizes[2], sizes[3])).to(DEV)


def flag(read):
    try:
        return read()
    except Exception as e:  # noqa: BLE001 (recorded: a TF32 flag that cannot be read)
        return f"unreadable: {e}"[:200]


def chain(x, w, b):
    return F.gelu(x * w + b) * torch.sigmoid(x) + x * x


def softmax(x):
    return torch.softmax(x, -1)


def layer_norm(x, w, b):
    return F.layer_norm(x, (x.shape[-1],), w, b, 1e-5)


def main():
    if CUDA and not torch.cuda.is_available():
        report["errors"]["device"] = "torch.cuda.is_available() is False"
        write()
        print("torch_gpu: no CUDA device", file=sys.stderr)
        return 1
    # fp32 without TF32, through the legacy flags only: since PyTorch 2.9, mixing them with the
    # per-backend fp32_precision API makes later reads (inductor's among them) raise.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    if not CUDA:
        torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", os.cpu_count() or 1)))
    has_compile = hasattr(torch, "compile") and not args.no_compile
    report["meta"] = {
        "device": str(DEV), "quick": QUICK, "reps": REPS, "inner": INNER,
        "device_name": torch.cuda.get_device_name(DEV) if CUDA else "CPU",
        "torch": torch.__version__, "cuda": torch.version.cuda,
        "allow_tf32": flag(lambda: torch.backends.cuda.matmul.allow_tf32),
        "cudnn_allow_tf32": flag(lambda: torch.backends.cudnn.allow_tf32),
        "inductor_cache": os.environ.get("TORCHINDUCTOR_CACHE_DIR", ""),
        "threads": torch.get_num_threads(),
    }
    if not has_compile:
        report["meta"]["compile_skipped"] = ("--no-compile" if args.no_compile else
                                             f"torch.compile is not in PyTorch {torch.__version__}")
    write()
    torch.manual_seed(1)
    n = 1 << 16 if QUICK else 1 << 26
    sm_shape = (64, 256) if QUICK else (8192, 8192)
    ln_shape = (64, 128) if QUICK else (8192, 4096)
    results = {}  # eager outputs, for checking the compiled ones

    def copy():
        src, dst = randn(n), torch.empty(n, device=DEV)
        t = timed(lambda: dst.copy_(src))
        del t["compile_s"]
        t.update(n=n, bytes=2 * 4 * n, gbps=2 * 4 * n / t["ms"] / 1e6)
        return t
    measure("eager", "copy", copy)
    copy_gbps = report["eager"].get("copy", {}).get("gbps")

    def bandwidth(t, nbytes):
        t.update(bytes=nbytes, gbps=nbytes / t["ms"] / 1e6)
        if copy_gbps:
            t["ratio_to_copy"] = t["gbps"] / copy_gbps
        return t

    x, w, b = randn(n), randn(n), randn(n)
    xs = randn(*sm_shape)
    xl, wl, bl = randn(*ln_shape), 1 + 0.1 * randn(ln_shape[1]), 0.1 * randn(ln_shape[1])
    cases = [("chain", chain, (x, w, b), 4 * 4 * n),
             ("softmax", softmax, (xs,), 2 * 4 * xs.numel()),
             ("layer_norm", layer_norm, (xl, wl, bl), 2 * 4 * xl.numel() + 2 * 4 * wl.numel())]

    for name, fn, inputs, nbytes in cases:
        def eager(fn=fn, inputs=inputs, nbytes=nbytes, name=name):
            t = bandwidth(timed(lambda: fn(*inputs)), nbytes)
            del t["compile_s"]  # eager: nothing to compile
            t["shape"] = list(inputs[0].shape)
            results[name] = fn(*inputs)
            return t
        measure("eager", name, eager)

    batch, sizes = mlp_sizes()
    xm, ym = randn(batch, sizes[0]), randn(batch, sizes[3])
    flops = sum(6.0 * batch * a * c for a, c in zip(sizes, sizes[1:]))

    def mlp_eager():
        model = make_mlp(sizes, seed=2)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        losses = []

        def step():
            opt.zero_grad(set_to_none=True)
            loss = F.mse_loss(model(xm), ym)
            loss.backward()
            opt.step()
            losses.append(loss)
        t = timed(step, inner=1, warmups=2)
        del t["compile_s"]
        t.update(batch=batch, sizes="-".join(map(str, sizes)), tflops=flops / t["ms"] / 1e9,
                 loss_first=float(losses[0]), loss_last=float(losses[-1]),
                 optimizer="AdamW (default: foreach)")
        return t
    measure("eager", "mlp_step", mlp_eager)

    if not has_compile:
        return 0
    for name, fn, inputs, nbytes in cases:
        def compiled(fn=fn, inputs=inputs, nbytes=nbytes, name=name):
            cfn = torch.compile(fn)
            t = bandwidth(timed(lambda: cfn(*inputs)), nbytes)
            if name in results:
                t["rel_err_vs_eager"] = rel_err(cfn(*inputs), results[name])
            return t
        measure("compiled", name, compiled)

    def mlp_compiled():
        model = make_mlp(sizes, seed=2)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        closs = torch.compile(lambda a, b: F.mse_loss(model(a), b))

        @torch.compile(fullgraph=False)  # PyTorch's recipe for compiling an optimizer's step
        def copt():
            opt.step()
        losses = []

        def step():
            opt.zero_grad(set_to_none=True)
            loss = closs(xm, ym)
            loss.backward()
            copt()
            losses.append(loss)
        t = timed(step, inner=1, warmups=2)
        t.update(batch=batch, sizes="-".join(map(str, sizes)), tflops=flops / t["ms"] / 1e9,
                 loss_first=float(losses[0]), loss_last=float(losses[-1]),
                 what="torch.compile(model + MSE loss), backward through AOTAutograd, "
                      "torch.compile(AdamW.step)")
        return t
    measure("compiled", "mlp_step", mlp_compiled)
    return 0


if __name__ == "__main__":
    rc = main()
    write()
    m = report["meta"]
    print(f"\nPyTorch {torch.__version__} on {m.get('device_name')} ({DEV})"
          f"{', QUICK sizes' if QUICK else ''}; medians of {REPS} (x{INNER} calls per region)\n")
    def cell(v, width, prec):
        return f"{v:{width}.{prec}f}" if isinstance(v, (int, float)) else f"{'-':>{width}}"
    print(f"{'measurement':<12} {'eager ms':>10} {'GB/s':>9} {'compiled ms':>12} {'GB/s':>9} "
          f"{'compile s':>10}")
    for name in NAMES:
        e, c = report["eager"].get(name, {}), report["compiled"].get(name, {})
        if e or c:
            print(f"{name:<12} {cell(e.get('ms'), 10, 3)} {cell(e.get('gbps'), 9, 1)} "
                  f"{cell(c.get('ms'), 12, 3)} {cell(c.get('gbps'), 9, 1)} "
                  f"{cell(c.get('compile_s'), 10, 2)}")
    for k, v in report["errors"].items():
        print(f"error {k}: {v.splitlines()[0] if v else ''}")
    if args.json:
        print(f"\nwrote {args.json}")
    if m.get("compile_skipped"):
        print(f"torch.compile skipped: {m['compile_skipped']}")
    sys.exit(rc or (1 if report["errors"] else 0))
