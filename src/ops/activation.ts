// Activations, composed from elementwise primitives so autodiff derives their gradients.

import { normalizeAxis } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { div, exp, mul, sigmoid, sub } from './elementwise.js';
import { max, sum } from './reduce.js';

/** SiLU (swish): x·σ(x). Its derivative σ(x)·(1 + x·(1 − σ(x))) follows from mul and sigmoid. */
export function silu(x: Tensor): Tensor {
  return mul(x, sigmoid(x));
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
