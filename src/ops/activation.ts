// Activations: SiLU and softmax, each one backend op forward and one backward (their math
// written out beside them), where composing them from elementwise ops and reductions would
// cost a GPU several launches each way.

import { record } from '../tensor/autograd.js';
import { normalizeAxis } from '../util/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { fusedKernels } from '../backends/backend.js';
import { div, exp, mul, siluGrad, sub, unary } from './elementwise.js';
import { max, sum } from './reduce.js';
import { transpose } from './view.js';

/**
 * SiLU (swish): x·σ(x), one elementwise op each way (as mul(x, sigmoid(x)) it took 2 launches
 * forward and 6 backward on a GPU).  d/dx = σ(x)·(1 + x·(1 − σ(x)))  (the backend's siluGrad).
 */
export function silu(x: Tensor): Tensor {
  return unary('silu', x, (g) => siluGrad(x, g));
}

/**
 * softmax(x)_i = e^(x_i − m) / Σ_j e^(x_j − m) along `axis`. Subtracting the row maximum m
 * changes nothing mathematically (it cancels) but keeps exp from overflowing.
 *   dx_i = y_i·(g_i − Σ_j g_j·y_j)   (y = softmax(x); the backend's softmaxGrad)
 * One fused backend op each way along the last axis (another axis is swapped there and back, as
 * views); on a backend without it, composed of max, sub, exp, sum and div (five launches forward
 * and eight backward on a GPU), whose gradients give the same dx.
 */
export function softmax(x: Tensor, axis = -1): Tensor {
  const ax = normalizeAxis('softmax', axis, x.rank), last = x.rank - 1;
  const fused = fusedKernels(x.backend).softmax;
  if (!fused) {
    const e = exp(sub(x, max(x, ax, true)));
    return div(e, sum(e, ax, true));
  }
  const xl = ax === last ? x : transpose(x, ax, last);
  const y = new Tensor(fused.softmax(xl), xl.shape);
  record(y, 'softmax', [xl], (g) => [softmaxGrad(y, g)]);
  return ax === last ? y : transpose(y, ax, last);
}

/** dx = y·(g − Σ_j g_j·y_j) along the last axis, from softmax's output y and the gradient g (one launch where the backend has it). */
export function softmaxGrad(y: Tensor, g: Tensor): Tensor {
  const fused = fusedKernels(y.backend).softmax;
  if (fused) return new Tensor(fused.softmaxGrad(y, g), g.shape);
  return mul(y, sub(g, sum(mul(g, y), y.rank - 1, true)));
}
