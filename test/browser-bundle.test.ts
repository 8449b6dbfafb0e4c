// The library bundled for pages (npm run build:browser): it must build without any Node module,
// a Node import anywhere in the core must fail the build by name, and the bundle must work on
// its own (here run by Node as a plain ES module, with no Node entry installed).

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';

const repoRoot = new URL('../../', import.meta.url).pathname;

interface BuildModule {
  buildBrowser(options?: { entry?: string; outdir?: string }): Promise<{ inputs: string[]; outputs: Array<{ file: string; bytes: number }> }>;
}

describe('the browser bundle', function () {
  this.timeout(120000);
  const out = mkdtempSync(join(tmpdir(), 'ddpm-ts-bundle-'));
  let build: BuildModule;

  before(async () => {
    build = (await import(join(repoRoot, 'examples/browser/build.mjs'))) as BuildModule;
  });

  it('bundles the core without a Node module, gpu.js in a chunk of its own', async () => {
    const { inputs, outputs } = await build.buildBrowser({ outdir: out });
    expect(inputs.some((i) => i.includes('/src/node/'))).to.equal(false);
    expect(inputs.some((i) => i.includes('dist/src/backends/gpu/index.js'))).to.equal(true);
    expect(outputs.map((o) => o.file.split('/').at(-1))).to.include('ddpm-ts.js');
    expect(outputs.some((o) => /gpu-browser-.*\.js$/.test(o.file))).to.equal(true);
  });

  it('fails, naming the file and the module, when the core imports Node', async () => {
    const entry = join(out, 'entry.js');
    writeFileSync(entry, `import { readFileSync } from 'node:fs';\nexport const x = readFileSync;\n`);
    try {
      await build.buildBrowser({ entry, outdir: join(out, 'bad') });
      expect.fail('the build should have failed');
    } catch (e) {
      expect((e as Error).message).to.contain(`${entry} imports the Node module 'node:fs': the browser bundle must not`);
    }
  });

  it('works on its own: a UNet forward pass and a training checkpoint in memory, no Node entry', async () => {
    const lib = await import(join(out, 'ddpm-ts.js'));
    lib.manualSeed(1);
    const net = new lib.UNet({ imageSize: 8, baseChannels: 8, channelMults: [1, 2], attnResolutions: [4], groups: 2, timeEmbDim: 16 });
    const y = net.forward(lib.randn([2, 3, 8, 8]), [0, 5]);
    expect(y.shape).to.deep.equal([2, 3, 8, 8]);
    // The trainer without a file system: a MemoryStore holds the run.
    const store = new lib.diffusion.MemoryStore('page');
    const config = lib.resolveConfig({ data: { imageSize: 8 }, model: { baseChannels: 8, channelMults: [1, 2], numResBlocks: 1, attnResolutions: [4], groups: 2, timeEmbDim: 16 }, diffusion: { timesteps: 20 }, train: { batchSize: 2, steps: 2, sampleEvery: 2, checkpointEvery: 2, logEvery: 1 }, sample: { steps: 2, count: 2 } });
    const trainer = await lib.diffusion.Trainer.create(config, { store });
    expect(await trainer.train()).to.equal('finished');
    const checkpoint = lib.diffusion.parseCheckpoint(store.files.get('checkpoint.safetensors'), 'page checkpoint');
    expect(checkpoint.step).to.equal(2);
    expect([...store.images.keys()].sort()).to.deep.equal(['denoising.png', 'loss.png', 'samples/step-000002.png']);
    expect(new TextDecoder().decode(store.files.get('log.jsonl')).trim().split('\n')).to.have.length(2);
    // Without a store, a page is told to pass one.
    try {
      await lib.diffusion.Trainer.create(config);
      expect.fail('should have thrown');
    } catch (e) {
      expect((e as Error).message).to.contain('this platform has no file system: pass a store');
    }
  });
});
