// What happens when things go wrong, tried as a user would: an existing run folder, a damaged
// checkpoint or log, broken images, a full or read-only disk, bad flags, a batch that cannot fit,
// a loss that blows up. Each case asserts the message (file, field, figure) and, where nothing
// should change on disk, that nothing did.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { data, diffusion, io, resolveConfig, UNet, type Config, type DeepPartial } from 'ddpm-ts';
import { pngClaiming as png, tinyPartial } from './helpers.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'ddpm-ts-rel-'));
const repoRoot = new URL('../../', import.meta.url).pathname;
const trainCli = join(repoRoot, 'examples/train-faces.js');
const sampleCli = join(repoRoot, 'examples/sample.js');

const tinyConfig = (outDir: string, train: DeepPartial<Config['train']> = {}) => resolveConfig(tinyPartial(outDir, train));

/** A finished tiny run in a new folder (checkpoint at step 4, four log lines). */
async function finishedRun(train: DeepPartial<Config['train']> = {}): Promise<string> {
  const dir = join(tmp(), 'run');
  await (await diffusion.Trainer.create(tinyConfig(dir, train))).train();
  return dir;
}

/** Every file below `dir` with its bytes, to show that nothing changed. */
function snapshot(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else files.set(p, readFileSync(p).toString('base64'));
    }
  };
  walk(dir);
  return files;
}

/** Runs an example script; a failure must be one line on stderr, never a stack trace. */
function runCli(script: string, args: string[]) {
  const r = spawnSync(process.execPath, [script, ...args], { cwd: repoRoot, encoding: 'utf8' });
  expect(r.stderr, 'a stack trace was printed').not.to.match(/^\s+at /m);
  return r;
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

describe('when things go wrong', function () {
  this.timeout(60000);

  describe('an output folder that holds a run', () => {
    it('a fresh run refuses it, naming --resume and --overwrite, and changes nothing', async () => {
      const dir = await finishedRun();
      const before = snapshot(dir);
      const e = await rejection(diffusion.Trainer.create(tinyConfig(dir)));
      expect(e).to.be.instanceOf(diffusion.RunExistsError);
      expect(e.message).to.equal(`${dir} already holds a training run: a checkpoint (${join(dir, 'checkpoint.safetensors')}). Nothing was changed. To continue it, add --resume; to start afresh and replace it, add --overwrite (or choose another folder with --out)`);
      const config = join(tmp(), 'tiny.json');
      writeFileSync(config, JSON.stringify(tinyPartial(dir)));
      const r = runCli(trainCli, ['--config', config, '--steps', '2']);
      expect(r.status).to.equal(1);
      expect(r.stderr).to.contain('already holds a training run').and.contain('--resume').and.contain('--overwrite');
      expect(snapshot(dir)).to.deep.equal(before);
    });

    it('a log without a checkpoint (a run stopped before its first save) counts as a run', async () => {
      const dir = join(tmp(), 'run');
      mkdirSync(dir);
      writeFileSync(join(dir, 'log.jsonl'), '{"step":1,"loss":0.9}\n');
      const e = await rejection(diffusion.Trainer.create(tinyConfig(dir)));
      expect(e.message).to.contain(`a training log (${join(dir, 'log.jsonl')})`);
      // An empty folder, or one with an empty log (a run that never logged a step) and its config, is free to use.
      writeFileSync(join(dir, 'log.jsonl'), '');
      writeFileSync(join(dir, 'config.json'), '{}');
      await (await diffusion.Trainer.create(tinyConfig(dir))).close();
    });

    it('--overwrite replaces the run: new log, new checkpoint, old sample grids gone', async () => {
      const dir = await finishedRun({ sampleEvery: 4 });
      expect(readdirSync(join(dir, 'samples'))).to.deep.equal(['step-000004.png']);
      const config = join(tmp(), 'tiny.json');
      writeFileSync(config, JSON.stringify(tinyPartial(dir, { steps: 2 })));
      const r = runCli(trainCli, ['--config', config, '--overwrite']);
      expect(r.status, r.stderr).to.equal(0);
      expect(readFileSync(join(dir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step)).to.deep.equal([1, 2]);
      expect((await diffusion.loadCheckpoint(join(dir, 'checkpoint.safetensors'))).step).to.equal(2);
      expect(readdirSync(join(dir, 'samples'))).to.deep.equal(['step-000002.png']);
      expect(runCli(trainCli, ['--config', config, '--overwrite', '--resume']).stderr).to.contain('give one of them');
    });
  });

  it('kill -9 mid-run loses at most the step in progress, and --resume ends exactly where a straight run does', async () => {
    const config = join(tmp(), 'tiny.json');
    const straightDir = join(tmp(), 'run'), killedDir = join(tmp(), 'run');
    writeFileSync(config, JSON.stringify(tinyPartial(straightDir, { steps: 8, checkpointEvery: 1 })));
    expect(runCli(trainCli, ['--config', config, '--out', straightDir]).status).to.equal(0);
    const child = spawn(process.execPath, [trainCli, '--config', config, '--out', killedDir], { cwd: repoRoot });
    let stdout = '';
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (/step +4\/8/.test(stdout)) child.kill('SIGKILL');
      });
      child.on('close', () => resolve());
    });
    const killedAt = (await diffusion.loadCheckpoint(join(killedDir, 'checkpoint.safetensors'))).step;
    expect(killedAt).to.be.within(3, 7);
    const r = runCli(trainCli, ['--out', killedDir, '--resume']);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.contain(`resumed from ${join(killedDir, 'checkpoint.safetensors')} at step ${killedAt}`);
    const losses = (dir: string) => readFileSync(join(dir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).map((l) => [l.step, l.loss]);
    expect(losses(killedDir)).to.deep.equal(losses(straightDir));
    const [a, b] = await Promise.all([straightDir, killedDir].map((d) => io.loadSafetensors(join(d, 'checkpoint.safetensors'))));
    for (const [name, t] of a!.tensors) expect(Array.from(b!.tensors.get(name)!.toFloat32Array()), name).to.deep.equal(Array.from(t.toFloat32Array()));
  });

  describe('a damaged checkpoint', () => {
    /** Rewrites the run's checkpoint with one metadata field or tensor changed. */
    async function damage(dir: string, change: (file: { tensors: Map<string, unknown>; metadata: Record<string, string> }) => void) {
      const path = join(dir, 'checkpoint.safetensors');
      const file = await io.loadSafetensors(path);
      change(file as never);
      await io.saveSafetensors(path, file.tensors, file.metadata);
    }

    const cases: Array<[string, (f: { tensors: Map<string, unknown>; metadata: Record<string, string> }) => void, RegExp]> = [
      ['step "abc"', (f) => (f.metadata.step = 'abc'), /metadata field 'step' must be a whole number, got "abc"/],
      ['no step', (f) => delete f.metadata.step, /metadata field 'step' must be a whole number, got null/],
      ['step -3', (f) => (f.metadata.step = '-3'), /metadata field 'step' must be a whole number, got "-3"/],
      ['optimizerStep 2.5', (f) => (f.metadata.optimizerStep = '2.5'), /metadata field 'optimizerStep' must be a whole number/],
      ['emaUpdates NaN', (f) => (f.metadata.emaUpdates = 'NaN'), /metadata field 'emaUpdates' must be a whole number/],
      ['config not JSON', (f) => (f.metadata.config = '{"seed":'), /metadata field 'config' is not valid JSON/],
      ['config with a bad field', (f) => (f.metadata.config = JSON.stringify({ ...JSON.parse(f.metadata.config!), train: { batchSize: 0 } })), /metadata field 'config' is not a valid config: train\.batchSize must be an integer >= 1 \(got 0\)/],
      ['rng of three words', (f) => (f.metadata.rng = '{"s":[1,2,3],"spareNormal":null}'), /metadata field 'rng' must be \{"s": four 32-bit unsigned integers/],
      ['rng all zero', (f) => (f.metadata.rng = '{"s":[0,0,0,0],"spareNormal":null}'), /metadata field 'rng' must be/],
      ['a missing Adam moment', (f) => f.tensors.delete('adam.m.convIn.weight'), /adam\.m: missing: convIn\.weight/],
      ['a wrongly shaped EMA tensor', (f) => f.tensors.set('ema.convIn.bias', f.tensors.get('ema.convOut.bias')), /ema: wrong shapes: convIn\.bias: expected \[8\], got \[3\]/],
      ['a stray tensor', (f) => f.tensors.set('extra', f.tensors.get('ema.convOut.bias')), /unexpected tensors: extra/],
    ];
    for (const [what, change, message] of cases) {
      it(`${what}: resume names the file and the field or tensor, and changes nothing`, async () => {
        const dir = await finishedRun();
        await damage(dir, change);
        const before = snapshot(dir);
        const e = await rejection(diffusion.Trainer.create(tinyConfig(dir), { resume: true }));
        expect(e.message).to.match(message);
        expect(e.message).to.contain(join(dir, 'checkpoint.safetensors'));
        expect(snapshot(dir)).to.deep.equal(before);
      });
    }

    it('from the command line: --resume on step "abc" writes nothing (no samples/step-000NaN.png, the log kept)', async () => {
      const dir = await finishedRun();
      await damage(dir, (f) => (f.metadata.step = 'abc'));
      const before = snapshot(dir);
      const r = runCli(trainCli, ['--out', dir, '--resume', '--steps', '6']);
      expect(r.status).to.equal(1);
      expect(r.stderr.trim().split('\n')).to.have.length(1);
      expect(r.stderr).to.match(/^error: --resume: .*checkpoint\.safetensors: metadata field 'step' must be a whole number, got "abc"; the file was not used and nothing was changed/);
      expect(snapshot(dir)).to.deep.equal(before);
      const s = runCli(sampleCli, ['--checkpoint', join(dir, 'checkpoint.safetensors')]);
      expect(s.status).to.equal(1);
      expect(s.stderr).to.contain("metadata field 'step' must be a whole number");
    });
  });

  describe('a log with an unfinished last line', () => {
    it('is resumed: the partial line (the write a kill interrupted) is dropped, with a note', async () => {
      const dir = await finishedRun({ steps: 2 });
      appendFileSync(join(dir, 'log.jsonl'), '{"step":3,"lo');
      const notes: string[] = [];
      const trainer = await diffusion.Trainer.create(tinyConfig(dir), { resume: true, events: { log: (m) => notes.push(m) } });
      expect(notes[0]).to.equal(`${join(dir, 'log.jsonl')}: dropped an unfinished last line (the write in progress when the run stopped)`);
      expect(readFileSync(join(dir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step)).to.deep.equal([1, 2]);
      await trainer.train();
      expect(readFileSync(join(dir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step)).to.deep.equal([1, 2, 3, 4]);
    });

    it('a damaged line elsewhere is named by file and line, and nothing changes', async () => {
      const dir = await finishedRun();
      const log = readFileSync(join(dir, 'log.jsonl'), 'utf8').split('\n');
      log[1] = 'garbage';
      writeFileSync(join(dir, 'log.jsonl'), log.join('\n'));
      const before = snapshot(dir);
      const e = await rejection(diffusion.Trainer.create(tinyConfig(dir), { resume: true }));
      expect(e.message).to.equal(`${join(dir, 'log.jsonl')} line 2 is not a log entry (not valid JSON): garbage; fix or delete that line, then resume`);
      expect(snapshot(dir)).to.deep.equal(before);
    });
  });

  describe('broken images', () => {
    it('a well-formed file made here decodes (the checks pass real PNGs)', async () => {
      const img = await io.decodeImage(png(24, 24, 24), 'ok.png');
      expect([img.width, img.height, img.data[0], img.data[3]]).to.deep.equal([24, 24, 0x40, 0x40]);
    });

    it('short image data, 20000×20000 or 100000×100000 pixels: a rejection naming the file, or a skip with skipBad', async () => {
      const dir = tmp();
      await io.writePng(join(dir, 'good.png'), { width: 4, height: 4, data: new Uint8Array(64).fill(200) });
      writeFileSync(join(dir, 'short.png'), png(24, 24, 12));
      writeFileSync(join(dir, 'huge.png'), png(20000, 20000, 2));
      writeFileSync(join(dir, 'vast.png'), png(100000, 100000, 2));
      const expected = {
        'short.png': 'truncated PNG: its image data holds 1164 of the 2328 bytes that 24×24 pixels need',
        'huge.png': '20000×20000 pixels is over the limit of 67,108,864 (8192×8192); shrink the image first',
        'vast.png': '100000×100000 pixels is over the limit of 67,108,864 (8192×8192); shrink the image first',
      };
      for (const [name, why] of Object.entries(expected)) {
        expect((await rejection(io.readImage(join(dir, name)))).message).to.equal(`${join(dir, name)}: ${why}`);
      }
      expect((await rejection(data.folderDataset(dir, { imageSize: 4, channels: 3 }))).message).to.equal(`${join(dir, 'huge.png')}: ${expected['huge.png']} (set data.skipBad to skip such files)`);
      const warnings: string[] = [];
      const ds = await data.folderDataset(dir, { imageSize: 4, channels: 3, skipBad: true, warn: (m) => warnings.push(m) });
      expect(ds.size).to.equal(1);
      expect(warnings.map((w) => w.replace(dir + '/', ''))).to.deep.equal(['huge.png', 'short.png', 'vast.png'].map((n) => `warning: skipping ${n}: ${expected[n as keyof typeof expected]}`));
      // The trainer's command line says the same in one line.
      const r = runCli(trainCli, ['--data', dir, '--out', join(dir, 'run')]);
      expect(r.status).to.equal(1);
      expect(r.stderr).to.equal(`error: ${join(dir, 'huge.png')}: ${expected['huge.png']} (set data.skipBad to skip such files)\n`);
      expect(existsSync(join(dir, 'run'))).to.equal(false);
    });

    it('a few thousand damaged PNGs (bytes changed, file cut short) each decode or reject, none crash', async () => {
      const good = await io.encodePng({ width: 9, height: 7, data: Uint8Array.from({ length: 9 * 7 * 4 }, (_, i) => (i * 37) & 255) });
      let seed = 1;
      const random = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n;
      const outcomes = { decoded: 0, rejected: 0 };
      for (let i = 0; i < 3000; i++) {
        const bytes = Uint8Array.from(good);
        for (let k = 0; k <= random(3); k++) bytes[8 + random(bytes.length - 8)] = random(256);
        const cut = i % 3 === 0 ? bytes.subarray(0, 8 + random(bytes.length - 8)) : bytes;
        await io.decodeImage(cut, 'f.png').then(() => outcomes.decoded++, (e: Error) => {
          expect(e.message).to.match(/^f\.png: /);
          outcomes.rejected++;
        });
      }
      expect(outcomes.rejected).to.be.above(2000); // each change breaks a checksum or a length
      await new Promise((resolve) => setTimeout(resolve, 200)); // a stray decoder event would surface here as an uncaught error
    });
  });

  describe('a full disk and a read-only folder', function () {
    // Real file systems: a tmpfs too small for a second checkpoint, and a read-only tmpfs. Mounting
    // needs root, which CI has; elsewhere these tests say they were skipped.
    const mounts: string[] = [];
    const mount = (options: string): string | null => {
      const dir = tmp();
      try {
        execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { stdio: 'pipe' });
      } catch (e) {
        if (process.env.CI) throw new Error(`cannot mount a tmpfs for the disk tests (CI runs as root and must): ${(e as Error).message}`);
        return null;
      }
      mounts.push(dir);
      return dir;
    };
    after(() => {
      for (const dir of mounts) execFileSync('umount', [dir]);
    });

    it('a full disk stops the run with one line: the file, the cause, and the checkpoint kept', async function () {
      // One checkpoint of this model is 683 kB; a second one needs room beside the first (it is written, then renamed over it).
      const disk = mount('size=1m');
      if (!disk) return this.skip();
      const dir = join(disk, 'run');
      const config = join(tmp(), 'tiny.json');
      writeFileSync(config, JSON.stringify(tinyPartial(dir, { steps: 6, checkpointEvery: 2 })));
      const r = runCli(trainCli, ['--config', config]);
      expect(r.status).to.equal(1);
      expect(r.stderr).to.equal(`error: cannot write ${join(dir, 'checkpoint.safetensors')}: no space left on the device (ENOSPC). Training stopped at step 4; the checkpoint of step 2 at ${join(dir, 'checkpoint.safetensors')} is whole and unchanged; continue from it with --resume once the problem is fixed.\n`);
      expect((await diffusion.loadCheckpoint(join(dir, 'checkpoint.safetensors'))).step).to.equal(2);
      expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).to.deep.equal([]);
    });

    it('a folder that turns read-only mid-run stops it the same way', async function () {
      const disk = mount('size=4m');
      if (!disk) return this.skip();
      const dir = join(disk, 'run');
      const trainer = await diffusion.Trainer.create(tinyConfig(dir, { steps: 4, checkpointEvery: 2, logEvery: 2 }));
      await trainer.trainStep();
      await trainer.trainStep();
      await trainer.saveCheckpoint();
      execFileSync('mount', ['-o', 'remount,ro', disk]);
      const e = await rejection(trainer.train());
      expect(e).to.be.instanceOf(diffusion.RunWriteError);
      expect(e.message).to.equal(`cannot write ${join(dir, 'log.jsonl')}: the file system is read-only (EROFS). Training stopped at step 4; the checkpoint of step 2 at ${join(dir, 'checkpoint.safetensors')} is whole and unchanged; continue from it with --resume once the problem is fixed.`);
    });

    it('an output folder that cannot be created says why (not ENOENT), and nothing is written', async function () {
      const disk = mount('size=64k,ro');
      if (!disk) return this.skip();
      const dir = join(disk, 'runs', 'faces');
      const e = await rejection(diffusion.Trainer.create(tinyConfig(dir)));
      expect(e.message).to.equal(`cannot create the folder ${dir} (its parent ${join(disk, 'runs')} cannot be made): the file system is read-only (EROFS) in ${disk}; nothing was written`);
    });
  });

  describe('flags', () => {
    it('sample.js checks its flags by the config\'s rules and limits, one line each, exit code 2', async () => {
      const dir = await finishedRun();
      const checkpoint = join(dir, 'checkpoint.safetensors');
      const cases: Array<[string[], string]> = [
        [['--steps', '100000'], '--steps (100000) must not exceed diffusion.timesteps (50)'],
        [['--steps', '0'], '--steps must be an integer >= 1 (got 0)'],
        [['--steps', '2.5'], '--steps must be an integer >= 1 (got 2.5)'],
        [['--count', '1e9'], '--count must be an integer >= 1 and <= 1024 (got 1000000000)'],
        [['--eta', '-1'], '--eta must be a number >= 0 and <= 1 (got -1)'],
        [['--sampler', 'euler'], "--sampler must be one of 'ddpm', 'ddim' (got \"euler\")"],
        [['--seed', '-3'], '--seed must be an integer from 0 to 4294967295 (got -3)'],
      ];
      for (const [flags, message] of cases) {
        const r = runCli(sampleCli, ['--checkpoint', checkpoint, ...flags]);
        expect(r.status, flags.join(' ')).to.equal(2);
        expect(r.stderr).to.equal(`error: invalid config:\n  - ${message}\n`);
      }
      for (const [flags, message] of [[['--steps', 'abc'], '--steps needs a decimal number, got "abc"'], [['--count'], '--count needs a value'], [['--bogus', '1'], 'unknown option --bogus']] as const) {
        const r = runCli(sampleCli, ['--checkpoint', checkpoint, ...flags]);
        expect(r.status).to.equal(2);
        expect(r.stderr).to.match(new RegExp(`^error: ${message.replace(/[-"]/g, '\\$&')}\\n\\nDraw samples`));
      }
      expect(existsSync(join(repoRoot, 'samples.png'))).to.equal(false);
    });

    it('train-faces.js: a value-less flag is not taken for the next flag', () => {
      const r = runCli(trainCli, ['--out', '--resume']);
      expect(r.status).to.equal(2);
      expect(r.stderr).to.match(/^error: --out needs a value\n/);
      const steps = runCli(trainCli, ['--steps', '-5', '--out', join(tmp(), 'run')]);
      expect(steps.status).to.equal(2);
      expect(steps.stderr).to.contain('--steps must be an integer >= 0 and <= 100000000 (got -5)');
    });
  });

  describe('a run that cannot fit in memory', () => {
    it('train.batchSize 1e9 is refused with the figures before anything is written', async () => {
      const dir = join(tmp(), 'run');
      const config = resolveConfig({ train: { batchSize: 1e9, outDir: dir } });
      const e = await rejection(diffusion.Trainer.create(config, { memoryLimit: 24e9 }));
      expect(e.message).to.equal('the run does not fit in memory: train.batchSize 1000000000 of 3×32×32 images: a training step needs about 7,660 TB (7.66 MB an image), and its largest tensor (6.55e+13 values) is over the 4.29e+9 a typed array can hold; 24 GB is available, so at most 3129 images fit in a batch');
      expect(existsSync(dir)).to.equal(false);
      const file = join(tmp(), 'big.json');
      writeFileSync(file, JSON.stringify({ train: { batchSize: 1e9 } }));
      const r = runCli(trainCli, ['--config', file, '--out', dir]);
      expect(r.status).to.equal(1);
      expect(r.stderr).to.match(/^error: the run does not fit in memory: train\.batchSize 1000000000/);
      expect(existsSync(dir)).to.equal(false);
    });

    it('the largest batch it names fits, and one more does not', () => {
      const config = resolveConfig({});
      const params = new UNet(config.model).numParameters();
      const limit = 450e6;
      let message = '';
      try {
        diffusion.assertFits({ ...config, train: { ...config.train, batchSize: 4096 } }, params, limit);
      } catch (e) {
        message = (e as Error).message;
      }
      const fitting = Number(/at most (\d+) images fit/.exec(message)![1]);
      expect(fitting).to.be.within(40, 70); // about 7.7 MB an image for the default model (RSS measured: 7.8 MB)
      expect(() => diffusion.assertFits({ ...config, train: { ...config.train, batchSize: fitting } }, params, limit)).not.to.throw();
      expect(() => diffusion.assertFits({ ...config, train: { ...config.train, batchSize: fitting + 1 } }, params, limit)).to.throw(/train\.batchSize/);
    });
  });

  it('a finite loss that blows up (over 1000× its first logged value) is warned about once', async () => {
    const faces = data.facesDataset(8, 3);
    let scale = 1;
    const dataset: data.Dataset = { ...faces, image: (i) => faces.image(i).map((v) => v * scale) };
    const config = resolveConfig({ ...tinyPartial(join(tmp(), 'run'), { steps: 6, checkpointEvery: 0 }), diffusion: { timesteps: 50, prediction: 'x0' } });
    const messages: string[] = [];
    const trainer = await diffusion.Trainer.create(config, { dataset, events: { log: (m) => messages.push(m), progress: (p) => (scale = p.step >= 2 ? 1e4 : 1) } });
    await trainer.train();
    const warnings = messages.filter((m) => m.startsWith('warning:'));
    expect(warnings).to.have.length(1);
    expect(warnings[0]).to.match(/^warning: at step 3 the loss \([\d.e+]+\) is over 1000× its first logged value \([\d.]+ at step 1\): training is probably diverging; try a lower train\.lr \(now 0\.001\)$/);
  });
});
