// Writes training images as ddpm-ts's trainer sees them (float32 in [−1, 1], [N, C, S, S]) to a
// safetensors file, so that PyTorch (examples/torch/train_ddp.py) trains on the very same
// images: generated faces (image i is the face of seed i) or MNIST. With --config-out it also
// writes the resolved config, the whole object train_ddp.py reads.
//
//   node examples/export-data.js --count 10000 --out faces.safetensors --config-out config.json

import { totalmem } from 'node:os';
import { ConfigError, data, diffusion, io, resolveConfig, tensor } from 'ddpm-ts';
import { flagProblems, parseFlags, progressLines, readPartialConfig, run, tinyCount, UsageError, withTiny } from './cli.js';

const USAGE = `Export training images (generated faces or MNIST) for PyTorch.

Usage: node examples/export-data.js --out FILE [options]

  --out FILE         the dataset file to write (safetensors: 'images' [N, C, S, S], float32 in [-1, 1])
  --count N          how many images (default: 10000 faces; MNIST's 8000 training digits)
  --config FILE      a partial config (JSON) merged over the defaults: its data section says what to export
  --mnist            export MNIST (data.source 'mnist')
  --config-out FILE  also write the resolved config (the whole object examples/torch/train_ddp.py reads)
  --overwrite        replace existing output files
  --help             show this help`;

const FLAGS = { out: { type: 'string' }, count: { type: 'string', number: true }, config: { type: 'string' }, mnist: { type: 'boolean' }, 'config-out': { type: 'string' }, overwrite: { type: 'boolean' } };

await run(USAGE, async () => {
  const args = parseFlags(process.argv.slice(2), FLAGS);
  if (!args.out) throw new UsageError('--out is required');
  if (args.count !== undefined && !(Number.isInteger(args.count) && args.count >= 1)) throw new UsageError(`--count must be a whole number >= 1, got ${args.count}`);
  const partial = withTiny(args.config ? await readPartialConfig(args.config) : {});
  if (args.mnist) partial.data = { ...partial.data, source: 'mnist' };
  let config;
  try {
    config = resolveConfig(partial);
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(flagProblems(e, { 'data.source': '--mnist' }));
    throw e;
  }
  if (config.data.source === 'folder') throw new UsageError('data.source is folder: train_ddp.py reads the folder itself (config.data.path), with the same crop and resize; nothing to export');
  const outputs = [{ flag: '--out', path: args.out, kind: 'dataset' }];
  if (args['config-out']) outputs.push({ flag: '--config-out', path: args['config-out'], kind: 'config' });
  await io.checkOutputFiles(outputs, { inputs: args.config ? [{ flag: '--config', path: args.config }] : [], overwrite: args.overwrite });

  const dataset = await data.loadNodeDataset(config.data, { warn: console.warn });
  const count = tinyCount(args.count ?? (Number.isFinite(dataset.size) ? dataset.size : 10000));
  if (count > dataset.size) throw new UsageError(`--count ${count}: ${dataset.description} holds ${dataset.size} images`);
  const { channels: C, imageSize: S } = config.data;
  // The images are held twice at the end (the values and the file made of them): say so up front
  // rather than fail deep inside with "Invalid typed array length".
  const imageBytes = C * S * S * 4, needed = 2 * count * imageBytes;
  // At most 80% of the memory, and no more values than one typed array holds.
  const fits = Math.floor(Math.min((0.8 * totalmem()) / (2 * imageBytes), diffusion.MAX_TENSOR_ELEMENTS / (C * S * S)));
  if (count > fits) throw new UsageError(`--count ${count} needs ${diffusion.formatBytes(needed)} of memory (${C}×${S}×${S} float32 images, held twice: the values and the file made of them), and this machine has ${diffusion.formatBytes(totalmem())}: at most ${fits.toLocaleString('en-US')} images`);
  const values = new Float32Array(count * C * S * S);
  console.log(`exporting ${count.toLocaleString('en-US')} images of ${dataset.description} to ${args.out}`);
  const progress = progressLines((done, total, left) => `exporting: ${done.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} images (${Math.floor((100 * done) / total)}%), ${left} left`);
  for (let i = 0; i < count; i++) {
    values.set(dataset.image(i), i * C * S * S);
    progress(i + 1, count);
  }
  if (needed > 1e9) console.log(`writing ${args.out} (${diffusion.formatBytes(needed / 2)})`);
  await io.saveSafetensors(args.out, { images: tensor(values, [count, C, S, S]) }, { format: 'ddpm-ts-dataset/1', source: config.data.source, imageSize: String(S), channels: String(C), description: dataset.description });
  console.log(`wrote ${args.out}: ${count} images of ${dataset.description}`);
  if (args['config-out']) {
    await io.writeAtomic(args['config-out'], diffusion.configFileText(config));
    console.log(`wrote ${args['config-out']}: the resolved config (train_ddp.py --config ${args['config-out']})`);
  }
});
