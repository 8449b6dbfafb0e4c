// 2-D convolution (PyTorch's conv2d: cross-correlation, NCHW, weight [Cout, Cin, kh, kw]).

import { convOutputSize, fusedKernels, type Conv2dGeometry } from '../backends/backend.js';
import { gradientPack, record } from '../tensor/autograd.js';
import { shapeStr } from '../util/shape.js';
import { sameBackend, Tensor } from '../tensor/tensor.js';
import { sum } from './reduce.js';
import { add } from './elementwise.js';
import { contiguous, expand } from './view.js';

export interface Conv2dOptions {
  stride?: number;
  padding?: number;
  /**
   * A tensor added to the output, broadcast to its shape [N, F, Ho, Wo]: a residual, or a
   * per-image channel bias [N, F, 1, 1] (the time embedding). Where the backend has the
   * epilogue kernels, the convolution adds it as it writes (one launch fewer).
   */
  add?: Tensor | null;
}

/**
 * y[n,f,oy,ox] = Σ_{c,i,j} x[n,c,oy·s−p+i, ox·s−p+j] · w[f,c,i,j] (+ bias[f]).
 *   dL/dx: every output position sends dy·w back to the inputs it read (a transposed convolution);
 *   dL/dw: Σ over images and positions of dy[n,f,oy,ox] · the input patch it read;
 *   dL/dbias[f]: Σ over images and positions of dy[n,f,oy,ox] (with dL/dw, by the same kernel);
 *   dL/dadd: dy, summed over the axes `add` was broadcast along (expand's backward).
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
  const be = sameBackend(where, x, weight, bias, options.add);
  const added = options.add ? expandTo(options.add, [N, F, Ho, Wo], where) : null;
  const epilogue = fusedKernels(be).epilogue;
  if (added && !epilogue) return add(conv2d(x, weight, bias, { stride: g.stride, padding: g.padding }), added);
  const y = new Tensor(added ? epilogue!.conv2dAdd(x, weight, bias ?? null, added, g) : be.conv2d(x, weight, bias ?? null, g), [N, F, Ho, Wo]);
  const inputs = [x, weight, ...(bias ? [bias] : []), ...(added ? [added] : [])];
  return record(y, 'conv2d', inputs, (grad) => {
    // Both kernels read dy whole: a strided dy (a slice of a concat's gradient) is copied once for both.
    const dy = x.requiresGrad && weight.requiresGrad ? contiguous(grad) : grad;
    // The weight's and the bias's gradients from one kernel, side by side in one storage.
    const both = weight.requiresGrad && bias?.requiresGrad === true;
    const [dw = null, db = null] = weight.requiresGrad
      ? both ? gradientPack(be.conv2dBackwardWeight(x, dy, weight.shape, g, true), weight.shape, [F]) : [new Tensor(be.conv2dBackwardWeight(x, dy, weight.shape, g, false), weight.shape)]
      : [];
    return [
      x.requiresGrad ? new Tensor(be.conv2dBackwardInput(dy, weight, x.shape, g), x.shape) : null,
      dw,
      ...(bias ? [bias.requiresGrad ? db ?? sum(dy, [0, 2, 3]) : null] : []),
      ...(added ? [added.requiresGrad ? grad : null] : []),
    ];
  });
}

/** `add` broadcast to the output's shape, or an error naming both. */
function expandTo(t: Tensor, shape: number[], where: string): Tensor {
  try {
    return expand(t, shape);
  } catch {
    throw new Error(`${where}: add ${shapeStr(t.shape)} does not broadcast to the output ${shapeStr(shape)}`);
  }
}
