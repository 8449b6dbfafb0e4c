// Drawing images: start from pure noise x_T and apply the reverse step down to x_0.

import { div } from '../ops/elementwise.js';
import { concat } from '../ops/view.js';
import { randn } from '../ops/creation.js';
import type { Rng } from '../random/rng.js';
import { dispose, tidy } from '../backends/scope.js';
import { noGrad } from '../tensor/autograd.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Config } from '../config.js';
import { predictedEps, type Prediction } from './process.js';
import type { Schedule } from './schedule.js';
import { ddimStep, ddimTimesteps, ddpmStep, type Variance } from './sampler-steps.js';

/** Anything that predicts from (x_t, t): the UNet, or a stand-in in tests. */
export interface Denoiser {
  forward(x: Tensor, t: ArrayLike<number>): Tensor;
}

export type SamplerKind = 'ddpm' | 'ddim';

export interface SamplerOptions {
  sampler: SamplerKind;
  /** DDIM steps (DDPM always walks all T). */
  steps: number;
  /** DDIM noise: 0 deterministic, 1 DDPM-like. */
  eta: number;
  clip: boolean;
  prediction: Prediction;
  variance: Variance;
  /**
   * Epsilon scaling (Ning et al. 2024): every step divides the predicted noise by this, 1 (the
   * default) leaves it as predicted. A net that is good at the training's x_t meets, while
   * sampling, its own slightly wrong x_t (exposure bias) and over-predicts the noise; λ a little
   * above 1 takes that back.
   */
  epsScale?: number;
}

export interface SampleRequest {
  count: number;
  channels: number;
  imageSize: number;
  rng: Rng;
  /** Images denoised together (memory); default all at once. */
  batchSize?: number;
  /** Keep this many frames of the chain, evenly spaced from x_T to x_0 (0: none). */
  trajectoryFrames?: number;
  onStep?: (done: number, total: number) => void;
}

export interface SampleResult {
  /** x_0, [count, C, S, S], in the model's data range (about [−1, 1]). */
  images: Tensor;
  /** Frames of the chain, each [count, C, S, S], from x_T to x_0; with their timesteps. */
  trajectory: Tensor[];
  trajectoryTimesteps: number[];
}

/** The timestep visited at each step and the one it steps to (−1: the end). */
export function samplingPlan(schedule: Schedule, opts: Pick<SamplerOptions, 'sampler' | 'steps'>): Array<[number, number]> {
  const ts = opts.sampler === 'ddim' ? ddimTimesteps(schedule.T, opts.steps) : Array.from({ length: schedule.T }, (_, i) => schedule.T - 1 - i);
  return ts.map((t, i) => [t, ts[i + 1] ?? -1]);
}

const SAMPLER_OPTIONS = ['sampler', 'steps', 'eta', 'clip', 'prediction', 'variance', 'epsScale'];

/**
 * The sampler options a config implies: its sample section, with the prediction and variance its
 * model was trained for (a checkpoint's config holds them, so drawing from one never asks).
 */
export function samplerOptionsFor(config: Pick<Config, 'sample' | 'diffusion'>): SamplerOptions {
  const { sampler, steps, eta, clip, epsScale } = config.sample;
  return { sampler, steps, eta, clip, epsScale, prediction: config.diffusion.prediction, variance: config.diffusion.variance };
}

/**
 * Checks a sampler's options and request as the config checks its fields (plain JavaScript callers
 * included): a missing, unknown or mistyped one throws naming it, since a left-out `prediction`
 * or `clip` would otherwise draw wrong images without a word.
 */
export function checkSampling(opts: SamplerOptions, req: SampleRequest, T: number): void {
  const problems: string[] = [];
  const o = (opts ?? {}) as unknown as Record<string, unknown>, r = (req ?? {}) as unknown as Record<string, unknown>;
  const oneOf = (field: string, values: readonly unknown[]) => {
    if (!values.includes(o[field])) problems.push(`options.${field} must be one of ${values.map((v) => JSON.stringify(v)).join(', ')} (got ${JSON.stringify(o[field]) ?? 'nothing'})`);
  };
  oneOf('sampler', ['ddpm', 'ddim']);
  oneOf('prediction', ['eps', 'x0', 'v']);
  oneOf('variance', ['beta', 'posterior']);
  oneOf('clip', [true, false]);
  if (o.sampler === 'ddim') {
    if (!(Number.isInteger(o.steps) && (o.steps as number) >= 1 && (o.steps as number) <= T)) problems.push(`options.steps must be an integer from 1 to ${T} for DDIM (got ${JSON.stringify(o.steps) ?? 'nothing'})`);
    if (!(typeof o.eta === 'number' && o.eta >= 0 && o.eta <= 1)) problems.push(`options.eta must be a number from 0 to 1 for DDIM (got ${JSON.stringify(o.eta) ?? 'nothing'})`);
  }
  if (o.epsScale !== undefined && !(typeof o.epsScale === 'number' && Number.isFinite(o.epsScale) && o.epsScale > 0)) problems.push(`options.epsScale must be a number > 0 (got ${JSON.stringify(o.epsScale)})`);
  // A config's sample section may be spread in whole: its `count` is the request's business, and ignored here.
  for (const k of Object.keys(o)) if (!SAMPLER_OPTIONS.includes(k) && k !== 'count') problems.push(`options.${k} is not a sampler option (options: ${SAMPLER_OPTIONS.join(', ')})`);
  for (const field of ['count', 'channels', 'imageSize'] as const) {
    if (!(Number.isInteger(r[field]) && (r[field] as number) >= 1)) problems.push(`request.${field} must be a positive integer (got ${JSON.stringify(r[field]) ?? 'nothing'})`);
  }
  if (!r.rng || typeof (r.rng as { normal?: unknown }).normal !== 'function') problems.push('request.rng must be an Rng (new Rng(seed))');
  if (problems.length) throw new Error(`sample: ${problems.join('; ')}`);
}

/** Where a sampling run is, after each step (sampleSteps yields it). */
export interface SamplingState {
  done: number;
  total: number;
  /** x_t of the images being denoised now (a batch of them), after this step; freed at the next. */
  x: Tensor;
}

/** Draws `req.count` images from pure noise x_T down to x_0 with the options' sampler: sampleSteps, run to its end. */
export function sample(model: Denoiser, schedule: Schedule, opts: SamplerOptions, req: SampleRequest): SampleResult {
  const steps = sampleSteps(model, schedule, opts, req);
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
  }
}

/**
 * Sampling one step at a time: a generator that yields after every denoising step (so a page can
 * draw x_t and repaint between steps) and returns what `sample` returns. Each step runs without
 * gradients, in a scope of its own (tidy), on the backend current when next() is called.
 */
export function* sampleSteps(model: Denoiser, schedule: Schedule, opts: SamplerOptions, req: SampleRequest): Generator<SamplingState, SampleResult, void> {
  checkSampling(opts, req, schedule.T);
  const { count, channels, imageSize, rng } = req;
  const batchSize = req.batchSize ?? count;
  const plan = samplingPlan(schedule, opts);
  const epsScale = opts.epsScale ?? 1;
  const frames = req.trajectoryFrames ?? 0;
  // Steps after which a frame is kept (step index k means after k steps; 0 is x_T).
  const keep = frames > 0 ? [...new Set(Array.from({ length: frames }, (_, i) => Math.round((i * plan.length) / Math.max(1, frames - 1))))] : [];
  const chunks: Tensor[] = [];
  const chunkFrames: Tensor[][] = keep.map(() => []);
  const total = Math.ceil(count / batchSize) * plan.length;
  let done = 0;
  for (let start = 0; start < count; start += batchSize) {
    const n = Math.min(batchSize, count - start);
    const shape = [n, channels, imageSize, imageSize];
    let x = randn(shape, rng);
    const record = (k: number) => {
      const f = keep.indexOf(k);
      if (f >= 0) chunkFrames[f]!.push(x);
    };
    record(0);
    for (const [k, [t, tPrev]] of plan.entries()) {
      // One scope a step: the net's activations are freed as soon as x_{t−1} exists.
      const next = noGrad(() => tidy(() => {
        const out = model.forward(x, new Array(n).fill(t));
        const predicted = predictedEps(opts.prediction, schedule, x, out, t);
        const eps = epsScale === 1 ? predicted : div(predicted, epsScale); // ε̂/λ
        // Noise is drawn even where unused (t = 0, η = 0), so the stream does not depend on those.
        const z = randn(shape, rng);
        return opts.sampler === 'ddim'
          ? ddimStep(schedule, x, eps, t, tPrev, opts.eta, z, { clip: opts.clip })
          : ddpmStep(schedule, x, eps, t, z, { variance: opts.variance, clip: opts.clip });
      }));
      if (!keep.includes(k) && next.storage !== x.storage) dispose(x);
      x = next;
      record(k + 1);
      done++;
      req.onStep?.(done, total);
      yield { done, total, x };
    }
    chunks.push(x);
  }
  const join = (parts: Tensor[]) => (parts.length === 1 ? parts[0]! : noGrad(() => concat(parts, 0)));
  return {
    images: join(chunks),
    trajectory: chunkFrames.map(join),
    trajectoryTimesteps: keep.map((k) => (k === 0 ? schedule.T : plan[k - 1]![1] + 1)),
  };
}
