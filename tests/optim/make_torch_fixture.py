#!/usr/bin/python3
"""Writes tests/optim/data/torch_optim.safetensors: what torch.optim does, in float64, to two
small parameters over a fixed sequence of gradients, for the configurations that
torch_fixture_test.cpp runs with Kiln's optimizers. No safetensors package is needed: the JSON
header is written by hand (json, struct), then the tensors' raw little-endian bytes. Run from the
repository root (the test suite itself never runs Python):
    /usr/bin/python3 tests/optim/make_torch_fixture.py

Tensors (S = STEPS, every float64):
    init.<i>                        parameter i before the first step
    grads.<i>          [S, ...]     its gradient at every step (p.grad is set to it; no backward)
    <config>.lr        [S]          the group's lr at every step (a scheduler may change it)
    <config>.param.<i> [S, ...]     parameter i after every step
    <config>.state.<i>.<buffer> [S, ...]  its optimizer state after every step (momentum_buffer,
                                    exp_avg, exp_avg_sq, max_exp_avg_sq)
__metadata__: "config.<config>" describes each configuration (the test checks it describes what
the test runs), "steps", "torch" (the version) and "generator" (how the values were drawn).
"""
import json
import math
import struct

import torch

STEPS = 6
SHAPES = [(3, 4), (5,)]
# Gradient scale per step: they grow and shrink, so Adam's second moment falls at some steps and
# amsgrad's maximum differs from it.
GRAD_SCALES = [1.0, 2.0, 0.5, 0.05, 1.5, 0.1]

gen = torch.Generator().manual_seed(20240611)
init = [torch.randn(s, generator=gen, dtype=torch.float64) for s in SHAPES]
grads = [[torch.randn(s, generator=gen, dtype=torch.float64) * GRAD_SCALES[k] for s in SHAPES]
         for k in range(STEPS)]

O = torch.optim
S = torch.optim.lr_scheduler
# name -> (description, optimizer factory, scheduler factory or None). The descriptions are
# repeated verbatim in torch_fixture_test.cpp.
CONFIGS = {
    "sgd": ("SGD(lr=0.1)", lambda p: O.SGD(p, lr=0.1, foreach=False), None),
    "sgd_momentum": (
        "SGD(lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01)",
        lambda p: O.SGD(p, lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01,
                        foreach=False), None),
    "sgd_nesterov": (
        "SGD(lr=0.1, momentum=0.9, nesterov=True)",
        lambda p: O.SGD(p, lr=0.1, momentum=0.9, nesterov=True, foreach=False), None),
    "adam": ("Adam()", lambda p: O.Adam(p, foreach=False), None),
    "adam_amsgrad": (
        "Adam(lr=0.01, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1, amsgrad=True)",
        lambda p: O.Adam(p, lr=0.01, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1,
                         amsgrad=True, foreach=False), None),
    "adamw": ("AdamW(lr=0.01, weight_decay=0.05)",
              lambda p: O.AdamW(p, lr=0.01, weight_decay=0.05, foreach=False), None),
    "sgd_steplr": (
        "SGD(lr=0.1, momentum=0.9) + StepLR(step_size=2, gamma=0.5)",
        lambda p: O.SGD(p, lr=0.1, momentum=0.9, foreach=False),
        lambda o: S.StepLR(o, step_size=2, gamma=0.5)),
    # T_max below STEPS: the lr reaches eta_min at step 5 and climbs again after it (PyTorch's
    # recursive form takes its other branch there).
    "adamw_cosine": (
        "AdamW(lr=0.05, weight_decay=0.1, amsgrad=True) + "
        "CosineAnnealingLR(T_max=4, eta_min=0.001)",
        lambda p: O.AdamW(p, lr=0.05, weight_decay=0.1, amsgrad=True, foreach=False),
        lambda o: S.CosineAnnealingLR(o, T_max=4, eta_min=0.001)),
}

tensors = {}
for i, p in enumerate(init):
    tensors[f"init.{i}"] = p
    tensors[f"grads.{i}"] = torch.stack([grads[k][i] for k in range(STEPS)])

for name, (description, make_opt, make_sched) in CONFIGS.items():
    params = [p.clone().requires_grad_() for p in init]
    opt = make_opt(params)
    sched = make_sched(opt) if make_sched else None
    lrs, after, state = [], [[] for _ in params], {}
    for k in range(STEPS):
        lrs.append(opt.param_groups[0]["lr"])
        for i, p in enumerate(params):
            p.grad = grads[k][i].clone()
        opt.step()
        if sched:
            sched.step()
        for i, p in enumerate(params):
            after[i].append(p.detach().clone())
            for buf, value in opt.state[p].items():
                if torch.is_tensor(value) and value.shape == p.shape:
                    state.setdefault((i, buf), []).append(value.detach().clone())
    tensors[f"{name}.lr"] = torch.tensor(lrs, dtype=torch.float64)
    for i in range(len(params)):
        tensors[f"{name}.param.{i}"] = torch.stack(after[i])
    for (i, buf), values in state.items():
        assert len(values) == STEPS, (name, i, buf)
        tensors[f"{name}.state.{i}.{buf}"] = torch.stack(values)

metadata = {f"config.{name}": c[0] for name, c in CONFIGS.items()}
metadata["steps"] = str(STEPS)
metadata["torch"] = torch.__version__.split("+")[0]
metadata["generator"] = ("torch.Generator().manual_seed(20240611): randn of init.0, init.1, "
                         "then per step randn of each gradient times " + repr(GRAD_SCALES))

header, data, offset = {}, b"", 0
for name in sorted(tensors):
    t = tensors[name].contiguous()
    assert t.dtype == torch.float64 and all(math.isfinite(x) for x in t.flatten().tolist())
    raw = t.numpy().astype("<f8").tobytes()
    header[name] = {"dtype": "F64", "shape": list(t.shape),
                    "data_offsets": [offset, offset + len(raw)]}
    data += raw
    offset += len(raw)
header["__metadata__"] = metadata
text = json.dumps(header, separators=(",", ":")).encode()
text += b" " * ((8 - len(text) % 8) % 8)
with open("tests/optim/data/torch_optim.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text + data)
print(f"{len(tensors)} tensors, {8 + len(text) + len(data)} bytes")
