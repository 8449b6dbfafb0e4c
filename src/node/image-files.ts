// Image files (Node): decoding with get-pixels after checking what the file claims
// (image-check.ts), and PNG encoding with save-pixels, written atomically.

import ndarray from 'ndarray';
import getPixels from 'get-pixels';
import savePixels from 'save-pixels';
import type { RGBAImage } from '../io/image.js';
import { describeFsError, writeAtomic } from './files.js';
import { checkImage, sniffImageType } from './image-check.js';

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
    throw new Error(`cannot read image ${path}: ${describeFsError(e)}`);
  }
  return decodeImage(bytes, path);
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
