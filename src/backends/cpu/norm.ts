// Group normalisation (optionally followed by SiLU) as one kernel each way: composed from
// elementwise ops it took a dozen passes over the activations, here it takes two or three.
//
// For each image n and group g of channels (M = channels per group × spatial size values):
//   μ = mean(x),  r = 1/√(mean((x − μ)²) + eps),  x̂ = (x − μ)·r
//   a = γ_c·x̂ + β_c,   y = a   or   y = SiLU(a) = a·σ(a)
// Backward, given dy:
//   g_a = dy                     or   dy·σ(a)·(1 + a·(1 − σ(a)))      (SiLU's derivative)
//   dβ_c = Σ g_a,   dγ_c = Σ g_a·x̂                                     (over images and pixels)
//   dx = r·(g_x̂ − mean(g_x̂) − x̂·mean(g_x̂·x̂)),  g_x̂ = g_a·γ_c       (means over the group)
// Sums accumulate in float64. Both run on all threads, split by groups.

import { sigmoid, siluGrad } from './exp.js';
import { share, type TaskContext } from './task-context.js';

/** x [N, C, S] (S: values per channel) in `groups` groups; gamma and beta [C] (ones and zeros for no affine). */
export interface GroupNormParams {
  [key: string]: number | Float32Array;
  N: number; C: number; S: number; groups: number; eps: number;
  /** 1: apply SiLU after the affine. */
  silu: number;
  x: Float32Array; gamma: Float32Array; beta: Float32Array;
  /** Outputs: y [N, C, S], and each (image, group)'s mean and 1/σ side by side, [N, groups, 2]. */
  y: Float32Array; stats: Float32Array;
}

export interface GroupNormBackwardParams {
  [key: string]: number | Float32Array;
  N: number; C: number; S: number; groups: number; silu: number;
  dy: Float32Array; x: Float32Array; gamma: Float32Array; beta: Float32Array; stats: Float32Array;
  /** Outputs: dx [N, C, S], dgamma and dbeta [C]. */
  dx: Float32Array; dgamma: Float32Array; dbeta: Float32Array;
}

/** Each thread takes a range of groups, in every image. */
export function groupNormTask({ N, C, S, groups, eps, silu, x, gamma, beta, y, stats }: GroupNormParams, ctx: TaskContext): void {
  const perGroup = C / groups, M = perGroup * S;
  const [g0, g1] = share(groups, ctx);
  for (let n = 0; n < N; n++) {
    for (let g = g0; g < g1; g++) {
      const start = (n * C + g * perGroup) * S, end = start + M;
      let sum = 0;
      for (let i = start; i < end; i++) sum += x[i]!;
      const mu = sum / M;
      let squares = 0;
      for (let i = start; i < end; i++) squares += (x[i]! - mu) * (x[i]! - mu);
      const r = 1 / Math.sqrt(squares / M + eps);
      stats[2 * (n * groups + g)] = mu;
      stats[2 * (n * groups + g) + 1] = r;
      // a = γ·(x − μ)·r + β = x·scale + shift
      for (let c = g * perGroup; c < (g + 1) * perGroup; c++) {
        const scale = gamma[c]! * r, shift = beta[c]! - mu * scale;
        const o = (n * C + c) * S;
        if (silu) for (let i = o; i < o + S; i++) {
          const a = x[i]! * scale + shift;
          y[i] = a * sigmoid(a);
        }
        else for (let i = o; i < o + S; i++) y[i] = x[i]! * scale + shift;
      }
    }
  }
}

/**
 * Each thread takes a range of groups, in every image, so the per-channel sums dγ and dβ are
 * each added up by one thread, in image order.
 */
export function groupNormBackwardTask({ N, C, S, groups, silu, dy, x, gamma, beta, stats, dx, dgamma, dbeta }: GroupNormBackwardParams, ctx: TaskContext): void {
  const perGroup = C / groups, M = perGroup * S;
  const [g0, g1] = share(groups, ctx);
  const c0 = g0 * perGroup, c1 = g1 * perGroup;
  const sumGa = new Float64Array(C), sumGaXhat = new Float64Array(C);
  for (let n = 0; n < N; n++) {
    for (let g = g0; g < g1; g++) {
      const mu = stats[2 * (n * groups + g)]!, r = stats[2 * (n * groups + g) + 1]!;
      // Pass 1: g_a (kept in dx for pass 2), the channel sums, and the group's two means.
      let sumGx = 0, sumGxXhat = 0;
      for (let c = g * perGroup; c < (g + 1) * perGroup; c++) {
        const gc = gamma[c]!, bc = beta[c]!;
        let ga0 = 0, gaXhat0 = 0;
        const o = (n * C + c) * S;
        for (let i = o; i < o + S; i++) {
          const xhat = (x[i]! - mu) * r;
          const ga = silu ? siluGrad(gc * xhat + bc, dy[i]!) : dy[i]!;
          dx[i] = ga;
          ga0 += ga;
          gaXhat0 += ga * xhat;
        }
        sumGa[c] += ga0;
        sumGaXhat[c] += gaXhat0;
        sumGx += ga0 * gc;
        sumGxXhat += gaXhat0 * gc;
      }
      const meanGx = sumGx / M, meanGxXhat = sumGxXhat / M;
      // Pass 2: dx = r·(g_a·γ − mean(g_x̂) − x̂·mean(g_x̂·x̂)).
      for (let c = g * perGroup; c < (g + 1) * perGroup; c++) {
        const gc = gamma[c]!;
        const o = (n * C + c) * S;
        for (let i = o; i < o + S; i++) dx[i] = r * (dx[i]! * gc - meanGx - (x[i]! - mu) * r * meanGxXhat);
      }
    }
  }
  for (let c = c0; c < c1; c++) {
    dbeta[c] = sumGa[c]!;
    dgamma[c] = sumGaXhat[c]!;
  }
}
