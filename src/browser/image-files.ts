// Photos a user drops onto a page (File objects) as a dataset: the browser decodes each one, and
// the same code as Node's folder loader crops and resizes it (src/data/image-set.ts). Nothing
// leaves the page.
//
// Decoding asks for the file's own pixels (no colour-space conversion, no premultiplied alpha),
// so an opaque PNG gives exactly the values get-pixels gives in Node; a canvas keeps alpha
// premultiplied, so half-transparent pixels may differ by a rounding step.

import type { Dataset } from '../data/dataset.js';
import { countOf } from '../util/count-words.js';
import { imageSetDataset, type ImageSetOptions } from '../data/image-set.js';
import { checkPixelCount, imageSize, sniffImageType } from '../io/image-header.js';
import type { RGBAImage } from '../io/image.js';

/**
 * A file's pixels, decoded by the browser. Its type and size are read from its header first, as
 * Node's loader does: a file that is not a PNG, JPEG, GIF or BMP, or that claims more than
 * MAX_IMAGE_PIXELS, is refused before the browser spends seconds and gigabytes decoding it.
 */
async function decodeInPage(file: Blob, name: string): Promise<RGBAImage> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  const type = sniffImageType(bytes);
  if (!type) throw new Error(`${name}: not a PNG, JPEG, GIF or BMP image`);
  try {
    const claimed = imageSize(bytes, type);
    checkPixelCount(claimed.width, claimed.height);
  } catch (e) {
    throw new Error(`${name}: ${(e as Error).message}`);
  }
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch {
    throw new Error(`${name}: the browser cannot decode it as an image`);
  }
  const { width, height } = bitmap;
  try {
    checkPixelCount(width, height); // what it decoded to, in case the header said less
  } catch (e) {
    bitmap.close();
    throw new Error(`${name}: ${(e as Error).message}`);
  }
  const ctx = new OffscreenCanvas(width, height).getContext('2d', { willReadFrequently: true })!;
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  const { data } = ctx.getImageData(0, 0, width, height);
  return { width, height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/** A dataset of image files (from a file input or a drop), taken in name order as Node takes a folder's. */
export function imageFilesDataset(files: ArrayLike<File>, options: ImageSetOptions): Promise<Dataset> {
  const sorted = Array.from(files).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return imageSetDataset(sorted.map((file) => ({ name: file.name, decode: () => decodeInPage(file, file.name) })), `${countOf(sorted.length, 'file')} given`, options);
}
