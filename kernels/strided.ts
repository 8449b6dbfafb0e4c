// Reading a strided view inside a kernel, the GPU twin of an ndarray's index arithmetic.
//
// A kernel's output is one flat, contiguous run over the op's output shape [n0, …, n5] (padded
// in front with 1s to rank 6). Output element i has the multi-index found by repeated division
// from the last axis, and a view with strides s0…s5 starting at `offset` holds that element at
//   offset + Σ_k idx_k · s_k          (a broadcast axis has stride 0)
// so strided, transposed, sliced and broadcast views are read in place, without copies.

import type { KernelThis } from './types.js';

/** The rank every view is padded to. */
export const MAX_RANK = 6;

/**
 * ⌊a / b⌋ for whole numbers held as floats. A GPU may compute a / b a few ulps off, which can
 * put the quotient one off near a whole number: the remainder corrects it either way.
 */
export function floorDiv(a: number, b: number): number {
  let q = Math.floor(a / b);
  const r = a - q * b;
  if (r < 0) {
    q -= 1;
  }
  if (r >= b) {
    q += 1;
  }
  return q;
}

/**
 * Where output element i lies in a view of strides s0…s5 from `offset`; the output's sizes are
 * constants n1…n5. The six axes are written out one by one: a loop over an array constant would
 * cost a texture read per axis in the shader (gpu.js stores array constants as textures).
 */
export function viewOffset(this: KernelThis | void, i: number, offset: number, s0: number, s1: number, s2: number, s3: number, s4: number, s5: number): number {
  let rem = i;
  let at = offset;
  let q = floorDiv(rem, (this as KernelThis).constants.n5!);
  at += (rem - q * (this as KernelThis).constants.n5!) * s5;
  rem = q;
  q = floorDiv(rem, (this as KernelThis).constants.n4!);
  at += (rem - q * (this as KernelThis).constants.n4!) * s4;
  rem = q;
  q = floorDiv(rem, (this as KernelThis).constants.n3!);
  at += (rem - q * (this as KernelThis).constants.n3!) * s3;
  rem = q;
  q = floorDiv(rem, (this as KernelThis).constants.n2!);
  at += (rem - q * (this as KernelThis).constants.n2!) * s2;
  rem = q;
  q = floorDiv(rem, (this as KernelThis).constants.n1!);
  at += (rem - q * (this as KernelThis).constants.n1!) * s1;
  rem = q;
  return at + rem * s0;
}
