// A run's files in a folder (Node): every whole-file write is atomic (a temporary file, flushed,
// renamed over the old one), so a kill at any moment leaves the previous version or the new one.

import { readdir, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { RGBAImage } from '../io/image.js';
import type { RunStore } from '../diffusion/store.js';
import { appendText, checkDirUsable, ensureDir, writeAtomic } from './files.js';
import { writePng } from './image-files.js';
import { lockRunFolder, type RunLock } from './run-lock.js';

export class FolderStore implements RunStore {
  constructor(readonly dir: string) {}

  get location(): string {
    return this.dir;
  }

  describe(name: string): string {
    return join(this.dir, name);
  }

  async read(name: string): Promise<Uint8Array | null> {
    try {
      return await readFile(this.describe(name));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new Error(`cannot read ${this.describe(name)}: ${(e as Error).message}`);
    }
  }

  async write(name: string, data: Uint8Array | string): Promise<void> {
    await writeAtomic(this.describe(name), data);
  }

  async append(name: string, text: string): Promise<void> {
    await appendText(this.describe(name), text);
  }

  async writeImage(name: string, image: RGBAImage): Promise<void> {
    await writePng(this.describe(name), image);
  }

  async list(prefix: string): Promise<string[]> {
    const dir = dirname(join(prefix, 'x'));
    const names = await readdir(join(this.dir, dir)).catch(() => [] as string[]);
    return names.map((n) => join(dir, n)).filter((n) => n.startsWith(prefix)).sort();
  }

  async remove(name: string): Promise<void> {
    await rm(this.describe(name), { force: true });
  }

  /** Whether the folder is one, or can be made, and can be written in; creates nothing. */
  async check(): Promise<void> {
    await checkDirUsable(this.dir);
  }

  /** Takes the folder's lock (one run per folder), creating the folder when missing. */
  async claim(log?: (message: string) => void): Promise<RunLock> {
    return lockRunFolder(this.dir, { log });
  }

  /** Creates the folder and its samples/ subfolder, or says which folder cannot be made and why. */
  async prepare(): Promise<void> {
    await ensureDir(join(this.dir, 'samples'));
  }
}
