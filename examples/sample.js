// Draw images from a trained checkpoint (its EMA weights).
//
//   node examples/sample.js --checkpoint runs/faces/checkpoint.safetensors [--sampler ddim --steps 50 --count 64 --out grid.png]

import { diffusion, io, nn, Rng, formatDuration } from 'ddpm-ts';

const USAGE = `Draw samples from a trained ddpm-ts checkpoint.

Usage: node examples/sample.js --checkpoint FILE [options]

  --sampler ddpm|ddim  DDPM walks all timesteps; DDIM takes --steps (default: the checkpoint's config)
  --steps N            DDIM steps
  --eta X              DDIM noise, 0 (deterministic) to 1
  --count N            number of images (default 64)
  --seed N             random seed (default 0)
  --out FILE           PNG grid to write (default samples.png)
  --strip FILE         also write a denoising strip (x_T … x_0) of the first 4 images`;

function fail(message) {
  console.error(`error: ${message}`);
  process.exit(2);
}

const opts = { count: 64, seed: 0, out: 'samples.png' };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const flag = argv[i];
  if (flag === '--help' || flag === '-h') {
    console.log(USAGE);
    process.exit(0);
  }
  const value = argv[++i];
  if (value === undefined) fail(`${flag} needs a value\n\n${USAGE}`);
  const number = () => {
    const n = Number(value);
    if (!Number.isFinite(n)) fail(`${flag} needs a number, got ${value}`);
    return n;
  };
  if (flag === '--checkpoint') opts.checkpoint = value;
  else if (flag === '--sampler') opts.sampler = value;
  else if (flag === '--steps') opts.steps = number();
  else if (flag === '--eta') opts.eta = number();
  else if (flag === '--count') opts.count = number();
  else if (flag === '--seed') opts.seed = number();
  else if (flag === '--out') opts.out = value;
  else if (flag === '--strip') opts.strip = value;
  else fail(`unknown option ${flag}\n\n${USAGE}`);
}
if (!opts.checkpoint) fail(`--checkpoint is required\n\n${USAGE}`);
if (opts.sampler && !['ddpm', 'ddim'].includes(opts.sampler)) fail(`--sampler must be ddpm or ddim, got ${opts.sampler}`);
if (!Number.isInteger(opts.count) || opts.count < 1) fail(`--count must be a positive whole number`);

let checkpoint;
try {
  checkpoint = await diffusion.loadCheckpoint(opts.checkpoint);
} catch (e) {
  fail(e.message);
}
const { config } = checkpoint;
const model = new nn.UNet(config.model);
model.loadStateDict(checkpoint.ema);
model.eval();

const samplerOptions = {
  ...config.sample,
  ...(opts.sampler && { sampler: opts.sampler }),
  ...(opts.steps !== undefined && { steps: opts.steps }),
  ...(opts.eta !== undefined && { eta: opts.eta }),
  prediction: config.diffusion.prediction,
  variance: config.diffusion.variance,
};
const schedule = diffusion.makeSchedule(config.diffusion);
const { channels, imageSize } = config.data;
const started = performance.now();
console.log(`sampling ${opts.count} images with ${samplerOptions.sampler.toUpperCase()} (${diffusion.samplingPlan(schedule, samplerOptions).length} steps) from step ${checkpoint.step} of ${opts.checkpoint}`);
const result = diffusion.sample(model, schedule, samplerOptions, {
  count: opts.count, channels, imageSize, rng: new Rng(opts.seed), batchSize: 16,
  trajectoryFrames: opts.strip ? 10 : 0,
  onStep: (done, total) => {
    if (process.stdout.isTTY) process.stdout.write(`\rstep ${done}/${total}, ${formatDuration(((performance.now() - started) / 1000 / done) * (total - done))} left `);
  },
});
if (process.stdout.isTTY) process.stdout.write('\n');
const scale = Math.max(1, Math.round(64 / imageSize));
await io.writePng(opts.out, io.imageGrid(result.images.toFloat32Array(), opts.count, channels, imageSize, { scale }));
console.log(`wrote ${opts.out} (${opts.count} images) in ${formatDuration((performance.now() - started) / 1000)}`);
if (opts.strip) {
  const frames = result.trajectory.map((f) => f.toFloat32Array());
  await io.writePng(opts.strip, io.trajectoryStrip(frames, Math.min(4, opts.count), channels, imageSize, scale));
  console.log(`wrote ${opts.strip} (x_T … x_0)`);
}
