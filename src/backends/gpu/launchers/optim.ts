// The optimizers' fused updates over a bucket of up to BUCKET_SIZE parameters (kernels/optim.ts):
// each thread finds its parameter from the slots' constants, so one launch covers the bucket.

import { ADAM_BUCKET_SIZE, BUCKET_SIZE, type AdamHyper, type Storage } from '../../backend.js';
import { adamMoments as adamMomentsKernel, adamParam as adamParamKernel, blend as blendKernel, sumSquares as sumSquaresKernel } from '../../../../kernels/optim.js';
import type { Arg, Launcher } from '../launch.js';

/**
 * The constants that place a bucket's parameters in its state: parameter j's block starts at
 * startⱼ and holds `per` values for each of its nⱼ; unused slots start at the end.
 */
function bucketSlots(inputs: Storage[], per: number, total: number, slotCount = BUCKET_SIZE): Record<string, number> {
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
function slots(l: Launcher, xs: Storage[], slotCount = BUCKET_SIZE): Arg[] {
  const args: Arg[] = xs.map((x) => l.arg(x));
  while (args.length < slotCount) args.push(args[0]!);
  return args;
}

/** One launch for a bucket's moments (without a scale, the moments sit in its slot, never read). */
export function adamMoments(l: Launcher, moments: Storage, grads: Storage[], h: AdamHyper, gradScale: Storage | null): Storage {
  const constants = { beta1: h.beta1, oneMinusBeta1: 1 - h.beta1, beta2: h.beta2, oneMinusBeta2: 1 - h.beta2, scaled: gradScale ? 1 : 0, ...bucketSlots(grads, 2, moments.size, ADAM_BUCKET_SIZE) };
  return l.run('adamMoments', adamMomentsKernel, moments.size, constants, l.arg(moments), l.arg(gradScale ?? moments), ...slots(l, grads, ADAM_BUCKET_SIZE));
}

/** `at` is an argument, not a constant: parameters of one size share a compiled kernel wherever their moments lie. */
export function adamParam(l: Launcher, p: Storage, moments: Storage, at: number, h: AdamHyper): Storage {
  return l.run('adamParam', adamParamKernel, p.size, { eps: h.eps, n: p.size }, l.arg(p), l.arg(moments), at, h.stepSize, h.bias2Sqrt, h.decay);
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

export function blend(l: Launcher, state: Storage, xs: Storage[], a: number, b: number): Storage {
  return l.run('blend', blendKernel, state.size, bucketSlots(xs, 1, state.size), l.arg(state), ...slots(l, xs), a, b);
}
