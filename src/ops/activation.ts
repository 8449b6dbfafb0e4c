// Activations, composed from elementwise primitives so autodiff derives their gradients.

import { normalizeAxis } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { div, exp, siluGrad, sub, unary } from './elementwise.js';
import { max, sum } from './reduce.js';

/**
 * SiLU (swish): x·σ(x), one elementwise op each way (as mul(x, sigmoid(x)) it took 2 launches
 * forward and 6 backward on a GPU).  d/dx = σ(x)·(1 + x·(1 − σ(x)))  (the backend's siluGrad).
 */
export function silu(x: Tensor): Tensor {
  return unary('silu', x, (g) => siluGrad(x, g));
}

/**
 * softmax(x)_i = e^(x_i − m) / Σ_j e^(x_j − m) along `axis`. Subtracting the row maximum m
 * changes nothing mathematically (it cancels) but keeps exp from overflowing; m is a constant.
 */
export function softmax(x: Tensor, axis = -1): Tensor {
  const ax = normalizeAxis('softmax', axis, x.rank);
  const e = exp(sub(x, max(x, ax, true)));
  return div(e, sum(e, ax, true));
}
