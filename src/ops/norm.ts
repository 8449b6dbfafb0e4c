// Group normalisation (Wu & He 2018), as PyTorch's F.group_norm.

import { shapeStr } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { add, div, mul, sqrt, sub } from './elementwise.js';
import { mean } from './reduce.js';
import { reshape } from './view.js';

/**
 * Splits the C channels of x [N, C, ...] into `groups`; each (image, group) is normalised by its
 * own mean and biased variance: y = (x − μ)/√(σ² + eps), then scaled and shifted per channel.
 * Composed from mean, sub, mul, sqrt, div: autodiff gives the gradient through μ and σ².
 */
export function groupNorm(x: Tensor, groups: number, weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  const where = `groupNorm(x ${shapeStr(x.shape)}, groups ${groups})`;
  if (x.rank < 2) throw new Error(`${where}: input must be [N, C, ...]`);
  const [N, C] = x.shape as [number, number];
  if (!Number.isInteger(groups) || groups < 1 || C % groups !== 0) {
    throw new Error(`${where}: groups must be a positive integer dividing the ${C} channels`);
  }
  for (const [name, p] of [['weight', weight], ['bias', bias]] as const) {
    if (p && (p.rank !== 1 || p.shape[0] !== C)) throw new Error(`${where}: ${name} ${shapeStr(p.shape)} should be [${C}]`);
  }
  const xg = reshape(x, [N, groups, -1]);
  const centred = sub(xg, mean(xg, 2, true));
  const variance = mean(mul(centred, centred), 2, true);
  let y = reshape(div(centred, sqrt(add(variance, eps))), x.shape);
  const perChannel = [1, C, ...x.shape.slice(2).map(() => 1)];
  if (weight) y = mul(y, reshape(weight, perChannel));
  if (bias) y = add(y, reshape(bias, perChannel));
  return y;
}
