# Chapter 7, the other way round: a ddpm-ts weights file loads into a PyTorch UNet with
# load_state_dict(strict=True) and computes the same function. The UNet below is written from the
# architecture in test/fixtures/README.md; nothing here is needed to use ddpm-ts.
#
#   node examples/tour/07-export-for-pytorch.js /tmp/for-torch.safetensors
#   python3 examples/tour/07_pytorch_check.py /tmp/for-torch.safetensors
#
# Needs PyTorch (Debian: apt-get install python3-torch). Uses the `safetensors` package when it is
# installed, and otherwise reads the file itself (the format is a JSON header and raw tensors).

import json, math, struct, sys
import torch
from torch import nn
import torch.nn.functional as F


def load_safetensors(path):
    try:
        from safetensors import safe_open
        with safe_open(path, framework="pt") as f:
            return {k: f.get_tensor(k) for k in f.keys()}, f.metadata()
    except ImportError:
        data = open(path, "rb").read()
        (n,) = struct.unpack("<Q", data[:8])
        header = json.loads(data[8:8 + n])
        body = data[8 + n:]
        meta = header.pop("__metadata__", {})
        kinds = {"F32": torch.float32, "I64": torch.int64}
        tensors = {k: torch.frombuffer(bytearray(body[v["data_offsets"][0]:v["data_offsets"][1]]), dtype=kinds[v["dtype"]]).reshape(v["shape"]) for k, v in header.items()}
        return tensors, meta


def sinusoidal(t, dim):
    half = dim // 2
    freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float32) / (half - 1))
    args = t.float()[:, None] * freqs[None]
    return torch.cat([torch.sin(args), torch.cos(args)], dim=1)


class ResBlock(nn.Module):
    def __init__(self, cin, cout, tdim, groups):
        super().__init__()
        self.norm1, self.conv1 = nn.GroupNorm(groups, cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.tembProj = nn.Linear(tdim, cout)
        self.norm2, self.conv2 = nn.GroupNorm(groups, cout), nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, temb):
        h = self.conv1(F.silu(self.norm1(x))) + self.tembProj(F.silu(temb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.skip(x) if self.skip is not None else x) + h


class Attention(nn.Module):
    def __init__(self, ch, groups):
        super().__init__()
        self.norm, self.qkv, self.proj = nn.GroupNorm(groups, ch), nn.Conv2d(ch, 3 * ch, 1), nn.Conv2d(ch, ch, 1)

    def forward(self, x):
        B, C, H, W = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(B, 3, C, H * W).unbind(1)
        weights = torch.softmax(q.transpose(1, 2) @ k / math.sqrt(C), dim=-1)
        return x + self.proj((v @ weights.transpose(1, 2)).reshape(B, C, H, W))


class UNet(nn.Module):
    def __init__(self, imageSize, inChannels, baseChannels, channelMults, numResBlocks, attnResolutions, groups, timeEmbDim, **_):
        super().__init__()
        base, tdim, levels = baseChannels, timeEmbDim, len(channelMults)
        self.base = base
        self.time = nn.ModuleDict({"dense0": nn.Linear(base, tdim), "dense1": nn.Linear(tdim, tdim)})
        self.convIn = nn.Conv2d(inChannels, base, 3, padding=1)
        skips, ch, self.down = [base], base, nn.ModuleList()
        for i, m in enumerate(channelMults):
            level = nn.Module()
            level.res, level.attn = nn.ModuleList(), nn.ModuleList()
            for _ in range(numResBlocks):
                level.res.append(ResBlock(ch, base * m, tdim, groups))
                ch = base * m
                if imageSize // 2 ** i in attnResolutions:
                    level.attn.append(Attention(ch, groups))
                skips.append(ch)
            if i < levels - 1:
                level.downsample = nn.Conv2d(ch, ch, 3, stride=2, padding=1)
                skips.append(ch)
            self.down.append(level)
        self.mid = nn.ModuleDict({"res1": ResBlock(ch, ch, tdim, groups), "attn": Attention(ch, groups), "res2": ResBlock(ch, ch, tdim, groups)})
        up = [None] * levels
        for i in reversed(range(levels)):
            level = nn.Module()
            level.res, level.attn = nn.ModuleList(), nn.ModuleList()
            for _ in range(numResBlocks + 1):
                level.res.append(ResBlock(ch + skips.pop(), base * channelMults[i], tdim, groups))
                ch = base * channelMults[i]
                if imageSize // 2 ** i in attnResolutions:
                    level.attn.append(Attention(ch, groups))
            if i > 0:
                level.upsample = nn.Conv2d(ch, ch, 3, padding=1)
            up[i] = level
        self.up = nn.ModuleList(up)
        self.normOut, self.convOut = nn.GroupNorm(groups, base), nn.Conv2d(base, inChannels, 3, padding=1)

    def forward(self, x, t):
        temb = self.time["dense1"](F.silu(self.time["dense0"](sinusoidal(t, self.base))))
        h = self.convIn(x)
        skips = [h]
        for level in self.down:
            for j, res in enumerate(level.res):
                h = res(h, temb)
                if len(level.attn):
                    h = level.attn[j](h)
                skips.append(h)
            if hasattr(level, "downsample"):
                h = level.downsample(h)
                skips.append(h)
        h = self.mid["res2"](self.mid["attn"](self.mid["res1"](h, temb)), temb)
        for level in reversed(self.up):
            for j, res in enumerate(level.res):
                h = res(torch.cat([h, skips.pop()], dim=1), temb)
                if len(level.attn):
                    h = level.attn[j](h)
            if hasattr(level, "upsample"):
                h = level.upsample(F.interpolate(h, scale_factor=2, mode="nearest"))
        return self.convOut(F.silu(self.normOut(h)))


tensors, metadata = load_safetensors(sys.argv[1])
config = json.loads(metadata["config"])
weights = {k: v for k, v in tensors.items() if not k.startswith("check.")}
model = UNet(**config["model"])
model.load_state_dict(weights, strict=True)
model.eval()
with torch.no_grad():
    out = model(tensors["check.x"], tensors["check.t"])
ref = tensors["check.out"]
print(f"loaded {len(weights)} tensors with strict=True")
print(f"PyTorch {torch.__version__} vs ddpm-ts, UNet output: max relative error {((out - ref).abs().max() / ref.abs().max()).item():.2e}")
