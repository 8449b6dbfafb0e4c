// The Tensor: a strided view (shape, strides, offset) of float32 storage owned by a backend,
// plus what reverse-mode autodiff needs: whether it requires a gradient, its accumulated
// gradient, and the graph node recording which op made it.

import type { Backend, Storage, View } from '../backends/backend.js';
import { contiguousStrides, isContiguous, sameShape, shapeStr, sizeOf, type Shape } from '../util/shape.js';
import { backward as runBackward } from './autograd.js';
import { keep } from '../backends/scope.js';

/** How a non-leaf tensor was made: its inputs and the vector-Jacobian product of its op. */
export interface GradNode {
  readonly op: string;
  readonly inputs: readonly Tensor[];
  /** Given dL/d(output), returns dL/d(input) for each input (null where none is needed). */
  readonly backward: (gradOutput: Tensor) => readonly (Tensor | null)[];
}

export class Tensor implements View {
  readonly storage: Storage;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
  requiresGrad: boolean;
  private gradValue: Tensor | null = null;
  /** The op that made this tensor, or null for a leaf; released (set to 'released') after backward. */
  gradNode: GradNode | 'released' | null = null;

  constructor(storage: Storage, shape: Shape, strides?: readonly number[], offset = 0, requiresGrad = false) {
    this.storage = storage;
    this.shape = Object.freeze(shape.slice());
    this.strides = Object.freeze((strides ?? contiguousStrides(shape)).slice());
    this.offset = offset;
    this.requiresGrad = requiresGrad;
    if (!strides && sizeOf(shape) !== storage.size) {
      throw new Error(`Tensor: shape ${shapeStr(shape)} needs ${sizeOf(shape)} elements, storage has ${storage.size}`);
    }
  }

  /**
   * dL/d(this), accumulated over backward calls for leaf tensors (as in PyTorch). A gradient
   * belongs to its tensor, not to the tidy() scope that computed it: set here, it is taken out of
   * every open scope and lives until it is replaced or dropped (zeroGrad).
   */
  get grad(): Tensor | null {
    return this.gradValue;
  }

  set grad(g: Tensor | null) {
    if (g) keep(g.storage);
    this.gradValue = g;
  }

  get rank(): number {
    return this.shape.length;
  }

  get size(): number {
    return sizeOf(this.shape);
  }

  get backend() {
    return this.storage.backend;
  }

  /** True when made by an op from tensors that require gradients (PyTorch's non-leaf). */
  get isLeaf(): boolean {
    return this.gradNode === null;
  }

  /** A contiguous copy of the values, read back from the backend now: on the cpu and WebGL backends (WebGPU reads only asynchronously: use data()). */
  toFloat32Array(): Float32Array {
    return this.backend.read(this);
  }

  /**
   * A contiguous copy of the values, once every op issued before has run: works on every
   * backend (`await t.data()`). On WebGPU ops only enqueue work, and this is where a program waits for it.
   */
  async data(): Promise<Float32Array> {
    return this.backend.readAsync ? this.backend.readAsync(this) : this.backend.read(this);
  }

  /** The value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) throw new Error(`item: tensor of shape ${shapeStr(this.shape)} has ${this.size} elements, not 1`);
    return this.toFloat32Array()[0]!;
  }

  /**
   * Overwrites this tensor's elements with `src`'s (PyTorch's copy_), outside autodiff: for
   * optimizer updates and loading weights. Shapes must match.
   */
  assign(src: Tensor): this {
    if (src.shape.length !== this.shape.length || src.shape.some((d, i) => d !== this.shape[i])) {
      throw new Error(`assign: source shape ${shapeStr(src.shape)} differs from target ${shapeStr(this.shape)}`);
    }
    sameBackend('assign', this, src).assign(this, src);
    return this;
  }

  /**
   * Moves this tensor's values into `home` (a contiguous view of the same shape on the same
   * backend), which becomes where it lives: an optimizer keeps its parameters inside its own flat
   * state this way (PyTorch's flat parameters), so one launch updates a bucket of them. The
   * tensor object stays the same, so modules, the EMA and checkpoints keep working with it.
   */
  relocate(home: Tensor): void {
    if (!isContiguous(home.shape, home.strides) || !sameShape(home.shape, this.shape)) {
      throw new Error(`relocate: home ${shapeStr(home.shape)} must be a contiguous view of this tensor's shape ${shapeStr(this.shape)}`);
    }
    home.assign(this);
    // The one place these fields change: a parameter's identity outlives where its values are.
    const self = this as { -readonly [K in 'storage' | 'strides' | 'offset']: Tensor[K] };
    self.storage = home.storage;
    self.strides = home.strides;
    self.offset = home.offset;
  }

  /** The same data, cut off from the graph. */
  detach(): Tensor {
    return new Tensor(this.storage, this.shape, this.strides, this.offset, false);
  }

  /**
   * Backpropagates from this tensor: every leaf that requires a gradient gets dL/dleaf added to
   * its `.grad`. A scalar needs no argument (dL/dthis = 1); otherwise pass dL/dthis.
   */
  backward(gradOutput?: Tensor): void {
    runBackward(this, gradOutput);
  }

  toString(): string {
    return `Tensor(shape=${shapeStr(this.shape)}, backend=${this.backend.name}${this.requiresGrad ? ', requiresGrad' : ''})`;
  }
}

/**
 * The backend every tensor of an op lives on; throws naming the op and the backends when they
 * differ (a page that holds models on two backends must run each op on one of them).
 */
export function sameBackend(op: string, ...tensors: ReadonlyArray<Tensor | null | undefined>): Backend {
  const present = tensors.filter((t): t is Tensor => t != null);
  const backend = present[0]!.backend;
  if (present.some((t) => t.backend !== backend)) throw new Error(`${op}: operands live on different backends (${present.map((t) => t.backend.name).join(', ')})`);
  return backend;
}
