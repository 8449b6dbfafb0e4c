// A user's folder of photos (for example CelebA crops): every file, in name order, decoded by
// get-pixels and made a training image as in a page (src/data/image-set.ts).

import type { Dataset } from '../data/dataset.js';
import { imageSetDataset, type ImageSetOptions, type ImageSource } from '../data/image-set.js';
import { describeFsError } from './files.js';
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
  // Each entry is followed to what it names; one that leads nowhere (a dangling or looping
  // symbolic link) becomes a source that fails with the cause in words, so skipBad can skip it.
  const sources: ImageSource[] = [];
  for (const name of names) {
    const file = join(dir, name);
    const target = await stat(file).catch((e: unknown) => e as NodeJS.ErrnoException);
    if (target instanceof Error) {
      const why = await brokenLink(file, target);
      sources.push({ name: file, decode: () => Promise.reject(new Error(`${file}: ${why}`)) });
    } else if (target.isFile()) sources.push({ name: file, decode: () => readImage(file) });
  }
  if (sources.length === 0) throw new Error(`data.path ${dir}: the folder holds no files`);

  return imageSetDataset(sources, dir, { imageSize, channels, skipBad, warn, onProgress });
}

/** Why an entry of the folder cannot be opened, in words. */
async function brokenLink(file: string, error: NodeJS.ErrnoException): Promise<string> {
  const { lstat, readlink } = await import('node:fs/promises');
  const link = await lstat(file).then((s) => s.isSymbolicLink(), () => false);
  if (!link) return `cannot be read: ${describeFsError(error)}`;
  const to = await readlink(file).catch(() => '?');
  if (error.code === 'ENOENT') return `a symbolic link to ${to}, which does not exist`;
  if (error.code === 'ELOOP') return `a symbolic link (to ${to}) that leads back to itself, a loop`;
  return `a symbolic link to ${to} that cannot be followed: ${describeFsError(error)}`;
}
