// Reductions over some or all axes.

import { record } from '../tensor/autograd.js';
import { normalizeAxis, sizeOf } from '../util/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { mul } from './elementwise.js';
import { expand, reshape } from './view.js';

/** Sorted, distinct, non-negative axes; all axes when omitted. */
function resolveAxes(op: string, x: Tensor, axes?: number | readonly number[]): number[] {
  if (axes === undefined) return x.shape.map((_, i) => i);
  const list = typeof axes === 'number' ? [axes] : axes;
  const resolved = [...new Set(list.map((a) => normalizeAxis(op, a, x.rank)))];
  return resolved.sort((p, q) => p - q);
}

function keptShape(x: Tensor, axes: readonly number[]): number[] {
  return x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

function reducedShape(x: Tensor, axes: readonly number[], keepDims: boolean): number[] {
  return keepDims ? keptShape(x, axes) : x.shape.filter((_, i) => !axes.includes(i));
}

/** Sum over `axes` (all when omitted). */
export function sum(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  const ax = resolveAxes('sum', x, axes);
  const out = new Tensor(x.backend.reduce('sum', x, ax), reducedShape(x, ax, keepDims));
  // d(sum)/dx = 1 for each summed element: the gradient is broadcast back over the summed axes.
  return record(out, 'sum', [x], (g) => [expand(reshape(g, keptShape(x, ax)), x.shape)]);
}

/** Mean over `axes` (all when omitted): sum / count. */
export function mean(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  const ax = resolveAxes('mean', x, axes);
  const count = sizeOf(ax.map((a) => x.shape[a]!));
  return mul(sum(x, ax, keepDims), 1 / count);
}

/** Maximum over `axes`. Not differentiable: the result is a constant (used to stabilise softmax). */
export function max(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  const ax = resolveAxes('max', x, axes);
  if (x.size === 0) throw new Error('max: empty tensor');
  return new Tensor(x.backend.reduce('max', x, ax), reducedShape(x, ax, keepDims));
}
