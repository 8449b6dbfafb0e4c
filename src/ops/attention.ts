// Attention's core as one op: its forward and backward side by side, as micrograd keeps them.

import { noGrad, record } from '../tensor/autograd.js';
import { shapeStr } from '../util/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { softmax, softmaxGrad } from './activation.js';
import { bmm } from './matmul.js';
import { concat, reshape, slice, transpose } from './view.js';

/**
 * Single-head attention over N positions, from a projection laid out [B, 3, C, N] (q, k and v its
 * three blocks of C channels):
 *
 *   S = α·qᵀk        [B, N (query), N (key)]        α = 1/√C
 *   P = softmax(S)   over the keys
 *   h = v·Pᵀ         [B, C, N]
 *
 * and back, from dh:
 *
 *   dv = dh·P,   dP = dhᵀ·v,   dS = P·(dP − Σ_keys dP·P),   dq = α·k·dSᵀ,   dk = α·q·dS
 *   d(qkv) = [dq; dk; dv]    (one concatenation)
 *
 * Composed from slices, the gradient of each of q, k and v came back as a zero tensor of qkv's
 * shape with its block written in (two launches each) and the three were added (two more): one
 * op builds d(qkv) in one piece, and three launches a block do the backward's products.
 */
export function attention(qkv: Tensor, alpha: number): Tensor {
  if (qkv.rank !== 4 || qkv.shape[1] !== 3) throw new Error(`attention: qkv must be [B, 3, C, N], got ${shapeStr(qkv.shape)}`);
  const [B, , C, N] = qkv.shape as [number, number, number, number];
  const { q, k, v, p, h } = noGrad(() => {
    const part = (i: number) => reshape(slice(qkv, [0, i, 0, 0], [B, i + 1, C, N]), [B, C, N]); // views
    const q = part(0), k = part(1), v = part(2);
    const p = softmax(bmm(transpose(q), k, { alpha }), -1);
    return { q, k, v, p, h: bmm(v, transpose(p)) };
  });
  return record(h, 'attention', [qkv], (dh) => {
    const dv = bmm(dh, p);
    const dS = softmaxGrad(p, bmm(transpose(dh), v));
    const dq = bmm(k, transpose(dS), { alpha });
    const dk = bmm(q, dS, { alpha });
    return [concat([dq, dk, dv].map((d) => reshape(d, [B, 1, C, N])), 1)];
  });
}
