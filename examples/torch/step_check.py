"""One training step from a checkpoint on a given batch (x0, t, noise passed in, not drawn), for
the equivalence tests: the same step as ddpm-ts's Trainer.stepOn. Under torchrun the batch is
split over the processes (process r takes the r-th contiguous part) and DistributedDataParallel
averages the gradients, which must give the 1-process result.

  python3 examples/torch/step_check.py CHECKPOINT BATCH OUT
  python3 -m torch.distributed.run --nproc_per_node 2 examples/torch/step_check.py CHECKPOINT BATCH OUT

BATCH: a safetensors file with x0 [B, C, S, S], t [B] and noise [B, C, S, S]. OUT: a checkpoint
after the step, its loss (over the whole batch) in the metadata field `loss`.
"""

import os
import sys

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ddpm_torch import checkpoint as ckpt_io, safetensors  # noqa: E402
from ddpm_torch.diffusion import Schedule  # noqa: E402
from ddpm_torch.model import UNet  # noqa: E402
from ddpm_torch.optim import EMA, Adam  # noqa: E402
from ddpm_torch.train import train_step  # noqa: E402


def main(checkpoint, batch_file, out, total_steps=None):
    torch.set_num_threads(1)
    rank, world = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    if world > 1:
        dist.init_process_group("gloo")
    loaded = ckpt_io.load(checkpoint)
    config = loaded["config"]
    if total_steps is not None:  # as a resume asking for more steps: the lr schedule spans them
        config["train"]["steps"] = int(total_steps)
    model = UNet(**config["model"])
    adam = Adam(list(model.parameters()), lr=config["train"]["lr"])
    ema = EMA(model.named_parameters(), decay=config["train"]["emaDecay"], warmup=config["train"]["emaWarmup"])
    ckpt_io.restore(loaded, model, ema, adam)
    batch, _ = safetensors.load(batch_file)
    n = batch["x0"].shape[0]
    if n % world:
        raise ValueError(f"a batch of {n} does not split over {world} processes")
    part = slice(rank * n // world, (rank + 1) * n // world)
    x0, t, noise = batch["x0"][part], batch["t"][part].long(), batch["noise"][part]
    net = DistributedDataParallel(model) if world > 1 else model
    loss = train_step(net, list(model.parameters()), adam, ema, Schedule(**config["diffusion"]), config, x0, t, noise, loaded["step"])
    if world > 1:
        dist.all_reduce(loss)
        loss /= world
    if rank == 0:
        ckpt_io.save(out, loaded["step"] + 1, config, model, ema, adam)
        tensors, meta = safetensors.load(out)
        safetensors.save(out, tensors, {**meta, "loss": repr(loss.item())})
    if world > 1:
        dist.destroy_process_group()


if __name__ == "__main__":
    main(*sys.argv[1:5])
