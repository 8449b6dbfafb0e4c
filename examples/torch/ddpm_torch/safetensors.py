"""safetensors files (src/io/safetensors.ts), read and written here: an 8-byte little-endian header
length, a JSON header (each tensor's dtype, shape and byte range; "__metadata__" strings), the raw
little-endian data. No dependency beyond PyTorch."""

import json
import struct

import torch

from .run_folder import write_atomic

DTYPES = {"F32": torch.float32, "F64": torch.float64, "I64": torch.int64, "I32": torch.int32, "U8": torch.uint8}
NAMES = {v: k for k, v in DTYPES.items()}


def load(path):
    """{name: tensor}, {metadata}. Refuses, naming the file, what is not a whole safetensors file."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"{path}: not a safetensors file ({len(data)} bytes)")
    (n,) = struct.unpack("<Q", data[:8])
    if 8 + n > len(data):
        raise ValueError(f"{path}: not a safetensors file (its header claims {n} bytes, the file has {len(data)})")
    try:
        header = json.loads(data[8:8 + n])
    except ValueError as e:
        raise ValueError(f"{path}: not a safetensors file (its header is not JSON: {e})")
    metadata = header.pop("__metadata__", {}) or {}
    body = memoryview(data)[8 + n:]
    tensors, end = {}, 0
    for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        dtype = DTYPES.get(info["dtype"])
        if dtype is None:
            raise ValueError(f"{path}: tensor '{name}' has dtype {info['dtype']}, which is not read here")
        a, b = info["data_offsets"]
        if a != end or b > len(body):
            raise ValueError(f"{path}: tensor '{name}' does not tile the data (bytes {a}…{b}, expected to start at {end}; data holds {len(body)})")
        end = b
        t = torch.frombuffer(bytearray(body[a:b]), dtype=dtype) if b > a else torch.zeros(0, dtype=dtype)
        tensors[name] = t.reshape(info["shape"])
    if end != len(body):
        raise ValueError(f"{path}: {len(body) - end} bytes after the last tensor")
    return tensors, metadata


def save(path, tensors, metadata):
    """Writes atomically (run_folder.write_atomic): a temporary file beside `path`, renamed over it once whole."""
    header, chunks, at = {"__metadata__": {k: str(v) for k, v in metadata.items()}}, [], 0
    for name, t in tensors.items():
        raw = t.detach().cpu().contiguous().numpy().tobytes()
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [at, at + len(raw)]}
        chunks.append(raw)
        at += len(raw)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)
    write_atomic(path, struct.pack("<Q", len(head)) + head + b"".join(chunks))
