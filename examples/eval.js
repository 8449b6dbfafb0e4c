// How good are a checkpoint's samples? Draws N samples from its EMA weights and prints their
// Fréchet distance (FID) to N held-out real images, in the features of a network that ddpm-ts
// trains once (and caches) to see what the images show: for generated faces, the generator's
// attributes; for MNIST, the digit. Beside it, the real-vs-real floor for the same N: two sets of
// real images are that far apart by chance alone.
//
//   node examples/eval.js --checkpoint runs/faces/checkpoint.safetensors [--count 500] [--sampler ddim --steps 50]

import { diffusion, metrics, Rng, formatDuration } from 'ddpm-ts';
import { describeSampling, loadForSampling, parseFlags, run, samplingProgress, tinyCount, UsageError } from './cli.js';

const USAGE = `Measure a checkpoint's samples: FID against held-out real images.

Usage: node examples/eval.js --checkpoint FILE [options]

  --count N            samples and real images on each side, 2 to 10000 (MNIST: to 1000; default 500)
  --sampler ddpm|ddim  default: the checkpoint's config
  --steps N            DDIM steps (default: the checkpoint's config)
  --eta X              DDIM noise, 0 (deterministic) to 1 (default: the checkpoint's config)
  --eps-scale X        divide the predicted noise by X at each step, 0.5 to 2; 1 is off
                       (default: the checkpoint's config)
  --seed N             random seed of the samples (default 0): the same seed, the same FID
  --backend NAME       cpu, webgpu, webgl, gpu (webgpu, else webgl) or auto (gpu, else cpu);
                       default: the checkpoint's config.backend
  --cache DIR          where the feature network is kept (default ${metrics.defaultCacheDir()})
  --help               show this help

Measures generated faces (data.source 'faces': the features of a network trained on the face
generator's own attributes) and MNIST ('mnist': a digit classifier trained on the 8,000 training
digits; samples are compared with the 2,000 held-out digits, which the diffusion model did not
train on either). An image folder has no labels or held-out set to measure against.`;

const FLAGS = { checkpoint: { type: 'string' }, count: { type: 'string', number: true }, sampler: { type: 'string' }, steps: { type: 'string', number: true }, eta: { type: 'string', number: true }, 'eps-scale': { type: 'string', number: true }, seed: { type: 'string', number: true }, cache: { type: 'string' }, backend: { type: 'string' } };

await run(USAGE, async () => {
  const opts = { count: 500, seed: 0, ...parseFlags(process.argv.slice(2), FLAGS) };
  opts.count = tinyCount(opts.count);
  if (!opts.checkpoint) throw new UsageError('--checkpoint is required');
  if (!(Number.isInteger(opts.count) && opts.count >= 2 && opts.count <= 10000)) throw new UsageError(`--count must be a whole number from 2 to 10000, got ${opts.count}`);
  // --count is the FID's, not the config's sample.count (a preview grid's, at most 1,024).
  const { checkpoint, config, model, schedule, options: samplerOptions } = await loadForSampling(opts.checkpoint, { seed: opts.seed, backend: opts.backend, sampler: opts.sampler, steps: opts.steps, eta: opts.eta, epsScale: opts['eps-scale'] });
  const { imageSize, channels } = config.data;
  let reference;
  try {
    reference = await metrics.referenceFor(config.data);
  } catch (e) {
    throw new UsageError(`${opts.checkpoint} was trained on data.source '${config.data.source}': ${e.message}`);
  }
  if (opts.count > metrics.maxEvalCount(reference)) throw new UsageError(`--count ${opts.count} is too many: there are ${reference.heldOutSize} ${reference.heldOutDescription}, enough for at most ${metrics.maxEvalCount(reference)} on each side (the floor takes a second set as large)`);
  const started = performance.now();

  const features = await metrics.loadFeatureNet(reference, metrics.defaultFeatureRecipe(imageSize, channels), { cacheDir: opts.cache, log: console.log });
  const accuracy = Object.values(features.accuracy).reduce((a, b) => a + b, 0) / Object.keys(features.accuracy).length;
  const what = reference.name === 'faces' ? "the generator's attributes of held-out faces" : `the digit of the ${reference.heldOutSize} held-out digits`;
  console.log(`features: ${features.path} (${features.trained ? 'trained now' : 'cached'}; tells ${what} ${(100 * accuracy).toFixed(1)}% right${reference.name === 'faces' ? ' on average' : ''})`);

  console.log(`sampling ${opts.count} images with ${describeSampling(samplerOptions, schedule)} from ${checkpoint.step === null ? '' : `step ${checkpoint.step} of `}${opts.checkpoint}`);
  const samples = diffusion.sample(model, schedule, samplerOptions, { count: opts.count, channels, imageSize, rng: new Rng(config.seed), batchSize: 32, onStep: samplingProgress() }).images;

  const heldOut = await metrics.heldOutReal(reference, features.net, opts.count);
  const fid = await metrics.fidAgainst(heldOut, samples);
  const floor = heldOut.floor;
  console.log(`FID ${fid.toFixed(2)} (${opts.count} samples against ${opts.count} ${reference.heldOutDescription}); real-vs-real floor at ${opts.count}: ${floor.toFixed(2)}; ${formatDuration((performance.now() - started) / 1000)}`);
  console.log(JSON.stringify({ fid, floor, count: opts.count, data: reference.name, step: checkpoint.step, sampler: samplerOptions.sampler, steps: samplerOptions.steps, eta: samplerOptions.eta, epsScale: samplerOptions.epsScale, seconds: (performance.now() - started) / 1000 }));
});
