// The PyTorch side (examples/torch) as strict as ddpm-ts: one set of config rules, written by
// ddpm-ts (configRules → ddpm_torch/config_rules.json) and read by both; one corpus of good and
// bad configs with the same verdict and the same words on both sides; and train_ddp.py ending
// every failure in one line (exit 2 for how it was called, 1 for a failure), never a traceback,
// including 2,000 damaged checkpoints and a peer process killed mid-run.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { ConfigError, configRules, resolveConfig, type Config } from 'ddpm-ts';
import { tinyPartial } from './helpers.js';

const repoRoot = new URL('../../', import.meta.url).pathname;
const torchDir = join(repoRoot, 'examples', 'torch');
const trainDdp = join(torchDir, 'train_ddp.py');
const python = process.env.DDPM_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
const tmp = () => mkdtempSync(join(tmpdir(), 'ddpm-ts-rules-'));

/** Runs Python code with examples/torch on its path; its stdout parsed as JSON. */
function pythonJson(code: string, input: unknown): unknown {
  const r = spawnSync(python, ['-c', code], { cwd: torchDir, input: JSON.stringify(input), encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' }, maxBuffer: 64 << 20 });
  expect(r.status, r.stderr).to.equal(0);
  return JSON.parse(r.stdout);
}

/** ddpm-ts's verdict on a config: the resolved config's JSON, or its problems. */
function jsVerdict(config: unknown): { ok: boolean; problems: string[] } {
  try {
    resolveConfig(config);
    return { ok: true, problems: [] };
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return { ok: false, problems: e.problems };
  }
}

describe('the PyTorch side, as strict as ddpm-ts', function () {
  this.timeout(300000);

  before(function () {
    if (spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' }).status !== 0) {
      if (process.env.CI) throw new Error(`${python} cannot import torch (Debian: apt-get install python3-torch)`);
      return this.skip();
    }
  });

  it('config_rules.json is what ddpm-ts writes now (npm run rules)', () => {
    const file = readFileSync(join(torchDir, 'ddpm_torch', 'config_rules.json'), 'utf8');
    expect(file, 'stale: run npm run rules').to.equal(JSON.stringify(configRules(), null, 2) + '\n');
  });

  it('a corpus of 40 good and bad configs gets the same verdict, naming the same fields in the same words, on both sides', () => {
    const base = resolveConfig(tinyPartial('runs/x')) as Config;
    const whole = JSON.parse(JSON.stringify(base)) as Record<string, Record<string, unknown>>;
    const change = (section: string, field: string | null, value: unknown) => {
      const c = JSON.parse(JSON.stringify(whole)) as Record<string, unknown>;
      if (field === null) c[section] = value;
      else (c[section] as Record<string, unknown>)[field] = value;
      return c;
    };
    const corpus: unknown[] = [
      // good
      whole, {}, { train: { steps: 10 } }, { data: { source: 'mnist' } }, { data: { source: 'folder', path: 'photos' } },
      change('model', 'channelMults', [1, 2, 2, 2]), change('diffusion', 'schedule', 'cosine'), change('sample', 'sampler', 'ddpm'),
      { threads: 2, backend: 'webgpu', seed: 4294967295 }, change('train', 'lr', 2.0),
      // bad: one field each, and a few with several
      change('model', 'foo', 1), change('train', 'lr', -1), change('model', 'baseChannels', 'eight'), change('train', 'batchSize', 0),
      change('train', 'steps', 1e9), change('train', 'lrSchedule', 'linear'), change('diffusion', 'betaStart', 0.5),
      change('diffusion', 'timesteps', 1), change('data', 'channels', 4), change('data', 'imageSize', 2), change('data', 'flip', 'yes'),
      change('sample', 'eta', 2), change('sample', 'steps', 5000), change('sample', 'epsScale', 0.1), change('sample', 'count', 0),
      change('model', 'groups', 3), change('model', 'attnResolutions', [3]), change('model', 'imageSize', 16), change('model', 'dropout', 1),
      change('model', 'zeroInitOut', 1), change('model', 'channelMults', []), change('model', 'baseChannels', 6.5),
      change('train', 'emaDecay', 1), change('train', 'outDir', ''), change('train', 'constructor', 1), change('train', null, 'x'),
      change('model', null, null), change('seed', null, -1), change('backend', null, 'cuda'), change('threads', null, 0),
      { modle: {} }, [], null, { data: { source: 'folder' } }, { train: { batchSize: 1.5, lr: 'fast', gradClip: -1 }, model: { numResBlocks: 0 } },
      change('diffusion', 'betaEnd', 1e-5), change('data', 'path', 5),
    ];
    expect(corpus.length).to.be.at.least(40);
    const py = pythonJson(`
import json, sys
from ddpm_torch.config import ConfigError, resolve_config
out = []
for c in json.load(sys.stdin):
    try:
        resolve_config(c)
        out.append({"ok": True, "problems": []})
    except ConfigError as e:
        out.append({"ok": False, "problems": e.problems})
print(json.dumps(out, ensure_ascii=False))`, corpus) as Array<{ ok: boolean; problems: string[] }>;
    const good = corpus.filter((c) => jsVerdict(c).ok).length;
    expect(good, 'good configs in the corpus').to.equal(10);
    corpus.forEach((c, i) => expect(py[i], JSON.stringify(c)).to.deep.equal(jsVerdict(c)));
  });

  describe('train_ddp.py: one line, never a traceback', () => {
    let dir: string, config: string, data: string;
    before(() => {
      dir = tmp();
      const partial = join(dir, 'partial.json');
      writeFileSync(partial, JSON.stringify({ ...tinyPartial('unused'), train: { ...tinyPartial('unused').train, outDir: join(dir, 'run') } }));
      config = join(dir, 'config.json');
      data = join(dir, 'faces.safetensors');
      const r = spawnSync(process.execPath, [join(repoRoot, 'examples', 'export-data.js'), '--config', partial, '--count', '16', '--out', data, '--config-out', config], { encoding: 'utf8' });
      expect(r.status, r.stderr).to.equal(0);
    });
    const ddp = (args: string[], env: Record<string, string> = {}) => spawnSync(python, [trainDdp, ...args], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1', ...env } });
    const oneLine = (r: { stderr: string }) => {
      expect(r.stderr).not.to.match(/Traceback|^\s+File "/m);
      return r.stderr;
    };
    const withConfig = (edit: (c: Record<string, Record<string, unknown>>) => void) => {
      const c = JSON.parse(readFileSync(config, 'utf8'));
      edit(c);
      const file = join(dir, `c-${Math.random().toString(36).slice(2)}.json`);
      writeFileSync(file, JSON.stringify(c));
      return file;
    };

    it('configs ddpm-ts refuses are refused before anything is written (model.foo, train.lr -1, baseChannels "eight", batchSize 0)', () => {
      const cases: Array<[(c: Record<string, Record<string, unknown>>) => void, string]> = [
        [(c) => (c.model!.foo = 1), 'model.foo is not a known field'],
        [(c) => (c.train!.lr = -1), 'train.lr must be a number > 0 (got -1)'],
        [(c) => (c.model!.baseChannels = 'eight'), 'model.baseChannels must be a positive integer (got "eight")'],
        [(c) => (c.train!.batchSize = 0), 'train.batchSize must be an integer >= 1 (got 0)'],
      ];
      for (const [edit, message] of cases) {
        const file = withConfig(edit);
        const r = ddp(['--config', file, '--data', data, '--out', join(dir, 'refused')]);
        expect(r.status, message).to.equal(2);
        expect(oneLine(r)).to.contain(`error: invalid config (--config ${file}):\n  - ${message}`);
        expect(existsSync(join(dir, 'refused')), message).to.equal(false);
      }
    });

    it('a missing --data file (exit 2) and a run that diverges (exit 1)', () => {
      const missing = ddp(['--config', config, '--data', join(dir, 'nope.safetensors'), '--out', join(dir, 'm')]);
      expect(missing.status).to.equal(2);
      expect(oneLine(missing)).to.equal(`error: cannot read --data ${join(dir, 'nope.safetensors')}: No such file or directory\n`);
      const diverging = withConfig((c) => Object.assign(c.train!, { lr: 1e30, gradClip: 0, steps: 50 }));
      const r = ddp(['--config', diverging, '--data', data, '--out', join(dir, 'd')]);
      expect(r.status).to.equal(1);
      expect(oneLine(r)).to.match(/^error: training diverged at step \d+: the loss is (inf|nan)/);
    });

    it('five kinds of damaged checkpoint header are named in one line (exit 1), and a fuzz of 2,000 damaged checkpoints raises nothing but the reader\'s own errors', () => {
      const run = join(dir, 'good');
      expect(ddp(['--config', config, '--data', data, '--out', run]).status).to.equal(0);
      const checkpoint = join(run, 'checkpoint.safetensors');
      const bytes = readFileSync(checkpoint);
      const headerLength = Number(bytes.readBigUInt64LE(0));
      const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString()) as Record<string, unknown>;
      const withHeader = (edit: (h: Record<string, unknown>) => unknown) => {
        const h = JSON.parse(JSON.stringify(header)) as Record<string, unknown>;
        const replaced = edit(h); // an array replaces the header; anything else edited it in place
        const text = Buffer.from(JSON.stringify(Array.isArray(replaced) ? replaced : h));
        const prefix = Buffer.alloc(8);
        prefix.writeBigUInt64LE(BigInt(text.length));
        const file = join(dir, `damaged-${Math.random().toString(36).slice(2)}.safetensors`);
        writeFileSync(file, Buffer.concat([prefix, text, bytes.subarray(8 + headerLength)]));
        return file;
      };
      const first = Object.keys(header).find((k) => k !== '__metadata__')!;
      const cases: Array<[(h: Record<string, unknown>) => unknown, RegExp]> = [
        [(h) => void delete (h[first] as Record<string, unknown>).dtype, /has dtype None, which is not read here/],
        [(h) => void (h[first] = 'F32'), /is described by str, not an object/],
        [() => [1, 2], /its header is list, not an object/],
        [(h) => void ((h[first] as Record<string, unknown>).shape = [3, 3, 3, 3, 3]), /needs \d+ bytes, its data_offsets give \d+/],
        [(h) => void (h.__metadata__ = { step: 4 }), /its __metadata__ must map strings to strings/],
      ];
      for (const [edit, message] of cases) {
        const file = withHeader(edit);
        const copy = join(dir, `resume-${Math.random().toString(36).slice(2)}`);
        mkdirSync(copy);
        writeFileSync(join(copy, 'checkpoint.safetensors'), readFileSync(file));
        const bad = ddp(['--out', copy, '--data', data, '--resume', '--steps', '8']);
        expect(bad.status, String(message)).to.equal(1);
        expect(oneLine(bad), bad.stderr).to.match(message);
        expect(bad.stderr.trim().split('\n'), bad.stderr).to.have.length(1);
      }
      // The fuzz: the reader's own errors (CheckpointError, ValueError) only, with the file named.
      const report = pythonJson(`
import json, os, random, sys, tempfile
from ddpm_torch import checkpoint
src = json.load(sys.stdin)
good = open(src, "rb").read()
rng = random.Random(7)
n = len(good)
head = 8 + int.from_bytes(good[:8], "little")
others, refused, accepted = [], 0, 0
folder = tempfile.mkdtemp()
for i in range(2000):
    b = bytearray(good)
    kind = i % 5
    if kind == 0:
        for _ in range(rng.randint(1, 8)):
            b[rng.randrange(8, head)] = rng.randrange(256)
    elif kind == 1:
        for _ in range(rng.randint(1, 8)):
            b[rng.randrange(head, n)] = rng.randrange(256)
    elif kind == 2:
        b[0:8] = (head - 8 + rng.randint(-16, 16)).to_bytes(8, "little", signed=False) if head - 8 + 16 > 0 else b[0:8]
    elif kind == 3:
        b = b[:rng.randrange(0, n)]
    else:
        b += bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
    path = os.path.join(folder, f"f{i}.safetensors")
    open(path, "wb").write(bytes(b))
    try:
        checkpoint.load(path)
        accepted += 1
    except (checkpoint.CheckpointError, ValueError) as e:
        refused += 1
        if path not in str(e):
            others.append(f"{i}: does not name the file: {str(e)[:120]}")
    except Exception as e:
        others.append(f"{i}: {type(e).__name__}: {str(e)[:160]}")
    os.remove(path)
print(json.dumps({"others": others, "refused": refused, "accepted": accepted}))`, checkpoint) as { others: string[]; refused: number; accepted: number };
      expect(report.others, report.others.slice(0, 5).join('\n')).to.deep.equal([]);
      expect(report.refused + report.accepted).to.equal(2000);
      expect(report.refused).to.be.above(1500);
    });

    it('a peer process killed mid-run: the other ends in one line saying so (exit 1)', async () => {
      const out = join(dir, 'pair');
      const pair = withConfig((c) => Object.assign(c.train!, { batchSize: 4, steps: 100000, checkpointEvery: 50 }));
      const port = String(29500 + Math.floor(Math.random() * 400));
      const start = (rank: number) => spawn(python, [trainDdp, '--config', pair, '--data', data, '--out', out, '--backend', 'gloo'], {
        env: { ...process.env, OMP_NUM_THREADS: '1', RANK: String(rank), LOCAL_RANK: String(rank), WORLD_SIZE: '2', MASTER_ADDR: '127.0.0.1', MASTER_PORT: port },
      });
      const rank0 = start(0), rank1 = start(1);
      let stderr = '';
      rank0.stderr.on('data', (d) => (stderr += d));
      const ended = new Promise<number | null>((resolve) => rank0.on('close', resolve));
      const deadline = Date.now() + 120000;
      while (!existsSync(join(out, 'checkpoint.safetensors')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      rank1.kill('SIGKILL');
      const status = await ended;
      expect(status, stderr).to.equal(1);
      expect(stderr).not.to.match(/Traceback/);
      expect(stderr.trim().split('\n')).to.have.length(1);
      expect(stderr).to.match(/^error: another process of this run stopped, so this one stops too \(rank 0: .*\); the last checkpoint written is whole: continue with --resume/);
    });
  });
});
