// Tour, chapter 7 (docs/07-beyond-one-machine.md): a checkpoint is PyTorch's state dict in
// safetensors. This trains two steps of a tiny run, then shows the checkpoint's tensor groups and
// that the UNet's names and shapes are exactly those of the PyTorch model that made the
// fixtures (test/fixtures/unet-s.safetensors was written by PyTorch's state_dict()).
//
//   node examples/tour/07-beyond.js

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diffusion, io, nn, resolveConfig } from 'ddpm-ts';

const scratch = mkdtempSync(join(tmpdir(), 'ddpm-ts-tour-'));
const outDir = join(scratch, 'run');
const config = resolveConfig({
  seed: 1, data: { imageSize: 8 }, diffusion: { timesteps: 50 },
  model: { baseChannels: 8, channelMults: [1, 2], numResBlocks: 1, attnResolutions: [4], groups: 2, timeEmbDim: 16 },
  train: { batchSize: 2, steps: 2, logEvery: 1, sampleEvery: 0, checkpointEvery: 2, outDir },
});
await (await diffusion.Trainer.create(config)).train();
const { tensors, metadata } = await io.loadSafetensors(join(outDir, 'checkpoint.safetensors'));
rmSync(scratch, { recursive: true }); // the two-step run was only made to be read
const groups = {};
for (const name of tensors.keys()) {
  const group = name.startsWith('adam.') ? name.split('.').slice(0, 2).join('.') : name.split('.')[0];
  groups[group] = (groups[group] ?? 0) + 1;
}
console.log(`checkpoint: ${tensors.size} tensors: ${Object.entries(groups).map(([g, n]) => `${g}.* ${n}`).join(', ')}; metadata: ${Object.keys(metadata).join(', ')}`);
console.log(`for example: ema.down.1.res.0.skip.weight [${tensors.get('ema.down.1.res.0.skip.weight').shape}], ema.time.dense0.weight [${tensors.get('ema.time.dense0.weight').shape}]`);

// The same architecture at UNet-S size: our names and shapes against PyTorch's, both ways.
const fixture = await io.loadSafetensors(new URL('../../test/fixtures/unet-s.safetensors', import.meta.url).pathname);
const ours = new nn.UNet(JSON.parse(fixture.metadata.config)).stateDict();
const missing = [...fixture.tensors.keys()].filter((n) => !ours.has(n));
const extra = [...ours.keys()].filter((n) => !fixture.tensors.has(n));
const reshaped = [...ours].filter(([n, t]) => fixture.tensors.has(n) && String(t.shape) !== String(fixture.tensors.get(n).shape));
console.log(`UNet-S: PyTorch's state dict has ${fixture.tensors.size} tensors, ours ${ours.size}; missing ${missing.length}, extra ${extra.length}, different shape ${reshaped.length}`);
