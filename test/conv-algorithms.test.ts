// The CPU backend computes 3×3 stride-1 convolutions by Winograd F(4×4, 3×3) and all others by
// im2col. Both must give the same convolution, its input gradient and its filter gradient, on
// sizes that leave partial tiles, with every padding Winograd takes, over several tile blocks.

import { expect } from 'chai';
import { F, Rng, randn } from 'ddpm-ts';
import { gradCheck, randomInput as r, relError, withConv } from './helpers.js';

function convAndGrads(xShape: number[], wShape: number[], padding: number): Float32Array[] {
  const rng = new Rng(11);
  const x = randn(xShape, rng, { requiresGrad: true }), w = randn(wShape, rng, { requiresGrad: true }), b = randn([wShape[0]!], rng, { requiresGrad: true });
  const y = F.conv2d(x, w, b, { padding });
  y.backward(randn(y.shape, rng));
  return [y.toFloat32Array(), x.grad!.toFloat32Array(), w.grad!.toFloat32Array(), b.grad!.toFloat32Array()];
}

describe('convolution algorithms: Winograd F(4×4, 3×3) and im2col agree', function () {
  this.timeout(60000);
  const cases: Array<[string, number[], number[], number]> = [
    ['odd sizes, partial tiles, pad 1', [2, 3, 7, 9], [5, 3, 3, 3], 1],
    ['pad 0 (output smaller than a tile)', [1, 4, 5, 5], [6, 4, 3, 3], 0],
    ['pad 2 (output larger than the input)', [3, 6, 6, 11], [2, 6, 3, 3], 2],
    ['a 1×1 image', [2, 5, 1, 1], [3, 5, 3, 3], 1],
    ['UNet-S sizes: 64 channels at 8×8', [4, 64, 8, 8], [64, 64, 3, 3], 1],
    ['many tiles, on all threads: several blocks per thread, two filter-gradient blocks', [4, 16, 37, 35], [24, 16, 3, 3], 1],
  ];
  for (const [name, xs, ws, padding] of cases) {
    it(name, async () => {
      const wino = await withConv('auto', () => convAndGrads(xs, ws, padding));
      const im2col = await withConv('im2col', () => convAndGrads(xs, ws, padding));
      ['y', 'dx', 'dw', 'dbias'].forEach((what, i) => {
        const err = relError(wino[i]!, im2col[i]!);
        expect(err, `${what}: relative error ${err.toExponential(2)}`).to.be.at.most(1e-5);
      });
    });
  }

  for (const algorithm of ['auto', 'im2col'] as const) {
    describe(`gradient checks with conv = '${algorithm}'`, () => {
      for (const [name, xs, ws, padding] of [
        ['3×3 pad 0, output 3×5', [2, 2, 5, 7], [3, 2, 3, 3], 0],
        ['3×3 pad 2, output 7×6 (two tiles and a part)', [1, 3, 5, 4], [2, 3, 3, 3], 2],
      ] as Array<[string, number[], number[], number]>) {
        it(name, () => withConv(algorithm, () =>
          gradCheck((x, w, b) => F.conv2d(x, w, b, { padding }), [r(xs, 75), r(ws, 76, 0.5), r([ws[0]!], 77)])));
      }
    });
  }
});
