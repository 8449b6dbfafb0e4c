// Reductions: out_i = Σ_{o,r} x[base_i + o·r2Stride + r·rStride]   (or the max)
// The backend merges the reduced axes into at most two runs, an inner one of R elements with
// stride rStride and an outer one of R2 with stride r2Stride (a conv bias gradient sums
// [N, C, H, W] over N and over H·W: two runs, read in place); the kept axes are the output's
// (read through viewOffset). R and R2 are constants, so the loops run to them exactly (a bound
// passed as an argument would stop at gpu.js's loopMaxIterations without a word).

import type { Input, KernelThis } from './types.js';
import { viewOffset } from './strided.js';

export const REDUCE_OPS = ['sum', 'max'] as const;

export function reduce(this: KernelThis, x: Input): number {
  const base = viewOffset(this.thread.x, this.constants.xOffset!, this.constants.x0!, this.constants.x1!, this.constants.x2!, this.constants.x3!, this.constants.x4!, this.constants.x5!);
  let acc = this.constants.op === 0 ? 0 : x[base]!;
  for (let o = 0; o < this.constants.R2!; o++) {
    for (let r = 0; r < this.constants.R!; r++) {
      const v = x[base + o * this.constants.r2Stride! + r * this.constants.rStride!]!;
      if (this.constants.op === 0) {
        acc += v;
      } else {
        acc = Math.max(acc, v);
      }
    }
  }
  return acc;
}
