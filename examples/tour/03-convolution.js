// Tour, chapter 3 (docs/03-convolution.md): one 3×3 convolution computed three ways, by the
// definition (nested loops, float64), by im2col + a blocked matrix product, and by Winograd's
// F(4×4, 3×3); then on 1 and 2 threads, bit for bit.
//
//   node examples/tour/03-convolution.js

import { F, Rng, getBackend, randn, setThreads } from 'ddpm-ts';

const rng = new Rng(3);
const [N, C, H, W, Fo] = [2, 8, 12, 12, 16];
const x = randn([N, C, H, W], rng), w = randn([Fo, C, 3, 3], rng);

// The definition: y[n,f,oy,ox] = Σ_{c,ky,kx} x[n, c, oy−1+ky, ox−1+kx] · w[f,c,ky,kx] (padding 1).
const xv = await x.data(), wv = await w.data();
const direct = new Float64Array(N * Fo * H * W);
for (let n = 0; n < N; n++) for (let f = 0; f < Fo; f++) for (let oy = 0; oy < H; oy++) for (let ox = 0; ox < W; ox++) {
  let sum = 0;
  for (let c = 0; c < C; c++) for (let ky = 0; ky < 3; ky++) for (let kx = 0; kx < 3; kx++) {
    const iy = oy - 1 + ky, ix = ox - 1 + kx;
    if (iy >= 0 && iy < H && ix >= 0 && ix < W) sum += xv[((n * C + c) * H + iy) * W + ix] * wv[((f * C + c) * 3 + ky) * 3 + kx];
  }
  direct[((n * Fo + f) * H + oy) * W + ox] = sum;
}

const cpu = getBackend();
const convWith = (algorithm) => {
  cpu.conv = algorithm;
  return F.conv2d(x, w, null, { padding: 1 }).data();
};
const im2col = await convWith('im2col');
const winograd = await convWith('auto'); // 3×3, stride 1: Winograd
const worst = (a) => Math.max(...Array.from(a, (v, i) => Math.abs(v - direct[i])));
const scale = Math.max(...Array.from(direct, Math.abs));
console.log(`multiply-adds per output: direct and im2col ${C * 9}, Winograd ${(C * 36) / 16} (36 per 4×4 tile instead of 144)`);
console.log(`im2col   vs definition: max |error| ${worst(im2col).toExponential(2)} (outputs up to ${scale.toFixed(1)})`);
console.log(`Winograd vs definition: max |error| ${worst(winograd).toExponential(2)}`);

// Threads split the work by a fixed rule, and every output is summed in the same order: the
// results do not depend on the thread count at all.
const big = randn([4, 32, 24, 24], rng), bigW = randn([32, 32, 3, 3], rng);
await setThreads(1);
const one = await F.conv2d(big, bigW, null, { padding: 1 }).data();
await setThreads(2);
const two = await F.conv2d(big, bigW, null, { padding: 1 }).data();
await setThreads(1);
console.log(`1 thread vs 2 threads: ${one.every((v, i) => Object.is(v, two[i])) ? 'bit-identical' : 'DIFFERENT'} (${one.length} outputs)`);
