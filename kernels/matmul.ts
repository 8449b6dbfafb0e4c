// Batched matrix product over strided views (so a transpose costs nothing):
//   out[b, m, n] = alpha · Σ_k a[b, m, k] · b[b, k, n]  (+ bias[n] when hasBias is 1)
// Thread i is output element (b, m, n) of the contiguous [B, M, N] result. Each view has an
// offset (an argument: a Linear's weight lives inside its optimizer's flat state, at an offset of
// its own, and compiles no kernel of its own) and a stride per axis (constants aB, aM, aK for a;
// bB, bK, bN for b). K is a constant loop bound.
// The epilogue (alpha: attention's 1/√C; bias: a Linear's; then SiLU when the constant silu is
// 1, the time embedding's activation where no gradient is recorded) is applied as the value is
// written, saving a launch each; alpha = 1 and no bias is the plain product (x·1 is exact).

import type { Input, KernelThis } from './types.js';
import { floorDiv } from './strided.js';
import { sigmoidOf } from './elementwise.js';

export function matmul(this: KernelThis, a: Input, b: Input, bias: Input, aOffset: number, bOffset: number, biasAt: number): number {
  const rows = floorDiv(this.thread.x, this.constants.N!);
  const n = this.thread.x - rows * this.constants.N!;
  const batch = floorDiv(rows, this.constants.M!);
  const m = rows - batch * this.constants.M!;
  const aRow = aOffset + batch * this.constants.aB! + m * this.constants.aM!;
  const bCol = bOffset + batch * this.constants.bB! + n * this.constants.bN!;
  let sum = 0;
  for (let k = 0; k < this.constants.K!; k++) {
    sum += a[aRow + k * this.constants.aK!]! * b[bCol + k * this.constants.bK!]!;
  }
  let out = sum * this.constants.alpha!;
  if (this.constants.hasBias === 1) out += bias[biasAt + n]!;
  if (this.constants.silu === 1) out = out * sigmoidOf(out);
  return out;
}
