// Batched matrix products: one thread an output value, a dot product along K (kernels/matmul.ts).

import type { Storage, View } from '../../backend.js';
import { matmul as matmulKernel } from '../../../../kernels/matmul.js';
import type { Launcher } from '../launch.js';
import { sliced, type Slicing } from '../slicing.js';

/** Sliced along the batch, or along a's rows when the batch is 1. */
export function matmul(l: Launcher, a: View, b: View): Storage {
  const [B, M] = a.shape as [number, number];
  const N = b.shape[2]!;
  const op: Slicing = B > 1
    ? { name: 'matmul', items: B, outputs: [{ item: M * N }], sliced: [{ view: a, axis: 0 }, { view: b, axis: 0 }], whole: [] }
    : { name: 'matmul', items: M, outputs: [{ item: N }], sliced: [{ view: a, axis: 1 }], whole: [b] };
  return sliced(l, op, (slices, whole) => [matmulWithin(l, slices[0]!, slices[1] ?? whole[0]!)])[0]!;
}

function matmulWithin(l: Launcher, a: View, b: View): Storage {
  const [B, M, K] = a.shape as [number, number, number];
  const N = b.shape[2]!;
  return l.run('matmul', matmulKernel, B * M * N, {
    M, N, K,
    aOffset: a.offset, aB: a.strides[0]!, aM: a.strides[1]!, aK: a.strides[2]!,
    bOffset: b.offset, bB: b.strides[0]!, bK: b.strides[1]!, bN: b.strides[2]!,
  }, l.arg(a.storage), l.arg(b.storage));
}
