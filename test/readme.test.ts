// The README's commands work as written: every shell line of its Quick start, Other data,
// Backends and Beyond one machine sections runs here, in that order, in a fresh folder (with
// examples/ linked in), with DDPM_TINY=1 so what trains is tiny (examples/cli.js). Lines that
// install the machine (npm ci, sudo apt-get) or run the suite itself (npm test) are what CI runs.

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { io } from 'ddpm-ts';

const repoRoot = new URL('../../', import.meta.url).pathname;
const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');

/** The shell lines of a README section (## heading), comments stripped. */
function commands(section: string): string[] {
  const start = readme.indexOf(`\n## ${section}\n`);
  expect(start, `the README has a section "${section}"`).to.be.above(0);
  const end = readme.indexOf('\n## ', start + 4);
  const text = readme.slice(start, end < 0 ? undefined : end);
  const lines: string[] = [];
  for (const [, block] of text.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const line of block!.split('\n')) {
      const command = line.replace(/\s{2,}#.*$/, '').trim();
      if (command) lines.push(command);
    }
  }
  return lines;
}

/** What CI runs itself, before the tests: not run again here. */
const byCi = (command: string) => /^(npm ci|npm test|npm run demo|sudo apt-get )/.test(command);

describe("the README's commands, as written", function () {
  this.timeout(900000);
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ddpm-ts-readme-'));
    symlinkSync(join(repoRoot, 'examples'), join(dir, 'examples'));
    // "your photos": a folder of three small PNGs where the README's line says path/to/photos.
    mkdirSync(join(dir, 'path', 'to', 'photos'), { recursive: true });
    for (let i = 0; i < 3; i++) {
      const data = new Uint8Array(16 * 16 * 4).map((_, k) => (k % 4 === 3 ? 255 : (k * (i + 3)) % 256));
      writeFileSync(join(dir, 'path', 'to', 'photos', `p${i}.png`), await io.encodePng({ width: 16, height: 16, data }));
    }
  });

  const run = (command: string) => {
    const r = spawnSync('sh', ['-c', command], {
      cwd: dir, encoding: 'utf8', timeout: 600000,
      env: { ...process.env, DDPM_TINY: '1', XDG_CACHE_HOME: join(dir, 'cache'), OMP_NUM_THREADS: '1' },
    });
    expect(r.status, `${command}\n${r.stdout}\n${r.stderr}`).to.equal(0);
    expect(r.stderr, command).not.to.match(/^\s+at |Traceback/m);
    return r.stdout;
  };

  it('Quick start: train, sample and evaluate (npm ci and npm test are what CI runs)', () => {
    const lines = commands('Quick start');
    expect(lines.filter(byCi)).to.deep.equal(['npm ci', 'npm test']);
    const [train, sample, evaluate] = lines.filter((l) => !byCi(l));
    expect(train).to.equal('node examples/train-faces.js');
    expect(run(train!)).to.contain('outputs in runs/faces');
    expect(existsSync(join(dir, 'runs', 'faces', 'checkpoint.safetensors'))).to.equal(true);
    run(sample!);
    expect(existsSync(join(dir, 'grid.png'))).to.equal(true);
    expect(run(evaluate!)).to.match(/^FID \d+\.\d+ \(16 samples against 16 held-out generated faces\)/m);
  });

  it("Using the library: drawing from the Quick start's checkpoint, as the README shows it", () => {
    const start = readme.indexOf('\n## Using the library\n');
    const block = [...readme.slice(start).matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]!).find((b) => b.includes('samplingSetup'));
    expect(block, 'the section draws from a checkpoint').to.be.a('string');
    mkdirSync(join(dir, 'node_modules'), { recursive: true });
    if (!existsSync(join(dir, 'node_modules', 'ddpm-ts'))) symlinkSync(repoRoot, join(dir, 'node_modules', 'ddpm-ts'));
    writeFileSync(join(dir, 'draw.mjs'), `import { diffusion, Rng } from 'ddpm-ts';\n${block}\nconsole.log(images.shape.join(' '), options.prediction, options.steps);\n`);
    expect(run('node draw.mjs').trim()).to.equal('16 3 8 8 eps 20');
  });

  it('Other data: MNIST into runs/mnist, photos into runs/photos', () => {
    const lines = commands('Other data');
    expect(lines).to.have.length(2);
    expect(run(lines[0]!)).to.contain('outputs in runs/mnist');
    expect(run(lines[1]!)).to.contain('outputs in runs/photos');
    expect(existsSync(join(dir, 'runs', 'mnist', 'checkpoint.safetensors')) && existsSync(join(dir, 'runs', 'photos', 'checkpoint.safetensors'))).to.equal(true);
  });

  it('Backends: WebGPU on SwiftShader and WebGL under xvfb-run, each saying its device (the apt-get line is what CI runs)', () => {
    const lines = commands('Backends').filter((l) => !byCi(l));
    expect(lines).to.have.length(2);
    expect(run(lines[0]!)).to.match(/backend 'webgpu': gpu\.js mode 'webgpu' on .*swiftshader.* \(a software renderer, slower than the cpu backend\)/i);
    // headless-gl names no renderer ("ANGLE"), so llvmpipe under xvfb-run is not recognised as software.
    expect(run(lines[1]!)).to.match(/^backend 'webgl': gpu\.js mode 'headlessgl' on WebGL 1\.0 stack-gl/m);
  });

  it('Beyond one machine: export, torchrun on gloo with 2 processes, resume there, and back in ddpm-ts', function () {
    if (spawnSync('torchrun', ['--help'], { encoding: 'utf8' }).status !== 0) {
      if (process.env.CI) throw new Error('torchrun is missing (Debian: apt-get install python3-torch)');
      return this.skip();
    }
    const lines = commands('Beyond one machine');
    expect(lines).to.have.length(4);
    for (const line of lines) run(line);
    const log = readFileSync(join(dir, 'runs', 'ddp', 'log.jsonl'), 'utf8').trim().split('\n');
    expect(log.map((l) => JSON.parse(l).step)).to.deep.equal([1, 2]);
    expect(execFileSync('ls', [join(dir, 'runs', 'ddp')], { encoding: 'utf8' })).to.contain('checkpoint.safetensors');
  });
});
