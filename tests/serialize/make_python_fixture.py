#!/usr/bin/python3
"""Writes tests/serialize/data/from_python.safetensors the way any safetensors writer does, with
no safetensors package: the JSON header by hand (json, struct) and PyTorch tensors' raw bytes.
safetensors_test.cpp loads it and checks every value. Run from the repository root:
    /usr/bin/python3 tests/serialize/make_python_fixture.py"""
import json
import struct

import torch

tensors = {
    "weight": torch.arange(6, dtype=torch.float32).reshape(2, 3) / 4 - 0.5,
    "double": torch.tensor([1.0 / 3, -2.5, 1e300, -0.0], dtype=torch.float64),
    "steps": torch.tensor([[7, -8], [2**40, -(2**62)]], dtype=torch.int64),
    "labels": torch.tensor([3, -1, 2**31 - 1], dtype=torch.int32),
    "mask": torch.tensor([True, False, True]),
    "scalar": torch.tensor(2.75, dtype=torch.float32),
    "empty": torch.zeros(0, 5, dtype=torch.float32),
}
names = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64", torch.int32: "I32",
         torch.bool: "BOOL"}
header, data, offset = {}, b"", 0
for name in sorted(tensors, reverse=True):  # any order: here not Kiln's (sorted) one
    t = tensors[name].contiguous()
    raw = t.numpy().tobytes()
    header[name] = {"dtype": names[t.dtype], "shape": list(t.shape),
                    "data_offsets": [offset, offset + len(raw)]}
    data += raw
    offset += len(raw)
header["__metadata__"] = {"writer": "python", "torch": torch.__version__.split("+")[0]}
text = json.dumps(header).encode()
text += b" " * ((8 - len(text) % 8) % 8)
with open("tests/serialize/data/from_python.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text + data)
