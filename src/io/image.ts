// Images in and out: decoding with get-pixels, encoding PNG with save-pixels, centre-crop and
// resize into the network's [−1, 1] channel-first layout, and grids of samples.

import ndarray from 'ndarray';
import getPixels from 'get-pixels';
import savePixels from 'save-pixels';
import { writeAtomic } from './files.js';
import { checkImage, sniffImageType } from './image-check.js';

/** 8-bit RGBA pixels, row-major: data[(y·width + x)·4 + c]. */
export interface RGBAImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/**
 * Decodes PNG, JPEG, GIF (first frame) or BMP bytes; `source` names the file in errors. Every
 * failure, the decoder's included, comes back as a rejected promise naming `source`.
 */
export function decodeImage(bytes: Uint8Array, source: string): Promise<RGBAImage> {
  const type = sniffImageType(bytes);
  if (!type) return Promise.reject(new Error(`${source}: not a PNG, JPEG, GIF or BMP image`));
  try {
    checkImage(bytes, type);
  } catch (e) {
    return Promise.reject(new Error(`${source}: ${(e as Error).message}`));
  }
  return new Promise((resolve, reject) => {
    const fail = (e: unknown) => reject(new Error(`${source}: cannot decode ${type}: ${(e as Error).message}`));
    // get-pixels wants a Buffer; the callback may run inside the decoder's stream, so nothing may throw out of it.
    getPixels(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), type, (err, pixels) => {
      if (err) return fail(err);
      try {
        // get-pixels indexes [x, y, channel], or [frame, x, y, channel] for GIFs.
        const frame = pixels.dimension === 4 ? pixels.pick(0, null, null, null) : pixels;
        const [width, height] = frame.shape as [number, number];
        if (!width || !height) return reject(new Error(`${source}: image has no pixels`));
        const data = new Uint8Array(width * height * 4);
        for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) for (let c = 0; c < 4; c++) data[(y * width + x) * 4 + c] = frame.get(x, y, c);
        resolve({ width, height, data });
      } catch (e) {
        fail(e);
      }
    });
  });
}

export async function readImage(path: string): Promise<RGBAImage> {
  const { readFile } = await import('node:fs/promises');
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new Error(`cannot read image ${path}: ${(e as Error).message}`);
  }
  return decodeImage(bytes, path);
}

/**
 * The centred square crop of an image, resized to size×size by averaging the source area each
 * target pixel covers (a box filter: no aliasing when shrinking), as channel-first values in
 * [−1, 1]. Alpha is composited over white; one channel gives luma.
 */
export function toNetworkInput(img: RGBAImage, size: number, channels: number): Float32Array {
  const side = Math.min(img.width, img.height);
  const x0 = (img.width - side) / 2, y0 = (img.height - side) / 2;
  const scale = side / size;
  const out = new Float32Array(channels * size * size);
  const rgb = [0, 0, 0];
  for (let ty = 0; ty < size; ty++) {
    for (let tx = 0; tx < size; tx++) {
      // Source rectangle [sx0, sx1) × [sy0, sy1), weighted by overlap with each source pixel.
      const sx0 = x0 + tx * scale, sx1 = sx0 + scale, sy0 = y0 + ty * scale, sy1 = sy0 + scale;
      rgb[0] = rgb[1] = rgb[2] = 0;
      let total = 0;
      for (let y = Math.floor(sy0); y < Math.ceil(sy1); y++) {
        const wy = Math.min(y + 1, sy1) - Math.max(y, sy0);
        for (let x = Math.floor(sx0); x < Math.ceil(sx1); x++) {
          const w = wy * (Math.min(x + 1, sx1) - Math.max(x, sx0));
          const p = (Math.min(y, img.height - 1) * img.width + Math.min(x, img.width - 1)) * 4;
          const a = img.data[p + 3]! / 255;
          for (let c = 0; c < 3; c++) rgb[c]! += w * (img.data[p + c]! * a + 255 * (1 - a));
          total += w;
        }
      }
      const p = ty * size + tx;
      if (channels === 1) {
        out[p] = ((0.299 * rgb[0]! + 0.587 * rgb[1]! + 0.114 * rgb[2]!) / total) * (2 / 255) - 1;
      } else {
        for (let c = 0; c < 3; c++) out[c * size * size + p] = (rgb[c]! / total) * (2 / 255) - 1;
      }
    }
  }
  return out;
}

/**
 * Lays out n images (channel-first values in [−1, 1], one or three channels, S×S each) in a grid
 * of `cols` columns with `pad` pixels between them; `scale` repeats each pixel for viewing.
 */
export function imageGrid(images: Float32Array, n: number, channels: number, size: number, { cols = Math.ceil(Math.sqrt(n)), pad = 2, scale = 1, background = 255 } = {}): RGBAImage {
  const rows = Math.ceil(n / cols);
  const cell = size * scale + pad;
  const width = cols * cell + pad, height = rows * cell + pad;
  const data = new Uint8Array(width * height * 4).fill(background);
  const plane = size * size;
  for (let i = 0; i < n; i++) {
    const ox = pad + (i % cols) * cell, oy = pad + Math.floor(i / cols) * cell;
    for (let y = 0; y < size * scale; y++) {
      for (let x = 0; x < size * scale; x++) {
        const src = i * channels * plane + Math.floor(y / scale) * size + Math.floor(x / scale);
        const dst = ((oy + y) * width + ox + x) * 4;
        for (let c = 0; c < 3; c++) {
          const v = images[src + (channels === 1 ? 0 : c) * plane]!;
          data[dst + c] = Math.round(Math.max(0, Math.min(1, (v + 1) / 2)) * 255);
        }
        data[dst + 3] = 255;
      }
    }
  }
  return { width, height, data };
}

/**
 * A denoising strip: one row per image, one column per frame of its chain (x_T … x_0).
 * `frames` are [count, C, S, S] tensors' values; the first `rows` images are shown.
 */
export function trajectoryStrip(frames: Float32Array[], rows: number, channels: number, size: number, scale = 1): RGBAImage {
  const plane = channels * size * size;
  const cells = new Float32Array(rows * frames.length * plane);
  frames.forEach((values, f) => {
    for (let r = 0; r < rows; r++) cells.set(values.subarray(r * plane, (r + 1) * plane), (r * frames.length + f) * plane);
  });
  return imageGrid(cells, rows * frames.length, channels, size, { cols: frames.length, scale });
}

/** PNG bytes of an image (save-pixels). */
export function encodePng(img: RGBAImage): Promise<Uint8Array> {
  // save-pixels indexes [x, y, channel]: a transposed view of our row-major pixels.
  const view = ndarray(img.data, [img.width, img.height, 4], [4, 4 * img.width, 1]);
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    const stream = savePixels(view, 'png');
    stream.on('data', (c: Uint8Array | string) => chunks.push(typeof c === 'string' ? Buffer.from(c, 'binary') : c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

/** Writes a PNG atomically (a viewer never sees half a file). */
export async function writePng(path: string, img: RGBAImage): Promise<void> {
  await writeAtomic(path, await encodePng(img));
}
