// Reductions: out_i = Σ_r x[base_i + r·rStride]   or   max_r x[base_i + r·rStride]
// The backend arranges the view so the reduced axes form one last axis of R elements with
// stride rStride; the kept axes are the output's (read through viewOffset). R is a constant,
// so the loop runs to it exactly (a bound passed as an argument would stop at gpu.js's
// loopMaxIterations without a word).

import type { Input, KernelThis } from './types.js';
import { viewOffset } from './view.js';

export const REDUCE_OPS = ['sum', 'max'] as const;

export function reduce(this: KernelThis, x: Input): number {
  const base = viewOffset(this.thread.x, this.constants.xOffset!, this.constants.x0!, this.constants.x1!, this.constants.x2!, this.constants.x3!, this.constants.x4!, this.constants.x5!);
  let acc = this.constants.op === 0 ? 0 : x[base]!;
  for (let r = 0; r < this.constants.R!; r++) {
    const v = x[base + r * this.constants.rStride!]!;
    if (this.constants.op === 0) {
      acc += v;
    } else {
      acc = Math.max(acc, v);
    }
  }
  return acc;
}
