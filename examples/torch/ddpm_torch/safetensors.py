"""safetensors files (src/io/safetensors.ts), read and written here: an 8-byte little-endian header
length, a JSON header (each tensor's dtype, shape and byte range; "__metadata__" strings), the raw
little-endian data. No dependency beyond PyTorch."""

import json
import struct

import torch

from .run_folder import write_atomic

DTYPES = {"F32": torch.float32, "F64": torch.float64, "I64": torch.int64, "I32": torch.int32, "U8": torch.uint8}
NAMES = {v: k for k, v in DTYPES.items()}


ITEM_BYTES = {"F32": 4, "F64": 8, "I64": 8, "I32": 4, "U8": 1}


def load(path):
    """{name: tensor}, {metadata}. Refuses, naming the file, what is not a whole safetensors file:
    every header entry is checked (src/io/safetensors.ts parseSafetensors) before it is used."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"{path}: not a safetensors file ({len(data)} bytes)")
    (n,) = struct.unpack("<Q", data[:8])
    if 8 + n > len(data):
        raise ValueError(f"{path}: not a safetensors file (its header claims {n} bytes, the file has {len(data)})")
    try:
        header = json.loads(data[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise ValueError(f"{path}: not a safetensors file (its header is not JSON: {str(e)[:200]})")
    if not isinstance(header, dict):
        raise ValueError(f"{path}: not a safetensors file (its header is {type(header).__name__}, not an object)")
    metadata = header.pop("__metadata__", {})
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise ValueError(f"{path}: its __metadata__ must map strings to strings")
    body = memoryview(data)[8 + n:]
    entries = []
    for name, info in header.items():
        if not isinstance(info, dict):
            raise ValueError(f"{path}: tensor '{name}' is described by {type(info).__name__}, not an object with dtype, shape and data_offsets")
        dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
        if dtype not in DTYPES:
            raise ValueError(f"{path}: tensor '{name}' has dtype {dtype!r}, which is not read here ({', '.join(DTYPES)})")
        if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
            raise ValueError(f"{path}: tensor '{name}' has shape {shape!r}, not a list of whole numbers")
        if not isinstance(offsets, list) or len(offsets) != 2 or not all(isinstance(o, int) and not isinstance(o, bool) and o >= 0 for o in offsets) or offsets[0] > offsets[1]:
            raise ValueError(f"{path}: tensor '{name}' has data_offsets {offsets!r}, not [start, end] with start <= end")
        size = ITEM_BYTES[dtype]
        for d in shape:
            size *= d
        if offsets[1] - offsets[0] != size:
            raise ValueError(f"{path}: tensor '{name}' of shape {shape} and dtype {dtype} needs {size} bytes, its data_offsets give {offsets[1] - offsets[0]}")
        entries.append((offsets[0], name, dtype, shape, offsets[1]))
    tensors, end = {}, 0
    for a, name, dtype, shape, b in sorted(entries):
        if a != end or b > len(body):
            raise ValueError(f"{path}: tensor '{name}' does not tile the data (bytes {a}…{b}, expected to start at {end}; data holds {len(body)})")
        end = b
        t = torch.frombuffer(bytearray(body[a:b]), dtype=DTYPES[dtype]) if b > a else torch.zeros(0, dtype=DTYPES[dtype])
        tensors[name] = t.reshape(shape)
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
