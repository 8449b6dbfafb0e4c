// The one config object that drives a run: model, diffusion, data, training and sampling.
// Every field has a default; `resolveConfig` merges a partial config over them and checks every
// field, reporting each bad one by its full path ("train.batchSize") with what is allowed.

import { listBackends } from './backends/registry.js';
import { BACKEND_CHOICES } from './backends/choose-backend.js';
import { checkUNetConfig, defaultUNetConfig, type UNetConfig } from './nn/unet.js';
import type { LrSchedule } from './optim/lr.js';

export interface DiffusionConfig {
  timesteps: number;
  schedule: 'linear' | 'cosine';
  betaStart: number;
  betaEnd: number;
  /** What the network predicts: the noise ε, the clean image x0, or the velocity v. */
  prediction: 'eps' | 'x0' | 'v';
  /** σ_t² of ancestral sampling: β_t or the posterior variance. */
  variance: 'beta' | 'posterior';
}

export interface DataConfig {
  source: 'faces' | 'folder' | 'mnist';
  /** The image folder, for source 'folder'. */
  path: string | null;
  imageSize: number;
  /** 1 (grey) or 3 (RGB); left out, the source decides (`sourceDefaults`). */
  channels: number;
  /** Random horizontal flips; left out, the source decides (`sourceDefaults`). */
  flip: boolean;
  /** Skip unreadable files in a folder with a warning instead of stopping. */
  skipBad: boolean;
}

export interface TrainConfig {
  batchSize: number;
  steps: number;
  lr: number;
  warmupSteps: number;
  /** After the warm-up: 'constant', or 'cosine' down towards 0 at train.steps. */
  lrSchedule: LrSchedule;
  /** Min-SNR-γ loss weighting: each timestep's loss weighted as if its SNR were capped at γ; 0 turns it off (plain MSE). */
  minSnrGamma: number;
  /** Global gradient-norm clip; 0 turns clipping off. */
  gradClip: number;
  emaDecay: number;
  /**
   * The EMA's warm-up c: after n steps its decay is min(emaDecay, (1 + n)/(c + n)), an average of
   * about the last n/(c − 1) steps' weights until emaDecay takes over; 1 turns the warm-up off.
   */
  emaWarmup: number;
  logEvery: number;
  sampleEvery: number;
  checkpointEvery: number;
  /** Measure the FID of the EMA's samples every so many steps (0: never; generated faces and MNIST only). */
  evalEvery: number;
  /** How many samples (and held-out real images: MNIST has enough for 1,000) each of those measurements takes. */
  evalCount: number;
  outDir: string;
}

export interface SampleConfig {
  sampler: 'ddpm' | 'ddim';
  /** DDIM steps (DDPM walks all timesteps). */
  steps: number;
  /** DDIM noise: 0 a deterministic step, 1 the posterior's noise at each step; 1 scored better on faces (docs/recipe.md). */
  eta: number;
  count: number;
  /** Clip predicted x0 to [-1, 1] while sampling. */
  clip: boolean;
  /** Epsilon scaling: each step divides the predicted noise by this (1: off); 1.04 for faces, measured in docs/recipe.md. */
  epsScale: number;
}

export interface Config {
  seed: number;
  backend: string;
  /** Threads for the CPU backend's matrix products; null: one per core. */
  threads: number | null;
  model: UNetConfig;
  diffusion: DiffusionConfig;
  data: DataConfig;
  train: TrainConfig;
  sample: SampleConfig;
}

/** The fields whose defaults depend on the data source. */
export interface SourceDefaults {
  channels: number;
  flip: boolean;
  model: Partial<UNetConfig>;
  train: Partial<TrainConfig>;
  sample: Partial<SampleConfig>;
}

/**
 * The defaults a data source changes, for the fields a config leaves out. MNIST's digits are grey
 * (one channel) and never mirrored (a mirrored digit is no digit), and they are short of steps,
 * not weights, so they get a narrow UNet at a higher rate; faces and a folder's images are
 * flipped. Each choice, with its runs and FIDs: docs/recipe.md.
 */
export function sourceDefaults(source: DataConfig['source']): SourceDefaults {
  if (source === 'mnist') return { channels: 1, flip: false, model: { baseChannels: 8, channelMults: [1, 1, 2, 2], timeEmbDim: 32, numResBlocks: 1 }, train: { lr: 2e-3, outDir: 'runs/mnist' }, sample: { epsScale: 1 } };
  return { channels: 3, flip: true, model: {}, train: {}, sample: {} };
}

export type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? (T[K] extends unknown[] ? T[K] : DeepPartial<T[K]>) : T[K] };

/**
 * Defaults: generated faces at 32×32 on a UNet of half UNet-S's width with two ResBlocks a level
 * (409,219 parameters), small enough that a 2-core CPU shows faces within the first hour; the
 * choices and their measurements: docs/recipe.md.
 */
export const defaultConfig: Config = {
  seed: 0,
  backend: 'cpu',
  threads: null,
  model: { ...defaultUNetConfig, baseChannels: 16, numResBlocks: 2, groups: 4, timeEmbDim: 64 },
  diffusion: { timesteps: 1000, schedule: 'linear', betaStart: 1e-4, betaEnd: 0.02, prediction: 'eps', variance: 'beta' },
  data: { source: 'faces', path: null, imageSize: 32, channels: sourceDefaults('faces').channels, flip: sourceDefaults('faces').flip, skipBad: false },
  train: {
    batchSize: 16, steps: 3000, lr: 1e-3, warmupSteps: 100, lrSchedule: 'constant', minSnrGamma: 0, gradClip: 1, emaDecay: 0.999, emaWarmup: 10,
    logEvery: 10, sampleEvery: 250, checkpointEvery: 250, evalEvery: 0, evalCount: 200, outDir: 'runs/faces',
  },
  sample: { sampler: 'ddim', steps: 50, eta: 1, count: 16, clip: true, epsScale: 1.04 },
};

/** The range of `seed` (a 32-bit unsigned integer) and of `threads` (null: one per core). */
const SEED_RANGE = { min: 0, max: 0xffffffff };
const THREADS_RANGE = { min: 1, max: 64 };

/** The most steps a run may ask for. */
export const MAX_TRAIN_STEPS = 100_000_000;

/** The most images one sampling run draws (a 32×32 grid of them). */
export const MAX_SAMPLE_COUNT = 1024;

type Rule =
  | { kind: 'int'; min: number; max?: number }
  | { kind: 'number'; min?: number; max?: number; above?: number; below?: number }
  | { kind: 'bool' }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'string'; nullable?: boolean };

const rules: { [S in Exclude<keyof Config, 'model' | 'seed' | 'backend' | 'threads'>]: Record<keyof Config[S], Rule> } = {
  diffusion: {
    timesteps: { kind: 'int', min: 2 },
    schedule: { kind: 'enum', values: ['linear', 'cosine'] },
    betaStart: { kind: 'number', above: 0, below: 1 },
    betaEnd: { kind: 'number', above: 0, below: 1 },
    prediction: { kind: 'enum', values: ['eps', 'x0', 'v'] },
    variance: { kind: 'enum', values: ['beta', 'posterior'] },
  },
  data: {
    source: { kind: 'enum', values: ['faces', 'folder', 'mnist'] },
    path: { kind: 'string', nullable: true },
    imageSize: { kind: 'int', min: 4 },
    channels: { kind: 'int', min: 1, max: 3 },
    flip: { kind: 'bool' },
    skipBad: { kind: 'bool' },
  },
  train: {
    batchSize: { kind: 'int', min: 1 },
    // A hundred million steps is years on a CPU and days on a GPU; more is a typo.
    steps: { kind: 'int', min: 0, max: MAX_TRAIN_STEPS },
    lr: { kind: 'number', above: 0 },
    warmupSteps: { kind: 'int', min: 0 },
    lrSchedule: { kind: 'enum', values: ['constant', 'cosine'] },
    minSnrGamma: { kind: 'number', min: 0 },
    gradClip: { kind: 'number', min: 0 },
    emaDecay: { kind: 'number', min: 0, below: 1 },
    emaWarmup: { kind: 'number', min: 1 },
    logEvery: { kind: 'int', min: 1 },
    sampleEvery: { kind: 'int', min: 0 },
    checkpointEvery: { kind: 'int', min: 0 },
    evalEvery: { kind: 'int', min: 0 },
    evalCount: { kind: 'int', min: 2, max: 10000 },
    outDir: { kind: 'string' },
  },
  sample: {
    sampler: { kind: 'enum', values: ['ddpm', 'ddim'] },
    steps: { kind: 'int', min: 1 },
    eta: { kind: 'number', min: 0, max: 1 },
    count: { kind: 'int', min: 1, max: MAX_SAMPLE_COUNT },
    clip: { kind: 'bool' },
    // Useful values are within a few percent of 1; outside half to twice it, a typo.
    epsScale: { kind: 'number', min: 0.5, max: 2 },
  },
};

/**
 * The config's fields, defaults and rules as plain JSON: what the PyTorch side
 * (examples/torch/ddpm_torch/config.py) reads from config_rules.json, so both sides accept and
 * refuse the same configs with the same words. test/config-rules.test.ts keeps that file equal
 * to this (`npm run rules` writes it) and feeds one corpus of configs to both.
 */
export function configRules() {
  return {
    sections: rules,
    defaults: defaultConfig,
    sourceDefaults: Object.fromEntries(rules.data.source.kind === 'enum' ? rules.data.source.values.map((s) => [s, sourceDefaults(s as DataConfig['source'])]) : []),
    seed: SEED_RANGE,
    threads: THREADS_RANGE,
    backends: [...BACKEND_CHOICES],
  };
}

function describe(rule: Rule): string {
  switch (rule.kind) {
    case 'int':
      return `an integer >= ${rule.min}${rule.max !== undefined ? ` and <= ${rule.max}` : ''}`;
    case 'number': {
      const parts = [
        rule.min !== undefined && `>= ${rule.min}`, rule.above !== undefined && `> ${rule.above}`,
        rule.max !== undefined && `<= ${rule.max}`, rule.below !== undefined && `< ${rule.below}`,
      ].filter(Boolean);
      return `a number${parts.length ? ' ' + parts.join(' and ') : ''}`;
    }
    case 'bool':
      return 'true or false';
    case 'enum':
      return `one of ${rule.values.map((v) => `'${v}'`).join(', ')}`;
    case 'string':
      return rule.nullable ? 'a string or null' : 'a non-empty string';
  }
}

function satisfies(rule: Rule, v: unknown): boolean {
  switch (rule.kind) {
    case 'int':
      return Number.isInteger(v) && (v as number) >= rule.min && (rule.max === undefined || (v as number) <= rule.max);
    case 'number': {
      if (typeof v !== 'number' || !Number.isFinite(v)) return false;
      return (rule.min === undefined || v >= rule.min) && (rule.above === undefined || v > rule.above)
        && (rule.max === undefined || v <= rule.max) && (rule.below === undefined || v < rule.below);
    }
    case 'bool':
      return typeof v === 'boolean';
    case 'enum':
      return typeof v === 'string' && rule.values.includes(v);
    case 'string':
      return (rule.nullable && v === null) || (typeof v === 'string' && v.length > 0);
  }
}

/** A known name within two edits of `name` (case ignored), for "did you mean" hints. */
function closest(name: string, known: string[]): string | null {
  const distance = (a: string, b: string) => {
    let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      const row = [i];
      for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = row;
    }
    return prev[b.length]!;
  };
  let best: string | null = null, bestD = 3;
  for (const k of known) {
    const d = distance(name.toLowerCase(), k.toLowerCase());
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best;
}

export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid config:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Merges `partial` over the defaults and validates the result. Every problem found is listed,
 * each naming its field; nothing else happens until the config is valid.
 */
export function resolveConfig(partial: unknown = {}): Config {
  const problems: string[] = [];
  if (!isObject(partial)) throw new ConfigError([`the config must be a JSON object such as {"train": {"steps": 500}} (got ${JSON.stringify(partial) ?? String(partial)})`]);
  const sections = ['seed', 'backend', 'threads', 'model', 'diffusion', 'data', 'train', 'sample'];
  for (const key of Object.keys(partial)) {
    if (!sections.includes(key)) {
      const hint = closest(key, sections);
      problems.push(`'${key}' is not a config section (sections: ${sections.join(', ')})${hint ? `; did you mean '${hint}'?` : ''}`);
    }
  }

  // A field left out takes its default; a field given as null is given (null never means "the
  // default": only data.path and threads take it as a value).
  const givenOr = <T>(key: string, fallback: T): unknown => (Object.hasOwn(partial, key) ? partial[key] : fallback);
  const merged: Record<string, unknown> = {};
  for (const section of Object.keys(rules) as Array<keyof typeof rules>) {
    const given = givenOr(section, {});
    if (!isObject(given)) {
      problems.push(`${section} must be an object such as {"${Object.keys(rules[section])[0]}": …} (got ${JSON.stringify(given)})`);
      merged[section] = { ...defaultConfig[section] };
      continue;
    }
    const sectionRules = rules[section] as Record<string, Rule>;
    for (const key of Object.keys(given)) {
      // Own keys only: 'constructor' or '__proto__' are not fields, though `in` finds them on every object.
      if (!Object.hasOwn(sectionRules, key)) {
        const hint = closest(key, Object.keys(sectionRules));
        problems.push(`${section}.${key} is not a known field${hint ? `; did you mean ${section}.${hint}?` : ` (fields: ${Object.keys(sectionRules).join(', ')})`}`);
      }
    }
    const values = { ...defaultConfig[section], ...Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) } as Record<string, unknown>;
    for (const [key, rule] of Object.entries(sectionRules)) {
      if (!satisfies(rule, values[key])) problems.push(`${section}.${key} must be ${describe(rule)} (got ${JSON.stringify(values[key])})`);
    }
    merged[section] = values;
  }

  const seed = givenOr('seed', defaultConfig.seed);
  if (!Number.isInteger(seed) || (seed as number) < SEED_RANGE.min || (seed as number) > SEED_RANGE.max) {
    problems.push(`seed must be an integer from ${SEED_RANGE.min} to ${SEED_RANGE.max} (got ${JSON.stringify(seed)})`);
  }
  const backend = givenOr('backend', defaultConfig.backend);
  const backends = [...new Set([...BACKEND_CHOICES, ...listBackends()])];
  if (typeof backend !== 'string' || !backends.includes(backend)) {
    problems.push(`backend must be one of ${backends.map((b) => `'${b}'`).join(', ')} (got ${JSON.stringify(backend)})`);
  }

  const threads = givenOr('threads', defaultConfig.threads);
  if (threads !== null && (!Number.isInteger(threads) || (threads as number) < THREADS_RANGE.min || (threads as number) > THREADS_RANGE.max)) {
    problems.push(`threads must be an integer from ${THREADS_RANGE.min} to ${THREADS_RANGE.max}, or null for one per core (got ${JSON.stringify(threads)})`);
  }

  const diffusion = merged.diffusion as DiffusionConfig;
  if (diffusion.schedule === 'linear' && satisfies(rules.diffusion.betaStart, diffusion.betaStart) && satisfies(rules.diffusion.betaEnd, diffusion.betaEnd) && diffusion.betaStart > diffusion.betaEnd) {
    problems.push(`diffusion.betaStart (${diffusion.betaStart}) must not exceed diffusion.betaEnd (${diffusion.betaEnd})`);
  }
  const data = merged.data as DataConfig;
  // Some defaults depend on the source: the loop above merged defaultConfig's (the faces').
  const bySource = sourceDefaults(data.source);
  const givenData = isObject(partial.data) ? partial.data : {};
  if (givenData.channels === undefined) data.channels = bySource.channels;
  if (givenData.flip === undefined) data.flip = bySource.flip;
  for (const section of ['train', 'sample'] as const) {
    const given = isObject(partial[section]) ? partial[section] : {};
    for (const [field, value] of Object.entries(bySource[section])) {
      if (given[field] === undefined) (merged[section] as Record<string, unknown>)[field] = value;
    }
  }
  if (data.source === 'folder' && !data.path) problems.push(`data.path must name an image folder when data.source is 'folder'`);
  // Each data source has its own default folder, so runs on different data never collide: an
  // image folder's run goes to runs/ and the folder's name.
  const givenTrain = isObject(partial.train) ? partial.train : {};
  if (data.source === 'folder' && typeof data.path === 'string' && givenTrain.outDir === undefined) {
    (merged.train as TrainConfig).outDir = `runs/${data.path.replace(/[\\/]+$/, '').split(/[\\/]/).pop() || 'photos'}`;
  }
  const sampleCfg = merged.sample as SampleConfig;
  if (sampleCfg.sampler === 'ddim' && satisfies(rules.diffusion.timesteps, diffusion.timesteps) && sampleCfg.steps > diffusion.timesteps) {
    problems.push(`sample.steps (${sampleCfg.steps}) must not exceed diffusion.timesteps (${diffusion.timesteps})`);
  }

  // The model's image size and channel count follow the data; stating different ones is an error.
  let model: UNetConfig | null = null;
  const givenModel = givenOr('model', {});
  if (!isObject(givenModel)) {
    problems.push(`model must be an object such as {"baseChannels": 16} (got ${JSON.stringify(givenModel)})`);
  } else {
    for (const [field, dataField] of [['imageSize', 'imageSize'], ['inChannels', 'channels']] as const) {
      if (givenModel[field] !== undefined && givenModel[field] !== data[dataField]) {
        problems.push(`model.${field} (${JSON.stringify(givenModel[field])}) must equal data.${dataField} (${data[dataField]}), or be left out`);
      }
    }
    // Every model fault is listed, even while the data shape is wrong: the checks that read
    // data.imageSize or data.channels run only when those are valid (their own faults are
    // reported once, as data.*).
    const dataShape = { imageSize: satisfies(rules.data.imageSize, data.imageSize), inChannels: satisfies(rules.data.channels, data.channels) };
    const checked = checkUNetConfig({ ...defaultConfig.model, ...bySource.model, ...givenModel, imageSize: data.imageSize, inChannels: data.channels } as Partial<UNetConfig>, 'model.');
    const readsBadData = (field: string) => (!dataShape.imageSize && (field === 'imageSize' || field === 'attnResolutions')) || (!dataShape.inChannels && field === 'inChannels');
    problems.push(...checked.problems.filter((p) => !readsBadData(p.field)).map((p) => p.message));
    if (checked.problems.length === 0) model = checked.config;
  }

  if (problems.length) throw new ConfigError(problems);
  return { seed: seed as number, backend: backend as string, threads: threads as number | null, model: model!, ...(merged as Omit<Config, 'seed' | 'backend' | 'threads' | 'model'>) };
}
