// Draw images from a trained checkpoint (its EMA weights), or from a weights-only file with its
// config in the metadata (examples/export-ema.js writes one; so can PyTorch, see docs/07).
//
//   node examples/sample.js --checkpoint runs/faces/checkpoint.safetensors [--sampler ddim --steps 50 --count 64 --out grid.png]

import { diffusion, io, Rng, formatDuration } from 'ddpm-ts';
import { describeSampling, loadForSampling, parseFlags, run, samplingProgress, tinyCount, UsageError } from './cli.js';

const USAGE = `Draw samples from a trained ddpm-ts checkpoint, or from a weights file with its config.

Usage: node examples/sample.js --checkpoint FILE [options]

  --sampler ddpm|ddim  DDPM walks all timesteps; DDIM takes --steps (default: the checkpoint's config)
  --steps N            DDIM steps, 1 to the checkpoint's diffusion.timesteps
  --eta X              DDIM noise, 0 (deterministic) to 1
  --eps-scale X        divide the predicted noise by X at each step, 0.5 to 2; 1 is off
  --count N            number of images, 1 to 1024 (default 64)
  --seed N             random seed (default 0)
  --backend NAME       cpu, webgpu, webgl, gpu (webgpu, else webgl) or auto (gpu, else cpu);
                       default: the checkpoint's config.backend
  --out FILE           PNG grid to write (default samples.png)
  --strip FILE         also write a denoising strip (x_T … x_0) of the first 4 images
  --overwrite          replace an --out or --strip file that is not a PNG image
  --help               show this help

An existing PNG at --out or --strip is replaced; any other file there only with --overwrite, and
never the checkpoint itself or any training checkpoint.`;

const FLAGS = {
  checkpoint: { type: 'string' }, sampler: { type: 'string' }, steps: { type: 'string', number: true }, eta: { type: 'string', number: true }, 'eps-scale': { type: 'string', number: true },
  count: { type: 'string', number: true }, seed: { type: 'string', number: true }, out: { type: 'string' }, strip: { type: 'string' },
  backend: { type: 'string' }, overwrite: { type: 'boolean' },
};

await run(USAGE, async () => {
  const opts = { count: 64, seed: 0, out: 'samples.png', ...parseFlags(process.argv.slice(2), FLAGS) };
  opts.count = tinyCount(opts.count);
  if (!opts.checkpoint) throw new UsageError('--checkpoint is required');
  // Where the images go is checked before any work (see the rule in the usage above).
  const outputs = [{ flag: '--out', path: opts.out, kind: 'image' }, ...(opts.strip ? [{ flag: '--strip', path: opts.strip, kind: 'image' }] : [])];
  await io.checkOutputFiles(outputs, { inputs: [{ flag: '--checkpoint', path: opts.checkpoint }], overwrite: opts.overwrite });
  // The flags are checked by the config's own rules (and its limits), against the checkpoint's diffusion.
  const { checkpoint, config, model, schedule, options: samplerOptions } = await loadForSampling(opts.checkpoint, { ...opts, epsScale: opts['eps-scale'] });

  const { channels, imageSize } = config.data;
  const { count } = config.sample;
  const started = performance.now();
  console.log(`sampling ${count} images with ${describeSampling(samplerOptions, schedule)} from ${checkpoint.step === null ? '' : `step ${checkpoint.step} of `}${opts.checkpoint}`);
  const result = diffusion.sample(model, schedule, samplerOptions, {
    count, channels, imageSize, rng: new Rng(config.seed), batchSize: 16,
    trajectoryFrames: opts.strip ? 10 : 0,
    onStep: samplingProgress(),
  });
  const scale = Math.max(1, Math.round(64 / imageSize));
  await io.writePng(opts.out, io.imageGrid(await result.images.data(), count, channels, imageSize, { scale }));
  console.log(`wrote ${opts.out} (${count} images) in ${formatDuration((performance.now() - started) / 1000)}`);
  if (opts.strip) {
    const frames = await Promise.all(result.trajectory.map((f) => f.data()));
    await io.writePng(opts.strip, io.trajectoryStrip(frames, Math.min(4, count), channels, imageSize, scale));
    console.log(`wrote ${opts.strip} (x_T … x_0)`);
  }
});
