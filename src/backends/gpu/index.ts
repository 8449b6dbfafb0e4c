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
// Big tensors. gpu.js lays an output of n values out in a near-square texture, so one texture
// holds at most MAX_TEXTURE_SIZE² values, and a shader's float32 indices are exact only up to
// 2²⁴: `pageSize` is the smaller of the two. A bigger tensor's storage is a list of pages, and
// an op on it runs slice by slice, each slice's inputs read through windows of at most one page
// (paging.ts says how). Kernels never see a page boundary.

import { contiguousStrides, isContiguous, sizeOf } from '../../util/shape.js';
import { BUCKET_SIZE, convOutputSize, type AdamHyper, type Backend, type BinaryOp, type Conv2dGeometry, type ReduceOp, type Storage, type UnaryOp, type View } from '../backend.js';
import { assign as assignKernel, fill, gather, join } from '../../../kernels/copy.js';
import { conv2d as conv2dKernel, conv2dBackwardInput as conv2dBackwardInputKernel, conv2dBackwardWeight as conv2dBackwardWeightKernel } from '../../../kernels/conv.js';
import { applyBinary, applyUnary, binary as binaryKernel, binaryScalar as binaryScalarKernel, BINARY_OPS, sigmoidOf, siluGradOf, unary as unaryKernel, UNARY_OPS } from '../../../kernels/elementwise.js';
import { matmul as matmulKernel } from '../../../kernels/matmul.js';
import { adamMoments as adamMomentsKernel, adamParam as adamParamKernel, blend as blendKernel, sumSquares as sumSquaresKernel } from '../../../kernels/optim.js';
import { affine, channelOf, gradA, groupNorm as groupNormKernel, groupNormChannelSums, groupNormDx, groupStats, statOf } from '../../../kernels/norm.js';
import { reduce as reduceKernel, REDUCE_OPS } from '../../../kernels/reduce.js';
import { softmax as softmaxKernel, softmaxGrad as softmaxGradKernel } from '../../../kernels/softmax.js';
import { floorDiv, MAX_RANK, viewOffset } from '../../../kernels/view.js';
import { freedMessage as freedOn, track } from '../scope.js';
import { openGpu, type CompiledKernel, type GpuMode, type KernelValue, type OpenGpu } from './gpujs.js';
import { itemsWithin, leadingAxis, readRange, slice, span } from './paging.js';

export type { GpuMode } from './gpujs.js';

/** The helper functions kernels may call (gpu.js compiles those a kernel uses into its shader). */
const HELPERS = [floorDiv, viewOffset, sigmoidOf, siluGradOf, applyUnary, applyBinary, channelOf, statOf, affine, gradA] as unknown as Array<(...args: never[]) => number>;

/**
 * About the most products one thread of a reduction kernel adds one after another: longer sums
 * are cut into partial sums that run in parallel, then added (a GPU has thousands of threads, and
 * a layer's weight gradient only F·C·kh·kw outputs).
 */
const MAX_SERIAL = 2048;

/** Float32 holds whole numbers exactly up to 2²⁴: the largest index a shader computes. */
const MAX_INDEXABLE = 2 ** 24;

/**
 * The texture or buffer (or, in 'cpu' mode, the array) behind a page; `assign` swaps in a new
 * one. On WebGPU `value` is null until the launch that writes it has run (see `inOrder`).
 */
interface Cell {
  value: KernelValue | null;
  /** Set when the texture was freed: by whom ('tidy' for a scope's end, or e.g. 'dispose()'); using the storage then is an error. */
  released?: string;
}

/** Storage values [start, start + size) in one texture. */
interface Page {
  readonly start: number;
  readonly size: number;
  readonly cell: Cell;
}

/**
 * A kernel argument: the cell that will hold its values when the kernel runs, with their count
 * (a compiled shader has its inputs' sizes built in), or a number.
 */
type Arg = { cell: Cell; size: number } | number;

/** A cell's values as a launch reads them: written by every launch enqueued before. */
function valueOf(cell: Cell): KernelValue {
  if (cell.value === null) throw new Error('gpu backend: a launch read a buffer before the launch that writes it ran (a bug in the launch order)');
  return cell.value;
}

/** A tensor's values: one page, or several for a tensor bigger than a texture. */
export class GpuStorage implements Storage {
  /**
   * False for a window onto another storage's page, and for a storage whose pages were handed
   * on to a bigger one: releasing it then frees nothing.
   */
  owns = true;
  constructor(readonly backend: GpuBackend, readonly size: number, readonly pages: readonly Page[]) {}
}

/** The one texture behind a storage a kernel reads (the backend hands kernels windows, never paged storages). */
function cellOf(s: Storage): Cell {
  if (!(s instanceof GpuStorage)) throw new Error(`gpu backend: got a storage of backend '${s.backend.name}'`);
  if (s.pages.length !== 1) throw new Error(`gpu backend: a storage of ${s.pages.length} pages reached a kernel (a bug: it should have been read through windows)`);
  const cell = s.pages[0]!.cell;
  if (cell.released) throw new Error(freedMessage(cell.released));
  return cell;
}

const freedMessage = (by: string) => freedOn('gpu', by);

/** Slices' values, end to end. */
function joinParts(parts: Float32Array[], size: number): Float32Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Float32Array(size);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** How an op's output is put together from its slices' outputs. */
type Output =
  /** The slices' outputs side by side: `item` values per item of the sliced axis. */
  | { item: number }
  /** Every slice gives the whole output (e.g. a sum over the sliced axis); `combine` folds them. */
  | { size: number; combine: BinaryOp };

/** An op, described for slicing: inputs cut along an axis with the output, inputs read whole. */
interface Slicing {
  /** The op's name, for errors. */
  name: string;
  /** The length of the sliced axis. */
  items: number;
  outputs: Output[];
  sliced: Array<{ view: View; axis: number }>;
  whole: Array<View | null>;
  /**
   * For ops whose every output is one run per item (elementwise, read): the op on one item's
   * views, sliced along their next axis, for when even one item is bigger than a texture.
   */
  refine?: (sliced: View[]) => Slicing;
}

/** An op whose output has the views' shape, sliced along its leading axis (and, item by item, further). */
function alongLeadingAxis(name: string, views: View[]): Slicing {
  const shape = views[0]!.shape, axis = leadingAxis(shape), items = shape[axis] ?? 1;
  return {
    name, items, outputs: [{ item: sizeOf(shape) / Math.max(items, 1) }], sliced: views.map((view) => ({ view, axis })), whole: [],
    refine: items > 1 ? (one) => alongLeadingAxis(name, one) : undefined,
  };
}

function deleteTexture(value: KernelValue | null): void {
  if (value && !(value instanceof Float32Array)) value.delete();
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

/** The page that holds everything a view reads, or null when it straddles pages. */
function pageHolding(pages: readonly Page[], v: View): Page | null {
  const { lo, hi } = readRange(v);
  if (lo === hi) return pages[0]!;
  return pages.find((p) => p.start <= lo && hi <= p.start + p.size) ?? null;
}

/**
 * The constants that place a bucket's parameters in its state (kernels/optim.ts): parameter j's
 * block starts at startⱼ and holds `per` values for each of its nⱼ; unused slots start at the end.
 */
function bucketSlots(inputs: Storage[], per: number, total: number): Record<string, number> {
  if (inputs.length < 1 || inputs.length > BUCKET_SIZE) throw new Error(`gpu backend: a bucket of ${inputs.length} parameters (1 to ${BUCKET_SIZE})`);
  const constants: Record<string, number> = {};
  let start = 0;
  for (let j = 0; j < BUCKET_SIZE; j++) {
    const n = inputs[j]?.size;
    constants[`start${j}`] = n === undefined ? total : start;
    constants[`n${j}`] = n ?? 1;
    start += per * (n ?? 0);
  }
  if (start !== total) throw new Error(`gpu backend: a bucket's state holds ${total} values, its parameters need ${start}`);
  return constants;
}

/** A view that is its whole storage, in order: kernels can read the storage as it is. */
const isWhole = (v: View) => v.offset === 0 && v.storage.size === sizeOf(v.shape) && isContiguous(v.shape, v.strides);

export interface GpuBackendOptions {
  /** The gpu.js mode; by default the best WebGL mode here: headless-gl in Node, WebGL2 then WebGL in a page. */
  mode?: GpuMode;
  /** The largest texture side to use (default: the context's MAX_TEXTURE_SIZE); smaller values are for tests. */
  maxTextureSize?: number;
  /** Wraps every compiled gpu.js kernel as it is made, with its name (tests and the bench count launches this way). */
  instrument?: (kernel: CompiledKernel, name: string) => CompiledKernel;
}

/**
 * The WebGPU backends open now, and how many opens and reads are waiting on the device. Dawn
 * (WebGPU in Node) keeps a process alive while its device lives, so the Node entry closes these
 * when a program's work ends and nothing waits (see src/node/webgpu.ts).
 */
const webGpuInUse = { open: new Set<GpuBackend>(), waiting: 0 };

/** Whether a WebGPU backend is open, and whether anything still waits on the device (an open, a launch, a read). */
export function webGpuActivity(): { open: readonly GpuBackend[]; waiting: boolean } {
  return { open: [...webGpuInUse.open], waiting: webGpuInUse.waiting > 0 || [...webGpuInUse.open].some((b) => b.draining !== null) };
}

/** Counts `work` as waiting on the WebGPU device until it settles. */
async function awaitingDevice<T>(work: Promise<T>): Promise<T> {
  webGpuInUse.waiting++;
  try {
    return await work;
  } finally {
    webGpuInUse.waiting--;
  }
}

export class GpuBackend implements Backend {
  /** 'webgpu' in gpu.js's webgpu mode; 'webgl' in its GL modes (and in its 'cpu' mode, which runs the GL path's kernels as JavaScript). */
  readonly name: 'webgpu' | 'webgl';
  readonly mode: GpuMode;
  /** The GL version and renderer, or the WebGPU adapter, the kernels run on. */
  readonly renderer: string;
  /** The most values one texture or buffer holds; a bigger tensor is kept in pages of this size. */
  readonly pageSize: number;
  private readonly kernels = new Map<string, CompiledKernel>();
  /** Kernels whose first launch has run (compiled: on WebGPU asynchronously, after they were made). */
  private compiledKernels = 0;
  private live = { textures: 0, bytes: 0, paged: 0 };
  private readonly registry = new FinalizationRegistry<readonly Page[]>((pages) => this.forget(pages));
  /** WebGPU: the work enqueued and not yet run, in program order (see inOrder). */
  private readonly queue: Array<() => unknown> = [];
  /** @internal The queue's run, while it runs (webGpuActivity reads it). */
  draining: Promise<void> | null = null;
  /** WebGPU: the first launch that failed; every later op reports it. */
  private failure: Error | null = null;

  private constructor(private readonly gpu: OpenGpu, maxValues: number, private readonly instrument: GpuBackendOptions['instrument'] = undefined) {
    this.name = gpu.mode === 'webgpu' ? 'webgpu' : 'webgl';
    this.mode = gpu.mode;
    this.renderer = gpu.renderer;
    this.pageSize = Math.min(MAX_INDEXABLE, maxValues);
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
        const gpu = await (m === 'webgpu' ? awaitingDevice(openGpu(m)) : openGpu(m));
        const backend = new GpuBackend(gpu, Math.min((maxTextureSize ?? Infinity) ** 2, gpu.maxValues), instrument);
        if (gpu.async) webGpuInUse.open.add(backend);
        return backend;
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

  /**
   * Runs `work` in program order. A GL kernel runs when it is called, so on GL `work` runs now.
   * A WebGPU kernel's first run waits for its asynchronous build, so on WebGPU ops enqueue their
   * launches here and return at once (as CUDA streams do: ops enqueue, reads wait); the queue
   * runs each piece of work after the ones before it, and so do the swaps of `assign` and the
   * deletes of `release`, which never overtake a launch that reads what they change.
   */
  private inOrder(work: () => unknown): void {
    if (!this.gpu.async) {
      work();
      return;
    }
    if (this.failure) throw this.failure;
    this.queue.push(work);
    this.draining ??= this.drain();
  }

  private async drain(): Promise<void> {
    try {
      for (let i = 0; i < this.queue.length; i++) await this.queue[i]!();
    } catch (e) {
      this.failure = new Error(`gpu backend (webgpu): a launch failed, so this backend stops here: ${(e as Error).message}`);
    } finally {
      this.queue.length = 0;
      this.draining = null;
    }
  }

  /** Resolves when everything enqueued so far has run (WebGPU); rejects with the launch that failed. */
  async flush(): Promise<void> {
    while (this.draining) await this.draining;
    if (this.failure) throw this.failure;
  }

  /**
   * The kernels made so far and how many of them are compiled: a kernel compiles at its first
   * launch, which on WebGPU runs later, in order. A page shows it while the first steps compile.
   */
  kernelCount(): { made: number; compiled: number } {
    return { made: this.kernels.size, compiled: this.compiledKernels };
  }

  /** Live textures, their bytes (float32 values × 4), and how many live tensors are held in several textures (pages). */
  memory(): { textures: number; bytes: number; paged: number } {
    return { ...this.live };
  }

  /**
   * Freed textures (GL) or buffers (WebGPU) kept for reuse by later kernels instead of being
   * deleted (see pool.ts), and their bytes on the GPU. A training loop's pool stops growing after
   * its first steps; it is deleted with the backend (on WebGPU, with the last backend on the device).
   */
  pooled(): { textures: number; bytes: number } {
    return this.gpu.idle();
  }

  /**
   * Deletes the compiled kernels and the GL context (on WebGPU, once the enqueued work has run;
   * the last WebGPU backend closed destroys the device, which lets a Node process exit). The
   * backend cannot be used afterwards.
   */
  async dispose(): Promise<void> {
    await this.flush().catch(() => undefined);
    this.kernels.clear();
    webGpuInUse.open.delete(this);
    await this.gpu.destroy();
  }

  private forget(pages: readonly Page[], by = 'collected'): void {
    if (pages.length > 1) this.live.paged--;
    for (const { cell, size } of pages) {
      cell.released = by;
      // After every launch enqueued before that reads it (a backend stopped by a failed launch runs nothing more: delete now).
      if (this.failure) deleteTexture(cell.value);
      else this.inOrder(() => deleteTexture(cell.value));
      this.live.textures--;
      this.live.bytes -= 4 * size;
    }
  }

  /** Watches a storage so its textures are deleted when it is unreachable, and puts it in the open tidy() scope. */
  private own(storage: GpuStorage): GpuStorage {
    this.registry.register(storage, storage.pages, storage);
    track(storage);
    return storage;
  }

  /** A storage for a kernel's output (null until its launch has run, on WebGPU). */
  private wrap(value: KernelValue | null, size: number): GpuStorage {
    this.live.textures++;
    this.live.bytes += 4 * size;
    return this.own(new GpuStorage(this, size, [{ start: 0, size, cell: { value } }]));
  }

  /** Deletes a storage's textures now (instead of waiting for the collector); `by` names who, for a later use's error. */
  release(s: Storage, by = 'tidy'): void {
    const storage = s as GpuStorage;
    if (!storage.owns || storage.pages.every((p) => p.cell.released)) return;
    this.registry.unregister(storage);
    this.forget(storage.pages, by);
  }

  /** One storage made of the parts' pages, in order; the parts no longer own them. */
  private stitch(parts: Storage[]): GpuStorage {
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
    return this.own(new GpuStorage(this, at, pages));
  }

  /** Folds the slices' whole outputs with `op` (e.g. partial sums into the sum). */
  private combine(op: BinaryOp, parts: Storage[]): Storage {
    const flat = (s: Storage): View => ({ storage: s, shape: [s.size], strides: [1], offset: 0 });
    return parts.reduce((acc, part) => {
      const next = this.binary(op, flat(acc), flat(part));
      this.done(acc as GpuStorage, part as GpuStorage);
      return next;
    });
  }

  /** A page as a storage of its own that reads the same texture and frees nothing. */
  private borrow(page: Page): GpuStorage {
    const storage = new GpuStorage(this, page.size, [{ start: 0, size: page.size, cell: page.cell }]);
    storage.owns = false;
    return storage;
  }

  /**
   * The view, read from one texture: as it is when its storage is one page; else the page that
   * holds what it reads, or a joined copy of the pages it straddles (pushed on `temps`).
   */
  private window(v: View, temps: GpuStorage[]): View {
    const { pages } = v.storage as GpuStorage;
    if (pages.length === 1) return v;
    const { lo, hi } = readRange(v);
    const inside = pages.filter((p) => p.start < hi && p.start + p.size > lo);
    if (inside.length <= 1) {
      const page = inside[0] ?? pages[0]!;
      return { ...v, storage: this.borrow(page), offset: v.offset - page.start };
    }
    // Each join appends the next page's share to what is joined so far.
    const first = inside[0]!;
    let joined: Arg = this.arg(this.borrow(first));
    let from = lo - first.start, length = first.start + first.size - lo;
    let temp: GpuStorage | null = null;
    for (const page of inside.slice(1)) {
      const take = Math.min(page.size, hi - page.start);
      const next = this.run('join', join, length + take, { aRow: length, bRow: take, aOffset: from }, joined, this.arg(this.borrow(page)));
      this.done(temp);
      temp = next;
      joined = this.arg(next);
      from = 0;
      length += take;
    }
    temps.push(temp!);
    return { ...v, storage: temp!, offset: v.offset - lo };
  }

  /**
   * Runs `body` on the op's views when its outputs and everything it reads fit one texture each
   * (through windows); otherwise on slices of the sliced axis, as many items at a time as fit.
   * Returns each slice's result, in order.
   */
  private slices<T>(op: Slicing, body: (sliced: View[], whole: Array<View | null>) => T): T[] {
    const limit = this.pageSize;
    const fits = (v: View | null) => !v || span(v) <= limit;
    const outputSize = (o: Output) => ('item' in o ? o.item * op.items : o.size);
    if (op.outputs.every((o) => outputSize(o) <= limit) && op.sliced.every((s) => fits(s.view)) && op.whole.every(fits)) {
      const temps: GpuStorage[] = [];
      try {
        return [body(op.sliced.map((s) => this.window(s.view, temps)), op.whole.map((v) => v && this.window(v, temps)))];
      } finally {
        this.done(...temps);
      }
    }
    let per = Infinity;
    for (const o of op.outputs) per = Math.min(per, 'item' in o ? Math.floor(limit / o.item) : o.size <= limit ? Infinity : 0);
    for (const s of op.sliced) per = Math.min(per, itemsWithin(s.view, s.axis, limit));
    const out: T[] = [];
    if (per < 1 && op.refine) {
      for (let from = 0; from < op.items; from++) out.push(...this.slices(op.refine(op.sliced.map((s) => slice(s.view, s.axis, from, 1))), body));
      return out;
    }
    if (per < 1 || !op.whole.every(fits)) {
      throw new Error(`gpu backend: ${op.name} cannot be cut into pieces that fit a texture of ${limit.toLocaleString('en-US')} values: one item of its inputs [${op.sliced.map((s) => s.view.shape.join(',')).join('], [')}] along the sliced axis, or an input read whole, or its output is bigger than that`);
    }
    for (let from = 0; from < op.items; from += per) {
      const count = Math.min(per, op.items - from);
      out.push(...this.slices({ ...op, items: count, sliced: op.sliced.map((s) => ({ view: slice(s.view, s.axis, from, count), axis: s.axis })) }, body));
    }
    return out;
  }

  /** An op that fits runs as it is; a bigger one runs slice by slice, its outputs put together from theirs. */
  private sliced(op: Slicing, body: (sliced: View[], whole: Array<View | null>) => Storage[]): Storage[] {
    const parts = this.slices(op, body);
    return op.outputs.map((o, k) => {
      const outputs = parts.map((p) => p[k]!);
      return 'item' in o ? this.stitch(outputs) : outputs.length === 1 ? outputs[0]! : this.combine(o.combine, outputs);
    });
  }

  /** An elementwise op (output of x's shape, inputs views of that shape). */
  private elementwise(name: string, views: View[], body: (views: View[]) => Storage): Storage {
    return this.sliced(alongLeadingAxis(name, views), (v) => [body(v)])[0]!;
  }

  /**
   * Runs `fn` over an output of `size` values. Compiled once per (name, output size, constants,
   * input sizes): gpu.js builds the input textures' sizes into the shader too.
   */
  private run(name: string, fn: unknown, size: number, constants: Record<string, number>, ...args: Arg[]): GpuStorage {
    if (size === 0) return this.wrap(new Float32Array(0), 0);
    if (size > this.pageSize) {
      throw new Error(`gpu backend: ${name} would write ${size.toLocaleString('en-US')} values, more than one texture holds here (${this.pageSize.toLocaleString('en-US')})`);
    }
    // The cache key, built by plain concatenation: this runs on every launch (JSON.stringify here
    // led the JavaScript time of a step).
    let key = `${name}|${size}|`;
    for (const k in constants) key += `${k}=${constants[k]},`;
    for (const a of args) key += typeof a === 'number' ? '|n' : `|${a.size}`;
    let kernel = this.kernels.get(key);
    const first = !kernel;
    if (!kernel) {
      kernel = this.gpu.createKernel(fn as (...a: never[]) => number, { output: [size], constants, functions: HELPERS });
      if (this.instrument) kernel = this.instrument(kernel, name);
      this.kernels.set(key, kernel);
    }
    const compiled = kernel;
    const launch = () => compiled(...args.map((a) => (typeof a === 'number' ? a : valueOf(a.cell))));
    if (!this.gpu.async) {
      const value = launch() as KernelValue;
      if (first) this.compiledKernels++;
      return this.wrap(value, size);
    }
    const out = this.wrap(null, size);
    const cell = out.pages[0]!.cell;
    this.inOrder(async () => {
      try {
        cell.value = await launch();
      } catch (e) {
        throw new Error(`${name}: ${(e as Error).message}`);
      }
      if (first) this.compiledKernels++;
    });
    return out;
  }

  /** A storage as a kernel argument. */
  private arg(s: Storage): { cell: Cell; size: number } {
    return { cell: cellOf(s), size: s.size };
  }

  /** A view's values laid out contiguously from 0: the storage itself when it already is, otherwise a gathered copy (a temporary). */
  private contiguous(v: View): { cell: Cell; size: number; temp: GpuStorage | null } {
    if (isWhole(v)) return { ...this.arg(v.storage), temp: null };
    const temp = this.gather(v);
    return { ...this.arg(temp), temp };
  }

  private gather(v: View): GpuStorage {
    return this.run('gather', gather, sizeOf(v.shape), { ...outputDims(v.shape), ...viewConstants('x', v) }, this.arg(v.storage));
  }

  /** A temporary filled with one value, as a contiguous input. */
  private filled(size: number, value: number): { cell: Cell; size: number; temp: GpuStorage } {
    const temp = this.run('fill', fill, size, { value });
    return { ...this.arg(temp), temp };
  }

  private done(...temps: Array<GpuStorage | null>): void {
    for (const t of temps) if (t) this.release(t);
  }

  /** A new storage of `size` values, written a page at a time by `page(start, count)`. */
  private paged(size: number, page: (start: number, count: number) => Storage): GpuStorage {
    const parts: Storage[] = [page(0, Math.min(size, this.pageSize))];
    for (let start = this.pageSize; start < size; start += this.pageSize) parts.push(page(start, Math.min(this.pageSize, size - start)));
    return this.stitch(parts);
  }

  /**
   * Joins views along `axis`: one `join` launch per part after the first, each reading the
   * joined-so-far and the next part as rows ([outer, C·inner]). A result bigger than a texture,
   * or a part kept in pages, is written region by region into zeros instead (a fill and one
   * assign per part).
   */
  concat(parts: View[], axis: number): Storage {
    const outer = sizeOf(parts[0]!.shape.slice(0, axis)), inner = sizeOf(parts[0]!.shape.slice(axis + 1));
    const total = parts.reduce((n, p) => n + sizeOf(p.shape), 0);
    if (total > this.pageSize || parts.some((p) => (p.storage as GpuStorage).pages.length > 1)) {
      const shape = parts[0]!.shape.slice();
      shape[axis] = parts.reduce((n, p) => n + p.shape[axis]!, 0);
      const out = this.zeros(total), strides = contiguousStrides(shape);
      let at = 0;
      for (const p of parts) {
        this.assign({ storage: out, shape: p.shape, strides, offset: at * strides[axis]! }, p);
        at += p.shape[axis]!;
      }
      return out;
    }
    let joined: { cell: Cell; size: number; temp: GpuStorage | null } = this.contiguous(parts[0]!);
    let aRow = parts[0]!.shape[axis]! * inner;
    for (const part of parts.slice(1)) {
      const b = this.contiguous(part), bRow = part.shape[axis]! * inner;
      const next = this.run('join', join, outer * (aRow + bRow), { aRow, bRow, aOffset: 0 }, joined, b);
      this.done(joined.temp, b.temp);
      joined = { ...this.arg(next), temp: next };
      aRow += bRow;
    }
    return joined.temp ?? this.gather(parts[0]!);
  }

  softmax(x: View): Storage {
    return this.rows('softmax', softmaxKernel, [x]);
  }

  softmaxGrad(y: View, g: View): Storage {
    return this.rows('softmaxGrad', softmaxGradKernel, [y, g]);
  }

  /**
   * A kernel whose output element reads its whole row (the last axis, L values) of each input:
   * the inputs laid out contiguously as [rows, L], cut into slices of whole rows that fit a texture.
   */
  private rows(name: string, fn: unknown, inputs: View[]): Storage {
    const shape = inputs[0]!.shape, L = shape[shape.length - 1]!, rows = sizeOf(shape) / L;
    const flat = inputs.map((v) => (isWhole(v) ? v.storage : this.unary('copy', v)));
    const asRows = (s: Storage): View => ({ storage: s, shape: [rows, L], strides: [L, 1], offset: 0 });
    const [out] = this.sliced({ name, items: rows, outputs: [{ item: L }], sliced: flat.map((s) => ({ view: asRows(s), axis: 0 })), whole: [] }, (sliced) => {
      const args = sliced.map((v) => this.contiguous(v));
      const result = this.run(name, fn, sizeOf(sliced[0]!.shape), { L }, ...args);
      this.done(...args.map((a) => a.temp));
      return [result];
    });
    this.done(...flat.filter((s, k) => s !== inputs[k]!.storage) as GpuStorage[]);
    return out!;
  }

  zeros(size: number): Storage {
    return this.paged(size, (_, count) => this.run('fill', fill, count, { value: 0 }));
  }

  /** Uploads through the same copy kernel as gather (named apart: its input is an array, not a texture). */
  fromArray(data: Float32Array): Storage {
    return this.paged(data.length, (start, count) => this.run('upload', gather, count, { ...outputDims([count]), ...viewConstants('x', { shape: [count], strides: [1], offset: 0 }) }, { cell: { value: data.slice(start, start + count) }, size: count }));
  }

  /** The values, read back now (GL); on WebGPU reads are asynchronous only: see readAsync. */
  read(x: View): Float32Array {
    if (this.gpu.async) throw new Error('gpu backend (webgpu): values are read back asynchronously on WebGPU: use `await tensor.data()` instead of toFloat32Array() or item()');
    return joinParts(this.slices(alongLeadingAxis('read', [x]), ([v]) => {
      const { cell, temp } = this.contiguous(v!);
      const value = valueOf(cell);
      const values = value instanceof Float32Array ? Float32Array.from(value.subarray(0, sizeOf(v!.shape))) : Float32Array.from(value.toArray() as Float32Array);
      this.done(temp);
      return values;
    }), sizeOf(x.shape));
  }

  /**
   * The values, read back when every launch enqueued before has run. On WebGPU the copy to a
   * mappable buffer is issued in program order (so a later release cannot overtake it) and the
   * mapping is awaited; on GL this is `read`.
   */
  async readAsync(x: View): Promise<Float32Array> {
    if (!this.gpu.async) return this.read(x);
    const pending = this.slices(alongLeadingAxis('read', [x]), ([v]) => {
      const { cell, temp } = this.contiguous(v!);
      const n = sizeOf(v!.shape);
      let copy: Promise<Float32Array | number[]> | null = null;
      this.inOrder(() => {
        copy = (valueOf(cell) as { toArray(): Promise<Float32Array | number[]> }).toArray();
      });
      this.done(temp);
      return async () => {
        await this.flush();
        const values = await copy!;
        return values instanceof Float32Array && values.length === n ? values : Float32Array.from(values).subarray(0, n);
      };
    });
    return joinParts(await awaitingDevice(Promise.all(pending.map((p) => p()))), sizeOf(x.shape));
  }

  /**
   * Copies src into the region dst of its storage. A region inside one page is copied by
   * assignWithin; a region across pages is cut along its leading axis into runs of items that
   * each lie in one page (an item that straddles a page boundary is cut along its next axis).
   */
  assign(dst: View, src: View): void {
    const { pages } = dst.storage as GpuStorage;
    const page = pageHolding(pages, dst);
    if (page && span(src) <= this.pageSize) {
      const temps: GpuStorage[] = [];
      try {
        const region = pages.length === 1 ? dst : { ...dst, storage: this.borrow(page), offset: dst.offset - page.start };
        this.assignWithin(region, this.window(src, temps));
      } finally {
        this.done(...temps);
      }
      return;
    }
    const axis = leadingAxis(dst.shape), n = dst.shape[axis]!;
    const fits = (from: number, count: number) => pageHolding(pages, slice(dst, axis, from, count)) !== null && span(slice(src, axis, from, count)) <= this.pageSize;
    for (let from = 0; from < n; ) {
      let count = 1;
      while (from + count < n && fits(from, count + 1)) count++;
      this.assign(slice(dst, axis, from, count), slice(src, axis, from, count));
      from += count;
    }
  }

  /**
   * Copies src into the region dst of its one-texture storage: a new texture holding the old
   * values outside the region and src's inside it, swapped into the storage. The region's axes
   * are taken largest stride first, which finds each element's place uniquely for any slice of
   * a contiguous layout (checked).
   */
  private assignWithin(dst: View, src: View): void {
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
    // The new texture goes into `target`'s page; `next` takes the old one, and releasing it frees that.
    const into = cellOf(target), old = cellOf(next);
    this.inOrder(() => ([into.value, old.value] = [old.value, into.value]));
    this.release(next);
  }

  /** A bucket's state is read whole by one kernel: at most one page. */
  get maxFused(): number {
    return this.pageSize;
  }

  /** One launch for a bucket's moments (each thread finds its parameter, see kernels/optim.ts). */
  adamMoments(moments: Storage, grads: Storage[], h: AdamHyper): Storage {
    const constants = { beta1: h.beta1, oneMinusBeta1: 1 - h.beta1, beta2: h.beta2, oneMinusBeta2: 1 - h.beta2, ...bucketSlots(grads, 2, moments.size) };
    return this.run('adamMoments', adamMomentsKernel, moments.size, constants, this.arg(moments), ...this.slots(grads));
  }

  /** Partial sums of at most MAX_SERIAL squares a thread, then a reduce of the parts: two launches (one for a small bucket). */
  sumSquares(xs: Storage[]): Storage {
    const total = xs.reduce((n, x) => n + x.size, 0);
    const parts = Math.max(1, Math.ceil(total / MAX_SERIAL)), L = Math.max(1, Math.ceil(total / parts));
    const partial = this.run('sumSquares', sumSquaresKernel, parts, { L, total, ...bucketSlots(xs, 1, total) }, ...this.slots(xs));
    if (parts === 1) return partial;
    const sum = this.reduce('sum', { storage: partial, shape: [parts], strides: [1], offset: 0 }, [0]);
    this.release(partial);
    return sum;
  }

  /** `at` is an argument, not a constant: parameters of one size share a compiled kernel wherever their moments lie. */
  adamParam(p: Storage, moments: Storage, at: number, h: AdamHyper): Storage {
    return this.run('adamParam', adamParamKernel, p.size, { eps: h.eps, n: p.size }, this.arg(p), this.arg(moments), at, h.stepSize, h.bias2Sqrt, h.decay);
  }

  blend(state: Storage, xs: Storage[], a: number, b: number): Storage {
    return this.run('blend', blendKernel, state.size, bucketSlots(xs, 1, state.size), this.arg(state), ...this.slots(xs), a, b);
  }

  /** A bucket's inputs for the kernel's BUCKET_SIZE slots; the unused ones repeat the first (never read). */
  private slots(xs: Storage[]): Arg[] {
    const args: Arg[] = xs.map((x) => this.arg(x));
    while (args.length < BUCKET_SIZE) args.push(args[0]!);
    return args;
  }

  /** dst's pages take src's textures (in program order, as assign's swap), and src, now holding dst's old ones, is released. */
  move(dst: Storage, src: Storage): void {
    const to = dst as GpuStorage, from = src as GpuStorage;
    if (to.size !== from.size) throw new Error(`gpu backend: move of ${from.size} values into a storage of ${to.size}`);
    const sameLayout = to.pages.length === from.pages.length && to.pages.every((p, k) => p.size === from.pages[k]!.size);
    if (!sameLayout) {
      const flat = (s: Storage): View => ({ storage: s, shape: [s.size], strides: [1], offset: 0 });
      this.assign(flat(dst), flat(src));
      this.release(src);
      return;
    }
    to.pages.forEach((page, k) => {
      const into = page.cell, old = from.pages[k]!.cell;
      if (into.released || old.released) throw new Error(freedMessage(into.released ?? old.released!));
      this.inOrder(() => ([into.value, old.value] = [old.value, into.value]));
    });
    this.release(src);
  }

  unary(op: UnaryOp, x: View): Storage {
    return this.elementwise('unary', [x], ([x]) => this.run('unary', unaryKernel, sizeOf(x!.shape), { op: UNARY_OPS.indexOf(op), ...outputDims(x!.shape), ...viewConstants('x', x!) }, this.arg(x!.storage)));
  }

  binary(op: BinaryOp, a: View, b: View): Storage {
    return this.elementwise('binary', [a, b], ([a, b]) => this.run('binary', binaryKernel, sizeOf(a!.shape), { op: BINARY_OPS.indexOf(op), ...outputDims(a!.shape), ...viewConstants('a', a!), ...viewConstants('b', b!) }, this.arg(a!.storage), this.arg(b!.storage)));
  }

  binaryScalar(op: BinaryOp, a: View, s: number): Storage {
    return this.elementwise('binaryScalar', [a], ([a]) => this.run('binaryScalar', binaryScalarKernel, sizeOf(a!.shape), { op: BINARY_OPS.indexOf(op), ...outputDims(a!.shape), ...viewConstants('a', a!) }, this.arg(a!.storage), s));
  }

  /** Sliced along x's leading axis: the slices' outputs side by side when the axis is kept, folded when it is reduced. */
  reduce(op: ReduceOp, x: View, axes: readonly number[]): Storage {
    const axis = leadingAxis(x.shape), items = x.shape[axis] ?? 1;
    const outSize = sizeOf(x.shape.filter((_, k) => !axes.includes(k)));
    const output: Output = axes.includes(axis) ? { size: outSize, combine: op === 'sum' ? 'add' : 'max' } : { item: outSize / Math.max(items, 1) };
    return this.sliced({ name: 'reduce', items, outputs: [output], sliced: [{ view: x, axis }], whole: [] }, ([x]) => [this.reduceWithin(op, x!, axes)])[0]!;
  }

  /**
   * The kept axes become the output; the reduced axes, moved last, must form one run of R
   * values with one stride (as they do in any contiguous layout); otherwise x is gathered in
   * that order first.
   */
  private reduceWithin(op: ReduceOp, x: View, axes: readonly number[]): Storage {
    const kept = x.shape.map((_, k) => k).filter((k) => !axes.includes(k));
    const reduced = [...axes].sort((a, b) => a - b);
    const R = reduced.reduce((n, k) => n * x.shape[k]!, 1);
    // The reduced axes as runs of evenly spaced elements, innermost first: an axis joins the run
    // after it when its stride is that run's whole length (as in a contiguous [N, C, H, W], H
    // joins W, but N cannot join them across C).
    const runs: Array<{ count: number; stride: number }> = [];
    for (const k of [...reduced].reverse()) {
      if (x.shape[k] === 1) continue; // one element: no run
      const run = runs.at(-1);
      if (run && x.strides[k] === run.stride * run.count) run.count *= x.shape[k]!;
      else runs.push({ count: x.shape[k]!, stride: x.strides[k]! });
    }
    const keptShape = kept.map((k) => x.shape[k]!);
    let keptView: View = { storage: x.storage, shape: keptShape, strides: kept.map((k) => x.strides[k]!), offset: x.offset };
    let temp: GpuStorage | null = null;
    if (runs.length > 2) {
      // More than two runs: lay the reduced axes out last, contiguously (one run of R).
      const order = [...kept, ...reduced];
      temp = this.gather({ storage: x.storage, shape: order.map((k) => x.shape[k]!), strides: order.map((k) => x.strides[k]!), offset: x.offset });
      keptView = { storage: temp, shape: keptShape, strides: contiguousStrides(keptShape).map((s) => s * R), offset: 0 };
      runs.splice(0, runs.length, { count: R, stride: 1 });
    }
    const [inner = { count: 1, stride: 0 }, outer = { count: 1, stride: 0 }] = runs;
    const constants = { op: REDUCE_OPS.indexOf(op), R: inner.count, rStride: inner.stride, R2: outer.count, r2Stride: outer.stride };
    const out = this.run('reduce', reduceKernel, sizeOf(keptShape), { ...constants, ...outputDims(keptShape), ...viewConstants('x', keptView) }, this.arg(keptView.storage));
    this.done(temp);
    return out;
  }

  /** Sliced along the batch, or along a's rows when the batch is 1. */
  matmul(a: View, b: View): Storage {
    const [B, M] = a.shape as [number, number];
    const N = b.shape[2]!;
    const op: Slicing = B > 1
      ? { name: 'matmul', items: B, outputs: [{ item: M * N }], sliced: [{ view: a, axis: 0 }, { view: b, axis: 0 }], whole: [] }
      : { name: 'matmul', items: M, outputs: [{ item: N }], sliced: [{ view: a, axis: 1 }], whole: [b] };
    return this.sliced(op, (sliced, whole) => [this.matmulWithin(sliced[0]!, sliced[1] ?? whole[0]!)])[0]!;
  }

  private matmulWithin(a: View, b: View): Storage {
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

  // The convolutions and the norms are sliced along the batch (images are independent); the
  // weight gradients sum over it, so their slices' outputs are added.

  conv2d(x: View, w: View, bias: View | null, g: Conv2dGeometry): Storage {
    const c = this.convConstants(x.shape, w.shape, g);
    return this.sliced({ name: 'conv2d', items: c.N!, outputs: [{ item: c.F! * c.Ho! * c.Wo! }], sliced: [{ view: x, axis: 0 }], whole: [w, bias] }, ([x], [w, bias]) => [this.conv2dWithin(x!, w!, bias!, g)])[0]!;
  }

  private conv2dWithin(x: View, w: View, bias: View | null, g: Conv2dGeometry): Storage {
    const c = this.convConstants(x.shape, w.shape, g);
    const xs = this.contiguous(x), ws = this.contiguous(w);
    const bs = bias ? this.contiguous(bias) : this.filled(1, 0);
    const out = this.run('conv2d', conv2dKernel, c.N! * c.F! * c.Ho! * c.Wo!, { ...c, hasBias: bias ? 1 : 0 }, xs, ws, bs);
    this.done(xs.temp, ws.temp, bs.temp);
    return out;
  }

  conv2dBackwardInput(dy: View, w: View, xShape: readonly number[], g: Conv2dGeometry): Storage {
    const [N, ...image] = xShape;
    return this.sliced({ name: 'conv2dBackwardInput', items: N!, outputs: [{ item: sizeOf(image) }], sliced: [{ view: dy, axis: 0 }], whole: [w] }, ([dy], [w]) => [this.conv2dBackwardInputWithin(dy!, w!, [dy!.shape[0]!, ...image], g)])[0]!;
  }

  private conv2dBackwardInputWithin(dy: View, w: View, xShape: readonly number[], g: Conv2dGeometry): Storage {
    const c = this.convConstants(xShape, w.shape, g);
    const dys = this.contiguous(dy), ws = this.contiguous(w);
    const out = this.run('conv2dBackwardInput', conv2dBackwardInputKernel, sizeOf(xShape), c, dys, ws);
    this.done(dys.temp, ws.temp);
    return out;
  }

  conv2dBackwardWeight(x: View, dy: View, wShape: readonly number[], g: Conv2dGeometry): Storage {
    return this.sliced({ name: 'conv2dBackwardWeight', items: x.shape[0]!, outputs: [{ size: sizeOf(wShape), combine: 'add' }], sliced: [{ view: x, axis: 0 }, { view: dy, axis: 0 }], whole: [] }, ([x, dy]) => [this.conv2dBackwardWeightWithin(x!, dy!, wShape, g)])[0]!;
  }

  /**
   * Partial sums over parts of R output rows (n, oy), about MAX_SERIAL products a thread, then
   * their sum; fewer, longer parts where that many partial sums would not fit one texture.
   */
  private conv2dBackwardWeightWithin(x: View, dy: View, wShape: readonly number[], g: Conv2dGeometry): Storage {
    const c = this.convConstants(x.shape, wShape, g);
    const size = sizeOf(wShape), rows = c.N! * c.Ho!;
    const maxParts = Math.max(1, Math.floor(this.pageSize / size));
    const R = Math.min(rows, Math.max(1, Math.floor(MAX_SERIAL / c.Wo!), Math.ceil(rows / maxParts))), parts = Math.ceil(rows / R);
    const xs = this.contiguous(x), dys = this.contiguous(dy);
    const partial = this.run('conv2dBackwardWeight', conv2dBackwardWeightKernel, parts * size, { ...c, R }, xs, dys);
    this.done(xs.temp, dys.temp);
    if (parts === 1) return partial;
    const out = this.reduceWithin('sum', { storage: partial, shape: [parts, size], strides: [size, 1], offset: 0 }, [0]);
    this.done(partial);
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

  groupNorm(x: View, gamma: View | null, beta: View | null, groups: number, eps: number, silu: boolean): { y: Storage; stats: Storage } {
    const [y, stats] = this.sliced({
      name: 'groupNorm', items: x.shape[0]!, outputs: [{ item: sizeOf(x.shape.slice(1)) }, { item: 2 * groups }], sliced: [{ view: x, axis: 0 }], whole: [gamma, beta],
    }, ([x], [gamma, beta]) => {
      const { y, stats } = this.groupNormWithin(x!, gamma!, beta!, groups, eps, silu);
      return [y, stats];
    });
    return { y: y!, stats: stats! };
  }

  private groupNormWithin(x: View, gamma: View | null, beta: View | null, groups: number, eps: number, silu: boolean): { y: Storage; stats: Storage } {
    const { sizes, xs, gs, bs } = this.normInputs(x, gamma, beta, groups);
    const stats = this.run('groupStats', groupStats, 2 * sizes.N * groups, { ...sizes, eps }, xs);
    const y = this.run('groupNorm', groupNormKernel, sizes.N * sizes.C * sizes.S, { ...sizes, silu: silu ? 1 : 0 }, xs, this.arg(stats), gs, bs);
    this.done(xs.temp, gs.temp, bs.temp);
    return { y, stats };
  }

  groupNormBackward(dy: View, x: View, gamma: View | null, beta: View | null, stats: Storage, groups: number, silu: boolean): { dx: Storage; dgamma: Storage; dbeta: Storage } {
    const N = x.shape[0]!, C = x.shape[1]!;
    const statsView: View = { storage: stats, shape: [N, groups, 2], strides: [2 * groups, 2, 1], offset: 0 };
    const [dx, dgamma, dbeta] = this.sliced({
      name: 'groupNormBackward', items: N,
      outputs: [{ item: sizeOf(x.shape.slice(1)) }, { size: C, combine: 'add' }, { size: C, combine: 'add' }],
      sliced: [dy, x, statsView].map((view) => ({ view, axis: 0 })), whole: [gamma, beta],
    }, ([dy, x, stats], [gamma, beta]) => {
      const { dx, dgamma, dbeta } = this.groupNormBackwardWithin(dy!, x!, gamma!, beta!, stats!, groups, silu);
      return [dx, dgamma, dbeta];
    });
    return { dx: dx!, dgamma: dgamma!, dbeta: dbeta! };
  }

  /** stats is an [N, groups, 2] view, read contiguously. */
  private groupNormBackwardWithin(dy: View, x: View, gamma: View | null, beta: View | null, stats: View, groups: number, silu: boolean): { dx: Storage; dgamma: Storage; dbeta: Storage } {
    const { sizes, xs, gs, bs } = this.normInputs(x, gamma, beta, groups);
    const dys = this.contiguous(dy), statsIn = this.contiguous(stats);
    const constants = { ...sizes, silu: silu ? 1 : 0 };
    const inputs: Arg[] = [dys, xs, statsIn, gs, bs];
    const sums = this.run('groupNormChannelSums', groupNormChannelSums, 2 * sizes.N * sizes.C, constants, ...inputs);
    const dx = this.run('groupNormDx', groupNormDx, sizes.N * sizes.C * sizes.S, constants, ...inputs, this.arg(sums));
    // dβ_c = Σ_n sums[n, c, 0], dγ_c = Σ_n sums[n, c, 1]: strided views of the sums, added over the images.
    const overImages = (k: number): View => ({ storage: sums, shape: [sizes.N, sizes.C], strides: [2 * sizes.C, 2], offset: k });
    const dgamma = this.reduceWithin('sum', overImages(1), [0]);
    const dbeta = this.reduceWithin('sum', overImages(0), [0]);
    this.done(dys.temp, xs.temp, statsIn.temp, gs.temp, bs.temp, sums);
    return { dx, dgamma, dbeta };
  }
}
