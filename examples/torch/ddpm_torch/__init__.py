"""ddpm-ts's training in PyTorch: the same UNet (parameter names and shapes), schedules, losses,
Adam, clipping, warm-up and EMA, read from the same config object, and checkpoints in ddpm-ts's
format. Each function names the TypeScript function it mirrors. train_ddp.py runs it under
torchrun with DistributedDataParallel."""
