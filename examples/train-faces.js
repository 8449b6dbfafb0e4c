// Train a DDPM on faces. With no arguments it trains on procedurally generated faces, so
// nothing needs downloading; sample grids appear in runs/faces/samples/ as it learns.
//
//   node examples/train-faces.js [--config file.json] [--data DIR] [--steps N] [--out DIR] [--resume | --overwrite]

import { join } from 'node:path';
import { ConfigError, defaultConfig, diffusion, formatDuration, formatProgress, io, resolveConfig } from 'ddpm-ts';
import { flagProblems, isObject, parseFlags, progressLines, readPartialConfig, run, UsageError, withTiny } from './cli.js';

const USAGE = `Train a denoising diffusion model (DDPM) on faces.

Usage: node examples/train-faces.js [options]

  --config FILE  a partial config (JSON) merged over the defaults
  --data DIR     train on a folder of photos (JPEG/PNG) instead of generated faces (default
                 output folder: runs/ and the folder's name)
  --mnist        train on MNIST digits (data.source 'mnist'; default output folder runs/mnist)
  --steps N      total number of training steps (default ${defaultConfig.train.steps})
  --out DIR      output folder (default ${defaultConfig.train.outDir} for generated faces)
  --backend NAME cpu, webgpu, webgl, gpu (webgpu, else webgl) or auto (gpu, else cpu); default:
                 the config's backend (${defaultConfig.backend}); a run may resume on another backend
  --resume       continue the run in the output folder from its last checkpoint
  --overwrite    start afresh in an output folder that holds a run, replacing it
  --help         show this help

Outputs: samples/step-*.png (grids from the EMA weights), loss.png, log.jsonl,
checkpoint.safetensors, denoising.png (x_T … x_0), config.json.
Ctrl-C stops after the current step and writes a checkpoint; --resume continues it.`;

const FLAGS = {
  config: { type: 'string' }, data: { type: 'string' }, steps: { type: 'string', number: true }, out: { type: 'string' }, backend: { type: 'string' }, mnist: { type: 'boolean' },
  resume: { type: 'boolean' }, overwrite: { type: 'boolean' },
};
/** The config fields the flags set, for messages that name the flag. */
const FLAG_FIELDS = { 'train.steps': '--steps', 'train.outDir': '--out', 'data.path': '--data', backend: '--backend' };

/** The partial config the user asked for: the --config file, then the flags over it. */
async function requestedConfig(args) {
  const partial = withTiny(args.config ? await readPartialConfig(args.config) : {});
  // A flag's field goes into its section; a section that is not an object (null, "x", []) is left
  // as it is, for resolveConfig to refuse by name, never replaced by the defaults.
  const section = (name) => (!Object.hasOwn(partial, name) ? (partial[name] = {}) : isObject(partial[name]) ? (partial[name] = { ...partial[name] }) : {});
  if (args.data !== undefined && args.mnist) throw new UsageError('--data trains on a folder of photos and --mnist on MNIST digits: give one of them');
  if (args.data !== undefined) Object.assign(section('data'), { source: 'folder', path: args.data });
  if (args.mnist) section('data').source = 'mnist';
  if (args.steps !== undefined) section('train').steps = args.steps;
  if (args.out !== undefined) section('train').outDir = args.out;
  if (args.backend !== undefined) partial.backend = args.backend;
  return partial;
}


/** For --resume, the checkpoint's config with the requested changes over it. */
async function resumeConfig(partial) {
  const outDir = partial.train?.outDir ?? defaultConfig.train.outDir;
  let saved;
  try {
    saved = (await diffusion.loadCheckpoint(join(outDir, 'checkpoint.safetensors'))).config;
  } catch (e) {
    throw new Error(`--resume: ${e.message}`);
  }
  // Object.fromEntries makes every key an own field, even '__proto__' (an assignment would set the
  // prototype instead, and the field would slip past the config's check of unknown fields).
  return Object.fromEntries([
    ...Object.entries(saved),
    ...Object.entries(partial).map(([key, value]) => [key, isObject(value) && Object.hasOwn(saved, key) ? { ...saved[key], ...value } : value]),
  ]);
}

await run(USAGE, async () => {
  const args = parseFlags(process.argv.slice(2), FLAGS);
  if (args.resume && args.overwrite) throw new UsageError('--resume continues the run in the output folder and --overwrite replaces it: give one of them');
  const partial = await requestedConfig(args);
  let config;
  try {
    config = resolveConfig(args.resume ? await resumeConfig(partial) : partial);
  } catch (e) {
    // A problem is named by its flag only when that flag was given (the field may come from --config).
    const given = Object.fromEntries(Object.entries(FLAG_FIELDS).filter(([, flag]) => args[flag.slice(2)] !== undefined));
    if (e instanceof ConfigError) throw new ConfigError(flagProblems(e, given));
    throw e;
  }

  // The run's own inputs (the --config file, the --data folder) are never among its outputs.
  const inputs = [...(args.config ? [{ flag: '--config', path: args.config }] : []), ...(config.data.source === 'folder' ? [{ flag: args.data !== undefined ? '--data' : 'data.path', path: config.data.path }] : [])];
  await io.checkRunInputs({ flag: args.out !== undefined ? '--out' : 'train.outDir', path: config.train.outDir }, inputs, { 'config.json': diffusion.configFileText(config) });

  // On a terminal the progress line is rewritten in place; in a log, a line every logEvery steps
  // and whenever 1.5 s passed since the last, so the output never stops for 2 s.
  const tty = process.stdout.isTTY;
  let lastLine = '', said = performance.now(), stepSince = said, drawing = null, trainer = null;
  const say = (line, { inPlace = false } = {}) => {
    if (tty && lastLine && !inPlace) process.stdout.write('\n');
    if (tty && inPlace) process.stdout.write(`\r${line}`);
    else console.log(line);
    lastLine = inPlace ? line : '';
    said = performance.now();
  };
  const events = {
    log: (message) => say(message),
    progress: (p) => {
      stepSince = performance.now();
      const line = formatProgress(p);
      if (tty || p.step % config.train.logEvery === 0 || p.step === p.totalSteps || performance.now() - said > 1500) say(line, { inPlace: true });
    },
    sampling: (done, total, what) => {
      if (done === 1) drawing = progressLines((k, n, left) => `drawing ${what}: step ${k}/${n}, ${left} left`, { say: (line) => say(line, { inPlace: true }) });
      drawing(done, total);
    },
  };
  // A GPU step waits on the GPU (its kernels compile during the first steps; a software GPU takes
  // seconds a step): a line says so when nothing else was printed for 2 s.
  const waiting = setInterval(() => {
    if (performance.now() - said >= 1900) say(`step ${trainer ? trainer.step + 1 : 1}: still running after ${formatDuration((performance.now() - stepSince) / 1000)} (on a GPU the first steps compile its kernels)`, { inPlace: true });
  }, 500);
  waiting.unref();

  trainer = await diffusion.Trainer.create(config, { resume: args.resume, overwrite: args.overwrite, events });
  let interrupts = 0;
  process.on('SIGINT', () => {
    if (++interrupts > 1) process.exit(130); // checkpoints are atomic: nothing half-written remains
    events.log('\nstopping after this step and writing a checkpoint (Ctrl-C again to quit now)');
    trainer.requestStop();
  });

  let status;
  try {
    status = await trainer.train();
  } finally {
    clearInterval(waiting);
    if (tty) process.stdout.write('\n');
  }
  const out = config.train.outDir;
  if (status === 'interrupted') {
    console.log(`stopped at step ${trainer.step}; continue with: node examples/train-faces.js --out ${out} --resume`);
    process.exitCode = 130; // after run() has closed the GPU backends
    return;
  }
  console.log(`done: ${trainer.step} steps. Samples: ${join(out, 'samples')}/, loss curve: ${join(out, 'loss.png')}, denoising strip: ${join(out, 'denoising.png')}`);
  console.log(`draw more: node examples/sample.js --checkpoint ${join(out, 'checkpoint.safetensors')} --count 64 --out grid.png`);
});
