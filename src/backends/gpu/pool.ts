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
class FreeLists<T> {
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
function ownerOf<T extends object>(object: object, methods: string[], what: string): T {
  let proto = Object.getPrototypeOf(object) as object | null;
  while (proto && !methods.every((m) => Object.hasOwn(proto!, m))) proto = Object.getPrototypeOf(proto) as object | null;
  if (!proto) throw new Error(`gpu.js: ${what} has no ${methods.join('/')} to recycle through (a gpu.js other than 2.24.1?)`);
  return proto as T;
}

/** Classes already patched (once per loaded gpu.js). */
const patched = new WeakSet<object>();

// ---------------------------------------------------------------- GL: textures

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

// ---------------------------------------------------------------- WebGPU: buffers

/** The parts of gpu.js's WebGPUKernel (src/backend/web-gpu/kernel.js) the pool touches. */
interface WebGpuKernelLike {
  _device: GpuDevice;
  immutable: boolean;
  pipeline: boolean;
  threadDim: number[];
  componentCount: number;
  output: number[];
  outputBuffer: PooledBuffer | null;
  bindGroupDirty: boolean;
  _checkBufferSize(byteLength: number, what: string): void;
  _ensureOutputBuffer(): void;
}

/** The parts of gpu.js's WebGPUBufferResult the pool touches. */
interface BufferResultLike {
  buffer: PooledBuffer;
  kernel: { _device: GpuDevice };
  _deleted: boolean;
  delete(): void;
}

interface GpuDevice {
  createBuffer(descriptor: { size: number; usage: number }): PooledBuffer;
}

/** A GPUBuffer, with the handle count gpu.js keeps on it. */
type PooledBuffer = { size: number; destroy(): void; _refs?: number };

/** GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC: what gpu.js makes output buffers with. */
const OUTPUT_USAGE = 0x80 | 0x04;

/** Output buffers kept for reuse, by byte size, for one WebGPU device. */
export type BufferPool = FreeLists<PooledBuffer>;

const bufferPools = new WeakMap<object, BufferPool>();

/** Hands a buffer whose last handle went to the pool. */
function release(pool: BufferPool, buffer: PooledBuffer): void {
  if (--buffer._refs! === 0) pool.give(String(buffer.size), buffer);
}

/**
 * Gives `device` a buffer pool, patching gpu.js's WebGPU kernel class (found from `kernel`, the
 * probe kernel) and its result class (from `sample`, a result the probe returned) the first time.
 */
export function poolBuffers(kernel: object, sample: object, device: object): BufferPool {
  const kernelProto = ownerOf<WebGpuKernelLike>(kernel, ['_ensureOutputBuffer'], 'its WebGPU kernel class');
  const resultProto = ownerOf<BufferResultLike>(sample, ['delete'], 'its WebGPU result class');
  if (!patched.has(kernelProto)) {
    patched.add(kernelProto);
    const ensure = kernelProto._ensureOutputBuffer;
    // gpu.js calls this before each run: an immutable pipeline kernel hands every result its own buffer.
    kernelProto._ensureOutputBuffer = function (this: WebGpuKernelLike) {
      const pool = bufferPools.get(this._device);
      if (!pool || !this.immutable || !this.pipeline) return ensure.call(this);
      const [tx, ty, tz] = this.threadDim as [number, number, number];
      const byteLength = tx * ty * tz * 4 * this.componentCount;
      if (this.outputBuffer) release(pool, this.outputBuffer);
      this._checkBufferSize(byteLength, `output [${this.output.join(', ')}]`);
      const buffer = pool.take(String(byteLength)) ?? this._device.createBuffer({ size: byteLength, usage: OUTPUT_USAGE });
      buffer._refs = 1;
      this.outputBuffer = buffer;
      this.bindGroupDirty = true;
    };
  }
  if (!patched.has(resultProto)) {
    patched.add(resultProto);
    const remove = resultProto.delete;
    resultProto.delete = function (this: BufferResultLike) {
      const pool = bufferPools.get(this.kernel._device);
      if (!pool) return remove.call(this);
      if (this._deleted) return;
      this._deleted = true;
      release(pool, this.buffer);
    };
  }
  let pool = bufferPools.get(device);
  if (!pool) {
    pool = new FreeLists<PooledBuffer>(Number, (buffer) => buffer.destroy());
    bufferPools.set(device, pool);
  }
  return pool;
}

/** Destroys `device`'s pooled buffers; buffers freed afterwards are destroyed at once. */
export function dropBufferPool(device: object): void {
  bufferPools.get(device)?.dispose();
  bufferPools.delete(device);
}
