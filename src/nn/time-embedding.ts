// The timestep embedding MLP of the DDPM UNet.

import * as F from '../ops/index.js';
import type { Rng } from '../random/rng.js';
import type { Tensor } from '../tensor/tensor.js';
import { Linear } from './layers.js';
import { Module } from './module.js';

/** sinusoidal(t, base) → `dense0` Linear(base→tdim) → SiLU → `dense1` Linear(tdim→tdim). */
export class TimeEmbedding extends Module {
  readonly dense0: Linear;
  readonly dense1: Linear;

  constructor(readonly baseChannels: number, readonly dim: number, rng?: Rng) {
    super();
    this.dense0 = this.addModule('dense0', new Linear(baseChannels, dim, { rng }));
    this.dense1 = this.addModule('dense1', new Linear(dim, dim, { rng }));
  }

  /** t: one integer timestep per batch item → [B, dim]. */
  forward(t: ArrayLike<number>): Tensor {
    const emb = F.timestepEmbedding(t, this.baseChannels);
    return this.dense1.forward(F.silu(this.dense0.forward(emb)));
  }
}
