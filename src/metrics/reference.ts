// What an FID compares samples with: real images, held out, and labelled images a feature network
// learns from. Each dataset that can be measured provides one: generated faces (the generator's
// own attributes, src/metrics/face-reference.ts) and MNIST digits (their classes, Node only:
// src/node/mnist.ts).

import type { Tensor } from '../tensor/tensor.js';

/** Images [N, C, S, S] in [−1, 1] and, for each, the class of every label. */
export interface LabelledImages {
  images: Tensor;
  labels: Array<Record<string, number>>;
}

export interface ReferenceSet {
  /** A short name ('faces', 'mnist'): the cache file of its feature network starts with it. */
  readonly name: string;
  readonly imageSize: number;
  readonly channels: number;
  /** Each label's number of classes, e.g. { digit: 10 }. */
  readonly labels: Readonly<Record<string, number>>;
  /** `count` labelled images for the feature network's training, from position `first` of an endless stream. */
  training(first: number, count: number): LabelledImages;
  /** The labelled images the network is scored on after training (none of them trained on). */
  scored(): LabelledImages;
  /** How many held-out images there are to compare samples with. */
  readonly heldOutSize: number;
  /** Held-out images `first` … `first + count − 1`, [count, C, S, S]. */
  heldOut(first: number, count: number): Tensor;
  /** What the held-out images are, for a sentence: "held-out generated faces". */
  readonly heldOutDescription: string;
}
