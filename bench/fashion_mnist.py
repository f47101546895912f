#!/usr/bin/python3
"""Fashion-MNIST side by side: Kiln's examples/fashion_mnist and PyTorch eager
(bench/fashion_mnist_torch.py) on the same models, data order and hyperparameters, 2 threads.
Kiln runs twice per model: first with an empty kernel cache (cold start), then again on the
disk cache it left (warm start). Prints a Markdown table per model with the ratios.

  /usr/bin/python3 bench/fashion_mnist.py [--build build/release] [--models mlp,cnn]
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

EPOCH = re.compile(r"epoch (\d+)/(\d+): train loss ([\d.]+), test accuracy ([\d.]+), "
                   r"([\d.]+) s, (\d+) samples/s")
FIRST = re.compile(r"first step ([\d.]+) ms")


def run(cmd, env):
    print("$ " + " ".join(cmd), file=sys.stderr, flush=True)
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"failed ({out.returncode}): {' '.join(cmd)}\n{out.stdout}\n{out.stderr}")
    epochs = [dict(zip(["loss", "accuracy", "seconds", "rate"],
                       map(float, m.groups()[2:]))) for m in EPOCH.finditer(out.stdout)]
    first = FIRST.search(out.stdout)
    return epochs, float(first.group(1)) if first else None, out.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build/release")
    ap.add_argument("--models", default="mlp,cnn")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    example = os.path.join(args.build, "examples", "fashion_mnist")
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), KILN_NUM_THREADS=str(args.threads))
    for model in args.models.split(","):
        cache = tempfile.mkdtemp(prefix="kiln_fmnist_cache_")
        save = os.path.join(cache, "model.safetensors")
        kenv = dict(env, KILN_CACHE_DIR=cache)
        kcmd = [example, "--model", model, "--quiet", "--threads", str(args.threads), "--save", save]
        cold, cold_first, _ = run(kcmd, kenv)
        warm, warm_first, _ = run(kcmd, kenv)
        torch, _, tout = run(["/usr/bin/python3", os.path.join(os.path.dirname(__file__),
                                                               "fashion_mnist_torch.py"),
                              "--model", model], env)
        shutil.rmtree(cache)
        version = re.search(r"\(PyTorch ([^,]+),", tout)
        print(f"\n## {model.upper()} ({len(torch)} epochs, batch 256, SGD 0.1 momentum 0.9, "
              f"{args.threads} threads; PyTorch {version.group(1) if version else '?'})\n")
        print("| epoch | Kiln s (cold run) | Kiln s (warm run) | PyTorch s | Kiln/PyTorch | "
              "Kiln acc | PyTorch acc |")
        print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for e, (c, w, t) in enumerate(zip(cold, warm, torch)):
            print(f"| {e + 1} | {c['seconds']:.2f} | {w['seconds']:.2f} | {t['seconds']:.2f} | "
                  f"{w['seconds'] / t['seconds']:.2f} | {w['accuracy']:.4f} | {t['accuracy']:.4f} |")
        steady = [w["seconds"] for w in warm[1:]] or [warm[0]["seconds"]]
        tsteady = [t["seconds"] for t in torch[1:]] or [torch[0]["seconds"]]
        print(f"\nmedian epoch after the first: Kiln {statistics.median(steady):.2f} s, PyTorch "
              f"{statistics.median(tsteady):.2f} s, ratio "
              f"{statistics.median(steady) / statistics.median(tsteady):.2f}")
        print(f"first step (compiling): cold {cold_first:.1f} ms, warm from the disk cache "
              f"{warm_first:.1f} ms")
        print(f"final test accuracy: Kiln {warm[-1]['accuracy']:.4f} (cold run "
              f"{cold[-1]['accuracy']:.4f}), PyTorch {torch[-1]['accuracy']:.4f}")


if __name__ == "__main__":
    main()
