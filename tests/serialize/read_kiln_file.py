#!/usr/bin/python3
"""Reads a safetensors file written by Kiln (safetensors_test's "[.interop]" case) with json,
struct and torch only, as any other reader would, and checks every value. Exit status 0 when
all match. Usage: read_kiln_file.py FILE"""
import json
import struct
import sys

import torch

path = sys.argv[1]
blob = open(path, "rb").read()
(n,) = struct.unpack("<Q", blob[:8])
header = json.loads(blob[8:8 + n])
data = blob[8 + n:]
dtypes = {"F32": torch.float32, "F64": torch.float64, "I64": torch.int64, "I32": torch.int32,
          "BOOL": torch.bool}
assert header.pop("__metadata__") == {"writer": "kiln"}
got = {}
end = 0
for name, e in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"]):
    b, f = e["data_offsets"]
    assert b == end, f"{name}: offsets not contiguous"
    end = f
    raw = bytearray(data[b:f])
    t = torch.frombuffer(raw, dtype=dtypes[e["dtype"]]) if raw else torch.empty(0, dtype=dtypes[e["dtype"]])
    got[name] = t.reshape(e["shape"])
assert end == len(data)
want = {
    "weight": torch.arange(6, dtype=torch.float32).reshape(2, 3) / 4 - 0.5,
    "double": torch.tensor([1.0 / 3, -2.5], dtype=torch.float64),
    "steps": torch.tensor([7, -(2**62)], dtype=torch.int64),
    "labels": torch.tensor([3, -1], dtype=torch.int32),
    "mask": torch.tensor([True, False, True]),
    "scalar": torch.tensor(2.75, dtype=torch.float32),
    "empty": torch.zeros(0, 5),
}
assert got.keys() == want.keys(), (got.keys(), want.keys())
for name, w in want.items():
    assert got[name].dtype == w.dtype and got[name].shape == w.shape, name
    assert torch.equal(got[name], w), (name, got[name], w)
print(f"read_kiln_file: {len(got)} tensors match")
