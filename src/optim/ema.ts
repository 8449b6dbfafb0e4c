// Exponential moving average of a model's parameters, the weights DDPM samples with.

import type { Module, StateDict } from '../nn/module.js';
import * as F from '../ops/index.js';
import { noGrad } from '../tensor/autograd.js';
import type { Tensor } from '../tensor/tensor.js';
import { makeBuckets, optimizerKernels, runsFused, stateView, type Bucket } from './buckets.js';

export interface EMAOptions {
  decay?: number;
  /**
   * The warm-up c: after n updates the decay is min(decay, (1 + n)/(c + n)) ≈ 1 − (c − 1)/n, so
   * early on the shadow is about an average of the last n/(c − 1) steps' weights. Default 10;
   * 1 turns the warm-up off.
   */
  warmup?: number;
}

/**
 * shadow ← d·shadow + (1 − d)·param after each optimizer step. Without the warm-up, a decay of
 * 0.999 still holds 0.999^1500 ≈ 22% of the random initialisation after 1,500 steps.
 */
export class EMA {
  readonly decay: number;
  readonly warmup: number;
  updates = 0;
  private readonly params: Array<[string, Tensor]>;
  /** The shadows, parameter after parameter, in flat buckets: one launch updates a bucket's. */
  private readonly buckets: Bucket[];
  /** Each parameter's shadow by name: views of its bucket. */
  private readonly shadow: StateDict = new Map();

  constructor(readonly module: Module, { decay = 0.999, warmup = 10 }: EMAOptions = {}) {
    if (!(decay >= 0 && decay < 1)) throw new Error(`EMA: decay must be in [0, 1), got ${decay}`);
    if (!(warmup >= 1)) throw new Error(`EMA: warmup must be a number >= 1, got ${warmup}`);
    this.decay = decay;
    this.warmup = warmup;
    this.params = module.namedParameters();
    this.buckets = makeBuckets(this.params.map(([, p]) => p), 1);
    for (const b of this.buckets) {
      b.members.forEach((j, k) => {
        const [name, p] = this.params[j]!;
        this.shadow.set(name, stateView(b, b.at[k]!, p.shape));
      });
    }
    this.blendIn(0); // shadow ← param
  }

  /** The decay the next update uses. */
  currentDecay(): number {
    return Math.min(this.decay, (1 + this.updates) / (this.warmup + this.updates));
  }

  /** shadow ← d·shadow + (1 − d)·param: one fused launch a bucket on a GPU (blend), moved into the bucket. */
  update(): void {
    this.blendIn(this.currentDecay());
    this.updates++;
  }

  /** shadow ← d·shadow + (1 − d)·param for every parameter (d = 0 copies the parameters exactly: 0·s + 1·p = p). */
  private blendIn(d: number): void {
    noGrad(() => {
      for (const bucket of this.buckets) {
        const members = bucket.members.map((j) => this.params[j]!);
        if (runsFused(bucket, members.map(([, p]) => p))) {
          const be = optimizerKernels(bucket), state = bucket.state.storage;
          be.move(state, be.blend(state, members.map(([, p]) => p), d, 1 - d)); // parameters read where they live (Adam's buckets)
          continue;
        }
        for (const [name, p] of members) {
          const s = this.shadow.get(name)!;
          s.assign(d === 0 ? p : F.add(F.mul(s, d), F.mul(p, 1 - d)));
        }
      }
    });
  }

  /** The averaged weights by parameter name (the tensors themselves). */
  stateDict(): StateDict {
    return new Map(this.shadow);
  }

  loadStateDict(state: StateDict, updates: number): void {
    for (const [name, s] of this.shadow) {
      const src = state.get(name);
      if (!src) throw new Error(`EMA.loadStateDict: missing '${name}'`);
      s.assign(src);
    }
    this.updates = updates;
  }

  /** Writes the averaged weights into `target` (a model of the same architecture). */
  copyTo(target: Module): void {
    target.loadStateDict(this.shadow);
  }
}
