// Exponential moving average of a model's parameters, the weights DDPM samples with.

import type { Module, StateDict } from '../nn/module.js';
import * as F from '../ops/index.js';
import { noGrad } from '../tensor/autograd.js';
import type { Tensor } from '../tensor/tensor.js';
import { isWhole, moveInto } from './update.js';

export interface EMAOptions {
  decay?: number;
  /** Ramp the decay up as min(decay, (1 + n)/(10 + n)) after n updates (default true). */
  warmup?: boolean;
}

/**
 * shadow ← d·shadow + (1 − d)·param after each optimizer step. Without the warm-up, a decay of
 * 0.999 still holds 0.999^1500 ≈ 22% of the random initialisation after 1,500 steps.
 */
export class EMA {
  readonly decay: number;
  readonly warmup: boolean;
  updates = 0;
  private readonly shadow: StateDict;

  constructor(readonly module: Module, { decay = 0.999, warmup = true }: EMAOptions = {}) {
    if (!(decay >= 0 && decay < 1)) throw new Error(`EMA: decay must be in [0, 1), got ${decay}`);
    this.decay = decay;
    this.warmup = warmup;
    this.shadow = new Map(module.namedParameters().map(([name, p]) => [name, copy(p)]));
  }

  /** The decay the next update uses. */
  currentDecay(): number {
    return this.warmup ? Math.min(this.decay, (1 + this.updates) / (10 + this.updates)) : this.decay;
  }

  /** shadow ← d·shadow + (1 − d)·param: one fused launch a parameter on a GPU (axpby), moved into the shadow. */
  update(): void {
    const d = this.currentDecay();
    noGrad(() => {
      for (const [name, p] of this.module.namedParameters()) {
        const s = this.shadow.get(name)!;
        if (isWhole(s) && isWhole(p)) moveInto(s, s.backend.axpby(s.storage, p.storage, d, 1 - d));
        else s.assign(F.add(F.mul(s, d), F.mul(p, 1 - d)));
      }
    });
    this.updates++;
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

/** A detached copy on the parameter's backend (no read back to JavaScript). */
function copy(p: Tensor): Tensor {
  return noGrad(() => F.clone(p));
}
