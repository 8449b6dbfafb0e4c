// The texture pool of gpu.js's GL modes: textures our kernels freed, kept by size and format
// for the next kernel output of that size (why and how: free-list.ts).

import { FreeLists, ownerOf, patched } from './free-list.js';

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

/** Textures kept for reuse, by size and format (float RGBA: 16 bytes a texel), for one GL context. */
export type TexturePool = FreeLists<RawTexture>;

const keyOf = (t: GLTextureLike) => `${t.size[0]}x${t.size[1]}|${t.internalFormat}|${t.textureType}`;

/** The pool of each GL context that has one. */
const texturePools = new WeakMap<object, TexturePool>();

/**
 * Gives `gl` a texture pool, patching gpu.js's GL texture class (found from `sample`, a texture a
 * kernel on `gl` returned) the first time.
 */
export function poolTextures(sample: object, gl: WebGLRenderingContext): TexturePool {
  const proto = ownerOf<GLTextureLike>(sample, ['newTexture', 'delete'], 'its GL texture class');
  if (!patched.has(proto)) {
    patched.add(proto);
    const { newTexture, delete: remove } = proto;
    // gpu.js calls this when the kernel's current texture still has another handle: the output must go elsewhere.
    proto.newTexture = function (this: GLTextureLike) {
      const reused = texturePools.get(this.context)?.take(keyOf(this));
      if (!reused) return newTexture.call(this);
      this.texture._refs = (this.texture._refs ?? 1) - 1;
      reused._refs = 1;
      this.texture = reused;
    };
    // gpu.js deletes the GL texture when its last handle goes; with a pool it waits there for reuse.
    proto.delete = function (this: GLTextureLike) {
      const pool = texturePools.get(this.context);
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
  let pool = texturePools.get(gl);
  if (!pool) {
    pool = new FreeLists<RawTexture>((key) => {
      const [w, h] = key.split('|')[0]!.split('x').map(Number);
      return w! * h! * 16;
    }, (texture) => gl.deleteTexture(texture));
    texturePools.set(gl, pool);
  }
  return pool;
}

/** Deletes `gl`'s pooled textures; textures deleted afterwards go back to the driver. */
export function dropTexturePool(gl: WebGLRenderingContext): void {
  texturePools.get(gl)?.dispose();
  texturePools.delete(gl);
}
