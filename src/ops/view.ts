// Shape ops. Most are free: they make a new view (shape, strides, offset) of the same storage.
// Their gradients route dL/dout back to where each element came from.

import type { View } from '../backends/backend.js';
import { record } from '../tensor/autograd.js';
import { broadcastShapes, checkShape, contiguousStrides, isContiguous, normalizeAxis, sameShape, shapeStr, sizeOf, type Shape } from '../util/shape.js';
import { sameBackend, Tensor } from '../tensor/tensor.js';
import { sum } from './reduce.js';

function view(x: Tensor, shape: Shape, strides: readonly number[], offset: number): Tensor {
  return new Tensor(x.storage, shape, strides, offset);
}

/** Strides that read `shape` out of a view without copying, or null when a copy is needed. */
function reshapeStrides(from: Shape, strides: readonly number[], to: Shape): number[] | null {
  // Drop size-1 axes, then match groups of old axes to groups of new axes with equal products;
  // each old group must be contiguous within itself (NumPy's no-copy reshape rule).
  if (sizeOf(from) === 0) return contiguousStrides(to);
  const oldDims: number[] = [], oldStrides: number[] = [];
  from.forEach((d, i) => {
    if (d !== 1) {
      oldDims.push(d);
      oldStrides.push(strides[i]!);
    }
  });
  const out = new Array<number>(to.length).fill(0);
  let oi = 0, ni = 0;
  const newNonUnit = to.map((d, i) => [d, i] as const).filter(([d]) => d !== 1);
  while (oi < oldDims.length && ni < newNonUnit.length) {
    let op = oldDims[oi]!, np = newNonUnit[ni]![0];
    const oStart = oi, nStart = ni;
    while (op !== np) {
      if (op < np) op *= oldDims[++oi]!;
      else np *= newNonUnit[++ni]![0];
    }
    for (let k = oStart; k < oi; k++) {
      if (oldStrides[k] !== oldStrides[k + 1]! * oldDims[k + 1]!) return null;
    }
    let s = oldStrides[oi]!;
    for (let k = ni; k >= nStart; k--) {
      const [d, idx] = newNonUnit[k]!;
      out[idx] = s;
      s *= d;
    }
    oi++;
    ni++;
  }
  // Size-1 axes can take any stride; give them the contiguous one for readability.
  const fallback = contiguousStrides(to);
  to.forEach((d, i) => {
    if (d === 1) out[i] = fallback[i]!;
  });
  return out;
}

/** Same elements in a new shape; one axis may be -1 (inferred). Copies only when it must. */
export function reshape(x: Tensor, shape: Shape): Tensor {
  const target = inferShape(x, shape);
  if (sameShape(target, x.shape)) return x;
  // d(reshape x)/dx: the gradient is reshaped back.
  let strides = reshapeStrides(x.shape, x.strides, target);
  let source = x;
  if (!strides) {
    source = contiguous(x);
    strides = contiguousStrides(target);
  }
  const out = view(source, target, strides, source.offset);
  return record(out, 'reshape', [x], (g) => [reshape(g, x.shape)]);
}

function inferShape(x: Tensor, shape: Shape): number[] {
  const unknown = shape.filter((d) => d === -1).length;
  if (unknown > 1) throw new Error(`reshape: at most one -1 allowed, got ${shapeStr(shape)}`);
  checkShape('reshape', shape.filter((d) => d !== -1));
  const known = sizeOf(shape.filter((d) => d !== -1));
  const target = shape.map((d) => (d === -1 ? (known === 0 ? 0 : x.size / known) : d));
  if (sizeOf(target) !== x.size || !target.every(Number.isInteger)) {
    throw new Error(`reshape: cannot reshape ${shapeStr(x.shape)} (${x.size} elements) to ${shapeStr(shape)}`);
  }
  return target;
}

/** Reorders axes: out.shape[i] = x.shape[dims[i]]. */
export function permute(x: Tensor, dims: readonly number[]): Tensor {
  const d = dims.map((a) => normalizeAxis('permute', a, x.rank));
  if (d.length !== x.rank || new Set(d).size !== d.length) {
    throw new Error(`permute: ${shapeStr(dims)} is not a permutation of the ${x.rank} axes of ${shapeStr(x.shape)}`);
  }
  const out = view(x, d.map((a) => x.shape[a]!), d.map((a) => x.strides[a]!), x.offset);
  // The gradient is permuted back by the inverse permutation.
  const inverse = new Array<number>(d.length);
  d.forEach((a, i) => (inverse[a] = i));
  return record(out, 'permute', [x], (g) => [permute(g, inverse)]);
}

/** Swaps two axes. */
export function transpose(x: Tensor, a = -2, b = -1): Tensor {
  const dims = x.shape.map((_, i) => i);
  const i = normalizeAxis('transpose', a, x.rank), j = normalizeAxis('transpose', b, x.rank);
  [dims[i], dims[j]] = [dims[j]!, dims[i]!];
  return permute(x, dims);
}

/** A view of x repeated along broadcast axes (stride 0), NumPy broadcasting rules. */
export function broadcastView(x: View, shape: Shape): View {
  const lead = shape.length - x.shape.length;
  const strides = shape.map((d, i) => {
    const j = i - lead;
    if (j < 0 || (x.shape[j] === 1 && d !== 1)) return 0;
    return x.strides[j]!;
  });
  return { storage: x.storage, shape, strides, offset: x.offset };
}

/** Broadcasts x to `shape` without copying. */
export function expand(x: Tensor, shape: Shape): Tensor {
  const target = broadcastShapes('expand', x.shape, shape);
  if (!sameShape(target, shape)) {
    throw new Error(`expand: cannot expand ${shapeStr(x.shape)} to ${shapeStr(shape)}`);
  }
  if (sameShape(shape, x.shape)) return x;
  const v = broadcastView(x, shape);
  const out = view(x, shape, v.strides, v.offset);
  // Each input element was used once per copy: its gradient is the sum over the copies.
  return record(out, 'expand', [x], (g) => [unbroadcast(g, x.shape)]);
}

/** Sums a gradient of a broadcast result back down to the shape of the operand that was broadcast. */
export function unbroadcast(g: Tensor, shape: Shape): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    const j = i - lead;
    if (j < 0 || (shape[j] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  return reshape(sum(g, axes), shape);
}

/** A contiguous copy (or x itself when it already is). */
export function contiguous(x: Tensor): Tensor {
  return isContiguous(x.shape, x.strides) ? x : clone(x);
}

/** A copy of x's values in a storage of its own, contiguous (PyTorch's clone): one `copy` op. d(clone)/dx is the identity. */
export function clone(x: Tensor): Tensor {
  const out = new Tensor(x.backend.unary('copy', x), x.shape);
  return record(out, 'clone', [x], (g) => [g]);
}

/** The sub-block starts[i] <= index < ends[i] on each axis (negative values count from the end). */
export function slice(x: Tensor, starts: readonly number[], ends: readonly number[]): Tensor {
  if (starts.length !== x.rank || ends.length !== x.rank) {
    throw new Error(`slice: need ${x.rank} starts and ends for shape ${shapeStr(x.shape)}, got ${starts.length} and ${ends.length}`);
  }
  const lo = starts.map((s, i) => (s < 0 ? s + x.shape[i]! : s));
  const hi = ends.map((e, i) => (e < 0 ? e + x.shape[i]! : e));
  lo.forEach((l, i) => {
    if (!Number.isInteger(l) || !Number.isInteger(hi[i]) || l < 0 || hi[i]! > x.shape[i]! || l > hi[i]!) {
      throw new Error(`slice: range [${starts[i]}, ${ends[i]}) is invalid for axis ${i} of ${shapeStr(x.shape)}`);
    }
  });
  const offset = x.offset + lo.reduce((acc, l, i) => acc + l * x.strides[i]!, 0);
  const out = view(x, hi.map((h, i) => h - lo[i]!), x.strides, offset);
  // The gradient lands in the sliced region of a zero tensor of x's shape.
  return record(out, 'slice', [x], (g) => {
    const gx = new Tensor(g.backend.zeros(x.size), x.shape);
    const region = view(gx, g.shape, gx.strides, lo.reduce((acc, l, i) => acc + l * gx.strides[i]!, 0));
    g.backend.assign(region, g);
    return [gx];
  });
}

/** Joins tensors along `axis`; all other axes must agree. */
export function concat(tensors: readonly Tensor[], axis: number): Tensor {
  if (tensors.length === 0) throw new Error('concat: needs at least one tensor');
  const first = tensors[0]!;
  const ax = normalizeAxis('concat', axis, first.rank);
  for (const t of tensors) {
    if (t.rank !== first.rank || t.shape.some((d, i) => i !== ax && d !== first.shape[i])) {
      throw new Error(`concat: shapes ${tensors.map((u) => shapeStr(u.shape)).join(', ')} differ outside axis ${ax}`);
    }
  }
  const shape = first.shape.slice();
  shape[ax] = tensors.reduce((acc, t) => acc + t.shape[ax]!, 0);
  const out = new Tensor(sameBackend('concat', ...tensors).concat([...tensors], ax), shape);
  const starts: number[] = [];
  let at = 0;
  for (const t of tensors) {
    starts.push(at);
    at += t.shape[ax]!;
  }
  // Each input's gradient is its own slab of the output gradient.
  return record(out, 'concat', tensors, (g) =>
    tensors.map((t, k) => {
      const lo = g.shape.map((_, i) => (i === ax ? starts[k]! : 0));
      const hi = g.shape.map((d, i) => (i === ax ? starts[k]! + t.shape[ax]! : d));
      return slice(g, lo, hi);
    }),
  );
}

/** Concatenation along channels of NCHW tensors (UNet skip connections). */
export function concatChannels(tensors: readonly Tensor[]): Tensor {
  for (const t of tensors) {
    if (t.rank !== 4) throw new Error(`concatChannels: expected NCHW tensors, got ${shapeStr(t.shape)}`);
  }
  return concat(tensors, 1);
}
