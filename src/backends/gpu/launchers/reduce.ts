// Sums and maxima over axes: one thread an output value, walking up to two runs of the reduced
// axes (kernels/reduce.ts).

import { contiguousStrides, sizeOf } from '../../../util/shape.js';
import type { ReduceOp, Storage, View } from '../../backend.js';
import { reduce as reduceKernel, REDUCE_OPS } from '../../../../kernels/reduce.js';
import { outputDims, viewConstants, type Launcher } from '../launch.js';
import { leadingAxis } from '../paging.js';
import { sliced, type Output } from '../slicing.js';
import type { GpuStorage } from '../storage.js';
import { combine } from './elementwise.js';

/** Sliced along x's leading axis: the slices' outputs side by side when the axis is kept, folded when it is reduced. */
export function reduce(l: Launcher, op: ReduceOp, x: View, axes: readonly number[]): Storage {
  const axis = leadingAxis(x.shape), items = x.shape[axis] ?? 1;
  const outSize = sizeOf(x.shape.filter((_, k) => !axes.includes(k)));
  const output: Output = axes.includes(axis) ? { size: outSize, combine: op === 'sum' ? 'add' : 'max' } : { item: outSize / Math.max(items, 1) };
  return sliced(l, { name: 'reduce', items, outputs: [output], sliced: [{ view: x, axis }], whole: [] }, ([x]) => [reduceWithin(l, op, x!, axes)], (o, parts) => combine(l, o, parts))[0]!;
}

/**
 * The kept axes become the output; the reduced axes, moved last, must form one run of R
 * values with one stride (as they do in any contiguous layout); otherwise x is gathered in
 * that order first.
 */
export function reduceWithin(l: Launcher, op: ReduceOp, x: View, axes: readonly number[]): Storage {
  const kept = x.shape.map((_, k) => k).filter((k) => !axes.includes(k));
  const reduced = [...axes].sort((a, b) => a - b);
  const R = reduced.reduce((n, k) => n * x.shape[k]!, 1);
  // The reduced axes as runs of evenly spaced elements, innermost first: an axis joins the run
  // after it when its stride is that run's whole length (as in a contiguous [N, C, H, W], H
  // joins W, but N cannot join them across C).
  const runs: Array<{ count: number; stride: number }> = [];
  for (const k of [...reduced].reverse()) {
    if (x.shape[k] === 1) continue; // one element: no run
    const run = runs.at(-1);
    if (run && x.strides[k] === run.stride * run.count) run.count *= x.shape[k]!;
    else runs.push({ count: x.shape[k]!, stride: x.strides[k]! });
  }
  const keptShape = kept.map((k) => x.shape[k]!);
  let keptView: View = { storage: x.storage, shape: keptShape, strides: kept.map((k) => x.strides[k]!), offset: x.offset };
  let temp: GpuStorage | null = null;
  if (runs.length > 2) {
    // More than two runs: lay the reduced axes out last, contiguously (one run of R).
    const order = [...kept, ...reduced];
    temp = l.gather({ storage: x.storage, shape: order.map((k) => x.shape[k]!), strides: order.map((k) => x.strides[k]!), offset: x.offset });
    keptView = { storage: temp, shape: keptShape, strides: contiguousStrides(keptShape).map((s) => s * R), offset: 0 };
    runs.splice(0, runs.length, { count: R, stride: 1 });
  }
  const [inner = { count: 1, stride: 0 }, outer = { count: 1, stride: 0 }] = runs;
  const constants = { op: REDUCE_OPS.indexOf(op), R: inner.count, rStride: inner.stride, R2: outer.count, r2Stride: outer.stride };
  const out = l.run('reduce', reduceKernel, sizeOf(keptShape), { ...constants, ...outputDims(keptShape), ...viewConstants('x', keptView) }, l.arg(keptView.storage));
  l.done(temp);
  return out;
}
