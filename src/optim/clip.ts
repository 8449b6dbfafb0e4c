// Gradient clipping by global norm (PyTorch's clip_grad_norm_).

import * as F from '../ops/index.js';
import { noGrad } from '../tensor/autograd.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * Scales all gradients together so their joint L2 norm is at most `maxNorm`; directions are
 * kept. Returns the norm before clipping (useful to log).
 */
export function clipGradNorm(params: Iterable<Tensor>, maxNorm: number): number {
  if (!(maxNorm > 0)) throw new Error(`clipGradNorm: maxNorm must be > 0, got ${maxNorm}`);
  const withGrad = [...params].filter((p) => p.grad);
  return noGrad(() => {
    let sq = 0;
    for (const p of withGrad) sq += F.sum(F.mul(p.grad!, p.grad!)).item();
    const norm = Math.sqrt(sq);
    const scale = maxNorm / (norm + 1e-6);
    if (scale < 1) for (const p of withGrad) p.grad!.assign(F.mul(p.grad!, scale)); // in place: the gradient stays its parameter's
    return norm;
  });
}
