// A set of the user's own images (a folder in Node, photos dropped onto a page) as a dataset:
// each is decoded by the platform, centre-cropped and resized by toNetworkInput, and kept in
// memory as 8-bit values. The platform supplies only the decoding, so a photo becomes the very
// same training image in Node and in a page.

import { toNetworkInput, type RGBAImage } from '../io/image.js';
import { countOf } from '../util/count-words.js';
import { inMemoryDataset, toBytes, type Dataset } from './dataset.js';

/** One image to load: its name (for messages) and how to decode it. */
export interface ImageSource {
  name: string;
  decode(): Promise<RGBAImage>;
}

export interface ImageSetOptions {
  imageSize: number;
  channels: number;
  /** Skip unreadable or non-image files with a warning instead of stopping. */
  skipBad?: boolean;
  warn?: (message: string) => void;
  onProgress?: (done: number, total: number) => void;
}

/** Decodes every source in order; `origin` (a folder, "dropped photos") names the set in messages and the description. */
export async function imageSetDataset(sources: readonly ImageSource[], origin: string, { imageSize, channels, skipBad = false, warn = console.warn, onProgress }: ImageSetOptions): Promise<Dataset> {
  if (sources.length === 0) throw new Error(`${origin}: there are no files to read`);
  const images: Uint8Array[] = [];
  let skipped = 0;
  for (const [i, source] of sources.entries()) {
    try {
      images.push(toBytes(toNetworkInput(await source.decode(), imageSize, channels)));
    } catch (e) {
      if (!skipBad) throw new Error(`${(e as Error).message} (set data.skipBad to skip such files)`);
      warn(`warning: skipping ${(e as Error).message}`);
      skipped++;
    }
    onProgress?.(i + 1, sources.length);
  }
  if (images.length === 0) throw new Error(`${origin}: ${sources.length === 1 ? 'its one file is not' : `none of its ${sources.length} files is`} a readable image`);
  return inMemoryDataset(images, imageSize, channels, `${countOf(images.length, 'image')} from ${origin}${skipped ? ` (${skipped} skipped)` : ''}, ${imageSize}×${imageSize}`);
}
