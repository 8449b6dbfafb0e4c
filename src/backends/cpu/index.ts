// The `cpu` backend: pure TypeScript. Storage is a Float32Array; every view handed to a kernel
// is wrapped as an ndarray (same shape, strides and offset), so strided and broadcast views
// (stride 0) work without copies, and elementwise loops come from ndarray-ops. The heavy
// kernels live in their own files: gemm.ts (matrix products), conv.ts and winograd.ts
// (convolutions), norm.ts (GroupNorm + SiLU), exp.ts (eˣ); threads.ts runs them on all cores.

import ndarray from 'ndarray';
import ops from 'ndarray-ops';
import { convOutputSize, type AdamHyper, type Backend, type BinaryOp, type Conv2dGeometry, type Projection, type ReduceOp, type Storage, type UnaryOp, type View } from '../backend.js';
import { isContiguous, sizeOf } from '../../util/shape.js';
import { conv2dBackwardInput, conv2dBackwardWeight, conv2dForward, type ConvAlgorithm, type ConvDims } from './conv.js';
import type { Mat } from './gemm.js';
import { exp, sigmoid, siluGrad } from './exp.js';
import { parallelGemm } from './parallel-gemm.js';
import { runTask } from './threads.js';
import { freedMessage, track } from '../scope.js';
import { adamStep, blend, sumSquares } from './optim.js';

type Nd = ndarray.NdArray<Float32Array>;

export class CpuStorage implements Storage {
  /** Set when freed (by a tidy() scope's end, dispose(), zeroGrad()): using it then throws, as on a GPU. */
  released?: string;
  constructor(readonly backend: CpuBackend, readonly data: Float32Array) {
    track(this); // the open tidy() scope owns it
  }
  get size(): number {
    return this.data.length;
  }
}

function dataOf(s: Storage): Float32Array {
  if (!(s instanceof CpuStorage)) throw new Error(`cpu backend: got a storage of backend '${s.backend.name}'`);
  if (s.released) throw new Error(freedMessage('cpu', s.released));
  return s.data;
}

/** The ndarray view of a tensor view; a 0-d view becomes a 1-element 1-d one (cwise needs an axis). */
function nd(x: View): Nd {
  if (x.shape.length === 0) return ndarray(dataOf(x.storage), [1], [1], x.offset);
  return ndarray(dataOf(x.storage), x.shape.slice(), x.strides.slice(), x.offset);
}

function freshNd(shape: readonly number[]): Nd {
  const s = shape.length === 0 ? [1] : shape.slice();
  return ndarray(new Float32Array(sizeOf(s)), s);
}

/**
 * The view's elements as a contiguous array starting at index 0: no copy when they already lie
 * in order (a window of the storage's array, e.g. a parameter in its optimizer's flat state).
 */
function contiguousData(x: View): Float32Array {
  const data = dataOf(x.storage);
  const n = sizeOf(x.shape);
  if (isContiguous(x.shape, x.strides)) return x.offset === 0 && data.length === n ? data : data.subarray(x.offset, x.offset + n);
  const out = freshNd(x.shape);
  ops.assign(out, nd(x));
  return out.data;
}

/**
 * x's elements in order as one array: x's own buffer when it covers it contiguously, otherwise
 * a copy laid out in `out` (of x's shape), which the caller then overwrites in place.
 */
function inOrder(out: Nd, x: Nd): Float32Array {
  if (x.offset === 0 && x.data.length === x.size && isContiguous(x.shape, x.stride)) return x.data;
  ops.assign(out, x);
  return out.data;
}

const unaryKernels: Record<UnaryOp, (out: Nd, x: Nd) => void> = {
  neg: (out, x) => ops.neg(out, x),
  // exp and sigmoid use exp.ts (Math.exp cannot be inlined), in one plain loop.
  exp: (out, x) => {
    const src = inOrder(out, x), dst = out.data;
    for (let i = 0; i < dst.length; i++) dst[i] = exp(src[i]!);
  },
  log: (out, x) => ops.log(out, x),
  sqrt: (out, x) => ops.sqrt(out, x),
  sigmoid: (out, x) => {
    const src = inOrder(out, x), dst = out.data;
    for (let i = 0; i < dst.length; i++) dst[i] = sigmoid(src[i]!);
  },
  copy: (out, x) => ops.assign(out, x),
  silu: (out, x) => {
    const src = inOrder(out, x), dst = out.data;
    for (let i = 0; i < dst.length; i++) dst[i] = src[i]! * sigmoid(src[i]!);
  },
};

/** out_i = f(a_i, b_i), for ops ndarray-ops lacks: both operands laid out in order, one plain loop. */
function zipWith(f: (a: number, b: number) => number): (out: Nd, a: Nd, b: Nd) => void {
  return (out, a, b) => {
    const bs = freshNd(b.shape);
    ops.assign(bs, b);
    const as = inOrder(out, a), dst = out.data, bv = bs.data;
    for (let i = 0; i < dst.length; i++) dst[i] = f(as[i]!, bv[i]!);
  };
}

const binaryKernels: Record<BinaryOp, (out: Nd, a: Nd, b: Nd) => void> = {
  add: (out, a, b) => ops.add(out, a, b),
  sub: (out, a, b) => ops.sub(out, a, b),
  mul: (out, a, b) => ops.mul(out, a, b),
  div: (out, a, b) => ops.div(out, a, b),
  max: (out, a, b) => ops.max(out, a, b),
  min: (out, a, b) => ops.min(out, a, b),
  siluGrad: zipWith(siluGrad),
};

const scalarKernels: Record<BinaryOp, (out: Nd, a: Nd, s: number) => void> = {
  add: (out, a, s) => ops.adds(out, a, s),
  sub: (out, a, s) => ops.subs(out, a, s),
  mul: (out, a, s) => ops.muls(out, a, s),
  div: (out, a, s) => ops.divs(out, a, s),
  max: (out, a, s) => ops.maxs(out, a, s),
  min: (out, a, s) => ops.mins(out, a, s),
  siluGrad: (out, a, s) => {
    const src = inOrder(out, a), dst = out.data;
    for (let i = 0; i < dst.length; i++) dst[i] = siluGrad(src[i]!, s);
  },
};

function convDims(xShape: readonly number[], wShape: readonly number[], g: Conv2dGeometry): ConvDims {
  const [N, C, H, W] = xShape as [number, number, number, number];
  const [F, , kh, kw] = wShape as [number, number, number, number];
  return {
    N, C, H, W, F, kh, kw,
    Ho: convOutputSize(H, kh, g),
    Wo: convOutputSize(W, kw, g),
    stride: g.stride, padding: g.padding,
  };
}

/** Below this many elements a normalisation stays on the calling thread. */
const PARALLEL_MIN_ELEMENTS = 1 << 15;

function normShape(xShape: readonly number[], groups: number): { N: number; C: number; S: number; groups: number } {
  return { N: xShape[0]!, C: xShape[1]!, S: sizeOf(xShape.slice(2)), groups };
}

/** The affine's gamma and beta as arrays; no affine is gamma 1, beta 0. */
function affine(gamma: View | null, beta: View | null, C: number): { gamma: Float32Array; beta: Float32Array } {
  return { gamma: gamma ? contiguousData(gamma) : new Float32Array(C).fill(1), beta: beta ? contiguousData(beta) : new Float32Array(C) };
}

/** A 2-D matrix view (the last two axes of a batched view) at batch index `b`. */
function matAt(x: View, b: number): Mat {
  return {
    data: dataOf(x.storage),
    offset: x.offset + b * x.strides[0]!,
    rowStride: x.strides[1]!,
    colStride: x.strides[2]!,
  };
}

export interface CpuBackendOptions {
  /** 'auto': 3×3 stride-1 convolutions by Winograd F(4×4, 3×3), others by im2col; 'im2col': all by im2col. */
  conv?: ConvAlgorithm;
}

export class CpuBackend implements Backend {
  readonly name = 'cpu';
  /** How convolutions are computed (may be changed at any time; results agree to float32 rounding). */
  conv: ConvAlgorithm;

  constructor({ conv = 'auto' }: CpuBackendOptions = {}) {
    this.conv = conv;
  }

  zeros(size: number): Storage {
    return new CpuStorage(this, new Float32Array(size));
  }

  /** Marks a storage freed (the garbage collector reclaims its array); a later use throws naming `by`. */
  release(s: Storage, by = 'tidy'): void {
    if (s instanceof CpuStorage && !s.released) s.released = by;
  }

  fromArray(data: Float32Array): Storage {
    return new CpuStorage(this, Float32Array.from(data));
  }

  /** An array of any length is one storage: a bucket is never split here. */
  readonly maxFused = Infinity;

  adamStep(state: Storage, grads: View[], h: AdamHyper, gradScale: Storage | null): Storage {
    const out = new Float32Array(state.size);
    adamStep(dataOf(state), grads.map(contiguousData), out, h, gradScale ? dataOf(gradScale)[0]! : 1);
    return new CpuStorage(this, out);
  }

  /** One partial sum: the running total. */
  sumSquares(xs: View[], into: Storage | null): Storage {
    return new CpuStorage(this, Float32Array.of(sumSquares(xs.map(contiguousData), into ? dataOf(into)[0]! : 0)));
  }

  /** a·state + b·xs, each product and the sum rounded to float32 (as the GPU kernel and the composed ops). */
  blend(state: Storage, xs: View[], a: number, b: number): Storage {
    const out = new Float32Array(state.size);
    blend(dataOf(state), xs.map(contiguousData), a, b, out);
    return new CpuStorage(this, out);
  }

  /** A copy here: an array is cheap to copy, and the storage keeps its identity. */
  move(dst: Storage, src: Storage): void {
    dataOf(dst).set(dataOf(src));
  }

  read(x: View): Float32Array {
    const data = contiguousData(x);
    return data.buffer === dataOf(x.storage).buffer ? data.slice() : data; // a copy, never a window of the storage
  }

  concat(parts: View[], axis: number): Storage {
    const shape = parts[0]!.shape.slice();
    shape[axis] = parts.reduce((n, p) => n + p.shape[axis]!, 0);
    const out = freshNd(shape);
    let at = 0;
    for (const p of parts) {
      ops.assign(out.lo(...shape.map((_, k) => (k === axis ? at : 0))).hi(...p.shape), nd(p));
      at += p.shape[axis]!;
    }
    return new CpuStorage(this, out.data);
  }

  softmax(x: View): Storage {
    const L = x.shape[x.shape.length - 1]!, y = contiguousData(x).slice();
    for (let start = 0; start < y.length; start += L) {
      let m = -Infinity, sum = 0;
      for (let j = start; j < start + L; j++) m = Math.max(m, y[j]!);
      for (let j = start; j < start + L; j++) sum += (y[j] = exp(y[j]! - m));
      for (let j = start; j < start + L; j++) y[j] = y[j]! / sum;
    }
    return new CpuStorage(this, y);
  }

  softmaxGrad(y: View, g: View): Storage {
    const L = y.shape[y.shape.length - 1]!, ys = contiguousData(y), dx = contiguousData(g).slice();
    for (let start = 0; start < dx.length; start += L) {
      let dot = 0;
      for (let j = start; j < start + L; j++) dot += dx[j]! * ys[j]!;
      for (let j = start; j < start + L; j++) dx[j] = ys[j]! * (dx[j]! - dot);
    }
    return new CpuStorage(this, dx);
  }

  assign(dst: View, src: View): void {
    ops.assign(nd(dst), nd(src));
  }

  unary(op: UnaryOp, x: View): Storage {
    const out = freshNd(x.shape);
    unaryKernels[op](out, nd(x));
    return new CpuStorage(this, out.data);
  }

  binary(op: BinaryOp, a: View, b: View): Storage {
    const out = freshNd(a.shape);
    binaryKernels[op](out, nd(a), nd(b));
    return new CpuStorage(this, out.data);
  }

  binaryScalar(op: BinaryOp, a: View, s: number): Storage {
    const out = freshNd(a.shape);
    scalarKernels[op](out, nd(a), s);
    return new CpuStorage(this, out.data);
  }

  reduce(op: ReduceOp, x: View, axes: readonly number[]): Storage {
    // Move the reduced axes last, lay the view out contiguously, then reduce each row.
    const kept = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
    const order = [...kept, ...axes];
    const permuted: View = {
      storage: x.storage,
      shape: order.map((i) => x.shape[i]!),
      strides: order.map((i) => x.strides[i]!),
      offset: x.offset,
    };
    const data = contiguousData(permuted);
    const rows = sizeOf(kept.map((i) => x.shape[i]!));
    const len = sizeOf(axes.map((i) => x.shape[i]!));
    const out = new Float32Array(rows);
    for (let r = 0; r < rows; r++) {
      const start = r * len;
      if (op === 'sum') {
        let acc = 0; // float64 accumulation
        for (let k = 0; k < len; k++) acc += data[start + k]!;
        out[r] = acc;
      } else {
        let m = -Infinity;
        for (let k = 0; k < len; k++) m = Math.max(m, data[start + k]!);
        out[r] = m;
      }
    }
    return new CpuStorage(this, out);
  }

  matmul(a: View, b: View): Storage {
    const [B, M, K] = a.shape as [number, number, number];
    const N = b.shape[2]!;
    const out = new Float32Array(B * M * N);
    for (let i = 0; i < B; i++) parallelGemm(M, N, K, matAt(a, i), matAt(b, i), { data: out, offset: i * M * N, rowStride: N }, false);
    return new CpuStorage(this, out);
  }

  conv2d(x: View, w: View, bias: View | null, g: Conv2dGeometry): Storage {
    const d = convDims(x.shape, w.shape, g);
    return new CpuStorage(this, conv2dForward(contiguousData(x), contiguousData(w), bias && contiguousData(bias), d, this.conv));
  }

  // The epilogues: one pass over the fresh output, the float32 operations the composed ops do in
  // the same order (a CPU pays little for the extra pass; the ops take one path on every backend).

  matmulEpilogue(a: View, b: View, alpha: number, bias: View | null, silu = false): Storage {
    const out = this.matmul(a, b), data = dataOf(out), N = b.shape[2]!;
    const biasData = bias && contiguousData(bias);
    for (let i = 0; i < data.length; i++) {
      const scaled = alpha === 1 ? data[i]! : Math.fround(data[i]! * alpha);
      const biased = biasData ? Math.fround(scaled + biasData[i % N]!) : scaled;
      data[i] = silu ? biased * sigmoid(biased) : biased; // rounded as it is stored, as unary('silu')
    }
    return out;
  }

  conv2dAdd(x: View, w: View, bias: View | null, add: View, g: Conv2dGeometry): Storage {
    const y = this.conv2d(x, w, bias, g);
    ops.addeq(ndarray(dataOf(y), add.shape.slice()), nd(add));
    return y;
  }

  /** The projection as a Linear computes it (u·pwᵀ + pb), then added as conv2dAdd adds a view [N, F, 1, 1] of it. */
  conv2dProject(x: View, w: View, bias: View | null, project: Projection, g: Conv2dGeometry): Storage {
    const [N, K] = project.x.shape as [number, number], F = project.weight.shape[0]!;
    const pwT: View = { ...project.weight, shape: [1, K, F], strides: [0, project.weight.strides[1]!, project.weight.strides[0]!] };
    const p = this.matmulEpilogue({ ...project.x, shape: [1, N, K], strides: [0, ...project.x.strides] }, pwT, 1, project.bias);
    return this.conv2dAdd(x, w, bias, { storage: p, shape: [N, F, convOutputSize(x.shape[2]!, w.shape[2]!, g), convOutputSize(x.shape[3]!, w.shape[3]!, g)], strides: [F, 1, 0, 0], offset: 0 }, g);
  }

  conv2dBackwardInput(dy: View, w: View, xShape: readonly number[], g: Conv2dGeometry): Storage {
    const d = convDims(xShape, w.shape, g);
    return new CpuStorage(this, conv2dBackwardInput(contiguousData(dy), contiguousData(w), d, this.conv));
  }

  conv2dBackwardWeight(x: View, dy: View, wShape: readonly number[], g: Conv2dGeometry, biasCopies: number): Storage {
    const d = convDims(x.shape, wShape, g);
    const dys = contiguousData(dy);
    const dw = conv2dBackwardWeight(contiguousData(x), dys, d, this.conv);
    if (biasCopies === 0) return new CpuStorage(this, dw);
    // The bias's gradient after the weight's (as many copies as asked): Σ dy over images and positions, in float64 then rounded.
    const out = new Float32Array(dw.length + biasCopies * d.F), P = d.Ho * d.Wo;
    out.set(dw);
    for (let f = 0; f < d.F; f++) {
      let s = 0;
      for (let n = 0; n < d.N; n++) for (let k = 0, at = (n * d.F + f) * P; k < P; k++) s += dys[at + k]!;
      for (let copy = 0; copy < biasCopies; copy++) out[dw.length + copy * d.F + f] = s;
    }
    return new CpuStorage(this, out);
  }

  groupNorm(x: View, gamma: View | null, beta: View | null, groups: number, eps: number, silu: boolean): { y: Storage; stats: Storage } {
    const shape = normShape(x.shape, groups);
    const xs = contiguousData(x);
    const y = new Float32Array(xs.length), stats = new Float32Array(2 * shape.N * groups);
    runTask('groupNorm', { ...shape, eps, silu: silu ? 1 : 0, x: xs, ...affine(gamma, beta, shape.C), y, stats },
      { out: ['y', 'stats'] }, xs.length >= PARALLEL_MIN_ELEMENTS);
    return { y: new CpuStorage(this, y), stats: new CpuStorage(this, stats) };
  }

  groupNormBackward(dy: View, x: View, gamma: View | null, beta: View | null, stats: Storage, groups: number, silu: boolean): { dx: Storage; daffine: Storage } {
    const shape = normShape(x.shape, groups);
    const xs = contiguousData(x);
    const dx = new Float32Array(xs.length), daffine = new Float32Array(2 * shape.C);
    const dgamma = daffine.subarray(0, shape.C), dbeta = daffine.subarray(shape.C);
    runTask('groupNormBackward', { ...shape, silu: silu ? 1 : 0, dy: contiguousData(dy), x: xs, ...affine(gamma, beta, shape.C), stats: dataOf(stats), dx, dgamma, dbeta },
      { out: ['dx', 'dgamma', 'dbeta'] }, xs.length >= PARALLEL_MIN_ELEMENTS);
    return { dx: new CpuStorage(this, dx), daffine: new CpuStorage(this, daffine) };
  }
}
