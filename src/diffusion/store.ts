// Where a training run keeps its files. The trainer never touches a file system: it hands bytes
// (checkpoints), text (the log, the config) and images (sample grids, the loss curve) to a
// RunStore. In Node that is a folder (src/node/folder-store.ts, atomic writes); in a page, a
// store the caller provides (MemoryStore below keeps everything in memory).

import type { RGBAImage } from '../io/image.js';

export interface RunStore {
  /** Where the run's files go, in words (a folder's path; "memory"), for the trainer's first line. */
  readonly location?: string;
  /** How a file of the run is named in messages (a path, in a folder). */
  describe(name: string): string;
  /** A file's bytes, or null when it does not exist. */
  read(name: string): Promise<Uint8Array | null>;
  /** Replaces a file whole (atomically where the medium allows). */
  write(name: string, data: Uint8Array | string): Promise<void>;
  /** Appends text to a file (one log line). */
  append(name: string, text: string): Promise<void>;
  /** Writes an image (a PNG in a folder). */
  writeImage(name: string, image: RGBAImage): Promise<void>;
  /** The names of the files below `prefix` (e.g. 'samples/'). */
  list(prefix: string): Promise<string[]>;
  remove(name: string): Promise<void>;
  /** Says, before any work and without writing, whether the store can take the run's files; throws, naming it, when it cannot. */
  check?(): Promise<void>;
  /** Makes the store ready to take files (a folder creates itself); throws, naming it, when it cannot. */
  prepare(): Promise<void>;
  /**
   * Claims the store for one run (a folder's lock, src/node/run-lock.ts); throws, naming the
   * holder, when another run has it. The trainer holds the claim until train() ends or close().
   */
  claim?(log?: (message: string) => void): Promise<{ release(): Promise<void> }>;
}

/** A write the store could not make (full disk, read-only folder, …): `message` names the file and the cause. */
export class StoreWriteError extends Error {
  constructor(readonly file: string, readonly code: string | undefined, message: string) {
    super(message);
    this.name = 'StoreWriteError';
  }
}

/** A run kept in memory: files as bytes, images as RGBA (a page draws them). */
export class MemoryStore implements RunStore {
  readonly files = new Map<string, Uint8Array>();
  readonly images = new Map<string, RGBAImage>();

  constructor(private readonly label = 'memory') {}

  get location(): string {
    return `memory (a MemoryStore, '${this.label}')`;
  }

  describe(name: string): string {
    return `${this.label}:${name}`;
  }

  async read(name: string): Promise<Uint8Array | null> {
    return this.files.get(name) ?? null;
  }

  async write(name: string, data: Uint8Array | string): Promise<void> {
    this.files.set(name, typeof data === 'string' ? new TextEncoder().encode(data) : data.slice());
  }

  async append(name: string, text: string): Promise<void> {
    const before = this.files.get(name) ?? new Uint8Array(0);
    const added = new TextEncoder().encode(text);
    const joined = new Uint8Array(before.length + added.length);
    joined.set(before);
    joined.set(added, before.length);
    this.files.set(name, joined);
  }

  async writeImage(name: string, image: RGBAImage): Promise<void> {
    this.images.set(name, image);
  }

  async list(prefix: string): Promise<string[]> {
    return [...this.files.keys(), ...this.images.keys()].filter((n) => n.startsWith(prefix)).sort();
  }

  async remove(name: string): Promise<void> {
    this.files.delete(name);
    this.images.delete(name);
  }

  async prepare(): Promise<void> {}
}
