// 2-D convolution (PyTorch's conv2d: cross-correlation, NCHW, weight [Cout, Cin, kh, kw]).

import { convOutputSize, fusedKernels, type Conv2dGeometry } from '../backends/backend.js';
import { gradientPack, record } from '../tensor/autograd.js';
import { shapeStr } from '../util/shape.js';
import { sameBackend, Tensor } from '../tensor/tensor.js';
import { sum } from './reduce.js';
import { add } from './elementwise.js';
import { contiguous, expand, reshape, transpose } from './view.js';
import { linear, matmul } from './matmul.js';

export interface Conv2dOptions {
  stride?: number;
  padding?: number;
  /**
   * A tensor added to the output, broadcast to its shape [N, F, Ho, Wo]: a residual, or a
   * per-image channel bias [N, F, 1, 1] (the time embedding). Where the backend has the
   * epilogue kernels, the convolution adds it as it writes (one launch fewer).
   */
  add?: Tensor | null;
  /**
   * A Linear's output [N, F] added at every position, x [N, K] · weightᵀ + bias (the time
   * embedding's projection): where the backend has the epilogue kernels, the convolution works
   * it out as it writes (no launch for the Linear).
   */
  project?: { x: Tensor; weight: Tensor; bias?: Tensor | null } | null;
}

/**
 * y[n,f,oy,ox] = Σ_{c,i,j} x[n,c,oy·s−p+i, ox·s−p+j] · w[f,c,i,j] (+ bias[f]) (+ add) (+ P[n,f]),
 * with P = u·Wpᵀ + bp the projection.
 *   dL/dx: every output position sends dy·w back to the inputs it read (a transposed convolution);
 *   dL/dw: Σ over images and positions of dy[n,f,oy,ox] · the input patch it read;
 *   dL/dbias[f]: Σ over images and positions of dy[n,f,oy,ox] (with dL/dw, by the same kernel);
 *   dL/dadd: dy, summed over the axes `add` was broadcast along (expand's backward);
 *   the projection's: with S[n,f] = Σ over positions of dy, dL/du = S·Wp, dL/dWp = Sᵀ·u, and
 *   dL/dbp = Σ_n S, which is dL/dbias again (a second copy from the same kernel).
 */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor | null, options: Conv2dOptions = {}): Tensor {
  const g: Conv2dGeometry = { stride: options.stride ?? 1, padding: options.padding ?? 0 };
  const where = `conv2d(x ${shapeStr(x.shape)}, weight ${shapeStr(weight.shape)}, stride ${g.stride}, padding ${g.padding})`;
  if (x.rank !== 4) throw new Error(`${where}: input must be [N, C, H, W]`);
  if (weight.rank !== 4) throw new Error(`${where}: weight must be [Cout, Cin, kh, kw]`);
  if (!Number.isInteger(g.stride) || g.stride < 1 || !Number.isInteger(g.padding) || g.padding < 0) {
    throw new Error(`${where}: stride must be a positive integer and padding a non-negative integer`);
  }
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const [F, Cin, kh, kw] = weight.shape as [number, number, number, number];
  if (C !== Cin) throw new Error(`${where}: input has ${C} channels but the weight expects ${Cin}`);
  const Ho = convOutputSize(H, kh, g), Wo = convOutputSize(W, kw, g);
  if (Ho < 1 || Wo < 1) throw new Error(`${where}: the kernel does not fit in the padded input`);
  if (bias && (bias.rank !== 1 || bias.shape[0] !== F)) {
    throw new Error(`${where}: bias ${shapeStr(bias.shape)} should be [${F}]`);
  }
  const project = options.project ?? null;
  if (project) checkProjection(project, N, F, where);
  if (project && options.add) throw new Error(`${where}: add and project together are not supported (one epilogue a convolution)`);
  const be = sameBackend(where, x, weight, bias, options.add, project?.x, project?.weight, project?.bias);
  const added = options.add ? expandTo(options.add, [N, F, Ho, Wo], where) : null;
  const epilogue = fusedKernels(be).epilogue;
  if ((added || project) && !epilogue) {
    const extra = added ?? reshape(linear(project!.x, project!.weight, project!.bias), [N, F, 1, 1]);
    return add(conv2d(x, weight, bias, { stride: g.stride, padding: g.padding }), extra);
  }
  const storage = added ? epilogue!.conv2dAdd(x, weight, bias ?? null, added, g)
    : project ? epilogue!.conv2dProject(x, weight, bias ?? null, { x: project.x, weight: project.weight, bias: project.bias ?? null }, g)
      : be.conv2d(x, weight, bias ?? null, g);
  const y = new Tensor(storage, [N, F, Ho, Wo]);
  const projected = project ? [project.x, project.weight, ...(project.bias ? [project.bias] : [])] : [];
  const inputs = [x, weight, ...(bias ? [bias] : []), ...(added ? [added] : []), ...projected];
  return record(y, 'conv2d', inputs, (grad) => {
    // Both kernels read dy whole: a strided dy (a slice of a concat's gradient) is copied once for both.
    const dy = x.requiresGrad && weight.requiresGrad ? contiguous(grad) : grad;
    // The weight's gradient and, after it in the same storage (one kernel), the bias's, then the
    // projection's bias's (the same values).
    const copies = weight.requiresGrad && bias?.requiresGrad ? (project?.bias?.requiresGrad ? 2 : 1) : 0;
    const packed = weight.requiresGrad ? be.conv2dBackwardWeight(x, dy, weight.shape, g, copies) : null;
    const [dw = null, db = null, dpb = null] = packed ? gradientPack(packed, weight.shape, ...Array<number[]>(copies).fill([F])) : [];
    return [
      x.requiresGrad ? new Tensor(be.conv2dBackwardInput(dy, weight, x.shape, g), x.shape) : null,
      dw,
      ...(bias ? [bias.requiresGrad ? db ?? sum(dy, [0, 2, 3]) : null] : []),
      ...(added ? [added.requiresGrad ? grad : null] : []),
      ...(project ? projectionGrads(project, grad, dpb) : []),
    ];
  });
}

/** The projection's gradients from S = Σ over positions of dy: S·Wp, Sᵀ·u, and Σ_n S (given as `dbias` when the kernel made it). */
function projectionGrads(project: NonNullable<Conv2dOptions['project']>, grad: Tensor, dbias: Tensor | null): Array<Tensor | null> {
  const { x: u, weight: pw, bias: pb } = project;
  const S = sum(grad, [2, 3]);
  return [
    u.requiresGrad ? matmul(S, pw) : null,
    pw.requiresGrad ? matmul(transpose(S), u) : null,
    ...(pb ? [pb.requiresGrad ? dbias ?? sum(S, [0]) : null] : []),
  ];
}

function checkProjection(project: NonNullable<Conv2dOptions['project']>, N: number, F: number, where: string): void {
  const { x: u, weight: pw, bias: pb } = project;
  const K = pw.shape[1];
  if (u.rank !== 2 || pw.rank !== 2 || u.shape[0] !== N || pw.shape[0] !== F || u.shape[1] !== K) {
    throw new Error(`${where}: project x ${shapeStr(u.shape)} and weight ${shapeStr(pw.shape)} should be [${N}, K] and [${F}, K]`);
  }
  if (pb && (pb.rank !== 1 || pb.shape[0] !== F)) throw new Error(`${where}: project bias ${shapeStr(pb.shape)} should be [${F}]`);
}

/** `add` broadcast to the output's shape, or an error naming both. */
function expandTo(t: Tensor, shape: number[], where: string): Tensor {
  try {
    return expand(t, shape);
  } catch {
    throw new Error(`${where}: add ${shapeStr(t.shape)} does not broadcast to the output ${shapeStr(shape)}`);
  }
}
