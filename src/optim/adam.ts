// Adam (Kingma & Ba 2015) and AdamW (Loshchilov & Hutter 2019), with PyTorch's semantics.

import * as F from '../ops/index.js';
import { dispose } from '../backends/scope.js';
import { clearGrad, gradientHome, noGrad } from '../tensor/autograd.js';
import { Tensor } from '../tensor/tensor.js';
import { ADAM_BUCKET_INPUTS, type AdamHyper } from '../backends/backend.js';
import { makeBuckets, optimizerKernels, stateView, type Bucket } from './buckets.js';
import { isWhole } from './write-back.js';
import { isContiguous } from '../util/shape.js';

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

export interface AdamState {
  step: number;
  m: Tensor[];
  v: Tensor[];
}

/** Parameters an optimizer moved into its state (a later optimizer may move them on). */
const moved = new WeakSet<Tensor>();

/**
 * For each parameter p with gradient g, at step t:
 *   m ← β1·m + (1−β1)·g              running mean of the gradient
 *   v ← β2·v + (1−β2)·g²             running mean of its square
 *   p ← p − (lr / (1−β1ᵗ)) · m / (√v / √(1−β2ᵗ) + eps)     (bias-corrected)
 * Adam's weight decay is L2: g ← g + λ·p before the update.
 */
export class Adam {
  readonly params: Tensor[];
  lr: number;
  readonly betas: [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  stepCount = 0;
  /**
   * The state in flat buckets, parameter after parameter: its m, its v and its value. A bucket
   * that one kernel can update holds its parameters themselves (each parameter tensor was
   * relocated into it, as PyTorch's flat parameters): one launch then updates a whole bucket.
   */
  private readonly buckets: Bucket[];
  /** The buckets whose parameters live in them (those one kernel updates). */
  private readonly homes = new Set<Bucket>();
  /** Each parameter's moments: views of its bucket. */
  private readonly m: Tensor[] = [];
  private readonly v: Tensor[] = [];
  /** AdamW decays the weights directly instead of adding λ·p to the gradient. */
  protected readonly decoupledDecay: boolean = false;

  constructor(params: Iterable<Tensor>, { lr = 1e-3, betas = [0.9, 0.999], eps = 1e-8, weightDecay = 0 }: AdamOptions = {}) {
    this.params = [...params];
    const name = this.constructor.name;
    if (!(lr >= 0)) throw new Error(`${name}: lr must be >= 0, got ${lr}`);
    if (!(betas[0] >= 0 && betas[0] < 1 && betas[1] >= 0 && betas[1] < 1)) throw new Error(`${name}: betas must be in [0, 1), got ${betas}`);
    if (!(eps >= 0)) throw new Error(`${name}: eps must be >= 0, got ${eps}`);
    if (!(weightDecay >= 0)) throw new Error(`${name}: weightDecay must be >= 0, got ${weightDecay}`);
    this.lr = lr;
    this.betas = betas;
    this.eps = eps;
    this.weightDecay = weightDecay;
    // A bucket's gradients are read from at most ADAM_BUCKET_INPUTS storages; a weight's and its
    // bias's come in one (gradientHome), so a bucket holds about twice as many parameters.
    this.buckets = makeBuckets(this.params, 3, ADAM_BUCKET_INPUTS, gradientHome);
    for (const b of this.buckets) {
      // A parameter that is a view of something else stays where it is (moving it would cut it
      // off), unless it is one an optimizer moved: a newer optimizer takes it over.
      const home = b.fused && b.members.every((j) => isWhole(this.params[j]!) || moved.has(this.params[j]!));
      if (home) this.homes.add(b);
      b.members.forEach((j, k) => {
        const p = this.params[j]!;
        this.m[j] = stateView(b, b.at[k]!, p.shape);
        this.v[j] = stateView(b, b.at[k]! + p.size, p.shape);
        if (home) {
          noGrad(() => p.relocate(stateView(b, b.at[k]! + 2 * p.size, p.shape)));
          moved.add(p);
        }
      });
    }
  }

  /**
   * Whether one kernel updates the bucket this step: its parameters live in it (none moved on,
   * e.g. into another optimizer made after this one) and each has a contiguous gradient.
   */
  private runsFused(bucket: Bucket, ps: Tensor[]): boolean {
    if (!this.homes.has(bucket)) return false;
    return ps.every((p, k) => p.grad !== null && isContiguous(p.grad.shape, p.grad.strides) && p.storage === bucket.state.storage && p.offset === bucket.state.offset + bucket.at[k]! + 2 * p.size);
  }

  /**
   * One update of every parameter that has a gradient. A bucket whose parameters live in it
   * takes one fused launch (backend.adamStep) for all their moments and values, moved into the
   * bucket, so its storage outlives a step's tidy() scope: one launch a bucket on a GPU (up to
   * ten parameters, their gradients in up to five storages). A bucket with a parameter without gradient, or one that is a view of a
   * bigger storage, takes the same math as composed ops (`stepComposed`), parameter by parameter.
   *
   * `gradScale`, a one-value tensor, multiplies every gradient first: gradient clipping's scale
   * (clipScale), applied here instead of by a launch a gradient. Without it the gradients are as they are.
   */
  step(gradScale?: Tensor): void {
    this.stepCount++;
    const t = this.stepCount;
    const [b1, b2] = this.betas;
    const decay = this.decoupledDecay ? this.weightDecay : 0;
    const hyper: AdamHyper = {
      beta1: b1, beta2: b2, eps: this.eps, l2: this.decoupledDecay ? 0 : this.weightDecay,
      stepSize: this.lr / (1 - b1 ** t), bias2Sqrt: Math.sqrt(1 - b2 ** t), decay: 1 - this.lr * decay,
    };
    if (gradScale && gradScale.size !== 1) throw new Error(`${this.constructor.name}.step: gradScale must hold one value, got shape [${gradScale.shape}]`);
    noGrad(() => {
      const scale = gradScale && !isWhole(gradScale) ? F.contiguous(gradScale) : gradScale;
      for (const bucket of this.buckets) {
        const ps = bucket.members.map((j) => this.params[j]!);
        if (!this.runsFused(bucket, ps)) {
          for (const j of bucket.members) {
            const p = this.params[j]!;
            if (p.grad) this.stepComposed(p, scale ? F.mul(p.grad, scale) : p.grad, this.m[j]!, this.v[j]!, hyper);
          }
          continue;
        }
        const be = optimizerKernels(bucket), state = bucket.state.storage;
        // Adam's L2 decay, g + λ·p, formed first: one launch a parameter more (two with a scale,
        // which applies to g alone; or with a gradient that is not a whole storage, copied for blend).
        const whole = (g: Tensor) => (isWhole(g) ? g : F.clone(g));
        const grads = ps.map((p) => (hyper.l2 !== 0 ? new Tensor(be.blend(whole(scale ? F.mul(p.grad!, scale) : p.grad!).storage, [p], 1, hyper.l2), p.shape) : p.grad!));
        be.move(state, be.adamStep(state, grads, hyper, hyper.l2 === 0 ? scale?.storage ?? null : null));
        if (hyper.l2 !== 0) for (const g of grads) dispose(g);
      }
    });
  }

  /** The same update as composed ops, in place (assign), for a parameter or gradient that is a view. */
  private stepComposed(p: Tensor, grad: Tensor, m: Tensor, v: Tensor, h: AdamHyper): void {
    const g = h.l2 !== 0 ? F.add(grad, F.mul(p, h.l2)) : grad;
    m.assign(F.add(F.mul(m, h.beta1), F.mul(g, 1 - h.beta1)));
    v.assign(F.add(F.mul(v, h.beta2), F.mul(F.mul(g, g), 1 - h.beta2)));
    const denom = F.add(F.div(F.sqrt(v), h.bias2Sqrt), h.eps);
    p.assign(F.sub(F.mul(p, h.decay), F.mul(F.div(m, denom), h.stepSize)));
  }

  /** Drops the parameters' gradients (freeing them on a GPU backend). */
  zeroGrad(): void {
    for (const p of this.params) clearGrad(p);
  }

  /** The moment estimates (views of the buckets, read like any tensor) and step count, for checkpoints. */
  state(): AdamState {
    return { step: this.stepCount, m: this.m.slice(), v: this.v.slice() };
  }

  loadState(state: AdamState): void {
    const n = this.params.length;
    if (state.m.length !== n || state.v.length !== n) {
      throw new Error(`${this.constructor.name}.loadState: state holds ${state.m.length} moments for ${n} parameters`);
    }
    this.params.forEach((p, i) => {
      for (const [name, s] of [['m', state.m[i]!], ['v', state.v[i]!]] as const) {
        if (s.shape.join() !== p.shape.join()) {
          throw new Error(`${this.constructor.name}.loadState: ${name}[${i}] has shape [${s.shape}], parameter has [${p.shape}]`);
        }
      }
    });
    this.stepCount = state.step;
    this.params.forEach((_, i) => {
      this.m[i]!.assign(state.m[i]!);
      this.v[i]!.assign(state.v[i]!);
    });
  }
}

/** Adam with decoupled weight decay: p ← p·(1 − lr·λ) before the Adam update (default λ = 0.01). */
export class AdamW extends Adam {
  protected override readonly decoupledDecay: boolean = true;

  constructor(params: Iterable<Tensor>, options: AdamOptions = {}) {
    super(params, { weightDecay: 0.01, ...options });
  }
}
