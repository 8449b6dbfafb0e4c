// The optimizers' fused updates over a bucket of up to BUCKET_SIZE parameters (kernels/optim.ts):
// each thread finds its parameter from the slots' constants, so one launch covers the bucket.

import { sizeOf } from '../../../util/shape.js';
import { ADAM_BUCKET_SIZE, BUCKET_SIZE, type AdamHyper, type Storage, type View } from '../../backend.js';
import { adamStep as adamStepKernel, blend as blendKernel, sumSquares as sumSquaresKernel } from '../../../../kernels/optim.js';
import type { Arg, Input, Launcher } from '../launch.js';

/**
 * The constants that place a bucket's parameters in its state: parameter j's block starts at
 * startⱼ and holds `per` values for each of its nⱼ; unused slots start at the end.
 */
function bucketSlots(inputs: ReadonlyArray<{ size: number }>, per: number, total: number, slotCount = BUCKET_SIZE): Record<string, number> {
  if (inputs.length < 1 || inputs.length > slotCount) throw new Error(`gpu backend: a bucket of ${inputs.length} parameters (1 to ${slotCount})`);
  const constants: Record<string, number> = {};
  let start = 0;
  for (let j = 0; j < slotCount; j++) {
    const n = inputs[j]?.size;
    constants[`start${j}`] = n === undefined ? total : start;
    constants[`n${j}`] = n ?? 1;
    start += per * (n ?? 0);
  }
  if (start !== total) throw new Error(`gpu backend: a bucket's state holds ${total} values, its parameters need ${start}`);
  return constants;
}

/** A bucket's inputs for the kernel's slots; the unused ones repeat the first (never read). */
function slots(l: Launcher, xs: ReadonlyArray<Storage | Input>, slotCount = BUCKET_SIZE): Arg[] {
  const args: Arg[] = xs.map((x) => ('cell' in x ? { cell: x.cell, size: x.size } : l.arg(x)));
  while (args.length < slotCount) args.push(args[0]!);
  return args;
}

/** One launch for a bucket: its new moments and values (without a scale, the state sits in its slot, never read). */
export function adamStep(l: Launcher, state: Storage, grads: Storage[], h: AdamHyper, gradScale: Storage | null): Storage {
  const constants = { beta1: h.beta1, oneMinusBeta1: 1 - h.beta1, beta2: h.beta2, oneMinusBeta2: 1 - h.beta2, eps: h.eps, scaled: gradScale ? 1 : 0, ...bucketSlots(grads, 3, state.size, ADAM_BUCKET_SIZE) };
  return l.run('adamStep', adamStepKernel, state.size, constants, l.arg(state), l.arg(gradScale ?? state), ...slots(l, grads, ADAM_BUCKET_SIZE), h.stepSize, h.bias2Sqrt, h.decay);
}

/**
 * How many partial sums sumSquares keeps: every bucket the same, so one bucket's launch adds onto
 * the last one's; a bucket of up to SUM_SQUARES_PARTS · MAX_SERIAL values (2 million) adds at most
 * MAX_SERIAL squares a thread.
 */
export const SUM_SQUARES_PARTS = 1024;

/** One launch a bucket: SUM_SQUARES_PARTS partial sums, `into`'s added (the caller reduces the last). */
export function sumSquares(l: Launcher, xs: Storage[], into: Storage | null): Storage {
  const total = xs.reduce((n, x) => n + x.size, 0);
  const L = Math.max(1, Math.ceil(total / SUM_SQUARES_PARTS));
  const constants = { L, total, chained: into ? 1 : 0, ...bucketSlots(xs, 1, total) };
  return l.run('sumSquares', sumSquaresKernel, SUM_SQUARES_PARTS, constants, l.arg(into ?? xs[0]!), ...slots(l, xs));
}

/** The xs are contiguous views, each read from its offset on (gathered first where one is not contiguous). */
export function blend(l: Launcher, state: Storage, xs: View[], a: number, b: number): Storage {
  const inputs = xs.map((x) => l.contiguousAt(x));
  const ats = inputs.map((x) => x.at);
  while (ats.length < BUCKET_SIZE) ats.push(0);
  const out = l.run('blend', blendKernel, state.size, bucketSlots(xs.map((x) => ({ size: sizeOf(x.shape) })), 1, state.size), l.arg(state), ...slots(l, inputs), a, b, ...ats);
  l.done(...inputs.map((x) => x.temp));
  return out;
}
