// The optimizer's fused updates on the cpu backend: the CPU twin of kernels/optim.ts, one pass
// over the parameter for each output. Math.fround rounds every intermediate to float32, as the
// GPU kernels (and the composed ops these replace) do, so all backends agree.
//
// Adam, with g̃ = g + λ·p for Adam's L2 decay (λ = 0 otherwise):
//   m ← β1·m + (1−β1)·g̃,   v ← β2·v + (1−β2)·g̃²,   p ← p·d − s·m / (√v / c + ε)

import type { AdamHyper } from '../backend.js';

const f = Math.fround;

/** Writes the new p, m and v into the given arrays (all of one length). */
export function adamUpdate(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, out: { p: Float32Array; m: Float32Array; v: Float32Array }, h: AdamHyper): void {
  const b1 = f(h.beta1), c1 = f(1 - h.beta1), b2 = f(h.beta2), c2 = f(1 - h.beta2), eps = f(h.eps), l2 = f(h.l2);
  const s = f(h.stepSize), c = f(h.bias2Sqrt), d = f(h.decay);
  for (let i = 0; i < p.length; i++) {
    const grad = f(g[i]! + f(l2 * p[i]!));
    const mi = f(f(m[i]! * b1) + f(grad * c1));
    const vi = f(f(v[i]! * b2) + f(f(grad * grad) * c2));
    const denom = f(f(Math.sqrt(vi) / c) + eps);
    out.m[i] = mi;
    out.v[i] = vi;
    out.p[i] = f(p[i]! * d) - f(f(mi / denom) * s);
  }
}
