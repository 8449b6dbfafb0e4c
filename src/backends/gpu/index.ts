// The `gpu` backend: every kernel of the Backend interface as a gpu.js kernel (the functions in
// the top-level kernels/ folder), compiled to a fragment shader by headless-gl in Node or by
// WebGL2/WebGL in a page, or run as JavaScript by gpu.js's 'cpu' mode for tests.
//
// Storage. A tensor's values live in a texture that a kernel wrote (pipeline mode), and stay on
// the GPU from kernel to kernel: `read` is the only download. Outputs are immutable: every call
// returns a new texture, so a tensor saved for the backward pass is never overwritten by the
// next call of the same kernel. `assign` (optimizer updates) writes a whole new texture and
// swaps it into the storage.
//
// Memory. Textures are freed three ways: temporaries a method needs only inside itself at once;
// everything a training or sampling step created when the step's tidy() scope ends (the trainer
// and sampler open one per step, see src/backends/scope.ts); and, as a fallback for tensors made
// outside any scope, when the garbage collector finds their storage unreachable (a
// FinalizationRegistry). Model code never frees anything. `memory()` counts the live textures
// and their bytes; over a training loop it stays flat (tested over 300 steps).
//
// Compilation. gpu.js bakes constants into the shader, so every shape, stride and loop bound is
// a constant and each loop runs to its true bound. Compiled kernels are cached by
// (kernel name, output size, constants): one compile per shape signature, reused on every step.
//
// Limits. gpu.js lays an output of n values out in a near-square texture, so one tensor holds at
// most MAX_TEXTURE_SIZE² values, and at most 2²⁴ (indices are float32 in the shader); a bigger
// one is refused with its size.

import { contiguousStrides, isContiguous, sizeOf } from '../../tensor/shape.js';
import { convOutputSize, type Backend, type BinaryOp, type Conv2dGeometry, type ReduceOp, type Storage, type UnaryOp, type View } from '../backend.js';
import { assign as assignKernel, fill, gather } from '../../../kernels/copy.js';
import { conv2d as conv2dKernel, conv2dBackwardInput as conv2dBackwardInputKernel, conv2dBackwardWeight as conv2dBackwardWeightKernel } from '../../../kernels/conv.js';
import { applyBinary, applyUnary, binary as binaryKernel, binaryScalar as binaryScalarKernel, BINARY_OPS, unary as unaryKernel, UNARY_OPS } from '../../../kernels/elementwise.js';
import { matmul as matmulKernel } from '../../../kernels/matmul.js';
import { affineAt, gradA, groupMean, groupNorm as groupNormKernel, groupNormAffineGrads, groupNormDx, groupNormGroupSums, groupRstd, sigmoidOf } from '../../../kernels/norm.js';
import { reduce as reduceKernel, REDUCE_OPS } from '../../../kernels/reduce.js';
import { floorDiv, MAX_RANK, viewOffset } from '../../../kernels/view.js';
import { track } from '../scope.js';
import { openGpu, type CompiledKernel, type GpuMode, type KernelValue, type OpenGpu } from './gpujs.js';

export type { GpuMode } from './gpujs.js';

/** The helper functions kernels may call (gpu.js compiles those a kernel uses into its shader). */
const HELPERS = [floorDiv, viewOffset, applyUnary, applyBinary, affineAt, sigmoidOf, gradA] as unknown as Array<(...args: never[]) => number>;

/** Float32 holds whole numbers exactly up to 2²⁴: the largest index a shader computes. */
const MAX_INDEXABLE = 2 ** 24;

/** The texture (or, in 'cpu' mode, the array) behind a storage; `assign` swaps in a new one. */
interface Cell {
  value: KernelValue;
  /** Set when the texture was freed (by tidy() or dispose()); using the storage then is an error. */
  released?: boolean;
}

/** A kernel argument: values with their count (a compiled shader has its inputs' sizes built in), or a number. */
type Arg = { value: KernelValue; size: number } | number;

export class GpuStorage implements Storage {
  constructor(readonly backend: GpuBackend, readonly size: number, readonly cell: Cell) {}
}

function cellOf(s: Storage): Cell {
  if (!(s instanceof GpuStorage)) throw new Error(`gpu backend: got a storage of backend '${s.backend.name}'`);
  if (s.cell.released) throw new Error('gpu backend: this tensor was freed at the end of the tidy() scope that created it; return it from the scope (or make it outside) to use it afterwards');
  return s.cell;
}

function deleteTexture(value: KernelValue): void {
  if (!(value instanceof Float32Array)) value.delete();
}

/** A view's shape and strides padded in front to rank 6 (size 1, stride 0). */
function padded(shape: readonly number[], strides: readonly number[]): { shape: number[]; strides: number[] } {
  const pad = MAX_RANK - shape.length;
  if (pad < 0) throw new Error(`gpu backend: views of rank ${shape.length} are not supported (at most ${MAX_RANK})`);
  return { shape: [...Array(pad).fill(1), ...shape], strides: [...Array(pad).fill(0), ...strides] };
}

/** The constants viewOffset reads: the output's sizes n1…n5. */
function outputDims(shape: readonly number[]): Record<string, number> {
  const p = padded(shape, shape.map(() => 0)).shape;
  return { n1: p[1]!, n2: p[2]!, n3: p[3]!, n4: p[4]!, n5: p[5]! };
}

/** A view's offset and strides as constants named after it (xOffset, x0…x5). */
function viewConstants(name: string, v: Pick<View, 'shape' | 'strides' | 'offset'>): Record<string, number> {
  const { strides } = padded(v.shape, v.strides);
  const out: Record<string, number> = { [`${name}Offset`]: v.offset };
  strides.forEach((s, k) => (out[`${name}${k}`] = s));
  return out;
}

/** A view that is its whole storage, in order: kernels can read the storage as it is. */
const isWhole = (v: View) => v.offset === 0 && v.storage.size === sizeOf(v.shape) && isContiguous(v.shape, v.strides);

export interface GpuBackendOptions {
  /** The gpu.js mode; by default the best real GPU mode here: headless-gl in Node, WebGL2 then WebGL in a page. */
  mode?: GpuMode;
  /** The largest texture side to use (default: the context's MAX_TEXTURE_SIZE); smaller values are for tests. */
  maxTextureSize?: number;
}

export class GpuBackend implements Backend {
  readonly name = 'gpu';
  readonly mode: GpuMode;
  /** The GL version and renderer the kernels run on. */
  readonly renderer: string;
  /** The most values one tensor may hold. */
  readonly maxElements: number;
  private readonly kernels = new Map<string, CompiledKernel>();
  private live = { textures: 0, bytes: 0 };
  private readonly registry = new FinalizationRegistry<{ cell: Cell; bytes: number }>(({ cell, bytes }) => this.forget(cell.value, bytes));

  private constructor(private readonly gpu: OpenGpu, maxTextureSize: number) {
    this.mode = gpu.mode;
    this.renderer = gpu.renderer;
    this.maxElements = Math.min(MAX_INDEXABLE, maxTextureSize ** 2);
  }

  /**
   * Opens gpu.js in the requested mode (or the best real GPU mode) and checks that it runs
   * there. Throws with the reason when no such mode works: never a silent fallback.
   */
  static async create({ mode, maxTextureSize }: GpuBackendOptions = {}): Promise<GpuBackend> {
    const inNode = typeof process !== 'undefined' && !!process.versions?.node;
    const modes: GpuMode[] = mode ? [mode] : inNode ? ['headlessgl'] : ['webgl2', 'webgl'];
    const failures: string[] = [];
    for (const m of modes) {
      try {
        const gpu = await openGpu(m);
        return new GpuBackend(gpu, Math.min(maxTextureSize ?? Infinity, gpu.maxTextureSize));
      } catch (e) {
        failures.push((e as Error).message);
      }
    }
    throw new Error(failures.join('; '));
  }

  /** Live textures and their bytes (float32 values × 4). */
  memory(): { textures: number; bytes: number } {
    return { ...this.live };
  }

  /** Deletes the compiled kernels and the GL context. The backend cannot be used afterwards. */
  dispose(): void {
    this.kernels.clear();
    this.gpu.destroy();
  }

  private forget(value: KernelValue, bytes: number): void {
    deleteTexture(value);
    this.live.textures--;
    this.live.bytes -= bytes;
  }

  /** A storage for a kernel's output, watched so its texture is deleted when it is unreachable. */
  private wrap(value: KernelValue, size: number): GpuStorage {
    const storage = new GpuStorage(this, size, { value });
    this.live.textures++;
    this.live.bytes += 4 * size;
    this.registry.register(storage, { cell: storage.cell, bytes: 4 * size }, storage);
    track(storage);
    return storage;
  }

  /** Deletes a storage's texture now (instead of waiting for the collector). */
  release(s: Storage): void {
    const { cell } = s as GpuStorage;
    if (cell.released) return;
    this.registry.unregister(s);
    this.forget(cell.value, 4 * s.size);
    cell.released = true;
  }

  /**
   * Runs `fn` over an output of `size` values. Compiled once per (name, output size, constants,
   * input sizes): gpu.js builds the input textures' sizes into the shader too.
   */
  private run(name: string, fn: unknown, size: number, constants: Record<string, number>, ...args: Arg[]): GpuStorage {
    if (size === 0) return this.wrap(new Float32Array(0), 0);
    if (size > this.maxElements) {
      throw new Error(`gpu backend: ${name} would write ${size.toLocaleString('en-US')} values, more than one tensor may hold here (${this.maxElements.toLocaleString('en-US')})`);
    }
    const key = `${name}|${size}|${JSON.stringify(constants)}|${args.map((a) => (typeof a === 'number' ? 'n' : a.size)).join(',')}`;
    let kernel = this.kernels.get(key);
    if (!kernel) {
      kernel = this.gpu.createKernel(fn as (...a: never[]) => number, { output: [size], constants, functions: HELPERS });
      this.kernels.set(key, kernel);
    }
    return this.wrap(kernel(...args.map((a) => (typeof a === 'number' ? a : a.value))), size);
  }

  /** A storage as a kernel argument. */
  private arg(s: Storage): Arg {
    return { value: cellOf(s).value, size: s.size };
  }

  /** A view's values laid out contiguously from 0: the storage itself when it already is, otherwise a gathered copy (a temporary). */
  private contiguous(v: View): { value: KernelValue; size: number; temp: GpuStorage | null } {
    if (isWhole(v)) return { value: cellOf(v.storage).value, size: v.storage.size, temp: null };
    const temp = this.gather(v);
    return { value: temp.cell.value, size: temp.size, temp };
  }

  private gather(v: View): GpuStorage {
    return this.run('gather', gather, sizeOf(v.shape), { ...outputDims(v.shape), ...viewConstants('x', v) }, this.arg(v.storage));
  }

  /** A temporary filled with one value, as a contiguous input. */
  private filled(size: number, value: number): { value: KernelValue; size: number; temp: GpuStorage } {
    const temp = this.run('fill', fill, size, { value });
    return { value: temp.cell.value, size, temp };
  }

  private done(...temps: Array<GpuStorage | null>): void {
    for (const t of temps) if (t) this.release(t);
  }

  zeros(size: number): Storage {
    return this.run('fill', fill, size, { value: 0 });
  }

  /** Uploads through the same copy kernel as gather (named apart: its input is an array, not a texture). */
  fromArray(data: Float32Array): Storage {
    return this.run('upload', gather, data.length, { ...outputDims([data.length]), ...viewConstants('x', { shape: [data.length], strides: [1], offset: 0 }) }, { value: Float32Array.from(data), size: data.length });
  }

  read(x: View): Float32Array {
    const { value, temp } = this.contiguous(x);
    const out = value instanceof Float32Array ? Float32Array.from(value.subarray(0, sizeOf(x.shape))) : Float32Array.from(value.toArray());
    this.done(temp);
    return out;
  }

  /**
   * Copies src into the region dst of its storage: a new texture holding the old values outside
   * the region and src's inside it, swapped into the storage. The region's axes are taken
   * largest stride first, which finds each element's place uniquely for any slice of a
   * contiguous layout (checked).
   */
  assign(dst: View, src: View): void {
    const target = dst.storage as GpuStorage;
    const axes = dst.shape.map((n, k) => ({ n, t: dst.strides[k]!, u: src.strides[k]! })).filter((a) => a.n > 1).sort((a, b) => b.t - a.t);
    axes.forEach((a, k) => {
      const inner = axes.slice(k + 1).reduce((span, b) => span + (b.n - 1) * b.t, 0);
      if (a.t <= inner) throw new Error(`gpu backend: assign into a view with strides [${dst.strides}] of shape [${dst.shape}] (overlapping axes) is not supported`);
    });
    while (axes.length < MAX_RANK) axes.push({ n: 1, t: 1, u: 0 });
    const constants: Record<string, number> = { dstOffset: dst.offset, srcOffset: src.offset };
    axes.forEach((a, k) => Object.assign(constants, { [`d${k}`]: a.n, [`t${k}`]: a.t, [`u${k}`]: a.u }));
    const next = this.run('assign', assignKernel, target.size, constants, this.arg(target), this.arg(src.storage));
    // The new texture goes into `target`; `next` takes the old one, and releasing it frees that.
    [target.cell.value, next.cell.value] = [next.cell.value, target.cell.value];
    this.release(next);
  }

  unary(op: UnaryOp, x: View): Storage {
    return this.run('unary', unaryKernel, sizeOf(x.shape), { op: UNARY_OPS.indexOf(op), ...outputDims(x.shape), ...viewConstants('x', x) }, this.arg(x.storage));
  }

  binary(op: BinaryOp, a: View, b: View): Storage {
    return this.run('binary', binaryKernel, sizeOf(a.shape), { op: BINARY_OPS.indexOf(op), ...outputDims(a.shape), ...viewConstants('a', a), ...viewConstants('b', b) }, this.arg(a.storage), this.arg(b.storage));
  }

  binaryScalar(op: BinaryOp, a: View, s: number): Storage {
    return this.run('binaryScalar', binaryScalarKernel, sizeOf(a.shape), { op: BINARY_OPS.indexOf(op), ...outputDims(a.shape), ...viewConstants('a', a) }, this.arg(a.storage), s);
  }

  /**
   * The kept axes become the output; the reduced axes, moved last, must form one run of R
   * values with one stride (as they do in any contiguous layout); otherwise x is gathered in
   * that order first.
   */
  reduce(op: ReduceOp, x: View, axes: readonly number[]): Storage {
    const kept = x.shape.map((_, k) => k).filter((k) => !axes.includes(k));
    const reduced = [...axes].sort((a, b) => a - b);
    const R = reduced.reduce((n, k) => n * x.shape[k]!, 1);
    const merged = reduced.every((k, j) => j === reduced.length - 1 || x.strides[k] === x.strides[reduced[j + 1]!]! * x.shape[reduced[j + 1]!]!);
    let view: View = x, temp: GpuStorage | null = null;
    if (!merged) {
      const order = [...kept, ...reduced];
      temp = this.gather({ storage: x.storage, shape: order.map((k) => x.shape[k]!), strides: order.map((k) => x.strides[k]!), offset: x.offset });
      const shape = order.map((k) => x.shape[k]!);
      view = { storage: temp, shape, strides: contiguousStrides(shape), offset: 0 };
    }
    const keptShape = kept.map((k) => x.shape[k]!);
    const keptView: View = merged
      ? { storage: view.storage, shape: keptShape, strides: kept.map((k) => x.strides[k]!), offset: x.offset }
      : { storage: view.storage, shape: keptShape, strides: contiguousStrides(keptShape).map((s) => s * R), offset: 0 };
    const rStride = reduced.length === 0 ? 0 : merged ? x.strides[reduced[reduced.length - 1]!]! : 1;
    const out = this.run('reduce', reduceKernel, sizeOf(keptShape), { op: REDUCE_OPS.indexOf(op), R, rStride, ...outputDims(keptShape), ...viewConstants('x', keptView) }, this.arg(view.storage));
    this.done(temp);
    return out;
  }

  matmul(a: View, b: View): Storage {
    const [B, M, K] = a.shape as [number, number, number];
    const N = b.shape[2]!;
    return this.run('matmul', matmulKernel, B * M * N, {
      M, N, K,
      aOffset: a.offset, aB: a.strides[0]!, aM: a.strides[1]!, aK: a.strides[2]!,
      bOffset: b.offset, bB: b.strides[0]!, bK: b.strides[1]!, bN: b.strides[2]!,
    }, this.arg(a.storage), this.arg(b.storage));
  }

  private convConstants(xShape: readonly number[], wShape: readonly number[], g: Conv2dGeometry): Record<string, number> {
    const [N, C, H, W] = xShape as [number, number, number, number];
    const [F, , kh, kw] = wShape as [number, number, number, number];
    return { N, C, H, W, F, kh, kw, Ho: convOutputSize(H, kh, g), Wo: convOutputSize(W, kw, g), s: g.stride, p: g.padding };
  }

  conv2d(x: View, w: View, bias: View | null, g: Conv2dGeometry): Storage {
    const c = this.convConstants(x.shape, w.shape, g);
    const xs = this.contiguous(x), ws = this.contiguous(w);
    const bs = bias ? this.contiguous(bias) : this.filled(1, 0);
    const out = this.run('conv2d', conv2dKernel, c.N! * c.F! * c.Ho! * c.Wo!, { ...c, hasBias: bias ? 1 : 0 }, xs, ws, bs);
    this.done(xs.temp, ws.temp, bs.temp);
    return out;
  }

  conv2dBackwardInput(dy: View, w: View, xShape: readonly number[], g: Conv2dGeometry): Storage {
    const c = this.convConstants(xShape, w.shape, g);
    const dys = this.contiguous(dy), ws = this.contiguous(w);
    const out = this.run('conv2dBackwardInput', conv2dBackwardInputKernel, sizeOf(xShape), c, dys, ws);
    this.done(dys.temp, ws.temp);
    return out;
  }

  conv2dBackwardWeight(x: View, dy: View, wShape: readonly number[], g: Conv2dGeometry): Storage {
    const c = this.convConstants(x.shape, wShape, g);
    const xs = this.contiguous(x), dys = this.contiguous(dy);
    const out = this.run('conv2dBackwardWeight', conv2dBackwardWeightKernel, sizeOf(wShape), c, xs, dys);
    this.done(xs.temp, dys.temp);
    return out;
  }

  /** The sizes the norm kernels read, and γ, β contiguous (ones and zeros when there is no affine). */
  private normInputs(x: View, gamma: View | null, beta: View | null, groups: number) {
    const N = x.shape[0]!, C = x.shape[1]!, S = sizeOf(x.shape.slice(2)), P = C / groups;
    const sizes = { N, C, S, G: groups, P, M: P * S };
    const gs = gamma ? this.contiguous(gamma) : this.filled(C, 1);
    const bs = beta ? this.contiguous(beta) : this.filled(C, 0);
    return { sizes, xs: this.contiguous(x), gs, bs };
  }

  groupNorm(x: View, gamma: View | null, beta: View | null, groups: number, eps: number, silu: boolean): { y: Storage; mean: Storage; rstd: Storage } {
    const { sizes, xs, gs, bs } = this.normInputs(x, gamma, beta, groups);
    const stats = sizes.N * groups;
    const mean = this.run('groupMean', groupMean, stats, sizes, xs);
    const rstd = this.run('groupRstd', groupRstd, stats, { ...sizes, eps }, xs, this.arg(mean));
    const y = this.run('groupNorm', groupNormKernel, sizes.N * sizes.C * sizes.S, { ...sizes, silu: silu ? 1 : 0 }, xs, this.arg(mean), this.arg(rstd), gs, bs);
    this.done(xs.temp, gs.temp, bs.temp);
    return { y, mean, rstd };
  }

  groupNormBackward(dy: View, x: View, gamma: View | null, beta: View | null, mean: Storage, rstd: Storage, groups: number, silu: boolean): { dx: Storage; dgamma: Storage; dbeta: Storage } {
    const { sizes, xs, gs, bs } = this.normInputs(x, gamma, beta, groups);
    const dys = this.contiguous(dy);
    const constants = { ...sizes, silu: silu ? 1 : 0 };
    const inputs: Arg[] = [dys, xs, this.arg(mean), this.arg(rstd), gs, bs];
    const sums = this.run('groupNormGroupSums', groupNormGroupSums, 2 * sizes.N * groups, constants, ...inputs);
    const dx = this.run('groupNormDx', groupNormDx, sizes.N * sizes.C * sizes.S, constants, ...inputs, this.arg(sums));
    const affineGrads = this.run('groupNormAffineGrads', groupNormAffineGrads, 2 * sizes.C, constants, ...inputs);
    const half = (from: number) => this.gather({ storage: affineGrads, shape: [sizes.C], strides: [1], offset: from });
    const dgamma = half(0), dbeta = half(sizes.C);
    this.done(dys.temp, xs.temp, gs.temp, bs.temp, sums, affineGrads);
    return { dx, dgamma, dbeta };
  }
}
