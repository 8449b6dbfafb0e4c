// A user's folder of photos (for example CelebA crops): every file, in name order, decoded by
// get-pixels and made a training image as in a page (src/data/image-set.ts).

import type { Dataset } from '../data/dataset.js';
import { imageSetDataset, type ImageSetOptions } from '../data/image-set.js';
import { readImage } from './image-files.js';

export type FolderOptions = ImageSetOptions;

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

  return imageSetDataset(files.map((file) => ({ name: file, decode: () => readImage(file) })), dir, { imageSize, channels, skipBad, warn, onProgress });
}
