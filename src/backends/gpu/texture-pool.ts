// Recycled textures for gpu.js's GL modes, as TensorFlow.js's texture manager recycles its own.
//
// Why. Our kernels are immutable pipeline kernels: a call returns a texture, and the next call
// of the same compiled kernel must not draw over it while it is alive (a training step keeps
// its forward outputs for the backward pass). So gpu.js gives that next call a brand-new
// texture (`GLTexture.newTexture`: createTexture + texImage2D), and when our tidy() scope ends
// it deletes the old ones (`GLTexture.delete`: deleteTexture). Per UNet-S train step that was
// about 2,900 textures made and as many deleted: allocation calls that cost far more than the
// draws between them on a real GPU.
//
// What. When the last handle on a texture is deleted, the texture goes into a free list keyed by
// its size and format instead of back to the driver; when a kernel needs a new texture it takes
// one of that key from the list first, and only makes one when the list is empty. A training
// loop asks for the same sizes every step, so after the first step it makes none: the pool
// holds at most as many textures of a size as one step had alive at once.
//
// How. gpu.js has no hook for this, so we replace those two methods on its GL texture class,
// found from a texture the probe kernel returned (gpu.js 2.24.1 is pinned; the class is shared
// by all its GL modes). Only contexts with a pool use it: other gpu.js users keep the original
// behaviour. Textures in a pool are deleted when the pool is (with the backend).

/** The parts of gpu.js's GLTexture (src/backend/gl/texture/index.js) the pool touches. */
interface GLTextureLike {
  texture: RawTexture;
  context: WebGLRenderingContext;
  size: [number, number];
  internalFormat: number;
  textureType: number;
  kernel?: { textureCache?: RawTexture[] };
  _deleted: boolean;
  newTexture(): void;
  delete(): void;
}

/** A WebGL texture, with the handle count gpu.js keeps on it. */
type RawTexture = WebGLTexture & { _refs?: number };

/** Textures kept for reuse, by size and format, for one GL context. */
export class TexturePool {
  private readonly free = new Map<string, RawTexture[]>();
  /** Textures made because none of their key was free, and textures handed out again. */
  readonly counts = { made: 0, reused: 0 };

  constructor(private readonly gl: WebGLRenderingContext) {}

  /** A free texture of that key, or undefined. */
  take(key: string): RawTexture | undefined {
    const texture = this.free.get(key)?.pop();
    if (texture) this.counts.reused++;
    return texture;
  }

  give(key: string, texture: RawTexture): void {
    let list = this.free.get(key);
    if (!list) this.free.set(key, (list = []));
    list.push(texture);
  }

  /** The textures waiting for reuse and their bytes (float RGBA: 16 bytes a texel). */
  idle(): { textures: number; bytes: number } {
    let textures = 0, bytes = 0;
    for (const [key, list] of this.free) {
      const [w, h] = key.split('|')[2]!.split('x').map(Number);
      textures += list.length;
      bytes += list.length * w! * h! * 16;
    }
    return { textures, bytes };
  }

  /** Deletes every texture waiting for reuse. */
  dispose(): void {
    for (const list of this.free.values()) for (const texture of list) this.gl.deleteTexture(texture);
    this.free.clear();
  }
}

const keyOf = (t: GLTextureLike) => `${t.internalFormat}|${t.textureType}|${t.size[0]}x${t.size[1]}`;

/** The pool of each GL context that has one. */
const pools = new WeakMap<object, TexturePool>();

/** The gpu.js texture class already patched (once per loaded gpu.js). */
const patched = new WeakSet<object>();

/**
 * Gives `gl` a texture pool, patching gpu.js's GL texture class (found from `sample`, a texture a
 * kernel on `gl` returned) the first time.
 */
export function poolTextures(sample: object, gl: WebGLRenderingContext): TexturePool {
  let proto = Object.getPrototypeOf(sample) as (GLTextureLike & object) | null;
  while (proto && !(Object.hasOwn(proto, 'newTexture') && Object.hasOwn(proto, 'delete'))) proto = Object.getPrototypeOf(proto) as typeof proto;
  if (!proto) throw new Error('gpu.js: its GL texture class has no newTexture/delete to recycle textures through (a gpu.js other than 2.24.1?)');
  if (!patched.has(proto)) {
    patched.add(proto);
    const { newTexture, delete: remove } = proto;
    // gpu.js calls this when the kernel's current texture still has another handle: the output must go elsewhere.
    proto.newTexture = function (this: GLTextureLike) {
      const pool = pools.get(this.context);
      const reused = pool?.take(keyOf(this));
      if (!reused) {
        newTexture.call(this);
        if (pool) pool.counts.made++;
        return;
      }
      this.texture._refs = (this.texture._refs ?? 1) - 1;
      reused._refs = 1;
      this.texture = reused;
    };
    // gpu.js deletes the GL texture when its last handle goes; with a pool it waits there for reuse.
    proto.delete = function (this: GLTextureLike) {
      const pool = pools.get(this.context);
      if (!pool) return remove.call(this);
      if (this._deleted) return;
      this._deleted = true;
      const texture = this.texture;
      if (texture._refs) {
        texture._refs--;
        if (texture._refs) return;
      }
      // A kernel's first texture is also listed for deletion when the kernel is destroyed: it now belongs to the pool.
      const cache = this.kernel?.textureCache;
      const at = cache ? cache.indexOf(texture) : -1;
      if (at !== -1) cache!.splice(at, 1);
      pool.give(keyOf(this), texture);
    };
  }
  let pool = pools.get(gl);
  if (!pool) pools.set(gl, (pool = new TexturePool(gl)));
  return pool;
}

/** Deletes `gl`'s pooled textures; textures deleted afterwards go back to the driver. */
export function dropTexturePool(gl: WebGLRenderingContext): void {
  pools.get(gl)?.dispose();
  pools.delete(gl);
}
