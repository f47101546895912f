#!/usr/bin/env python3
"""Merges what bench/gpu/run.sh left in a directory into the final Markdown table (stdout, and
--out FILE): Kiln (bench_gpu, cold and warm processes), PyTorch eager and torch.compile
(torch_gpu.py), the Fashion-MNIST epoch logs, the card, and every step's status. Plain python3,
standard library only; whatever is missing is shown as missing, never guessed.

  python3 bench/gpu/table.py DIR [--out FILE]

DIR holds (any may be absent): kiln_cold.json, kiln_warm.json, torch.json, fmnist_kiln.log,
fmnist_torch.log, steps.tsv (step, status, rc, seconds, note), card.txt, env.txt.
"""
import argparse
import json
import os
import re
import statistics

# The targets of the CUDA issue, and its reference measurements (an H200, 2026-11-27).
CHAIN_MIN_RATIO = 0.90
SOFTMAX_MAX_MS = 0.16
LAYER_NORM_MAX_MS = 0.08
MLP_COMPILE_MAX_S = 0.5
REFERENCE = ("Reference (the issue; an H200, 2026-11-27): copy 4.17 TB/s; chain eager 1.144 ms, "
             "torch.compile 0.349 ms; softmax 0.296 / 0.237 ms; layer_norm 0.118 / 0.141 ms; "
             "MLP step 12.76 / 12.89 ms; torch.compile cold compile 3.5–14.5 s.")
EPOCH = re.compile(r"epoch (\d+)/(\d+): train loss ([\d.]+), test accuracy ([\d.]+), "
                   r"([\d.]+) s")
FIRST = re.compile(r"first step ([\d.]+) ms")
DASH = "—"


def load_json(path, notes):
    if not os.path.exists(path):
        return None
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        notes.append(f"{os.path.basename(path)} unreadable: {e}")
        return None


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return None


def num(d, *keys):
    """d[k1][k2]... as a float, or None."""
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return float(d) if isinstance(d, (int, float)) and not isinstance(d, bool) else None


def fmt_ms(v):
    if v is None:
        return None
    return f"{v:.3f} ms" if v < 10 else f"{v:.2f} ms" if v < 100 else f"{v:.0f} ms"


def fmt_s(v):
    return None if v is None else f"{v:.2f} s" if v < 10 else f"{v:.1f} s"


def fmt_bw(gbps):
    if gbps is None:
        return None
    return f"{gbps / 1000:.2f} TB/s" if gbps >= 1000 else f"{gbps:.1f} GB/s"


def cell(text):
    """Text for a Markdown table cell: no pipes or line breaks."""
    return (text or "").replace("|", "\\|").replace("\n", " ")


def join(*parts):
    parts = [p for p in parts if p]
    return ", ".join(parts) if parts else DASH


def verdict(ok, cpu):
    if cpu:
        return "n/a (CPU run)"
    return DASH if ok is None else ("yes" if ok else "**no**")


def bandwidth_cell(r, limit_gbps):
    """'0.300 ms, 3.58 TB/s = 0.86 × copy' from a result with ms and bytes."""
    ms = num(r, "ms")
    if ms is None:
        return DASH, None
    nbytes = num(r, "bytes")
    gbps = nbytes / ms / 1e6 if nbytes else num(r, "gbps")
    ratio = gbps / limit_gbps if gbps and limit_gbps else None
    return join(fmt_ms(ms), fmt_bw(gbps) + (f" = {ratio:.2f} × copy" if ratio else "")
                if gbps else None), ratio


def epochs_of(text):
    return [{"epoch": int(m.group(1)), "loss": float(m.group(3)), "accuracy": float(m.group(4)),
             "seconds": float(m.group(5))} for m in EPOCH.finditer(text or "")]


def epoch_cell(text):
    """Median epoch after the first (which compiles), final accuracy."""
    ep = epochs_of(text)
    if not ep:
        return None, None
    steady = [e["seconds"] for e in ep[1:]] or [ep[0]["seconds"]]
    first = FIRST.search(text or "")
    cell = join(f"{statistics.median(steady):.2f} s" +
                (f" (median of epochs 2–{len(ep)})" if len(ep) > 1 else " (one epoch)"),
                f"first epoch {ep[0]['seconds']:.2f} s",
                f"test accuracy {ep[-1]['accuracy']:.4f}",
                f"first step {float(first.group(1)):.0f} ms" if first else None)
    return cell, statistics.median(steady)


def steps_of(path):
    rows = []
    for line in (read(path) or "").splitlines():
        parts = line.split("\t")
        if len(parts) >= 4:
            rows.append({"step": parts[0], "status": parts[1], "rc": parts[2],
                         "seconds": parts[3], "note": parts[4] if len(parts) > 4 else ""})
    return rows


def build(d):
    notes = []
    cold = load_json(os.path.join(d, "kiln_cold.json"), notes) or {}
    warm = load_json(os.path.join(d, "kiln_warm.json"), notes) or {}
    torch = load_json(os.path.join(d, "torch.json"), notes) or {}
    kc, kw = cold.get("results", {}), warm.get("results", {})
    te, tc = torch.get("eager", {}), torch.get("compiled", {})
    kmeta = cold.get("meta") or warm.get("meta") or {}
    tmeta = torch.get("meta", {})

    def kiln(name):  # the cold process's result, else the warm one's
        return kc.get(name) or kw.get(name) or {}

    device = kmeta.get("device") or tmeta.get("device") or "?"
    cpu = device.startswith("cpu")
    quick = bool(kmeta.get("quick") or tmeta.get("quick"))
    card = (read(os.path.join(d, "card.txt")) or "").strip()
    card = card or kmeta.get("device_name") or tmeta.get("device_name") or "unknown"
    env = (read(os.path.join(d, "env.txt")) or "").strip()

    # The bandwidth limit: the faster of Kiln's copy and PyTorch's copy_ in this run.
    copies = {"Kiln": num(kiln("copy"), "gbps"), "PyTorch": num(te, "copy", "gbps")}
    limit = max((v for v in copies.values() if v), default=None)
    limit_from = [k for k, v in copies.items() if v and v == limit]

    def size(name, default):
        """The size measured, from Kiln's or PyTorch's results: '2^26', '8192×8192'."""
        r = kiln(name) or te.get(name, {})
        shape = r.get("shape") or ([r["rows"], r["cols"]] if "rows" in r and "cols" in r else
                                   [r["n"]] if "n" in r else None)
        if not shape:
            return default
        if len(shape) == 1:
            v = int(shape[0])
            return f"2^{v.bit_length() - 1}" if v > 0 and v & (v - 1) == 0 else str(v)
        return "×".join(str(int(v)) for v in shape)

    rows = []
    kcopy = kiln("copy")
    rows.append([f"device copy, {size('copy', '2^26')} f32 (bytes read + written)",
                 join(fmt_bw(num(kcopy, "gbps")), fmt_ms(num(kcopy, "ms")),
                      "copy_buffer" if num(kcopy, "ms") is not None else None),
                 join(fmt_bw(num(te, "copy", "gbps")), fmt_ms(num(te, "copy", "ms")),
                      "copy_" if num(te, "copy", "ms") is not None else None),
                 DASH, "the limit: the faster of the two" +
                 (f" ({fmt_bw(limit)}, {limit_from[0]})" if limit else ""), ""])

    kcell, kratio = bandwidth_cell(kiln("chain"), limit)
    rows.append([f"`gelu(x*w+b)*sigmoid(x)+x*x`, {size('chain', '2^26')} f32 (4 arrays)", kcell,
                 bandwidth_cell(te.get("chain"), limit)[0],
                 bandwidth_cell(tc.get("chain"), limit)[0], f"≥ {CHAIN_MIN_RATIO:.2f} × copy",
                 verdict(None if kratio is None else kratio >= CHAIN_MIN_RATIO, cpu)])
    for name, label, target in [
            ("softmax", f"softmax {size('softmax', '8192×8192')}, last dim", SOFTMAX_MAX_MS),
            ("layer_norm", f"layer_norm {size('layer_norm', '8192×4096')}, last dim, weight and "
             "bias", LAYER_NORM_MAX_MS)]:
        kms = num(kiln(name), "ms")
        rows.append([label, bandwidth_cell(kiln(name), limit)[0],
                     bandwidth_cell(te.get(name), limit)[0], bandwidth_cell(tc.get(name), limit)[0],
                     f"≤ {target:.2f} ms", verdict(None if kms is None else kms <= target, cpu)])

    km, em, cm = kiln("mlp_step"), te.get("mlp_step", {}), tc.get("mlp_step", {})
    kms, ems = num(km, "ms"), num(em, "ms")

    def mlp_cell(r):
        tf = num(r, "tflops")
        return join(fmt_ms(num(r, "ms")), f"{tf:.1f} TFLOP/s" if tf else None)
    mlp_batch = int(num(km, "batch") or num(em, "batch") or 4096)
    mlp_sizes = km.get("sizes") or em.get("sizes") or "1024-4096-4096-1024"
    rows.append([f"MLP step: batch {mlp_batch}, {mlp_sizes} GELU, MSE, AdamW, fp32 (no TF32)",
                 mlp_cell(km), mlp_cell(em), mlp_cell(cm),
                 "≤ PyTorch eager" + (f" ({fmt_ms(ems)})" if ems else ""),
                 verdict(None if kms is None or ems is None else kms <= ems, cpu)])
    kcomp = num(kc.get("mlp_step", {}), "compile_wall_ms")
    kcomp = kcomp / 1e3 if kcomp is not None else None
    kcm = kc.get("mlp_step", {})
    nvrtc = num(kcm, "compile_ms")
    rows.append(["MLP step compiled cold (first steps − steady ones; empty caches)",
                 join(fmt_s(kcomp), f"{num(kcm, 'kernels_compiled'):.0f} kernels"
                      if num(kcm, "kernels_compiled") is not None else None,
                      f"of which compiling and loading them {nvrtc / 1e3:.2f} s"
                      if nvrtc is not None else None),
                 DASH, join(fmt_s(num(cm, "compile_s"))), f"≤ {MLP_COMPILE_MAX_S} s",
                 verdict(None if kcomp is None else kcomp <= MLP_COMPILE_MAX_S, cpu)])
    wcomp = num(kw.get("mlp_step", {}), "compile_wall_ms")
    rows.append(["MLP step from Kiln's disk cache (second process)",
                 join(fmt_s(wcomp / 1e3) if wcomp is not None else None,
                      f"{num(kw.get('mlp_step', {}), 'kernel_disk_hits'):.0f} kernels from disk"
                      if num(kw.get("mlp_step", {}), "kernel_disk_hits") is not None else None),
                 DASH, DASH, DASH, ""])

    fm_kiln = read(os.path.join(d, "fmnist_kiln.log"))
    fm_torch = read(os.path.join(d, "fmnist_torch.log"))
    steps = steps_of(os.path.join(d, "steps.tsv"))
    step_note = {s["step"]: s for s in steps}

    def fm(text, step):
        cell, _ = epoch_cell(text)
        if cell:
            return cell
        s = step_note.get(step)
        if s:
            return f"not measured: {s['status']}" + (f" ({s['note']})" if s["note"] else "")
        return "not measured"
    rows.append(["Fashion-MNIST MLP epoch (784-512-512-10, batch 256, SGD momentum)",
                 fm(fm_kiln, "fmnist_kiln"), fm(fm_torch, "fmnist_torch"), DASH, DASH, ""])

    def per_kernel(r):
        if not r:
            return None
        per, k, dh = num(r, "ms_per_kernel"), num(r, "kernels_compiled"), num(r, "disk_hits")
        return join(f"{per:.2f} ms per kernel" if per is not None else "time not counted",
                    f"{k:.0f} compiled, {dh:.0f} from disk" if k is not None and dh is not None
                    else None, f"mode {r.get('mode')}" if r.get("mode") else None)
    tcomp = [f"{n} {num(tc.get(n, {}), 'compile_s'):.1f} s"
             for n in ("chain", "softmax", "layer_norm", "mlp_step")
             if num(tc.get(n, {}), "compile_s") is not None]
    compiler = "LLVM" if cpu else "NVRTC"
    rows.append([f"kernel compile, cold ({compiler}; Kiln per kernel, torch.compile per function)",
                 join(per_kernel(kc.get("compile"))), DASH,
                 join("; ".join(tcomp) if tcomp else None), DASH, ""])
    rows.append(["kernel load from the disk cache (second process)",
                 join(per_kernel(kw.get("compile"))), DASH, DASH, DASH, ""])

    out = ["# Kiln on the GPU: `bench/gpu/run.sh`", ""]
    out.append(f"- card: {card}")
    out.append(f"- device: {device}" + (" — **QUICK sizes (a smoke test, not a measurement)**"
                                        if quick else ""))
    if env:
        out += [f"- {line}" for line in env.splitlines() if line.strip()]
    if tmeta:
        tf32 = tmeta.get("allow_tf32")
        tf32 = "off" if tf32 is False else "ON" if tf32 is True else str(tf32)
        out.append(f"- PyTorch {tmeta.get('torch')} (CUDA {tmeta.get('cuda')}), TF32 for "
                   f"matmuls {tf32}; torch.compile default mode, "
                   "fresh inductor/Triton caches" +
                   (f"; torch.compile skipped: {tmeta['compile_skipped']}"
                    if tmeta.get("compile_skipped") else ""))
    reps = kmeta.get("reps") or tmeta.get("reps")
    inner = kmeta.get("inner") or tmeta.get("inner")
    if reps:
        out.append(f"- times: medians of {reps} regions of {inner} back-to-back calls between "
                   "two device synchronizations (the MLP step: one step per region), after a "
                   "first call and a warm-up")
    out += ["", "| measurement | Kiln | PyTorch eager | torch.compile | target | met? |",
            "| --- | --- | --- | --- | --- | --- |"]
    out += ["| " + " | ".join(cell(c) for c in r) + " |" for r in rows]
    out += ["", REFERENCE, ""]

    details = []
    for name in ("copy", "copy_kernel", "chain", "softmax", "layer_norm", "mlp_step"):
        a, b = num(kc.get(name, {}), "ms"), num(kw.get(name, {}), "ms")
        if a is not None or b is not None:
            details.append(f"{name}: cold process {fmt_ms(a) or DASH}, warm process "
                           f"{fmt_ms(b) or DASH}")
    if details:
        out += ["Kiln's medians in both processes: " + "; ".join(details) + ".", ""]
    checks = []
    for name in ("chain", "softmax", "layer_norm"):
        e = num(kiln(name), "rel_err")
        if e is not None or name in kc:
            checks.append(f"{name} {e:.1e}" + ("" if e is not None and e < 1e-4 else " **BAD**")
                          if e is not None else f"{name} not checked (NaN?) **BAD**")
    for name in ("chain", "softmax", "layer_norm"):
        e = num(tc.get(name, {}), "rel_err_vs_eager")
        if e is not None:
            checks.append(f"torch.compile {name} vs eager {e:.1e}")
    lf, ll = num(km, "loss_first"), num(km, "loss_last")
    if checks or lf is not None:
        out += ["Checks (‖out − ref‖ / ‖ref‖; Kiln against float64 on the CPU over a slice): " +
                ", ".join(checks) + (f"; MLP loss {lf:.4f} → {ll:.4f}" if lf is not None and
                                     ll is not None else "") + ".", ""]
    ck = kiln("copy_kernel")
    if num(ck, "gbps") is not None:
        out += [f"Kiln's generated one-read-one-write kernel (y = -x, same size): "
                f"{fmt_ms(num(ck, 'ms'))}, {fmt_bw(num(ck, 'gbps'))}" +
                (f" = {num(ck, 'gbps') / limit:.2f} × copy" if limit else "") + ".", ""]
    extra = []
    for k in ("launches_per_step", "extern_calls_per_step", "programs_compiled_in_loop",
              "driver_allocations_in_loop"):
        v = num(km, k)
        if v is not None:
            extra.append(f"{k.replace('_', ' ')} {v:g}")
    if extra:
        out += ["Kiln's MLP step: " + ", ".join(extra) + ".", ""]
    errors = [f"Kiln {k}: {v}" for k, v in {**cold.get("errors", {}),
                                            **warm.get("errors", {})}.items()]
    errors += [f"PyTorch {k}: {v.splitlines()[0] if v else ''}"
               for k, v in torch.get("errors", {}).items()]
    if errors or notes:
        out += ["Errors:", ""] + [f"- {e}" for e in errors + notes] + [""]
    if steps:
        out += ["| step | status | seconds | summary |", "| --- | --- | ---: | --- |"]
        out += [f"| {cell(s['step'])} | {cell(s['status'])} | {cell(s['seconds'])} | "
                f"{cell(s['note'])} |" for s in steps]
        out.append("")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description="bench/gpu/run.sh's results as one Markdown table")
    ap.add_argument("dir")
    ap.add_argument("--out", help="also write the table here")
    args = ap.parse_args()
    text = build(args.dir)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
