// The backend interface. Two parts, as in tinygrad (a small primitive set every backend
// implements) and TensorFlow.js (kernels behind one dispatch):
//
//   PrimitiveBackend  storage, reads, copies, elementwise math, reductions, matmul and
//                     convolutions: enough to train the UNet. A new backend starts here.
//   FusedKernels      optional: one launch where the primitives would take a chain of them
//                     (softmax, GroupNorm with SiLU, the optimizers' buckets). Where a backend
//                     has none, the op composes the same math from primitives (ops/activation.ts,
//                     ops/norm.ts, optim/), and test/backend-primitives.test.ts trains on one.
//
// Ops in src/ops call these; model and diffusion code never see a backend.
//
// A tensor's data lives in a Storage owned by its backend (a Float32Array for `cpu`, a GPU
// texture or buffer for `webgl` and `webgpu`). Tensors are strided views of a storage: (shape,
// strides, offset), like an ndarray. Kernels read views and return fresh contiguous storages, so
// a backend can keep data where it is between kernels; `read` is the one explicit way back to
// JavaScript numbers. Which backend is current: registry.ts.

export interface Storage {
  readonly backend: Backend;
  /** Number of float32 elements. */
  readonly size: number;
}

/** A strided window onto a storage: element [i0, i1, ...] is at offset + sum(ik * strides[k]). */
export interface View {
  readonly storage: Storage;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
}

/** `copy` is the identity (a contiguous copy of a view); `silu` is x·σ(x). */
export type UnaryOp = 'neg' | 'exp' | 'log' | 'sqrt' | 'sigmoid' | 'copy' | 'silu';
/** `siluGrad(x, g)` is SiLU's backward, g·σ(x)·(1 + x·(1 − σ(x))). */
export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'max' | 'min' | 'siluGrad';
export type ReduceOp = 'sum' | 'max';

export interface Conv2dGeometry {
  stride: number;
  padding: number;
}

/** The output size along one axis of a convolution: ⌊(n + 2·padding − k) / stride⌋ + 1. */
export function convOutputSize(n: number, k: number, g: Conv2dGeometry): number {
  return Math.floor((n + 2 * g.padding - k) / g.stride) + 1;
}

/**
 * A fused optimizer bucket holds at most BUCKET_MEMBERS tensors, read from at most BUCKET_INPUTS
 * storages in one launch (several tensors may be views of one storage: a weight's and its bias's
 * gradients, the parameters of one Adam bucket). WebGPU's default limit is 8 storage buffers a
 * shader: the output, the state and six inputs (kernels/optim.ts). Adam's kernel also reads the
 * clip scale, so it reads ADAM_BUCKET_INPUTS. A bucket whose tensors span more storages than
 * that takes one launch more for each further set (the members of the others pass through).
 */
export const BUCKET_MEMBERS = 10;
export const BUCKET_INPUTS = 6;
export const ADAM_BUCKET_INPUTS = BUCKET_INPUTS - 1;

/** A Linear's output as a convolution adds it: x [N, K] · weightᵀ ([F, K]) + bias [F]. */
export interface Projection {
  x: View;
  weight: View;
  bias: View | null;
}

/** Adam's hyper-parameters for one step (see kernels/optim.ts). */
export interface AdamHyper {
  beta1: number;
  beta2: number;
  eps: number;
  /** Adam's L2 weight decay λ (g̃ = g + λ·p, formed before the fused kernels), 0 for AdamW. */
  l2: number;
  /** lr / (1 − β1ᵗ) */
  stepSize: number;
  /** √(1 − β2ᵗ) */
  bias2Sqrt: number;
  /** The factor p is scaled by first: 1 − lr·λ for AdamW, 1 for Adam. */
  decay: number;
}

/** The kernels every backend implements. */
export interface PrimitiveBackend {
  readonly name: string;

  /** A zero-filled contiguous storage of `size` elements. */
  zeros(size: number): Storage;
  /** Uploads JavaScript data (copied). */
  fromArray(data: Float32Array): Storage;
  /** Downloads a view as a contiguous Float32Array (a copy). A backend that reads only asynchronously (WebGPU) throws, naming readAsync. */
  read(x: View): Float32Array;
  /** The same, once every op issued before has run: on backends whose ops only enqueue work (WebGPU). Without it, `read`. */
  readAsync?(x: View): Promise<Float32Array>;
  /** Copies `src` into the region `dst` of an existing storage (shapes equal). */
  assign(dst: View, src: View): void;
  /** The views joined along `axis` (their other axes equal), contiguous. */
  concat(parts: View[], axis: number): Storage;

  /** out = op(x), elementwise, into a fresh contiguous storage of x's shape. */
  unary(op: UnaryOp, x: View): Storage;
  /** out = op(a, b); a and b are views of the output's shape (broadcast axes have stride 0). */
  binary(op: BinaryOp, a: View, b: View): Storage;
  /** out = op(a, scalar). */
  binaryScalar(op: BinaryOp, a: View, s: number): Storage;
  /** Reduces over `axes`; the result is contiguous with those axes removed. */
  reduce(op: ReduceOp, x: View, axes: readonly number[]): Storage;

  /** Batched matrix product: a [B,M,K] times b [B,K,N] -> [B,M,N]. Views may be transposed. */
  matmul(a: View, b: View): Storage;

  /** x [N,Cin,H,W], w [Cout,Cin,kh,kw] (+ bias [Cout]) -> y [N,Cout,Ho,Wo] (cross-correlation, as PyTorch). */
  conv2d(x: View, w: View, bias: View | null, g: Conv2dGeometry): Storage;
  /** Gradient of conv2d with respect to x, given dy and the input's shape. */
  conv2dBackwardInput(dy: View, w: View, xShape: readonly number[], g: Conv2dGeometry): Storage;
  /**
   * Gradient of conv2d with respect to w, given x, dy and the weight's shape, followed in the
   * same storage by `biasCopies` copies of the bias's, Σ dy over images and positions ([F] each):
   * one launch for all on a GPU, the gradients views of one storage. Two copies when the
   * convolution also adds a projection's bias (conv2dProject), whose gradient is the same.
   */
  conv2dBackwardWeight(x: View, dy: View, wShape: readonly number[], g: Conv2dGeometry, biasCopies: number): Storage;

  /**
   * dst takes src's values (both whole storages of one size), and src is used up: its memory
   * freed. The fused updates write fresh storages and move them into the state they update, so
   * no copy is launched.
   */
  move(dst: Storage, src: Storage): void;

  /**
   * Frees a storage's memory now (see scope.ts); backends whose memory the collector manages
   * leave it out. `by` names what freed it ("dispose()"), for the error a later use gets;
   * without it, the end of a tidy() scope.
   */
  release?(storage: Storage, by?: string): void;
}

/**
 * Kernels a backend may add, each one launch for what the primitives do in several. They come
 * in four sets, each all or nothing: softmax with its gradient, GroupNorm (optionally followed
 * by SiLU) with its backward, the optimizers' buckets (maxFused and the three updates), and
 * epilogues (what follows a matmul or a convolution, done as it writes its output).
 */
export interface FusedKernels {
  /**
   * alpha · a·b (+ bias along the last axis) (then SiLU when `silu`): matmul's product, scaled,
   * biased and activated as it is written (attention's 1/√C, a Linear's bias, the time
   * embedding's SiLU). bias [N] for a [B,M,K]·[B,K,N] product.
   */
  matmulEpilogue(a: View, b: View, alpha: number, bias: View | null, silu?: boolean): Storage;
  /**
   * conv2d(x, w, bias) + add, where `add` is a view of the output's shape [N,F,Ho,Wo] (broadcast
   * axes have stride 0): a residual connection, or a per-image channel bias (the time embedding).
   */
  conv2dAdd(x: View, w: View, bias: View | null, add: View, g: Conv2dGeometry): Storage;
  /**
   * conv2d(x, w, bias) + a per-image channel bias made by a Linear, u·pwᵀ + pb ([N, F]) added at
   * every position (the time embedding's projection): the product is worked out as the output is
   * written, no launch of its own.
   */
  conv2dProject(x: View, w: View, bias: View | null, project: Projection, g: Conv2dGeometry): Storage;

  /** Softmax of x along its last axis, contiguous. */
  softmax(x: View): Storage;
  /** Its backward: y·(g − Σ g·y) along the last axis, from the softmax's output y and the gradient g. */
  softmaxGrad(y: View, g: View): Storage;

  /**
   * Group normalisation of x [N,C,...] in `groups` groups of channels, with an optional
   * per-channel affine (gamma, beta), then SiLU when `silu`. Also returns each (image, group)'s
   * statistics for the backward pass: `stats` [N, groups, 2] holds its mean μ and 1/σ side by
   * side (one output, so a GPU computes both in one launch).
   */
  groupNorm(x: View, gamma: View | null, beta: View | null, groups: number, eps: number, silu: boolean): { y: Storage; stats: Storage };
  /**
   * Gradients of groupNorm with respect to x, and to gamma and beta side by side in `daffine`
   * [2C]: dγ then dβ (one reduce for both on a GPU; the two gradients are views of it).
   */
  groupNormBackward(dy: View, x: View, gamma: View | null, beta: View | null, stats: Storage, groups: number, silu: boolean): { dx: Storage; daffine: Storage };

  /**
   * The most values one storage of a fused optimizer update may hold: a bucket's state must be
   * read whole by one kernel (on a GPU, one texture or buffer; Infinity on the cpu backend).
   */
  readonly maxFused: number;
  /**
   * One Adam/AdamW step for a bucket of parameters, fused (see kernels/optim.ts): `state` holds,
   * parameter after parameter, each one's m, then its v, then its value (3·n values; the
   * parameter tensors are views of it); grads[j] is parameter j's gradient (at most
   * BUCKET_MEMBERS contiguous views, of any storages), multiplied by `gradScale`'s one value first
   * where it is given (gradient clipping's scale, computed on the device). The new state, a fresh storage.
   */
  adamStep(state: Storage, grads: View[], h: AdamHyper, gradScale: Storage | null): Storage;
  /**
   * Gradient clipping's squared norm, a bucket at a time: partial sums (as many as the backend
   * likes, the same number every call) whose total is the sum of the squares of every value of
   * xs (at most BUCKET_MEMBERS contiguous views, together at most maxFused values) plus the total
   * of `into`'s partial sums, when given (the buckets before: the chain ends in one reduce).
   */
  sumSquares(xs: View[], into: Storage | null): Storage;
  /**
   * a·state + b·xs over a bucket, `state` holding xs[0], xs[1], … end to end (the EMA's shadows:
   * shadow ← d·shadow + (1−d)·param; with one x, Adam's L2 decay g + λ·p). The xs are contiguous
   * views (a parameter is a view of its optimizer's state). A fresh storage.
   */
  blend(state: Storage, xs: View[], a: number, b: number): Storage;
}

/** A backend: the primitives, and any of the fused kernels. */
export type Backend = PrimitiveBackend & Partial<FusedKernels>;

/** The fused kernels a backend has, by set: null for a set it lacks (or has in part). */
export function fusedKernels(be: Backend): {
  softmax: Pick<FusedKernels, 'softmax' | 'softmaxGrad'> | null;
  groupNorm: Pick<FusedKernels, 'groupNorm' | 'groupNormBackward'> | null;
  optimizer: Pick<FusedKernels, 'maxFused' | 'adamStep' | 'sumSquares' | 'blend'> | null;
  epilogue: Pick<FusedKernels, 'matmulEpilogue' | 'conv2dAdd' | 'conv2dProject'> | null;
} {
  const has = <K extends keyof FusedKernels>(...keys: K[]) => (keys.every((k) => be[k] !== undefined) ? (be as Pick<FusedKernels, K>) : null);
  return { softmax: has('softmax', 'softmaxGrad'), groupNorm: has('groupNorm', 'groupNormBackward'), optimizer: has('maxFused', 'adamStep', 'sumSquares', 'blend'), epilogue: has('matmulEpilogue', 'conv2dAdd', 'conv2dProject') };
}
