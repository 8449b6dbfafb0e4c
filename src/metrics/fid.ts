// FID against held-out generated faces: what examples/eval.js prints and the trainer logs
// (train.evalEvery). The held-out faces' statistics, and the floor (the distance between two
// disjoint sets of them of the same size), are computed once and reused for every measurement.

import { tidy } from '../backends/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { faceImages, featuresOf, HELD_OUT_SEEDS, type FaceFeatureNet } from './face-features.js';
import { featureStats, frechetDistance, type FeatureStats } from './frechet.js';

export interface HeldOutFaces {
  readonly net: FaceFeatureNet;
  /** Images on each side of every distance. */
  readonly count: number;
  readonly real: FeatureStats;
  /** The real-vs-real distance for `count` images: what chance alone gives. */
  readonly floor: number;
}

/** The statistics of `images` [count, C, S, S] in the network's features. */
async function statsOf(net: FaceFeatureNet, images: Tensor): Promise<FeatureStats> {
  const n = images.shape[0]!;
  const f = await featuresOf(net, images);
  return featureStats(f, n, f.length / n);
}

/** `count` held-out faces (seeds from HELD_OUT_SEEDS) in the network's features, and the floor for that count. */
export async function heldOutFaces(net: FaceFeatureNet, count: number, imageSize: number, channels: number): Promise<HeldOutFaces> {
  const faces = (first: number) => tidy(() => faceImages(first, count, imageSize, channels));
  const real = await statsOf(net, faces(HELD_OUT_SEEDS));
  const other = await statsOf(net, faces(HELD_OUT_SEEDS + count));
  return { net, count, real, floor: frechetDistance(other, real) };
}

/** The FID of `samples` ([count, C, S, S], count as the held-out set's) against the held-out faces. */
export async function fidAgainst(heldOut: HeldOutFaces, samples: Tensor): Promise<number> {
  if (samples.shape[0] !== heldOut.count) throw new Error(`fidAgainst: ${samples.shape[0]} samples against ${heldOut.count} held-out faces; give as many`);
  return frechetDistance(await statsOf(heldOut.net, samples), heldOut.real);
}
