"""The UNet of src/nn/unet.ts, with its parameter names and shapes: a ddpm-ts checkpoint's
`model.*` tensors load into it with load_state_dict(strict=True), and its state_dict() loads back
into ddpm-ts."""

import math

import torch
from torch import nn
import torch.nn.functional as F


def timestep_embedding(t, dim, max_period=10000):
    """src/ops/embedding.ts timestepEmbedding: [sin(t·fᵢ), cos(t·fᵢ)], fᵢ = exp(−i·ln(max_period)/(half − 1)),
    rounded to float32 where ddpm-ts rounds (the scale, each frequency, each argument)."""
    half = dim // 2
    scale = torch.tensor(math.log(max_period) / (half - 1), dtype=torch.float32).double()
    exponents = (torch.arange(half, dtype=torch.float64) * -scale).float().double()
    freqs = torch.exp(exponents).float()
    args = (t.double()[:, None] * freqs.double()[None]).float().double()
    return torch.cat([torch.sin(args), torch.cos(args)], dim=1).float()


class TimeEmbedding(nn.Module):
    """src/nn/time-embedding.ts: sinusoidal(t) → dense0 → SiLU → dense1."""

    def __init__(self, base, tdim):
        super().__init__()
        self.base = base
        self.dense0, self.dense1 = nn.Linear(base, tdim), nn.Linear(tdim, tdim)

    def forward(self, t):
        return self.dense1(F.silu(self.dense0(timestep_embedding(t, self.base))))


class ResBlock(nn.Module):
    """src/nn/resblock.ts ResBlock."""

    def __init__(self, cin, cout, tdim, groups, dropout=0.0):
        super().__init__()
        self.norm1, self.conv1 = nn.GroupNorm(groups, cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.tembProj = nn.Linear(tdim, cout)
        self.norm2, self.conv2 = nn.GroupNorm(groups, cout), nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else None
        self.dropout = dropout

    def forward(self, x, temb_silu):
        h = self.conv1(F.silu(self.norm1(x))) + self.tembProj(temb_silu)[:, :, None, None]
        h = self.conv2(F.dropout(F.silu(self.norm2(h)), self.dropout, self.training))
        return (self.skip(x) if self.skip is not None else x) + h


class AttentionBlock(nn.Module):
    """src/nn/attention.ts AttentionBlock: single-head self-attention over the pixels."""

    def __init__(self, ch, groups):
        super().__init__()
        self.norm, self.qkv, self.proj = nn.GroupNorm(groups, ch), nn.Conv2d(ch, 3 * ch, 1), nn.Conv2d(ch, ch, 1)

    def forward(self, x):
        B, C, H, W = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(B, 3, C, H * W).unbind(1)
        weights = torch.softmax(q.transpose(1, 2) @ k * (1 / math.sqrt(C)), dim=-1)
        return x + self.proj((v @ weights.transpose(1, 2)).reshape(B, C, H, W))


class UNet(nn.Module):
    """src/nn/unet.ts UNet, built from the `model` part of a ddpm-ts config."""

    def __init__(self, imageSize, inChannels, baseChannels, channelMults, numResBlocks, attnResolutions, groups, timeEmbDim, dropout=0.0, **_):
        super().__init__()
        base, tdim, levels = baseChannels, timeEmbDim, len(channelMults)
        self.time = TimeEmbedding(base, tdim)
        self.convIn = nn.Conv2d(inChannels, base, 3, padding=1)
        skips, ch, self.down = [base], base, nn.ModuleList()
        for i, m in enumerate(channelMults):
            level = nn.Module()
            level.res, level.attn = nn.ModuleList(), nn.ModuleList()
            for _ in range(numResBlocks):
                level.res.append(ResBlock(ch, base * m, tdim, groups, dropout))
                ch = base * m
                if imageSize // 2 ** i in attnResolutions:
                    level.attn.append(AttentionBlock(ch, groups))
                skips.append(ch)
            if i < levels - 1:
                level.downsample = nn.Conv2d(ch, ch, 3, stride=2, padding=1)
                skips.append(ch)
            self.down.append(level)
        self.mid = nn.ModuleDict({"res1": ResBlock(ch, ch, tdim, groups, dropout), "attn": AttentionBlock(ch, groups), "res2": ResBlock(ch, ch, tdim, groups, dropout)})
        up = [None] * levels
        for i in reversed(range(levels)):
            level = nn.Module()
            level.res, level.attn = nn.ModuleList(), nn.ModuleList()
            for _ in range(numResBlocks + 1):
                level.res.append(ResBlock(ch + skips.pop(), base * channelMults[i], tdim, groups, dropout))
                ch = base * channelMults[i]
                if imageSize // 2 ** i in attnResolutions:
                    level.attn.append(AttentionBlock(ch, groups))
            if i > 0:
                level.upsample = nn.Conv2d(ch, ch, 3, padding=1)
            up[i] = level
        self.up = nn.ModuleList(up)
        self.normOut, self.convOut = nn.GroupNorm(groups, base), nn.Conv2d(base, inChannels, 3, padding=1)

    def forward(self, x, t):
        temb_silu = F.silu(self.time(t))  # every ResBlock projects SiLU(temb)
        h = self.convIn(x)
        skips = [h]
        for level in self.down:
            for j, res in enumerate(level.res):
                h = res(h, temb_silu)
                if len(level.attn):
                    h = level.attn[j](h)
                skips.append(h)
            if hasattr(level, "downsample"):
                h = level.downsample(h)
                skips.append(h)
        h = self.mid["res2"](self.mid["attn"](self.mid["res1"](h, temb_silu)), temb_silu)
        for level in reversed(self.up):
            for j, res in enumerate(level.res):
                h = res(torch.cat([h, skips.pop()], dim=1), temb_silu)
                if len(level.attn):
                    h = level.attn[j](h)
            if hasattr(level, "upsample"):
                h = level.upsample(F.interpolate(h, scale_factor=2, mode="nearest"))
        return self.convOut(F.silu(self.normOut(h)))
