"""The optimizer side of a ddpm-ts training step (src/optim/): Adam/AdamW, gradient clipping,
learning-rate warm-up and the EMA with its warm-up rule, in the same order of operations, so one
step here and in ddpm-ts gives the same weights to float32 rounding."""

import math
import torch


class Adam:
    """src/optim/adam.ts Adam (AdamW with decoupled=True). For each parameter p with gradient g at step t:
      g̃ = g + λ·p (Adam's L2 decay; AdamW instead scales p by d = 1 − lr·λ)
      m ← β1·m + (1−β1)·g̃,   v ← β2·v + (1−β2)·g̃²
      p ← p·d − (lr/(1−β1ᵗ))·m / (√v/√(1−β2ᵗ) + ε)"""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decoupled=False):
        self.params = list(params)
        self.lr, self.betas, self.eps, self.weight_decay, self.decoupled = lr, betas, eps, weight_decay, decoupled
        self.step_count = 0
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]

    @torch.no_grad()
    def step(self):
        self.step_count += 1
        t, (b1, b2) = self.step_count, self.betas
        l2 = 0.0 if self.decoupled else self.weight_decay
        step_size, bias2_sqrt = self.lr / (1 - b1 ** t), (1 - b2 ** t) ** 0.5
        decay = 1 - self.lr * self.weight_decay if self.decoupled else 1.0
        for p, m, v in zip(self.params, self.m, self.v):
            if p.grad is None:
                continue
            g = p.grad + p * l2 if l2 != 0 else p.grad
            m.copy_(m * b1 + g * (1 - b1))
            v.copy_(v * b2 + g * g * (1 - b2))
            denom = v.sqrt() / bias2_sqrt + self.eps
            p.copy_(p * decay - (m / denom) * step_size)

    def zero_grad(self):
        for p in self.params:
            p.grad = None


@torch.no_grad()
def clip_grad_norm(params, max_norm):
    """src/optim/clip.ts clipGradNorm: s = min(1, max_norm/(‖g‖ + 1e-6)), g ← s·g; returns ‖g‖ before."""
    grads = [p.grad for p in params if p.grad is not None]
    norm = torch.sqrt(sum(g.square().sum() for g in grads))
    scale = torch.clamp(max_norm / (norm + 1e-6), 0, 1)
    for g in grads:
        g.copy_(g * scale)
    return norm


def warmup_lr(base_lr, step, warmup_steps):
    """src/optim/lr.ts warmupLr: linear from lr/warmupSteps to lr over the first warmupSteps steps (step from 0)."""
    if warmup_steps <= 0:
        return base_lr
    return base_lr * min(1, (step + 1) / warmup_steps)


def scheduled_lr(base_lr, step, warmup_steps, total_steps, schedule):
    """src/optim/lr.ts scheduledLr: the warm-up, then constant or a cosine towards 0 at total_steps."""
    if schedule == "constant" or step < warmup_steps:
        return warmup_lr(base_lr, step, warmup_steps)
    p = min(1, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    return base_lr * 0.5 * (1 + math.cos(math.pi * p))


class EMA:
    """src/optim/ema.ts EMA: shadow ← d·shadow + (1 − d)·param, d = min(decay, (1 + n)/(c + n))
    after n updates, c the warm-up (train.emaWarmup, 10 by default; 1 turns it off)."""

    def __init__(self, named_params, decay=0.999, warmup=10):
        self.decay, self.warmup, self.updates = decay, warmup, 0
        self.params = list(named_params)
        self.shadow = {name: p.detach().clone() for name, p in self.params}

    def current_decay(self):
        n = self.updates
        return min(self.decay, (1 + n) / (self.warmup + n))

    @torch.no_grad()
    def update(self):
        d = self.current_decay()
        for name, p in self.params:
            s = self.shadow[name]
            s.copy_(s * d + p * (1 - d))
        self.updates += 1
