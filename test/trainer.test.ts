// The trainer end to end: overfitting a handful of images, exact resume, divergence, and the
// command line (config errors, Ctrl-C).

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { Rng, UNet, data, diffusion, io, formatProgress, resolveConfig, type DeepPartial, type Config } from 'ddpm-ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'ddpm-ts-train-'));
const repoRoot = new URL('../../', import.meta.url).pathname;

/** A tiny 8×8 setup that trains in milliseconds a step. */
function tinyConfig(outDir: string, overrides: DeepPartial<Config> = {}): Config {
  return resolveConfig({
    seed: 5,
    ...overrides,
    data: { imageSize: 8, channels: 3, ...overrides.data },
    model: { baseChannels: 8, channelMults: [1, 2], numResBlocks: 1, attnResolutions: [4], groups: 2, timeEmbDim: 16, ...overrides.model },
    diffusion: { timesteps: 100, ...overrides.diffusion },
    train: { batchSize: 4, steps: 6, lr: 2e-3, warmupSteps: 2, logEvery: 2, sampleEvery: 0, checkpointEvery: 0, outDir, ...overrides.train },
    sample: { steps: 4, count: 4, ...overrides.sample },
  });
}

/** Four distinct 8×8 grey patterns (halves, stripes, a checkerboard, a centred square). */
function patterns(): Uint8Array[] {
  const on = [
    (x: number) => x < 4,
    (_: number, y: number) => y < 4,
    (x: number, y: number) => (x + y) % 2 === 0,
    (x: number, y: number) => x >= 2 && x < 6 && y >= 2 && y < 6,
  ];
  return on.map((f) => Uint8Array.from({ length: 64 }, (_, i) => (f(i % 8, Math.floor(i / 8)) ? 255 : 0)));
}

describe('trainer', function () {
  this.timeout(120000);

  it('overfits a handful of 8×8 images: the loss falls far below the start and samples land on the training images', async () => {
    const images = patterns();
    const dataset = data.inMemoryDataset(images, 8, 1, 'four patterns');
    const config = tinyConfig(tmp(), {
      seed: 3,
      data: { channels: 1, flip: false },
      model: { baseChannels: 16, attnResolutions: [], groups: 4, timeEmbDim: 32 },
      diffusion: { timesteps: 200, schedule: 'cosine' },
      train: { batchSize: 8, steps: 300, lr: 5e-3, warmupSteps: 20, emaDecay: 0.99 },
      sample: { sampler: 'ddim', steps: 20, count: 8, clip: true },
    });
    const trainer = await diffusion.Trainer.create(config, { dataset });
    const nearest = (samples: Float32Array) => Array.from({ length: 8 }, (_, i) => {
      const x = samples.subarray(i * 64, (i + 1) * 64);
      return Math.min(...images.map((img) => img.reduce((s, v, j) => s + ((v / 255) * 2 - 1 - x[j]!) ** 2, 0) / 64));
    });
    const before = nearest(trainer.sampleEma(8).images.toFloat32Array());
    for (let i = 0; i < config.train.steps; i++) await trainer.trainStep();
    const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
    expect(mean(trainer.losses.slice(-20))).to.be.below(0.15 * mean(trainer.losses.slice(0, 10)));
    const after = nearest(trainer.sampleEma(8).images.toFloat32Array());
    // Mean squared distance to the nearest training image, pixels in [-1, 1]: the untrained
    // model's samples are far from all four; the trained model's sit on them.
    expect(mean(before)).to.be.above(0.9);
    expect(mean(after)).to.be.below(0.3);
    expect(after.filter((d) => d < 0.1).length).to.be.at.least(4);
  });

  it('resumes exactly: N steps straight equal N/2, a checkpoint, and N/2 more', async () => {
    const straightDir = tmp(), splitDir = tmp();
    const straight = await diffusion.Trainer.create(tinyConfig(straightDir));
    expect(await straight.train()).to.equal('finished');

    const first = await diffusion.Trainer.create(tinyConfig(splitDir, { train: { steps: 3 } }));
    await first.train();
    const second = await diffusion.Trainer.create(tinyConfig(splitDir), { resume: true });
    expect(second.step).to.equal(3);
    await second.train();

    expect([...first.losses, ...second.losses]).to.deep.equal(straight.losses);
    const a = straight.model.stateDict(), b = second.model.stateDict();
    for (const [name, p] of a) expect(Array.from(b.get(name)!.toFloat32Array()), name).to.deep.equal(Array.from(p.toFloat32Array()));
    // The resumed run's log continues the first one's.
    const { readFileSync } = await import('node:fs');
    const log = readFileSync(join(splitDir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step);
    expect(log).to.deep.equal([2, 3, 4, 6]);
    for (const f of ['checkpoint.safetensors', 'loss.png', 'denoising.png', 'config.json', 'samples/step-000006.png']) {
      expect(existsSync(join(splitDir, f)), f).to.equal(true);
    }

    // examples/sample.js draws from that checkpoint.
    const grid = join(splitDir, 'grid.png');
    const r = spawnSync(process.execPath, [join(repoRoot, 'examples/sample.js'), '--checkpoint', join(splitDir, 'checkpoint.safetensors'), '--count', '3', '--steps', '2', '--out', grid, '--strip', join(splitDir, 'strip.png')], { encoding: 'utf8' });
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/sampling 3 images with DDIM \(2 steps, eta 1, ε divided by 1\.04\) from step 6/);
    const img = await io.readImage(grid);
    expect([img.width, img.height]).to.deep.equal([2 * (8 * 8 + 2) + 2, 2 * (8 * 8 + 2) + 2]);
    expect(existsSync(join(splitDir, 'strip.png'))).to.equal(true);

    // The EMA weights alone (examples/export-ema.js: a plain state dict with the config in its
    // metadata, what a PyTorch user would bring back) sample the very same grid.
    const weights = join(splitDir, 'ema.safetensors'), fromWeights = join(splitDir, 'grid-weights.png');
    expect(spawnSync(process.execPath, [join(repoRoot, 'examples/export-ema.js'), '--checkpoint', join(splitDir, 'checkpoint.safetensors'), '--out', weights]).status).to.equal(0);
    const w = spawnSync(process.execPath, [join(repoRoot, 'examples/sample.js'), '--checkpoint', weights, '--count', '3', '--steps', '2', '--out', fromWeights], { encoding: 'utf8' });
    expect(w.status, w.stderr).to.equal(0);
    expect(w.stdout).to.match(/sampling 3 images with DDIM \(2 steps, eta 1, ε divided by 1\.04\) from step 6 of .*ema\.safetensors/);
    expect(Array.from((await io.readImage(fromWeights)).data)).to.deep.equal(Array.from(img.data));
  });

  it('a weights file without a config, or whose tensors do not fit its config, is refused by name', async () => {
    const dir = tmp();
    const model = { baseChannels: 8, channelMults: [1, 2], numResBlocks: 1, attnResolutions: [4], groups: 2, timeEmbDim: 16 };
    const net = new UNet({ ...model, imageSize: 8 });
    const bare = join(dir, 'bare.safetensors'), wrong = join(dir, 'wrong.safetensors');
    await io.saveSafetensors(bare, net.stateDict());
    const state = net.stateDict();
    state.delete('convOut.bias');
    await io.saveSafetensors(wrong, state, { config: JSON.stringify({ data: { imageSize: 8 }, model }) });
    for (const [file, message] of [
      [bare, /bare\.safetensors: neither a ddpm-ts training checkpoint nor a weights file with its config in the metadata \(metadata fields: none\); the file was not used/],
      [wrong, /wrong\.safetensors: its tensors do not fit the model its config describes \(.*convOut\.bias/],
    ] as const) {
      try {
        await diffusion.loadSamplingWeights(file);
        expect.fail('should have thrown');
      } catch (e) {
        expect((e as Error).message).to.match(message);
      }
    }
  });

  it('a weights file from before epsilon scaling (its config has a sample section without epsScale) samples as it did, with λ = 1', async () => {
    const dir = tmp();
    const model = { baseChannels: 8, channelMults: [1, 2], numResBlocks: 1, attnResolutions: [4], groups: 2, timeEmbDim: 16 };
    const state = new UNet({ ...model, imageSize: 8 }).stateDict();
    const write = async (name: string, config: object) => {
      const file = join(dir, name);
      await io.saveSafetensors(file, state, { config: JSON.stringify({ data: { imageSize: 8 }, model, ...config }) });
      return (await diffusion.loadSamplingWeights(file)).config.sample.epsScale;
    };
    expect(await write('before.safetensors', { sample: { sampler: 'ddim', steps: 50, eta: 1, count: 16, clip: true } })).to.equal(1);
    expect(await write('scaled.safetensors', { sample: { epsScale: 1.05 } })).to.equal(1.05);
    // A config without a sample section is a partial one (not a resolved config from before): today's defaults.
    expect(await write('partial.safetensors', {})).to.equal(1.04);
  });

  it('a file that is not a training checkpoint is refused by name', async () => {
    const dir = tmp();
    const file = join(dir, 'weights.safetensors');
    await io.saveSafetensors(file, { w: data.sampleBatch(data.facesDataset(4, 1), 1, new Rng(1), false) });
    try {
      await diffusion.loadCheckpoint(file);
      expect.fail('should have thrown');
    } catch (e) {
      expect((e as Error).message).to.match(/weights\.safetensors: not a ddpm-ts training checkpoint \(its metadata format is null, expected 'ddpm-ts-checkpoint\/1'\)/);
    }
  });

  it('refuses to resume with a different model, naming the differences', async () => {
    const dir = tmp();
    const first = await diffusion.Trainer.create(tinyConfig(dir, { train: { steps: 1 } }));
    await first.saveCheckpoint();
    await first.close(); // gives the folder back (train() does so when it ends)
    try {
      await diffusion.Trainer.create(tinyConfig(dir, { model: { baseChannels: 16, groups: 4 } }), { resume: true });
      expect.fail('should have thrown');
    } catch (e) {
      expect((e as Error).message).to.match(/cannot resume from .*checkpoint\.safetensors: the config differs.*model\.baseChannels: checkpoint 8, now 16/);
    }
  });

  it('stops on a NaN loss with a clear message, keeping the last good checkpoint', async () => {
    const dir = tmp();
    const faces = data.facesDataset(8, 3);
    let poisoned = false;
    const dataset: data.Dataset = { ...faces, image: (i) => (poisoned ? new Float32Array(3 * 64).fill(NaN) : faces.image(i)) };
    const trainer = await diffusion.Trainer.create(tinyConfig(dir, { train: { checkpointEvery: 2 } }), { dataset });
    await trainer.trainStep();
    await trainer.trainStep();
    await trainer.saveCheckpoint();
    const weights = Array.from(trainer.model.convIn.weight.toFloat32Array());
    poisoned = true;
    const e = await trainer.trainStep().then(() => null, (err: Error) => err);
    expect(e).to.be.instanceOf(diffusion.TrainingDivergedError);
    expect(e!.message).to.match(/training diverged at step 3: the loss is NaN\. Nothing was saved for this step; the last good checkpoint \(step 2\) is kept at .*checkpoint\.safetensors/);
    expect(Array.from(trainer.model.convIn.weight.toFloat32Array())).to.deep.equal(weights);
    const saved = await diffusion.loadCheckpoint(join(dir, 'checkpoint.safetensors'));
    expect(saved.step).to.equal(2);
  });

  it('formats a progress line with step, loss, speed and time left', () => {
    expect(formatProgress({ step: 50, totalSteps: 200, loss: 0.12345, lr: 1e-3, stepsPerSecond: 0.5, etaSeconds: 300 }, 8))
      .to.equal('step  50/200 ██░░░░░░  25% | loss 0.1235 | 2.00 s/it | ETA 5m00s');
    expect(formatProgress({ step: 200, totalSteps: 200, loss: 0.1, lr: 1e-3, stepsPerSecond: 12.5, etaSeconds: 7300 }, 4))
      .to.contain('12.50 it/s | ETA 2h01m');
  });

  describe('command line', () => {
    const cli = join(repoRoot, 'examples/train-faces.js');
    const tinyFile = (dir: string) => {
      const file = join(dir, 'tiny.json');
      writeFileSync(file, JSON.stringify({
        data: { imageSize: 8 }, model: { baseChannels: 8, channelMults: [1, 2], numResBlocks: 1, attnResolutions: [4], groups: 2, timeEmbDim: 16 },
        train: { batchSize: 2, steps: 100000, logEvery: 1, sampleEvery: 0, checkpointEvery: 0 }, sample: { steps: 2, count: 2 },
      }));
      return file;
    };

    it('reports every config error and writes nothing to the output folder', () => {
      const dir = tmp();
      const bad = join(dir, 'bad.json');
      writeFileSync(bad, JSON.stringify({ train: { batchSize: 0 }, sample: { sampler: 'euler' } }));
      const out = join(dir, 'run');
      const r = spawnSync(process.execPath, [cli, '--config', bad, '--out', out], { cwd: repoRoot, encoding: 'utf8' });
      expect(r.status).to.equal(2);
      expect(r.stderr).to.contain('train.batchSize must be an integer >= 1 (got 0)');
      expect(r.stderr).to.contain("sample.sampler must be one of 'ddpm', 'ddim' (got \"euler\")");
      expect(existsSync(out)).to.equal(false);
      const unknown = spawnSync(process.execPath, [cli, '--stpes', '5'], { cwd: repoRoot, encoding: 'utf8' });
      expect(unknown.status).to.equal(2);
      expect(unknown.stderr).to.contain('unknown option --stpes');
    });

    it('Ctrl-C stops after the current step and leaves a loadable checkpoint', async () => {
      const dir = tmp();
      const out = join(dir, 'run');
      const child = spawn(process.execPath, [cli, '--config', tinyFile(dir), '--out', out], { cwd: repoRoot });
      let stdout = '';
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk.toString();
          if (!child.killed && /step +3\/100000/.test(stdout)) {
            child.kill('SIGINT'); // once: a second Ctrl-C means "quit now"
            resolve();
          }
        });
        child.on('close', () => reject(new Error(`exited early: ${stdout}`)));
      });
      // 'close' comes after the last output has been read ('exit' may come before it).
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      expect(code).to.equal(130);
      expect(stdout).to.match(/stopped at step \d+; continue with: node examples\/train-faces\.js --out .* --resume/);
      const saved = await diffusion.loadCheckpoint(join(out, 'checkpoint.safetensors'));
      expect(saved.step).to.be.at.least(3);
      expect(saved.model.size).to.equal(saved.ema.size);
    });
  });

  it('Trainer.create checks what plain JavaScript gives it: a partial or wrong config by the config\'s rules, an unknown option by name; a MemoryStore run says where its outputs go', async () => {
    const store = new diffusion.MemoryStore('mine');
    let said = '';
    const e1 = await diffusion.Trainer.create({ train: { batchSize: 0 } } as never, { store }).catch((e: Error) => e);
    expect((e1 as Error).message).to.contain('train.batchSize must be an integer >= 1 (got 0)');
    const e2 = await diffusion.Trainer.create(tinyConfig('unused'), { store, resum: true } as never).catch((e: Error) => e);
    expect((e2 as Error).message).to.equal("Trainer.create: 'resum' is not an option (options: resume, overwrite, dataset, events, store, memoryLimit, backend)");
    const trainer = await diffusion.Trainer.create(tinyConfig('unused', { train: { steps: 1 } }), { store, events: { log: (m) => (said ||= m) } });
    await trainer.train();
    expect(said).to.match(/; outputs in memory \(a MemoryStore, 'mine'\)$/);
  });
});
