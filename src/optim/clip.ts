// Gradient clipping by global norm (PyTorch's clip_grad_norm_).

import * as F from '../ops/index.js';
import { zeros } from '../ops/creation.js';
import { noGrad } from '../tensor/autograd.js';
import type { Tensor } from '../tensor/tensor.js';
import { moveInto } from './update.js';

/**
 * Scales all gradients together so their joint L2 norm is at most `maxNorm`; directions are
 * kept. Returns the norm before clipping as a one-element tensor (as PyTorch does): computed
 * where the gradients are, so a GPU step never stops to read it back. The scale is
 *
 *   s = min(1, maxNorm / (‖g‖ + 1e-6)),   g ← s·g   (s = 1 leaves g exactly as it was)
 */
export function clipGradNorm(params: Iterable<Tensor>, maxNorm: number): Tensor {
  if (!(maxNorm > 0)) throw new Error(`clipGradNorm: maxNorm must be > 0, got ${maxNorm}`);
  const withGrad = [...params].filter((p) => p.grad);
  return noGrad(() => {
    if (withGrad.length === 0) return zeros([]);
    const squares = withGrad.map((p) => F.sum(F.square(p.grad!)));
    const norm = F.sqrt(squares.reduce((total, s) => F.add(total, s)));
    const scale = F.clamp(F.div(maxNorm, F.add(norm, 1e-6)), 0, 1);
    for (const p of withGrad) moveInto(p.grad!, F.mul(p.grad!, scale).storage); // in place: the gradient stays its parameter's
    return norm;
  });
}
