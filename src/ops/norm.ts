// Group normalisation (Wu & He 2018), as PyTorch's F.group_norm, and the UNet's GroupNorm → SiLU
// pair fused into one kernel (the backend's groupNorm; the math is in backends/cpu/norm.ts).

import { gradientPack, record } from '../tensor/autograd.js';
import { shapeStr, sizeOf } from '../util/shape.js';
import { fusedKernels } from '../backends/backend.js';
import { silu } from './activation.js';
import { add, div, mul, sqrt, square, sub } from './elementwise.js';
import { mean } from './reduce.js';
import { reshape } from './view.js';
import { sameBackend, Tensor } from '../tensor/tensor.js';

/**
 * Splits the C channels of x [N, C, ...] into `groups`; each (image, group) is normalised by its
 * own mean μ and biased variance σ²: x̂ = (x − μ)/√(σ² + eps), then scaled and shifted per
 * channel: y = γ·x̂ + β.
 *   dL/dβ = Σ dy,  dL/dγ = Σ dy·x̂  (over images and positions)
 *   dL/dx = (g − mean(g) − x̂·mean(g·x̂))/√(σ² + eps), g = dy·γ, means over the group
 *   (μ and σ depend on every x of the group: hence the two subtracted means).
 */
export function groupNorm(x: Tensor, groups: number, weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  return normalize('groupNorm', x, groups, weight ?? null, bias ?? null, eps, false);
}

/**
 * SiLU(groupNorm(x)), the pair every UNet block starts with, in one pass each way. With
 * a = γ·x̂ + β, y = a·σ(a), so dL/da = dy·σ(a)·(1 + a·(1 − σ(a))), then on as for groupNorm.
 */
export function groupNormSilu(x: Tensor, groups: number, weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  return normalize('groupNormSilu', x, groups, weight ?? null, bias ?? null, eps, true);
}

function normalize(op: string, x: Tensor, groups: number, weight: Tensor | null, bias: Tensor | null, eps: number, silu: boolean): Tensor {
  const where = `${op}(x ${shapeStr(x.shape)}, groups ${groups})`;
  if (x.rank < 2) throw new Error(`${where}: input must be [N, C, ...]`);
  const C = x.shape[1]!;
  if (!Number.isInteger(groups) || groups < 1 || C % groups !== 0) {
    throw new Error(`${where}: groups must be a positive integer dividing the ${C} channels`);
  }
  for (const [name, p] of [['weight', weight], ['bias', bias]] as const) {
    if (p && (p.rank !== 1 || p.shape[0] !== C)) throw new Error(`${where}: ${name} ${shapeStr(p.shape)} should be [${C}]`);
  }
  const be = sameBackend(where, x, weight, bias);
  const fused = fusedKernels(be).groupNorm;
  if (!fused) return composedGroupNorm(x, groups, weight, bias, eps, silu);
  const { y, stats } = fused.groupNorm(x, weight, bias, groups, eps, silu);
  const out = new Tensor(y, x.shape);
  const inputs = [x, weight, bias].filter((t): t is Tensor => t !== null);
  return record(out, op, inputs, (dy) => {
    const g = fused.groupNormBackward(dy, x, weight, bias, stats, groups, silu);
    const [dgamma, dbeta] = gradientPack(g.daffine, [C], [C]); // side by side in one storage
    return [new Tensor(g.dx, x.shape), ...(weight ? [dgamma!] : []), ...(bias ? [dbeta!] : [])];
  });
}

/**
 * The same math from primitive ops, for a backend without the fused kernels: each (image, group)
 * of x viewed as one row, normalised by its mean and biased variance, then γ·x̂ + β per channel,
 * then SiLU. The ops' own gradients give the backward above.
 */
function composedGroupNorm(x: Tensor, groups: number, weight: Tensor | null, bias: Tensor | null, eps: number, withSilu: boolean): Tensor {
  const [N, C] = x.shape as [number, number];
  const rows = reshape(x, [N, groups, sizeOf(x.shape) / (N * groups)]);
  const centred = sub(rows, mean(rows, 2, true));
  const xhat = reshape(div(centred, sqrt(add(mean(square(centred), 2, true), eps))), x.shape);
  const perChannel = [1, C, ...x.shape.slice(2).map(() => 1)];
  const scaled = weight ? mul(xhat, reshape(weight, perChannel)) : xhat;
  const y = bias ? add(scaled, reshape(bias, perChannel)) : scaled;
  return withSilu ? silu(y) : y;
}
