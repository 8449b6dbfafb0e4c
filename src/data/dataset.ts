// Training data: a source of image batches, channel-first in [−1, 1]. Every random choice
// (which image, which flip, which generated face) comes from the generator passed in, so the
// trainer's saved RNG state is all a resumed run needs.

import { tensor } from '../ops/creation.js';
import type { Rng } from '../random/rng.js';
import type { Tensor } from '../tensor/tensor.js';
import { renderFace } from './faces.js';

export interface Dataset {
  readonly imageSize: number;
  readonly channels: number;
  /** Number of distinct images, or Infinity for a generator. */
  readonly size: number;
  /** A human-readable description for logs. */
  readonly description: string;
  /** The image at `index` (generators: the image of that seed), [channels·size·size]. */
  image(index: number): Float32Array;
}

/** Mirrors a channel-first image left to right. */
function flipHorizontal(img: Float32Array, channels: number, size: number): Float32Array {
  const out = new Float32Array(img.length);
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < size; y++) {
      const row = (c * size + y) * size;
      for (let x = 0; x < size; x++) out[row + x] = img[row + size - 1 - x]!;
    }
  }
  return out;
}

/** A batch [n, C, S, S]: images drawn uniformly (with replacement), each flipped with probability 1/2 if asked. */
export function sampleBatch(data: Dataset, n: number, rng: Rng, flip: boolean): Tensor {
  const { channels: C, imageSize: S } = data;
  const batch = new Float32Array(n * C * S * S);
  for (let i = 0; i < n; i++) {
    const index = Number.isFinite(data.size) ? rng.int(data.size) : rng.nextUint32();
    let img = data.image(index);
    if (flip && rng.uniform() < 0.5) img = flipHorizontal(img, C, S);
    batch.set(img, i * C * S * S);
  }
  return tensor(batch, [n, C, S, S]);
}

/** The images at `indices`, in that order, as a batch [n, C, S, S]. */
export function stackImages(data: Dataset, indices: readonly number[]): Tensor {
  const { channels: C, imageSize: S } = data;
  const batch = new Float32Array(indices.length * C * S * S);
  indices.forEach((index, i) => batch.set(data.image(index), i * C * S * S));
  return tensor(batch, [indices.length, C, S, S]);
}

/** Procedurally generated faces: effectively unlimited, image i is the face of seed i. */
export function facesDataset(imageSize: number, channels: number): Dataset {
  return {
    imageSize, channels, size: Infinity,
    description: `generated faces, ${imageSize}×${imageSize}, ${channels === 1 ? 'grey' : 'RGB'}`,
    image: (index) => renderFace(index, imageSize, channels),
  };
}

/** Images held in memory as 8-bit values (a quarter of the float size), converted on use. */
export function inMemoryDataset(images: Uint8Array[], imageSize: number, channels: number, description = 'images in memory'): Dataset {
  // Called from plain JavaScript too: wrong arguments are named, never trained on.
  if (!Number.isInteger(imageSize) || imageSize < 1) throw new Error(`inMemoryDataset: imageSize must be a positive integer (got ${JSON.stringify(imageSize)})`);
  if (!Number.isInteger(channels) || channels < 1 || channels > 3) throw new Error(`inMemoryDataset: channels must be 1, 2 or 3 (got ${JSON.stringify(channels)})`);
  if (!Array.isArray(images)) throw new Error(`inMemoryDataset: images must be an array of Uint8Arrays, one image each (got ${typeof images})`);
  if (images.length === 0) throw new Error(`${description}: no images`);
  const size = channels * imageSize * imageSize;
  const bad = images.findIndex((im) => !(im instanceof Uint8Array) || im.length !== size);
  if (bad >= 0) {
    const im = images[bad] as unknown;
    throw new Error(`inMemoryDataset: images[${bad}] must be a Uint8Array of ${size} bytes (${channels}×${imageSize}×${imageSize}, values 0–255), got ${im instanceof Uint8Array ? `${im.length} bytes` : Object.prototype.toString.call(im)}`);
  }
  return {
    imageSize, channels, size: images.length, description,
    image: (index) => Float32Array.from(images[index]!, (v) => (v / 255) * 2 - 1),
  };
}

/** Quantises a [−1, 1] image to 8 bits for compact storage. */
export function toBytes(img: Float32Array): Uint8Array {
  return Uint8Array.from(img, (v) => Math.round(Math.max(0, Math.min(1, (v + 1) / 2)) * 255));
}
