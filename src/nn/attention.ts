// Single-head self-attention over the pixels of a feature map.

import * as F from '../ops/index.js';
import type { Rng } from '../random/rng.js';
import type { Tensor } from '../tensor/tensor.js';
import { Conv2d, GroupNorm } from './layers.js';
import { Module } from './module.js';

/**
 * Every pixel attends to every pixel: with [q; k; v] = qkv(norm(x)) (a 1×1 convolution, channels
 * [0,C) q, [C,2C) k, [2C,3C) v) flattened to [B, C, HW],
 *   weights = softmax over keys of qᵀk / √C          [B, HW(query), HW(key)]
 *   out     = x + proj(v · weightsᵀ)                  (proj: 1×1 convolution)
 */
export class AttentionBlock extends Module {
  readonly norm: GroupNorm;
  readonly qkv: Conv2d;
  readonly proj: Conv2d;

  constructor(readonly channels: number, groups: number, rng?: Rng) {
    super();
    this.norm = this.addModule('norm', new GroupNorm(groups, channels));
    this.qkv = this.addModule('qkv', new Conv2d(channels, 3 * channels, 1, { rng }));
    this.proj = this.addModule('proj', new Conv2d(channels, channels, 1, { rng }));
  }

  forward(x: Tensor): Tensor {
    const [B, C, H, W] = x.shape as [number, number, number, number];
    const qkv = F.reshape(this.qkv.forward(this.norm.forward(x)), [B, 3, C, H * W]);
    const h = F.attention(qkv, 1 / Math.sqrt(C)); // softmax(qᵀk/√C) weighting v, as one op (ops/attention.ts)
    return this.proj.forward(F.reshape(h, [B, C, H, W]), { add: x }); // proj(h) + x: the residual added as proj writes
  }
}
