// Batched matrix products: one thread an output value, a dot product along K (kernels/matmul.ts).

import type { Storage, View } from '../../backend.js';
import { matmul as matmulKernel } from '../../../../kernels/matmul.js';
import type { Launcher } from '../launch.js';
import { sliced, type Slicing } from '../slicing.js';

/** alpha · a·b (+ bias[n]) (then SiLU), sliced along the batch, or along a's rows when the batch is 1. */
export function matmul(l: Launcher, a: View, b: View, alpha = 1, bias: View | null = null, silu = false): Storage {
  const [B, M] = a.shape as [number, number];
  const N = b.shape[2]!;
  const op: Slicing = B > 1
    ? { name: 'matmul', items: B, outputs: [{ item: M * N }], sliced: [{ view: a, axis: 0 }, { view: b, axis: 0 }], whole: [bias] }
    : { name: 'matmul', items: M, outputs: [{ item: N }], sliced: [{ view: a, axis: 1 }], whole: [bias, b] };
  return sliced(l, op, (slices, whole) => [matmulWithin(l, slices[0]!, slices[1] ?? whole[1]!, alpha, whole[0] ?? null, silu)])[0]!;
}

function matmulWithin(l: Launcher, a: View, b: View, alpha: number, bias: View | null, silu: boolean): Storage {
  const [B, M, K] = a.shape as [number, number, number];
  const N = b.shape[2]!;
  const biasInput = bias ? l.contiguousAt(bias) : null;
  const out = l.run('matmul', matmulKernel, B * M * N, {
    M, N, K, alpha, hasBias: bias ? 1 : 0, silu: silu ? 1 : 0,
    aB: a.strides[0]!, aM: a.strides[1]!, aK: a.strides[2]!,
    bB: b.strides[0]!, bK: b.strides[1]!, bN: b.strides[2]!,
  }, l.arg(a.storage), l.arg(b.storage), biasInput ?? l.arg(a.storage), a.offset, b.offset, biasInput?.at ?? 0);
  l.done(biasInput?.temp ?? null);
  return out;
}
