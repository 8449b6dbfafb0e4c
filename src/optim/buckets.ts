// Optimizer state kept flat, in buckets: the state of up to BUCKET_MEMBERS parameters (Adam's two
// moments and the parameter itself; the EMA's shadow) end to end in one storage, so one kernel
// launch updates all of it (on a GPU every launch costs about the same, whatever its size). What
// limits a bucket is what one kernel reads: BUCKET_INPUTS storages (ADAM_BUCKET_INPUTS for Adam),
// where several tensors may share one (a weight's and its bias's gradients; parameters that live
// in one Adam bucket, for the EMA). Each parameter's state is a view of its bucket (offset and shape):
// checkpoints read and load it like any tensor.

import { BUCKET_INPUTS, BUCKET_MEMBERS, fusedKernels, type Backend, type FusedKernels } from '../backends/backend.js';
import { contiguousStrides, isContiguous } from '../util/shape.js';
import { keep } from '../backends/scope.js';
import { Tensor } from '../tensor/tensor.js';

export interface Bucket {
  /** Indices of its parameters in the list it was made from. */
  readonly members: number[];
  /** The flat state: `per` × size values for each member, one member after the other. */
  readonly state: Tensor;
  /** Where each member's block starts in `state`. */
  readonly at: number[];
  /** Whether one kernel reads the whole state (false: a lone parameter too big for one, updated by composed ops). */
  readonly fused: boolean;
}

/**
 * Tensors, in order, in groups of at most BUCKET_MEMBERS that one fused kernel reads: their `per`
 * values an element together fit it (backend.maxFused), and they are read from at most `inputs`
 * storages, `inputOf` saying which (tensors with the same one share a storage). A tensor too big
 * for one kernel is a group of its own, not fused. On a backend without the fused optimizer
 * kernels no group is fused (each is a tensor alone).
 */
export function fusionGroups(tensors: readonly Tensor[], per: number, inputs = BUCKET_INPUTS, inputOf: (t: Tensor) => object = (t) => t.storage): Array<{ members: number[]; size: number; fused: boolean }> {
  const groups: Array<{ members: number[]; size: number; fused: boolean }> = [];
  let members: number[] = [], size = 0;
  const read = new Set<object>();
  const close = () => {
    if (members.length > 0) groups.push({ members, size, fused: size <= maxFused(tensors[members[0]!]!) });
    members = [];
    size = 0;
    read.clear();
  };
  tensors.forEach((t, j) => {
    const need = per * t.size, input = inputOf(t);
    const full = members.length === BUCKET_MEMBERS || (!read.has(input) && read.size === inputs);
    if (members.length > 0 && (full || size + need > maxFused(t))) close();
    members.push(j);
    size += need;
    read.add(input);
  });
  close();
  return groups;
}

/**
 * Parameters grouped as fusionGroups does, each group's state (`per` values an element) a storage
 * of zeros on its parameters' backend.
 */
export function makeBuckets(params: readonly Tensor[], per: number, inputs = BUCKET_INPUTS, inputOf?: (t: Tensor) => object): Bucket[] {
  return fusionGroups(params, per, inputs, inputOf).map(({ members, size, fused }) => {
    let at = 0;
    const starts = members.map((j) => {
      const start = at;
      at += per * params[j]!.size;
      return start;
    });
    const backend = params[members[0]!]!.backend;
    const state = backend.zeros(size);
    keep(state); // optimizer state (and, for Adam, the parameters) outlives any tidy() it was made in
    return { members, state: new Tensor(state, [size]), at: starts, fused };
  });
}

/** The view of a bucket's state at `offset` shaped as `shape` (contiguous). */
export function stateView(bucket: Bucket, offset: number, shape: readonly number[]): Tensor {
  const s = bucket.state;
  return new Tensor(s.storage, shape, contiguousStrides(shape), s.offset + offset);
}

/**
 * Whether a bucket runs fused this time: one kernel reads it, and every tensor it reads is
 * contiguous (a whole storage, or a parameter inside Adam's flat state: read from its offset).
 */
export function runsFused(bucket: Bucket, tensors: ReadonlyArray<Tensor | null>): boolean {
  return bucket.fused && tensors.every((t) => t !== null && isContiguous(t.shape, t.strides));
}

/** The most values a fused optimizer kernel reads on t's backend (0 where it has none). */
const maxFused = (t: Tensor) => fusedKernels(t.backend).optimizer?.maxFused ?? 0;

/** The backend of a bucket that runs fused (runsFused said so), with its fused optimizer kernels. */
export function optimizerKernels(bucket: Bucket): Backend & FusedKernels {
  const be = bucket.state.backend;
  if (!fusedKernels(be).optimizer) throw new Error(`optimizer: backend '${be.name}' has no fused optimizer kernels, yet a bucket was made fused (a bug)`);
  return be as Backend & FusedKernels;
}
