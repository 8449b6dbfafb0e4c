// The forward process in closed form, and the conversions between what the network predicts
// (ε, x_0 or v) and the quantities the loss and the samplers need.

import * as F from '../ops/index.js';
import { Tensor } from '../tensor/tensor.js';
import type { Schedule } from './schedule.js';

export type Prediction = 'eps' | 'x0' | 'v';

/** A per-batch-item coefficient c(t_b), shaped [B, 1, 1, 1] to broadcast over images. */
export function perItem(t: readonly number[], coef: (t: number) => number, like: Tensor): Tensor {
  const values = Float32Array.from(t, coef);
  const shape = [t.length, ...like.shape.slice(1).map(() => 1)];
  return new Tensor(like.backend.fromArray(values), shape);
}

function checkTimesteps(schedule: Schedule, t: readonly number[], batch: number, where: string): void {
  if (t.length !== batch) throw new Error(`${where}: ${t.length} timesteps for a batch of ${batch}`);
  for (const s of t) {
    if (!Number.isInteger(s) || s < 0 || s >= schedule.T) throw new Error(`${where}: timestep ${s} is outside 0…${schedule.T - 1}`);
  }
}

/** x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε  (Ho et al., eq. 4: any t in one step). */
export function qSample(schedule: Schedule, x0: Tensor, t: readonly number[], noise: Tensor): Tensor {
  checkTimesteps(schedule, t, x0.shape[0]!, 'qSample');
  const abar = schedule.alphasCumprod;
  return F.add(F.mul(x0, perItem(t, (s) => Math.sqrt(abar[s]!), x0)), F.mul(noise, perItem(t, (s) => Math.sqrt(1 - abar[s]!), x0)));
}

/**
 * What the network learns to output: ε (the DDPM paper), x_0, or the velocity
 * v = √ᾱ_t ε − √(1 − ᾱ_t) x_0 (Salimans & Ho 2022).
 */
export function trainingTarget(prediction: Prediction, schedule: Schedule, x0: Tensor, noise: Tensor, t: readonly number[]): Tensor {
  if (prediction === 'eps') return noise;
  if (prediction === 'x0') return x0;
  const abar = schedule.alphasCumprod;
  return F.sub(F.mul(noise, perItem(t, (s) => Math.sqrt(abar[s]!), x0)), F.mul(x0, perItem(t, (s) => Math.sqrt(1 - abar[s]!), x0)));
}

/**
 * Min-SNR-γ loss weights (Hang et al. 2023), one per batch item [B, 1, …]: the signal-to-noise
 * ratio SNR_t = ᾱ_t/(1 − ᾱ_t) is capped at γ, so the nearly clean timesteps, easy and many, stop
 * dominating the gradient. Written for each target so that the ε-loss it weights equals
 * min(SNR_t, γ)·‖x̂_0 − x_0‖²: ε → min(SNR, γ)/SNR, v → min(SNR, γ)/(SNR + 1), x_0 → min(SNR, γ).
 */
export function minSnrWeights(prediction: Prediction, schedule: Schedule, t: readonly number[], gamma: number, like: Tensor): Tensor {
  return perItem(t, (s) => {
    const a = schedule.alphasCumprod[s]!, snr = a / (1 - a), capped = Math.min(snr, gamma);
    return prediction === 'eps' ? capped / snr : prediction === 'v' ? capped / (snr + 1) : capped;
  }, like);
}

/** Recovers ε from the network's output at timestep t (the same t for the whole batch). */
export function predictedEps(prediction: Prediction, schedule: Schedule, xt: Tensor, out: Tensor, t: number): Tensor {
  const a = schedule.alphasCumprod[t]!;
  if (prediction === 'eps') return out;
  if (prediction === 'x0') return F.div(F.sub(xt, F.mul(out, Math.sqrt(a))), Math.sqrt(1 - a)); // ε = (x_t − √ᾱ x_0)/√(1−ᾱ)
  return F.add(F.mul(xt, Math.sqrt(1 - a)), F.mul(out, Math.sqrt(a))); // ε = √(1−ᾱ) x_t + √ᾱ v
}

/** x̂_0 = (x_t − √(1 − ᾱ_t) ε) / √ᾱ_t. */
export function predictX0(schedule: Schedule, xt: Tensor, eps: Tensor, t: number): Tensor {
  const a = schedule.alphasCumprod[t]!;
  return F.div(F.sub(xt, F.mul(eps, Math.sqrt(1 - a))), Math.sqrt(a));
}
