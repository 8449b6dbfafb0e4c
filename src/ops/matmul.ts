// Matrix products.

import { isGradEnabled, record } from '../tensor/autograd.js';
import { broadcastShapes, shapeStr, sizeOf } from '../util/shape.js';
import { sameBackend, Tensor } from '../tensor/tensor.js';
import { fusedKernels } from '../backends/backend.js';
import { add, mul } from './elementwise.js';
import { silu } from './activation.js';
import { sum } from './reduce.js';
import { expand, reshape, transpose } from './view.js';

export interface MatmulOptions {
  /** Scales the product (attention's 1/√C). */
  alpha?: number;
  /** Added along the last axis, [N] (a Linear's bias). */
  bias?: Tensor | null;
  /**
   * SiLU of the result (the time embedding's activation): applied as the product is written
   * where no gradient is recorded (its backward would need the value SiLU replaced), else by a
   * SiLU op after it.
   */
  silu?: boolean;
}

/**
 * Batched product of 3-D tensors, a [B,M,K] · b [B,K,N] -> [B,M,N], times alpha, plus bias[n].
 * C = α·A·B + bias:  dA = α·dC·Bᵀ,  dB = α·Aᵀ·dC,  dbias = Σ over B and M of dC
 * (transposes are free views; the backend reads them strided). Where the backend has the
 * epilogue kernels, alpha and the bias are applied as the product is written (no launch more).
 */
export function bmm(a: Tensor, b: Tensor, { alpha = 1, bias = null, silu: withSilu = false }: MatmulOptions = {}): Tensor {
  if (a.rank !== 3 || b.rank !== 3 || a.shape[0] !== b.shape[0] || a.shape[2] !== b.shape[1]) {
    throw new Error(`bmm: cannot multiply ${shapeStr(a.shape)} by ${shapeStr(b.shape)} (need [B,M,K] and [B,K,N])`);
  }
  const N = b.shape[2]!;
  if (bias && (bias.rank !== 1 || bias.shape[0] !== N)) throw new Error(`bmm: bias ${shapeStr(bias.shape)} should be [${N}]`);
  const be = sameBackend('bmm', a, b, bias);
  const epilogue = fusedKernels(be).epilogue;
  const recorded = isGradEnabled() && [a, b, bias].some((t) => t?.requiresGrad);
  if (withSilu && (recorded || !epilogue)) return silu(bmm(a, b, { alpha, bias }));
  const plain = alpha === 1 && !bias && !withSilu;
  if (!plain && !epilogue) {
    const product = bmm(a, b);
    const scaled = alpha === 1 ? product : mul(product, alpha);
    return bias ? add(scaled, bias) : scaled;
  }
  const storage = plain ? be.matmul(a, b) : epilogue!.matmulEpilogue(a, b, alpha, bias, withSilu);
  const out = new Tensor(storage, [a.shape[0]!, a.shape[1]!, N]);
  return record(out, 'bmm', bias ? [a, b, bias] : [a, b], (g) => [
    a.requiresGrad ? bmm(g, transpose(b), { alpha }) : null,
    // When b is a transposed view (a Linear's Wᵀ), dB is computed as (dCᵀ·A)ᵀ: the same values,
    // laid out as b is, so W's gradient comes back contiguous (no copy before the optimizer).
    b.requiresGrad ? (isTransposed(b) ? transpose(bmm(transpose(g), a, { alpha })) : bmm(transpose(a), g, { alpha })) : null,
    ...(bias ? [bias.requiresGrad ? sum(g, [0, 1]) : null] : []),
  ]);
}

/** Whether t's last two axes are swapped from a contiguous layout (its rows are columns in memory). */
function isTransposed(t: Tensor): boolean {
  const [K, N] = t.shape.slice(-2) as [number, number];
  return K > 1 && N > 1 && t.strides[t.rank - 2] === 1 && t.strides[t.rank - 1] === K;
}

/**
 * Matrix product with PyTorch's rules: 2-D · 2-D, or batched over leading axes, which broadcast.
 * Composed from expand, reshape and bmm, so broadcast batches get summed gradients.
 */
export function matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
  if (a.rank < 2 || b.rank < 2) {
    throw new Error(`matmul: operands need at least 2 axes, got ${shapeStr(a.shape)} and ${shapeStr(b.shape)}`);
  }
  const [M, K] = a.shape.slice(-2) as [number, number];
  const [K2, N] = b.shape.slice(-2) as [number, number];
  if (K !== K2) {
    throw new Error(`matmul: inner sizes differ: ${shapeStr(a.shape)} · ${shapeStr(b.shape)} (${K} vs ${K2})`);
  }
  const batch = broadcastShapes('matmul', a.shape.slice(0, -2), b.shape.slice(0, -2));
  const B = sizeOf(batch);
  const a3 = reshape(expand(a, [...batch, M, K]), [B, M, K]);
  const b3 = reshape(expand(b, [...batch, K, N]), [B, K, N]);
  return reshape(bmm(a3, b3, options), [...batch, M, N]);
}

/** y = x·Wᵀ + b, with W [out, in] as in PyTorch; x [..., in]; SiLU(y) with `silu` (see MatmulOptions). */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null, { silu = false }: { silu?: boolean } = {}): Tensor {
  if (weight.rank !== 2 || x.rank < 1 || x.shape[x.rank - 1] !== weight.shape[1]) {
    throw new Error(`linear: input ${shapeStr(x.shape)} does not fit weight ${shapeStr(weight.shape)} (need [..., in] and [out, in])`);
  }
  if (bias && (bias.rank !== 1 || bias.shape[0] !== weight.shape[0])) {
    throw new Error(`linear: bias ${shapeStr(bias.shape)} does not match weight ${shapeStr(weight.shape)} (need [${weight.shape[0]}])`);
  }
  const x2 = x.rank === 1 ? reshape(x, [1, -1]) : x;
  const y = matmul(x2, transpose(weight), { bias, silu });
  return x.rank === 1 ? reshape(y, [weight.shape[0]!]) : y;
}
