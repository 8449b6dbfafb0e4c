// Train a DDPM on faces. With no arguments it trains on procedurally generated faces, so
// nothing needs downloading; sample grids appear in runs/faces/samples/ as it learns.
//
//   node examples/train-faces.js [--config file.json] [--data DIR] [--steps N] [--out DIR] [--resume]

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, defaultConfig, diffusion, formatProgress, resolveConfig } from 'ddpm-ts';

const USAGE = `Train a denoising diffusion model (DDPM) on faces.

Usage: node examples/train-faces.js [options]

  --config FILE  a partial config (JSON) merged over the defaults
  --data DIR     train on a folder of face photos (JPEG/PNG) instead of generated faces
  --steps N      total number of training steps (default ${defaultConfig.train.steps})
  --out DIR      output folder (default ${defaultConfig.train.outDir})
  --resume       continue the run in the output folder from its last checkpoint
  --help         show this help

Outputs: samples/step-*.png (grids from the EMA weights), loss.png, log.jsonl,
checkpoint.safetensors, denoising.png (x_T … x_0), config.json.
Ctrl-C stops after the current step and writes a checkpoint; --resume continues it.`;

function fail(message, code = 2) {
  console.error(`error: ${message}`);
  process.exit(code);
}

function parseArgs(argv) {
  const args = { resume: false };
  const valueOf = (i, flag) => {
    if (i + 1 >= argv.length || argv[i + 1].startsWith('--')) fail(`${flag} needs a value\n\n${USAGE}`);
    return argv[i + 1];
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--help' || flag === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else if (flag === '--resume') args.resume = true;
    else if (flag === '--config') args.config = valueOf(i++, flag);
    else if (flag === '--data') args.data = valueOf(i++, flag);
    else if (flag === '--out') args.out = valueOf(i++, flag);
    else if (flag === '--steps') {
      args.steps = Number(valueOf(i++, flag));
      if (!Number.isInteger(args.steps) || args.steps < 0) fail(`--steps must be a whole number, got ${argv[i]}`);
    } else fail(`unknown option ${flag}\n\n${USAGE}`);
  }
  return args;
}

/** The partial config the user asked for: the --config file, then the flags over it. */
async function requestedConfig(args) {
  let partial = {};
  if (args.config) {
    let text;
    try {
      text = await readFile(args.config, 'utf8');
    } catch (e) {
      fail(`cannot read --config ${args.config}: ${e.message}`);
    }
    try {
      partial = JSON.parse(text);
    } catch (e) {
      fail(`--config ${args.config} is not valid JSON: ${e.message}`);
    }
  }
  const section = (name) => (partial[name] = { ...(partial[name] ?? {}) });
  if (args.data) Object.assign(section('data'), { source: 'folder', path: args.data });
  if (args.steps !== undefined) section('train').steps = args.steps;
  if (args.out) section('train').outDir = args.out;
  return partial;
}

/** For --resume, the checkpoint's config with the requested changes over it. */
async function resumeConfig(partial) {
  const outDir = partial.train?.outDir ?? defaultConfig.train.outDir;
  const path = join(outDir, 'checkpoint.safetensors');
  let saved;
  try {
    saved = (await diffusion.loadCheckpoint(path)).config;
  } catch (e) {
    fail(`--resume: ${e.message}`);
  }
  const merged = { ...saved };
  for (const [key, value] of Object.entries(partial)) merged[key] = typeof value === 'object' ? { ...saved[key], ...value } : value;
  return merged;
}

const args = parseArgs(process.argv.slice(2));
const partial = await requestedConfig(args);
let config;
try {
  config = resolveConfig(args.resume ? await resumeConfig(partial) : partial);
} catch (e) {
  if (e instanceof ConfigError) fail(e.message);
  throw e;
}

const tty = process.stdout.isTTY;
let lastLine = '';
const events = {
  log: (message) => {
    if (tty && lastLine) process.stdout.write('\n');
    lastLine = '';
    console.log(message);
  },
  progress: (p) => {
    lastLine = formatProgress(p);
    if (tty) process.stdout.write(`\r${lastLine}`);
    else if (p.step % config.train.logEvery === 0 || p.step === p.totalSteps) console.log(lastLine);
  },
};

let trainer;
try {
  trainer = await diffusion.Trainer.create(config, { resume: args.resume, events });
} catch (e) {
  fail(e.message, 1);
}
let interrupts = 0;
process.on('SIGINT', () => {
  if (++interrupts > 1) process.exit(130); // checkpoints are atomic: nothing half-written remains
  events.log('\nstopping after this step and writing a checkpoint (Ctrl-C again to quit now)');
  trainer.requestStop();
});

try {
  const status = await trainer.train();
  if (tty) process.stdout.write('\n');
  const out = config.train.outDir;
  if (status === 'interrupted') {
    console.log(`stopped at step ${trainer.step}; continue with: node examples/train-faces.js --out ${out} --resume`);
    process.exit(130);
  }
  console.log(`done: ${trainer.step} steps. Samples: ${join(out, 'samples')}/, loss curve: ${join(out, 'loss.png')}, denoising strip: ${join(out, 'denoising.png')}`);
  console.log(`draw more: node examples/sample.js --checkpoint ${join(out, 'checkpoint.safetensors')} --count 64 --out grid.png`);
} catch (e) {
  if (tty) process.stdout.write('\n');
  if (e instanceof diffusion.TrainingDivergedError) fail(e.message, 1);
  throw e;
}
