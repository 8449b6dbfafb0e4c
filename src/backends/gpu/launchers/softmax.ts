// Softmax and its gradient along the last axis, a row a thread (kernels/softmax.ts).

import { sizeOf } from '../../../util/shape.js';
import type { Storage, View } from '../../backend.js';
import { softmax as softmaxKernel, softmaxGrad as softmaxGradKernel } from '../../../../kernels/softmax.js';
import { isWhole, type Launcher } from '../launch.js';
import { sliced } from '../slicing.js';
import type { GpuStorage } from '../storage.js';
import { unary } from './elementwise.js';

export function softmax(l: Launcher, x: View): Storage {
  return rows(l, 'softmax', softmaxKernel, [x]);
}

export function softmaxGrad(l: Launcher, y: View, g: View): Storage {
  return rows(l, 'softmaxGrad', softmaxGradKernel, [y, g]);
}

/**
 * A kernel whose output element reads its whole row (the last axis, L values) of each input:
 * the inputs laid out contiguously as [rows, L], cut into slices of whole rows that fit a texture.
 */
function rows(l: Launcher, name: string, fn: unknown, inputs: View[]): Storage {
  const shape = inputs[0]!.shape, L = shape[shape.length - 1]!, count = sizeOf(shape) / L;
  const flat = inputs.map((v) => (isWhole(v) ? v.storage : unary(l, 'copy', v)));
  const asRows = (s: Storage): View => ({ storage: s, shape: [count, L], strides: [L, 1], offset: 0 });
  const [out] = sliced(l, { name, items: count, outputs: [{ item: L }], sliced: flat.map((s) => ({ view: asRows(s), axis: 0 })), whole: [] }, (slices) => {
    const args = slices.map((v) => l.contiguous(v));
    const result = l.run(name, fn, sizeOf(slices[0]!.shape), { L }, ...args);
    l.done(...args.map((a) => a.temp));
    return [result];
  });
  l.done(...flat.filter((s, k) => s !== inputs[k]!.storage) as GpuStorage[]);
  return out!;
}
