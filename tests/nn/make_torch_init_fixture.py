#!/usr/bin/python3
"""Writes tests/nn/data/torch_init.safetensors: the statistics of the parameters that PyTorch's
layers draw by default, with the bounds and standard deviations PyTorch's own code computes for
them, for torch_init_fixture_test.cpp to compare Kiln's layers with (the generators differ, so
values cannot; distributions must). No safetensors package is needed: the JSON header is written
by hand (json, struct), then the tensors' raw little-endian bytes. Run from the repository root
(the test suite itself never runs Python):
    /usr/bin/python3 tests/nn/make_torch_init_fixture.py

Tensors, each a float64 scalar, per parameter <layer>.<param> (e.g. "fc1.weight"):
    .numel              its number of elements
    .min .max           the extremes torch drew
    .mean .std          the sample mean and standard deviation (population: divided by numel)
    .kurtosis           the sample's m4 / m2^2 (for the standard error of std; 0 for constants)
    .bound              what it is drawn within: U(-bound, bound) as torch computes it (from
                        nn.init._calculate_fan_in_and_fan_out and nn.init.calculate_gain, as in
                        the layers' reset_parameters); +inf for a normal; |value| for a constant
    .expected_mean .expected_std   the distribution's (bound / sqrt(3) for a uniform)
__metadata__: "layer.<layer>" (the torch layer, e.g. "Linear(784, 512)"), "init.<layer>.<param>"
(uniform, normal or constant), "seed", "torch".
"""
import json
import math
import struct

import torch
from torch import nn

SEED = 0
torch.manual_seed(SEED)
LAYERS = {
    "fc1": ("Linear(784, 512)", nn.Linear(784, 512)),
    "fc2": ("Linear(512, 10)", nn.Linear(512, 10)),
    "conv1": ("Conv2d(1, 16, 3)", nn.Conv2d(1, 16, 3)),
    "conv2": ("Conv2d(16, 32, 3)", nn.Conv2d(16, 32, 3)),
    "emb": ("Embedding(1000, 64)", nn.Embedding(1000, 64)),
    "ln": ("LayerNorm(64)", nn.LayerNorm(64)),
}


def distribution(module, name, p):
    """(kind, bound, expected mean, expected std) of parameter `name` of `module`, computed the way
    the module's reset_parameters does (torch 1.13)."""
    if isinstance(module, (nn.Linear, nn.Conv2d)):
        fan_in, _ = nn.init._calculate_fan_in_and_fan_out(module.weight)
        if name == "weight":  # kaiming_uniform_(weight, a=math.sqrt(5))
            gain = nn.init.calculate_gain("leaky_relu", math.sqrt(5))
            bound = math.sqrt(3.0) * gain / math.sqrt(fan_in)
        else:  # uniform_(bias, -1 / sqrt(fan_in), 1 / sqrt(fan_in))
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        return "uniform", bound, 0.0, bound / math.sqrt(3.0)
    if isinstance(module, nn.Embedding):  # normal_(weight)
        return "normal", math.inf, 0.0, 1.0
    if isinstance(module, nn.LayerNorm):  # ones_(weight), zeros_(bias)
        value = 1.0 if name == "weight" else 0.0
        return "constant", value, value, 0.0
    raise ValueError(type(module))


tensors, metadata = {}, {"seed": str(SEED), "torch": torch.__version__.split("+")[0]}
for layer, (description, module) in LAYERS.items():
    metadata[f"layer.{layer}"] = description
    assert repr(module).startswith(description.split("(")[0])
    for name, p in module.named_parameters():
        x = p.detach().double().flatten()
        kind, bound, mean, std = distribution(module, name, p)
        key = f"{layer}.{name}"
        metadata[f"init.{key}"] = kind
        m2 = ((x - x.mean()) ** 2).mean().item()
        m4 = ((x - x.mean()) ** 4).mean().item()
        stats = {
            "numel": x.numel(), "min": x.min().item(), "max": x.max().item(),
            "mean": x.mean().item(), "std": math.sqrt(m2),
            "kurtosis": m4 / (m2 * m2) if m2 > 0 else 0.0,
            "bound": bound, "expected_mean": mean, "expected_std": std,
        }
        # What the test checks of Kiln holds for torch's own draw.
        assert x.abs().max().item() <= bound * (1 + 1e-6), key
        for stat, value in stats.items():
            tensors[f"{key}.{stat}"] = torch.tensor(value, dtype=torch.float64)

header, data, offset = {}, b"", 0
for name in sorted(tensors):
    raw = tensors[name].numpy().astype("<f8").tobytes()
    header[name] = {"dtype": "F64", "shape": [], "data_offsets": [offset, offset + len(raw)]}
    data += raw
    offset += len(raw)
header["__metadata__"] = metadata
text = json.dumps(header, separators=(",", ":")).encode()
text += b" " * ((8 - len(text) % 8) % 8)
with open("tests/nn/data/torch_init.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text + data)
print(f"{len(tensors)} tensors, {8 + len(text) + len(data)} bytes")
for key in sorted({k.rsplit(".", 1)[0] for k in tensors}):
    print(key, {s: round(tensors[f"{key}.{s}"].item(), 6)
                for s in ("numel", "min", "max", "mean", "std", "bound", "expected_std")})
