// Where a GPU tensor's values live, and when they are freed.
//
// A storage is one page, or several for a tensor bigger than a texture (paging.ts); a page is a
// range of the storage's values in one cell; a cell holds a texture (GL), a buffer (WebGPU) or,
// in gpu.js's cpu mode, an array. Outputs are immutable: every launch returns a new texture, so
// a tensor saved for the backward pass is never overwritten by the next launch of the same
// kernel; `assign` (optimizer updates) writes a whole new one and swaps it into the cell.
//
// Textures are freed three ways: temporaries a launcher needs only inside itself, at once; what a
// tidy() scope made, when it ends; and, as a fallback, what the garbage collector finds
// unreachable (a FinalizationRegistry). Why, and how a step stays flat: the tour, chapter 4
// ("Values stay on the GPU"), and src/backends/scope.ts.

import type { Backend, Storage } from '../backend.js';
import { freedMessage as freedOn, track } from '../scope.js';
import type { KernelValue } from './open-gpujs.js';
import type { LaunchQueue } from './queue.js';

/**
 * The texture or buffer (or, in 'cpu' mode, the array) behind a page; `assign` swaps in a new
 * one. On WebGPU `value` is null until the launch that writes it has run (queue.ts).
 */
export interface Cell {
  value: KernelValue | null;
  /** Set when the texture was freed: by whom ('tidy' for a scope's end, or e.g. 'dispose()'); using the storage then is an error. */
  released?: string;
}

/** Storage values [start, start + size) in one texture. */
export interface Page {
  readonly start: number;
  readonly size: number;
  readonly cell: Cell;
}

/** A tensor's values: one page, or several for a tensor bigger than a texture. */
export class GpuStorage implements Storage {
  /**
   * False for a window onto another storage's page, and for a storage whose pages were handed
   * on to a bigger one: releasing it then frees nothing.
   */
  owns = true;
  constructor(readonly backend: Backend, readonly size: number, readonly pages: readonly Page[]) {}
}

export const freedMessage = (by: string) => freedOn('gpu', by);

/** A cell's values as a launch reads them: written by every launch enqueued before. */
export function valueOf(cell: Cell): KernelValue {
  if (cell.value === null) throw new Error('gpu backend: a launch read a buffer before the launch that writes it ran (a bug in the launch order)');
  return cell.value;
}

/** The one texture behind a storage a kernel reads (kernels get windows, never paged storages). */
export function cellOf(s: Storage): Cell {
  if (!(s instanceof GpuStorage)) throw new Error(`gpu backend: got a storage of backend '${s.backend.name}'`);
  if (s.pages.length !== 1) throw new Error(`gpu backend: a storage of ${s.pages.length} pages reached a kernel (a bug: it should have been read through windows)`);
  const cell = s.pages[0]!.cell;
  if (cell.released) throw new Error(freedMessage(cell.released));
  return cell;
}

function deleteTexture(value: KernelValue | null): void {
  if (value && !(value instanceof Float32Array)) value.delete();
}

/** The storages of one backend: made, owned, freed and counted here. */
export class Storages {
  private live = { textures: 0, bytes: 0, paged: 0 };
  private readonly registry = new FinalizationRegistry<readonly Page[]>((pages) => this.forget(pages));

  constructor(private readonly backend: Backend, private readonly queue: LaunchQueue) {}

  /** Live textures, their bytes (float32 values × 4), and how many live tensors are held in several textures (pages). */
  memory(): { textures: number; bytes: number; paged: number } {
    return { ...this.live };
  }

  /** A storage for a kernel's output (null until its launch has run, on WebGPU). */
  wrap(value: KernelValue | null, size: number): GpuStorage {
    this.live.textures++;
    this.live.bytes += 4 * size;
    return this.own(new GpuStorage(this.backend, size, [{ start: 0, size, cell: { value } }]));
  }

  /** Watches a storage so its textures are deleted when it is unreachable, and puts it in the open tidy() scope. */
  private own(storage: GpuStorage): GpuStorage {
    this.registry.register(storage, storage.pages, storage);
    track(storage);
    return storage;
  }

  /** Deletes a storage's textures now (instead of waiting for the collector); `by` names who, for a later use's error. */
  release(s: Storage, by = 'tidy'): void {
    const storage = s as GpuStorage;
    if (!storage.owns || storage.pages.every((p) => p.cell.released)) return;
    this.registry.unregister(storage);
    this.forget(storage.pages, by);
  }

  private forget(pages: readonly Page[], by = 'collected'): void {
    if (pages.length > 1) this.live.paged--;
    for (const { cell, size } of pages) {
      cell.released = by;
      // After every launch enqueued before that reads it (a backend stopped by a failed launch runs nothing more: delete now).
      if (this.queue.failure) deleteTexture(cell.value);
      else this.queue.inOrder(() => deleteTexture(cell.value));
      this.live.textures--;
      this.live.bytes -= 4 * size;
    }
  }

  /** One storage made of the parts' pages, in order; the parts no longer own them. */
  stitch(parts: Storage[]): GpuStorage {
    if (parts.length === 1) return parts[0] as GpuStorage;
    const pages: Page[] = [];
    let at = 0;
    for (const part of parts as GpuStorage[]) {
      for (const p of part.pages) pages.push({ ...p, start: at + p.start });
      at += part.size;
      if (part.pages.length > 1) this.live.paged--;
      this.registry.unregister(part);
      part.owns = false;
    }
    this.live.paged++;
    return this.own(new GpuStorage(this.backend, at, pages));
  }

  /** A page as a storage of its own that reads the same texture and frees nothing. */
  borrow(page: Page): GpuStorage {
    const storage = new GpuStorage(this.backend, page.size, [{ start: 0, size: page.size, cell: page.cell }]);
    storage.owns = false;
    return storage;
  }

  /** `into` takes `from`'s texture and `from` the old one, in program order (assign's and move's swap). */
  swap(into: Cell, from: Cell): void {
    if (into.released || from.released) throw new Error(freedMessage(into.released ?? from.released!));
    this.queue.inOrder(() => ([into.value, from.value] = [from.value, into.value]));
  }
}
