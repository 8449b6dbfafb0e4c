// The basic layers: thin modules holding parameters around the functional ops.

import * as F from '../ops/index.js';
import { full, zeros } from '../ops/creation.js';
import { globalRng, type Rng } from '../random/rng.js';
import { gradientsPacked } from '../tensor/autograd.js';
import type { Tensor } from '../tensor/tensor.js';
import { defaultBound, uniform } from './init.js';
import { Module } from './module.js';

export interface InitOptions {
  rng?: Rng;
  bias?: boolean;
}

/** y = x·Wᵀ + b, W [out, in]. */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(readonly inFeatures: number, readonly outFeatures: number, { rng = globalRng, bias = true }: InitOptions = {}) {
    super();
    const bound = defaultBound(inFeatures);
    this.weight = this.addParameter('weight', uniform([outFeatures, inFeatures], bound, rng));
    this.bias = bias ? this.addParameter('bias', uniform([outFeatures], bound, rng)) : null;
  }

  /** x·Wᵀ + b, then SiLU where `silu` (applied as the product is written when no gradient is recorded). */
  forward(x: Tensor, { silu = false }: { silu?: boolean } = {}): Tensor {
    return F.linear(x, this.weight, this.bias, { silu });
  }
}

export interface Conv2dConfig extends InitOptions {
  stride?: number;
  padding?: number;
}

/** 2-D convolution, W [out, in, k, k]. */
export class Conv2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly stride: number;
  readonly padding: number;

  constructor(readonly inChannels: number, readonly outChannels: number, readonly kernelSize: number,
    { rng = globalRng, bias = true, stride = 1, padding = 0 }: Conv2dConfig = {}) {
    super();
    this.stride = stride;
    this.padding = padding;
    const bound = defaultBound(inChannels * kernelSize * kernelSize);
    this.weight = this.addParameter('weight', uniform([outChannels, inChannels, kernelSize, kernelSize], bound, rng));
    this.bias = bias ? this.addParameter('bias', uniform([outChannels], bound, rng)) : null;
    if (this.bias) gradientsPacked(this.weight, this.bias); // conv2d returns both gradients from one kernel
  }

  /**
   * conv(x), plus `add` (broadcast to the output) or a Linear's `project`ion of a vector per
   * image (added at every position) where given: added as the output is written on a GPU.
   */
  forward(x: Tensor, { add = null, project = null }: { add?: Tensor | null; project?: { x: Tensor; linear: Linear } | null } = {}): Tensor {
    const projection = project && { x: project.x, weight: project.linear.weight, bias: project.linear.bias };
    return F.conv2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding, add, project: projection });
  }

  /** Sets weight and bias to zero (DDPM's zero-initialised output layers). */
  zeroInit(): this {
    this.weight.assign(zeros(this.weight.shape));
    if (this.bias) this.bias.assign(zeros(this.bias.shape));
    return this;
  }
}

/** Group normalisation with a per-channel affine (weight 1, bias 0 at start). */
export class GroupNorm extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;

  constructor(readonly groups: number, readonly channels: number, readonly eps = 1e-5) {
    super();
    if (!Number.isInteger(groups) || groups < 1 || channels % groups !== 0) {
      throw new Error(`GroupNorm: ${groups} groups do not divide ${channels} channels`);
    }
    this.weight = this.addParameter('weight', full([channels], 1));
    this.bias = this.addParameter('bias', zeros([channels]));
    gradientsPacked(this.weight, this.bias); // groupNorm returns both gradients from one reduce
  }

  forward(x: Tensor): Tensor {
    return F.groupNorm(x, this.groups, this.weight, this.bias, this.eps);
  }

  /** SiLU(forward(x)), fused into one kernel (every UNet block normalises, then applies SiLU). */
  forwardSilu(x: Tensor): Tensor {
    return F.groupNormSilu(x, this.groups, this.weight, this.bias, this.eps);
  }
}
