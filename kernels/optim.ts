// The optimizer's updates, fused: one kernel per output instead of a chain of elementwise ops
// (Adam was 16 launches a parameter, with the copies back; now 3). The GPU twin of
// src/backends/cpu/optim.ts; all inputs are contiguous, of the parameter's size.
//
// Adam (Kingma & Ba; PyTorch's order of operations), with g̃ = g + λ·p for Adam's L2 decay (λ = 0 otherwise):
//   m ← β1·m + (1−β1)·g̃
//   v ← β2·v + (1−β2)·g̃²
//   p ← p·d − s·m / (√v / c + ε)        s = lr/(1−β1ᵗ), c = √(1−β2ᵗ), d = 1 − lr·λ for AdamW (else 1)
// The constants (β1, 1−β1, β2, 1−β2, ε, λ; the differences taken in float64 by the caller, as the
// composed ops did) are fixed per optimizer; s, c and d change every step, so they are arguments:
// a new step compiles nothing.
//
// axpby: out = a·x + b·y (the EMA: shadow ← d·shadow + (1−d)·param).

import type { Input, KernelThis } from './types.js';

/** The new first moment m of element i. */
export function adamMoment1(this: KernelThis, m: Input, g: Input, p: Input): number {
  const grad = g[this.thread.x]! + this.constants.l2! * p[this.thread.x]!;
  return m[this.thread.x]! * this.constants.beta1! + grad * this.constants.oneMinusBeta1!;
}

/** The new second moment v of element i. */
export function adamMoment2(this: KernelThis, v: Input, g: Input, p: Input): number {
  const grad = g[this.thread.x]! + this.constants.l2! * p[this.thread.x]!;
  return v[this.thread.x]! * this.constants.beta2! + grad * grad * this.constants.oneMinusBeta2!;
}

/** The new parameter, from the new moments. */
export function adamParam(this: KernelThis, p: Input, m: Input, v: Input, stepSize: number, bias2Sqrt: number, decay: number): number {
  const denom = Math.sqrt(v[this.thread.x]!) / bias2Sqrt + this.constants.eps!;
  return p[this.thread.x]! * decay - (m[this.thread.x]! / denom) * stepSize;
}

export function axpby(this: KernelThis, x: Input, y: Input, a: number, b: number): number {
  return a * x[this.thread.x]! + b * y[this.thread.x]!;
}
