// Gradient clipping by global norm (PyTorch's clip_grad_norm_).

import * as F from '../ops/index.js';
import { zeros } from '../ops/creation.js';
import { noGrad } from '../tensor/autograd.js';
import { Tensor } from '../tensor/tensor.js';
import { fusedKernels } from '../backends/backend.js';
import { fusionGroups } from './buckets.js';
import { isWhole, moveInto } from './write-back.js';

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
    // ‖g‖², a bucket of gradients at a time: one fused launch and a reduce where the gradients
    // are whole storages (a parameter's own), composed ops for a view.
    const grads = withGrad.map((p) => p.grad!);
    const squares = fusionGroups(grads, 1).map(({ members, fused }) => {
      const group = members.map((j) => grads[j]!);
      const kernels = fusedKernels(group[0]!.backend).optimizer;
      if (fused && kernels && group.every(isWhole)) return new Tensor(kernels.sumSquares(group.map((g) => g.storage)), []);
      return group.map((g) => F.sum(F.square(g))).reduce((total, s) => F.add(total, s));
    });
    const norm = F.sqrt(squares.reduce((total, s) => F.add(total, s)));
    const scale = F.clamp(F.div(maxNorm, F.add(norm, 1e-6)), 0, 1);
    for (const p of withGrad) moveInto(p.grad!, F.mul(p.grad!, scale).storage); // in place: the gradient stays its parameter's
    return norm;
  });
}
