// What happens when things go wrong, third pass: a training command never replaces its own input
// or a user's files, one run owns a folder at a time (ddpm-ts's trainer and PyTorch's alike, two
// real processes started at the same moment), a killed run's lock and temporary files are said
// and cleared, and configs, flags and checkpoint fields that used to mean something silently are
// refused by name. Each case runs the real scripts and checks the md5 of what must not change.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { diffusion, io, resolveConfig, type Config, type DeepPartial } from 'ddpm-ts';
import { md5, md5s, tinyPartial } from './helpers.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'ddpm-ts-runs-'));
const repoRoot = new URL('../../', import.meta.url).pathname;
const trainCli = join(repoRoot, 'examples', 'train-faces.js');
const trainDdp = join(repoRoot, 'examples', 'torch', 'train_ddp.py');
const python = process.env.DDPM_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');


type Result = { status: number | null; stdout: string; stderr: string };
const node = (args: string[], cwd = repoRoot): Result => spawnSync(process.execPath, [trainCli, ...args], { cwd, encoding: 'utf8' });
const torch = (args: string[]): Result => spawnSync(python, [trainDdp, ...args], { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' } });
const noTrace = (r: Result) => expect(r.stderr, 'a traceback or stack trace was printed').not.to.match(/^\s+at |Traceback/m);

/** A partial config file for a tiny run. */
function tinyConfigFile(dir: string, train: DeepPartial<Config['train']> = {}): string {
  const file = join(dir, 'tiny.json');
  const { outDir: _, ...rest } = tinyPartial('unused', train).train;
  writeFileSync(file, JSON.stringify({ ...tinyPartial('unused'), train: rest }));
  return file;
}

/** A whole config for train_ddp.py and a dataset file of 16 faces, written by export-data.js. */
function torchInputs(dir: string): { config: string; data: string } {
  const config = join(dir, 'full.json'), data = join(dir, 'faces.safetensors');
  const r = spawnSync(process.execPath, [join(repoRoot, 'examples', 'export-data.js'), '--out', data, '--count', '16', '--config', tinyConfigFile(dir), '--config-out', config], { encoding: 'utf8' });
  expect(r.status, r.stderr).to.equal(0);
  return { config, data };
}

/** Starts two commands at the same moment; resolves to both results. */
function race(a: [string, string[]], b: [string, string[]]): Promise<Result[]> {
  const start = ([cmd, args]: [string, string[]]) => new Promise<Result>((resolve) => {
    const child = spawn(cmd, args, { cwd: repoRoot, env: { ...process.env, OMP_NUM_THREADS: '1' } });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
  return Promise.all([start(a), start(b)]);
}

/** Starts a training command and kills it (-9) once it has written its first checkpoint. */
async function killedRun(cmd: string, args: string[], out: string): Promise<number> {
  const child = spawn(cmd, args, { cwd: repoRoot, env: { ...process.env, OMP_NUM_THREADS: '1' }, stdio: 'ignore' });
  const deadline = Date.now() + 60000;
  while (!existsSync(join(out, 'checkpoint.safetensors')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  child.kill('SIGKILL');
  await new Promise((r) => child.on('close', r));
  return child.pid!;
}

const havePython = () => spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;

describe('when things go wrong, third pass', function () {
  this.timeout(240000);

  describe("a training command never replaces its own input or a user's files", () => {
    it('--config proj/config.json --out proj is refused, with or without --overwrite, and the file is unchanged', () => {
      const dir = tmp();
      mkdirSync(join(dir, 'proj'));
      const config = join(dir, 'proj', 'config.json');
      writeFileSync(config, readFileSync(tinyConfigFile(dir)));
      const before = md5s(join(dir, 'proj'));
      for (const extra of [[], ['--overwrite']]) {
        const r = node(['--config', 'proj/config.json', '--out', 'proj', ...extra], dir);
        noTrace(r);
        expect(r.status).to.equal(1);
        expect(r.stderr).to.equal("error: --config proj/config.json is the run's own config.json in --out proj, which the run writes: a command never replaces its own input. Copy it elsewhere and pass the copy, or choose another --out; nothing was written\n");
      }
      expect(md5s(join(dir, 'proj'))).to.deep.equal(before);
    });

    it("--resume with the run's own config.json as --config runs when it asks for nothing new, and the file stays as it was", () => {
      const dir = tmp();
      const out = join(dir, 'run');
      expect(node(['--config', tinyConfigFile(dir), '--out', out]).status).to.equal(0);
      const before = md5(join(out, 'config.json'));
      const same = node(['--config', join(out, 'config.json'), '--out', out, '--resume']);
      expect(same.status, same.stderr).to.equal(0);
      expect(md5(join(out, 'config.json'))).to.equal(before);
      // --steps changes what config.json would say: refused.
      const changed = node(['--config', join(out, 'config.json'), '--out', out, '--resume', '--steps', '6']);
      expect(changed.status).to.equal(1);
      expect(changed.stderr).to.contain("is the run's own config.json");
      expect(md5(join(out, 'config.json'))).to.equal(before);
    });

    it('an --out that is the --data folder is refused: the run would write among the images it trains on', async () => {
      const dir = tmp();
      const photos = join(dir, 'photos');
      mkdirSync(photos);
      writeFileSync(join(photos, 'a.png'), await io.encodePng({ width: 8, height: 8, data: new Uint8Array(256).fill(128) }));
      const before = md5s(photos);
      for (const extra of [[], ['--overwrite']]) {
        const r = node(['--config', tinyConfigFile(dir), '--data', photos, '--out', photos, ...extra]);
        expect(r.status).to.equal(1);
        expect(r.stderr).to.equal(`error: --out ${photos} is the --data folder ${photos}: the run's files would mix with the images it trains on; choose another --out; nothing was written\n`);
      }
      expect(md5s(photos)).to.deep.equal(before);
    });

    it("a folder that holds no run but files a run would write is refused, naming them; --overwrite replaces them (ddpm-ts and PyTorch)", function () {
      const dir = tmp();
      const userFolder = () => {
        const out = join(dir, `user-${Math.random().toString(36).slice(2)}`);
        mkdirSync(join(out, 'samples'), { recursive: true });
        for (const name of ['config.json', 'loss.png', 'denoising.png', 'samples/step-000100.png', 'notes.txt']) writeFileSync(join(out, name), `mine: ${name}`);
        return out;
      };
      const message = (out: string) => `error: ${out} holds files a run would write, but no run: ${['config.json', 'denoising.png', 'loss.png'].map((n) => join(out, n)).join(', ')}, ${join(out, 'samples', 'step-000100.png')}. Nothing was changed. Choose another folder with --out, or add --overwrite to replace them\n`;
      const out = userFolder();
      const before = md5s(out);
      const r = node(['--config', tinyConfigFile(dir), '--out', out]);
      expect(r.status).to.equal(1);
      expect(r.stderr).to.equal(message(out));
      expect(md5s(out)).to.deep.equal(before);
      const replaced = node(['--config', tinyConfigFile(dir), '--out', out, '--overwrite']);
      expect(replaced.status, replaced.stderr).to.equal(0);
      expect(readFileSync(join(out, 'notes.txt'), 'utf8')).to.equal('mine: notes.txt'); // not a run's file: kept
      expect(existsSync(join(out, 'samples', 'step-000100.png'))).to.equal(false);
      if (!havePython()) {
        if (process.env.CI) throw new Error(`${python} cannot import torch`);
        return;
      }
      const { config, data } = torchInputs(dir);
      const out2 = userFolder();
      const before2 = md5s(out2);
      const p = torch(['--config', config, '--data', data, '--out', out2]);
      noTrace(p);
      expect(p.status).to.equal(1);
      expect(p.stderr).to.equal(message(out2));
      expect(md5s(out2)).to.deep.equal(before2);
    });
  });

  describe('one run per folder at a time', () => {
    const pairs: Array<[string, Array<'node' | 'torch'>]> = [['two ddpm-ts trainers', ['node', 'node']], ['two PyTorch trainers', ['torch', 'torch']], ['a ddpm-ts and a PyTorch trainer', ['node', 'torch']]];
    for (const [name, which] of pairs) {
      it(`${name} started at the same moment: one trains, the other is refused naming the holder, and the log is one run's`, async function () {
        if (which.includes('torch') && !havePython()) {
          if (process.env.CI) throw new Error(`${python} cannot import torch`);
          return this.skip();
        }
        const dir = tmp();
        const out = join(dir, 'run');
        const steps = 30;
        const { config, data } = which.includes('torch') ? torchInputs(dir) : { config: '', data: '' };
        const command = (side: string): [string, string[]] => side === 'node'
          ? [process.execPath, [trainCli, '--config', tinyConfigFile(dir, { checkpointEvery: 10 }), '--out', out, '--steps', String(steps)]]
          : [python, [trainDdp, '--config', config, '--data', data, '--out', out, '--steps', String(steps)]];
        const results = await race(command(which[0]), command(which[1]));
        const winners = results.filter((r) => r.status === 0), losers = results.filter((r) => r.status !== 0);
        expect(winners, results.map((r) => r.stderr).join('\n')).to.have.length(1);
        expect(losers[0]!.status).to.equal(1);
        expect(losers[0]!.stderr).to.match(new RegExp(`^error: ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is in use by another run: process \\d+ on ${hostname()}, started \\S+ \\(.*(train-faces\\.js|train_ddp\\.py).*\\)\\. One run per folder at a time: wait for it to end, or choose another folder\\. Nothing was written\\n$`));
        noTrace(losers[0]!);
        const steps_ = readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step as number);
        expect(steps_).to.deep.equal(Array.from({ length: steps }, (_, i) => i + 1));
        expect((await diffusion.loadCheckpoint(join(out, 'checkpoint.safetensors'))).step).to.equal(steps);
        expect(existsSync(join(out, '.ddpm-run.lock')), 'the lock is released at the end').to.equal(false);
      });
    }

    for (const side of ['node', 'torch'] as const) {
      it(`${side === 'node' ? 'ddpm-ts' : 'PyTorch'}: after a kill -9 the next start says it takes over the lock and removes the temporary files of writers that are gone`, async function () {
        if (side === 'torch' && !havePython()) {
          if (process.env.CI) throw new Error(`${python} cannot import torch`);
          return this.skip();
        }
        const dir = tmp();
        const out = join(dir, 'run');
        const { config, data } = side === 'torch' ? torchInputs(dir) : { config: '', data: '' };
        const args = side === 'node' ? [trainCli, '--config', tinyConfigFile(dir, { checkpointEvery: 2 }), '--out', out, '--steps', '100000'] : [trainDdp, '--config', config, '--data', data, '--out', out, '--steps', '100000'];
        const pid = await killedRun(side === 'node' ? process.execPath : python, args, out);
        const lock = JSON.parse(readFileSync(join(out, '.ddpm-run.lock'), 'utf8'));
        expect(lock).to.include({ pid, host: hostname() });
        // What a kill in the middle of an atomic write leaves, from each side's writer.
        writeFileSync(join(out, `.checkpoint.safetensors.${pid}.1765000000000.tmp`), 'half');
        writeFileSync(join(out, 'samples', `.step-000004.png.${pid}.3.tmp`), 'half');
        const again = side === 'node' ? node(['--out', out, '--resume', '--steps', '100']) : torch(['--out', out, '--data', data, '--resume', '--steps', '100']);
        expect(again.status, again.stderr).to.equal(0);
        expect(again.stdout).to.contain(`${out}: taking over the lock of process ${pid} (started ${lock.started}), which is gone; its run stopped without releasing the folder`);
        expect(again.stdout).to.contain(`removed 2 unfinished temporary file(s) left by a writer that is gone (a run killed while it wrote): ${join(out, `.checkpoint.safetensors.${pid}.1765000000000.tmp`)}, ${join(out, 'samples', `.step-000004.png.${pid}.3.tmp`)}`);
        expect(readdirSync(out).filter((n) => n.endsWith('.tmp') || n.startsWith('.ddpm-run'))).to.deep.equal([]);
      });
    }

    it('a lock held by a live process on another host is refused, saying how to clear it if that process is gone', async () => {
      const dir = tmp();
      const out = join(dir, 'run');
      mkdirSync(out);
      writeFileSync(join(out, '.ddpm-run.lock'), JSON.stringify({ pid: 1, host: 'elsewhere', command: 'train', started: '2026-01-01T00:00:00.000Z' }));
      const r = node(['--config', tinyConfigFile(dir), '--out', out]);
      expect(r.status).to.equal(1);
      expect(r.stderr).to.equal(`error: ${out} is in use by another run: process 1 on elsewhere, started 2026-01-01T00:00:00.000Z (train). One run per folder at a time: wait for it to end, or choose another folder; if that process is gone, delete ${join(out, '.ddpm-run.lock')}. Nothing was written\n`);
    });
  });

  describe('configs, flags and checkpoint fields that used to mean something silently', () => {
    it('a section that is not an object, and null for a section or field, are refused by name whatever the flags (exit 2, nothing written)', () => {
      const dir = tmp();
      const file = join(dir, 'c.json');
      const cases: Array<[string, string]> = [
        ['{"train": "x"}', 'train must be an object such as {"batchSize": …} (got "x")'],
        ['{"train": []}', 'train must be an object such as {"batchSize": …} (got [])'],
        ['{"model": null}', 'model must be an object such as {"baseChannels": 16} (got null)'],
        ['{"sample": null}', 'sample must be an object such as {"sampler": …} (got null)'],
        ['{"data": null}', 'data must be an object such as {"source": …} (got null)'],
        ['{"seed": null}', 'seed must be an integer from 0 to 4294967295 (got null)'],
        ['{"backend": null}', "backend must be one of 'cpu', "],
        ['{"train": {"lr": null}}', 'train.lr must be a number > 0 (got null)'],
        ['{"model": {"baseChannels": null}}', 'model.baseChannels must be a positive integer (got null)'],
      ];
      for (const [text, message] of cases) {
        writeFileSync(file, text);
        const r = node(['--config', file, '--out', join(dir, 'out'), '--steps', '3']);
        expect(r.status, text).to.equal(2);
        expect(r.stderr, text).to.contain(`error: invalid config:\n  - ${message}`);
        expect(existsSync(join(dir, 'out')), text).to.equal(false);
      }
      expect(() => resolveConfig(JSON.parse('{"model": {"__proto__": 1}}'))).to.throw(/model\.__proto__ is not a known field \(fields: /);
    });

    it('sample.js and eval.js refuse --steps with the DDPM sampler, which walks every timestep', async () => {
      const dir = tmp();
      const out = join(dir, 'run');
      expect(node(['--config', tinyConfigFile(dir), '--out', out]).status).to.equal(0);
      for (const script of ['sample.js', 'eval.js']) {
        const r = spawnSync(process.execPath, [join(repoRoot, 'examples', script), '--checkpoint', join(out, 'checkpoint.safetensors'), '--sampler', 'ddpm', '--steps', '20', ...(script === 'sample.js' ? ['--out', join(dir, 'g.png')] : [])], { encoding: 'utf8' });
        expect(r.status, script).to.equal(2);
        expect(r.stderr.split('\n')[0], script).to.equal("error: --steps 20 sets DDIM's steps, but the sampler is DDPM, which walks all 50 timesteps: drop --steps, or add --sampler ddim");
      }
      expect(existsSync(join(dir, 'g.png'))).to.equal(false);
    });

    it('a checkpoint whose step, optimizer step or EMA count cannot be a run\'s is refused by name', async () => {
      const dir = tmp();
      const out = join(dir, 'run');
      expect(node(['--config', tinyConfigFile(dir), '--out', out]).status).to.equal(0);
      const good = await io.loadSafetensors(join(out, 'checkpoint.safetensors'));
      const cases: Array<[Record<string, string | undefined>, string]> = [
        [{ step: '007' }, `metadata field 'step' must be a whole number, got "007"`],
        [{ step: '999999999999999' }, `metadata field 'step' is 999999999999999, past the run's train.steps (4): the file is damaged`],
        [{ optimizerStep: '0' }, `metadata field 'optimizerStep' is 0, but the checkpoint is at step 4 and Adam takes one step a training step: the file is damaged`],
        [{ emaUpdates: undefined }, `metadata field 'emaUpdates' must be a whole number, got null`],
        [{ emaUpdates: '3' }, `metadata field 'emaUpdates' is 3, but the checkpoint is at step 4 and the EMA is updated once a training step: the file is damaged`],
      ];
      for (const [change, message] of cases) {
        const metadata = { ...good.metadata };
        for (const [k, v] of Object.entries(change)) {
          if (v === undefined) delete metadata[k];
          else metadata[k] = v;
        }
        const bytes = await io.serializeSafetensors(good.tensors, metadata);
        expect(() => diffusion.parseCheckpoint(bytes, 'x.safetensors'), JSON.stringify(change)).to.throw(`x.safetensors: ${message}; the file was not used and nothing was changed`);
      }
    });
  });

  describe('a checkpoint made on any backend loads on any other', () => {
    it('a run trained on webgpu (SwiftShader) resumes on cpu, and eval.js and sample.js measure and draw it on either (--backend)', function () {
      const dir = tmp();
      const out = join(dir, 'run');
      const env = { ...process.env, VK_ICD_FILENAMES: process.env.VK_ICD_FILENAMES ?? '/usr/lib/chromium/vk_swiftshader_icd.json' };
      const example = (script: string, args: string[]) => spawnSync(process.execPath, [join(repoRoot, 'examples', script), ...args], { encoding: 'utf8', env });
      const trained = example('train-faces.js', ['--config', tinyConfigFile(dir, { steps: 2 }), '--out', out, '--backend', 'webgpu']);
      if (trained.status !== 0 && /needs WebGPU/.test(trained.stderr) && !process.env.CI) return this.skip();
      expect(trained.status, trained.stderr).to.equal(0);
      const resumed = example('train-faces.js', ['--out', out, '--resume', '--steps', '4', '--backend', 'cpu']);
      expect(resumed.status, resumed.stderr).to.equal(0);
      const cache = join(dir, 'cache');
      const fids = ['cpu', 'webgpu'].map((backend) => {
        const r = example('eval.js', ['--checkpoint', join(out, 'checkpoint.safetensors'), '--count', '8', '--cache', cache, '--backend', backend]);
        expect(r.status, `${backend}: ${r.stderr}`).to.equal(0);
        return (JSON.parse(r.stdout.trim().split('\n').pop()!) as { fid: number }).fid;
      });
      expect(Math.abs(fids[0]! - fids[1]!) / fids[0]!).to.be.below(1e-4);
      const drawn = example('sample.js', ['--checkpoint', join(out, 'checkpoint.safetensors'), '--count', '2', '--out', join(dir, 'g.png'), '--backend', 'webgpu']);
      expect(drawn.status, drawn.stderr).to.equal(0);
    });
  });

  describe('messages, not stack traces or silence', () => {
    it('eval.js --cache naming a file, or a folder on a read-only disk, is said before the feature network trains', function () {
      const dir = tmp();
      const out = join(dir, 'run');
      expect(node(['--config', tinyConfigFile(dir), '--out', out]).status).to.equal(0);
      writeFileSync(join(dir, 'afile'), 'x');
      const evalJs = (cache: string) => spawnSync(process.execPath, [join(repoRoot, 'examples', 'eval.js'), '--checkpoint', join(out, 'checkpoint.safetensors'), '--count', '8', '--cache', cache], { encoding: 'utf8' });
      const file = evalJs(join(dir, 'afile'));
      expect(file.status).to.equal(1);
      expect(file.stdout).not.to.contain('training the faces feature network');
      expect(file.stderr).to.equal(`error: the feature network's cache: cannot use the folder ${join(dir, 'afile')}: it is a file, not a folder; nothing was written (give another folder: eval.js --cache DIR, or XDG_CACHE_HOME)\n`);
      const ro = join(dir, 'ro');
      mkdirSync(ro);
      try {
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', ro], { stdio: 'pipe' });
      } catch (e) {
        if (process.env.CI) throw new Error(`cannot mount a read-only tmpfs (CI runs as root and must): ${(e as Error).message}`);
        return this.skip();
      }
      try {
        const readOnly = evalJs(join(ro, 'cache'));
        expect(readOnly.status).to.equal(1);
        expect(readOnly.stdout).not.to.contain('training the faces feature network');
        expect(readOnly.stderr).to.equal(`error: the feature network's cache: cannot create the folder ${join(ro, 'cache')}: the file system is read-only (EROFS) in ${ro}; nothing was written (give another folder: eval.js --cache DIR, or XDG_CACHE_HOME)\n`);
      } finally {
        execFileSync('umount', [ro]);
      }
    });

    it('export-data.js: a --count beyond memory is refused with what it would need; a long export prints progress at least every 2 seconds', () => {
      const dir = tmp();
      const exportJs = (args: string[]) => spawnSync(process.execPath, [join(repoRoot, 'examples', 'export-data.js'), ...args], { encoding: 'utf8' });
      for (const count of ['1e12', '20000000']) {
        const r = exportJs(['--out', join(dir, 'x.safetensors'), '--count', count]);
        expect(r.status, count).to.equal(2);
        expect(r.stderr.split('\n')[0], count).to.match(new RegExp(`^error: --count ${Number(count)} needs [\\d.,]+ (GB|TB) of memory \\(3×32×32 float32 images, held twice: the values and the file made of them\\), and this machine has [\\d.,]+ GB: at most [\\d,]+ images$`));
      }
      expect(readdirSync(dir)).to.deep.equal([]);
      // About 3 s of faces at 32×32: a line at the start, then progress.
      const child = spawnSync(process.execPath, ['-e', `
        const { spawn } = require('node:child_process');
        const c = spawn(process.execPath, [${JSON.stringify(join(repoRoot, 'examples', 'export-data.js'))}, '--out', ${JSON.stringify(join(dir, 'f.safetensors'))}, '--count', '500']);
        const t0 = Date.now(); let out = '';
        c.stdout.on('data', (d) => { for (const line of String(d).split('\\n').filter(Boolean)) out += (Date.now() - t0) + ' ' + line + '\\n'; });
        c.on('close', (code) => { process.stdout.write(out); process.exit(code); });`], { encoding: 'utf8' });
      expect(child.status, child.stderr).to.equal(0);
      const times = child.stdout.trim().split('\n').map((l) => Number(l.split(' ')[0]));
      const gaps = times.map((t, i) => t - (times[i - 1] ?? 0));
      expect(Math.max(...gaps), child.stdout).to.be.below(2000 + 500); // node's start is in the first gap
      expect(child.stdout).to.match(/exporting 500 images of generated faces/);
    });

    it('npm run demo with --port abc or a port in use: one line each, exit 2 and 1, before the build', async () => {
      const serve = join(repoRoot, 'examples', 'browser', 'serve.mjs');
      const bad = spawnSync(process.execPath, [serve, '--port', 'abc'], { encoding: 'utf8' });
      expect(bad.status).to.equal(2);
      expect(bad.stderr.split('\n')[0]).to.equal('error: --port must be a whole number from 0 to 65535 (0 picks a free one), got "abc"');
      const { createServer } = await import('node:http');
      const taken = createServer();
      await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
      const port = (taken.address() as { port: number }).port;
      const busy = await new Promise<Result>((resolve) => {
        const c = spawn(process.execPath, [serve, '--port', String(port)]);
        let stdout = '', stderr = '';
        c.stdout.on('data', (d) => (stdout += d));
        c.stderr.on('data', (d) => (stderr += d));
        c.on('close', (status) => resolve({ status, stdout, stderr }));
      });
      taken.close();
      expect(busy.status).to.equal(1);
      expect(busy.stdout).to.equal('');
      expect(busy.stderr).to.equal(`error: cannot serve the demo on 127.0.0.1:${port}: port ${port} is in use by another program; choose another with npm run demo -- --port N (0 picks a free one)\n`);
    });

    it("WebGPU in Node: Dawn's and Vulkan's own lines stay out of the console (DDPM_VERBOSE=1 shows them), whether or not an adapter opens", () => {
      const dir = tmp();
      const out = join(dir, 'run');
      expect(node(['--config', tinyConfigFile(dir), '--out', out]).status).to.equal(0);
      const sample = (env: Record<string, string | undefined>) => spawnSync(process.execPath, [join(repoRoot, 'examples', 'sample.js'), '--checkpoint', join(out, 'checkpoint.safetensors'), '--backend', 'webgpu', '--count', '2', '--out', join(dir, 'g.png')], { encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: undefined, ...env } as NodeJS.ProcessEnv });
      const driverLines = /XDG_RUNTIME_DIR|Warning: Vulkan|While initializing adapter|\.cpp:\d+/;
      // No Vulkan driver that Dawn takes (no VK_ICD_FILENAMES, no GPU): one clear line.
      const none = sample({ VK_ICD_FILENAMES: '/nonexistent/icd.json' });
      expect(none.stderr).not.to.match(driverLines);
      expect(none.status).to.equal(1);
      expect(none.stderr.trim().split('\n')).to.have.length(1);
      expect(none.stderr).to.match(/^error: backend 'webgpu' needs WebGPU: .*offers no adapter/);
      const verbose = sample({ VK_ICD_FILENAMES: '/nonexistent/icd.json', DDPM_VERBOSE: '1' });
      expect(verbose.status).to.equal(1);
      expect(verbose.stderr.trim().split('\n').length).to.be.above(1);
      // SwiftShader's Vulkan: it runs, and says nothing of XDG_RUNTIME_DIR.
      const swiftshader = sample({ VK_ICD_FILENAMES: '/usr/lib/chromium/vk_swiftshader_icd.json' });
      expect(swiftshader.status, swiftshader.stderr).to.equal(0);
      expect(swiftshader.stderr).not.to.match(driverLines);
    });
  });
});
