// One reverse (denoising) step of each sampler, from x_t and the predicted noise ε.

import * as F from '../ops/index.js';
import type { Tensor } from '../tensor/tensor.js';
import { predictX0 } from './process.js';
import type { Schedule } from './schedule.js';

export type Variance = 'beta' | 'posterior';

export interface StepOptions {
  /** σ_t² = β_t (the DDPM paper's choice) or the posterior variance β̃_t. */
  variance?: Variance;
  /** Clip the predicted x_0 to [−1, 1] before stepping (keeps samples in the data range). */
  clip?: boolean;
}

/**
 * DDPM ancestral step (Ho et al., Algorithm 2), t → t−1:
 *   x_{t−1} = (x_t − (1 − α_t)/√(1 − ᾱ_t) · ε) / √α_t + σ_t z,   no noise at t = 0.
 * With clipping, the mean is taken from the clipped x̂_0 instead: coef1·x̂_0 + coef2·x_t (the
 * same value when nothing is clipped).
 */
export function ddpmStep(schedule: Schedule, xt: Tensor, eps: Tensor, t: number, z: Tensor, { variance = 'beta', clip = false }: StepOptions = {}): Tensor {
  checkStep(schedule, t, 'ddpmStep');
  let mean: Tensor;
  if (clip) {
    const x0 = F.clamp(predictX0(schedule, xt, eps, t), -1, 1);
    mean = F.add(F.mul(x0, schedule.posteriorMeanCoef1[t]!), F.mul(xt, schedule.posteriorMeanCoef2[t]!));
  } else {
    const a = schedule.alphas[t]!;
    mean = F.div(F.sub(xt, F.mul(eps, (1 - a) / Math.sqrt(1 - schedule.alphasCumprod[t]!))), Math.sqrt(a));
  }
  if (t === 0) return mean;
  const sigma2 = variance === 'beta' ? schedule.betas[t]! : schedule.posteriorVariance[t]!;
  return F.add(mean, F.mul(z, Math.sqrt(sigma2)));
}

/**
 * DDIM step (Song et al. 2021, eq. 12) from t to any earlier tPrev (−1 means the end, ᾱ = 1):
 *   x_{prev} = √ᾱ_prev x̂_0 + √(1 − ᾱ_prev − σ²) ε + σ z,
 *   σ = η √((1 − ᾱ_prev)/(1 − ᾱ_t)) √(1 − ᾱ_t/ᾱ_prev).
 * η = 0 is deterministic; η = 1 matches DDPM's posterior noise.
 */
export function ddimStep(schedule: Schedule, xt: Tensor, eps: Tensor, t: number, tPrev: number, eta: number, z: Tensor, { clip = false }: Pick<StepOptions, 'clip'> = {}): Tensor {
  checkStep(schedule, t, 'ddimStep');
  if (!Number.isInteger(tPrev) || tPrev < -1 || tPrev >= t) throw new Error(`ddimStep: tPrev must be an integer in -1…${t - 1}, got ${tPrev}`);
  const aT = schedule.alphasCumprod[t]!;
  const aPrev = tPrev >= 0 ? schedule.alphasCumprod[tPrev]! : 1;
  let x0 = predictX0(schedule, xt, eps, t);
  if (clip) {
    x0 = F.clamp(x0, -1, 1);
    eps = F.div(F.sub(xt, F.mul(x0, Math.sqrt(aT))), Math.sqrt(1 - aT)); // ε consistent with the clipped x̂_0
  }
  const sigma = eta * Math.sqrt(((1 - aPrev) / (1 - aT)) * (1 - aT / aPrev));
  const dir = Math.sqrt(Math.max(0, 1 - aPrev - sigma * sigma));
  let out = F.add(F.mul(x0, Math.sqrt(aPrev)), F.mul(eps, dir));
  if (sigma > 0) out = F.add(out, F.mul(z, sigma));
  return out;
}

/**
 * The timesteps a DDIM run of `steps` steps visits, from T−1 down: evenly spaced and ending each
 * stride at its last step ("trailing"), so the first step starts from pure noise at t = T−1.
 */
export function ddimTimesteps(T: number, steps: number): number[] {
  if (!Number.isInteger(steps) || steps < 1 || steps > T) throw new Error(`ddimTimesteps: steps must be an integer in 1…${T}, got ${steps}`);
  const ts: number[] = [];
  for (let i = steps; i >= 1; i--) ts.push(Math.round((i * T) / steps) - 1);
  return ts;
}

function checkStep(schedule: Schedule, t: number, where: string): void {
  if (!Number.isInteger(t) || t < 0 || t >= schedule.T) throw new Error(`${where}: t must be an integer in 0…${schedule.T - 1}, got ${t}`);
}
