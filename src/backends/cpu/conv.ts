// 2-D convolution on the CPU, lowered to matrix products: 3×3 stride-1 convolutions by
// Winograd's F(4×4, 3×3) (winograd.ts: 4× fewer multiply-adds), all others by im2col.
//
// For a group of images, im2col lays every receptive field out as a column:
//   cols[(c,ki,kj), (n,oy,ox)] = x[n, c, oy·s − p + ki, ox·s − p + kj]   (0 outside the image)
// so that, with W viewed as a matrix [Cout, Cin·kh·kw] and Y as [Cout, (n,oy,ox)]:
//   forward:          Y     = W · cols
//   input gradient:   dcols = Wᵀ · dY,   dx = col2im(dcols)   (col2im adds overlapping windows)
//   weight gradient:  dW   += dY · colsᵀ
// cols is never stored for the forward pass and the weight gradient: the GEMM packs its blocks
// straight from x ("implicit GEMM", see Im2col in gemm.ts), which saves a pass over memory and
// lets each thread gather the columns it owns. The input gradient does store dcols, since col2im
// adds overlapping windows together. Putting several images side by side makes the matrices
// wide, which keeps the GEMM efficient even for small feature maps; the group size bounds the
// memory the matrices take.

import type { Mat } from './gemm.js';
import { parallelGemm as gemm } from './parallel-gemm.js';
import { PARALLEL_MIN_WORK } from './task-context.js';
import { runTask } from './threads.js';
import { filterGradScratch, tileCount, transformFilters, TILE, type WinogradDims } from './winograd.js';

/** How convolutions are computed: Winograd where it applies ('auto'), or always im2col. */
export type ConvAlgorithm = 'auto' | 'im2col';

export interface ConvDims {
  N: number; C: number; H: number; W: number;
  F: number; kh: number; kw: number;
  Ho: number; Wo: number;
  stride: number; padding: number;
}

/** At most this many floats (32 MB) in one im2col buffer. */
const COLS_BUDGET = 8 * 1024 * 1024;

/** Image groups [n0, n1) whose im2col matrix fits the budget. */
function groups(d: ConvDims): Array<[number, number]> {
  const perImage = d.C * d.kh * d.kw * d.Ho * d.Wo;
  const size = Math.max(1, Math.min(d.N, Math.floor(COLS_BUDGET / perImage)));
  const out: Array<[number, number]> = [];
  for (let n0 = 0; n0 < d.N; n0 += size) out.push([n0, Math.min(d.N, n0 + size)]);
  return out;
}

/** The adjoint of im2col: adds each column entry back onto the input pixel it was read from. */
function col2imAdd(cols: Float32Array, L: number, col0: number, d: ConvDims, dx: Float32Array, n: number): void {
  const { C, H, W, kh, kw, Ho, Wo, stride, padding } = d;
  const dxOff = n * C * H * W;
  for (let c = 0; c < C; c++) {
    for (let ki = 0; ki < kh; ki++) {
      for (let kj = 0; kj < kw; kj++) {
        const row = ((c * kh + ki) * kw + kj) * L + col0;
        for (let oy = 0; oy < Ho; oy++) {
          const iy = oy * stride - padding + ki;
          if (iy < 0 || iy >= H) continue;
          const dst = dxOff + (c * H + iy) * W;
          const src = row + oy * Wo;
          for (let ox = 0; ox < Wo; ox++) {
            const ix = ox * stride - padding + kj;
            if (ix >= 0 && ix < W) dx[dst + ix] += cols[src + ox]!;
          }
        }
      }
    }
  }
}

// Scratch matrices reused between calls (a training step makes hundreds of convolutions).
const scratch = new Map<string, Float32Array | Float64Array>();
function scratchOf<T extends Float32Array | Float64Array>(name: string, size: number, type: new (n: number) => T): T {
  let buffer = scratch.get(name) as T | undefined;
  if (!buffer || buffer.length < size) scratch.set(name, (buffer = new type(size)));
  return buffer.subarray(0, size) as T;
}

const rowMajor = (data: Float32Array, cols: number): Mat => ({ data, offset: 0, rowStride: cols, colStride: 1 });

/** Moves between the [n][f][p] layout of y/dy and the [f][(n,p)] layout of the GEMM. */
function transposeBlocks(src: Float32Array, dst: Float32Array, n0: number, n1: number, F: number, P: number, toGemm: boolean): void {
  const L = (n1 - n0) * P;
  for (let n = n0; n < n1; n++) {
    for (let f = 0; f < F; f++) {
      const a = (n * F + f) * P, b = f * L + (n - n0) * P;
      if (toGemm) dst.set(src.subarray(a, a + P), b);
      else dst.set(src.subarray(b, b + P), a);
    }
  }
}

// ------------------------------------------------------------------ Winograd

/** Tiles per block of the forward pass (per thread) and of the filter gradient (shared by all threads). */
const WINOGRAD_TILES = 32, FILTER_GRAD_TILES = 256;

/** Winograd F(4×4, 3×3) computes 3×3 stride-1 convolutions; padding up to 2 keeps the input gradient one too. */
function winograd(d: ConvDims, algorithm: ConvAlgorithm): boolean {
  return algorithm === 'auto' && d.kh === 3 && d.kw === 3 && d.stride === 1 && d.padding <= 2;
}

const winogradDims = (d: ConvDims): WinogradDims => ({ N: d.N, C: d.C, H: d.H, W: d.W, F: d.F, Ho: d.Ho, Wo: d.Wo, padding: d.padding });

/** Whether a Winograd convolution has enough multiply-adds (36 per tile, filter and channel) to run on all threads. */
const parallelWinograd = (d: WinogradDims) => tileCount(d) * 36 * d.F * d.C >= PARALLEL_MIN_WORK;

/** y = conv(x, g) + bias by Winograd; `flipped` convolves with the input gradient's filters instead. */
function winogradConv(x: Float32Array, w: Float32Array, bias: Float32Array | null, d: WinogradDims, flipped: boolean): Float32Array {
  const u = transformFilters(w, flipped ? d.C : d.F, flipped ? d.F : d.C, flipped);
  const y = new Float32Array(d.N * d.F * d.Ho * d.Wo);
  runTask('winogradConv', { ...d, x, u, bias: bias ?? new Float32Array(d.F), y, block: WINOGRAD_TILES }, { out: ['y'] }, parallelWinograd(d));
  return y;
}

function winogradFilterGrad(x: Float32Array, dy: Float32Array, d: WinogradDims): Float32Array {
  const dw = new Float32Array(d.F * d.C * 9);
  const block = Math.min(FILTER_GRAD_TILES, Math.ceil(tileCount(d) / TILE) * TILE);
  const size = filterGradScratch(d, block);
  runTask('winogradFilterGrad', { ...d, x, dy, dw, vb: scratchOf('v', size.vb, Float64Array), mb: scratchOf('m', size.mb, Float64Array), du: scratchOf('u', size.du, Float64Array), block },
    { out: ['dw'], scratch: ['vb', 'mb', 'du'] }, parallelWinograd(d));
  return dw;
}

// ------------------------------------------------------------------ entry points

/** x, w (and bias) contiguous; returns y [N,F,Ho,Wo]. */
export function conv2dForward(x: Float32Array, w: Float32Array, bias: Float32Array | null, d: ConvDims, algorithm: ConvAlgorithm = 'auto'): Float32Array {
  if (winograd(d, algorithm)) return winogradConv(x, w, bias, winogradDims(d), false);
  const K = d.C * d.kh * d.kw, P = d.Ho * d.Wo;
  const y = new Float32Array(d.N * d.F * P);
  for (const [n0, n1] of groups(d)) {
    const L = (n1 - n0) * P;
    const yg = scratchOf('gemmOut', d.F * L, Float32Array);
    for (let f = 0; f < d.F; f++) yg.fill(bias ? bias[f]! : 0, f * L, (f + 1) * L);
    // Implicit GEMM: the im2col matrix is packed straight from x, block by block, never stored.
    gemm(d.F, L, K, rowMajor(w, K), { x, ...d, n0 }, { data: yg, offset: 0, rowStride: L }, true);
    transposeBlocks(yg, y, n0, n1, d.F, P, false);
  }
  return y;
}

/** dy [N,F,Ho,Wo], w [F,C,kh,kw] contiguous; returns dx [N,C,H,W]. */
export function conv2dBackwardInput(dy: Float32Array, w: Float32Array, d: ConvDims, algorithm: ConvAlgorithm = 'auto'): Float32Array {
  // A convolution of dy (F channels, Ho×Wo) with the flipped filters, back to C channels, H×W.
  if (winograd(d, algorithm)) return winogradConv(dy, w, null, { N: d.N, C: d.F, H: d.Ho, W: d.Wo, F: d.C, Ho: d.H, Wo: d.W, padding: 2 - d.padding }, true);
  const K = d.C * d.kh * d.kw, P = d.Ho * d.Wo;
  const dx = new Float32Array(d.N * d.C * d.H * d.W);
  const wT: Mat = { data: w, offset: 0, rowStride: 1, colStride: K };
  for (const [n0, n1] of groups(d)) {
    const L = (n1 - n0) * P;
    const dyg = scratchOf('gemmIn', d.F * L, Float32Array);
    transposeBlocks(dy, dyg, n0, n1, d.F, P, true);
    const dcols = scratchOf('cols', K * L, Float32Array);
    gemm(K, L, d.F, wT, rowMajor(dyg, L), { data: dcols, offset: 0, rowStride: L }, false);
    for (let n = n0; n < n1; n++) col2imAdd(dcols, L, (n - n0) * P, d, dx, n);
  }
  return dx;
}

/** x [N,C,H,W], dy [N,F,Ho,Wo] contiguous; returns dw [F,C,kh,kw]. */
export function conv2dBackwardWeight(x: Float32Array, dy: Float32Array, d: ConvDims, algorithm: ConvAlgorithm = 'auto'): Float32Array {
  if (winograd(d, algorithm)) return winogradFilterGrad(x, dy, winogradDims(d));
  const K = d.C * d.kh * d.kw, P = d.Ho * d.Wo;
  const dw = new Float32Array(d.F * K);
  for (const [n0, n1] of groups(d)) {
    const L = (n1 - n0) * P;
    const dyg = scratchOf('gemmIn', d.F * L, Float32Array);
    transposeBlocks(dy, dyg, n0, n1, d.F, P, true);
    gemm(d.F, K, L, rowMajor(dyg, L), { x, ...d, n0, transposed: true }, { data: dw, offset: 0, rowStride: K }, true);
  }
  return dw;
}
