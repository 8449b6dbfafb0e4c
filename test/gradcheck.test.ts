// Finite-difference gradient checks for every differentiable op, on random shapes: odd sizes,
// stride 2 over odd inputs, broadcasting, strided (non-contiguous) views.

import { F, Rng, type Tensor } from 'ddpm-ts';
import { gradCheck, randomInput as r } from './helpers.js';

describe('gradient checks (central differences)', () => {
  describe('elementwise with broadcasting', () => {
    it('add [3,1,5] + [4,1]', () => gradCheck(F.add, [r([3, 1, 5], 1), r([4, 1], 2)]));
    it('sub [2,3] - [3]', () => gradCheck(F.sub, [r([2, 3], 3), r([3], 4)]));
    it('mul [2,1,3] * [1,4,1]', () => gradCheck(F.mul, [r([2, 1, 3], 5), r([1, 4, 1], 6)]));
    it('div [3,4] / [4] (denominator away from 0)', () => gradCheck(F.div, [r([3, 4], 7), r([4], 8, 0.3, 2)]));
    it('scalar operands: 2 - x, x * 3, x / 4', async () => {
      await gradCheck((x) => F.sub(2, x), [r([5], 9)]);
      await gradCheck((x) => F.div(F.mul(x, 3), 4), [r([2, 3], 10)]);
    });
    it('neg, exp', async () => {
      await gradCheck(F.neg, [r([7], 11)]);
      await gradCheck(F.exp, [r([2, 5], 12)]);
    });
    it('log, sqrt on positive inputs', async () => {
      await gradCheck(F.log, [r([3, 3], 13, 0.3, 2)]);
      await gradCheck(F.sqrt, [r([3, 3], 14, 0.3, 2)]);
    });
    it('sigmoid, silu', async () => {
      await gradCheck(F.sigmoid, [r([4, 5], 15, 2)]);
      await gradCheck(F.silu, [r([3, 7], 16, 2)]);
    });
  });

  describe('reductions', () => {
    it('sum over all, one and several axes, with and without keepDims', async () => {
      await gradCheck((x) => F.sum(x), [r([3, 4, 5], 20)]);
      await gradCheck((x) => F.sum(x, 1), [r([3, 4, 5], 21)]);
      await gradCheck((x) => F.sum(x, [0, 2], true), [r([3, 4, 5], 22)]);
    });
    it('mean over negative axes', () => gradCheck((x) => F.mean(x, [-1, -3]), [r([2, 3, 5], 23)]));
  });

  describe('shape ops', () => {
    it('reshape of a contiguous and of a transposed view', async () => {
      await gradCheck((x) => F.reshape(x, [6, -1]), [r([2, 3, 5], 30)]);
      await gradCheck((x) => F.reshape(F.transpose(x, 0, 2), [5, 6]), [r([2, 3, 5], 31)]);
    });
    it('permute', () => gradCheck((x) => F.permute(x, [2, 0, 1]), [r([2, 3, 4], 32)]));
    it('expand', () => gradCheck((x) => F.expand(x, [4, 3, 5]), [r([3, 1], 33)]));
    it('slice', () => gradCheck((x) => F.slice(x, [1, 0, 2], [3, -1, 5]), [r([3, 4, 5], 34)]));
    it('concat along axis 0 and 2 (three inputs)', async () => {
      await gradCheck((a, b) => F.concat([a, b], 0), [r([1, 3], 35), r([2, 3], 36)]);
      await gradCheck((a, b, c) => F.concat([a, b, c], 2), [r([2, 2, 1], 37), r([2, 2, 3], 38), r([2, 2, 2], 39)]);
    });
    it('concatChannels', () => gradCheck((a, b) => F.concatChannels([a, b]), [r([2, 3, 2, 3], 40), r([2, 1, 2, 3], 41)]));
    it('upsampleNearest2x on an odd-sized input', () => gradCheck(F.upsampleNearest2x, [r([2, 3, 3, 5], 42)]));
  });

  describe('matrix products', () => {
    it('matmul 2-D, odd sizes', () => gradCheck((a, b) => F.matmul(a, b), [r([5, 7], 50), r([7, 3], 51)]));
    it('matmul batched with a broadcast batch', () => gradCheck((a, b) => F.matmul(a, b), [r([2, 3, 4, 5], 52), r([3, 5, 2], 53)]));
    it('matmul of transposed views', () =>
      gradCheck((a, b) => F.matmul(F.transpose(a), F.transpose(b)), [r([2, 4, 3], 54), r([2, 5, 4], 55)]));
    it('linear with and without bias, 1-D, 2-D and 3-D input', async () => {
      await gradCheck((x, w, b) => F.linear(x, w, b), [r([3, 5], 56), r([4, 5], 57), r([4], 58)]);
      await gradCheck((x, w) => F.linear(x, w), [r([2, 3, 5], 59), r([4, 5], 60)]);
      await gradCheck((x, w, b) => F.linear(x, w, b), [r([5], 61), r([2, 5], 62), r([2], 63)]);
    });
  });

  describe('epilogues: what a product or convolution adds as it writes', () => {
    it('bmm scaled (alpha) and biased, with a transposed operand', async () => {
      await gradCheck((a, b, bias) => F.bmm(a, F.transpose(b), { alpha: 0.37, bias }), [r([2, 3, 4], 64), r([2, 5, 4], 65), r([5], 66)]);
      await gradCheck((a, b) => F.bmm(F.transpose(a), b, { alpha: -1.5 }), [r([2, 4, 3], 67), r([2, 4, 5], 68)]);
    });
    it('conv2d plus a residual of its output shape, and plus a per-image channel bias [N, F, 1, 1]', async () => {
      await gradCheck((x, w, b, add) => F.conv2d(x, w, b, { padding: 1, add }), [r([2, 3, 5, 4], 75), r([4, 3, 3, 3], 76, 0.5), r([4], 77), r([2, 4, 5, 4], 78)]);
      await gradCheck((x, w, add) => F.conv2d(x, w, null, { stride: 2, padding: 1, add }), [r([2, 2, 5, 5], 79), r([3, 2, 3, 3], 100, 0.5), r([2, 3, 1, 1], 101)]);
    });
    it('conv2d plus a Linear\'s projection of a vector per image (the time embedding), with and without biases', async () => {
      await gradCheck((x, w, b, u, pw, pb) => F.conv2d(x, w, b, { padding: 1, project: { x: u, weight: pw, bias: pb } }), [r([2, 3, 5, 4], 102), r([4, 3, 3, 3], 103, 0.5), r([4], 104), r([2, 6], 105), r([4, 6], 106, 0.5), r([4], 107)]);
      await gradCheck((x, w, u, pw) => F.conv2d(x, w, null, { stride: 2, padding: 1, project: { x: u, weight: pw } }), [r([2, 2, 5, 5], 108), r([3, 2, 3, 3], 109, 0.5), r([2, 5], 110), r([3, 5], 111, 0.5)]);
    });
    it('linear then SiLU (with a gradient recorded: a SiLU op after the product)', () =>
      gradCheck((x, w, b) => F.linear(x, w, b, { silu: true }), [r([3, 5], 112), r([4, 5], 113), r([4], 114)]));
  });

  describe('conv2d', () => {
    const cases: Array<[string, number[], number[], number, number]> = [
      ['3x3 pad 1, odd sizes', [2, 3, 5, 7], [4, 3, 3, 3], 1, 1],
      ['3x3 stride 2 pad 1, odd input', [2, 2, 7, 5], [3, 2, 3, 3], 2, 1],
      ['3x3 stride 2 no padding, odd input', [1, 2, 7, 7], [2, 2, 3, 3], 2, 0],
      ['1x1 (a matrix product per pixel)', [2, 5, 3, 3], [4, 5, 1, 1], 1, 0],
      ['2x3 kernel, stride 2, pad 2', [1, 2, 5, 6], [3, 2, 2, 3], 2, 2],
    ];
    for (const [name, xs, ws, stride, padding] of cases) {
      it(name, () =>
        gradCheck((x, w, b) => F.conv2d(x, w, b, { stride, padding }), [r(xs, 70), r(ws, 71, 0.5), r([ws[0]!], 72)]));
    }
    it('on a non-contiguous (permuted) input', () =>
      gradCheck((x, w) => F.conv2d(F.permute(x, [0, 3, 1, 2]), w, null, { padding: 1 }), [r([2, 4, 5, 3], 73), r([2, 3, 3, 3], 74)]));
  });

  describe('normalisation, softmax, loss', () => {
    it('groupNorm with affine, several group counts', async () => {
      for (const [G, C] of [[1, 3], [2, 4], [3, 6]] as const) {
        await gradCheck((x, w, b) => F.groupNorm(x, G, w, b, 1e-5), [r([2, C, 3, 5], 80 + G, 2, 1), r([C], 84, 0.3, 1), r([C], 85)]);
      }
    });
    it('groupNorm on a 3-D input without affine', () => gradCheck((x) => F.groupNorm(x, 2, null, null), [r([3, 4, 5], 86)]));
    it('groupNormSilu with and without affine', async () => {
      await gradCheck((x, w, b) => F.groupNormSilu(x, 2, w, b, 1e-5), [r([2, 4, 3, 5], 87, 2, 1), r([4], 88, 0.3, 1), r([4], 89)]);
      await gradCheck((x) => F.groupNormSilu(x, 3, null, null), [r([2, 6, 7], 93, 2)]);
    });
    it('attention from a qkv projection [B, 3, C, N] (one op: softmax(α·qᵀk) weighting v)', () =>
      gradCheck((qkv) => F.attention(qkv, 0.6), [r([2, 3, 4, 5], 92, 1.5)]));
    it('softmax over the last and a middle axis', async () => {
      await gradCheck((x) => F.softmax(x, -1), [r([2, 3, 5], 90, 2)]);
      await gradCheck((x) => F.softmax(x, 1), [r([2, 4, 3], 91, 2)]);
    });
    it('mseLoss', () => gradCheck(F.mseLoss, [r([2, 3, 3], 95), r([2, 3, 3], 96)]));
    it('mseLoss with a weight per batch item (min-SNR)', () => gradCheck((p, q) => F.mseLoss(p, q, r([2, 1, 1], 97, 1, 1.5)), [r([2, 3, 3], 98), r([2, 3, 3], 99)]));
    it('dropout (the same seeded mask on every evaluation)', () =>
      gradCheck((x) => F.dropout(x, 0.3, true, new Rng(5)), [r([4, 6], 94)]));
  });

  it('a composite graph where a tensor feeds several ops', async () => {
    // x reaches the output by three paths (conv, skip concat, broadcast sum): gradients must add.
    const f = (x: Tensor, w: Tensor) => {
      const h = F.silu(F.conv2d(x, w, null, { padding: 1 }));
      return F.mul(F.concatChannels([h, x]), F.sum(x, [1], true));
    };
    await gradCheck(f, [r([1, 2, 4, 3], 97), r([3, 2, 3, 3], 98, 0.5)]);
  });
});
