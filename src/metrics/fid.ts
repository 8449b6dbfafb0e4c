// FID against a reference set's held-out images: what examples/eval.js prints and the trainer
// logs (train.evalEvery). The held-out images' statistics, and the floor (the distance between two
// disjoint sets of them of the same size), are computed once and reused for every measurement.

import { tidy } from '../backends/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { featuresOf, type FeatureNet } from './feature-net.js';
import { featureStats, frechetDistance, type FeatureStats } from './frechet.js';
import type { ReferenceSet } from './reference.js';

export interface HeldOut {
  readonly net: FeatureNet;
  readonly reference: ReferenceSet;
  /** Images on each side of every distance. */
  readonly count: number;
  readonly real: FeatureStats;
  /** The real-vs-real distance for `count` images: what chance alone gives. */
  readonly floor: number;
}

/** The statistics of `images` [count, C, S, S] in the network's features. */
async function statsOf(net: FeatureNet, images: Tensor): Promise<FeatureStats> {
  const n = images.shape[0]!;
  const f = await featuresOf(net, images);
  return featureStats(f, n, f.length / n);
}

/** The largest count an FID against this reference can take: the floor needs two disjoint sets. */
export const maxEvalCount = (reference: ReferenceSet): number => Math.floor(reference.heldOutSize / 2);

/** The first `count` held-out images in the network's features, and the floor for that count (against the next `count`). */
export async function heldOutReal(reference: ReferenceSet, net: FeatureNet, count: number): Promise<HeldOut> {
  if (!(count >= 2 && count <= maxEvalCount(reference))) {
    throw new Error(`an FID of ${count} images needs ${2 * count} ${reference.heldOutDescription} (${count} to compare with and ${count} more for the real-vs-real floor); there are ${reference.heldOutSize}: use 2 to ${maxEvalCount(reference)}`);
  }
  const real = await statsOf(net, tidy(() => reference.heldOut(0, count)));
  const other = await statsOf(net, tidy(() => reference.heldOut(count, count)));
  return { net, reference, count, real, floor: frechetDistance(other, real) };
}

/** The FID of `samples` ([count, C, S, S], count as the held-out set's) against the held-out images. */
export async function fidAgainst(heldOut: HeldOut, samples: Tensor): Promise<number> {
  if (samples.shape[0] !== heldOut.count) throw new Error(`fidAgainst: ${samples.shape[0]} samples against ${heldOut.count} ${heldOut.reference.heldOutDescription}; give as many`);
  const fid = frechetDistance(await statsOf(heldOut.net, samples), heldOut.real);
  // A NaN or infinite FID is no measurement: non-finite samples or features (damaged weights).
  if (!Number.isFinite(fid)) throw new Error(`the FID came out ${fid}: the samples or their features are not finite numbers (damaged weights in the model or the feature network?); no measurement was made`);
  return fid;
}
