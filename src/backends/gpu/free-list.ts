// Recycled textures (gpu.js's GL modes) and buffers (its WebGPU mode), as TensorFlow.js's
// texture manager recycles its own.
//
// Why. Our kernels are immutable pipeline kernels: a call returns a texture or buffer, and the
// next call of the same compiled kernel must not write over it while it is alive (a training
// step keeps its forward outputs for the backward pass). So gpu.js gives that next call a
// brand-new one (GL: `GLTexture.newTexture`, createTexture + texImage2D; WebGPU:
// `_ensureOutputBuffer`, createBuffer, which Dawn also clears), and when our tidy() scope ends it
// deletes the old ones. Per UNet-S train step that was about 2,900 textures made and as many
// deleted: allocation calls that cost far more than the draws between them on a real GPU.
//
// What. When the last handle on a texture or buffer is deleted, it goes into a free list keyed
// by its size (and format) instead of back to the driver; when a kernel needs a new output it
// takes one of that key from the list first, and only makes one when the list is empty. A
// training loop asks for the same sizes every step, so after its first steps it makes none: the
// pool holds at most as many of a size as one step had alive at once.
//
// How. gpu.js has no hook for this, so we replace the methods that make and delete outputs on its
// classes, found from the probe kernel and its output (gpu.js 2.24.1 is pinned). Only contexts
// (or devices) with a pool use it: other gpu.js users keep the original behaviour. What waits in
// a pool is deleted with the backend.

/** Freed GPU objects kept for reuse, by key. */
export class FreeLists<T> {
  private readonly free = new Map<string, T[]>();

  constructor(private readonly bytesOf: (key: string) => number, private readonly destroy: (item: T) => void) {}

  /** A free object of that key, or undefined. */
  take(key: string): T | undefined {
    return this.free.get(key)?.pop();
  }

  give(key: string, item: T): void {
    let list = this.free.get(key);
    if (!list) this.free.set(key, (list = []));
    list.push(item);
  }

  /** The objects waiting for reuse and their bytes. */
  idle(): { textures: number; bytes: number } {
    let textures = 0, bytes = 0;
    for (const [key, list] of this.free) {
      textures += list.length;
      bytes += list.length * this.bytesOf(key);
    }
    return { textures, bytes };
  }

  /** Deletes everything waiting for reuse. */
  dispose(): void {
    for (const list of this.free.values()) list.forEach(this.destroy);
    this.free.clear();
  }
}

/** The first prototype on `object`'s chain that has all these methods of its own. */
export function ownerOf<T extends object>(object: object, methods: string[], what: string): T {
  let proto = Object.getPrototypeOf(object) as object | null;
  while (proto && !methods.every((m) => Object.hasOwn(proto!, m))) proto = Object.getPrototypeOf(proto) as object | null;
  if (!proto) throw new Error(`gpu.js: ${what} has no ${methods.join('/')} to recycle through (a gpu.js other than 2.24.1?)`);
  return proto as T;
}

/** Classes already patched (once per loaded gpu.js). */
export const patched = new WeakSet<object>();
