// The buffer pool of gpu.js's WebGPU mode: output buffers our kernels freed, kept by byte size
// for the next kernel output of that size (why and how: free-list.ts).

import { FreeLists, ownerOf, patched } from './free-list.js';

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
