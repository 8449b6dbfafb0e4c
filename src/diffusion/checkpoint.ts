// Training checkpoints: one safetensors file with the model, its EMA, the optimizer's moments,
// and (in the metadata) the step, the config and the random generator's state: everything a
// resumed run needs to continue exactly as if it had never stopped. Here as bytes (anywhere);
// as files in src/node/checkpoint-files.ts, written atomically.

import { ConfigError, isObject, resolveConfig, type Config, type SampleConfig } from '../config.js';
import { parseSafetensors, serializeSafetensors, type Safetensors } from '../io/safetensors.js';
import { stateDictProblems, type Module } from '../nn/module.js';
import { UNet } from '../nn/unet.js';
import { Rng, type RngState } from '../random/rng.js';
import type { Adam } from '../optim/adam.js';
import type { EMA } from '../optim/ema.js';
import type { Tensor } from '../tensor/tensor.js';
import { samplerOptionsFor, type SamplerOptions } from './sampler.js';
import { makeSchedule, type Schedule } from './schedule.js';

export const CHECKPOINT_FORMAT = 'ddpm-ts-checkpoint/1';

export interface CheckpointState {
  step: number;
  config: Config;
  rng: RngState;
}

export interface LoadedCheckpoint extends CheckpointState {
  path: string;
  model: Map<string, Tensor>;
  ema: Map<string, Tensor>;
  emaUpdates: number;
  optimizer: { step: number; m: Map<string, Tensor>; v: Map<string, Tensor> };
  /**
   * What wrote the file, when not ddpm-ts: examples/torch/train_ddp.py says so in the metadata
   * field `writtenBy`. Its random state (`rng`) is then only a valid starting state, not the
   * continuation of a ddpm-ts stream.
   */
  writtenBy: string | null;
}

/** The checkpoint's bytes (a safetensors file), once its tensors are read back. */
export function serializeCheckpoint(parts: { model: Module; ema: EMA; optimizer: Adam }, state: CheckpointState): Promise<Uint8Array> {
  const tensors = new Map<string, Tensor>();
  const names = parts.model.namedParameters().map(([n]) => n);
  for (const [n, p] of parts.model.namedParameters()) tensors.set(`model.${n}`, p);
  for (const [n, p] of parts.ema.stateDict()) tensors.set(`ema.${n}`, p);
  const { m, v, step: optimStep } = parts.optimizer.state();
  names.forEach((n, i) => {
    tensors.set(`adam.m.${n}`, m[i]!);
    tensors.set(`adam.v.${n}`, v[i]!);
  });
  return serializeSafetensors(tensors, {
    format: CHECKPOINT_FORMAT,
    step: String(state.step),
    config: JSON.stringify(state.config),
    rng: JSON.stringify(state.rng),
    optimizerStep: String(optimStep),
    emaUpdates: String(parts.ema.updates),
  });
}

/**
 * Reads a checkpoint's bytes (`path` names them in errors); `model` and `ema` use the UNet's own
 * parameter names. Every metadata field (format, step, config, RNG state, optimizer step, EMA
 * updates) and every tensor a resumed run needs (model, EMA and both Adam moments, by the
 * config's UNet names and shapes) is checked first: a bad one throws an error naming the file
 * and the field or tensor.
 */
export function parseCheckpoint(bytes: Uint8Array, path: string): LoadedCheckpoint {
  return checkpointOf(parseSafetensors(bytes, path, { checkValues: weightProblem }), path);
}

/**
 * What makes a weight tensor unusable, found in one pass as it is read: a NaN or an infinity
 * (which would draw a black grid, or stop a resumed run as "diverged"), or a negative second
 * moment in Adam's state (its square root is NaN at the first step).
 */
function weightProblem(name: string, values: Float32Array): string | null {
  const nonNegative = name.startsWith('adam.v.');
  const i = firstUnusable(values, nonNegative);
  if (i < 0) return null;
  const v = values[i]!;
  return Number.isFinite(v)
    ? `holds ${v} at index ${i} of ${values.length}, but Adam's second moments are never negative: the file is damaged`
    : `holds ${v} at index ${i} of ${values.length}: the weights are damaged`;
}

/** The index of the first value that is not finite (or negative, with `nonNegative`), or -1. A loop of its own: V8 runs it about 15× faster than one that also builds the message. */
function firstUnusable(values: Float32Array, nonNegative: boolean): number {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v - v !== 0 || (nonNegative && v < 0)) return i; // v − v is NaN for NaN and ±Infinity
  }
  return -1;
}

/** The checks of parseCheckpoint, on a safetensors file already parsed. */
function checkpointOf({ tensors, metadata }: Safetensors, path: string): LoadedCheckpoint {
  const fail = (why: string): never => {
    throw new Error(`${path}: ${why}; the file was not used and nothing was changed`);
  };
  if (metadata.format !== CHECKPOINT_FORMAT) {
    throw new Error(`${path}: not a ddpm-ts training checkpoint (its metadata format is ${JSON.stringify(metadata.format ?? null)}, expected '${CHECKPOINT_FORMAT}')`);
  }
  const count = (field: 'step' | 'optimizerStep' | 'emaUpdates'): number => {
    const value = wholeNumber(metadata[field]);
    return value ?? fail(`metadata field '${field}' must be a whole number, got ${JSON.stringify(metadata[field] ?? null)}`);
  };
  const step = count('step'), optimizerStep = count('optimizerStep'), emaUpdates = count('emaUpdates');
  const config = configIn(metadata, fail);
  // A run takes one optimizer step and one EMA update a training step, and never goes past train.steps.
  if (step > config.train.steps) fail(`metadata field 'step' is ${step}, past the run's train.steps (${config.train.steps}): the file is damaged`);
  if (optimizerStep !== step) fail(`metadata field 'optimizerStep' is ${optimizerStep}, but the checkpoint is at step ${step} and Adam takes one step a training step: the file is damaged`);
  if (emaUpdates !== step) fail(`metadata field 'emaUpdates' is ${emaUpdates}, but the checkpoint is at step ${step} and the EMA is updated once a training step: the file is damaged`);
  const rng = jsonField(metadata, 'rng', fail) as RngState;
  if (!isRngState(rng)) fail(`metadata field 'rng' must be {"s": four 32-bit unsigned integers, not all zero, "spareNormal": a number or null}, got ${metadata.rng!.slice(0, 200)}`);

  // The tensors a resume needs: each group holds exactly the UNet's parameters, by name and shape.
  const expected = unetShapes(config);
  const group = (prefix: string) => new Map([...tensors].filter(([n]) => n.startsWith(prefix)).map(([n, t]) => [n.slice(prefix.length), t]));
  const groups = { model: group('model.'), ema: group('ema.'), 'adam.m': group('adam.m.'), 'adam.v': group('adam.v.') };
  const problems: string[] = [];
  for (const [prefix, found] of Object.entries(groups)) {
    for (const p of stateDictProblems(expected, found)) problems.push(`${prefix}: ${p}`);
  }
  const stray = [...tensors.keys()].filter((n) => !/^(model|ema|adam\.m|adam\.v)\./.test(n));
  if (stray.length) problems.push(`unexpected tensors: ${stray.join(', ')}`);
  if (problems.length) fail(`its tensors do not fit the model its config describes (${problems.map((p) => (p.length > 400 ? p.slice(0, 400) + '…' : p)).join(' | ')})`);
  return {
    path, step, config, rng, model: groups.model, ema: groups.ema, emaUpdates,
    optimizer: { step: optimizerStep, m: groups['adam.m'], v: groups['adam.v'] },
    writtenBy: metadata.writtenBy ?? null,
  };
}

/** A metadata field holding a whole number as a run writes it (no leading zeros, up to 15 digits), or null when it does not. */
const wholeNumber = (text: string | undefined): number | null => (text !== undefined && /^(0|[1-9]\d{0,14})$/.test(text) ? Number(text) : null);

/** A metadata field parsed as JSON; `fail` reports what is wrong with it. */
function jsonField(metadata: Record<string, string>, field: string, fail: (why: string) => never): unknown {
  const text = metadata[field];
  if (text === undefined) return fail(`metadata field '${field}' is missing`);
  try {
    return JSON.parse(text);
  } catch (e) {
    return fail(`metadata field '${field}' is not valid JSON (${(e as Error).message})`);
  }
}

/**
 * The config in a file's metadata, validated (missing fields take their defaults, but for one:
 * a file from before epsilon scaling samples as it did then, with λ = 1).
 */
function configIn(metadata: Record<string, string>, fail: (why: string) => never): Config {
  let stored = jsonField(metadata, 'config', fail);
  if (isObject(stored) && isObject(stored.sample) && stored.sample.epsScale === undefined) {
    stored = { ...stored, sample: { ...stored.sample, epsScale: 1 } };
  }
  try {
    return resolveConfig(stored);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return fail(`metadata field 'config' is not a valid config: ${e.problems.join('; ')}`);
  }
}

/** The parameter names and shapes of the UNet a config describes. */
const unetShapes = (config: Config) => new UNet(config.model, { rng: new Rng(1) }).stateDict();

/** What sampling needs: a config and the weights to sample with. */
export interface SamplingWeights {
  path: string;
  config: Config;
  weights: Map<string, Tensor>;
  /** The training step the weights come from, when the file says. */
  step: number | null;
  /** Whether the file is a training checkpoint (optimizer and random state included), so a run can continue from it. */
  resumable: boolean;
}

/**
 * The weights to sample with, from either kind of file: a training checkpoint (its EMA weights),
 * or a weights-only file, a plain state dict with the config in its metadata (what
 * examples/export-ema.js writes, or PyTorch's `save_file(state, path, metadata={"config": …})`).
 * The weights are checked against the config's UNet by name and shape, as a checkpoint's are.
 */
export function parseSamplingWeights(bytes: Uint8Array, path: string): SamplingWeights {
  const file = parseSafetensors(bytes, path, { checkValues: weightProblem });
  const { tensors, metadata } = file;
  if (metadata.format === CHECKPOINT_FORMAT) {
    const checkpoint = checkpointOf(file, path);
    return { path, config: checkpoint.config, weights: checkpoint.ema, step: checkpoint.step, resumable: true };
  }
  const fail = (why: string): never => {
    throw new Error(`${path}: ${why}; the file was not used`);
  };
  if (metadata.config === undefined) fail(`neither a ddpm-ts training checkpoint nor a weights file with its config in the metadata (metadata fields: ${Object.keys(metadata).join(', ') || 'none'})`);
  const config = configIn(metadata, fail);
  const problems = stateDictProblems(unetShapes(config), tensors);
  if (problems.length) fail(`its tensors do not fit the model its config describes (${problems.join(' | ').slice(0, 800)})`);
  return { path, config, weights: tensors, step: wholeNumber(metadata.step), resumable: false };
}

/** What drawing from a weights file needs, made from it (see samplingSetup). */
export interface SamplingSetup {
  /** The file's config, with the sample fields given over it. */
  config: Config;
  /** The file's UNet, holding its weights, in eval mode. */
  model: UNet;
  schedule: Schedule;
  /** Prediction and variance are the training's; the rest is the config's sample section. */
  options: SamplerOptions;
}

/**
 * The model, schedule and sampler options of a weights file (from loadSamplingWeights or
 * parseSamplingWeights). The prediction and variance come from the file's training: a model
 * trained to predict v must be sampled as one, so a caller cannot set them. `sample` may change
 * the file's sample section (sampler, steps, eta, clip, epsScale, count), checked by the config's
 * rules. Draw with `sample(setup.model, setup.schedule, setup.options, { count, channels, imageSize, rng })`.
 */
export function samplingSetup(file: SamplingWeights, sample: Partial<SampleConfig> = {}): SamplingSetup {
  if (!isObject(file) || !(file.weights instanceof Map) || !isObject(file.config)) throw new Error('samplingSetup: the first argument must be what loadSamplingWeights or parseSamplingWeights returns');
  if (!isObject(sample)) throw new Error(`samplingSetup: the second argument must be sample fields such as { steps: 20 } (got ${JSON.stringify(sample)})`);
  for (const field of ['prediction', 'variance'] as const) {
    if (field in sample) throw new Error(`samplingSetup: ${field} is not a sample field: it comes from the weights' training (diffusion.${field} '${file.config.diffusion[field]}' in ${file.path})`);
  }
  const config = resolveConfig({ ...file.config, sample: { ...file.config.sample, ...sample } });
  const model = new UNet(config.model, { rng: new Rng(1) });
  model.loadStateDict(file.weights);
  model.eval();
  return { config, model, schedule: makeSchedule(config.diffusion), options: samplerOptionsFor(config) };
}

const isUint32 = (v: unknown) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0xffffffff;

function isRngState(v: unknown): v is RngState {
  const r = v as RngState;
  return typeof r === 'object' && r !== null && Array.isArray(r.s) && r.s.length === 4 && r.s.every(isUint32) && r.s.some((w) => w !== 0)
    && (r.spareNormal === null || (typeof r.spareNormal === 'number' && Number.isFinite(r.spareNormal)));
}
