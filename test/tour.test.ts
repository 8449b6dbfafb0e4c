// The tour (docs/ and examples/tour/) stays true: every code excerpt in docs/ still appears,
// line for line, in the file it names; every script output quoted there is still what the
// script prints; every link and picture resolves; and each tour script prints the numbers its
// chapter explains (checked here against values worked out independently).

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';

const repoRoot = new URL('../../', import.meta.url).pathname;
const docs = join(repoRoot, 'docs');
const pages = readdirSync(docs).filter((f) => f.endsWith('.md')).sort();
/** The tour's chapters (numbered) and its index; the other pages of docs/ are reference pages. */
const chapters = pages.filter((f) => /^\d\d-/.test(f) || f === 'README.md');

/** The fenced blocks of a markdown text, with their info strings. */
function blocks(markdown: string): Array<{ info: string; text: string }> {
  const out: Array<{ info: string; text: string }> = [];
  const re = /^```([^\n]*)\n([\s\S]*?)^```$/gm;
  for (let m = re.exec(markdown); m; m = re.exec(markdown)) out.push({ info: m[1]!.trim(), text: m[2]!.replace(/\n$/, '') });
  return out;
}

const outputs = new Map<string, string>();
/** What a tour script prints (run once, then remembered). */
function run(script: string): string {
  if (!outputs.has(script)) outputs.set(script, execFileSync(process.execPath, [join(repoRoot, script)], { cwd: repoRoot, encoding: 'utf8', timeout: 300000 }));
  return outputs.get(script)!;
}

/** The numbers in a printed list such as "[0.314659,0.062461,-0.110856]". */
const numbers = (text: string, label: string): number[] => {
  const m = new RegExp(`${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*=?\\s*\\[([^\\]]*)\\]`).exec(text);
  if (!m) throw new Error(`no "${label}" list in:\n${text}`);
  return m[1]!.split(',').map(Number);
};
const number = (text: string, re: RegExp): number => {
  const m = re.exec(text);
  if (!m) throw new Error(`no match for ${re} in:\n${text}`);
  return Number(m[1]!.replace(/,/g, ''));
};

describe('the tour (docs/ and examples/tour/)', function () {
  this.timeout(600000);

  it('the README is a front door: at most 350 lines, linking the tour and every page of docs/', () => {
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    expect(readme.split('\n').length).to.be.at.most(350);
    for (const page of pages.filter((p) => !/^\d\d-/.test(p))) expect(readme, page).to.contain(`docs/${page}`);
  });

  it("the README's library loop (examples/library-loop.js) trains and samples as printed", () => {
    const out = execFileSync(process.execPath, [join(repoRoot, 'examples/library-loop.js')], { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, LOOP_STEPS: '20' }, timeout: 300000 });
    const losses = [...out.matchAll(/^step (\d+): loss ([\d.]+)$/gm)].map((m) => Number(m[2]));
    expect(losses).to.have.length(2);
    expect(losses[1]).to.be.below(losses[0]!); // it learns
    expect(out).to.match(/^samples 4,3,16,16, pixels from -?\d\.\d\d to -?\d\.\d\d$/m);
  });

  it('has the seven chapters and an index, each linking the next', () => {
    expect(chapters).to.deep.equal(['01-tensors.md', '02-autodiff.md', '03-convolution.md', '04-gpu-kernels.md', '05-unet.md', '06-ddpm.md', '07-beyond-one-machine.md', 'README.md']);
    expect(pages.filter((p) => !chapters.includes(p))).to.deep.equal(['architecture.md', 'backends.md', 'demo.md', 'fid.md', 'library.md', 'recipe.md', 'reliability.md', 'speed.md', 'tests.md']);
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    expect(readme).to.contain('docs/README.md');
  });

  for (const chapter of [...pages, '../README.md']) {
    describe(chapter === '../README.md' ? 'README.md (the front door)' : chapter, () => {
      const text = readFileSync(join(docs, chapter), 'utf8');

      it('quotes its source files exactly (each excerpt still appears in the file it names)', () => {
        const excerpts = blocks(text).filter((b) => /^(ts|js) \S+$/.test(b.info));
        if (chapters.includes(chapter) && chapter !== 'README.md') expect(excerpts.length, 'excerpts').to.be.above(0);
        for (const { info, text: code } of excerpts) {
          const file = join(repoRoot, info.split(' ')[1]!);
          expect(existsSync(file), `${chapter}: ${info} names a file that does not exist`).to.equal(true);
          expect(readFileSync(file, 'utf8').includes(code), `${chapter}: an excerpt is no longer in ${info.split(' ')[1]}:\n${code}`).to.equal(true);
        }
      });

      it('quotes its script\'s output as the script prints it now', () => {
        for (const { info, text: quoted } of blocks(text).filter((b) => b.info.startsWith('output '))) {
          const printed = run(info.slice('output '.length)).split('\n');
          for (const line of quoted.split('\n')) expect(printed, `${chapter}: "${line}" is not printed by ${info.slice(7)}`).to.include(line);
        }
      });

      it('links and pictures resolve', () => {
        const from = chapter === '../README.md' ? repoRoot : docs;
        for (const [, target] of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
          if (/^https?:/.test(target!)) continue;
          expect(existsSync(join(from, target!)), `${chapter} links ${target}`).to.equal(true);
        }
      });
    });
  }

  it('chapter 1: views share storage, strides as worked out by hand', () => {
    const out = run('examples/tour/01-tensors.js');
    expect(out).to.contain('transpose(x): shape [4,3] strides [1,4] offset 0');
    expect(out).to.contain('slice(x, [1,1], [3,3]): shape [2,2] strides [4,1] offset 5 values [5,6,9,10]');
    expect(out).to.contain('expand(row, [3,4]): shape [3,4] strides [0,1] offset 0');
    expect(out).to.contain('transpose(x)[1][2] is storage[9]');
    expect(out).to.contain("transpose(x) shares x's storage: true");
    expect(out).to.contain("reshape of the transpose shares x's storage: false");
    expect(numbers(out, 'x + row: shape [3,4] strides [4,1] offset 0 values')).to.deep.equal([100, 201, 302, 403, 104, 205, 306, 407, 108, 209, 310, 411]);
  });

  it('chapter 2: autodiff, the rule worked by hand and finite differences agree', () => {
    const out = run('examples/tour/02-autodiff.js');
    expect(out).to.contain('graph, inputs first: mul → add → sigmoid → sum');
    const sig = (u: number) => 1 / (1 + Math.exp(-u));
    const expected = [0.5, -1, 2].map((a, i) => {
      const s = sig(a * [1.5, 0.25, -0.5][i]! + [0.1, 0.2, 0.3][i]!);
      return s * (1 - s) * [1.5, 0.25, -0.5][i]!;
    });
    for (const label of ['autodiff dL/da', 'by hand   dL/da', 'numeric   dL/da']) {
      numbers(out, label).forEach((v, i) => expect(v, label).to.be.closeTo(expected[i]!, 1e-6));
    }
    expect(number(out, /largest \|autodiff − numeric\| = (\S+)/)).to.be.below(1e-5);
  });

  it('chapter 3: im2col and Winograd equal the definition; threads change nothing', () => {
    const out = run('examples/tour/03-convolution.js');
    const scale = number(out, /outputs up to ([\d.]+)/);
    expect(number(out, /im2col {3}vs definition: max \|error\| (\S+)/) / scale).to.be.below(1e-6);
    expect(number(out, /Winograd vs definition: max \|error\| (\S+)/) / scale).to.be.below(1e-6);
    expect(out).to.contain('multiply-adds per output: direct and im2col 72, Winograd 18');
    expect(out).to.contain('1 thread vs 2 threads: bit-identical (73728 outputs)');
  });

  it('chapter 4: a gpu.js kernel (its cpu mode) gives the cpu backend\'s product over K = 1,200, and tidy() frees intermediates', () => {
    const out = run('examples/tour/04-gpu-kernels.js');
    const scale = number(out, /values up to ([\d.]+)/);
    expect(number(out, /largest \|gpu − cpu\| = (\S+)/) / scale).to.be.below(1e-5);
    const before = number(out, /live textures: (\d+) before/), after = number(out, /before, (\d+) after/);
    expect(after - before).to.equal(2);
    expect(number(out, /on the gpu backend = ([\d.-]+)/)).to.be.closeTo(number(out, /by JavaScript = ([\d.-]+)/), 0.01);
  });

  it('chapter 5: UNet-S has the fixture\'s 1,113,955 parameters and the shapes of its architecture', () => {
    const out = run('examples/tour/05-unet.js');
    expect(number(out, /UNet-S: ([\d,]+) parameters/)).to.equal(1113955);
    expect(out).to.match(/down\.1\.downsample\s+Conv2d\s+\[1,64,16,16\] → \[1,64,8,8\]/);
    expect(out).to.match(/up\.2\.res\.0\s+ResBlock\s+\[1,128,8,8\] → \[1,64,8,8\]/);
    expect(out).to.match(/up\.0\.res\.0\s+ResBlock\s+\[1,96,32,32\] → \[1,32,32,32\]/);
    expect(out).to.contain('output: [1,3,32,32]');
    expect(out).to.contain('up.0 block inputs (channels after concatenating a skip): 96, 64');
  });

  it('chapter 6: each equation of the tutorial against the code', () => {
    const out = run('examples/tour/06-ddpm.js');
    expect(out).to.contain('β_0 = 0.0001, β_T−1 = 0.02, α_T−1 = 1 − β_T−1 = 0.9800');
    const [m2, v2] = [number(out, /iterated \d+ times: mean ([\d.]+)/), number(out, /iterated \d+ times: mean [\d.]+, variance ([\d.]+)/)];
    const [m3, v3] = [number(out, /closed form: +mean ([\d.]+)/), number(out, /closed form: +mean [\d.]+, variance ([\d.]+)/)];
    expect(m2).to.be.closeTo(m3, 0.02);
    expect(v2).to.be.closeTo(v3, 0.02);
    expect(out).to.contain('training t: from 0 to 999; DDPM sampling visits t = 999 … 0 (1000 steps)');
    expect(number(out, /t = 500: by hand ([\d.-]+)/)).to.be.closeTo(number(out, /t = 500: by hand [\d.-]+, ddpmStep ([\d.-]+)/), 1e-6);
    expect(number(out, /no noise added\): by hand ([\d.-]+)/)).to.be.closeTo(number(out, /no noise added\): by hand [\d.-]+, ddpmStep ([\d.-]+)/), 1e-6);
    expect(out).to.contain('DDIM, 10 steps: t = 999, 899, 799, 699, 599, 499, 399, 299, 199, 99');
  });

  it('chapter 7: a checkpoint holds four groups of the UNet\'s tensors, named and shaped as PyTorch\'s state dict', () => {
    const out = run('examples/tour/07-beyond.js');
    expect(out).to.contain('checkpoint: 512 tensors: model.* 128, ema.* 128, adam.m.* 128, adam.v.* 128');
    expect(out).to.contain("UNet-S: PyTorch's state dict has 166 tensors, ours 166; missing 0, extra 0, different shape 0");
  });

  it('every tour script is named in a chapter', () => {
    const all = chapters.map((c) => readFileSync(join(docs, c), 'utf8')).join('\n');
    const scripts = readdirSync(join(repoRoot, 'examples', 'tour')).filter((f) => /\.(js|py)$/.test(f));
    expect(scripts.length).to.equal(9);
    for (const script of scripts) expect(all, script).to.contain(`examples/tour/${script}`);
  });

  it('chapter 7, the other way: a ddpm-ts weights file loads into a PyTorch UNet (strict) and gives the same output', function () {
    let torch = '';
    try {
      torch = execFileSync('/usr/bin/python3', ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' }).trim();
    } catch {
      if (process.env.CI) throw new Error("CI needs Debian's python3-torch (.ci/run installs it)");
      return this.skip();
    }
    const file = join(mkdtempSync(join(tmpdir(), 'ddpm-ts-torch-')), 'for-torch.safetensors');
    execFileSync(process.execPath, [join(repoRoot, 'examples/tour/07-export-for-pytorch.js'), file], { cwd: repoRoot });
    const out = execFileSync('/usr/bin/python3', [join(repoRoot, 'examples/tour/07_pytorch_check.py'), file], { encoding: 'utf8', timeout: 300000 });
    expect(out).to.contain('loaded 128 tensors with strict=True');
    expect(out).to.contain(`PyTorch ${torch} vs ddpm-ts`);
    expect(number(out, /max relative error (\S+)/)).to.be.at.most(1e-5);
  });
});
