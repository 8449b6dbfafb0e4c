// Convolutions and their gradients: one thread an output value (kernels/conv.ts). Each is sliced
// along the batch (images are independent); the weight gradient sums over it, so its slices'
// outputs are added.

import { sizeOf } from '../../../util/shape.js';
import { convOutputSize, type Conv2dGeometry, type Projection, type Storage, type View } from '../../backend.js';
import { conv2d as conv2dKernel, conv2dFour as conv2dFourKernel, conv2dBackwardInput as conv2dBackwardInputKernel, conv2dBackwardInputFour as conv2dBackwardInputFourKernel, conv2dBackwardWeight as conv2dBackwardWeightKernel, conv2dBackwardWeightFour as conv2dBackwardWeightFourKernel } from '../../../../kernels/conv.js';
import { MAX_SERIAL, outputDims, viewConstants, type Launcher } from '../launch.js';
import { sliced } from '../slicing.js';
import { combine } from './elementwise.js';
import { reduceWithin } from './reduce.js';

function convConstants(xShape: readonly number[], wShape: readonly number[], g: Conv2dGeometry): Record<string, number> {
  const [N, C, H, W] = xShape as [number, number, number, number];
  const [F, , kh, kw] = wShape as [number, number, number, number];
  return { N, C, H, W, F, kh, kw, Ho: convOutputSize(H, kh, g), Wo: convOutputSize(W, kw, g), s: g.stride, p: g.padding };
}

/**
 * Whether the convolution runs four values a thread (conv2dFour, conv2dBackwardInputFour): where
 * the mode can (WebGPU), for a 3×3 kernel, stride 1, padding 1 (output as wide as the input), and
 * rows a multiple of four wide.
 */
function fourAThread(l: Launcher, c: Record<string, number>): boolean {
  return l.fourPerThread && c.kh === 3 && c.kw === 3 && c.s === 1 && c.p === 1 && c.W! % 4 === 0;
}

/**
 * conv2d(x, w, bias) (+ add, a view of the output's shape, read in place: conv2dAdd's epilogue)
 * (+ a projection: u·pwᵀ + pb, [N, F], added at every position: conv2dProject's).
 */
export function conv2d(l: Launcher, x: View, w: View, bias: View | null, g: Conv2dGeometry, add: View | null = null, project: Projection | null = null): Storage {
  const c = convConstants(x.shape, w.shape, g);
  const slicedInputs = [{ view: x, axis: 0 }, ...(add ? [{ view: add, axis: 0 }] : []), ...(project ? [{ view: project.x, axis: 0 }] : [])];
  return sliced(l, { name: 'conv2d', items: c.N!, outputs: [{ item: c.F! * c.Ho! * c.Wo! }], sliced: slicedInputs, whole: [w, bias, project?.weight ?? null, project?.bias ?? null] }, (parts, [w, bias, pw, pb]) => {
    const [x, ...rest] = parts;
    const addPart = add ? rest.shift()! : null;
    const projectPart = project ? { x: rest.shift()!, weight: pw!, bias: pb ?? null } : null;
    return [conv2dWithin(l, x!, w!, bias!, g, addPart, projectPart)];
  })[0]!;
}

function conv2dWithin(l: Launcher, x: View, w: View, bias: View | null, g: Conv2dGeometry, add: View | null, project: Projection | null): Storage {
  const c = convConstants(x.shape, w.shape, g);
  const xs = l.contiguous(x), ws = l.contiguousAt(w);
  const bs = bias ? l.contiguousAt(bias) : l.filled(1, 0);
  const outShape = [c.N!, c.F!, c.Ho!, c.Wo!];
  // Without an add, its slot repeats x and its strides are zeros (never read); so do a missing projection's.
  const addConstants = { ...outputDims(outShape), ...viewConstants('add', add ?? { shape: outShape, strides: [0, 0, 0, 0], offset: 0 }) };
  const us = project ? l.contiguous(project.x) : null;
  const pws = project ? l.contiguousAt(project.weight) : null;
  const pbs = project?.bias ? l.contiguousAt(project.bias) : null;
  const projectConstants = { hasProjection: project ? 1 : 0, hasProjectionBias: pbs ? 1 : 0, K: project ? project.x.shape[1]! : 1 };
  const constants = { ...c, hasBias: bias ? 1 : 0, hasAdd: add ? 1 : 0, ...addConstants, ...projectConstants };
  const args = [xs, ws, bs, add ? l.arg(add.storage) : xs, us ?? xs, pws ?? xs, pbs ?? xs, ws.at, bs.at, pws?.at ?? 0, pbs?.at ?? 0];
  const out = fourAThread(l, c)
    ? l.runFour('conv2dFour', conv2dFourKernel, c.N! * c.F! * c.Ho! * c.Wo!, constants, ...args)
    : l.run('conv2d', conv2dKernel, c.N! * c.F! * c.Ho! * c.Wo!, constants, ...args);
  l.done(xs.temp, ws.temp, bs.temp, us?.temp ?? null, pws?.temp ?? null, pbs?.temp ?? null);
  return out;
}

export function conv2dBackwardInput(l: Launcher, dy: View, w: View, xShape: readonly number[], g: Conv2dGeometry): Storage {
  const [N, ...image] = xShape;
  return sliced(l, { name: 'conv2dBackwardInput', items: N!, outputs: [{ item: sizeOf(image) }], sliced: [{ view: dy, axis: 0 }], whole: [w] }, ([dy], [w]) => [conv2dBackwardInputWithin(l, dy!, w!, [dy!.shape[0]!, ...image], g)])[0]!;
}

function conv2dBackwardInputWithin(l: Launcher, dy: View, w: View, xShape: readonly number[], g: Conv2dGeometry): Storage {
  const c = convConstants(xShape, w.shape, g);
  const dys = l.contiguous(dy), ws = l.contiguousAt(w);
  const out = fourAThread(l, c)
    ? l.runFour('conv2dBackwardInputFour', conv2dBackwardInputFourKernel, sizeOf(xShape), c, dys, ws, ws.at)
    : l.run('conv2dBackwardInput', conv2dBackwardInputKernel, sizeOf(xShape), c, dys, ws, ws.at);
  l.done(dys.temp, ws.temp);
  return out;
}

/** dw, then `biasCopies` copies of db (Σ dy over images and positions) after it in the same storage. */
export function conv2dBackwardWeight(l: Launcher, x: View, dy: View, wShape: readonly number[], g: Conv2dGeometry, biasCopies: number): Storage {
  const size = sizeOf(wShape) + biasCopies * wShape[0]!;
  return sliced(l, { name: 'conv2dBackwardWeight', items: x.shape[0]!, outputs: [{ size, combine: 'add' }], sliced: [{ view: x, axis: 0 }, { view: dy, axis: 0 }], whole: [] }, ([x, dy]) => [conv2dBackwardWeightWithin(l, x!, dy!, wShape, g, biasCopies)], (op, parts) => combine(l, op, parts))[0]!;
}

/**
 * Partial sums over parts of R output rows (n, oy), about MAX_SERIAL products a thread, then
 * their sum; fewer, longer parts where that many partial sums would not fit one texture.
 */
function conv2dBackwardWeightWithin(l: Launcher, x: View, dy: View, wShape: readonly number[], g: Conv2dGeometry, biasCopies: number): Storage {
  const c = convConstants(x.shape, wShape, g);
  const B = biasCopies * c.F!, size = sizeOf(wShape) + B, rows = c.N! * c.Ho!;
  const maxParts = Math.max(1, Math.floor(l.pageSize / size));
  const R = Math.min(rows, Math.max(1, Math.floor(MAX_SERIAL / c.Wo!), Math.ceil(rows / maxParts))), parts = Math.ceil(rows / R);
  const xs = l.contiguous(x), dys = l.contiguous(dy);
  const constants = { ...c, R, size: sizeOf(wShape), B };
  // Four values a thread where the mode can (WebGPU) and four consecutive values share a filter.
  const four = l.fourPerThread && c.F! % 4 === 0 && (sizeOf(wShape) / c.F!) % 4 === 0;
  const partial = four
    ? l.runFour('conv2dBackwardWeightFour', conv2dBackwardWeightFourKernel, parts * size, constants, xs, dys)
    : l.run('conv2dBackwardWeight', conv2dBackwardWeightKernel, parts * size, constants, xs, dys);
  l.done(xs.temp, dys.temp);
  if (parts === 1) return partial;
  const out = reduceWithin(l, 'sum', { storage: partial, shape: [parts, size], strides: [size, 1], offset: 0 }, [0]);
  l.done(partial);
  return out;
}
