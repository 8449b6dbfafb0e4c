// A user's folder of photos (for example CelebA crops): every file is decoded, centre-cropped,
// resized and kept in memory.

import { toNetworkInput } from '../io/image.js';
import { readImage } from './image-files.js';
import { inMemoryDataset, toBytes, type Dataset } from '../data/dataset.js';

export interface FolderOptions {
  imageSize: number;
  channels: number;
  /** Skip unreadable or non-image files with a warning instead of stopping. */
  skipBad?: boolean;
  warn?: (message: string) => void;
  onProgress?: (done: number, total: number) => void;
}

export async function folderDataset(dir: string, { imageSize, channels, skipBad = false, warn = console.warn, onProgress }: FolderOptions): Promise<Dataset> {
  const { readdir, stat } = await import('node:fs/promises');
  const { join } = await import('node:path');
  let names: string[];
  try {
    if (!(await stat(dir)).isDirectory()) throw new Error('not a directory');
    names = (await readdir(dir)).filter((n) => !n.startsWith('.')).sort();
  } catch (e) {
    throw new Error(`data.path ${dir}: cannot read the image folder (${(e as Error).message})`);
  }
  const files: string[] = [];
  for (const name of names) if ((await stat(join(dir, name))).isFile()) files.push(join(dir, name));
  if (files.length === 0) throw new Error(`data.path ${dir}: the folder holds no files`);

  const images: Uint8Array[] = [];
  let skipped = 0;
  for (const [i, file] of files.entries()) {
    try {
      images.push(toBytes(toNetworkInput(await readImage(file), imageSize, channels)));
    } catch (e) {
      if (!skipBad) throw new Error(`${(e as Error).message} (set data.skipBad to skip such files)`);
      warn(`warning: skipping ${(e as Error).message}`);
      skipped++;
    }
    onProgress?.(i + 1, files.length);
  }
  if (images.length === 0) throw new Error(`data.path ${dir}: none of its ${files.length} files is a readable image`);
  return inMemoryDataset(images, imageSize, channels, `${images.length} images from ${dir}${skipped ? ` (${skipped} skipped)` : ''}, ${imageSize}×${imageSize}`);
}
