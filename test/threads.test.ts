// Worker threads change speed, never results: every product is bit-identical for any thread count.

import { expect } from 'chai';
import { F, Rng, getThreads, nn, optim, randn, setThreads, threadTaskCounts } from 'ddpm-ts';

/** Runs fn once per thread count and returns the float arrays it produced. */
async function underThreads(counts: number[], fn: () => Float32Array[]): Promise<Float32Array[][]> {
  const before = getThreads();
  const out: Float32Array[][] = [];
  try {
    for (const n of counts) {
      await setThreads(n);
      expect(getThreads()).to.equal(n);
      out.push(fn());
    }
  } finally {
    await setThreads(before);
  }
  return out;
}

const same = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));

describe('threads', function () {
  this.timeout(120000);

  it('matmul and conv2d (forward and both gradients) are bit-identical on 1, 2 and 3 threads', async () => {
    const results = await underThreads([1, 2, 3], () => {
      const r = new Rng(9);
      const a = randn([70, 300], r), b = randn([300, 130], r);
      const x = randn([5, 24, 12, 13], r, { requiresGrad: true }), w = randn([40, 24, 3, 3], r, { requiresGrad: true });
      const y = F.conv2d(x, w, null, { stride: 1, padding: 1 });
      y.backward(randn(y.shape, r));
      return [F.matmul(a, F.transpose(F.transpose(b))).toFloat32Array(), y.toFloat32Array(), x.grad!.toFloat32Array(), w.grad!.toFloat32Array()];
    });
    for (const k of [1, 2]) results[k]!.forEach((arr, i) => expect(same(arr, results[0]![i]!), `result ${i} on ${k + 1} threads`).to.equal(true));
  });

  it('Winograd convolutions and group normalisation (forward and gradients) are bit-identical on 1, 2 and 3 threads', async () => {
    // 324 tiles of 4×4: several forward blocks per thread and two filter-gradient blocks; then
    // GroupNorm + SiLU over 124,416 values, split by groups.
    const results = await underThreads([1, 2, 3], () => {
      const r = new Rng(10);
      const x = randn([4, 16, 36, 36], r, { requiresGrad: true }), w = randn([24, 16, 3, 3], r, { requiresGrad: true });
      const gamma = randn([24], r, { requiresGrad: true }), beta = randn([24], r, { requiresGrad: true });
      const y = F.groupNormSilu(F.conv2d(x, w, null, { padding: 1 }), 6, gamma, beta);
      y.backward(randn(y.shape, r));
      return [y.toFloat32Array(), x.grad!.toFloat32Array(), w.grad!.toFloat32Array(), gamma.grad!.toFloat32Array(), beta.grad!.toFloat32Array()];
    });
    for (const k of [1, 2]) results[k]!.forEach((arr, i) => expect(same(arr, results[0]![i]!), `result ${i} on ${k + 1} threads`).to.equal(true));
  });

  it('a few UNet training steps give bit-identical weights on 1 and 2 threads', async () => {
    const results = await underThreads([1, 2], () => {
      const rng = new Rng(4);
      const net = new nn.UNet({ imageSize: 16, baseChannels: 16, channelMults: [1, 2], attnResolutions: [8], groups: 4, timeEmbDim: 32, zeroInitOut: false }, { rng });
      const opt = new optim.Adam(net.parameters(), { lr: 1e-3 });
      for (let s = 0; s < 2; s++) {
        const loss = F.mseLoss(net.forward(randn([4, 3, 16, 16], rng), [1, 100, 500, 999]), randn([4, 3, 16, 16], rng));
        opt.zeroGrad();
        loss.backward();
        opt.step();
      }
      return net.parameters().map((p) => p.toFloat32Array());
    });
    results[1]!.forEach((arr, i) => expect(same(arr, results[0]![i]!), `parameter ${i}`).to.equal(true));
  });

  it('every worker runs its part of each parallel task; small work stays on the calling thread', async () => {
    const before = getThreads();
    try {
      await setThreads(3);
      expect(threadTaskCounts()).to.deep.equal([0, 0, 0]);
      const r = new Rng(3);
      F.matmul(randn([8, 8], r), randn([8, 8], r)); // 512 multiply-adds: not worth waking a worker
      expect(threadTaskCounts()).to.deep.equal([0, 0, 0]);
      F.matmul(randn([200, 300], r), randn([300, 180], r)).toFloat32Array();
      expect(threadTaskCounts()).to.deep.equal([1, 1, 1]);
      await setThreads(1);
      expect(threadTaskCounts()).to.deep.equal([]);
    } finally {
      await setThreads(before);
    }
  });

  it('a task posted the moment the workers are ready runs on them (no start-up race)', async function () {
    // A worker once read the job counter after saying it was ready: a job posted in between was
    // taken as already seen, and the caller waited for that worker forever (seen twice in a row
    // in examples/tour/03-convolution.js). The window is short, so this repeats the start 20 times.
    this.timeout(60000);
    const before = getThreads();
    const r = new Rng(8);
    const a = randn([200, 300], r), b = randn([300, 180], r);
    try {
      for (let i = 0; i < 20; i++) {
        await setThreads(2);
        F.matmul(a, b);
        expect(threadTaskCounts()).to.deep.equal([1, 1]);
        await setThreads(1);
      }
    } finally {
      await setThreads(before);
    }
  });

  it('rejects a bad thread count', async () => {
    for (const n of [0, 1.5, 65]) {
      try {
        await setThreads(n);
        expect.fail('should throw');
      } catch (e) {
        expect((e as Error).message).to.match(/setThreads: n must be an integer from 1 to 64/);
      }
    }
  });
});
