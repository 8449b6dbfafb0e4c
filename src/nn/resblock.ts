// The residual block of the DDPM UNet.

import * as F from '../ops/index.js';
import type { Rng } from '../random/rng.js';
import type { Tensor } from '../tensor/tensor.js';
import { Conv2d, GroupNorm, Linear } from './layers.js';
import { Module } from './module.js';
import { gradientsPacked } from '../tensor/autograd.js';

export interface ResBlockOptions {
  groups: number;
  dropout?: number;
  rng?: Rng;
}

/**
 * h = conv1(SiLU(norm1(x))) + tembProj(SiLU(temb)) (broadcast over H×W)
 * h = conv2(dropout(SiLU(norm2(h))))
 * out = skip(x) + h, where skip is a 1×1 convolution when the channel count changes.
 */
export class ResBlock extends Module {
  readonly norm1: GroupNorm;
  readonly conv1: Conv2d;
  readonly tembProj: Linear;
  readonly norm2: GroupNorm;
  readonly conv2: Conv2d;
  readonly skip: Conv2d | null;
  readonly dropout: number;

  constructor(readonly inChannels: number, readonly outChannels: number, tembDim: number, { groups, dropout = 0, rng }: ResBlockOptions) {
    super();
    this.dropout = dropout;
    this.norm1 = this.addModule('norm1', new GroupNorm(groups, inChannels));
    this.conv1 = this.addModule('conv1', new Conv2d(inChannels, outChannels, 3, { padding: 1, rng }));
    this.tembProj = this.addModule('tembProj', new Linear(tembDim, outChannels, { rng }));
    // conv1 adds tembProj's output, so that bias's gradient is conv1's bias's, made by the same kernel.
    gradientsPacked(this.conv1.weight, this.tembProj.bias!);
    this.norm2 = this.addModule('norm2', new GroupNorm(groups, outChannels));
    this.conv2 = this.addModule('conv2', new Conv2d(outChannels, outChannels, 3, { padding: 1, rng }));
    this.skip = inChannels !== outChannels ? this.addModule('skip', new Conv2d(inChannels, outChannels, 1, { rng })) : null;
  }

  /**
   * x [B, C, H, W], temb [B, tembDim]. A block reads only SiLU(temb): a caller that runs several
   * blocks on one embedding (the UNet) passes `tembSilu` instead, computed once (temb null).
   */
  forward(x: Tensor, temb: Tensor | null, tembSilu: Tensor | null = null): Tensor {
    if (!tembSilu && !temb) throw new Error('ResBlock.forward: give temb [B, tembDim] or tembSilu');
    tembSilu ??= F.silu(temb!);
    // The time embedding's projection and the residual are added by the convolutions as they
    // write (conv's `project` and `add`): conv1 works out tembProj(SiLU(temb)) itself.
    let h = this.conv1.forward(this.norm1.forwardSilu(x), { project: { x: tembSilu, linear: this.tembProj } });
    h = F.dropout(this.norm2.forwardSilu(h), this.dropout, this.training);
    return this.conv2.forward(h, { add: this.skip ? this.skip.forward(x) : x });
  }
}
