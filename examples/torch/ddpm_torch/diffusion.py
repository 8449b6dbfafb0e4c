"""The schedules, the forward process and the reverse steps of src/diffusion/ (schedule.ts,
process.ts, sampler-steps.ts). Schedules are computed in float64 and each per-timestep coefficient
rounded to float32 where it meets an image, as ddpm-ts does."""

import math

import torch


class Schedule:
    """schedule.ts makeSchedule: betas, ᾱ and the posterior coefficients, in float64."""

    def __init__(self, schedule, timesteps, betaStart, betaEnd, **_):
        T = timesteps
        if schedule == "linear":
            betas = linspace(betaStart, betaEnd, T)
        elif schedule == "cosine":
            betas = cosine_betas(T)
        else:
            raise ValueError(f"diffusion.schedule must be 'linear' or 'cosine', got {schedule!r}")
        self.T = T
        self.betas = betas
        self.alphas = [1 - b for b in betas]
        acc, cumprod = 1.0, []
        for a in self.alphas:
            acc *= a
            cumprod.append(acc)
        self.alphas_cumprod = cumprod
        self.alphas_cumprod_prev = [1.0] + cumprod[:-1]
        self.posterior_variance = [b * (1 - p) / (1 - c) for b, p, c in zip(betas, self.alphas_cumprod_prev, cumprod)]
        self.posterior_mean_coef1 = [b * math.sqrt(p) / (1 - c) for b, p, c in zip(betas, self.alphas_cumprod_prev, cumprod)]
        self.posterior_mean_coef2 = [(1 - p) * math.sqrt(a) / (1 - c) for a, p, c in zip(self.alphas, self.alphas_cumprod_prev, cumprod)]


def linspace(start, end, n):
    """schedule.ts linspace: as torch.linspace computes it, from both ends."""
    if n == 1:
        return [start]
    step = (end - start) / (n - 1)
    half = n // 2
    return [start + step * i if i < half else end - step * (n - 1 - i) for i in range(n)]


def cosine_betas(T, s=0.008):
    """schedule.ts cosineBetas (Nichol & Dhariwal 2021), each β clipped at 0.999."""
    f = lambda t: math.cos(((t / T + s) / (1 + s)) * (math.pi / 2)) ** 2
    return [min(1 - f(i + 1) / f(i), 0.999) for i in range(T)]


def per_item(t, coef, like):
    """process.ts perItem: c(t_b) for each batch item, float32, shaped [B, 1, 1, 1]."""
    values = torch.tensor([coef(int(s)) for s in t], dtype=torch.float32, device=like.device)
    return values.reshape(len(t), *([1] * (like.dim() - 1)))


def q_sample(schedule, x0, t, noise):
    """process.ts qSample: x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε."""
    abar = schedule.alphas_cumprod
    return x0 * per_item(t, lambda s: math.sqrt(abar[s]), x0) + noise * per_item(t, lambda s: math.sqrt(1 - abar[s]), x0)


def training_target(prediction, schedule, x0, noise, t):
    """process.ts trainingTarget: ε, x_0, or v = √ᾱ_t ε − √(1 − ᾱ_t) x_0."""
    if prediction == "eps":
        return noise
    if prediction == "x0":
        return x0
    abar = schedule.alphas_cumprod
    return noise * per_item(t, lambda s: math.sqrt(abar[s]), x0) - x0 * per_item(t, lambda s: math.sqrt(1 - abar[s]), x0)


def min_snr_weights(prediction, schedule, t, gamma, like):
    """process.ts minSnrWeights: one weight per item, min(SNR_t, γ) over SNR_t (ε), SNR_t + 1 (v)
    or 1 (x_0), SNR_t = ᾱ_t / (1 − ᾱ_t)."""
    abar = schedule.alphas_cumprod

    def weight(s):
        snr = abar[s] / (1 - abar[s])
        capped = min(snr, gamma)
        return capped / snr if prediction == "eps" else capped / (snr + 1) if prediction == "v" else capped

    return per_item(t, weight, like)


def predicted_eps(prediction, schedule, xt, out, t):
    """process.ts predictedEps: ε from the network's output at timestep t."""
    a = schedule.alphas_cumprod[t]
    if prediction == "eps":
        return out
    if prediction == "x0":
        return (xt - out * math.sqrt(a)) / math.sqrt(1 - a)
    return xt * math.sqrt(1 - a) + out * math.sqrt(a)


def predict_x0(schedule, xt, eps, t):
    """process.ts predictX0: x̂_0 = (x_t − √(1 − ᾱ_t) ε) / √ᾱ_t."""
    a = schedule.alphas_cumprod[t]
    return (xt - eps * math.sqrt(1 - a)) / math.sqrt(a)


def ddpm_step(schedule, xt, eps, t, z, variance="beta", clip=False):
    """sampler-steps.ts ddpmStep: one ancestral step t → t − 1."""
    if clip:
        x0 = predict_x0(schedule, xt, eps, t).clamp(-1, 1)
        mean = x0 * schedule.posterior_mean_coef1[t] + xt * schedule.posterior_mean_coef2[t]
    else:
        a = schedule.alphas[t]
        mean = (xt - eps * ((1 - a) / math.sqrt(1 - schedule.alphas_cumprod[t]))) / math.sqrt(a)
    if t == 0:
        return mean
    sigma2 = schedule.betas[t] if variance == "beta" else schedule.posterior_variance[t]
    return mean + z * math.sqrt(sigma2)


def ddim_step(schedule, xt, eps, t, t_prev, eta, z, clip=False):
    """sampler-steps.ts ddimStep: t → any earlier t_prev (−1: the end, ᾱ = 1)."""
    a_t = schedule.alphas_cumprod[t]
    a_prev = schedule.alphas_cumprod[t_prev] if t_prev >= 0 else 1.0
    x0 = predict_x0(schedule, xt, eps, t)
    if clip:
        x0 = x0.clamp(-1, 1)
        eps = (xt - x0 * math.sqrt(a_t)) / math.sqrt(1 - a_t)
    sigma = eta * math.sqrt(((1 - a_prev) / (1 - a_t)) * (1 - a_t / a_prev))
    out = x0 * math.sqrt(a_prev) + eps * math.sqrt(max(0.0, 1 - a_prev - sigma * sigma))
    return out + z * sigma if sigma > 0 else out


def ddim_timesteps(T, steps):
    """sampler-steps.ts ddimTimesteps: evenly spaced from T − 1 down ("trailing")."""
    return [round(i * T / steps) - 1 for i in range(steps, 0, -1)]


@torch.no_grad()
def sample(model, schedule, config, count, generator, device):
    """sampler.ts sample, for preview grids: DDIM or DDPM as config.sample says, from noise drawn
    by `generator` (PyTorch's own: the pictures differ from ddpm-ts's for the same seed)."""
    m, d, s = config["model"], config["diffusion"], config["sample"]
    shape = (count, m["inChannels"], m["imageSize"], m["imageSize"])
    x = torch.randn(shape, generator=generator).to(device)
    if s["sampler"] == "ddim":
        ts = ddim_timesteps(schedule.T, s["steps"])
        plan = list(zip(ts, ts[1:] + [-1]))
    else:
        plan = [(t, t - 1) for t in range(schedule.T - 1, -1, -1)]
    for t, t_prev in plan:
        out = model(x, torch.full((count,), t, dtype=torch.int64, device=device))
        eps = predicted_eps(d["prediction"], schedule, x, out, t)
        if s["epsScale"] != 1:
            eps = eps / s["epsScale"]  # epsilon scaling
        z = torch.randn(shape, generator=generator).to(device)
        if s["sampler"] == "ddim":
            x = ddim_step(schedule, x, eps, t, t_prev, s["eta"], z, clip=s["clip"])
        else:
            x = ddpm_step(schedule, x, eps, t, z, variance=d["variance"], clip=s["clip"])
    return x.clamp(-1, 1)
