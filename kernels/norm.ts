// Group normalisation (optionally followed by SiLU), the GPU twin of src/backends/cpu/norm.ts.
// x is contiguous [N, C, S] (S values per channel) in G groups of P = C/G channels, M = P·S
// values a group. Sizes are constants.
//   μ = mean(x),  r = 1/√(mean((x − μ)²) + eps),  x̂ = (x − μ)·r          per (image, group)
//   a = γ_c·x̂ + β_c,   y = a   or   y = SiLU(a) = a·σ(a)
// Backward, given dy:
//   g_a = dy   or   dy·σ(a)·(1 + a·(1 − σ(a)))
//   dβ_c = Σ g_a,   dγ_c = Σ g_a·x̂                                       (over images and pixels)
//   dx = r·(g_x̂ − mean(g_x̂) − x̂·mean(g_x̂·x̂)),   g_x̂ = g_a·γ_c            (means over the group)
// Each pass is its own kernel: statistics (μ and 1/σ side by side), normalisation, and backward
// the per-channel sums of g_a and g_a·x̂ (from which the backend's reduces give dγ and dβ), then dx.
// γ and β are read from gammaAt and betaAt on (arguments): a parameter lives inside its
// optimizer's flat state (src/optim/adam.ts), and is read there without a copy.

import type { Input, KernelThis } from './types.js';
import { sigmoidOf, siluGradOf } from './elementwise.js';
import { floorDiv } from './strided.js';

/**
 * The statistics [N, G, 2] of each (image, group) i: thread 2i its mean μ, thread 2i + 1 its
 * 1/σ = 1/√(mean((x − μ)²) + eps), which sums the group once more for μ first (two passes, as
 * the CPU does, rather than E[x²] − μ², which loses digits). One launch for both.
 */
export function groupStats(this: KernelThis, x: Input): number {
  const group = floorDiv(this.thread.x, 2);
  const second = this.thread.x - 2 * group;
  const n = floorDiv(group, this.constants.G!);
  const g = group - n * this.constants.G!;
  const start = (n * this.constants.C! + g * this.constants.P!) * this.constants.S!;
  let sum = 0;
  for (let j = 0; j < this.constants.M!; j++) {
    sum += x[start + j]!;
  }
  const mu = sum / this.constants.M!;
  if (second === 0) {
    return mu;
  }
  let squares = 0;
  for (let j = 0; j < this.constants.M!; j++) {
    const d = x[start + j]! - mu;
    squares += d * d;
  }
  return 1 / Math.sqrt(squares / this.constants.M! + this.constants.eps!);
}

// The helpers below take values, not arrays: gpu.js's WebGPU translation passes no array to a
// helper function (WGSL cannot take a storage buffer as a function argument), so each kernel
// indexes its inputs itself and hands the helpers numbers.

/** The channel of element i of [N, C, S]. */
export function channelOf(this: KernelThis | void, i: number): number {
  const rows = floorDiv(i, (this as KernelThis).constants.S!);
  return rows - floorDiv(rows, (this as KernelThis).constants.C!) * (this as KernelThis).constants.C!;
}

/** The (image, group), n·G + g, of element i of [N, C, S]: its μ is stats[2·that], its 1/σ the next. */
export function statOf(this: KernelThis | void, i: number): number {
  const rows = floorDiv(i, (this as KernelThis).constants.S!);
  const n = floorDiv(rows, (this as KernelThis).constants.C!);
  const c = rows - n * (this as KernelThis).constants.C!;
  return n * (this as KernelThis).constants.G! + floorDiv(c, (this as KernelThis).constants.P!);
}

/** The affine output a = γ·x̂ + β = γ·(x − μ)·r + β (before SiLU). */
export function affine(xv: number, mu: number, r: number, gammaC: number, betaC: number): number {
  return (xv - mu) * r * gammaC + betaC;
}

/** y_i = a_i, or SiLU(a_i) = a·σ(a). */
export function groupNorm(this: KernelThis, x: Input, stats: Input, gamma: Input, beta: Input, gammaAt: number, betaAt: number): number {
  const c = channelOf(this.thread.x);
  const stat = statOf(this.thread.x);
  const a = affine(x[this.thread.x]!, stats[2 * stat]!, stats[2 * stat + 1]!, gamma[gammaAt + c]!, beta[betaAt + c]!);
  if (this.constants.silu === 1) {
    return a * sigmoidOf(a);
  }
  return a;
}

/** g_a from dy and a: dy through SiLU's derivative when SiLU followed the affine. */
export function gradA(this: KernelThis | void, dyv: number, a: number): number {
  if ((this as KernelThis).constants.silu === 1) {
    return siluGradOf(a, dyv);
  }
  return dyv;
}

/**
 * Per (image, channel) pair i = n·C + c: thread 2i sums g_a·x̂ over the channel's S pixels, thread
 * 2i + 1 sums g_a. Every backward sum is built from these [N, C, 2] partial sums: dγ_c and dβ_c
 * add them over the images (one reduce for both), and dx's two group means add γ_c times them over the
 * group's channels. One thread a channel of an image sums S values (rather than one a group,
 * P·S, or one a channel, N·S), so the GPU has N·C·2 sums to run side by side.
 */
export function groupNormChannelSums(this: KernelThis, dy: Input, x: Input, stats: Input, gamma: Input, beta: Input, gammaAt: number, betaAt: number): number {
  const pair = floorDiv(this.thread.x, 2);
  const second = this.thread.x - 2 * pair;
  const n = floorDiv(pair, this.constants.C!);
  const c = pair - n * this.constants.C!;
  const stat = n * this.constants.G! + floorDiv(c, this.constants.P!);
  const mu = stats[2 * stat]!;
  const r = stats[2 * stat + 1]!;
  const start = pair * this.constants.S!;
  let sum = 0;
  for (let j = 0; j < this.constants.S!; j++) {
    const ga = gradA(dy[start + j]!, affine(x[start + j]!, mu, r, gamma[gammaAt + c]!, beta[betaAt + c]!));
    if (second === 0) {
      sum += ga * (x[start + j]! - mu) * r;
    } else {
      sum += ga;
    }
  }
  return sum;
}

/**
 * dx_i = r·(g_x̂ − mean(g_x̂) − x̂·mean(g_x̂·x̂)), g_x̂ = g_a·γ_c; the group means add γ_c times the
 * channel sums over the group's P channels: mean(g_x̂) = Σ_c γ_c·Σ g_a / M, mean(g_x̂·x̂) = Σ_c γ_c·Σ g_a·x̂ / M.
 */
export function groupNormDx(this: KernelThis, dy: Input, x: Input, stats: Input, gamma: Input, beta: Input, sums: Input, gammaAt: number, betaAt: number): number {
  const c = channelOf(this.thread.x);
  const stat = statOf(this.thread.x);
  const mu = stats[2 * stat]!;
  const r = stats[2 * stat + 1]!;
  const xhat = (x[this.thread.x]! - mu) * r;
  const gx = gradA(dy[this.thread.x]!, affine(x[this.thread.x]!, mu, r, gamma[gammaAt + c]!, beta[betaAt + c]!)) * gamma[gammaAt + c]!;
  const n = floorDiv(stat, this.constants.G!);
  const c0 = (stat - n * this.constants.G!) * this.constants.P!; // the group's first channel
  let sumGx = 0;
  let sumGxXhat = 0;
  for (let k = 0; k < this.constants.P!; k++) {
    const pair = n * this.constants.C! + c0 + k;
    sumGxXhat += gamma[gammaAt + c0 + k]! * sums[2 * pair]!;
    sumGx += gamma[gammaAt + c0 + k]! * sums[2 * pair + 1]!;
  }
  return r * (gx - sumGx / this.constants.M! - xhat * sumGxXhat / this.constants.M!);
}
