"""ddpm-ts training checkpoints (src/diffusion/checkpoint.ts), both ways: one safetensors file
with `model.*`, `ema.*`, `adam.m.*`, `adam.v.*` (the UNet's parameter names) and the metadata
ddpm-ts writes: format, step, config, rng, optimizerStep, emaUpdates. A file written here also
says `writtenBy`, so the side that continues it knows the random state did not cross."""

import json
import math

import torch

from . import safetensors
from .model import UNet

FORMAT = "ddpm-ts-checkpoint/1"
WRITTEN_BY = f"train_ddp.py (PyTorch {torch.__version__})"

# What this mirror implements; a config asking for anything else is refused by name.
SUPPORTED = {
    ("diffusion", "schedule"): ("linear", "cosine"),
    ("diffusion", "prediction"): ("eps", "x0", "v"),
    ("diffusion", "variance"): ("beta", "posterior"),
    ("sample", "sampler"): ("ddpm", "ddim"),
    ("data", "source"): ("faces", "folder", "mnist"),
    ("train", "lrSchedule"): ("constant", "cosine"),
}
# Fields newer than the first configs: a config without them means what their defaults say.
OPTIONAL = {("train", "lrSchedule"): "constant", ("train", "minSnrGamma"): 0, ("train", "emaWarmup"): 10, ("sample", "epsScale"): 1}
SECTIONS = {
    "model": ("imageSize", "inChannels", "baseChannels", "channelMults", "numResBlocks", "attnResolutions", "groups", "timeEmbDim", "dropout", "zeroInitOut"),
    "diffusion": ("timesteps", "schedule", "betaStart", "betaEnd", "prediction", "variance"),
    "data": ("source", "path", "imageSize", "channels", "flip", "skipBad"),
    "train": ("batchSize", "steps", "lr", "warmupSteps", "gradClip", "emaDecay", "logEvery", "sampleEvery", "checkpointEvery", "outDir"),
    "sample": ("sampler", "steps", "eta", "count", "clip"),
}


class CheckpointError(ValueError):
    pass


def check_config(config, where):
    """The resolved config object (config.json, or a checkpoint's metadata), as resolveConfig
    writes it: every section and field present, and nothing this mirror cannot run."""
    if not isinstance(config, dict):
        raise CheckpointError(f"{where}: the config is not an object")
    if not isinstance(config.get("seed"), int):
        raise CheckpointError(f"{where}: config field 'seed' must be a whole number, got {config.get('seed')!r}")
    for section, fields in SECTIONS.items():
        part = config.get(section)
        if not isinstance(part, dict):
            raise CheckpointError(f"{where}: config section '{section}' is missing (write the config as ddpm-ts's resolveConfig does)")
        for f in fields:
            if f not in part:
                raise CheckpointError(f"{where}: config field '{section}.{f}' is missing")
    for (section, f), default in OPTIONAL.items():
        config[section].setdefault(f, default)
    for (section, f), allowed in SUPPORTED.items():
        if config[section][f] not in allowed:
            raise CheckpointError(f"{where}: config field '{section}.{f}' is {config[section][f]!r}, which train_ddp.py does not support ({', '.join(allowed)})")
    return config


def rng_state(seed, step):
    """A valid ddpm-ts Rng state for a file written here (src/random/rng.ts: four 32-bit words, not
    all zero): derived from seed and step. ddpm-ts's own stream cannot be continued from PyTorch."""
    x = (seed * 0x9E3779B97F4A7C15 + step * 0xBF58476D1CE4E5B9 + 1) % 2 ** 64
    words = []
    for _ in range(4):
        x = (x + 0x9E3779B97F4A7C15) % 2 ** 64
        z = x
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) % 2 ** 64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) % 2 ** 64
        words.append((z ^ (z >> 31)) & 0xFFFFFFFF)
    if not any(words):
        words[0] = 1
    return {"s": words, "spareNormal": None}


def save(path, step, config, model, ema, adam):
    names = [n for n, _ in model.named_parameters()]
    tensors = {}
    for n, p in model.named_parameters():
        tensors[f"model.{n}"] = p.detach().float()
    for n in names:
        tensors[f"ema.{n}"] = ema.shadow[n].float()
    for n, m, v in zip(names, adam.m, adam.v):
        tensors[f"adam.m.{n}"] = m.float()
        tensors[f"adam.v.{n}"] = v.float()
    safetensors.save(path, tensors, {
        "format": FORMAT, "step": str(step), "config": json.dumps(config), "rng": json.dumps(rng_state(config["seed"], step)),
        "optimizerStep": str(adam.step_count), "emaUpdates": str(ema.updates), "writtenBy": WRITTEN_BY,
    })


def whole(metadata, field, path):
    text = metadata.get(field)
    if text is None or not text.isdigit() or len(text) > 15:
        raise CheckpointError(f"{path}: metadata field '{field}' must be a whole number, got {text!r}; the file was not used")
    return int(text)


def load(path):
    """A checkpoint's parts, every field and tensor checked first (as parseCheckpoint does): an
    error names the file and the field or tensor, and nothing is used."""
    try:
        tensors, metadata = safetensors.load(path)
    except OSError as e:
        raise CheckpointError(f"cannot read {path}: {e.strerror}")
    if metadata.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a ddpm-ts training checkpoint (its metadata format is {metadata.get('format')!r}, expected {FORMAT!r})")
    step, optimizer_step, ema_updates = (whole(metadata, f, path) for f in ("step", "optimizerStep", "emaUpdates"))
    try:
        config = json.loads(metadata.get("config", ""))
    except ValueError:
        raise CheckpointError(f"{path}: metadata field 'config' is not valid JSON")
    check_config(config, path)
    expected = {n: tuple(p.shape) for n, p in UNet(**config["model"]).named_parameters()}
    stray = [k for k in tensors if not k.startswith(("model.", "ema.", "adam.m.", "adam.v."))]
    if stray:
        raise CheckpointError(f"{path}: unexpected tensors {', '.join(stray[:5])}; the file was not used")
    groups = {}
    for prefix in ("model", "ema", "adam.m", "adam.v"):
        found = {k[len(prefix) + 1:]: t for k, t in tensors.items() if k.startswith(prefix + ".")}
        missing = [n for n in expected if n not in found]
        extra = [n for n in found if n not in expected]
        shapes = [f"{n}: expected {list(expected[n])}, got {list(found[n].shape)}" for n in expected if n in found and tuple(found[n].shape) != expected[n]]
        if missing or extra or shapes:
            raise CheckpointError(f"{path}: its tensors do not fit the model its config describes ({prefix}: " + "; ".join(
                ([f"missing {', '.join(missing[:5])}"] if missing else []) + ([f"unexpected {', '.join(extra[:5])}"] if extra else []) + shapes[:5]) + ")")
        for n, t in found.items():
            if t.dtype != torch.float32:
                raise CheckpointError(f"{path}: tensor '{prefix}.{n}' is {t.dtype}, expected float32")
            if not torch.isfinite(t).all():
                raise CheckpointError(f"{path}: tensor '{prefix}.{n}' holds NaN or infinite values: the weights are damaged")
            if prefix == "adam.v" and (t < 0).any():
                raise CheckpointError(f"{path}: tensor '{prefix}.{n}' holds negative values, but Adam's second moments are never negative: the file is damaged")
        groups[prefix] = found
    return {
        "step": step, "config": config, "optimizer_step": optimizer_step, "ema_updates": ema_updates,
        "written_by": metadata.get("writtenBy", "ddpm-ts"), **groups,
    }


def restore(ckpt, model, ema, adam):
    """Loads a checkpoint's parts into a model, its EMA and its Adam (in the model's parameter order)."""
    model.load_state_dict(ckpt["model"], strict=True)
    names = [n for n, _ in model.named_parameters()]
    with torch.no_grad():
        for n in names:
            ema.shadow[n].copy_(ckpt["ema"][n])
        for n, m, v in zip(names, adam.m, adam.v):
            m.copy_(ckpt["adam.m"][n])
            v.copy_(ckpt["adam.v"][n])
    adam.step_count = ckpt["optimizer_step"]
    ema.updates = ckpt["ema_updates"]
