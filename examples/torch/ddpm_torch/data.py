"""Training images for train_ddp.py: a dataset file that ddpm-ts exports (examples/export-data.js:
generated faces or MNIST, float32 in [−1, 1], as the trainer sees them), or a folder of images
with ddpm-ts's centre-crop-and-resize (src/io/image.ts toNetworkInput)."""

import os

import numpy as np
import torch

from . import safetensors

EXTENSIONS = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp")


def load_file(path, data_config):
    """The `images` tensor [N, C, S, S] of an exported dataset file, checked against config.data."""
    try:
        tensors, meta = safetensors.load(path)
    except OSError as e:
        raise FileNotFoundError(f"cannot read --data {path}: {e.strerror}") if isinstance(e, FileNotFoundError) else ValueError(f"cannot read --data {path}: {e.strerror}")
    images = tensors.get("images")
    if images is None or images.dim() != 4:
        raise ValueError(f"{path}: not a ddpm-ts dataset file (no 4-D tensor 'images'; write one with node examples/export-data.js)")
    n, c, s, s2 = images.shape
    want = (data_config["channels"], data_config["imageSize"])
    if (c, s) != want or s != s2:
        raise ValueError(f"{path}: holds {c}×{s}×{s2} images, config.data asks for {want[0]}×{want[1]}×{want[1]}")
    if meta.get("source") not in (None, data_config["source"]):
        raise ValueError(f"{path}: holds data.source {meta.get('source')!r} images, config.data.source is {data_config['source']!r}")
    return images.float(), f"{n} images from {path} ({meta.get('source', 'exported')})"


def area_weights(start, side, size, limit):
    """Rows: target pixels; columns: source pixels; each the overlap of the target's source interval with the pixel."""
    scale = side / size
    w = np.zeros((size, limit))
    for t in range(size):
        a, b = start + t * scale, start + (t + 1) * scale
        for p in range(int(np.floor(a)), int(np.ceil(b))):
            w[t, min(p, limit - 1)] += min(p + 1, b) - max(p, a)
    return w


def to_network_input(rgba, size, channels):
    """toNetworkInput: the centred square, area-averaged to size×size, alpha over white, to [−1, 1]
    (grey as 0.299R + 0.587G + 0.114B). The weights separate by axis, so this is two matrix
    products per channel; sums run in another order than ddpm-ts's loop (float64 either way)."""
    h, w = rgba.shape[:2]
    side = min(w, h)
    wy, wx = area_weights((h - side) / 2, side, size, h), area_weights((w - side) / 2, side, size, w)
    a = rgba[..., 3:4].astype(np.float64) / 255
    rgb = rgba[..., :3].astype(np.float64) * a + 255 * (1 - a)
    total = wy.sum(1)[:, None] * wx.sum(1)[None, :]
    planes = [wy @ rgb[..., c] @ wx.T / total for c in range(3)]
    if channels == 1:
        planes = [0.299 * planes[0] + 0.587 * planes[1] + 0.114 * planes[2]]
    return np.stack(planes) * (2 / 255) - 1


def to_bytes_and_back(img):
    """As ddpm-ts keeps a folder's images (src/data/dataset.ts toBytes, inMemoryDataset): 8 bits a
    value, Math.round(clamp((v + 1)/2)·255), read back as b/255·2 − 1."""
    b = np.floor(np.clip((img + 1) / 2, 0, 1) * 255 + 0.5)
    return b / 255 * 2 - 1


def load_folder(data_config, warn):
    """Every image file of config.data.path in name order (ddpm-ts's folder loader); an unreadable
    one stops the run naming it, or is skipped with a warning under data.skipBad."""
    from PIL import Image  # Debian: python3-pil

    root = data_config["path"]
    if not root or not os.path.isdir(root):
        raise ValueError(f"data.path {root!r} is not a folder")
    names = sorted(n for n in os.listdir(root) if n.lower().endswith(EXTENSIONS))
    images = []
    for n in names:
        try:
            with Image.open(os.path.join(root, n)) as im:
                rgba = np.asarray(im.convert("RGBA"))
        except Exception as e:
            if not data_config["skipBad"]:
                raise ValueError(f"{os.path.join(root, n)}: cannot be read as an image ({e}); remove it, or set data.skipBad to skip such files")
            warn(f"skipped {os.path.join(root, n)}: {e}")
            continue
        images.append(to_bytes_and_back(to_network_input(rgba, data_config["imageSize"], data_config["channels"])))
    if not images:
        raise ValueError(f"data.path {root}: no images")
    return torch.tensor(np.stack(images), dtype=torch.float32), f"{len(images)} images from {root}"
