// What the example scripts share: flags parsed with Node's util.parseArgs, and errors printed as
// one line ("error: …") instead of a stack trace. DDPM_DEBUG=1 prints the stack as well.

import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { closeBackends, ConfigError, diffusion, formatDuration, resolveConfig, useBackend } from 'ddpm-ts';

export const isObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A --config file: a JSON object (a partial config, merged over the defaults by resolveConfig). */
export async function readPartialConfig(path) {
  let text;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read --config ${path}: ${e.message}`);
  }
  let partial;
  try {
    partial = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`--config ${path} is not valid JSON: ${e.message}`);
  }
  if (!isObject(partial)) throw new ConfigError([`--config ${path} must hold a JSON object such as {"train": {"steps": 500}} (got ${JSON.stringify(partial)})`]);
  return partial;
}

/**
 * DDPM_TINY=1 makes every example small enough to try in seconds: it trains and exports 8×8
 * images on a tiny UNet for 2 steps, and draws or measures at most 16 images. The README's
 * commands are run so by the tests (test/readme.test.ts), exactly as written otherwise.
 */
export const tiny = Boolean(process.env.DDPM_TINY);
const TINY = {
  data: { imageSize: 8 },
  model: { baseChannels: 8, channelMults: [1, 2], numResBlocks: 1, attnResolutions: [4], groups: 2, timeEmbDim: 16 },
  diffusion: { timesteps: 50 },
  train: { batchSize: 2, steps: 2, logEvery: 1, sampleEvery: 0, checkpointEvery: 2 },
  sample: { steps: 2, count: 2 },
};

/** A partial config with DDPM_TINY's sizes under it (the config's own fields win), or as it is. */
export function withTiny(partial) {
  if (!tiny) return partial;
  const out = { ...partial };
  for (const [section, fields] of Object.entries(TINY)) out[section] = isObject(partial[section]) ? { ...fields, ...partial[section] } : partial[section] === undefined ? { ...fields } : partial[section];
  return out;
}

/** A count of images to draw, measure or export: at most 16 with DDPM_TINY. */
export const tinyCount = (count) => (tiny && count > 16 ? 16 : count);

/** A mistake in how the script was called: printed with the usage, exit code 2. */
export class UsageError extends Error {}

/** --help or -h: run() prints the usage and exits 0. */
class HelpRequested extends Error {}

/** A decimal number as people write one: 12, -3, 0.5, .5, 1e-3; not 0x3, 0b11, Infinity or ''. */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Parses argv against `options` ({ name: { type: 'string' | 'boolean', number?: true } }); every
 * script also takes --help (-h). Unknown options, missing or empty values and values that are not
 * decimal numbers are UsageErrors that name the flag.
 */
export function parseFlags(argv, options) {
  const all = { ...options, help: { type: 'boolean', short: 'h' } };
  const spec = Object.fromEntries(Object.entries(all).map(([name, o]) => [name, { type: o.type, ...(o.short && { short: o.short }) }]));
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: spec, strict: false, allowPositionals: true, tokens: true });
  } catch (e) {
    throw new UsageError(e.message);
  }
  if (parsed.tokens.some((t) => t.kind === 'option' && t.name === 'help')) throw new HelpRequested();
  const values = {};
  for (const token of parsed.tokens) {
    if (token.kind === 'positional') throw new UsageError(`unexpected argument ${token.value}`);
    if (token.kind !== 'option') continue;
    const option = Object.hasOwn(all, token.name) ? all[token.name] : undefined;
    if (!option) throw new UsageError(`unknown option ${token.rawName}`);
    if (option.type === 'boolean') {
      if (token.inlineValue) throw new UsageError(`${token.rawName} takes no value`);
      values[token.name] = true;
      continue;
    }
    // strict: false reads "--out --resume" as --out with no value: say so rather than take the next flag.
    if (token.value === undefined || (!token.inlineValue && token.value.startsWith('--'))) throw new UsageError(`${token.rawName} needs a value`);
    // An empty value ('') is a mistake in the command (an unset shell variable), never "use the default".
    if (token.value.trim() === '') throw new UsageError(`${token.rawName} needs a value, got an empty one`);
    if (option.number) {
      if (!DECIMAL.test(token.value)) throw new UsageError(`${token.rawName} needs a decimal number, got ${JSON.stringify(token.value)}`);
      values[token.name] = Number(token.value);
    } else values[token.name] = token.value;
  }
  return values;
}

/**
 * The config's own messages, with each field that a flag set named as the flag
 * ("sample.steps must be …" becomes "--steps must be …").
 */
export function flagProblems(error, fieldToFlag) {
  return error.problems.map((p) => Object.entries(fieldToFlag).reduce((text, [field, flag]) => text.replace(new RegExp(`^${field.replace('.', '\\.')}\\b`), flag), p));
}

/** The flag that sets each field samplingConfig fills, to name it in the config's messages. */
const SAMPLING_FLAGS = { 'sample.sampler': '--sampler', 'sample.steps': '--steps', 'sample.eta': '--eta', 'sample.epsScale': '--eps-scale', 'sample.count': '--count', seed: '--seed', backend: '--backend' };

/**
 * A checkpoint's config with the sampling flags that were given over it (a flag not given keeps
 * the checkpoint's value), checked by the config's own rules; a fault names the flag.
 */
export function samplingConfig(checkpointConfig, { seed, backend, sampler, steps, eta, epsScale, count }) {
  const given = (fields) => JSON.parse(JSON.stringify(fields)); // drops the flags not given (undefined)
  let config;
  try {
    config = resolveConfig({ ...checkpointConfig, ...given({ backend }), seed, sample: { ...checkpointConfig.sample, ...given({ sampler, steps, eta, epsScale, count }) } });
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(flagProblems(e, SAMPLING_FLAGS));
    throw e;
  }
  // DDPM walks every timestep: a step count would be silently ignored, so it is refused.
  if (steps !== undefined && config.sample.sampler === 'ddpm') {
    throw new UsageError(`--steps ${steps} sets DDIM's steps, but the sampler is DDPM${sampler === undefined ? " (the checkpoint's sample.sampler)" : ''}, which walks all ${config.diffusion.timesteps} timesteps: drop --steps, or add --sampler ddim`);
  }
  return config;
}

/**
 * A checkpoint's (or weights file's) config with the sampling flags over it, its backend started
 * (it prints the device), and its weights loaded onto that backend: a checkpoint made on any
 * backend samples on any other. Returns the checkpoint and its samplingSetup (config, model, schedule, options).
 */
export async function loadForSampling(path, flags) {
  const first = await diffusion.loadSamplingWeights(path);
  const config = samplingConfig(first.config, flags);
  const backend = await useBackend(config.backend, { log: console.log });
  // The file is read on the cpu backend; on another, its weights are read again onto it.
  const checkpoint = backend.name === 'cpu' ? first : await diffusion.loadSamplingWeights(path);
  // The sampler options' prediction and variance are the checkpoint's training's.
  return { checkpoint, ...diffusion.samplingSetup({ ...checkpoint, config }) };
}

/** How a run samples, for the scripts' logs: "DDIM (20 steps, eta 1, ε divided by 1.03)". */
export function describeSampling(samplerOptions, schedule) {
  const { sampler, eta, epsScale } = samplerOptions;
  const details = [`${diffusion.samplingPlan(schedule, samplerOptions).length} steps`, ...(sampler === 'ddim' ? [`eta ${eta}`] : []), ...(epsScale !== 1 ? [`ε divided by ${epsScale}`] : [])];
  return `${sampler.toUpperCase()} (${details.join(', ')})`;
}

/**
 * Runs the script's body; any error becomes one line on stderr and an exit code (2: usage or
 * config, 1: anything else). Either way the GPU backends are closed first, so their memory is
 * freed before a script that goes on (a test, a caller) does more.
 */
export async function run(usage, body) {
  try {
    await body();
    await closeBackends();
  } catch (e) {
    await closeBackends().catch(() => undefined);
    if (e instanceof HelpRequested) {
      console.log(usage);
      process.exit(0);
    }
    if (process.env.DDPM_DEBUG) console.error(e);
    const usageError = e instanceof UsageError;
    console.error(`error: ${e instanceof Error ? e.message : String(e)}${usageError ? `\n\n${usage}` : ''}`);
    process.exit(usageError || e instanceof ConfigError ? 2 : 1);
  }
}

/**
 * A progress reporter (done, total) => void: `describe(done, total, left)` gives the line, which
 * is rewritten in place on a terminal, and printed at least every 1.5 s in a log (nothing a user
 * runs is silent for 2 s). `say`, when given, prints the line instead (a caller that interleaves
 * its own lines).
 */
export function progressLines(describe, { say = writeProgress } = {}) {
  const started = performance.now();
  let said = started;
  return (done, total) => {
    if (!process.stdout.isTTY && performance.now() - said <= 1500 && done !== total) return;
    said = performance.now();
    say(describe(done, total, formatDuration(((performance.now() - started) / 1000 / done) * (total - done))), done === total);
  };
}

/** A progress line: rewritten in place on a terminal (ending the line when `last`), a line of its own in a log. */
function writeProgress(line, last) {
  if (process.stdout.isTTY) process.stdout.write(`\r${line} ${last ? '\n' : ''}`);
  else console.log(line);
}

/** A sampler's onStep that shows progress. */
export const samplingProgress = () => progressLines((done, total, left) => `sampling: step ${done}/${total}, ${left} left`);
