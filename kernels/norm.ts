// Group normalisation (optionally followed by SiLU), the GPU twin of src/backends/cpu/norm.ts.
// x is contiguous [N, C, S] (S values per channel) in G groups of P = C/G channels, M = P·S
// values a group. Sizes are constants.
//   μ = mean(x),  r = 1/√(mean((x − μ)²) + eps),  x̂ = (x − μ)·r          per (image, group)
//   a = γ_c·x̂ + β_c,   y = a   or   y = SiLU(a) = a·σ(a)
// Backward, given dy:
//   g_a = dy   or   dy·σ(a)·(1 + a·(1 − σ(a)))
//   dβ_c = Σ g_a,   dγ_c = Σ g_a·x̂                                       (over images and pixels)
//   dx = r·(g_x̂ − mean(g_x̂) − x̂·mean(g_x̂·x̂)),   g_x̂ = g_a·γ_c            (means over the group)
// Each pass is its own kernel: statistics, normalisation, the group sums, dx, and dγ/dβ.

import type { Input, KernelThis } from './types.js';
import { floorDiv } from './view.js';

/** Mean of each (image, group): thread i is group i of [N, G]. */
export function groupMean(this: KernelThis, x: Input): number {
  const n = floorDiv(this.thread.x, this.constants.G!);
  const g = this.thread.x - n * this.constants.G!;
  const start = (n * this.constants.C! + g * this.constants.P!) * this.constants.S!;
  let sum = 0;
  for (let j = 0; j < this.constants.M!; j++) {
    sum += x[start + j]!;
  }
  return sum / this.constants.M!;
}

/** 1/σ of each (image, group), from its mean. */
export function groupRstd(this: KernelThis, x: Input, mean: Input): number {
  const n = floorDiv(this.thread.x, this.constants.G!);
  const g = this.thread.x - n * this.constants.G!;
  const start = (n * this.constants.C! + g * this.constants.P!) * this.constants.S!;
  const mu = mean[this.thread.x]!;
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

/** The (image, group) statistic, n·G + g, of element i of [N, C, S]. */
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

export function sigmoidOf(v: number): number {
  return 1 / (1 + Math.exp(-v));
}

/** y_i = a_i, or SiLU(a_i) = a·σ(a). */
export function groupNorm(this: KernelThis, x: Input, mean: Input, rstd: Input, gamma: Input, beta: Input): number {
  const c = channelOf(this.thread.x);
  const stat = statOf(this.thread.x);
  const a = affine(x[this.thread.x]!, mean[stat]!, rstd[stat]!, gamma[c]!, beta[c]!);
  if (this.constants.silu === 1) {
    return a * sigmoidOf(a);
  }
  return a;
}

/** g_a from dy and a: dy through SiLU's derivative when SiLU followed the affine. */
export function gradA(this: KernelThis | void, dyv: number, a: number): number {
  if ((this as KernelThis).constants.silu === 1) {
    const sig = sigmoidOf(a);
    return dyv * sig * (1 + a * (1 - sig));
  }
  return dyv;
}

/** Per (image, group): thread i < N·G sums g_x̂, thread N·G + i sums g_x̂·x̂ of group i. */
export function groupNormGroupSums(this: KernelThis, dy: Input, x: Input, mean: Input, rstd: Input, gamma: Input, beta: Input): number {
  const second = this.thread.x >= this.constants.N! * this.constants.G! ? 1 : 0;
  const group = this.thread.x - second * this.constants.N! * this.constants.G!;
  const n = floorDiv(group, this.constants.G!);
  const g = group - n * this.constants.G!;
  let sum = 0;
  for (let k = 0; k < this.constants.P!; k++) {
    const c = g * this.constants.P! + k;
    const start = (n * this.constants.C! + c) * this.constants.S!;
    for (let j = 0; j < this.constants.S!; j++) {
      const a = affine(x[start + j]!, mean[group]!, rstd[group]!, gamma[c]!, beta[c]!);
      const gx = gradA(dy[start + j]!, a) * gamma[c]!;
      if (second === 1) {
        sum += gx * (x[start + j]! - mean[group]!) * rstd[group]!;
      } else {
        sum += gx;
      }
    }
  }
  return sum;
}

/** dx_i = r·(g_x̂ − mean(g_x̂) − x̂·mean(g_x̂·x̂)), the means from groupNormGroupSums. */
export function groupNormDx(this: KernelThis, dy: Input, x: Input, mean: Input, rstd: Input, gamma: Input, beta: Input, sums: Input): number {
  const c = channelOf(this.thread.x);
  const stat = statOf(this.thread.x);
  const r = rstd[stat]!;
  const xhat = (x[this.thread.x]! - mean[stat]!) * r;
  const gx = gradA(dy[this.thread.x]!, affine(x[this.thread.x]!, mean[stat]!, r, gamma[c]!, beta[c]!)) * gamma[c]!;
  const meanGx = sums[stat]! / this.constants.M!;
  const meanGxXhat = sums[this.constants.N! * this.constants.G! + stat]! / this.constants.M!;
  return r * (gx - meanGx - xhat * meanGxXhat);
}

/** Thread c < C: dγ_c = Σ g_a·x̂; thread C + c: dβ_c = Σ g_a (over images and pixels). */
export function groupNormAffineGrads(this: KernelThis, dy: Input, x: Input, mean: Input, rstd: Input, gamma: Input, beta: Input): number {
  const second = this.thread.x >= this.constants.C! ? 1 : 0;
  const c = this.thread.x - second * this.constants.C!;
  const g = floorDiv(c, this.constants.P!);
  let sum = 0;
  for (let n = 0; n < this.constants.N!; n++) {
    const stat = n * this.constants.G! + g;
    const start = (n * this.constants.C! + c) * this.constants.S!;
    for (let j = 0; j < this.constants.S!; j++) {
      const ga = gradA(dy[start + j]!, affine(x[start + j]!, mean[stat]!, rstd[stat]!, gamma[c]!, beta[c]!));
      if (second === 1) {
        sum += ga;
      } else {
        sum += ga * (x[start + j]! - mean[stat]!) * rstd[stat]!;
      }
    }
  }
  return sum;
}
