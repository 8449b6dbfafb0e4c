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

  /**
   * t: one integer timestep per batch item → [B, dim]; with `silu`, SiLU of it (what the UNet's
   * blocks read). Both SiLUs are applied by the Linear before them as it writes, when no
   * gradient is recorded (sampling): the embedding then takes three launches (an upload, two products).
   */
  forward(t: ArrayLike<number>, { silu = false }: { silu?: boolean } = {}): Tensor {
    const emb = F.timestepEmbedding(t, this.baseChannels);
    return this.dense1.forward(this.dense0.forward(emb, { silu: true }), { silu });
  }
}
