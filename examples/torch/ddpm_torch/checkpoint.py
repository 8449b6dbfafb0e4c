"""ddpm-ts training checkpoints (src/diffusion/checkpoint.ts), both ways: one safetensors file
with `model.*`, `ema.*`, `adam.m.*`, `adam.v.*` (the UNet's parameter names) and the metadata
ddpm-ts writes: format, step, config, rng, optimizerStep, emaUpdates. A file written here also
says `writtenBy`, so the side that continues it knows the random state did not cross."""

import json
import math
import re

import torch

from . import safetensors
from .config import ConfigError, js_json, resolve_config
from .model import UNet

FORMAT = "ddpm-ts-checkpoint/1"
WRITTEN_BY = f"train_ddp.py (PyTorch {torch.__version__})"

class CheckpointError(ValueError):
    pass


def config_in(text, path):
    """checkpoint.ts configIn: the config in a file's metadata, resolved and checked by ddpm-ts's
    rules (config.py); a file from before epsilon scaling samples as it did then, with 1."""
    try:
        stored = json.loads(text)
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: metadata field 'config' is not valid JSON ({e}); the file was not used and nothing was changed")
    if isinstance(stored, dict) and isinstance(stored.get("sample"), dict) and "epsScale" not in stored["sample"]:
        stored = {**stored, "sample": {**stored["sample"], "epsScale": 1}}
    try:
        return resolve_config(stored)
    except ConfigError as e:
        raise CheckpointError(f"{path}: metadata field 'config' is not a valid config: {'; '.join(e.problems)}; the file was not used and nothing was changed")


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
    """checkpoint.ts wholeNumber: a whole number as a run writes it (no leading zeros, up to 15 digits)."""
    text = metadata.get(field)
    if not isinstance(text, str) or not re.fullmatch(r"0|[1-9][0-9]{0,14}", text):
        raise CheckpointError(f"{path}: metadata field '{field}' must be a whole number, got {js_json(text)}; the file was not used and nothing was changed")
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
    if "config" not in metadata:
        raise CheckpointError(f"{path}: metadata field 'config' is missing; the file was not used and nothing was changed")
    config = config_in(metadata["config"], path)
    # A run takes one optimizer step and one EMA update a training step, and never goes past train.steps.
    if step > config["train"]["steps"]:
        raise CheckpointError(f"{path}: metadata field 'step' is {step}, past the run's train.steps ({config['train']['steps']}): the file is damaged; the file was not used and nothing was changed")
    if optimizer_step != step:
        raise CheckpointError(f"{path}: metadata field 'optimizerStep' is {optimizer_step}, but the checkpoint is at step {step} and Adam takes one step a training step: the file is damaged; the file was not used and nothing was changed")
    if ema_updates != step:
        raise CheckpointError(f"{path}: metadata field 'emaUpdates' is {ema_updates}, but the checkpoint is at step {step} and the EMA is updated once a training step: the file is damaged; the file was not used and nothing was changed")
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
