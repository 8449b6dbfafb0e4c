// The noise schedule of the forward process and the quantities derived from it (float64).
//
// Forward process: q(x_t | x_0) = N(√ᾱ_t x_0, (1 − ᾱ_t) I), with ᾱ_t = Π_{s≤t} (1 − β_s).
// Timesteps are 0-based: t = 0 … T−1.

export type ScheduleKind = 'linear' | 'cosine';

export interface ScheduleOptions {
  schedule: ScheduleKind;
  timesteps: number;
  betaStart: number;
  betaEnd: number;
}

export interface Schedule {
  readonly T: number;
  readonly betas: Float64Array;
  readonly alphas: Float64Array;
  /** ᾱ_t */
  readonly alphasCumprod: Float64Array;
  /** ᾱ_{t−1}, with ᾱ_{−1} = 1 */
  readonly alphasCumprodPrev: Float64Array;
  /** β̃_t = β_t (1 − ᾱ_{t−1}) / (1 − ᾱ_t), the variance of q(x_{t−1} | x_t, x_0) */
  readonly posteriorVariance: Float64Array;
  /** Posterior mean = coef1 · x_0 + coef2 · x_t */
  readonly posteriorMeanCoef1: Float64Array;
  readonly posteriorMeanCoef2: Float64Array;
}

/** T evenly spaced values from start to end, computed as torch.linspace does (from both ends). */
function linspace(start: number, end: number, n: number): Float64Array {
  const out = new Float64Array(n);
  if (n === 1) {
    out[0] = start;
    return out;
  }
  const step = (end - start) / (n - 1);
  const half = Math.floor(n / 2);
  for (let i = 0; i < n; i++) out[i] = i < half ? start + step * i : end - step * (n - 1 - i);
  return out;
}

/** Nichol & Dhariwal (2021): ᾱ follows cos², s = 0.008, each β clipped at 0.999. */
function cosineBetas(T: number, s = 0.008): Float64Array {
  const f = (t: number) => Math.cos(((t / T + s) / (1 + s)) * (Math.PI / 2)) ** 2;
  return Float64Array.from({ length: T }, (_, i) => Math.min(1 - f(i + 1) / f(i), 0.999));
}

export function makeSchedule({ schedule, timesteps: T, betaStart, betaEnd }: ScheduleOptions): Schedule {
  if (!Number.isInteger(T) || T < 1) throw new Error(`makeSchedule: timesteps must be a positive integer, got ${T}`);
  let betas: Float64Array;
  if (schedule === 'linear') {
    if (!(betaStart > 0 && betaEnd < 1 && betaStart <= betaEnd)) {
      throw new Error(`makeSchedule: need 0 < betaStart <= betaEnd < 1, got ${betaStart}, ${betaEnd}`);
    }
    betas = linspace(betaStart, betaEnd, T);
  } else if (schedule === 'cosine') {
    betas = cosineBetas(T);
  } else {
    throw new Error(`makeSchedule: schedule must be 'linear' or 'cosine', got '${String(schedule)}'`);
  }
  const alphas = betas.map((b) => 1 - b);
  const alphasCumprod = new Float64Array(T);
  let acc = 1;
  for (let t = 0; t < T; t++) alphasCumprod[t] = acc *= alphas[t]!;
  const alphasCumprodPrev = Float64Array.from({ length: T }, (_, t) => (t === 0 ? 1 : alphasCumprod[t - 1]!));
  const posteriorVariance = betas.map((b, t) => (b * (1 - alphasCumprodPrev[t]!)) / (1 - alphasCumprod[t]!));
  const posteriorMeanCoef1 = betas.map((b, t) => (b * Math.sqrt(alphasCumprodPrev[t]!)) / (1 - alphasCumprod[t]!));
  const posteriorMeanCoef2 = alphas.map((a, t) => ((1 - alphasCumprodPrev[t]!) * Math.sqrt(a)) / (1 - alphasCumprod[t]!));
  return { T, betas, alphas, alphasCumprod, alphasCumprodPrev, posteriorVariance, posteriorMeanCoef1, posteriorMeanCoef2 };
}
