"""Sample grids as ddpm-ts draws them (src/io/image.ts imageGrid), written as PNG with zlib alone."""

import math
import os
import struct
import zlib

import numpy as np

from .run_folder import write_atomic


def image_grid(images, pad=2, scale=1, background=255):
    """images [n, C, S, S] in [−1, 1] → an RGB uint8 array: ⌈√n⌉ columns, `pad` pixels apart, each pixel `scale`× (imageGrid)."""
    x = images.detach().cpu().float().numpy()
    n, channels, size, _ = x.shape
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    cell = size * scale + pad
    out = np.full((rows * cell + pad, cols * cell + pad, 3), background, dtype=np.uint8)
    # As Math.round(max(0, min(1, (v + 1)/2))·255): half-way values round up, not to even.
    pixels = np.floor(np.clip((x + 1) / 2, 0, 1) * 255 + 0.5).astype(np.uint8)
    if channels == 1:
        pixels = np.repeat(pixels, 3, axis=1)
    pixels = pixels.repeat(scale, axis=2).repeat(scale, axis=3)
    for i in range(n):
        oy, ox = pad + (i // cols) * cell, pad + (i % cols) * cell
        out[oy:oy + size * scale, ox:ox + size * scale] = pixels[i].transpose(1, 2, 0)
    return out


def write_png(path, rgb):
    """An 8-bit RGB PNG, written to a temporary file and renamed over `path`."""
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))
    chunk = lambda kind, data: struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    write_atomic(path, png)
