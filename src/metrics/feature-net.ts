// Features that see what a dataset is about, not its pixels: a small convolutional network that
// ddpm-ts trains once to tell the labels of a reference set's images (a digit's class; a
// generated face's hair, skin tone, glasses, hat, expression …). Its activations just before the
// classifier are the features the Fréchet distance compares, as Inception's are for photos:
// two sets of faces are close when they have the same mix of hair, glasses and smiles, not when
// their pixels agree.

import { Conv2d, GroupNorm, Linear } from '../nn/layers.js';
import { Module } from '../nn/module.js';
import * as F from '../ops/index.js';
import { tensor } from '../ops/creation.js';
import { Adam } from '../optim/adam.js';
import { Rng } from '../random/rng.js';
import { noGrad } from '../tensor/autograd.js';
import type { Tensor } from '../tensor/tensor.js';
import { dispose, tidy } from '../backends/scope.js';
import type { ReferenceSet } from './reference.js';

/** How the feature network is trained: part of its cache key (a change retrains it). */
export interface FeatureRecipe {
  imageSize: number;
  channels: number;
  width: number;
  steps: number;
  batchSize: number;
  lr: number;
  seed: number;
}

/** The recipe used unless one is given (a few minutes on two cores at 32×32, under one at 8×8). */
export const defaultFeatureRecipe = (imageSize: number, channels: number): FeatureRecipe => ({ imageSize, channels, width: 16, steps: 400, batchSize: 32, lr: 2e-3, seed: 1 });

/**
 * conv3×3 (C → w) · [GN, SiLU, conv3×3 stride 2] to 2w and 4w · GN, SiLU · Linear from all of
 * it (4w·(S/4)² values, so where a stroke or a hat is counts, not only what is there) to 4w ·
 * SiLU = the features · Linear → one score a class of every label.
 */
export class FeatureNet extends Module {
  readonly convIn: Conv2d;
  readonly norm1: GroupNorm;
  readonly down1: Conv2d;
  readonly norm2: GroupNorm;
  readonly down2: Conv2d;
  readonly normOut: GroupNorm;
  readonly fc: Linear;
  readonly head: Linear;
  private readonly names: string[];
  private readonly classes: number;

  constructor(readonly recipe: FeatureRecipe, readonly labels: Readonly<Record<string, number>>) {
    super();
    const { channels: c, width: w } = recipe;
    this.names = Object.keys(labels);
    this.classes = this.names.reduce((n, k) => n + labels[k]!, 0);
    const rng = new Rng(recipe.seed);
    this.convIn = this.addModule('convIn', new Conv2d(c, w, 3, { padding: 1, rng }));
    this.norm1 = this.addModule('norm1', new GroupNorm(4, w));
    this.down1 = this.addModule('down1', new Conv2d(w, 2 * w, 3, { stride: 2, padding: 1, rng }));
    this.norm2 = this.addModule('norm2', new GroupNorm(4, 2 * w));
    this.down2 = this.addModule('down2', new Conv2d(2 * w, 4 * w, 3, { stride: 2, padding: 1, rng }));
    this.normOut = this.addModule('normOut', new GroupNorm(4, 4 * w));
    const side = Math.ceil(Math.ceil(recipe.imageSize / 2) / 2);
    this.fc = this.addModule('fc', new Linear(4 * w * side * side, 4 * w, { rng }));
    this.head = this.addModule('head', new Linear(4 * w, this.classes, { rng }));
  }

  /** Images [B, C, S, S] in [−1, 1] → features [B, 4w]. */
  features(x: Tensor): Tensor {
    const h = this.normOut.forwardSilu(this.down2.forward(this.norm2.forwardSilu(this.down1.forward(this.norm1.forwardSilu(this.convIn.forward(x))))));
    return F.silu(this.fc.forward(F.reshape(h, [h.shape[0]!, h.shape[1]! * h.shape[2]! * h.shape[3]!])));
  }

  /** The sum over labels of each one's cross-entropy (its classes' scores are one slice of the head's). */
  loss(x: Tensor, labels: Array<Record<string, number>>): Tensor {
    const scores = this.head.forward(this.features(x));
    let at = 0, total: Tensor | null = null;
    for (const name of this.names) {
      const k = this.labels[name]!;
      const part = F.slice(scores, [0, at], [labels.length, at + k]);
      const ce = F.crossEntropy(part, labels.map((l) => l[name]!));
      total = total ? F.add(total, ce) : ce;
      at += k;
    }
    return total!;
  }

  /** The share of each label predicted right on `images`, whose true labels are `labels`. */
  async accuracy(images: Tensor, labels: Array<Record<string, number>>): Promise<Record<string, number>> {
    const n = images.shape[0]!, features = await featuresOf(this, images);
    const scoresTensor = tidy(() => noGrad(() => this.head.forward(tensor(Float32Array.from(features), [n, features.length / n]))));
    const scores = await scoresTensor.data();
    dispose(scoresTensor);
    const out: Record<string, number> = {};
    let at = 0;
    for (const name of this.names) {
      const k = this.labels[name]!;
      let right = 0;
      labels.forEach((l, b) => {
        const row = b * this.classes + at;
        let best = 0;
        for (let c = 1; c < k; c++) if (scores[row + c]! > scores[row + best]!) best = c;
        if (best === l[name]) right++;
      });
      out[name] = right / labels.length;
      at += k;
    }
    return out;
  }
}

/** Throws unless the recipe is for the reference set's images. */
export function checkRecipe(reference: ReferenceSet, recipe: FeatureRecipe): void {
  if (recipe.imageSize !== reference.imageSize || recipe.channels !== reference.channels) {
    throw new Error(`a feature recipe for ${recipe.imageSize}×${recipe.imageSize}×${recipe.channels} images cannot measure the ${reference.name} reference set's ${reference.imageSize}×${reference.imageSize}×${reference.channels}`);
  }
}

/**
 * Trains a feature network by its recipe on the reference set's labelled images (Adam; batch s
 * is the stream's images s·batch … (s+1)·batch − 1); `log` hears its progress. Returns it with
 * its accuracy on the reference's scored images.
 */
export async function trainFeatureNet(reference: ReferenceSet, recipe: FeatureRecipe, log?: (message: string) => void): Promise<{ net: FeatureNet; accuracy: Record<string, number> }> {
  checkRecipe(reference, recipe);
  const net = new FeatureNet(recipe, reference.labels);
  const opt = new Adam(net.parameters(), { lr: recipe.lr });
  let said = performance.now();
  for (let step = 0; step < recipe.steps; step++) {
    const loss = tidy(() => {
      const { images, labels } = reference.training(step * recipe.batchSize, recipe.batchSize);
      const loss = net.loss(images, labels);
      opt.zeroGrad();
      loss.backward();
      opt.step();
      return loss.detach();
    });
    // Read (awaited, so WebGPU can map it) only when it is logged.
    // A line every 100 steps, and at least every 1.5 s (nothing a user runs is silent for 2).
    if (log && ((step + 1) % 100 === 0 || step + 1 === recipe.steps || performance.now() - said > 1500)) {
      said = performance.now();
      log(`feature network: step ${step + 1}/${recipe.steps}, loss ${(await loss.data())[0]!.toFixed(3)}`);
    }
    dispose(loss);
  }
  const scored = reference.scored();
  const accuracy = await net.accuracy(scored.images, scored.labels);
  dispose(scored.images);
  return { net, accuracy };
}

/** Features [N, 4w] of images [N, C, S, S], in batches, as float64 for the statistics. */
export async function featuresOf(net: FeatureNet, images: Tensor, batchSize = 64): Promise<Float64Array> {
  const n = images.shape[0]!;
  const parts: Float32Array[] = [];
  for (let start = 0; start < n; start += batchSize) {
    const count = Math.min(batchSize, n - start);
    const batch = F.slice(images, [start, 0, 0, 0], [start + count, ...images.shape.slice(1)]);
    const features = tidy(() => noGrad(() => net.features(F.contiguous(batch))));
    parts.push(await features.data());
    dispose(features);
  }
  const out = new Float64Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
