// The optimizers' fused updates over a bucket of up to BUCKET_MEMBERS tensors (kernels/optim.ts):
// each thread finds its member from the constants, and reads it from its input slot at its
// offset, so one launch covers the bucket, or one for each BUCKET_INPUTS storages its members span.

import { sizeOf } from '../../../util/shape.js';
import { ADAM_BUCKET_INPUTS, BUCKET_INPUTS, BUCKET_MEMBERS, type AdamHyper, type Storage, type View } from '../../backend.js';
import { adamStep as adamStepKernel, blend as blendKernel, sumSquares as sumSquaresKernel } from '../../../../kernels/optim.js';
import type { Arg, InputAt, Launcher } from '../launch.js';
import type { GpuStorage } from '../storage.js';

/**
 * Runs a bucket's kernel over its members xs (contiguous views, each read from its offset;
 * gathered first where one is not): one launch for each `inputs` distinct storages they span,
 * each given the last one's output (null for the first) and returning the next. `launch` gets
 * the constants that place member j in the state (startⱼ, with `per` values for each of its nⱼ;
 * unused members start at the end) and name its input slot (−1: another launch's), the slots'
 * storages (unused slots repeat the first, never read), and every member's offset.
 */
function overBucket(l: Launcher, xs: readonly View[], per: number, total: number, inputs: number,
  launch: (constants: Record<string, number>, slots: Arg[], ats: number[], last: GpuStorage | null) => GpuStorage): GpuStorage {
  if (xs.length < 1 || xs.length > BUCKET_MEMBERS) throw new Error(`gpu backend: a bucket of ${xs.length} tensors (1 to ${BUCKET_MEMBERS})`);
  const members = xs.map((x) => l.contiguousAt(x));
  // The distinct cells in order of first use; member j's is inputOf[j].
  const cells: InputAt[] = [];
  const inputOf = members.map((t) => {
    const k = cells.findIndex((c) => c.cell === t.cell);
    return k >= 0 ? k : cells.push(t) - 1;
  });
  const ats = Array.from({ length: BUCKET_MEMBERS }, (_, j) => members[j]?.at ?? 0);
  let last: GpuStorage | null = null;
  for (let first = 0; first < cells.length; first += inputs) {
    const constants: Record<string, number> = {};
    let start = 0;
    for (let j = 0; j < BUCKET_MEMBERS; j++) {
      const n = j < xs.length ? sizeOf(xs[j]!.shape) : undefined;
      const k = j < xs.length ? inputOf[j]! - first : -1;
      constants[`start${j}`] = n === undefined ? total : start;
      constants[`n${j}`] = n ?? 1;
      constants[`slot${j}`] = k >= 0 && k < inputs ? k : -1;
      start += per * (n ?? 0);
    }
    if (start !== total) throw new Error(`gpu backend: a bucket's state holds ${total} values, its tensors need ${start}`);
    const slots: Arg[] = cells.slice(first, first + inputs).map((c) => ({ cell: c.cell, size: c.size }));
    while (slots.length < inputs) slots.push(slots[0]!);
    const next = launch(constants, slots, ats, last);
    l.done(last);
    last = next;
  }
  l.done(...members.map((t) => t.temp));
  return last!;
}

/**
 * A bucket's new moments and values: one launch, or one for each ADAM_BUCKET_INPUTS storages its
 * gradients span, each on the last one's output (without a scale, the state sits in its slot, never read).
 */
export function adamStep(l: Launcher, state: Storage, grads: View[], h: AdamHyper, gradScale: Storage | null): Storage {
  const hyper = { beta1: h.beta1, oneMinusBeta1: 1 - h.beta1, beta2: h.beta2, oneMinusBeta2: 1 - h.beta2, eps: h.eps, scaled: gradScale ? 1 : 0 };
  return overBucket(l, grads, 3, state.size, ADAM_BUCKET_INPUTS, (constants, slots, ats, last) =>
    l.run('adamStep', adamStepKernel, state.size, { ...hyper, ...constants }, l.arg(last ?? state), l.arg(gradScale ?? state), ...slots, h.stepSize, h.bias2Sqrt, h.decay, ...ats));
}

/**
 * How many partial sums sumSquares keeps: every bucket the same, so one bucket's launch adds onto
 * the last one's; a bucket of up to SUM_SQUARES_PARTS · MAX_SERIAL values (2 million) adds at most
 * MAX_SERIAL squares a thread.
 */
export const SUM_SQUARES_PARTS = 1024;

/** SUM_SQUARES_PARTS partial sums, `into`'s added (the caller reduces the last): one launch a BUCKET_INPUTS storages. */
export function sumSquares(l: Launcher, xs: View[], into: Storage | null): Storage {
  const total = xs.reduce((n, x) => n + sizeOf(x.shape), 0);
  const L = Math.max(1, Math.ceil(total / SUM_SQUARES_PARTS));
  return overBucket(l, xs, 1, total, BUCKET_INPUTS, (constants, slots, ats, last) => {
    const before = last ?? into; // the partial sums so far (none: the slot repeats an input, never read)
    return l.run('sumSquares', sumSquaresKernel, SUM_SQUARES_PARTS, { L, total, chained: before ? 1 : 0, ...constants }, before ? l.arg(before) : slots[0]!, ...slots, ...ats);
  });
}

/** a·state + b·xs: the xs are contiguous views, each read from its offset (gathered first where one is not contiguous). */
export function blend(l: Launcher, state: Storage, xs: View[], a: number, b: number): Storage {
  return overBucket(l, xs, 1, state.size, BUCKET_INPUTS, (constants, slots, ats, last) =>
    l.run('blend', blendKernel, state.size, constants, l.arg(last ?? state), ...slots, a, b, ...ats));
}
