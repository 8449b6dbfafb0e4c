// What a training run will allocate, worked out from the config before anything is written, so a
// batch that cannot fit is refused with a figure instead of dying mid-run ("Invalid typed array
// length", or the system's out-of-memory killer).
//
// The estimate counts the activations that reverse-mode autodiff keeps for the backward pass
// (every tensor an op saves, per image), walking the same plan the UNet is built from, plus the
// weights and their companions (gradient, two Adam moments, the EMA and its sampling copy).
// Checked against the process's resident memory here: a training step of the default faces model
// (two ResBlocks a level) grows by 7.8 MB an image (estimated 7.7 MB), the one-ResBlock model's by
// 5.5 MB (estimated 5.2 MB), UNet-S's by 9.7 MB (estimated 9.9 MB).

import type { Config } from '../config.js';
import { planUNet, type UNetConfig } from '../nn/unet.js';

/** The longest typed array V8 allocates (elements). */
export const MAX_TENSOR_ELEMENTS = 2 ** 32;

/** Floats kept per image by one forward pass with autodiff on, and the largest single tensor per image. */
export function activationsPerImage(c: UNetConfig): { floats: number; largest: number } {
  let floats = 0, largest = 0;
  const keep = (n: number) => {
    floats += n;
    largest = Math.max(largest, n);
  };
  const S = c.imageSize;
  // ResBlock: GroupNorm+SiLU of the input, conv1, + time embedding, GroupNorm+SiLU, conv2, the sum, and the skip conv.
  const resBlock = (cin: number, cout: number, r: number) => {
    for (const ch of [cin, cout, cout, cout, cout, cout]) keep(ch * r * r);
    if (cin !== cout) keep(cout * r * r);
  };
  // Attention: GroupNorm, q/k/v, the scores and their softmax (composed: scale, shift, exp, normalise), the mix, proj, the sum.
  const attention = (ch: number, r: number) => {
    for (const n of [ch, 3 * ch, ch, ch, ch]) keep(n * r * r);
    for (let i = 0; i < 5; i++) keep(r ** 4);
  };
  keep(4 * c.inChannels * S * S); // x_0, noise, x_t, target
  keep(c.baseChannels * S * S); // convIn
  const plan = planUNet(c);
  plan.down.forEach((level, i) => {
    const r = S / 2 ** i;
    for (const [cin, cout] of level.blocks) {
      resBlock(cin, cout, r);
      if (level.attention) attention(cout, r);
    }
    if (level.resample) keep((level.blocks.at(-1)![1] * r * r) / 4);
  });
  const rMid = S / 2 ** (plan.down.length - 1);
  resBlock(plan.midChannels, plan.midChannels, rMid);
  attention(plan.midChannels, rMid);
  resBlock(plan.midChannels, plan.midChannels, rMid);
  for (let i = plan.up.length - 1; i >= 0; i--) {
    const level = plan.up[i]!, r = S / 2 ** i;
    for (const [cin, cout] of level.blocks) {
      keep(cin * r * r); // the concatenated skip
      resBlock(cin, cout, r);
      if (level.attention) attention(cout, r);
    }
    if (level.resample) keep(2 * level.blocks.at(-1)![1] * r * r * 4); // nearest upsample, then its conv
  }
  keep(2 * c.baseChannels * S * S + c.inChannels * S * S); // normOut, convOut
  return { floats, largest };
}

export interface MemoryEstimate {
  /** Bytes one training step holds at its peak (activations, their gradients in flight, weights and optimizer state). */
  trainStepBytes: number;
  /** Bytes the preview grid's sampling holds (sample.count images through the net, no autodiff). */
  previewBytes: number;
  /** The largest single tensor of a training step, in elements. */
  largestTensor: number;
}

export function estimateMemory(config: Config, parameterCount: number): MemoryEstimate {
  const { floats, largest } = activationsPerImage(config.model);
  // Backward holds gradients of the saved tensors while it walks them: about a quarter more at the peak.
  const trainStepBytes = 4 * (1.25 * floats * config.train.batchSize + 7 * parameterCount);
  // Without autodiff only a few activations are alive at once; the largest bounds each of them.
  const previewBytes = 4 * (4 * largest * config.sample.count + 2 * parameterCount);
  return { trainStepBytes, previewBytes, largestTensor: largest * config.train.batchSize };
}

/** A size in words: 512 MB, 1.2 GB, 12.3 TB. */
export const formatBytes = (bytes: number): string => {
  const [unit, size] = bytes >= 1e12 ? ['TB', 1e12] : bytes >= 1e9 ? ['GB', 1e9] : ['MB', 1e6];
  return `${(bytes / (size as number)).toLocaleString('en-US', { maximumSignificantDigits: 3 })} ${unit}`;
};

/**
 * Throws, naming the field and the figures, when a run's estimated memory exceeds
 * `availableBytes` (or a tensor would exceed what a typed array can hold).
 */
export function assertFits(config: Config, parameterCount: number, availableBytes: number): void {
  const e = estimateMemory(config, parameterCount);
  const { batchSize } = config.train;
  const { imageSize, channels } = config.data;
  const perImage = (e.trainStepBytes - 4 * 7 * parameterCount) / batchSize;
  const fitting = Math.max(0, Math.floor((availableBytes - 4 * 7 * parameterCount) / perImage));
  const problems: string[] = [];
  if (e.trainStepBytes > availableBytes || e.largestTensor > MAX_TENSOR_ELEMENTS) {
    problems.push(
      `train.batchSize ${batchSize} of ${channels}×${imageSize}×${imageSize} images: a training step needs about ${formatBytes(e.trainStepBytes)}`
      + ` (${formatBytes(perImage)} an image)${e.largestTensor > MAX_TENSOR_ELEMENTS ? `, and its largest tensor (${e.largestTensor.toExponential(2)} values) is over the ${MAX_TENSOR_ELEMENTS.toExponential(2)} a typed array can hold` : ''};`
      + ` ${formatBytes(availableBytes)} is available, so at most ${fitting} images fit in a batch`,
    );
  }
  if (e.previewBytes > availableBytes) {
    problems.push(`sample.count ${config.sample.count}: sampling the preview grid needs about ${formatBytes(e.previewBytes)}, ${formatBytes(availableBytes)} is available`);
  }
  if (problems.length) throw new Error(`the run does not fit in memory: ${problems.join('; ')}`);
}
