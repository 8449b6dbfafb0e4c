// Elementwise kernels over strided, broadcast views: one output element per thread.
//   unary:        out_i = f(x_i)          f: neg, exp, log, sqrt, sigmoid, copy (x), silu (x·σ(x))
//   binary:       out_i = a_i ∘ b_i       ∘: +, −, ×, ÷, max, min, siluGrad (a, b broadcast to the output)
// siluGrad(x, g) = g·σ(x)·(1 + x·(1 − σ(x))), SiLU's backward in one pass (composed from mul and
// sigmoid it took six launches).
//   binaryScalar: out_i = a_i ∘ s
// The operation is a compile-time constant (`op`), so each compiled shader keeps one branch.
// Each view's offset and strides are constants xOffset, x0…x5 (for the view named x).

import type { Input, KernelThis } from './types.js';
import { viewOffset } from './strided.js';

export const UNARY_OPS = ['neg', 'exp', 'log', 'sqrt', 'sigmoid', 'copy', 'silu'] as const;
export const BINARY_OPS = ['add', 'sub', 'mul', 'div', 'max', 'min', 'siluGrad'] as const;

/** σ(v) = 1 / (1 + e⁻ᵛ). */
export function sigmoidOf(v: number): number {
  return 1 / (1 + Math.exp(-v));
}

/** d SiLU(x)/dx · g = g·σ(x)·(1 + x·(1 − σ(x))), as SiLU(x) = x·σ(x) and σ' = σ·(1 − σ). */
export function siluGradOf(x: number, g: number): number {
  const s = sigmoidOf(x);
  return g * s * (1 + x * (1 - s));
}

/** f(v) for the unary op numbered `op` in UNARY_OPS. */
export function applyUnary(op: number, v: number): number {
  if (op === 0) {
    return -v;
  }
  if (op === 1) {
    return Math.exp(v);
  }
  if (op === 2) {
    return Math.log(v);
  }
  if (op === 3) {
    return Math.sqrt(v);
  }
  if (op === 4) {
    return sigmoidOf(v);
  }
  if (op === 5) {
    return v;
  }
  return v * sigmoidOf(v);
}

/** a ∘ b for the binary op numbered `op` in BINARY_OPS. */
export function applyBinary(op: number, a: number, b: number): number {
  if (op === 0) {
    return a + b;
  }
  if (op === 1) {
    return a - b;
  }
  if (op === 2) {
    return a * b;
  }
  if (op === 3) {
    return a / b;
  }
  if (op === 4) {
    return Math.max(a, b);
  }
  if (op === 5) {
    return Math.min(a, b);
  }
  return siluGradOf(a, b);
}

export function unary(this: KernelThis, x: Input): number {
  const v = x[viewOffset(this.thread.x, this.constants.xOffset!, this.constants.x0!, this.constants.x1!, this.constants.x2!, this.constants.x3!, this.constants.x4!, this.constants.x5!)]!;
  return applyUnary(this.constants.op!, v);
}

export function binary(this: KernelThis, a: Input, b: Input): number {
  const va = a[viewOffset(this.thread.x, this.constants.aOffset!, this.constants.a0!, this.constants.a1!, this.constants.a2!, this.constants.a3!, this.constants.a4!, this.constants.a5!)]!;
  const vb = b[viewOffset(this.thread.x, this.constants.bOffset!, this.constants.b0!, this.constants.b1!, this.constants.b2!, this.constants.b3!, this.constants.b4!, this.constants.b5!)]!;
  return applyBinary(this.constants.op!, va, vb);
}

/** The scalar is an argument, not a constant: a learning rate that changes every step compiles nothing new. */
export function binaryScalar(this: KernelThis, a: Input, s: number): number {
  const va = a[viewOffset(this.thread.x, this.constants.aOffset!, this.constants.a0!, this.constants.a1!, this.constants.a2!, this.constants.a3!, this.constants.a4!, this.constants.a5!)]!;
  return applyBinary(this.constants.op!, va, s);
}
