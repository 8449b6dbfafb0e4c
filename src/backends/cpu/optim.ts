// The optimizer's fused updates on the cpu backend: the CPU twin of kernels/optim.ts, one pass
// over a bucket's state, then one over each parameter. Math.fround rounds every intermediate to
// float32, as the GPU kernels (and the composed ops these replace) do, so all backends agree.
//
// Adam, with g the gradient (g + λ·p for Adam's L2 decay, formed by the optimizer before):
//   m ← β1·m + (1−β1)·g,   v ← β2·v + (1−β2)·g²,   p ← p·d − s·m / (√v / c + ε)
// A bucket's moments hold, parameter after parameter, its m then its v.

import type { AdamHyper } from '../backend.js';

const f = Math.fround;

/** The bucket's new moments into `out` (moments' length), each gradient times `scale` first (clipping's; 1 leaves it as it is). */
export function adamMoments(moments: Float32Array, grads: Float32Array[], out: Float32Array, h: AdamHyper, scale = 1): void {
  const b1 = f(h.beta1), c1 = f(1 - h.beta1), b2 = f(h.beta2), c2 = f(1 - h.beta2);
  let start = 0;
  for (const g of grads) {
    const n = g.length;
    for (let k = 0; k < n; k++) {
      const grad = f(g[k]! * scale), m = start + k, v = start + n + k;
      out[m] = f(f(moments[m]! * b1) + f(grad * c1));
      out[v] = f(f(moments[v]! * b2) + f(f(grad * grad) * c2));
    }
    start += 2 * n;
  }
}

/** A parameter's update into `out` (p's length), from its new moments at `at` (m, then v). */
export function adamParam(p: Float32Array, moments: Float32Array, at: number, out: Float32Array, h: AdamHyper): void {
  const eps = f(h.eps), s = f(h.stepSize), c = f(h.bias2Sqrt), d = f(h.decay), n = p.length;
  for (let i = 0; i < n; i++) {
    const denom = f(f(Math.sqrt(moments[at + n + i]!) / c) + eps);
    out[i] = f(p[i]! * d) - f(f(moments[at + i]! / denom) * s);
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
