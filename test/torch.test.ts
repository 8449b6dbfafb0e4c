// Beyond one machine (issue 19): the same training on PyTorch (examples/torch), step for step,
// and runs that continue on the other side. Needs PyTorch (Debian's python3-torch, at
// /usr/bin/python3 unless DDPM_PYTHON names another interpreter); in CI it must be there, elsewhere
// the suite says it was skipped.
//
// Debian's PyTorch 1.13 runs on Python 3.11, whose enum no longer lists a zero flag: its torchrun
// cannot parse its own default for --redirects and --tee ("0"), so every launch here passes
// `--redirects 1 --tee 1` (stdout to a log and to the console), as the README says.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { data, diffusion, io, Rng, randn, resolveConfig, tensor, type Config, type Tensor } from 'ddpm-ts';
import { expectClose, relError, tinyPartial } from './helpers.js';

const repoRoot = new URL('../../', import.meta.url).pathname;
const torchDir = join(repoRoot, 'examples', 'torch');
const python = process.env.DDPM_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
const tmp = () => mkdtempSync(join(tmpdir(), 'ddpm-ts-torch-'));

/** Runs a Python script of examples/torch (under torchrun with `processes`), or an example of ours; its output and exit status. */
function py(script: string, args: string[], processes = 0) {
  const launch = processes > 0 ? ['-m', 'torch.distributed.run', '--redirects', '1', '--tee', '1', '--nproc_per_node', String(processes)] : [];
  return spawnSync(python, [...launch, join(torchDir, script), ...args], { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' } });
}
function node(script: string, args: string[]) {
  return spawnSync(process.execPath, [join(repoRoot, 'examples', script), ...args], { cwd: repoRoot, encoding: 'utf8' });
}
function ok(r: ReturnType<typeof py>, what: string): string {
  expect(r.status, `${what} failed:\n${r.stdout}\n${r.stderr}`).to.equal(0);
  return r.stdout + r.stderr;
}

/** A checkpoint's tensors and metadata, read by ddpm-ts's own parser (which checks every field). */
async function readCheckpoint(path: string) {
  const { tensors, metadata } = await io.loadSafetensors(path);
  await diffusion.loadCheckpoint(path); // a valid ddpm-ts checkpoint
  return { tensors, metadata };
}

describe('PyTorch: the same training (examples/torch), and runs that move both ways', function () {
  this.timeout(300000);
  let config: Config;
  let runDir: string;

  before(async function () {
    const r = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
    if (r.status !== 0) {
      const why = `these tests need PyTorch (Debian: apt-get install python3-torch), and ${python} cannot import it: ${r.stderr.trim().split('\n').pop()}`;
      if (process.env.CI) throw new Error(why);
      console.log(`    skipped: ${why}`);
      return this.skip();
    }
    runDir = join(tmp(), 'run');
    // A ddpm-ts run of 2 steps with clipping, warm-up, a cosine learning rate, min-SNR weights and
    // an EMA warm-up other than the default, so Adam's moments and the EMA are not trivial and
    // every part of a step is used.
    config = resolveConfig({ ...tinyPartial(runDir, { batchSize: 4, steps: 2, warmupSteps: 1, lrSchedule: 'cosine', minSnrGamma: 5, emaDecay: 0.99, emaWarmup: 3, gradClip: 0.5 }), seed: 5 });
    await (await diffusion.Trainer.create(config)).train();
  });

  it('one step from a checkpoint on the same batch (x0, t and noise passed in) gives PyTorch and ddpm-ts the same loss, weights, Adam moments and EMA (1e-5), and 2 DDP processes the same as 1', async () => {
    const dir = tmp();
    const rng = new Rng(9);
    const x0 = data.sampleBatch(data.facesDataset(8, 3), 4, rng, true);
    const t = [0, 7, 23, 49];
    const noise = randn(x0.shape, rng);
    const batchFile = join(dir, 'batch.safetensors');
    await io.saveSafetensors(batchFile, { x0, t: tensor(Float32Array.from(t), [4]), noise });
    const checkpoint = join(runDir, 'checkpoint.safetensors');
    // Both resume to 3 steps: the third step's learning rate is halfway down the cosine.
    ok(py('step_check.py', [checkpoint, batchFile, join(dir, 'one.safetensors'), '3']), 'step_check.py');
    ok(py('step_check.py', [checkpoint, batchFile, join(dir, 'two.safetensors'), '3'], 2), 'step_check.py on 2 processes');

    // ddpm-ts: the same run resumed, one step on the same batch.
    const trainer = await diffusion.Trainer.create({ ...config, train: { ...config.train, steps: 3 } }, { resume: true });
    const loss = await trainer.stepOn(() => ({ x0: x0.detach(), t, noise: noise.detach() }));
    expect(trainer.optimizer.lr).to.equal(config.train.lr / 2);
    const ours = new Map<string, Tensor>();
    for (const [n, p] of trainer.model.namedParameters()) ours.set(`model.${n}`, p);
    for (const [n, s] of trainer.ema.stateDict()) ours.set(`ema.${n}`, s);
    const { m, v } = trainer.optimizer.state();
    trainer.model.namedParameters().forEach(([n], i) => {
      ours.set(`adam.m.${n}`, m[i]!);
      ours.set(`adam.v.${n}`, v[i]!);
    });

    const one = await readCheckpoint(join(dir, 'one.safetensors'));
    const two = await readCheckpoint(join(dir, 'two.safetensors'));
    expect(one.metadata.step).to.equal('3');
    expect(one.metadata.writtenBy).to.match(/^train_ddp\.py \(PyTorch /);
    expect(Math.abs(Number(one.metadata.loss) - loss) / loss, `loss: PyTorch ${one.metadata.loss}, ddpm-ts ${loss}`).to.be.at.most(1e-5);
    expect(Math.abs(Number(two.metadata.loss) - loss) / loss, `loss on 2 processes: ${two.metadata.loss}`).to.be.at.most(1e-5);
    expect([...one.tensors.keys()].sort()).to.deep.equal([...ours.keys()].sort());
    for (const [name, t] of ours) {
      const values = await t.data();
      expectClose(values, one.tensors.get(name)!.toFloat32Array(), 1e-5, `${name}: ddpm-ts vs PyTorch`);
      expectClose(two.tensors.get(name)!.toFloat32Array(), one.tensors.get(name)!.toFloat32Array(), 1e-5, `${name}: PyTorch on 2 processes vs 1`);
    }
    // The step did something: the weights moved (else equal weights would prove nothing).
    const before = await io.loadSafetensors(checkpoint);
    const moved = relError(one.tensors.get('model.convIn.weight')!.toFloat32Array(), before.tensors.get('model.convIn.weight')!.toFloat32Array());
    expect(moved, 'how far one step moved convIn.weight').to.be.above(1e-4);
  });

  it('a 2-process gloo run of train_ddp.py (3 steps, on faces exported by export-data.js) continues in ddpm-ts with train-faces.js --resume for 2 more, and sample.js draws from its checkpoint', async () => {
    const dir = tmp();
    const out = join(dir, 'run');
    const partialFile = join(dir, 'partial.json');
    writeFileSync(partialFile, JSON.stringify(tinyPartial(out, { batchSize: 4, steps: 3, sampleEvery: 3, checkpointEvery: 0 })));
    const exported = ok(node('export-data.js', ['--config', partialFile, '--count', '32', '--out', join(dir, 'faces.safetensors'), '--config-out', join(dir, 'config.json')]), 'export-data.js');
    expect(exported).to.match(/wrote .*faces\.safetensors: 32 images of generated faces, 8×8, RGB/);
    const images = (await io.loadSafetensors(join(dir, 'faces.safetensors'))).tensors.get('images')!;
    expect(images.shape).to.deep.equal([32, 3, 8, 8]);
    expectClose(images.toFloat32Array().slice(0, 192), data.facesDataset(8, 3).image(0), 0, 'the first exported face is face 0');

    const log = ok(py('train_ddp.py', ['--config', join(dir, 'config.json'), '--data', join(dir, 'faces.safetensors')], 2), 'train_ddp.py on 2 processes');
    expect(log).to.match(/batch 4 \(2 × 2, gloo on cpu\), steps 0 → 3/);
    expect(log).to.match(/step 3\/3 .* 100% \| loss \d/);
    const torchRun = await readCheckpoint(join(out, 'checkpoint.safetensors'));
    expect(torchRun.metadata).to.include({ step: '3', optimizerStep: '3', emaUpdates: '3' });
    expect(readFileSync(join(out, 'samples', 'step-000003.png')).subarray(1, 4).toString()).to.equal('PNG');
    const entries = readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; loss: number });
    expect(entries.map((e) => e.step)).to.deep.equal([1, 2, 3]);

    ok(node('sample.js', ['--checkpoint', join(out, 'checkpoint.safetensors'), '--count', '4', '--out', join(dir, 'grid.png')]), 'sample.js on the torchrun checkpoint');
    expect(readFileSync(join(dir, 'grid.png')).subarray(1, 4).toString()).to.equal('PNG');

    const resumed = ok(node('train-faces.js', ['--out', out, '--resume', '--steps', '5']), 'train-faces.js --resume');
    expect(resumed).to.match(/was written by train_ddp\.py \(PyTorch [^)]*\): its random state does not cross over, so the noise stream restarts here/);
    const after = await readCheckpoint(join(out, 'checkpoint.safetensors'));
    expect(after.metadata).to.include({ step: '5', optimizerStep: '5', emaUpdates: '5' });
    expect(after.metadata.writtenBy, 'ddpm-ts wrote the last checkpoint').to.equal(undefined);
    expect(readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { step: number }).step)).to.deep.equal([1, 2, 3, 4, 5]);
  });

  it('a ddpm-ts run continues in train_ddp.py --resume (one process, no torchrun), and ddpm-ts reads what it wrote', async () => {
    const dir = join(tmp(), 'run');
    await (await diffusion.Trainer.create(resolveConfig(tinyPartial(dir, { steps: 2, sampleEvery: 0 })))).train();
    const data = join(tmp(), 'faces.safetensors');
    ok(node('export-data.js', ['--count', '16', '--config', writeJson(tinyPartial(dir)), '--out', data]), 'export-data.js');
    const log = ok(py('train_ddp.py', ['--out', dir, '--resume', '--steps', '4', '--data', data]), 'train_ddp.py --resume');
    expect(log).to.match(/resuming .*checkpoint\.safetensors at step 2 \(written by ddpm-ts\): the random state does not cross, so the noise stream restarts here/);
    const ckpt = await readCheckpoint(join(dir, 'checkpoint.safetensors'));
    expect(ckpt.metadata).to.include({ step: '4', optimizerStep: '4', emaUpdates: '4' });
    const loaded = await diffusion.loadCheckpoint(join(dir, 'checkpoint.safetensors'));
    expect(loaded.config).to.deep.equal(resolveConfig(tinyPartial(dir, { steps: 4, sampleEvery: 0 })));
    expect(readFileSync(join(dir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { step: number }).step)).to.deep.equal([1, 2, 3, 4]);
  });

  it("a folder of images becomes the same training images on both sides: ddpm-ts's centre crop and area resize, alpha over white, RGB and grey (1e-6)", async () => {
    const dir = tmp();
    const rng = new Rng(4);
    // Odd sizes, landscape and portrait (so the crop and the area weights straddle pixels), and transparency.
    for (const [name, width, height] of [['a.png', 37, 23], ['b.png', 20, 31], ['c.png', 8, 8]] as const) {
      const pixels = Uint8Array.from({ length: width * height * 4 }, (_, i) => (i % 4 === 3 ? 128 + rng.int(128) : rng.int(256)));
      await io.writePng(join(dir, name), { width, height, data: pixels });
    }
    for (const channels of [3, 1]) {
      const ours = await data.folderDataset(dir, { imageSize: 8, channels });
      const out = join(tmp(), 'folder.safetensors');
      const code = `import sys; sys.path.insert(0, ${JSON.stringify(torchDir)})
from ddpm_torch.data import load_folder
from ddpm_torch import safetensors
images, _ = load_folder({"path": ${JSON.stringify(dir)}, "imageSize": 8, "channels": ${channels}, "skipBad": False}, print)
safetensors.save(${JSON.stringify(out)}, {"images": images}, {})`;
      ok(spawnSync(python, ['-c', code], { encoding: 'utf8' }), 'load_folder');
      const theirs = (await io.loadSafetensors(out)).tensors.get('images')!;
      expect(theirs.shape).to.deep.equal([3, channels, 8, 8]);
      const values = theirs.toFloat32Array(), plane = channels * 64;
      for (let i = 0; i < 3; i++) expectClose(values.subarray(i * plane, (i + 1) * plane), ours.image(i), 1e-6, `image ${i}, ${channels} channel(s)`);
    }
  });

  it('train_ddp.py refuses, naming the field, a checkpoint whose config it cannot run, and a file that is not a checkpoint; nothing is written', async () => {
    const dir = join(tmp(), 'run');
    await (await diffusion.Trainer.create(resolveConfig(tinyPartial(dir, { steps: 2, sampleEvery: 0 })))).train();
    const path = join(dir, 'checkpoint.safetensors');
    const { tensors, metadata } = await io.loadSafetensors(path);
    const config = JSON.parse(metadata.config!) as Config;
    await io.saveSafetensors(path, tensors, { ...metadata, config: JSON.stringify({ ...config, diffusion: { ...config.diffusion, schedule: 'sigmoid' } }) });
    const before = readFileSync(path);
    const r = py('train_ddp.py', ['--out', dir, '--resume', '--steps', '3']);
    expect(r.status).to.equal(1); // a damaged file is a failure (exit 1); a mistake in the command is exit 2
    expect(r.stderr).to.match(/^error: .*checkpoint\.safetensors: metadata field 'config' is not a valid config: diffusion\.schedule must be one of 'linear', 'cosine' \(got "sigmoid"\); the file was not used and nothing was changed\n$/);
    expect(readFileSync(path).equals(before)).to.equal(true);
    writeFileSync(path, 'not a checkpoint');
    const bad = py('train_ddp.py', ['--out', dir, '--resume']);
    expect(bad.status).to.equal(1);
    expect(bad.stderr).to.match(/^error: .*checkpoint\.safetensors: not a safetensors file/);
  });
});

/** A JSON file holding `value`, in a new folder. */
function writeJson(value: unknown): string {
  const path = join(tmp(), 'partial.json');
  writeFileSync(path, JSON.stringify(value));
  return path;
}
