// Writes training images as ddpm-ts's trainer sees them (float32 in [−1, 1], [N, C, S, S]) to a
// safetensors file, so that PyTorch (examples/torch/train_ddp.py) trains on the very same
// images: generated faces (image i is the face of seed i) or MNIST. With --config-out it also
// writes the resolved config, the whole object train_ddp.py reads.
//
//   node examples/export-data.js --count 10000 --out faces.safetensors --config-out config.json

import { writeFile } from 'node:fs/promises';
import { ConfigError, data, io, resolveConfig, tensor } from 'ddpm-ts';
import { flagProblems, parseFlags, readPartialConfig, run, UsageError } from './cli.js';

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
  const partial = args.config ? await readPartialConfig(args.config) : {};
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
  const count = args.count ?? (Number.isFinite(dataset.size) ? dataset.size : 10000);
  if (count > dataset.size) throw new UsageError(`--count ${count}: ${dataset.description} holds ${dataset.size} images`);
  const { channels: C, imageSize: S } = config.data;
  const values = new Float32Array(count * C * S * S);
  for (let i = 0; i < count; i++) values.set(dataset.image(i), i * C * S * S);
  await io.saveSafetensors(args.out, { images: tensor(values, [count, C, S, S]) }, { format: 'ddpm-ts-dataset/1', source: config.data.source, imageSize: String(S), channels: String(C), description: dataset.description });
  console.log(`wrote ${args.out}: ${count} images of ${dataset.description}`);
  if (args['config-out']) {
    await writeFile(args['config-out'], JSON.stringify(config, null, 2) + '\n');
    console.log(`wrote ${args['config-out']}: the resolved config (train_ddp.py --config ${args['config-out']})`);
  }
});
