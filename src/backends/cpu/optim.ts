// The optimizer's fused updates on the cpu backend: the CPU twin of kernels/optim.ts, one pass
// over a bucket's state (moments and parameters). Math.fround rounds every intermediate to
// float32, as the GPU kernels (and the composed ops these replace) do, so all backends agree.
//
// Adam, with g the gradient (g + λ·p for Adam's L2 decay, formed by the optimizer before):
//   m ← β1·m + (1−β1)·g,   v ← β2·v + (1−β2)·g²,   p ← p·d − s·m / (√v / c + ε)
// A bucket's state holds, parameter after parameter, its m, its v, then its value.

import type { AdamHyper } from '../backend.js';

const f = Math.fround;

/**
 * A bucket's Adam step into `out` (state's length): parameter after parameter, its new m, v and
 * value, each gradient times `scale` first (clipping's; 1 leaves it as it is).
 */
export function adamStep(state: Float32Array, grads: Float32Array[], out: Float32Array, h: AdamHyper, scale = 1): void {
  const b1 = f(h.beta1), c1 = f(1 - h.beta1), b2 = f(h.beta2), c2 = f(1 - h.beta2);
  const eps = f(h.eps), s = f(h.stepSize), c = f(h.bias2Sqrt), d = f(h.decay);
  let start = 0;
  for (const g of grads) {
    const n = g.length;
    for (let k = 0; k < n; k++) {
      const grad = f(g[k]! * scale), m = start + k, v = start + n + k, p = start + 2 * n + k;
      out[m] = f(f(state[m]! * b1) + f(grad * c1));
      out[v] = f(f(state[v]! * b2) + f(f(grad * grad) * c2));
      const denom = f(f(Math.sqrt(out[v]!) / c) + eps);
      out[p] = f(state[p]! * d) - f(f(out[m]! / denom) * s);
    }
    start += 3 * n;
  }
}

/** a·state + b·xs into `out` (state's length), xs end to end along the state. */
export function blend(state: Float32Array, xs: Float32Array[], a: number, b: number, out: Float32Array): void {
  const fa = f(a), fb = f(b);
  let start = 0;
  for (const x of xs) {
    for (let k = 0; k < x.length; k++) out[start + k] = f(fa * state[start + k]!) + f(fb * x[k]!);
    start += x.length;
  }
}

/** `into` + Σ x² over every value of xs, accumulated in float64 and rounded once. */
export function sumSquares(xs: Float32Array[], into = 0): number {
  let sum = into;
  for (const x of xs) for (let k = 0; k < x.length; k++) sum += x[k]! * x[k]!;
  return f(sum);
}
