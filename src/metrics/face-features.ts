// Features that see faces, not pixels: a small convolutional network that ddpm-ts trains once to
// tell, from an image of a generated face, what the generator chose for it (hair style and
// colour, skin tone, glasses, hat, expression, background …: FACE_ATTRIBUTES, the generator's
// own labels). Its pooled activations before the classifier are the features the Fréchet
// distance compares, as Inception's are for photos: two sets of faces are close when they have
// the same mix of hair, glasses and smiles, not when their pixels agree.

import { FACE_ATTRIBUTES, faceAttributes, type FaceAttributes } from '../data/faces.js';
import { facesDataset } from '../data/dataset.js';
import { Conv2d, GroupNorm, Linear } from '../nn/layers.js';
import { Module } from '../nn/module.js';
import * as F from '../ops/index.js';
import { tensor } from '../ops/creation.js';
import { Adam } from '../optim/adam.js';
import { Rng } from '../random/rng.js';
import { noGrad } from '../tensor/autograd.js';
import type { Tensor } from '../tensor/tensor.js';
import { dispose, tidy } from '../backends/scope.js';

const NAMES = Object.keys(FACE_ATTRIBUTES) as Array<keyof FaceAttributes>;
const CLASSES = NAMES.reduce((n, k) => n + FACE_ATTRIBUTES[k], 0);

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
 * conv3×3 (C → w) · [GN, SiLU, conv3×3 stride 2] to 2w and 4w · GN, SiLU · mean over the pixels
 * = the features (4w values) · Linear → one score a class of every attribute.
 */
export class FaceFeatureNet extends Module {
  readonly convIn: Conv2d;
  readonly norm1: GroupNorm;
  readonly down1: Conv2d;
  readonly norm2: GroupNorm;
  readonly down2: Conv2d;
  readonly normOut: GroupNorm;
  readonly head: Linear;

  constructor(readonly recipe: FeatureRecipe) {
    super();
    const { channels: c, width: w } = recipe;
    const rng = new Rng(recipe.seed);
    this.convIn = this.addModule('convIn', new Conv2d(c, w, 3, { padding: 1, rng }));
    this.norm1 = this.addModule('norm1', new GroupNorm(4, w));
    this.down1 = this.addModule('down1', new Conv2d(w, 2 * w, 3, { stride: 2, padding: 1, rng }));
    this.norm2 = this.addModule('norm2', new GroupNorm(4, 2 * w));
    this.down2 = this.addModule('down2', new Conv2d(2 * w, 4 * w, 3, { stride: 2, padding: 1, rng }));
    this.normOut = this.addModule('normOut', new GroupNorm(4, 4 * w));
    this.head = this.addModule('head', new Linear(4 * w, CLASSES, { rng }));
  }

  /** Images [B, C, S, S] in [−1, 1] → features [B, 4w]. */
  features(x: Tensor): Tensor {
    const h = this.down2.forward(this.norm2.forwardSilu(this.down1.forward(this.norm1.forwardSilu(this.convIn.forward(x)))));
    return F.mean(this.normOut.forwardSilu(h), [2, 3]);
  }

  /** The sum over attributes of each one's cross-entropy. */
  loss(x: Tensor, labels: FaceAttributes[]): Tensor {
    const scores = this.head.forward(this.features(x));
    let at = 0, total: Tensor | null = null;
    for (const name of NAMES) {
      const k = FACE_ATTRIBUTES[name];
      const part = F.slice(scores, [0, at], [labels.length, at + k]);
      const ce = F.crossEntropy(part, labels.map((l) => l[name]));
      total = total ? F.add(total, ce) : ce;
      at += k;
    }
    return total!;
  }

  /** The share of each attribute predicted right on `images`, whose true attributes are `labels`. */
  accuracy(images: Tensor, labels: FaceAttributes[]): Record<keyof FaceAttributes, number> {
    const scores = noGrad(() => this.head.forward(this.features(images))).toFloat32Array();
    const out = {} as Record<keyof FaceAttributes, number>;
    let at = 0;
    for (const name of NAMES) {
      const k = FACE_ATTRIBUTES[name];
      let right = 0;
      labels.forEach((l, b) => {
        let best = 0;
        for (let c = 1; c < k; c++) if (scores[b * CLASSES + at + c]! > scores[b * CLASSES + at + best]!) best = c;
        if (best === l[name]) right++;
      });
      out[name] = right / labels.length;
      at += k;
    }
    return out;
  }
}

/** The faces of `count` consecutive seeds from `first`, [count, C, S, S]. */
export function faceImages(first: number, count: number, imageSize: number, channels: number): Tensor {
  const faces = facesDataset(imageSize, channels);
  const plane = channels * imageSize * imageSize;
  const values = new Float32Array(count * plane);
  for (let i = 0; i < count; i++) values.set(faces.image(first + i), i * plane);
  return tensor(values, [count, channels, imageSize, imageSize]);
}

/** Those faces with the generator's labels. */
export function labelledFaces(first: number, count: number, imageSize: number, channels: number): { images: Tensor; labels: FaceAttributes[] } {
  return { images: faceImages(first, count, imageSize, channels), labels: Array.from({ length: count }, (_, i) => faceAttributes(first + i)) };
}

/**
 * Seeds the feature network trains on start here, and the held-out faces it is scored on (and
 * that evaluations compare samples with) lie above them: a trainer draws faces from all 2³² seeds,
 * so a diffusion model has met any one of them only by a chance of about steps·batch / 2³².
 */
export const FEATURE_TRAIN_SEEDS = 0x40000000;
export const HELD_OUT_SEEDS = 0x60000000;

/** Trains a feature network by its recipe (Adam, batches of fresh faces); `log` hears its progress. */
export function trainFaceFeatures(recipe: FeatureRecipe, log?: (message: string) => void): { net: FaceFeatureNet; accuracy: Record<keyof FaceAttributes, number> } {
  const net = new FaceFeatureNet(recipe);
  const opt = new Adam(net.parameters(), { lr: recipe.lr });
  for (let step = 0; step < recipe.steps; step++) {
    tidy(() => {
      const { images, labels } = labelledFaces(FEATURE_TRAIN_SEEDS + step * recipe.batchSize, recipe.batchSize, recipe.imageSize, recipe.channels);
      const loss = net.loss(images, labels);
      opt.zeroGrad();
      loss.backward();
      opt.step();
      if (log && ((step + 1) % 100 === 0 || step + 1 === recipe.steps)) log(`feature network: step ${step + 1}/${recipe.steps}, loss ${loss.item().toFixed(3)}`);
    });
  }
  const heldOut = labelledFaces(HELD_OUT_SEEDS - 1000, 500, recipe.imageSize, recipe.channels);
  return { net, accuracy: net.accuracy(heldOut.images, heldOut.labels) };
}

/** Features [N, 4w] of images [N, C, S, S], in batches, as float64 for the statistics. */
export async function featuresOf(net: FaceFeatureNet, images: Tensor, batchSize = 64): Promise<Float64Array> {
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
