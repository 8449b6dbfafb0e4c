// The `webgpu` and `webgl` backends: every kernel of the Backend interface as a gpu.js kernel
// (the functions in the top-level kernels/ folder), which gpu.js compiles to a WGSL compute
// shader over storage buffers (WebGPU: Dawn in Node, the browser's in a page) or to a fragment
// shader drawing into a texture (WebGL: headless-gl in Node, WebGL2 or WebGL in a page), or runs
// as JavaScript in its 'cpu' mode for tests. One class for both: gpu.js compiles one source to
// either, and only the order of work differs (queue.ts).
//
// The parts, a file each, as TensorFlow.js's backends keep dispatch, program cache, memory and
// each op's glue apart:
//
//   open-gpujs.ts  loads gpu.js, asks for one mode, proves it with a probe kernel
//   queue.ts       program order: immediate on GL, an ordered queue on WebGPU
//   storage.ts     cells, pages, who owns them, when they are freed, the live counts
//   launch.ts      the compiled-kernel cache, and a launch
//   slicing.ts     ops on tensors bigger than a texture, slice by slice (paging.ts: the maths)
//   launchers/     one file per op family, each beside its kernels/ file
//   free-list.ts   recycled textures and buffers (texture-pool.ts, buffer-pool.ts)
//
// Values stay on the GPU from kernel to kernel: `read` (or `readAsync` on WebGPU) is the only
// download.

import type { AdamHyper, Backend, BinaryOp, Conv2dGeometry, Projection, ReduceOp, Storage, UnaryOp, View } from '../backend.js';
import { Launcher } from './launch.js';
import * as copy from './launchers/copy.js';
import * as conv from './launchers/conv.js';
import * as elementwise from './launchers/elementwise.js';
import * as matmul from './launchers/matmul.js';
import * as norm from './launchers/norm.js';
import * as optim from './launchers/optim.js';
import * as reduce from './launchers/reduce.js';
import * as softmax from './launchers/softmax.js';
import { openGpu, type CompiledKernel, type GpuMode, type OpenGpu } from './open-gpujs.js';
import { LaunchQueue } from './queue.js';
import { Storages } from './storage.js';

export type { GpuMode } from './open-gpujs.js';
export { GpuStorage } from './storage.js';

/** Float32 holds whole numbers exactly up to 2²⁴: the largest index a shader computes. */
const MAX_INDEXABLE = 2 ** 24;

export interface GpuBackendOptions {
  /** The gpu.js mode; by default the best WebGL mode here: headless-gl in Node, WebGL2 then WebGL in a page. */
  mode?: GpuMode;
  /** The largest texture side to use (default: the context's MAX_TEXTURE_SIZE); smaller values are for tests. */
  maxTextureSize?: number;
  /** Wraps every compiled gpu.js kernel as it is made, with its name (tests and the bench count launches this way). */
  instrument?: (kernel: CompiledKernel, name: string) => CompiledKernel;
}

/** The WebGPU backends open now (a Node process closes them when its work is done: src/node/webgpu.ts). */
const openWebGpu = new Set<GpuBackend>();

/** The WebGPU backends open now. */
export function openWebGpuBackends(): readonly GpuBackend[] {
  return [...openWebGpu];
}

export class GpuBackend implements Backend {
  /** 'webgpu' in gpu.js's webgpu mode; 'webgl' in its GL modes (and in its 'cpu' mode, which runs the GL path's kernels as JavaScript). */
  readonly name: 'webgpu' | 'webgl';
  readonly mode: GpuMode;
  /** The GL version and renderer, or the WebGPU adapter, the kernels run on. */
  readonly renderer: string;
  /** The most values one texture or buffer holds; a bigger tensor is kept in pages of this size. */
  readonly pageSize: number;
  private readonly queue: LaunchQueue;
  private readonly storages: Storages;
  private readonly launcher: Launcher;

  private constructor(private readonly gpu: OpenGpu, maxValues: number, instrument: GpuBackendOptions['instrument']) {
    this.name = gpu.mode === 'webgpu' ? 'webgpu' : 'webgl';
    this.mode = gpu.mode;
    this.renderer = gpu.renderer;
    this.pageSize = Math.min(MAX_INDEXABLE, maxValues);
    this.queue = new LaunchQueue(!gpu.async, () => gpu.submit());
    this.storages = new Storages(this, this.queue);
    this.launcher = new Launcher(gpu, this.storages, this.queue, this.pageSize, instrument);
    if (gpu.async) openWebGpu.add(this);
  }

  /**
   * Opens gpu.js in the requested mode (or the best WebGL mode) and checks that it runs there.
   * Throws with the reason when no such mode works: never a silent fallback.
   */
  static async create({ mode, maxTextureSize, instrument }: GpuBackendOptions = {}): Promise<GpuBackend> {
    const inNode = typeof process !== 'undefined' && !!process.versions?.node;
    const modes: GpuMode[] = mode ? [mode] : inNode ? ['headlessgl'] : ['webgl2', 'webgl'];
    const failures: string[] = [];
    for (const m of modes) {
      try {
        const gpu = await openGpu(m);
        return new GpuBackend(gpu, Math.min((maxTextureSize ?? Infinity) ** 2, gpu.maxValues), instrument);
      } catch (e) {
        failures.push((e as Error).message);
      }
    }
    throw new Error(failures.join('; '));
  }

  /** gpu.js's WebGL context, or `{ adapter, device }` on WebGPU (null in 'cpu' mode): to count what the GPU is asked for. */
  get context(): unknown {
    return this.gpu.context;
  }

  /** Whether values are read asynchronously only (WebGPU): `read` then throws, `readAsync` works. */
  get async(): boolean {
    return this.gpu.async;
  }

  /** Resolves when everything enqueued so far has run (WebGPU); rejects with the launch that failed. */
  flush(): Promise<void> {
    return this.queue.flush();
  }

  /** Live textures, their bytes (float32 values × 4), and how many live tensors are held in several textures (pages). */
  memory(): { textures: number; bytes: number; paged: number } {
    return this.storages.memory();
  }

  /**
   * Freed textures (GL) or buffers (WebGPU) kept for reuse by later kernels instead of being
   * deleted (see free-list.ts), and their bytes on the GPU. A training loop's pool stops growing
   * after its first steps; it is deleted with the backend (on WebGPU, with the last backend on the device).
   */
  pooled(): { textures: number; bytes: number } {
    return this.gpu.idle();
  }

  /**
   * The kernels made so far and how many of them are compiled: a kernel compiles at its first
   * launch, which on WebGPU runs later, in order. A page shows it while the first steps compile.
   */
  kernelCount(): { made: number; compiled: number } {
    return this.launcher.kernelCount();
  }

  /** How many batches of launches went to the GPU so far (WebGPU submits them together: webgpu-batch.ts; 0 on GL). */
  submitCount(): number {
    return this.gpu.submits();
  }

  /**
   * Deletes the compiled kernels and the GL context (on WebGPU, once the enqueued work has run;
   * the last WebGPU backend closed destroys the device, which lets a Node process exit). The
   * backend cannot be used afterwards.
   */
  async dispose(): Promise<void> {
    await this.queue.flush().catch(() => undefined); // a failure was reported to its op already
    this.launcher.clear();
    openWebGpu.delete(this);
    await this.gpu.destroy();
  }

  /** Deletes a storage's textures now (instead of waiting for the collector); `by` names who, for a later use's error. */
  release(s: Storage, by = 'tidy'): void {
    this.storages.release(s, by);
  }

  // The Backend interface: each method is its launcher's (launchers/, one file per op family).

  zeros(size: number): Storage {
    return copy.zeros(this.launcher, size);
  }

  fromArray(data: Float32Array): Storage {
    return copy.fromArray(this.launcher, data);
  }

  read(x: View): Float32Array {
    return copy.read(this.launcher, x);
  }

  readAsync(x: View): Promise<Float32Array> {
    return copy.readAsync(this.launcher, x);
  }

  assign(dst: View, src: View): void {
    copy.assign(this.launcher, dst, src);
  }

  concat(parts: View[], axis: number): Storage {
    return copy.concat(this.launcher, parts, axis);
  }

  move(dst: Storage, src: Storage): void {
    copy.move(this.launcher, dst, src);
  }

  unary(op: UnaryOp, x: View): Storage {
    return elementwise.unary(this.launcher, op, x);
  }

  binary(op: BinaryOp, a: View, b: View): Storage {
    return elementwise.binary(this.launcher, op, a, b);
  }

  binaryScalar(op: BinaryOp, a: View, s: number): Storage {
    return elementwise.binaryScalar(this.launcher, op, a, s);
  }

  reduce(op: ReduceOp, x: View, axes: readonly number[]): Storage {
    return reduce.reduce(this.launcher, op, x, axes);
  }

  matmul(a: View, b: View): Storage {
    return matmul.matmul(this.launcher, a, b);
  }

  conv2d(x: View, w: View, bias: View | null, g: Conv2dGeometry): Storage {
    return conv.conv2d(this.launcher, x, w, bias, g);
  }

  conv2dAdd(x: View, w: View, bias: View | null, add: View, g: Conv2dGeometry): Storage {
    return conv.conv2d(this.launcher, x, w, bias, g, add);
  }

  conv2dProject(x: View, w: View, bias: View | null, project: Projection, g: Conv2dGeometry): Storage {
    return conv.conv2d(this.launcher, x, w, bias, g, null, project);
  }

  matmulEpilogue(a: View, b: View, alpha: number, bias: View | null, silu = false): Storage {
    return matmul.matmul(this.launcher, a, b, alpha, bias, silu);
  }

  conv2dBackwardInput(dy: View, w: View, xShape: readonly number[], g: Conv2dGeometry): Storage {
    return conv.conv2dBackwardInput(this.launcher, dy, w, xShape, g);
  }

  conv2dBackwardWeight(x: View, dy: View, wShape: readonly number[], g: Conv2dGeometry, biasCopies: number): Storage {
    return conv.conv2dBackwardWeight(this.launcher, x, dy, wShape, g, biasCopies);
  }

  // The fused kernels (see backend.ts): softmax, GroupNorm with SiLU, the optimizers' buckets.

  softmax(x: View): Storage {
    return softmax.softmax(this.launcher, x);
  }

  softmaxGrad(y: View, g: View): Storage {
    return softmax.softmaxGrad(this.launcher, y, g);
  }

  groupNorm(x: View, gamma: View | null, beta: View | null, groups: number, eps: number, silu: boolean): { y: Storage; stats: Storage } {
    return norm.groupNorm(this.launcher, x, gamma, beta, groups, eps, silu);
  }

  groupNormBackward(dy: View, x: View, gamma: View | null, beta: View | null, stats: Storage, groups: number, silu: boolean): { dx: Storage; daffine: Storage } {
    return norm.groupNormBackward(this.launcher, dy, x, gamma, beta, stats, groups, silu);
  }

  /** A bucket's state is read whole by one kernel: at most one page. */
  get maxFused(): number {
    return this.pageSize;
  }

  adamStep(state: Storage, grads: View[], h: AdamHyper, gradScale: Storage | null): Storage {
    return optim.adamStep(this.launcher, state, grads, h, gradScale);
  }

  sumSquares(xs: View[], into: Storage | null): Storage {
    return optim.sumSquares(this.launcher, xs, into);
  }

  blend(state: Storage, xs: View[], a: number, b: number): Storage {
    return optim.blend(this.launcher, state, xs, a, b);
  }
}
