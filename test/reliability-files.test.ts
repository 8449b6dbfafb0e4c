// What happens when things go wrong, second pass: no command replaces a user's file, no file
// loads as garbage weights, every config and flag mistake is named. Each case runs the real
// example scripts (or the parsers), checks the message (the file, field or flag named), the exit
// code, and the md5 of every file that must not change.

import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { data, diffusion, io, resolveConfig, Rng, type Config, type DeepPartial } from 'ddpm-ts';
import { md5, md5s, tinyPartial } from './helpers.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'ddpm-ts-files-'));
const repoRoot = new URL('../../', import.meta.url).pathname;
const script = (name: string) => join(repoRoot, 'examples', name);


/** A finished tiny run in a new folder: its checkpoint is at step 4. */
async function finishedRun(train: DeepPartial<Config['train']> = {}): Promise<string> {
  const dir = join(tmp(), 'run');
  await (await diffusion.Trainer.create(resolveConfig(tinyPartial(dir, train)))).train();
  return dir;
}


/** Runs an example script; a failure must be one line on stderr (after 'error: '), never a stack trace. */
function cli(name: string, args: string[], cwd = repoRoot) {
  const r = spawnSync(process.execPath, [script(name), ...args], { cwd, encoding: 'utf8' });
  expect(r.stderr, 'a stack trace was printed').not.to.match(/^\s+at /m);
  return r;
}

/** The first line of stderr, without 'error: '. */
const errorLine = (r: { stderr: string }) => r.stderr.split('\n')[0]!.replace(/^error: /, '');

describe('when things go wrong, second pass', function () {
  this.timeout(120000);

  describe('no output replaces a user\'s file', () => {
    let run: string, checkpoint: string;
    before(async () => {
      run = await finishedRun();
      checkpoint = join(run, 'checkpoint.safetensors');
    });

    it('sample.js never writes over its own checkpoint, however it is named (path, ./.., symlink, hard link)', () => {
      const dir = tmp();
      symlinkSync(checkpoint, join(dir, 'link.safetensors'));
      linkSync(checkpoint, join(dir, 'hard.safetensors'));
      const before = md5s(run);
      const cases: Array<[string, string]> = [
        [checkpoint, checkpoint],
        [checkpoint, join(run, '..', 'run', 'checkpoint.safetensors')],
        [join(dir, 'link.safetensors'), checkpoint],
        [join(dir, 'hard.safetensors'), checkpoint],
      ];
      for (const [input, out] of cases) {
        const r = cli('sample.js', ['--checkpoint', input, '--out', out, '--count', '2']);
        expect(r.status, r.stderr).to.equal(1);
        expect(errorLine(r)).to.equal(`--out ${out} is the same file as --checkpoint ${input}: a command never replaces its own input; choose another --out; nothing was written`);
        // --overwrite does not change that.
        expect(cli('sample.js', ['--checkpoint', input, '--out', out, '--overwrite']).status).to.equal(1);
      }
      expect(md5s(run)).to.deep.equal(before);
    });

    it('export-ema.js never writes over its input, nor over any training checkpoint, even with --overwrite', async () => {
      const other = await finishedRun({ steps: 2 });
      const otherCheckpoint = join(other, 'checkpoint.safetensors');
      const before = { ...md5s(run), ...md5s(other) };
      let r = cli('export-ema.js', ['--checkpoint', checkpoint, '--out', checkpoint, '--overwrite']);
      expect(r.status).to.equal(1);
      expect(errorLine(r)).to.equal(`--out ${checkpoint} is the same file as --checkpoint ${checkpoint}: a command never replaces its own input; choose another --out; nothing was written`);
      r = cli('export-ema.js', ['--checkpoint', checkpoint, '--out', otherCheckpoint, '--overwrite']);
      expect(r.status).to.equal(1);
      expect(errorLine(r)).to.equal(`--out ${otherCheckpoint} is a ddpm-ts training checkpoint (step 2): it is never replaced by another kind of file, since its run could not resume; choose another --out; nothing was written`);
      // sample.js's images likewise.
      r = cli('sample.js', ['--checkpoint', checkpoint, '--out', otherCheckpoint, '--overwrite']);
      expect(errorLine(r)).to.match(/is a ddpm-ts training checkpoint \(step 2\): it is never replaced/);
      expect({ ...md5s(run), ...md5s(other) }).to.deep.equal(before);
      // The other run still resumes.
      expect((await diffusion.Trainer.create(resolveConfig(tinyPartial(other, { steps: 3 })), { resume: true })).step).to.equal(2);
    });

    it('an existing weights file is replaced only with --overwrite; an existing PNG is replaced, any other file only with --overwrite', () => {
      const dir = tmp();
      const weights = join(dir, 'ema.safetensors');
      let r = cli('export-ema.js', ['--checkpoint', checkpoint, '--out', weights]);
      expect(r.status, r.stderr).to.equal(0);
      const first = md5(weights);
      r = cli('export-ema.js', ['--checkpoint', checkpoint, '--out', weights]);
      expect(r.status).to.equal(1);
      expect(errorLine(r)).to.equal(`--out ${weights} exists (a safetensors file); add --overwrite to replace it, or choose another --out; nothing was written`);
      expect(md5(weights)).to.equal(first);
      expect(cli('export-ema.js', ['--checkpoint', checkpoint, '--out', weights, '--overwrite']).status).to.equal(0);

      const notes = join(dir, 'notes.txt');
      writeFileSync(notes, 'my notes\n');
      r = cli('sample.js', ['--checkpoint', checkpoint, '--out', notes, '--count', '2']);
      expect(r.status).to.equal(1);
      expect(errorLine(r)).to.equal(`--out ${notes} exists (a file that starts with 6d 79 20 6e 6f 74 65 73 …); add --overwrite to replace it, or choose another --out; nothing was written`);
      expect(readFileSync(notes, 'utf8')).to.equal('my notes\n');
      const grid = join(dir, 'grid.png');
      expect(cli('sample.js', ['--checkpoint', checkpoint, '--out', grid, '--count', '2']).status).to.equal(0);
      writeFileSync(grid, Buffer.concat([readFileSync(grid), Buffer.from([0])])); // changed, still a PNG
      const changed = md5(grid);
      expect(cli('sample.js', ['--checkpoint', checkpoint, '--out', grid, '--count', '2']).status).to.equal(0);
      expect(md5(grid)).not.to.equal(changed);
      expect(cli('sample.js', ['--checkpoint', checkpoint, '--out', notes, '--count', '2', '--overwrite']).status).to.equal(0);
      expect(readFileSync(notes).subarray(1, 4).toString()).to.equal('PNG');
    });

    it('the output path is checked before any work: a missing folder, a folder, a file as folder, --out = --strip, a read-only folder', function () {
      const dir = tmp();
      writeFileSync(join(dir, 'file'), 'x');
      const before = md5s(dir);
      const cases: Array<[string[], string]> = [
        [['--out', join(dir, 'nowhere', 'grid.png')], `--out ${join(dir, 'nowhere', 'grid.png')}: the folder ${join(dir, 'nowhere')} does not exist; create it first or choose another --out; nothing was written`],
        [['--out', dir], `--out ${dir} is a folder; name a file in it, such as ${join(dir, 'samples.png')}; nothing was written`],
        [['--out', join(dir, 'file', 'grid.png')], `--out ${join(dir, 'file', 'grid.png')}: ${join(dir, 'file')} is a file, not a folder; nothing was written`],
        [['--out', join(dir, 'a.png'), '--strip', `${dir}/./a.png`], `--strip ${dir}/./a.png and --out ${join(dir, 'a.png')} are the same file; give each its own; nothing was written`],
      ];
      for (const [flags, message] of cases) {
        const r = cli('sample.js', ['--checkpoint', checkpoint, ...flags]);
        expect(r.status, flags.join(' ')).to.equal(1);
        expect(errorLine(r)).to.equal(message);
        expect(r.stdout, 'refused before sampling started').to.equal('');
      }
      const exported = cli('export-ema.js', ['--checkpoint', checkpoint, '--out', dir]);
      expect(errorLine(exported)).to.equal(`--out ${dir} is a folder; name a file in it, such as ${join(dir, 'weights.safetensors')}; nothing was written`);
      expect(md5s(dir)).to.deep.equal(before);
      // Read-only: a permission check (root passes it), so the folder is made read-only for the mode bits and its owner too when not root.
      if (process.getuid?.() !== 0) {
        const locked = join(dir, 'locked');
        mkdirSync(locked);
        chmodSync(locked, 0o555);
        const r = cli('sample.js', ['--checkpoint', checkpoint, '--out', join(locked, 'g.png')]);
        expect(errorLine(r)).to.equal(`--out ${join(locked, 'g.png')}: cannot write in the folder ${locked}: permission denied (EACCES); nothing was written`);
      }
    });

    it('train-faces.js: an --out that is a file is refused before the data is read, and nothing is written', () => {
      const dir = tmp();
      const file = join(dir, 'taken');
      writeFileSync(file, 'mine');
      const config = join(dir, 'tiny.json');
      writeFileSync(config, JSON.stringify(tinyPartial(file)));
      const r = cli('train-faces.js', ['--config', config]);
      expect(r.status).to.equal(1);
      expect(errorLine(r)).to.equal(`cannot use the folder ${file}: it is a file, not a folder; nothing was written`);
      expect(readFileSync(file, 'utf8')).to.equal('mine');
    });

    it('--resume never goes backwards: --steps below the checkpoint\'s step is refused, naming both, and nothing changes', async () => {
      const dir = await finishedRun({ steps: 5, checkpointEvery: 5 });
      const before = md5s(dir);
      const r = cli('train-faces.js', ['--out', dir, '--resume', '--steps', '2']);
      expect(r.status).to.equal(1);
      expect(errorLine(r)).to.equal(`cannot resume from ${join(dir, 'checkpoint.safetensors')}: it is at step 5 and train.steps asks for 2; a resumed run never goes backwards. Ask for 5 steps or more; nothing was changed`);
      expect(md5s(dir)).to.deep.equal(before);
    });

    it('a run whose last step is a multiple of checkpointEvery and sampleEvery writes and prints each once', () => {
      const dir = join(tmp(), 'run');
      const config = join(tmp(), 'tiny.json');
      writeFileSync(config, JSON.stringify(tinyPartial(dir, { steps: 4, checkpointEvery: 2, sampleEvery: 4 })));
      const r = cli('train-faces.js', ['--config', config]);
      expect(r.status, r.stderr).to.equal(0);
      const lines = r.stdout.split('\n');
      expect(lines.filter((l) => l.startsWith('checkpoint at step'))).to.deep.equal([`checkpoint at step 2: ${join(dir, 'checkpoint.safetensors')}`, `checkpoint at step 4: ${join(dir, 'checkpoint.safetensors')}`]);
      expect(lines.filter((l) => l.startsWith('samples at step'))).to.deep.equal([`samples at step 4: ${join(dir, 'samples', 'step-000004.png')}`]);
      // Drawing takes a while on a CPU: its steps are counted (always the last, and every 1.5 s before).
      expect(lines.filter((l) => l.startsWith('drawing ')).map((l) => l.replace(/, \S+ left$/, ''))).to.include.members(['drawing samples at step 4: step 2/2', 'drawing the denoising strip: step 2/2']);
    });
  });

  describe('files that would load as garbage are refused, naming the file and what is wrong', () => {
    let run: string, good: Buffer;
    before(async () => {
      run = await finishedRun();
      good = readFileSync(join(run, 'checkpoint.safetensors'));
    });
    const headerLength = (b: Uint8Array) => Number(new DataView(b.buffer, b.byteOffset).getBigUint64(0, true));

    /** The checkpoint rewritten with `pad` spaces of padding at the end of its header (as writers pad to 8 bytes). */
    const padded = (pad: number) => {
      const n = headerLength(good);
      const json = Buffer.concat([good.subarray(8, 8 + n), Buffer.from(' '.repeat(pad))]);
      const out = Buffer.concat([Buffer.alloc(8), json, good.subarray(8 + n)]);
      out.writeBigUInt64LE(BigInt(json.length), 0);
      return out;
    };

    const damaged: Array<[string, () => Buffer, RegExp]> = [
      ['a length prefix 1 byte short, inside the header\'s padding', () => {
        const b = padded(8);
        b.writeBigUInt64LE(BigInt(headerLength(b) - 1), 0);
        return b;
      }, /: the data holds 1 byte\(s\) after the last tensor \('adam\.v\.[\w.]+' ends at \d+ of \d+\): the header does not describe the data/],
      ['a length prefix 5 bytes short', () => {
        const b = padded(8);
        b.writeBigUInt64LE(BigInt(headerLength(b) - 5), 0);
        return b;
      }, /: the data holds 5 byte\(s\) after the last tensor/],
      ['trailing bytes after the last tensor', () => Buffer.concat([good, Buffer.from([0, 0, 0, 0])]), /: the data holds 4 byte\(s\) after the last tensor/],
      ['a gap between tensors', () => {
        // Every tensor from the second on moves 4 bytes later, and 4 bytes are inserted there.
        const n = headerLength(good);
        const header = JSON.parse(good.subarray(8, 8 + n).toString()) as Record<string, { data_offsets: [number, number] }>;
        const entries = Object.entries(header).filter(([k]) => k !== '__metadata__').sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0]);
        const cut = entries[1]![1].data_offsets[0];
        for (const [, e] of entries.slice(1)) e.data_offsets = [e.data_offsets[0] + 4, e.data_offsets[1] + 4];
        const json = Buffer.from(JSON.stringify(header));
        const data = good.subarray(8 + n);
        const out = Buffer.concat([Buffer.alloc(8), json, data.subarray(0, cut), Buffer.alloc(4), data.subarray(cut)]);
        out.writeBigUInt64LE(BigInt(json.length), 0);
        return out;
      }, /: data bytes \[\d+, \d+\) belong to no tensor \(a hole between '[\w.]+' and '[\w.]+'\): the header does not describe the data/],
      ['a NaN in model.convOut.weight', () => {
        const b = Buffer.from(good);
        const n = headerLength(b);
        const at = (JSON.parse(b.subarray(8, 8 + n).toString())['model.convOut.weight'] as { data_offsets: number[] }).data_offsets[0]!;
        b.writeFloatLE(NaN, 8 + n + at + 4 * 5);
        return b;
      }, /: tensor 'model\.convOut\.weight' holds NaN at index 5 of 216: the weights are damaged/],
      ['an infinity in an EMA tensor', () => {
        const b = Buffer.from(good);
        const n = headerLength(b);
        const at = (JSON.parse(b.subarray(8, 8 + n).toString())['ema.convIn.bias'] as { data_offsets: number[] }).data_offsets[0]!;
        b.writeFloatLE(-Infinity, 8 + n + at);
        return b;
      }, /: tensor 'ema\.convIn\.bias' holds -Infinity at index 0 of 8: the weights are damaged/],
      ['a negative Adam second moment', () => {
        const b = Buffer.from(good);
        const n = headerLength(b);
        const at = (JSON.parse(b.subarray(8, 8 + n).toString())['adam.v.convIn.bias'] as { data_offsets: number[] }).data_offsets[0]!;
        b.writeFloatLE(-1, 8 + n + at + 4);
        return b;
      }, /: tensor 'adam\.v\.convIn\.bias' holds -1 at index 1 of 8, but Adam's second moments are never negative/],
    ];

    for (const [what, make, message] of damaged) {
      it(`${what}: sample.js and --resume refuse it (exit 1), and nothing changes`, () => {
        const dir = tmp();
        mkdirSync(join(dir, 'run'));
        writeFileSync(join(dir, 'run', 'checkpoint.safetensors'), make());
        writeFileSync(join(dir, 'run', 'log.jsonl'), readFileSync(join(run, 'log.jsonl')));
        writeFileSync(join(dir, 'run', 'config.json'), readFileSync(join(run, 'config.json')));
        const before = md5s(dir);
        const file = join(dir, 'run', 'checkpoint.safetensors');
        const sampled = cli('sample.js', ['--checkpoint', file, '--out', join(dir, 'grid.png')]);
        expect(sampled.status).to.equal(1);
        expect(errorLine(sampled)).to.match(message).and.to.contain(file);
        const resumed = cli('train-faces.js', ['--out', join(dir, 'run'), '--resume', '--steps', '6']);
        expect(resumed.status).to.equal(1);
        expect(errorLine(resumed)).to.match(message).and.not.to.contain('diverged');
        expect(md5s(dir)).to.deep.equal(before);
        expect(() => diffusion.parseSamplingWeights(make(), 'f')).to.throw(message);
      });
    }

    it('a file that is not safetensors at all is named for what it is (a PNG, a PyTorch zip, text)', async () => {
      const dir = tmp();
      const png = join(dir, 'grid.png');
      expect(cli('sample.js', ['--checkpoint', join(run, 'checkpoint.safetensors'), '--out', png, '--count', '2']).status).to.equal(0);
      const cases: Array<[string, Buffer, string]> = [
        ['grid.safetensors', readFileSync(png), '89 50 4e 47 0d 0a 1a 0a … (a PNG image)'],
        ['model.pt', Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(40)]), "50 4b 03 04 00 00 00 00 … (a ZIP archive; PyTorch's torch.save writes one: save with safetensors instead)"],
        ['config.safetensors', Buffer.from('{"train": {"steps": 5}}'), '7b 22 74 72 61 69 6e 22 … (text, perhaps JSON)'],
      ];
      for (const [name, bytes, start] of cases) {
        writeFileSync(join(dir, name), bytes);
        const r = cli('sample.js', ['--checkpoint', join(dir, name), '--out', join(dir, 'out.png')]);
        expect(r.status).to.equal(1);
        expect(errorLine(r)).to.equal(`${join(dir, name)}: not a safetensors file: it starts with ${start}, where a safetensors file has an 8-byte header length (at most 100000000) and then a JSON header ('{')`);
      }
    });

    it('a fuzz of 1,500 damaged checkpoints (bytes changed, length prefix shifted, bytes appended or cut, gaps): each is refused with a message naming it, and none accepted holds a hole or a non-finite value', () => {
      const base = padded(16);
      const rng = new Rng(17);
      const outcomes = { accepted: 0, refused: 0 };
      const kinds = new Map<string, number>();
      for (let i = 0; i < 1500; i++) {
        const b = Buffer.from(base);
        let bytes: Buffer = b;
        const n = headerLength(b);
        switch (i % 5) {
          case 0: // a few bytes changed anywhere
            for (let k = 0; k <= rng.int(3); k++) b[rng.int(b.length)] = rng.int(256);
            break;
          case 1: // the length prefix shifted by -16 … 16
            b.writeBigUInt64LE(BigInt(n + rng.int(33) - 16), 0);
            break;
          case 2: // bytes appended, or the file cut short
            bytes = rng.int(2) ? Buffer.concat([b, Buffer.alloc(1 + rng.int(64))]) : b.subarray(0, b.length - 1 - rng.int(64));
            break;
          case 3: { // a data byte changed (a value changes, or becomes NaN or infinite)
            const at = 8 + n + rng.int(b.length - 8 - n);
            b[at - (at % 4) + 3] = rng.int(2) ? 0x7f : 0xff; // the exponent's high bits
            b[at - (at % 4) + 2] |= 0x80;
            break;
          }
          case 4: { // one tensor's offsets moved by a few bytes
            const header = JSON.parse(b.subarray(8, 8 + n).toString()) as Record<string, { data_offsets: [number, number] }>;
            const names = Object.keys(header).filter((k) => k !== '__metadata__');
            const e = header[names[rng.int(names.length)]!]!;
            const shift = 4 * (rng.int(5) - 2);
            e.data_offsets = [e.data_offsets[0] + shift, e.data_offsets[1] + shift];
            const json = Buffer.from(JSON.stringify(header));
            bytes = Buffer.concat([Buffer.alloc(8), json, b.subarray(8 + n)]);
            bytes.writeBigUInt64LE(BigInt(json.length), 0);
          }
        }
        const parsers: Array<[string, () => Map<string, { toFloat32Array(): Float32Array }> | null]> = [
          ['parseSafetensors', () => (io.parseSafetensors(bytes, 'fuzz.safetensors'), null)],
          ['parseCheckpoint', () => {
            const c = diffusion.parseCheckpoint(bytes, 'fuzz.safetensors');
            return new Map([...c.model, ...c.ema, ...c.optimizer.m, ...c.optimizer.v].map(([k, t], j) => [`${j}.${k}`, t]));
          }],
          ['parseSamplingWeights', () => diffusion.parseSamplingWeights(bytes, 'fuzz.safetensors').weights],
        ];
        for (const [parser, parse] of parsers) {
          let weights: Map<string, { toFloat32Array(): Float32Array }> | null;
          try {
            weights = parse();
          } catch (e) {
            expect(e, parser).to.be.instanceOf(Error);
            expect((e as Error).message, parser).to.match(/^fuzz\.safetensors: /);
            const kind = (e as Error).message.replace(/^fuzz\.safetensors: /, '').replace(/[\d'"[].*$/s, '');
            kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
            outcomes.refused++;
            continue;
          }
          outcomes.accepted++;
          // Accepted: the header's tensors tile the data exactly (checked here from the raw bytes) …
          const len = headerLength(bytes);
          const header = JSON.parse(bytes.subarray(8, 8 + len).toString()) as Record<string, { data_offsets: [number, number] }>;
          const spans = Object.entries(header).filter(([k]) => k !== '__metadata__').map(([, e]) => e.data_offsets).sort((a, c) => a[0] - c[0]);
          let covered = 0;
          for (const [begin, end] of spans) {
            expect(begin, `${parser} accepted a hole or an overlap`).to.equal(covered);
            covered = end;
          }
          expect(covered, `${parser} accepted bytes after the last tensor`).to.equal(bytes.length - 8 - len);
          // … and the weights of a checkpoint or a weights file are finite.
          for (const [name, t] of weights ?? []) expect(t.toFloat32Array().every(Number.isFinite), `${parser}: ${name}`).to.equal(true);
        }
      }
      expect(outcomes.refused).to.be.above(2500);
      expect(outcomes.accepted).to.be.above(300); // changed values that stay finite, changed metadata text, …
      expect([...kinds.keys()].some((k) => k.startsWith('the data holds'))).to.equal(true);
      expect([...kinds.keys()].some((k) => k.startsWith('data bytes'))).to.equal(true);
      expect([...kinds.keys()].some((k) => k.startsWith('tensor'))).to.equal(true);
    });
  });

  describe('config and flags', () => {
    it('a config that is JSON but not an object is named, exit code 2', () => {
      const dir = tmp();
      for (const [text, shown] of [['null', 'null'], ['5', '5'], ['"hello"', '"hello"'], ['[1]', '[1]']]) {
        const file = join(dir, 'c.json');
        writeFileSync(file, text!);
        for (const extra of [[], ['--steps', '3'], ['--resume']]) {
          const r = cli('train-faces.js', ['--config', file, '--out', join(dir, 'run'), ...extra]);
          expect(r.status, `${text} ${extra.join(' ')}`).to.equal(2);
          expect(r.stderr).to.equal(`error: invalid config:\n  - --config ${file} must hold a JSON object such as {"train": {"steps": 500}} (got ${shown})\n`);
        }
      }
      expect(existsSync(join(dir, 'run'))).to.equal(false);
      expect(() => resolveConfig(null)).to.throw('the config must be a JSON object such as {"train": {"steps": 500}} (got null)');
    });

    it('fields named like Object.prototype members are unknown fields, all listed at once, with or without --resume', async () => {
      const problems = (partial: unknown) => {
        try {
          resolveConfig(partial);
        } catch (e) {
          return (e as { problems: string[] }).problems;
        }
        return [];
      };
      expect(problems(JSON.parse('{"train": {"constructor": 5, "toString": 1, "hasOwnProperty": 2}}'))).to.deep.equal(['constructor', 'toString', 'hasOwnProperty'].map((f) => `train.${f} is not a known field (fields: batchSize, steps, lr, warmupSteps, lrSchedule, minSnrGamma, gradClip, emaDecay, emaWarmup, logEvery, sampleEvery, checkpointEvery, evalEvery, evalCount, outDir)`));
      expect(problems(JSON.parse('{"train": {"__proto__": {"steps": 1}}}'))).to.deep.equal(['train.__proto__ is not a known field (fields: batchSize, steps, lr, warmupSteps, lrSchedule, minSnrGamma, gradClip, emaDecay, emaWarmup, logEvery, sampleEvery, checkpointEvery, evalEvery, evalCount, outDir)']);
      expect(problems(JSON.parse('{"model": {"valueOf": 1}, "data": {"isPrototypeOf": 1}}'))).to.have.length(2);
      const dir = await finishedRun();
      const before = md5s(dir);
      const file = join(tmp(), 'c.json');
      for (const text of ['{"__proto__": {"seed": 1}}', '{"train": {"__proto__": {"steps": 1}}}', '{"train": {"constructor": 5}}']) {
        writeFileSync(file, text);
        const r = cli('train-faces.js', ['--config', file, '--out', dir, '--resume', '--steps', '6']);
        expect(r.status, text).to.equal(2);
        expect(r.stderr, text).to.match(/^error: invalid config:\n {2}- .*(__proto__|constructor)/);
      }
      expect(md5s(dir)).to.deep.equal(before);
    });

    it('empty and non-decimal flag values are usage errors naming the flag (exit 2), and nothing runs', () => {
      const dir = tmp();
      const cases: Array<[string, string[], string]> = [
        ['train-faces.js', ['--out', ''], '--out needs a value, got an empty one'],
        ['train-faces.js', ['--data', ''], '--data needs a value, got an empty one'],
        ['train-faces.js', ['--config', ' '], '--config needs a value, got an empty one'],
        ['train-faces.js', ['--steps', '0x3'], '--steps needs a decimal number, got "0x3"'],
        ['train-faces.js', ['--steps', '0b11'], '--steps needs a decimal number, got "0b11"'],
        ['train-faces.js', ['--steps', 'Infinity'], '--steps needs a decimal number, got "Infinity"'],
        ['train-faces.js', ['--steps=', '--out', join(dir, 'r')], '--steps needs a value, got an empty one'],
        ['sample.js', ['--checkpoint', ''], '--checkpoint needs a value, got an empty one'],
        ['sample.js', ['--checkpoint', 'x', '--eta', '0x1'], '--eta needs a decimal number, got "0x1"'],
        ['export-ema.js', ['--checkpoint', 'x', '--out', ''], '--out needs a value, got an empty one'],
        ['fit-face.js', ['--steps', '1e'], '--steps needs a decimal number, got "1e"'],
      ];
      for (const [name, args, message] of cases) {
        const r = cli(name, args, dir);
        expect(r.status, `${name} ${args.join(' ')}`).to.equal(2);
        expect(errorLine(r)).to.equal(message);
      }
      expect(readdirSync(dir)).to.deep.equal([]);
    });

    it('every example takes --help (and -h): the usage on stdout, exit 0', () => {
      for (const name of ['train-faces.js', 'sample.js', 'export-ema.js', 'fit-face.js']) {
        for (const flag of ['--help', '-h']) {
          const r = cli(name, [flag]);
          expect(r.status, `${name} ${flag}`).to.equal(0);
          expect(r.stdout).to.match(/\nUsage: node examples\/[\w-]+\.js/).and.contain('--help');
        }
      }
    });

    it('--data with a dangling symlink or a symlink loop names the file and the cause in words; data.skipBad skips it', async () => {
      const dir = tmp();
      await io.writePng(join(dir, 'a.png'), { width: 4, height: 4, data: new Uint8Array(64).fill(200) });
      symlinkSync(join(dir, 'gone.png'), join(dir, 'b-dangling.png'));
      symlinkSync(join(dir, 'c-loop.png'), join(dir, 'c-loop.png'));
      const out = join(tmp(), 'run');
      const r = cli('train-faces.js', ['--data', dir, '--out', out]);
      expect(r.status).to.equal(1);
      expect(errorLine(r)).to.equal(`${join(dir, 'b-dangling.png')}: a symbolic link to ${join(dir, 'gone.png')}, which does not exist (set data.skipBad to skip such files)`);
      expect(existsSync(out)).to.equal(false);
      const warnings: string[] = [];
      const ds = await data.folderDataset(dir, { imageSize: 4, channels: 3, skipBad: true, warn: (m) => warnings.push(m) });
      expect(ds.size).to.equal(1);
      expect(warnings).to.deep.equal([
        `warning: skipping ${join(dir, 'b-dangling.png')}: a symbolic link to ${join(dir, 'gone.png')}, which does not exist`,
        `warning: skipping ${join(dir, 'c-loop.png')}: a symbolic link (to ${join(dir, 'c-loop.png')}) that leads back to itself, a loop`,
      ]);
    });
  });
});
