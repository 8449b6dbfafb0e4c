// Moving values without arithmetic: filling, laying a strided view out contiguously, copying a
// view into a region of an existing storage, and joining two inputs (the pages of a big tensor,
// or tensors concatenated along an axis).
//
// A texture cannot be written in place (a fragment shader writes only its own output), so
// `assign` produces the whole destination anew: each element j of the old storage either lies
// in the region (then it takes the source's value) or keeps its old value. Whether j lies in
// the region is found by dividing j − offset by the region's strides, largest first (constants
// d0…d5 sizes, t0…t5 strides, in that order, padded at the end with size 1 and stride 1); the
// source's strides in the same order are u0…u5.

import type { Input, KernelThis } from './types.js';
import { floorDiv, viewOffset } from './strided.js';

/** out_i = value */
export function fill(this: KernelThis): number {
  return this.constants.value!;
}

/** out_i = x at output element i of the view (x0…x5, xOffset): a strided view made contiguous. */
export function gather(this: KernelThis, x: Input): number {
  return x[viewOffset(this.thread.x, this.constants.xOffset!, this.constants.x0!, this.constants.x1!, this.constants.x2!, this.constants.x3!, this.constants.x4!, this.constants.x5!)]!;
}

/** out_j = src at the region's element j, or old_j outside the region (axes written out, as in strided.ts). */
export function assign(this: KernelThis, old: Input, src: Input): number {
  const j = this.thread.x;
  let rem = j - this.constants.dstOffset!;
  let inside = rem >= 0 ? 1 : 0;
  let at = this.constants.srcOffset!;
  let k = floorDiv(rem, this.constants.t0!);
  inside = k < this.constants.d0! ? inside : 0;
  rem -= k * this.constants.t0!;
  at += k * this.constants.u0!;
  k = floorDiv(rem, this.constants.t1!);
  inside = k < this.constants.d1! ? inside : 0;
  rem -= k * this.constants.t1!;
  at += k * this.constants.u1!;
  k = floorDiv(rem, this.constants.t2!);
  inside = k < this.constants.d2! ? inside : 0;
  rem -= k * this.constants.t2!;
  at += k * this.constants.u2!;
  k = floorDiv(rem, this.constants.t3!);
  inside = k < this.constants.d3! ? inside : 0;
  rem -= k * this.constants.t3!;
  at += k * this.constants.u3!;
  k = floorDiv(rem, this.constants.t4!);
  inside = k < this.constants.d4! ? inside : 0;
  rem -= k * this.constants.t4!;
  at += k * this.constants.u4!;
  k = floorDiv(rem, this.constants.t5!);
  inside = k < this.constants.d5! ? inside : 0;
  rem -= k * this.constants.t5!;
  at += k * this.constants.u5!;
  if (inside === 1 && rem === 0) {
    return src[at]!;
  }
  return old[j]!;
}

/**
 * Two inputs side by side, row by row: output row r (aRow + bRow values) is a's row r (aRow
 * values from aOffset + r·aRow) followed by b's row r (bRow values). As one row: the end of one
 * page and the start of the next, the window of a view that straddles them (see
 * src/backends/gpu/paging.ts). As rows: a concatenation along an axis, [outer, Ca·inner] and
 * [outer, Cb·inner] into [outer, (Ca + Cb)·inner].
 */
export function join(this: KernelThis, a: Input, b: Input): number {
  const width = this.constants.aRow! + this.constants.bRow!;
  const row = floorDiv(this.thread.x, width);
  const j = this.thread.x - row * width;
  if (j < this.constants.aRow!) {
    return a[this.constants.aOffset! + row * this.constants.aRow! + j]!;
  }
  return b[row * this.constants.bRow! + j - this.constants.aRow!]!;
}
