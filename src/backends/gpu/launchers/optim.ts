// The optimizers' fused updates over a bucket of up to BUCKET_SIZE parameters (kernels/optim.ts):
// each thread finds its parameter from the slots' constants, so one launch covers the bucket.

import { BUCKET_SIZE, type AdamHyper, type Storage } from '../../backend.js';
import { adamMoments as adamMomentsKernel, adamParam as adamParamKernel, blend as blendKernel, sumSquares as sumSquaresKernel } from '../../../../kernels/optim.js';
import { MAX_SERIAL, type Arg, type Launcher } from '../launch.js';
import { reduce } from './reduce.js';

/**
 * The constants that place a bucket's parameters in its state: parameter j's block starts at
 * startⱼ and holds `per` values for each of its nⱼ; unused slots start at the end.
 */
function bucketSlots(inputs: Storage[], per: number, total: number): Record<string, number> {
  if (inputs.length < 1 || inputs.length > BUCKET_SIZE) throw new Error(`gpu backend: a bucket of ${inputs.length} parameters (1 to ${BUCKET_SIZE})`);
  const constants: Record<string, number> = {};
  let start = 0;
  for (let j = 0; j < BUCKET_SIZE; j++) {
    const n = inputs[j]?.size;
    constants[`start${j}`] = n === undefined ? total : start;
    constants[`n${j}`] = n ?? 1;
    start += per * (n ?? 0);
  }
  if (start !== total) throw new Error(`gpu backend: a bucket's state holds ${total} values, its parameters need ${start}`);
  return constants;
}

/** A bucket's inputs for the kernel's BUCKET_SIZE slots; the unused ones repeat the first (never read). */
function slots(l: Launcher, xs: Storage[]): Arg[] {
  const args: Arg[] = xs.map((x) => l.arg(x));
  while (args.length < BUCKET_SIZE) args.push(args[0]!);
  return args;
}

/** One launch for a bucket's moments. */
export function adamMoments(l: Launcher, moments: Storage, grads: Storage[], h: AdamHyper): Storage {
  const constants = { beta1: h.beta1, oneMinusBeta1: 1 - h.beta1, beta2: h.beta2, oneMinusBeta2: 1 - h.beta2, ...bucketSlots(grads, 2, moments.size) };
  return l.run('adamMoments', adamMomentsKernel, moments.size, constants, l.arg(moments), ...slots(l, grads));
}

/** `at` is an argument, not a constant: parameters of one size share a compiled kernel wherever their moments lie. */
export function adamParam(l: Launcher, p: Storage, moments: Storage, at: number, h: AdamHyper): Storage {
  return l.run('adamParam', adamParamKernel, p.size, { eps: h.eps, n: p.size }, l.arg(p), l.arg(moments), at, h.stepSize, h.bias2Sqrt, h.decay);
}

/** Partial sums of at most MAX_SERIAL squares a thread, then a reduce of the parts: two launches (one for a small bucket). */
export function sumSquares(l: Launcher, xs: Storage[]): Storage {
  const total = xs.reduce((n, x) => n + x.size, 0);
  const parts = Math.max(1, Math.ceil(total / MAX_SERIAL)), L = Math.max(1, Math.ceil(total / parts));
  const partial = l.run('sumSquares', sumSquaresKernel, parts, { L, total, ...bucketSlots(xs, 1, total) }, ...slots(l, xs));
  if (parts === 1) return partial;
  const sum = reduce(l, 'sum', { storage: partial, shape: [parts], strides: [1], offset: 0 }, [0]);
  l.storages.release(partial);
  return sum;
}

export function blend(l: Launcher, state: Storage, xs: Storage[], a: number, b: number): Storage {
  return l.run('blend', blendKernel, state.size, bucketSlots(xs, 1, state.size), l.arg(state), ...slots(l, xs), a, b);
}
