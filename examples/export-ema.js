// Writes a checkpoint's EMA weights alone (what sampling needs) as a small safetensors file,
// with the run's config and step in its metadata: the form the demo page opens with.
//
//   node examples/export-ema.js --checkpoint runs/faces/checkpoint.safetensors --out faces.safetensors

import { diffusion, io } from 'ddpm-ts';
import { parseFlags, run, UsageError } from './cli.js';

export const EMA_FORMAT = 'ddpm-ts-ema/1';
const USAGE = `Export a checkpoint's EMA weights for sampling.

Usage: node examples/export-ema.js --checkpoint FILE --out FILE [--overwrite]

  --checkpoint FILE  a training checkpoint (runs/…/checkpoint.safetensors)
  --out FILE         the weights file to write (safetensors)
  --overwrite        replace an existing --out file
  --help             show this help

An existing --out file is replaced only with --overwrite, and never the checkpoint itself or any
training checkpoint.`;

await run(USAGE, async () => {
  const { checkpoint: path, out, overwrite } = parseFlags(process.argv.slice(2), { checkpoint: { type: 'string' }, out: { type: 'string' }, overwrite: { type: 'boolean' } });
  if (!path || !out) throw new UsageError('--checkpoint and --out are both required');
  await io.checkOutputFiles([{ flag: '--out', path: out, kind: 'weights' }], { inputs: [{ flag: '--checkpoint', path }], overwrite });
  const checkpoint = await diffusion.loadCheckpoint(path);
  await io.saveSafetensors(out, checkpoint.ema, { format: EMA_FORMAT, config: JSON.stringify(checkpoint.config), step: String(checkpoint.step) });
  const params = [...checkpoint.ema.values()].reduce((n, t) => n + t.size, 0);
  console.log(`wrote ${out}: the EMA weights (${params.toLocaleString('en-US')} parameters) of step ${checkpoint.step} of ${path}`);
});
