"""ddpm-ts's training on PyTorch's DistributedDataParallel: the same UNet, config, step and
checkpoint format (ddpm_torch/ mirrors src/ function by function), one process per GPU (NCCL) or
CPU processes (gloo), launched by torchrun:

  torchrun --nproc_per_node 8 examples/torch/train_ddp.py --config runs/faces/config.json --data faces.safetensors
  torchrun --nnodes 2 --node_rank R --master_addr HOST --master_port 29500 --nproc_per_node 8 examples/torch/train_ddp.py …
  torchrun --nproc_per_node 2 examples/torch/train_ddp.py --out runs/faces --resume      (continues a ddpm-ts run too)

--config is the whole config object as ddpm-ts resolves it (a run's config.json, or the one
`node examples/export-data.js --config-out` writes); with --resume it comes from the checkpoint.
train.batchSize is the global batch, split evenly over the processes. Outputs, as ddpm-ts
writes them: config.json, log.jsonl, samples/step-NNNNNN.png, checkpoint.safetensors (which
`node examples/train-faces.js --resume` continues and examples/sample.js draws from).
"""

import argparse
import datetime
import json
import os
import sys
import time

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ddpm_torch import checkpoint as ckpt_io  # noqa: E402
from ddpm_torch.checkpoint import CheckpointError  # noqa: E402
from ddpm_torch.config import ConfigError, resolve_config  # noqa: E402
from ddpm_torch.data import load_file, load_folder  # noqa: E402
from ddpm_torch.diffusion import Schedule, sample  # noqa: E402
from ddpm_torch.images import image_grid, write_png  # noqa: E402
from ddpm_torch.model import UNet  # noqa: E402
from ddpm_torch.optim import EMA, Adam  # noqa: E402
from ddpm_torch.run_folder import RunFolderError, lock_run_folder, read_text, run_files, write_atomic  # noqa: E402
from ddpm_torch.train import train_step  # noqa: E402

CHECKPOINT, LOG = "checkpoint.safetensors", "log.jsonl"


class UsageError(Exception):
    pass


class TrainingDivergedError(Exception):
    pass


def parse_args(argv):
    p = argparse.ArgumentParser(prog="train_ddp.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", help="the resolved config (JSON), as ddpm-ts writes config.json")
    p.add_argument("--data", help="a dataset file from node examples/export-data.js (data.source faces or mnist)")
    p.add_argument("--out", help="output folder (default: the config's train.outDir)")
    p.add_argument("--steps", type=int, help="total training steps (train.steps)")
    p.add_argument("--resume", action="store_true", help="continue the run in the output folder from its checkpoint (ddpm-ts's or this script's)")
    p.add_argument("--overwrite", action="store_true", help="start afresh in an output folder that holds a run, replacing it")
    p.add_argument("--backend", choices=["nccl", "gloo"], help="the process group's backend (default: nccl with CUDA, else gloo)")
    a = p.parse_args(argv)
    if a.resume and a.overwrite:
        raise UsageError("--resume continues the run in the output folder and --overwrite replaces it: give one of them")
    if not a.resume and not a.config:
        raise UsageError("give --config (a resolved config.json) for a new run, or --resume to continue one")
    if a.steps is not None and a.steps < 0:
        raise UsageError(f"--steps must be a whole number >= 0, got {a.steps}")
    return a


def read_config(path):
    """A config file, resolved and checked by ddpm-ts's own rules (ddpm_torch/config.py reads them
    from config_rules.json): a partial one takes the defaults, as train-faces.js --config does."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError as e:
        raise UsageError(f"cannot read --config {path}: {e.strerror}")
    try:
        config = json.loads(text)
    except ValueError as e:
        raise UsageError(f"--config {path} is not valid JSON: {e}")
    return resolve_config(config, f"--config {path}")


def compatible(saved, given, path):
    """trainer.ts assertCompatible: a resumed run trains the same model on the same data with the same diffusion."""
    diffs = [f"{s}.{k}: checkpoint {json.dumps(v)}, now {json.dumps(given[s].get(k))}" for s in ("model", "diffusion", "data") for k, v in saved[s].items() if given[s].get(k) != v]
    if saved["seed"] != given["seed"]:
        diffs.append(f"seed: checkpoint {saved['seed']}, now {given['seed']}")
    if diffs:
        raise CheckpointError(f"cannot resume from {path}: the config differs from the checkpoint's ({'; '.join(diffs)})")


def read_log(path, step):
    """trainer.ts readLog: the log's entries up to `step` (a resumed run rewrites what came after)."""
    if not os.path.exists(path):
        return []
    kept = []
    with open(path) as f:
        lines = f.read().split("\n")
    for i, line in enumerate(lines[:-1]):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            raise CheckpointError(f"{path} line {i + 1} is not a log entry (not valid JSON): {line[:80]}")
        if entry["step"] <= step:
            kept.append(line)
    return kept


def holds_run(out):
    """trainer.ts assertNoRun: a checkpoint, or a log with entries."""
    log = os.path.join(out, LOG)
    return os.path.exists(os.path.join(out, CHECKPOINT)) or (os.path.exists(log) and os.path.getsize(log) > 0)


def format_duration(seconds):
    """src/diffusion/progress.ts formatDuration: 37s, 12m05s, 2h07m."""
    s = round(seconds)
    h, m = s // 3600, (s % 3600) // 60
    return f"{h}h{m:02d}m" if h > 0 else f"{m}m{s % 60:02d}s" if m > 0 else f"{s}s"


def format_progress(step, total, loss, seconds_per_step):
    """src/diffusion/progress.ts formatProgress: the same line ddpm-ts prints."""
    frac = step / total if total > 0 else 1
    filled = round(frac * 24)
    speed = f"{1 / seconds_per_step:.2f} it/s" if seconds_per_step <= 1 else f"{seconds_per_step:.2f} s/it"
    eta = format_duration((total - step) * seconds_per_step)
    return f"step {str(step).rjust(len(str(total)))}/{total} {'█' * filled}{'░' * (24 - filled)} {frac * 100:3.0f}% | loss {loss:.4f} | {speed} | ETA {eta}"


def main(argv):
    args = parse_args(argv)
    rank, world, local = (int(os.environ.get(k, d)) for k, d in (("RANK", 0), ("WORLD_SIZE", 1), ("LOCAL_RANK", 0)))
    backend = args.backend or ("nccl" if torch.cuda.is_available() else "gloo")
    device = torch.device(f"cuda:{local}" if backend == "nccl" else "cpu")
    if backend == "nccl":
        torch.cuda.set_device(device)
    if world > 1 or "RANK" in os.environ:
        dist.init_process_group(backend)
    say = print if rank == 0 else (lambda *a, **k: None)

    # The config: given, or the checkpoint's (with --out and --steps over it).
    given = read_config(args.config) if args.config else None
    out = args.out or (given["train"]["outDir"] if given else None)
    if out is None:
        raise UsageError("--resume needs --out (the run's folder) or --config (whose train.outDir names it)")
    path = os.path.join(out, CHECKPOINT)
    if rank == 0:
        lock_run_folder(out, say)  # one run per folder: taken before anything of an earlier run is read
    loaded = None
    if args.resume:
        if not os.path.exists(path):
            raise CheckpointError(f"cannot resume: there is no checkpoint at {path}")
        loaded = ckpt_io.load(path)
        if given:
            compatible(loaded["config"], given, path)
        config = given or loaded["config"]
    else:
        config = given
        if holds_run(out) and not args.overwrite:
            raise RunFolderError(f"{out} already holds a training run. Nothing was changed. To continue it, add --resume; to start afresh and replace it, add --overwrite")
        found = run_files(out)
        if found and not args.overwrite:
            raise RunFolderError(f"{out} holds files a run would write, but no run: {', '.join(found[:6])}{f' and {len(found) - 6} more' if len(found) > 6 else ''}. Nothing was changed. Choose another folder with --out, or add --overwrite to replace them")
        if args.overwrite and rank == 0 and os.path.isdir(os.path.join(out, "samples")):
            for name in os.listdir(os.path.join(out, "samples")):
                if name.startswith("step-") and name.endswith(".png"):
                    os.remove(os.path.join(out, "samples", name))  # they would mix with the new run's
    config = json.loads(json.dumps(config))
    config["train"]["outDir"] = out
    if args.steps is not None:
        config["train"]["steps"] = args.steps
    train = config["train"]
    if loaded and train["steps"] < loaded["step"]:
        raise CheckpointError(f"cannot resume from {path}: it is at step {loaded['step']} and train.steps asks for {train['steps']}; a resumed run never goes backwards")
    if train["batchSize"] % world:
        raise UsageError(f"train.batchSize {train['batchSize']} does not split evenly over {world} processes")
    local_batch = train["batchSize"] // world
    config_text = json.dumps(config, indent=2) + "\n"
    config_path = os.path.join(out, "config.json")
    if args.config and os.path.exists(config_path) and os.path.samefile(args.config, config_path) and read_text(config_path) != config_text:
        raise RunFolderError(f"--config {args.config} is the run's own config.json in --out {out}, which the run writes: a command never replaces its own input. Copy it elsewhere and pass the copy, or choose another --out")

    # Data, on every process (each draws its own part of every global batch).
    source = config["data"]["source"]
    if source == "folder":
        images, description = load_folder(config["data"], say)
    elif args.data:
        images, description = load_file(args.data, config["data"])
    else:
        raise UsageError(f"data.source is {source!r}: give --data FILE, written by node examples/export-data.js (ddpm-ts generates {source} images itself; this script reads them from that file)")

    # Model, optimizer, EMA: as trainer.ts makes them; weights from the checkpoint when resuming
    # (a fresh run starts from PyTorch's initialisation, zeroInitOut honoured).
    torch.manual_seed(config["seed"])
    model = UNet(**config["model"]).to(device)
    if config["model"]["zeroInitOut"]:
        with torch.no_grad():
            model.convOut.weight.zero_()
            model.convOut.bias.zero_()
    params = list(model.parameters())
    adam = Adam(params, lr=train["lr"])
    ema = EMA(model.named_parameters(), decay=train["emaDecay"], warmup=train["emaWarmup"])
    step = 0
    if loaded:
        ckpt_io.restore(loaded, model, ema, adam)  # copy_ moves the file's CPU tensors onto the device
        step = loaded["step"]
        say(f"resuming {path} at step {step} (written by {loaded['written_by']}): the random state does not cross, so the noise stream restarts here")
    net = DistributedDataParallel(model, device_ids=[local] if backend == "nccl" else None) if dist.is_initialized() else model
    schedule = Schedule(**config["diffusion"])

    # Batches: a DistributedSampler's shuffled order, epoch after epoch; noise and timesteps from
    # each process's own generator, seeded by (seed, rank, step at start).
    sampler = torch.utils.data.DistributedSampler(range(len(images)), num_replicas=world, rank=rank, shuffle=True, seed=config["seed"], drop_last=len(images) >= world)
    gen = torch.Generator().manual_seed(config["seed"] * 1000003 + rank * 7919 + step)
    epoch, order = step, []

    def next_batch():
        nonlocal epoch, order
        idx = []
        while len(idx) < local_batch:
            if not order:
                sampler.set_epoch(epoch)
                epoch += 1
                order = list(sampler)
            idx.append(order.pop())
        x0 = images[idx].clone()
        if config["data"]["flip"]:
            flips = torch.rand(local_batch, generator=gen) < 0.5
            x0[flips] = x0[flips].flip(-1)
        t = torch.randint(0, schedule.T, (local_batch,), generator=gen)
        noise = torch.randn(x0.shape, generator=gen)
        return x0.to(device), t.to(device), noise.to(device)

    os.makedirs(os.path.join(out, "samples"), exist_ok=True)
    log_path = os.path.join(out, LOG)
    if rank == 0:
        kept = read_log(log_path, step) if loaded else []
        write_atomic(log_path, "".join(line + "\n" for line in kept).encode())
        if read_text(config_path) != config_text:
            write_atomic(config_path, config_text.encode())
    if train.get("evalEvery", 0) > 0:
        say(f"train.evalEvery is {train['evalEvery']}: FID is measured by ddpm-ts, not here (node examples/eval.js --checkpoint {path})")
    n_params = sum(p.numel() for p in params)
    say(f"training on {description}: {n_params:,} parameters, batch {train['batchSize']} ({world} × {local_batch}, {backend} on {device.type}), steps {step} → {train['steps']}; outputs in {out}")

    def save_checkpoint():
        if rank == 0:
            ckpt_io.save(path, step, config, model, ema, adam)
            say(f"checkpoint at step {step}: {path}")

    def save_samples():
        if rank == 0:
            ema_model = UNet(**config["model"]).to(device)
            ema_model.load_state_dict(ema.shadow)
            ema_model.eval()
            grid = sample(ema_model, schedule, config, config["sample"]["count"], torch.Generator().manual_seed(config["seed"]), device)
            name = os.path.join(out, "samples", f"step-{step:06d}.png")
            write_png(name, image_grid(grid, scale=max(1, round(96 / config["model"]["imageSize"]))))
            say(f"samples at step {step}: {name}")

    window, durations, last_saved = [], [], step if loaded else None
    while step < train["steps"]:
        started = time.perf_counter()
        x0, t, noise = next_batch()
        loss = train_step(net, params, adam, ema, schedule, config, x0, t, noise, step)
        if dist.is_initialized():
            dist.all_reduce(loss)
            loss /= world
        value = loss.item()
        if value != value or value in (float("inf"), float("-inf")):
            raise TrainingDivergedError(f"training diverged at step {step + 1}: the loss is {value}. Nothing was saved for this step; try a lower train.lr (now {train['lr']})")
        step += 1
        durations = (durations + [time.perf_counter() - started])[-20:]
        seconds = sum(durations) / len(durations)
        window.append(value)
        if step % train["logEvery"] == 0 or step == train["steps"]:
            say(format_progress(step, train["steps"], value, seconds), flush=True)
            if rank == 0:
                with open(log_path, "a") as f:
                    f.write(json.dumps({"step": step, "loss": sum(window) / len(window), "lr": adam.lr, "secondsPerStep": round(seconds, 4), "time": datetime.datetime.utcnow().isoformat(timespec="milliseconds") + "Z"}) + "\n")
            window = []
        if train["checkpointEvery"] > 0 and step % train["checkpointEvery"] == 0:
            save_checkpoint()
            last_saved = step
        if train["sampleEvery"] > 0 and step % train["sampleEvery"] == 0:
            save_samples()
    if last_saved != step:
        save_checkpoint()
        save_samples()
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
    say(f"done: {step} steps. Continue in ddpm-ts: node examples/train-faces.js --out {out} --resume; draw: node examples/sample.js --checkpoint {path}")


def fail(message, code, error):
    """One line on stderr (the traceback only with DDPM_DEBUG=1, as the examples do) and an exit code."""
    if os.environ.get("DDPM_DEBUG"):
        import traceback
        traceback.print_exception(type(error), error, error.__traceback__)
    print(f"error: {message}", file=sys.stderr)
    sys.exit(code)


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except (UsageError, ConfigError, FileNotFoundError) as e:
        fail(str(e), 2, e)  # how it was called: a flag, a file it names, a config field
    except (CheckpointError, ValueError, RunFolderError, TrainingDivergedError) as e:
        fail(str(e), 1, e)  # a damaged file, a folder in use, a run that diverged
    except KeyboardInterrupt as e:
        fail("interrupted", 130, e)
    except RuntimeError as e:
        first = (str(e).strip().split("\n") or [""])[0]
        if dist.is_available() and dist.is_initialized() and any(w in str(e) for w in ("Connection", "gloo", "NCCL", "closed", "peer")):
            fail(f"another process of this run stopped, so this one stops too (rank {os.environ.get('RANK', '?')}: {first[:200]}); the last checkpoint written is whole: continue with --resume", 1, e)
        fail(f"{type(e).__name__}: {first[:300]}", 1, e)
    except Exception as e:  # noqa: BLE001 - a user sees one line, never a traceback
        first = (str(e).strip().split("\n") or [""])[0]
        fail(f"{type(e).__name__}: {first[:300]}", 1, e)
