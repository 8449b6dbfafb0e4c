// The optimizer's updates, fused: one launch updates a whole bucket of parameters, their moments
// and their values (Adam was 16 launches a parameter, with the copies back; then 3; then about
// 1⅙; now one a bucket of five). The GPU twin of src/backends/cpu/optim.ts.
//
// Adam (Kingma & Ba; PyTorch's order of operations), with g the gradient (g + λ·p for Adam's L2
// decay, formed by the optimizer before):
//   m ← β1·m + (1−β1)·g
//   v ← β2·v + (1−β2)·g²
//   p ← p·d − s·m / (√v / c + ε)        s = lr/(1−β1ᵗ), c = √(1−β2ᵗ), d = 1 − lr·λ for AdamW (else 1)
// The constants (β1, 1−β1, β2, 1−β2, ε; the differences taken in float64 by the caller, as the
// composed ops did) are fixed per optimizer; s, c and d change every step, so they are arguments:
// a new step compiles nothing.
//
// Buckets. The optimizer keeps the state of up to six parameters in one flat storage
// (src/optim/buckets.ts): parameter j's block of it starts at startⱼ. Adam's state holds the
// parameters themselves too (each parameter tensor is a view of it, as PyTorch's flat
// parameters are), so one kernel writes a bucket's new moments and values: one output a kernel is
// all gpu.js has. A kernel reads up to six separate inputs, one per parameter (WebGPU gives a
// shader 8 storage buffers by default: the output, the state and six inputs; Adam's kernel gives
// one of them to the clip scale, so its buckets hold five); thread i finds its parameter by
// comparing i with the blocks' starts, constants fixed per bucket. A bucket of fewer parameters
// starts its unused slots at its end, so no thread reaches them (the inputs passed there are
// never read). Each kernel spells the chain of slots out: a helper cannot take the inputs
// (gpu.js's WGSL passes no array to a helper function).

import type { Input, KernelThis } from './types.js';

/**
 * Adam's step for a bucket: parameter j (nⱼ values) has m at [startⱼ, startⱼ + nⱼ), v at
 * [startⱼ + nⱼ, startⱼ + 2nⱼ) and its value p at [startⱼ + 2nⱼ, startⱼ + 3nⱼ); gⱼ is its gradient,
 * times scale[0] when the constant `scaled` is 1 (gradient clipping's scale, computed on the GPU:
 * clipping then costs no launch a gradient). A thread of p's block computes its element's new m
 * and v again (three products) rather than wait for another launch. Five slots: the scale takes
 * the sixth storage.
 */
export function adamStep(this: KernelThis, state: Input, scale: Input, g0: Input, g1: Input, g2: Input, g3: Input, g4: Input, stepSize: number, bias2Sqrt: number, decay: number): number {
  const i = this.thread.x;
  let start = 0;
  let n = this.constants.n0!;
  if (i >= this.constants.start1!) { start = this.constants.start1!; n = this.constants.n1!; }
  if (i >= this.constants.start2!) { start = this.constants.start2!; n = this.constants.n2!; }
  if (i >= this.constants.start3!) { start = this.constants.start3!; n = this.constants.n3!; }
  if (i >= this.constants.start4!) { start = this.constants.start4!; n = this.constants.n4!; }
  const local = i - start;
  // Which block (0: m, 1: v, 2: p) and the parameter's element k this thread is about.
  let part = 0;
  if (local >= n) part = 1;
  if (local >= 2 * n) part = 2;
  const k = local - part * n;
  let g = 0;
  if (i < this.constants.start1!) g = g0[k]!;
  else if (i < this.constants.start2!) g = g1[k]!;
  else if (i < this.constants.start3!) g = g2[k]!;
  else if (i < this.constants.start4!) g = g3[k]!;
  else g = g4[k]!;
  if (this.constants.scaled === 1) g = g * scale[0]!;
  const m = state[start + k]! * this.constants.beta1! + g * this.constants.oneMinusBeta1!;
  const v = state[start + n + k]! * this.constants.beta2! + g * g * this.constants.oneMinusBeta2!;
  if (part === 0) return m;
  if (part === 1) return v;
  const denom = Math.sqrt(v) / bias2Sqrt + this.constants.eps!;
  return state[start + 2 * n + k]! * decay - (m / denom) * stepSize;
}

/**
 * a·state + b·xⱼ over a bucket (the EMA: shadow ← d·shadow + (1−d)·param; Adam's L2 decay, g + λ·p,
 * with one x), parameter j's values at [startⱼ, startⱼ + nⱼ) of the state, read from xⱼ at atⱼ on
 * (a parameter is a view of its optimizer's state).
 */
export function blend(this: KernelThis, state: Input, x0: Input, x1: Input, x2: Input, x3: Input, x4: Input, x5: Input, a: number, b: number, at0: number, at1: number, at2: number, at3: number, at4: number, at5: number): number {
  const i = this.thread.x;
  let x = 0;
  if (i < this.constants.start1!) x = x0[at0 + i]!;
  else if (i < this.constants.start2!) x = x1[at1 + i - this.constants.start1!]!;
  else if (i < this.constants.start3!) x = x2[at2 + i - this.constants.start2!]!;
  else if (i < this.constants.start4!) x = x3[at3 + i - this.constants.start3!]!;
  else if (i < this.constants.start5!) x = x4[at4 + i - this.constants.start4!]!;
  else x = x5[at5 + i - this.constants.start5!]!;
  return a * state[i]! + b * x;
}

/**
 * Partial sums of squares over a bucket's values end to end (gradient clipping's squared norm):
 * thread k adds into[k] (the buckets before, when the constant `chained` is 1) and the squares of
 * values [k·L, (k+1)·L), xⱼ's values at [startⱼ, startⱼ + nⱼ) and nothing at or past `total`.
 * Every bucket has the same number of parts, so the chain over all buckets ends in one reduce.
 */
export function sumSquares(this: KernelThis, into: Input, x0: Input, x1: Input, x2: Input, x3: Input, x4: Input, x5: Input): number {
  let sum = 0;
  if (this.constants.chained === 1) sum = into[this.thread.x]!;
  for (let j = 0; j < this.constants.L!; j++) {
    const i = this.thread.x * this.constants.L! + j;
    let v = 0;
    if (i < this.constants.start1!) v = x0[i]!;
    else if (i < this.constants.start2!) v = x1[i - this.constants.start1!]!;
    else if (i < this.constants.start3!) v = x2[i - this.constants.start2!]!;
    else if (i < this.constants.start4!) v = x3[i - this.constants.start3!]!;
    else if (i < this.constants.start5!) v = x4[i - this.constants.start4!]!;
    else if (i < this.constants.total!) v = x5[i - this.constants.start5!]!;
    sum += v * v;
  }
  return sum;
}
