// Gradient clipping by global norm (PyTorch's clip_grad_norm_).

import * as F from '../ops/index.js';
import { zeros } from '../ops/creation.js';
import { noGrad } from '../tensor/autograd.js';
import { Tensor } from '../tensor/tensor.js';
import { fusedKernels } from '../backends/backend.js';
import { fusionGroups } from './buckets.js';
import { moveInto } from './write-back.js';
import { isContiguous } from '../util/shape.js';

/**
 * The joint L2 norm of the gradients and the scale that clips it to `maxNorm`, each a
 * one-element tensor computed where the gradients are (a GPU step never stops to read them):
 *
 *   s = min(1, maxNorm / (‖g‖ + 1e-6))       (s = 1 leaves g exactly as it was)
 *
 * The gradients are left as they are: Adam.step(scale) applies s as it reads them, so clipping
 * costs no launch a gradient (clipGradNorm applies it to the gradients themselves).
 */
export function clipScale(params: Iterable<Tensor>, maxNorm: number): { norm: Tensor; scale: Tensor } {
  return normAndScale(params, maxNorm, 'clipScale');
}

/** clipScale's work; `op` names the function called, for the error. */
function normAndScale(params: Iterable<Tensor>, maxNorm: number, op: string): { norm: Tensor; scale: Tensor } {
  if (!(maxNorm > 0)) throw new Error(`${op}: maxNorm must be > 0, got ${maxNorm}`);
  const grads = [...params].flatMap((p) => (p.grad ? [p.grad] : []));
  return noGrad(() => {
    const norm = grads.length === 0 ? zeros([]) : F.sqrt(sumOfSquares(grads));
    return { norm, scale: F.clamp(F.div(maxNorm, F.add(norm, 1e-6)), 0, 1) };
  });
}

/**
 * ‖g‖², a bucket of gradients at a time: one fused launch a bucket (its gradients in up to
 * BUCKET_INPUTS storages), each adding onto the last one's partial sums, and one reduce at the
 * end, where the gradients are contiguous; composed ops for a strided view.
 */
function sumOfSquares(grads: Tensor[]): Tensor {
  let partials: Tensor | null = null;
  let composed: Tensor | null = null;
  for (const { members, fused } of fusionGroups(grads, 1)) {
    const group = members.map((j) => grads[j]!);
    const kernels = fusedKernels(group[0]!.backend).optimizer;
    if (fused && kernels && group.every((g) => isContiguous(g.shape, g.strides))) {
      const sums = kernels.sumSquares(group, partials?.storage ?? null);
      partials = new Tensor(sums, [sums.size]);
    } else {
      for (const g of group) composed = composed ? F.add(composed, F.sum(F.square(g))) : F.sum(F.square(g));
    }
  }
  const fusedTotal = partials ? F.sum(partials) : null;
  return fusedTotal && composed ? F.add(fusedTotal, composed) : (fusedTotal ?? composed)!;
}

/**
 * Scales all gradients together so their joint L2 norm is at most `maxNorm`; directions are
 * kept. Returns the norm before clipping as a one-element tensor (as PyTorch does), computed
 * where the gradients are. One launch a gradient for the scale: the trainer uses clipScale and
 * lets Adam apply it instead.
 */
export function clipGradNorm(params: Iterable<Tensor>, maxNorm: number): Tensor {
  const withGrad = [...params].filter((p) => p.grad);
  const { norm, scale } = normAndScale(withGrad, maxNorm, 'clipGradNorm');
  noGrad(() => {
    for (const p of withGrad) moveInto(p.grad!, F.mul(p.grad!, scale).storage); // in place: the gradient stays its parameter's
  });
  return norm;
}
