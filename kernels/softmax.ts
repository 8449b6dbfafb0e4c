// Softmax along the last axis of a contiguous [rows, L], and its backward, one launch each.
//   y_i = e^(x_i − m) / Σ_j e^(x_j − m),   m = max_j x_j          (over i's row)
//   dx_i = y_i · (g_i − Σ_j g_j·y_j)
// Each thread reads its whole row (L is a constant, so the loops run to it exactly): fine for
// attention rows of a few hundred, and one launch where max, subtract, exp, sum and divide
// took five (and their backward eight).

import type { Input, KernelThis } from './types.js';
import { floorDiv } from './strided.js';

export function softmax(this: KernelThis, x: Input): number {
  const start = floorDiv(this.thread.x, this.constants.L!) * this.constants.L!;
  let m = x[start]!;
  for (let j = 1; j < this.constants.L!; j++) {
    m = Math.max(m, x[start + j]!);
  }
  let sum = 0;
  for (let j = 0; j < this.constants.L!; j++) {
    sum += Math.exp(x[start + j]! - m);
  }
  return Math.exp(x[this.thread.x]! - m) / sum;
}

export function softmaxGrad(this: KernelThis, y: Input, g: Input): number {
  const start = floorDiv(this.thread.x, this.constants.L!) * this.constants.L!;
  let dot = 0;
  for (let j = 0; j < this.constants.L!; j++) {
    dot += g[start + j]! * y[start + j]!;
  }
  return y[this.thread.x]! * (g[this.thread.x]! - dot);
}
