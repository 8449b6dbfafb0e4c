// Generated faces as a reference set: endless labelled faces to train a feature network on (the
// generator's own attributes: hair style and colour, skin tone, glasses, hat, expression,
// background …), and faces of other seeds held out to compare samples with.

import { FACE_ATTRIBUTES, faceAttributes } from '../data/faces.js';
import { facesDataset, stackImages } from '../data/dataset.js';
import type { Tensor } from '../tensor/tensor.js';
import type { LabelledImages, ReferenceSet } from './reference.js';

/** The faces of `count` consecutive seeds from `first`, [count, C, S, S]. */
export function faceImages(first: number, count: number, imageSize: number, channels: number): Tensor {
  return stackImages(facesDataset(imageSize, channels), Array.from({ length: count }, (_, i) => first + i));
}

/** Those faces with the generator's labels. */
export function labelledFaces(first: number, count: number, imageSize: number, channels: number): LabelledImages {
  return { images: faceImages(first, count, imageSize, channels), labels: Array.from({ length: count }, (_, i) => faceAttributes(first + i)) };
}

/**
 * Seeds the feature network trains on start here, and the held-out faces it is scored on (and
 * that evaluations compare samples with) lie above them: a trainer draws faces from all 2³² seeds,
 * so a diffusion model has met any one of them only by a chance of about steps·batch / 2³².
 */
export const FEATURE_TRAIN_SEEDS = 0x40000000;
export const HELD_OUT_SEEDS = 0x60000000;

/** Generated faces at this size: the feature network learns the generator's attributes. */
export function faceReference(imageSize: number, channels: number): ReferenceSet {
  return {
    name: 'faces', imageSize, channels, labels: FACE_ATTRIBUTES,
    training: (first, count) => labelledFaces(FEATURE_TRAIN_SEEDS + first, count, imageSize, channels),
    // 500 faces just below the held-out ones: neither trained on nor compared with.
    scored: () => labelledFaces(HELD_OUT_SEEDS - 1000, 500, imageSize, channels),
    heldOutSize: 0x10000000,
    heldOut: (first, count) => faceImages(HELD_OUT_SEEDS + first, count, imageSize, channels),
    heldOutDescription: 'held-out generated faces',
  };
}
