// Running a kernel: the compiled-kernel cache, and a launch in program order.
//
// gpu.js bakes constants into the shader, so every shape, stride and loop bound is a constant
// and each loop runs to its true bound. Compiled kernels are cached by (kernel name, output
// size, constants, input sizes): one compile per shape signature, reused on every step. A
// kernel compiles at its first launch (on WebGPU asynchronously, in the queue).
//
// The launchers (launchers/, one file per op family) describe their op to `run`: the kernel
// function from kernels/, the output size, the constants (a view's offset and strides become
// constants named after it: viewConstants), and the inputs.

import { isContiguous, sizeOf } from '../../util/shape.js';
import type { Storage, View } from '../backend.js';
import { gather as gatherKernel, fill } from '../../../kernels/copy.js';
import { affine, channelOf, gradA, statOf } from '../../../kernels/norm.js';
import { applyBinary, applyUnary, sigmoidOf, siluGradOf } from '../../../kernels/elementwise.js';
import { floorDiv, MAX_RANK, viewOffset } from '../../../kernels/strided.js';
import { atOf, lengthOf, memberOf, slotOf, startOf } from '../../../kernels/optim.js';
import type { CompiledKernel, KernelValue, OpenGpu } from './open-gpujs.js';
import type { LaunchQueue } from './queue.js';
import { cellOf, valueOf, type Cell, type GpuStorage, type Storages } from './storage.js';

/** The helper functions kernels may call (gpu.js compiles those a kernel uses into its shader). */
const HELPERS = [floorDiv, viewOffset, sigmoidOf, siluGradOf, applyUnary, applyBinary, channelOf, statOf, affine, gradA, memberOf, startOf, lengthOf, slotOf, atOf] as unknown as Array<(...args: never[]) => number>;

/**
 * About the most products one thread of a reduction kernel adds one after another: longer sums
 * are cut into partial sums that run in parallel, then added (a GPU has thousands of threads, and
 * a layer's weight gradient only F·C·kh·kw outputs).
 */
export const MAX_SERIAL = 2048;

/**
 * A kernel argument: the cell that will hold its values when the kernel runs, with their count
 * (a compiled shader has its inputs' sizes built in), or a number.
 */
export type Arg = { cell: Cell; size: number } | number;

/** A contiguous input: its cell, and the temporary it was copied into (null when it is the storage itself). */
export type Input = { cell: Cell; size: number; temp: GpuStorage | null };

/** An input a kernel reads from `at` on (a parameter inside its optimizer's flat state sits at its offset). */
export type InputAt = Input & { at: number };

/** A view that is its whole storage, in order: kernels can read the storage as it is. */
export const isWhole = (v: View) => v.offset === 0 && v.storage.size === sizeOf(v.shape) && isContiguous(v.shape, v.strides);

/** A storage as a flat view of all its values. */
export const flat = (s: Storage): View => ({ storage: s, shape: [s.size], strides: [1], offset: 0 });

/** A view's shape and strides padded in front to rank 6 (size 1, stride 0). */
function padded(shape: readonly number[], strides: readonly number[]): { shape: number[]; strides: number[] } {
  const pad = MAX_RANK - shape.length;
  if (pad < 0) throw new Error(`gpu backend: views of rank ${shape.length} are not supported (at most ${MAX_RANK})`);
  return { shape: [...Array(pad).fill(1), ...shape], strides: [...Array(pad).fill(0), ...strides] };
}

/** The constants viewOffset reads: the output's sizes n1…n5. */
export function outputDims(shape: readonly number[]): Record<string, number> {
  const p = padded(shape, shape.map(() => 0)).shape;
  return { n1: p[1]!, n2: p[2]!, n3: p[3]!, n4: p[4]!, n5: p[5]! };
}

/** A view's offset and strides as constants named after it (xOffset, x0…x5). */
export function viewConstants(name: string, v: Pick<View, 'shape' | 'strides' | 'offset'>): Record<string, number> {
  const { strides } = padded(v.shape, v.strides);
  const out: Record<string, number> = { [`${name}Offset`]: v.offset };
  strides.forEach((s, k) => (out[`${name}${k}`] = s));
  return out;
}

export class Launcher {
  private readonly kernels = new Map<string, CompiledKernel>();
  /** Kernels whose first launch has run (compiled: on WebGPU asynchronously, after they were made). */
  private compiled = 0;

  constructor(
    private readonly gpu: OpenGpu,
    readonly storages: Storages,
    readonly queue: LaunchQueue,
    /** The most values one texture or buffer holds. */
    readonly pageSize: number,
    private readonly instrument?: (kernel: CompiledKernel, name: string) => CompiledKernel,
  ) {}

  /** The kernels made so far and how many of them are compiled. */
  kernelCount(): { made: number; compiled: number } {
    return { made: this.kernels.size, compiled: this.compiled };
  }

  /** Forgets the compiled kernels (the backend is closing). */
  clear(): void {
    this.kernels.clear();
  }

  /**
   * Runs `fn` over an output of `size` values: at once on GL, enqueued on WebGPU (the output's
   * cell is filled when the launch has run).
   */
  run(name: string, fn: unknown, size: number, constants: Record<string, number>, ...args: Arg[]): GpuStorage {
    return this.launch(name, fn, size, constants, args, false);
  }

  /** Whether kernels may write four values a thread (WebGPU: `runFour`). */
  get fourPerThread(): boolean {
    return this.gpu.createFourKernel !== null;
  }

  /**
   * The same for a kernel whose threads return four values each, `size`/4 threads writing values
   * 4t…4t+3 (only where fourPerThread: on WebGPU).
   */
  runFour(name: string, fn: unknown, size: number, constants: Record<string, number>, ...args: Arg[]): GpuStorage {
    if (size % 4 !== 0) throw new Error(`gpu backend: ${name} writes four values a thread, but its output holds ${size}`);
    return this.launch(name, fn, size, constants, args, true);
  }

  private launch(name: string, fn: unknown, size: number, constants: Record<string, number>, args: Arg[], four: boolean): GpuStorage {
    if (size === 0) return this.storages.wrap(new Float32Array(0), 0);
    if (size > this.pageSize) {
      throw new Error(`gpu backend: ${name} would write ${size.toLocaleString('en-US')} values, more than one texture holds here (${this.pageSize.toLocaleString('en-US')})`);
    }
    // The cache key, built by plain concatenation: this runs on every launch (JSON.stringify here
    // led the JavaScript time of a step).
    let key = `${name}|${four ? 'four|' : ''}${size}|`;
    for (const k in constants) key += `${k}=${constants[k]},`;
    for (const a of args) key += typeof a === 'number' ? '|n' : `|${a.size}`;
    let kernel = this.kernels.get(key);
    const first = !kernel;
    if (!kernel) {
      const settings = { output: [size] as [number], constants, functions: HELPERS };
      if (four && !this.gpu.createFourKernel) throw new Error(`gpu backend: ${name} writes four values a thread, which mode '${this.gpu.mode}' cannot`);
      kernel = four ? this.gpu.createFourKernel!(fn as (...a: never[]) => number[], settings) : this.gpu.createKernel(fn as (...a: never[]) => number, settings);
      if (this.instrument) kernel = this.instrument(kernel, name);
      this.kernels.set(key, kernel);
    }
    const compiled = kernel;
    const launch = () => compiled(...args.map((a) => (typeof a === 'number' ? a : valueOf(a.cell))));
    if (this.queue.immediate) {
      const value = launch() as KernelValue;
      if (first) this.compiled++;
      return this.storages.wrap(value, size);
    }
    const out = this.storages.wrap(null, size);
    const cell = out.pages[0]!.cell;
    this.queue.inOrder(async () => {
      try {
        cell.value = await launch();
      } catch (e) {
        throw new Error(`${name}: ${(e as Error).message}`);
      }
      if (first) this.compiled++;
    });
    return out;
  }

  /** A storage as a kernel argument. */
  arg(s: Storage): { cell: Cell; size: number } {
    return { cell: cellOf(s), size: s.size };
  }

  /**
   * A view's values laid out contiguously from `at` on, for a kernel that reads from an offset
   * (a parameter, which is a view of its optimizer's flat state): the storage itself when the
   * view is contiguous, otherwise a gathered copy (a temporary) from 0.
   */
  contiguousAt(v: View): InputAt {
    if (isContiguous(v.shape, v.strides)) return { ...this.arg(v.storage), temp: null, at: v.offset };
    return { ...this.contiguous(v), at: 0 };
  }

  /** A view's values laid out contiguously from 0: the storage itself when it already is, otherwise a gathered copy (a temporary). */
  contiguous(v: View): Input {
    if (isWhole(v)) return { ...this.arg(v.storage), temp: null };
    const temp = this.gather(v);
    return { ...this.arg(temp), temp };
  }

  /** A contiguous copy of a view (one page at most). */
  gather(v: View): GpuStorage {
    return this.run('gather', gatherKernel, sizeOf(v.shape), { ...outputDims(v.shape), ...viewConstants('x', v) }, this.arg(v.storage));
  }

  /** A temporary filled with one value, as an input read from 0 (in place of a missing bias, γ or β). */
  filled(size: number, value: number): InputAt & { temp: GpuStorage } {
    const temp = this.run('fill', fill, size, { value });
    return { ...this.arg(temp), temp, at: 0 };
  }

  /** Releases temporaries (nulls skipped). */
  done(...temps: Array<GpuStorage | null>): void {
    for (const t of temps) if (t) this.storages.release(t);
  }
}
