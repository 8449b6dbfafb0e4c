// The gpu backends (gpu.js kernels from kernels/) against PyTorch and finite differences.
//
// It runs in the modes listed in DDPM_GPU_MODES (comma-separated; default 'cpu', gpu.js's
// JavaScript interpreter of the very same kernels, which needs no GPU). test/run-gpu.mjs runs
// this file again with DDPM_GPU_MODES=headlessgl under a virtual display (real GL shaders,
// llvmpipe on a machine without a GPU) and with DDPM_GPU_MODES=webgpu (WGSL compute shaders on
// Dawn, SwiftShader's Vulkan here), which CI requires. Every value is read with `await data()`,
// so the same test runs on both kinds of backend.

import { expect } from 'chai';
import { ADAM_BUCKET_INPUTS, BUCKET_INPUTS, BUCKET_MEMBERS, CpuBackend, F, GpuBackend, Rng, UNet, closeBackends, data, diffusion, dispose, getBackend, nn, noGrad, optim, randn, resolveConfig, setBackend, tensor, tidy, useBackend, type Backend, type GpuBackendOptions, type GpuMode, type Tensor } from 'ddpm-ts';
import { checkBlockCase, checkOpCase, expectClose, expectTensorClose, expectUNetGradients, fixtureOpCases, gradCheck, randomInput, runUNetFixture } from './helpers.js';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const modes = (process.env.DDPM_GPU_MODES ?? 'cpu').split(',') as GpuMode[];

/** Collects garbage and lets the FinalizationRegistry callbacks run. */
async function collect(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run mocha with --expose-gc (see .mocharc.json)');
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * Counts calls of `context[method]` (e.g. a WebGL context's createTexture) by wrapping it; `counting`
 * is false where the context has no such method (WebGPU, gpu.js's cpu mode).
 */
function countCalls(context: unknown, method: string): { count: number; counting: boolean; restore(): void } {
  const counter = { count: 0, counting: false, restore: () => {} };
  const target = context as Record<string, unknown> | null;
  const original = target?.[method];
  if (typeof original !== 'function') return counter;
  counter.counting = true;
  target![method] = (...args: unknown[]) => {
    counter.count++;
    return (original as (...a: unknown[]) => unknown).apply(target, args);
  };
  counter.restore = () => void (target![method] = original);
  return counter;
}

/**
 * The optimizers' bucket rule (src/optim/buckets.ts), restated: tensors in order, at most
 * BUCKET_MEMBERS a group, read from at most `inputs` storages (`key` names each one's).
 */
function groupsOf<T>(items: readonly T[], inputs: number, key: (t: T) => unknown): T[][] {
  const groups: T[][] = [];
  let keys = new Set<unknown>();
  for (const item of items) {
    const last = groups.at(-1);
    if (!last || last.length === BUCKET_MEMBERS || (!keys.has(key(item)) && keys.size === inputs)) {
      groups.push([item]);
      keys = new Set([key(item)]);
    } else {
      last.push(item);
      keys.add(key(item));
    }
  }
  return groups;
}

/** Launches a bucket of these tensors takes: one for each `inputs` distinct storages. */
const launchesOf = (group: readonly Tensor[], inputs: number) => Math.ceil(new Set(group.map((t) => t.storage)).size / inputs);

/**
 * A parameter's gradient home as the layers declare it: a Conv2d's or a GroupNorm's bias has its
 * gradient in one storage with its weight's, and so has a ResBlock's time projection's bias with
 * conv1's weight; every other parameter has its own.
 */
function gradientHomes(net: UNet): (p: Tensor) => Tensor {
  const home = new Map<Tensor, Tensor>();
  const visit = (m: nn.Module) => {
    if ((m instanceof nn.Conv2d || m instanceof nn.GroupNorm) && m.bias) home.set(m.bias, m.weight);
    if (m instanceof nn.ResBlock) home.set(m.tembProj.bias!, m.conv1.weight); // conv1 adds the projection: the same bias gradient
    for (const child of m.namedModules().values()) visit(child);
  };
  visit(net);
  return (p) => home.get(p) ?? p;
}

for (const mode of modes) {
  describe(`gpu backend, gpu.js mode '${mode}'`, function () {
    this.timeout(600000);
    let gpu: GpuBackend;
    let before0: Backend;

    before(async () => {
      before0 = getBackend();
      gpu = await GpuBackend.create({ mode });
      setBackend(gpu);
    });
    after(async () => {
      setBackend(before0);
      await gpu.dispose(); // on WebGPU the last one closed destroys the device, so the process can exit
    });

    /** fn's result on the cpu backend (the reference), waited for; the backend current before is current again after. */
    const onCpu = async <T>(fn: () => T | Promise<T>): Promise<T> => {
      const before = getBackend();
      setBackend('cpu');
      try {
        return await fn();
      } finally {
        setBackend(before);
      }
    };
    /** The message a read of a freed tensor rejects with. */
    const readError = (t: { data(): Promise<unknown> }) => t.data().then(() => '', (e: Error) => e.message);
    /** fn run on a second gpu backend of this mode made with `options`, current while fn runs, then disposed. */
    const withOwnBackend = async <T>(options: Omit<GpuBackendOptions, 'mode'>, fn: (own: GpuBackend) => T | Promise<T>): Promise<T> => {
      const own = await GpuBackend.create({ mode, ...options });
      setBackend(own);
      try {
        return await fn(own);
      } finally {
        setBackend(gpu);
        await own.dispose();
      }
    };
    /** fn run on a gpu backend whose textures hold at most `side`² values, so bigger tensors are split into pages. */
    const withSmallTextures = <T>(side: number, fn: (small: GpuBackend) => T | Promise<T>): Promise<T> => withOwnBackend({ maxTextureSize: side }, fn);

    if (mode === 'webgpu') it('3×3 convolutions (stride 1, padding 1) write four values a thread where a row holds a multiple of four, and weight gradients where a filter does (gpu.js\'s four-value results read back as flat buffers): by name, with finite-difference gradients', async () => {
      const names = new Set<string>();
      await withOwnBackend({ instrument: (kernel, name) => (...args) => (names.add(name), kernel(...args)) }, async () => {
        // 3×3, stride 1, padding 1, rows of 8 and of 4: four a thread, with a residual, a bias and a projection added.
        await gradCheck((x, w, b, add) => F.conv2d(x, w, b, { padding: 1, add }), [randomInput([2, 2, 3, 8], 40), randomInput([3, 2, 3, 3], 41), randomInput([3], 42), randomInput([2, 3, 3, 8], 43)]);
        await gradCheck((x, w, u, pw) => F.conv2d(x, w, null, { padding: 1, project: { x: u, weight: pw } }), [randomInput([2, 3, 4, 8], 44), randomInput([4, 3, 3, 3], 45), randomInput([2, 5], 46), randomInput([4, 5], 47)]);
        // Filters of 4·3·3 taps, 4 of them, with a bias: the weight gradient four a thread too (any stride).
        await gradCheck((x, w, b) => F.conv2d(x, w, b, { stride: 2, padding: 1 }), [randomInput([2, 4, 5, 6], 48), randomInput([4, 4, 3, 3], 49), randomInput([4], 50)]);
      });
      expect([...names]).to.include.members(['conv2dFour', 'conv2dBackwardInputFour', 'conv2dBackwardWeightFour']);
    });

    it('runs in the mode asked for, and says where', () => {
      expect(gpu.name).to.equal(mode === 'webgpu' ? 'webgpu' : 'webgl');
      expect(gpu.mode).to.equal(mode);
      expect(gpu.renderer).to.match(mode === 'cpu' ? /^gpu\.js cpu/ : mode === 'webgpu' ? /^WebGPU, / : /WebGL/);
    });

    describe('every op of the PyTorch fixture (output and input gradients, ≤ 1e-4)', () => {
      for (const { c, label } of fixtureOpCases()) it(label, () => checkOpCase(c, 1e-4));
      // The blocks run the epilogues (time embedding, residuals) and the attention op.
      it('attentionBlock (and its parameters\' gradients)', () => checkBlockCase('attentionBlock', 1e-4));
      it('resBlock (and its parameters\' gradients)', () => checkBlockCase('resBlock', 1e-4));
    });

    it('the UNet-S fixture: output, input gradient and all parameter gradients (≤ 1e-3)', async () => {
      const { net, x, out, ref } = await runUNetFixture();
      expect(out.backend).to.equal(gpu);
      await expectTensorClose(out, ref.tensors.get('out')!, 1e-3, 'UNet output');
      await expectUNetGradients(net, x, ref);
    });

    describe('finite-difference gradients of each kernel family', () => {
      it('elementwise over strided and broadcast views', async () => {
        await gradCheck((a, b) => F.mul(F.sigmoid(F.transpose(a)), F.exp(b)), [randomInput([3, 4], 1), randomInput([1, 3], 2)]);
        await gradCheck((a, b) => F.div(F.sub(a, b), F.add(F.sqrt(F.mul(b, b)), 1)), [randomInput([2, 3, 2], 3), randomInput([3, 1], 4)]);
        await gradCheck((a) => F.log(F.add(F.mul(a, a), 1)), [randomInput([5], 5)]);
      });
      it('reductions over any axes', async () => {
        await gradCheck((a) => F.sum(a, [0, 2]), [randomInput([2, 3, 4], 6)]);
        await gradCheck((a) => F.mean(F.permute(a, [2, 0, 1]), [1]), [randomInput([2, 3, 4], 7)]);
        // Reduced axes read in place as one run, two runs (a conv bias gradient), or laid out first (three runs).
        await gradCheck((a) => F.sum(a, [0, 2, 4]), [randomInput([2, 3, 2, 2, 3], 10)]);
        const x = randomInput([3, 4, 5, 6], 11), xv = await x.data();
        for (const axes of [[3], [2, 3], [0, 2, 3], [0, 1, 3], [0, 2], [1, 2, 3]]) {
          for (const op of [F.sum, F.max]) {
            const expected = await onCpu(() => op(tensor(xv, x.shape), axes).data());
            await expectTensorClose(op(x, axes), expected, 1e-6, `${op.name} over axes [${axes}]`);
          }
        }
      });
      it('SiLU and its gradient (one op each way) on strided views, and a copy of a transposed view', async () => {
        await gradCheck((a) => F.silu(F.transpose(a)), [randomInput([3, 5], 12, 3)]);
        const x = randomInput([4, 6], 13, 3), xv = await x.data();
        const expected = await onCpu(() => F.silu(F.transpose(tensor(xv, x.shape))).data());
        await expectTensorClose(F.silu(F.transpose(x)), expected, 1e-6, 'silu');
        await expectTensorClose(F.clone(F.transpose(x)), await onCpu(() => F.transpose(tensor(xv, x.shape)).data()), 0, 'clone');
      });
      it('softmax (one op each way) over the last and a middle axis, and concat (one join) along a middle axis', async () => {
        await gradCheck((a) => F.softmax(a, -1), [randomInput([2, 3, 5], 14, 2)]);
        await gradCheck((a) => F.softmax(a, 1), [randomInput([2, 4, 3], 15, 2)]);
        await gradCheck((a, b) => F.mul(F.concat([a, b], 1), F.concat([b, a], 1)), [randomInput([2, 3, 4], 16), randomInput([2, 3, 4], 17)]);
      });
      it('batched matrix products of transposed views', async () => {
        await gradCheck((a, b) => F.matmul(F.transpose(a), b), [randomInput([2, 4, 3], 8), randomInput([2, 4, 5], 9)]);
      });
      it('convolutions: stride 2, padding 1, odd sizes; stride 1 with a bias', async () => {
        await gradCheck((x, w) => F.conv2d(x, w, null, { stride: 2, padding: 1 }), [randomInput([2, 3, 5, 5], 10), randomInput([2, 3, 3, 3], 11)]);
        await gradCheck((x, w, b) => F.conv2d(x, w, b, { stride: 1, padding: 0 }), [randomInput([1, 2, 4, 3], 12), randomInput([3, 2, 2, 2], 13), randomInput([3], 14)]);
      });
      it('epilogues: a matmul scaled and biased, a convolution plus a residual, plus a per-image channel bias, plus a Linear\'s projection', async () => {
        await gradCheck((a, b, bias) => F.bmm(a, F.transpose(b), { alpha: 0.37, bias }), [randomInput([2, 3, 4], 20), randomInput([2, 5, 4], 21), randomInput([5], 22)]);
        await gradCheck((x, w, b, add) => F.conv2d(x, w, b, { padding: 1, add }), [randomInput([2, 3, 5, 4], 23), randomInput([4, 3, 3, 3], 24), randomInput([4], 25), randomInput([2, 4, 5, 4], 26)]);
        await gradCheck((x, w, add) => F.conv2d(x, w, null, { stride: 2, padding: 1, add }), [randomInput([2, 2, 5, 5], 27), randomInput([3, 2, 3, 3], 28), randomInput([2, 3, 1, 1], 29)]);
        await gradCheck((x, w, b, u, pw, pb) => F.conv2d(x, w, b, { padding: 1, project: { x: u, weight: pw, bias: pb } }), [randomInput([2, 3, 5, 4], 31), randomInput([4, 3, 3, 3], 32), randomInput([4], 33), randomInput([2, 6], 34), randomInput([4, 6], 35), randomInput([4], 36)]);
      });
      it('SiLU after a Linear, applied as the product is written where no gradient is recorded: the cpu backend\'s values', async () => {
        const x = randomInput([3, 5], 37), w = randomInput([4, 5], 38), b = randomInput([4], 39);
        const [xv, wv, bv] = await Promise.all([x.data(), w.data(), b.data()]);
        const want = await onCpu(() => F.silu(F.linear(tensor(xv, x.shape), tensor(wv, w.shape), tensor(bv, b.shape))).toFloat32Array());
        await expectTensorClose(noGrad(() => F.linear(x, w, b, { silu: true })), want, 1e-5, 'linear + SiLU');
      });
      it('attention from a qkv projection (its products, softmax and their backward)', async () => {
        await gradCheck((qkv) => F.attention(qkv, 0.6), [randomInput([2, 3, 4, 5], 30, 1.5)]);
      });
      it('GroupNorm + SiLU', async () => {
        await gradCheck((x, g, b) => F.groupNormSilu(x, 2, g, b, 1e-5), [randomInput([2, 4, 3, 3], 15), randomInput([4], 16, 0.5, 1), randomInput([4], 17)], { tol: 2e-3 });
      });
      it('copies into strided regions (slice and concat)', async () => {
        await gradCheck((a, b) => F.slice(F.concat([a, b], 1), [0, 1, 1], [2, 4, 3]), [randomInput([2, 2, 3], 18), randomInput([2, 3, 3], 19)]);
      });
    });

    describe('loop bounds past gpu.js\'s default 1,000 iterations', () => {
      it('matmul with K = 1,200', async () => {
        const a = randomInput([2, 3, 1200], 20), b = randomInput([1200, 4], 21);
        const [av, bv] = [await a.data(), await b.data()];
        const want = await onCpu(() => F.matmul(tensor(av, a.shape), tensor(bv, b.shape)).toFloat32Array());
        await expectTensorClose(F.matmul(a, b), want, 1e-5, 'matmul K=1200');
      });
      it('conv2d over Cin·kh·kw = 1,170 terms, and its gradients', async () => {
        const x = randomInput([1, 130, 5, 5], 22), w = randomInput([2, 130, 3, 3], 23);
        x.requiresGrad = w.requiresGrad = true;
        const y = F.conv2d(x, w, null, { stride: 1, padding: 1 });
        F.sum(F.mul(y, y)).backward();
        const [xv, wv] = [await x.data(), await w.data()];
        const ref = await onCpu(() => {
          const xc = tensor(xv, x.shape, { requiresGrad: true }), wc = tensor(wv, w.shape, { requiresGrad: true });
          const yc = F.conv2d(xc, wc, null, { stride: 1, padding: 1 });
          F.sum(F.mul(yc, yc)).backward();
          return [yc.toFloat32Array(), xc.grad!.toFloat32Array(), wc.grad!.toFloat32Array()];
        });
        await expectTensorClose(y, ref[0]!, 1e-5, 'conv output');
        await expectTensorClose(x.grad!, ref[1]!, 1e-5, 'conv input gradient');
        await expectTensorClose(w.grad!, ref[2]!, 1e-5, 'conv weight gradient');
      });
    });

    describe('tensors bigger than a texture: kept in pages, ops run slice by slice', () => {
      describe('every op of the PyTorch fixture, its biggest tensor split in two or more pages (≤ 1e-4)', () => {
        const size = (shape: number[]) => shape.reduce((m, n) => m * n, 1);
        for (const { c, label } of fixtureOpCases()) {
          const biggest = Math.max(c.output.data.length, ...Object.values(c.inputs).map((a) => size(a.shape)));
          // Weights are read whole (only the batch is sliced), so they must fit one texture.
          const weight = c.inputs.weight && c.name !== 'groupNorm' ? size(c.inputs.weight.shape) : 0;
          const side = Math.ceil(Math.sqrt(Math.max(Math.ceil(biggest / 2), weight)));
          // linear's biggest tensor is its weight: no page can be smaller than it and still split the rest (the row-sliced matmul has its own test below).
          if (biggest <= side * side) continue;
          it(`${label}: textures of ${side}×${side}`, () => withSmallTextures(side, () => checkOpCase(c, 1e-4)));
        }
      });

      // The two paged models run on real GL only: paging is the same code on every kind of
      // backend (every fixture op above runs paged everywhere), and SwiftShader's WebGPU and
      // gpu.js's JavaScript interpreter would take minutes over them.
      const pagedModels = mode === 'headlessgl';
      if (pagedModels) it('the UNet-S fixture with textures of 314×314 values: its full-resolution tensors are paged (≤ 1e-3)', async () => {
        await withSmallTextures(314, async (small) => {
          const { net, x, out, ref } = await runUNetFixture();
          expect(out.backend).to.equal(small);
          // [2, 96, 32, 32] and [2, 64, 32, 32] activations (196,608 and 131,072 values) do not fit 98,596.
          expect(small.memory().paged).to.be.at.least(10);
          await expectTensorClose(out, ref.tensors.get('out')!, 1e-3, 'UNet output');
          await expectUNetGradients(net, x, ref);
        });
      });

      it('pages in 8×8 textures: uploads, slices across page boundaries, concat, sums, row-sliced matmul, transposes, equal to the cpu backend', async () => {
        const values = Float32Array.from({ length: 40 * 12 }, (_, i) => ((i * 37) % 101) - 50);
        const left = Float32Array.from({ length: 40 * 7 }, (_, i) => (i % 13) * 0.5);
        const weights = Float32Array.from({ length: 12 * 5 }, (_, i) => ((i * 7) % 11) / 4 - 1);
        const run = () => {
          const x = tensor(values, [40, 12]), l = tensor(left, [40, 7]);
          return [
            x, // 480 values: 8 pages of 64
            F.slice(x, [3, 2], [37, 11]), // a view starting mid-page, each row read through a window
            F.concat([l, x], 1), // rows of 19 values, written across page boundaries
            F.add(F.mul(x, 2), F.exp(F.mul(x, 0.01))),
            F.sum(x), // summed slice by slice, then the partial sums added
            F.sum(x, 1), F.max(x, 0),
            F.matmul(x, tensor(weights, [12, 5])), // one batch: sliced along the rows
            F.transpose(x, 0, 1), // each of its 12 rows spans 469 values: read 6 values at a time
            F.sub(F.transpose(x, 0, 1), 1),
          ];
        };
        const want = await onCpu(() => run().map((t) => t.toFloat32Array()));
        await withSmallTextures(8, async (small) => {
          expect(small.pageSize).to.equal(64);
          const before = small.memory();
          // The values are read outside the scope that made them (what it returns is kept), then freed.
          const results = tidy(run);
          const got = await Promise.all(results.map((t) => t.data()));
          results.forEach((t) => dispose(t));
          want.forEach((w, k) => expectClose(got[k]!, w, 1e-6, `result ${k}`));
          expect(small.memory()).to.deep.equal(before); // every page freed
          const kept = tensor(values, [40, 12]); // made outside any scope: 8 pages stay
          expect(small.memory()).to.deep.equal({ textures: before.textures + 8, bytes: before.bytes + 4 * 480, paged: before.paged + 1 });
          expect(await kept.data()).to.deep.equal(values);
          // A convolution is sliced by image only: one image bigger than a texture is refused, by name.
          const image = tensor(values.subarray(0, 2 * 6 * 6), [1, 2, 6, 6]);
          expect(() => F.conv2d(image, tensor(Float32Array.of(1, 2), [1, 2, 1, 1]), null, { stride: 1, padding: 0 })).to.throw(/conv2d cannot be cut into pieces that fit a texture of 64 values/);
        });
      });

      if (pagedModels) it('trains with paged activations: the same losses as with whole textures, and memory flat from step to step', async () => {
        const config = (dir: string) => resolveConfig({
          seed: 3, data: { imageSize: 8 }, diffusion: { timesteps: 50 },
          model: { baseChannels: 8, channelMults: [1, 2], numResBlocks: 1, attnResolutions: [4], groups: 2, timeEmbDim: 16 },
          train: { batchSize: 8, steps: 4, outDir: join(mkdtempSync(join(tmpdir(), 'ddpm-ts-pages-')), dir), sampleEvery: 0, checkpointEvery: 0 },
        });
        const steps = async (backend: GpuBackend) => {
          const trainer = await diffusion.Trainer.create(config('run'), { dataset: data.facesDataset(8, 3), backend });
          const losses: number[] = [], after: Array<ReturnType<GpuBackend['memory']>> = [];
          for (let i = 0; i < 4; i++) {
            losses.push(await trainer.trainStep());
            after.push(backend.memory());
          }
          return { trainer, losses, after };
        };
        const whole = await steps(gpu);
        // 69×69 = 4,761 values: the biggest weight ([16, 32, 3, 3], 4,608) fits; an [8, 32, 8, 8] activation (16,384) takes 4 pages.
        await withSmallTextures(69, async (small) => {
          const { trainer, losses, after } = await steps(small);
          expect(after.slice(1)).to.deep.equal([after[0], after[0], after[0]]);
          // Between steps only weights and optimizer state live, one texture each, but for Adam's
          // state (3 values a weight: m, v and the weight) of a weight too big for one texture: a
          // bucket of its own, paged (its weight stays in a texture of its own).
          const lone = trainer.model.parameters().filter((p) => 3 * p.size > 69 * 69).length;
          expect(lone).to.be.above(0);
          expect(after[0]!.paged).to.equal(lone);
          losses.forEach((loss, k) => expect(Math.abs(loss - whole.losses[k]!), `step ${k + 1}: ${loss} vs ${whole.losses[k]}`).to.be.at.most(1e-5 * whole.losses[k]!));
          // And a step does page: the model's activations on a batch of 8.
          tidy(() => {
            trainer.model.forward(randn([8, 3, 8, 8], new Rng(4)), [1, 5, 9, 13, 17, 21, 25, 29]);
            expect(small.memory().paged).to.be.at.least(4);
          });
        });
      });

      it(`a tensor over 2²⁴ values (float32 shader indices are exact only up to there), at the context's own texture limit`, async () => {
        // 3 × 6,000,000 = 18,000,000 values: two slices of [2, 6e6] and [1, 6e6]; each value tells where it came from.
        const n = 6_000_000;
        expect(gpu.pageSize).to.be.at.most(2 ** 24);
        const values = Float32Array.from({ length: 3 * n }, (_, i) => i % 4099);
        const result = tidy(() => F.add(F.mul(tensor(values, [3, n]), 2), 1));
        const got = await result.data();
        dispose(result);
        let wrong = 0;
        for (let i = 0; i < got.length; i++) if (got[i] !== 2 * (i % 4099) + 1) wrong++;
        expect(wrong, 'values off').to.equal(0);
      });
    });

    describe('scopes keep what outlives them: the same script gives the same numbers here and on the cpu backend', () => {
      /** A script that uses gradients, optimizer state and tidy() results outside the scopes that made them. */
      const script = async () => {
        const rng = new Rng(3);
        const w = randn([4, 3, 3, 3], rng, { requiresGrad: true }), b = randn([4], rng, { requiresGrad: true });
        const x = randn([2, 3, 6, 6], rng);
        const lossOf = () => F.sum(F.square(F.conv2d(x, w, b, { padding: 1 })));
        // The gradient made inside a scope is read after it.
        tidy(() => lossOf().backward());
        const once = Array.from(await w.grad!.data());
        // A second scope accumulates into the same gradient (as in PyTorch): twice the first.
        const gradBefore = w.grad;
        tidy(() => lossOf().backward());
        const twice = Array.from(await w.grad!.data());
        const sameTensor = w.grad === gradBefore;
        // Clipping and an optimizer step outside any scope.
        const norm = (await optim.clipGradNorm([w, b], 0.5).data())[0]!;
        const opt = new optim.Adam([w, b], { lr: 0.1 });
        opt.step();
        const stepped = Array.from(await w.data());
        // tidy() returning a Map, an array and an object of tensors.
        const returned = tidy(() => {
          const y = F.conv2d(x, w, b, { padding: 1 });
          return { map: new Map([['y', y]]), list: [F.sum(y), F.mul(y, 2)], set: new Set([F.neg(y)]) };
        });
        const sums = await Promise.all([F.sum(returned.map.get('y')!), returned.list[0]!, F.sum(returned.list[1]!), F.sum([...returned.set][0]!)].map(async (t) => (await t.data())[0]!));
        opt.zeroGrad();
        return { once, twice, sameTensor, norm, stepped, sums, gradAfterZero: w.grad };
      };

      it('gradients, clipping, Adam and tidy() results used outside their scopes', async () => {
        const here = await script(), there = await onCpu(script);
        expect(here.sameTensor, 'accumulation keeps the same gradient tensor').to.equal(true);
        expectClose(here.once, there.once, 1e-4, 'gradient read after its scope');
        expectClose(here.twice, here.once.map((v) => 2 * v), 1e-5, 'two scopes accumulate');
        expectClose(here.twice, there.twice, 1e-4, 'accumulated gradient');
        expect(Math.abs(here.norm - there.norm) / there.norm).to.be.below(1e-4);
        expectClose(here.stepped, there.stepped, 1e-4, 'weights after clip + Adam outside the scope');
        expectClose(here.sums, there.sums, 1e-4, 'Map, array and Set returned by tidy()');
        expect(here.gradAfterZero).to.equal(null);
      });

      it('a tensor used after dispose() or a gradient after zeroGrad() says which freed it; one freed by tidy() says tidy()', async () => {
        const t = randn([3, 3], new Rng(1));
        dispose(t);
        expect(await readError(t)).to.equal('gpu backend: this tensor was freed by dispose(); it cannot be used afterwards');
        const w = randn([2, 2], new Rng(2), { requiresGrad: true });
        F.sum(F.square(w)).backward();
        const g = w.grad!;
        const opt = new optim.Adam([w]);
        opt.zeroGrad();
        expect(await readError(g)).to.match(/freed by zeroGrad\(\)/);
        const inner = tidy(() => {
          const kept = F.mul(w, 2);
          const dropped = F.mul(w, 3);
          return { kept, dropped: () => dropped };
        });
        expect(await inner.kept.data()).to.have.length(4);
        expect(await readError(inner.dropped())).to.match(/freed at the end of the tidy\(\) scope that created it/);
      });

      it('tidy keeps the tensors of a returned class instance and of an object that refers to itself, and refuses an async function (as on cpu)', async () => {
        const w = randn([2, 2], new Rng(3));
        class Holder {
          constructor(readonly weight: Tensor, readonly extra: { inner: Tensor[] }) {}
        }
        const held = tidy(() => new Holder(F.mul(w, 2), { inner: [F.mul(w, 3)] }));
        expect(Array.from(await held.weight.data())).to.deep.equal(Array.from(await w.data()).map((v) => Math.fround(2 * v)));
        expect(await readError(held.extra.inner[0]!)).to.equal('');
        const cyclic = tidy(() => {
          const o: { t: Tensor; self?: unknown } = { t: F.mul(w, 4) };
          o.self = o;
          return o;
        });
        expect(await readError(cyclic.t)).to.equal('');
        expect(() => tidy(async () => F.mul(w, 5))).to.throw(/^tidy\(\) takes a synchronous function/);
      });

      it('gradients live until zeroGrad: memory is flat over steps of (tidy: zeroGrad, backward, clip), Adam outside', () => {
        const rng = new Rng(4);
        const w = randn([8, 4, 3, 3], rng, { requiresGrad: true });
        const x = randn([2, 4, 6, 6], rng);
        const opt = new optim.Adam([w], { lr: 1e-3 });
        const step = () => {
          tidy(() => {
            opt.zeroGrad();
            F.sum(F.square(F.conv2d(x, w, null, { padding: 1 }))).backward();
            optim.clipGradNorm([w], 1);
          });
          tidy(() => opt.step());
        };
        step();
        const first = gpu.memory();
        for (let i = 0; i < 20; i++) step();
        expect(gpu.memory()).to.deep.equal(first);
      });
    });

    it('the optimizer launches one kernel a bucket of parameters for Adam (their moments and values; one more a parameter for L2 decay), one a bucket for the EMA, counted by a wrapper around the compiled kernels, and computes what the composed ops compute', async () => {
      let launches = 0;
      await withOwnBackend({ instrument: (kernel) => (...args) => (launches++, kernel(...args)) }, async (counted) => {
        const net = new UNet({ imageSize: 8, inChannels: 3, baseChannels: 8, channelMults: [1, 2], attnResolutions: [4], groups: 2, timeEmbDim: 16 }, { rng: new Rng(5) });
        const params = net.parameters();
        // All of this model fits one texture. Adam's buckets read ADAM_BUCKET_INPUTS gradient storages,
        // counting a weight's and its bias's as one; these gradients are set one by one, a storage
        // each, so a bucket takes a launch for each ADAM_BUCKET_INPUTS of them. The EMA, made
        // first, groups parameters that are storages of their own, BUCKET_INPUTS a bucket.
        const adamGroups = groupsOf(params, ADAM_BUCKET_INPUTS, gradientHomes(net));
        const emaBuckets = groupsOf(params, BUCKET_INPUTS, (p) => p).length;
        const bucketLaunches = () => adamGroups.reduce((n, g) => n + launchesOf(g.map((p) => p.grad!), ADAM_BUCKET_INPUTS), 0);
        for (const p of params) p.grad = F.mul(F.clone(p), 0.01);
        const ema = new optim.EMA(net, { decay: 0.9 });
        const before = await Promise.all(params.map((p) => p.data()));
        // One step by the cpu backend's composed ops, from g = 0.01·p: Adam with L2 decay λ (g̃ = g + λ·p)
        // or AdamW with decay λ (p·(1 − lr·λ) first); m = 0.1·g̃, v = 0.001·g̃², p ← p·d − (lr / 0.1)·m / (√v / √0.001 + 1e-8).
        const composed = (values: Float32Array[], l2: number, decay: number) => onCpu(async () => values.map((value, k) => {
          const pv = tensor(value, params[k]!.shape), g = F.add(F.mul(pv, 0.01), F.mul(pv, l2));
          const m = F.mul(g, 0.1), v = F.mul(F.mul(g, g), 0.001);
          const denom = F.add(F.div(F.sqrt(v), Math.sqrt(0.001)), 1e-8);
          return { p: F.sub(F.mul(pv, decay), F.mul(F.div(m, denom), 1e-2 / 0.1)).toFloat32Array(), m: m.toFloat32Array(), v: v.toFloat32Array() };
        }));
        const adamExpected = await composed(before, 0.1, 1);
        // On WebGPU the launches run from the backend's queue: flush before counting.
        const adam = new optim.Adam(params, { lr: 1e-2, weightDecay: 0.1 }); // its buckets: zeros, each parameter moved in
        await counted.flush();
        launches = 0;
        const l2Launches = params.length + adamGroups.reduce((n, g) => n + Math.ceil(g.length / ADAM_BUCKET_INPUTS), 0); // g + λ·p: a fresh storage each
        adam.step();
        await counted.flush();
        expect(launches, 'Adam with L2 decay').to.equal(l2Launches);
        const { m, v } = adam.state(); // views of the buckets
        for (const [k, p] of params.entries()) {
          expectClose(await p.data(), adamExpected[k]!.p, 1e-5, `parameter ${k} after one Adam step`);
          expectClose(await m[k]!.data(), adamExpected[k]!.m, 1e-5, `m of parameter ${k}`);
          expectClose(await v[k]!.data(), adamExpected[k]!.v, 1e-5, `v of parameter ${k}`);
        }
        // The EMA's first update (warm-up decay min(0.9, 1/10) = 0.1): 0.1·before + 0.9·after.
        const afterAdam = await Promise.all(params.map((p) => p.data()));
        launches = 0;
        ema.update();
        await counted.flush();
        expect(launches, 'EMA').to.equal(emaBuckets);
        const shadow = [...ema.stateDict().values()];
        for (const [k, s] of shadow.entries()) {
          expectClose(await s.data(), before[k]!.map((b, i) => Math.fround(Math.fround(0.1 * b) + Math.fround(0.9 * afterAdam[k]![i]!))), 1e-6, `EMA of parameter ${k}`);
        }
        // AdamW: no gradient to form, one launch a bucket.
        const adamWExpected = await composed(afterAdam, 0, 1 - 1e-2 * 0.2);
        for (const p of params) p.grad = F.mul(F.clone(p), 0.01);
        const adamW = new optim.AdamW(params, { lr: 1e-2, weightDecay: 0.2 });
        await counted.flush();
        launches = 0;
        const adamWLaunches = bucketLaunches();
        expect(adamWLaunches, 'more launches than buckets: the gradients were set one by one').to.be.above(adamGroups.length);
        adamW.step();
        await counted.flush();
        expect(launches, 'AdamW').to.equal(adamWLaunches);
        for (const [k, p] of params.entries()) expectClose(await p.data(), adamWExpected[k]!.p, 1e-5, `parameter ${k} after one AdamW step`);
      });
    });

    it('clipGradNorm takes one launch a bucket of gradients for the squared norm and one reduce, one a gradient for the scale; clipScale leaves the gradients and Adam.step(scale) applies it with no launch more; both give the norm, gradients and parameters of the composed ops on the cpu backend', async () => {
      let launches = 0;
      const names: string[] = [];
      await withOwnBackend({ instrument: (kernel, name) => (...args) => (launches++, names.push(name), kernel(...args)) }, async (counted) => {
        const net = new UNet({ imageSize: 8, inChannels: 3, baseChannels: 8, channelMults: [1, 2], attnResolutions: [4], groups: 2, timeEmbDim: 16 }, { rng: new Rng(7) });
        const params = net.parameters();
        const rng = new Rng(8);
        const grads = params.map((p) => randn(p.shape, rng));
        const values = await Promise.all(grads.map((g) => g.data()));
        const weights = await Promise.all(params.map((p) => p.data()));
        // The composed ops on the cpu backend: the norm, the clipped gradients, and one Adam step
        // from them (m = 0.1·g, v = 0.001·g², p ← p − (lr / 0.1)·m / (√v / √0.001 + 1e-8)).
        const expected = await onCpu(async () => {
          const gs = values.map((v, k) => tensor(v, params[k]!.shape));
          const norm = F.sqrt(gs.map((g) => F.sum(F.square(g))).reduce((a, b) => F.add(a, b)));
          const scale = F.clamp(F.div(3, F.add(norm, 1e-6)), 0, 1);
          const clipped = gs.map((g) => F.mul(g, scale));
          const stepped = clipped.map((g, k) => {
            const m = F.mul(g, 0.1), v = F.mul(F.mul(g, g), 0.001);
            return F.sub(tensor(weights[k]!, params[k]!.shape), F.mul(F.div(m, F.add(F.div(F.sqrt(v), Math.sqrt(0.001)), 1e-8)), 1e-2 / 0.1)).toFloat32Array();
          });
          return { norm: norm.item(), grads: clipped.map((g) => g.toFloat32Array()), stepped };
        });
        expect(expected.norm, 'the clip scales').to.be.above(3);
        const buckets = groupsOf(params, BUCKET_INPUTS, (p) => p).length; // the gradients, set one by one: a storage each
        const setGrads = () => params.forEach((p, k) => (p.grad = tensor(values[k]!, p.shape)));
        setGrads();
        await counted.flush();
        launches = 0;
        names.length = 0;
        const norm = optim.clipGradNorm(params, 3);
        await counted.flush();
        // A launch a bucket, a reduce of the partial sums; √, +1e-6, ÷ (maxNorm uploaded), clamp (max, min); a scale a gradient.
        expect(launches, `clipGradNorm: ${names.join(' ')}`).to.be.at.most(buckets + 7 + params.length);
        expect(launches).to.be.at.least(buckets + 1 + params.length);
        expectClose(await norm.data(), [expected.norm], 1e-5, 'the norm');
        for (const [k, p] of params.entries()) expectClose(await p.grad!.data(), expected.grads[k]!, 1e-5, `gradient ${k} clipped`);
        // The trainer's way: the scale without touching the gradients, then Adam applies it.
        setGrads();
        const adam = new optim.Adam(params, { lr: 1e-2 });
        await counted.flush();
        launches = 0;
        const clip = optim.clipScale(params, 3);
        await counted.flush();
        expect(launches, 'clipScale').to.be.at.most(buckets + 7);
        expectClose(await clip.norm.data(), [expected.norm], 1e-5, 'the norm from clipScale');
        for (const [k, p] of params.entries()) expectClose(await p.grad!.data(), values[k]!, 0, `gradient ${k} left as it was`);
        launches = 0;
        adam.step(clip.scale);
        await counted.flush();
        expect(launches, 'Adam with the clip scale').to.equal(groupsOf(params, ADAM_BUCKET_INPUTS, gradientHomes(net)).reduce((n, g) => n + launchesOf(g.map((p) => p.grad!), ADAM_BUCKET_INPUTS), 0));
        for (const [k, p] of params.entries()) expectClose(await p.data(), expected.stepped[k]!, 1e-5, `parameter ${k} after Adam with the clip scale`);
      });
    });

    // Launch counts do not depend on the renderer: counted once, on real GL (the fastest of the
    // three modes here), on the UNet-S fixture (batch 2, 32×32).
    if (mode === 'headlessgl') it('a UNet-S forward launches at most 120 kernels; a train step as the trainer runs it (clipping, Adam, EMA) at most 470, Adam, clipping and the EMA one a bucket each; counted by a wrapper around the compiled kernels', async () => {
      const byKernel = new Map<string, number>();
      await withOwnBackend({ instrument: (kernel, name) => (...args) => (byKernel.set(name, (byKernel.get(name) ?? 0) + 1), kernel(...args)) }, async () => {
        const { net, x, ref } = await runUNetFixture(); // compiles every kernel a step uses
        const input = x.detach(), t = Array.from(await ref.tensors.get('t')!.data());
        const target = randn(input.shape, new Rng(6));
        const opt = new optim.Adam(net.parameters(), { lr: 1e-4 });
        const ema = new optim.EMA(net);
        const step = () => {
          opt.zeroGrad();
          const loss = F.mseLoss(net.forward(input, t), target);
          loss.backward();
          opt.step(optim.clipScale(net.parameters(), 1).scale);
          ema.update();
          return loss.detach();
        };
        const launches = async (fn: () => ReturnType<typeof F.sum>) => {
          byKernel.clear();
          const out = tidy(fn);
          await out.data();
          dispose(out);
          return [...byKernel.values()].reduce((a, b) => a + b, 0);
        };
        await launches(step); // clipping's, Adam's and the EMA's kernels, first made
        const forward = await launches(() => noGrad(() => net.forward(input, t)));
        // From 259 with composed ops; 176 before the epilogues (a Linear's bias, attention's scale, the
        // residuals added by the product or convolution that precedes them); 133 before the time
        // embedding's projection was worked out by conv1 and its SiLUs by the products before them.
        expect(forward, `forward launches ${JSON.stringify(Object.fromEntries(byKernel))}`).to.be.at.most(120);
        const train = await launches(step);
        const params = net.parameters();
        const count = (name: string) => byKernel.get(name) ?? 0;
        // Convolutions and GroupNorms return their weight's and bias's gradients in one storage
        // (one launch for both): Adam's buckets, counting those as one input, each take one launch;
        // clipping groups the gradients by their storages; the EMA (made after Adam) reads
        // parameters that live in Adam's buckets, several from one storage.
        const adamBuckets = groupsOf(params, ADAM_BUCKET_INPUTS, gradientHomes(net)).length;
        expect(adamBuckets, 'Adam buckets of up to ten').to.be.below(Math.ceil(params.length / ADAM_BUCKET_INPUTS));
        expect(count('adamStep'), 'Adam launches: one a bucket').to.equal(adamBuckets);
        expect(count('sumSquares'), 'clipping: one launch a bucket of gradients').to.equal(groupsOf(params, BUCKET_INPUTS, (p) => p.grad!.storage).length);
        expect(count('blend'), 'the EMA: one launch a bucket').to.equal(groupsOf(params, BUCKET_INPUTS, (p) => p.storage).length);
        // At batch 16 (npm run bench): 1,068 before clipping's scale moved into Adam, the epilogues,
        // attention as one op and the parameters into Adam's buckets; 618 after; 488 with gradients
        // in packs (a bias's with its weight's), buckets by storage and the time projection in conv1.
        // Here, at batch 2, 596 before those, 466 after (batch 16 adds the weight gradients' partial sums).
        expect(train, `train step launches ${JSON.stringify(Object.fromEntries(byKernel))}`).to.be.at.most(470);
      });
    });

    // 300 steps on SwiftShader's WebGPU (about 3 minutes), 100 on real GL (llvmpipe, about one), 30
    // in gpu.js's cpu mode, where each step costs seconds (memory is checked after every tenth step;
    // the bench's soak runs 1,000, see docs/speed.md). The pool is checked too: no texture (GL) or
    // buffer (WebGPU) made after the first steps, and the pool the same size.
    const memorySteps = mode === 'webgpu' ? 300 : mode === 'headlessgl' ? 100 : 30;
    it(`GPU memory stays flat over ${memorySteps} training steps (after the first), each step freeing what it made`, async () => {
      const config = resolveConfig({
        seed: 1, data: { imageSize: 8 }, diffusion: { timesteps: 50 },
        model: { baseChannels: 8, channelMults: [1, 2], numResBlocks: 1, attnResolutions: [4], groups: 2, timeEmbDim: 16 },
        train: { batchSize: 2, steps: memorySteps, outDir: join(mkdtempSync(join(tmpdir(), 'ddpm-ts-gpu-')), 'run'), sampleEvery: 0, checkpointEvery: 0 },
      });
      const trainer = await diffusion.Trainer.create(config, { dataset: data.facesDataset(8, 3), backend: gpu });
      expect(trainer.model.convIn.weight.backend).to.equal(gpu);
      // The textures (GL) or buffers (WebGPU) each step makes, counted at the context or device (gpu.js's own calls included).
      const made = gpu.name === 'webgpu' ? countCalls((gpu.context as { device: unknown }).device, 'createBuffer') : countCalls(gpu.context, 'createTexture');
      await trainer.trainStep();
      await collect();
      const first = gpu.memory();
      // Each step frees what it made as it ends (its tidy() scope), with no help from the collector.
      await trainer.trainStep();
      expect(gpu.memory()).to.deep.equal(first);
      await trainer.trainStep();
      const pooled = gpu.pooled();
      made.count = 0;
      for (let i = 3; i < memorySteps; i++) {
        await trainer.trainStep();
        if (i % 10 === 0) expect(gpu.memory(), `after step ${i + 1}`).to.deep.equal(first);
      }
      // From the fourth step on, every texture or buffer a kernel writes is one a freed tensor left
      // in the pool (without it: 1,326 textures a step on GL, 1,523 buffers on WebGPU).
      if (made.counting) expect(made.count, `textures or buffers made by steps 4–${memorySteps}`).to.equal(0);
      expect(gpu.pooled()).to.deep.equal(pooled);
      made.restore();
      await collect();
      expect(gpu.memory()).to.deep.equal(first);
      // Gradients, a texture each (a weight and its bias share one); Adam's state (moments and weights) and the EMA, one a bucket of up to BUCKET_MEMBERS parameters.
      const params = trainer.model.parameters().length;
      expect(first.textures).to.be.above(params / 2 + Math.ceil(params / BUCKET_MEMBERS) * 2);
      expect(trainer.losses.every(Number.isFinite)).to.equal(true);
    });

    it('trains, checkpoints and resumes on the gpu backend; the checkpoint samples the same images on the cpu backend', async () => {
      const outDir = join(mkdtempSync(join(tmpdir(), 'ddpm-ts-gpu-')), 'run');
      const config = resolveConfig({
        seed: 4, data: { imageSize: 8 }, diffusion: { timesteps: 100 },
        model: { baseChannels: 8, channelMults: [1, 2], numResBlocks: 1, attnResolutions: [4], groups: 2, timeEmbDim: 16 },
        train: { batchSize: 2, steps: 6, logEvery: 1, sampleEvery: 0, checkpointEvery: 3, outDir },
        sample: { sampler: 'ddim', steps: 10, count: 4 },
      });
      const first = await diffusion.Trainer.create({ ...config, train: { ...config.train, steps: 3 } }, { backend: gpu });
      await first.train();
      const resumed = await diffusion.Trainer.create(config, { resume: true, backend: gpu });
      expect(resumed.step).to.equal(3);
      expect(await resumed.train()).to.equal('finished');
      expect(resumed.model.convIn.weight.backend).to.equal(gpu);
      // 10 DDIM steps from the same seed, on each backend, from the checkpoint's EMA weights.
      const draw = async (backend: Backend) => {
        setBackend(backend);
        const checkpoint = await diffusion.loadCheckpoint(join(outDir, 'checkpoint.safetensors'));
        const net = new UNet(checkpoint.config.model);
        net.loadStateDict(checkpoint.ema);
        const schedule = diffusion.makeSchedule(checkpoint.config.diffusion);
        const options = { ...checkpoint.config.sample, prediction: checkpoint.config.diffusion.prediction, variance: checkpoint.config.diffusion.variance };
        return diffusion.sample(net.eval(), schedule, options, { count: 4, channels: 3, imageSize: 8, rng: new Rng(11) }).images.data();
      };
      const onGpu = await draw(gpu);
      const onCpu = await draw(setBackend('cpu'));
      setBackend(gpu);
      expect(resumed.model.convIn.weight.backend).to.equal(gpu);
      // Pixels are in [−1, 1]: the largest difference, as a fraction of that range.
      const worst = onCpu.reduce((m, v, i) => Math.max(m, Math.abs(v - onGpu[i]!)), 0) / 2;
      expect(worst).to.be.below(1e-3);
      expect(onCpu.some((v) => v !== 0)).to.equal(true);
    });
  });
}

describe('choosing a backend', () => {
  after(() => closeBackends());

  it("'gpu' takes webgpu, else webgl; 'auto' takes gpu, else cpu; each says which and why", async () => {
    const lines: string[] = [];
    const chosen = await useBackend('auto', { log: (m) => lines.push(m) });
    expect(lines).to.have.length(1);
    // Which one works depends on the machine: WebGPU needs the `webgpu` package and a Vulkan driver, WebGL needs `gl` and a display.
    const expected: Record<string, RegExp> = {
      webgpu: /^backend 'auto': webgpu, in gpu\.js mode 'webgpu' on WebGPU, /,
      webgl: /^backend 'auto': webgl, in gpu\.js mode 'headlessgl' on WebGL.* \(no webgpu: .+\)$/,
      cpu: /^backend 'auto': cpu, since no GPU backend works here, or only on a software renderer \((no webgpu: .+|webgpu runs on .+, a software renderer, slower than the cpu backend: ask for --backend webgpu to use it anyway); (no webgl: .+|webgl runs on .+, a software renderer, slower than the cpu backend: ask for --backend webgl to use it anyway)\)$/,
    };
    expect(lines[0]).to.match(expected[chosen.name]!);
    // Here (no GPU) WebGPU runs on SwiftShader at most, which 'auto' never takes. (headless-gl
    // names no renderer, "ANGLE", so a software GL under xvfb-run is not recognised.)
    if (!process.env.DDPM_REAL_GPU) expect(chosen.name).not.to.equal('webgpu');
    if (chosen.name !== 'cpu') {
      const again: string[] = [];
      expect(await useBackend('gpu', { log: (m) => again.push(m) })).to.equal(chosen);
      expect(again[0]).to.equal(lines[0]!.replace("backend 'auto'", "backend 'gpu'"));
    }
    expect((await useBackend('cpu')).name).to.equal('cpu');
    // 'auto' (and 'gpu', 'webgpu', 'webgl' before they are opened) are no registered backend: setBackend says what to do instead.
    expect(() => setBackend('auto')).to.throw("setBackend: backend 'auto' opens asynchronously (it loads gpu.js and checks the GPU): await useBackend('auto') instead");
    expect(getBackend()).to.be.instanceOf(CpuBackend);
  });

  it('randn on a gpu backend draws the same numbers as on the cpu backend', async () => {
    const gpu = await GpuBackend.create({ mode: 'cpu' });
    const a = randn([5], new Rng(9)).toFloat32Array();
    setBackend(gpu);
    try {
      expect(Array.from(await randn([5], new Rng(9)).data())).to.deep.equal(Array.from(a));
    } finally {
      setBackend('cpu');
    }
  });
});

if (modes.includes('webgpu')) {
  describe('WebGPU launches go to the GPU in batches (src/backends/gpu/webgpu-batch.ts)', function () {
    this.timeout(300000);
    let gpu: GpuBackend;
    before(async () => {
      gpu = await GpuBackend.create({ mode: 'webgpu' });
      setBackend(gpu);
    });
    after(async () => {
      setBackend('cpu');
      await gpu.dispose();
    });

    it('a chain of 100 launches takes a handful of submits, not 100, and adds up', async () => {
      const x = tensor(Float32Array.from({ length: 16 }, (_, i) => i), [16]);
      const chain = () => tidy(() => {
        let y = x;
        for (let i = 0; i < 100; i++) y = F.add(y, x);
        return y;
      });
      await chain().data(); // compiles
      const before = gpu.submitCount();
      const values = await chain().data();
      expect(Array.from(values)).to.deep.equal(Array.from({ length: 16 }, (_, i) => 101 * i));
      // 100 dispatches, 32 a batch, and the read's own: if gpu.js stopped recording a launch as
      // one encoder, pass and submit, each launch would be a submit again.
      expect(gpu.submitCount() - before).to.be.within(1, Math.ceil(100 / 32) + 1);
    });

    it('a kernel launched again with other arguments, and uploads one after another, keep their values (the batch goes first)', async () => {
      const x = tensor(Float32Array.from({ length: 8 }, (_, i) => i + 1), [8]);
      // One compiled binaryScalar kernel, its scalar (a uniform) changed at every launch.
      const scaled = [1, 2, 3, 4, 5].map((s) => F.mul(x, s));
      const uploads = [10, 20, 30].map((v) => tensor(new Float32Array(8).fill(v), [8]));
      const sums = await Promise.all([...scaled, ...uploads].map((t) => F.sum(t).data()));
      expect(sums.map((v) => v[0])).to.deep.equal([36, 72, 108, 144, 180, 80, 160, 240]);
      // Adam over three parameters of one bucket, three steps: adamStep's arguments (the step size) differ at each.
      const adamOn = async (backend: Backend) => {
        setBackend(backend);
        const params = [[4], [3, 2], [5]].map((shape, k) => {
          const p = randn(shape, new Rng(10 + k));
          p.requiresGrad = true;
          return p;
        });
        const adam = new optim.Adam(params, { lr: 0.1 });
        for (let step = 0; step < 3; step++) {
          tidy(() => {
            const loss = F.add(F.add(F.sum(F.mul(params[0]!, params[0]!)), F.sum(F.mul(params[1]!, 3))), F.sum(F.exp(params[2]!)));
            adam.zeroGrad();
            loss.backward();
            adam.step();
          });
        }
        const values = await Promise.all(params.map((p) => p.data()));
        setBackend(gpu);
        return values;
      };
      const there = await adamOn(gpu), here = await adamOn(new CpuBackend());
      here.forEach((w, k) => expectClose(there[k]!, w, 1e-5, `parameter ${k} after 3 Adam steps`));
    });
  });

  describe('a Node script on webgpu ends when its work ends (no closeBackends)', function () {
    this.timeout(120000);

    // Dawn polls its device from native setImmediate callbacks for as long as the device lives;
    // the Node entry schedules those unreferenced and closes the backends at 'beforeExit'
    // (src/node/webgpu.ts). If webgpu's pinned version changed how it polls, these would hang.
    const script = `
      import { useBackend, tensor, F } from 'ddpm-ts';
      await useBackend('webgpu');
      const x = tensor([1, 2, 3, 4], [4]);
      // nothing but the GPU keeps the process going while this read waits
      console.log('read', Array.from(await F.mul(F.add(x, x), x).data()).join(' '));
      // a timer keeps it going, then a read after it
      setTimeout(async () => console.log('later', Array.from(await F.add(x, 1).data()).join(' ')), 300);
      process.on('exit', (code) => console.log('exit', code));
    `;

    it('reads wait for the GPU, then the process exits with status 0 by itself', () => {
      const start = Date.now();
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60000, cwd: process.cwd() });
      expect(r.signal, `killed after ${Date.now() - start} ms: the script did not end (stderr: ${r.stderr})`).to.equal(null);
      expect(r.stdout.trim().split('\n')).to.deep.equal(['read 2 8 18 32', 'later 2 3 4 5', 'exit 0']);
      expect(r.status).to.equal(0);
    });

    it("a program's own setImmediate callbacks still keep it going", () => {
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', `
        import { useBackend } from 'ddpm-ts';
        await useBackend('webgpu');
        let turns = 0;
        const again = () => (++turns < 1000 ? setImmediate(again) : console.log('turns', turns));
        setImmediate(again);
        await new Promise((resolve) => setImmediate(resolve));
        console.log('resolved');
      `], { encoding: 'utf8', timeout: 60000 });
      expect(r.signal).to.equal(null);
      expect(r.stdout.trim().split('\n')).to.deep.equal(['resolved', 'turns 1000']);
      expect(r.status).to.equal(0);
    });
  });
}
