// Winograd convolution F(4×4, 3×3) (Lavin & Gray, "Fast Algorithms for Convolutional Neural
// Networks", 2016) for 3×3 stride-1 convolutions: nearly all of the UNet's work.
//
// A 4×4 block of a 3×3 filter g's outputs reads a 6×6 block d of the input. Winograd's minimal
// filtering algorithm gets it with 36 multiplications instead of 4·4·9 = 144:
//     y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A
// where the constant matrices come from interpolating polynomials at the points 0, ±1, ±2, ∞:
//
//        Bᵀ (input)              G (filter)                 Aᵀ (output)
//   [4  0 −5  0  1  0]     [ 1/4     0     0  ]       [1  1  1  1  1  0]
//   [0 −4 −4  1  1  0]     [−1/6  −1/6  −1/6 ]        [0  1 −1  2 −2  0]
//   [0  4 −4 −1  1  0]     [−1/6   1/6  −1/6 ]        [0  1  1  4  4  0]
//   [0 −2 −1  2  1  0]     [1/24  1/12  1/6  ]        [0  1 −1  8 −8  1]
//   [0  2 −1 −2  1  0]     [1/24 −1/12  1/6  ]
//   [0  4  0 −5  0  1]     [  0     0     1  ]
//
// Over C input channels the sum moves inside the brackets, so for each of the 36 transform points
// ξ the work is one matrix product over all tiles:
//     M[ξ] (F × tiles) = U[ξ] (F × C) · V[ξ] (C × tiles),   U = G g Gᵀ,  V = Bᵀ d B,
// then y = Aᵀ M A tile by tile: 36·F·C multiply-adds per 16 outputs instead of 144·F·C.
//
// Backward, everything is linear, so the gradients use the same matrices transposed:
//  - input: a stride-1 convolution's input gradient is a convolution of dy with the filters
//    flipped and their in/out channels swapped, padding 2 − p: the same forward code;
//  - filter: with dM = A dy Aᵀ per output tile, dU[ξ] = Σ_tiles dM[ξ] · V[ξ]ᵀ and dg = Gᵀ dU G.
//
// Transformed values are kept in float64 and go straight into the GEMM micro-kernel's panel
// layout (4 lines × k steps, see gemm.ts), so the transforms add no float32 rounding and there
// is no separate packing pass.

import { microKernel } from './gemm.js';
import { share, type TaskContext } from './task-context.js';

/** Outputs per tile side (m), inputs per tile side (m + 2), transform points per tile. */
export const TILE = 4;
const ALPHA = 6;
const POINTS = ALPHA * ALPHA;

// ------------------------------------------------------------------ the 1-D transforms
// Each reads a vector from src (start so, stride ss) and writes its image to dst (start dO, stride ds).

/** Bᵀ d: 6 → 6 (read from the input itself or from a float64 partial result). */
function inputTransform(s: Float32Array | Float64Array, so: number, ss: number, d: Float64Array, dO: number, ds: number): void {
  const d0 = s[so]!, d1 = s[so + ss]!, d2 = s[so + 2 * ss]!, d3 = s[so + 3 * ss]!, d4 = s[so + 4 * ss]!, d5 = s[so + 5 * ss]!;
  d[dO] = 4 * d0 - 5 * d2 + d4;
  d[dO + ds] = d3 + d4 - 4 * (d1 + d2);
  d[dO + 2 * ds] = 4 * (d1 - d2) + d4 - d3;
  d[dO + 3 * ds] = 2 * (d3 - d1) + d4 - d2;
  d[dO + 4 * ds] = 2 * (d1 - d3) + d4 - d2;
  d[dO + 5 * ds] = 4 * d1 - 5 * d3 + d5;
}

/** G g: 3 → 6. */
function filterTransform(s: Float64Array, so: number, ss: number, d: Float64Array, dO: number, ds: number): void {
  const g0 = s[so]!, g1 = s[so + ss]!, g2 = s[so + 2 * ss]!;
  d[dO] = g0 / 4;
  d[dO + ds] = -(g0 + g1 + g2) / 6;
  d[dO + 2 * ds] = -(g0 - g1 + g2) / 6;
  d[dO + 3 * ds] = g0 / 24 + g1 / 12 + g2 / 6;
  d[dO + 4 * ds] = g0 / 24 - g1 / 12 + g2 / 6;
  d[dO + 5 * ds] = g2;
}

/** Aᵀ m: 6 → 4. */
function outputTransform(s: Float64Array, so: number, ss: number, d: Float64Array, dO: number, ds: number): void {
  const m0 = s[so]!, m1 = s[so + ss]!, m2 = s[so + 2 * ss]!, m3 = s[so + 3 * ss]!, m4 = s[so + 4 * ss]!, m5 = s[so + 5 * ss]!;
  const p = m1 + m2, q = m1 - m2, r = m3 + m4, u = m3 - m4;
  d[dO] = m0 + p + r;
  d[dO + ds] = q + 2 * u;
  d[dO + 2 * ds] = p + 4 * r;
  d[dO + 3 * ds] = q + 8 * u + m5;
}

/** A e (the adjoint of the output transform): 4 → 6. */
function outputTransformAdjoint(s: Float64Array, so: number, ss: number, d: Float64Array, dO: number, ds: number): void {
  const e0 = s[so]!, e1 = s[so + ss]!, e2 = s[so + 2 * ss]!, e3 = s[so + 3 * ss]!;
  d[dO] = e0;
  d[dO + ds] = e0 + e1 + e2 + e3;
  d[dO + 2 * ds] = e0 - e1 + e2 - e3;
  d[dO + 3 * ds] = e0 + 2 * e1 + 4 * e2 + 8 * e3;
  d[dO + 4 * ds] = e0 - 2 * e1 + 4 * e2 - 8 * e3;
  d[dO + 5 * ds] = e3;
}

/** Gᵀ u (the adjoint of the filter transform): 6 → 3. */
function filterTransformAdjoint(s: Float64Array, so: number, ss: number, d: Float64Array, dO: number, ds: number): void {
  const u0 = s[so]!, u1 = s[so + ss]!, u2 = s[so + 2 * ss]!, u3 = s[so + 3 * ss]!, u4 = s[so + 4 * ss]!, u5 = s[so + 5 * ss]!;
  d[dO] = u0 / 4 - (u1 + u2) / 6 + (u3 + u4) / 24;
  d[dO + ds] = (u2 - u1) / 6 + (u3 - u4) / 12;
  d[dO + 2 * ds] = (u3 + u4 - u1 - u2) / 6 + u5;
}

// ------------------------------------------------------------------ geometry

/** A stride-1 3×3 convolution: x [N,C,H,W] → y [N,F,Ho,Wo] with padding p. */
export interface WinogradDims {
  N: number; C: number; H: number; W: number;
  F: number; Ho: number; Wo: number; padding: number;
}

const roundUp4 = (n: number) => Math.ceil(n / 4) * 4;

/**
 * The stride between the matrices of consecutive transform points: a matrix's size plus one
 * cache line. Each tile writes (or reads) one value per point; at a power-of-two stride those
 * 36 addresses all fall in the same cache set and evict each other (measured: 2.5× slower).
 */
const pointStride = (size: number) => size + 8;

/** Offset of (line, step) in a panel layout: 4-line panels, each `steps` long, lines innermost. */
const panelOffset = (line: number, step: number, steps: number) => (line >> 2) * 4 * steps + 4 * step + (line & 3);

export function tileCount(d: WinogradDims): number {
  return d.N * Math.ceil(d.Ho / TILE) * Math.ceil(d.Wo / TILE);
}

/**
 * Tile t = (image n, tile row, tile column): where its 6×6 input patch and 4×4 output block
 * start. Rows/columns of the patch outside the image read as zeros (the padding).
 */
class TileWalker {
  n = 0; oy = 0; ox = 0;
  /** The patch's rows [r0, r1) and columns [c0, c1) that lie inside the image (the rest is padding). */
  r0 = 0; r1 = 0; c0 = 0; c1 = 0;
  constructor(readonly d: WinogradDims) {}

  at(t: number): this {
    const { H, W, Ho, Wo, padding } = this.d;
    const tw = Math.ceil(Wo / TILE), perImage = Math.ceil(Ho / TILE) * tw;
    this.n = Math.floor(t / perImage);
    const r = t - this.n * perImage;
    this.oy = Math.floor(r / tw) * TILE;
    this.ox = (r % tw) * TILE;
    const y0 = this.oy - padding, x0 = this.ox - padding;
    this.r0 = Math.max(0, -y0);
    this.r1 = Math.min(ALPHA, H - y0);
    this.c0 = Math.max(0, -x0);
    this.c1 = Math.min(ALPHA, W - x0);
    return this;
  }

  /**
   * V = Bᵀ d B for this tile's 6×6 input patch d in the channel plane at `base` (an offset into
   * x), into out[o + ξ·slice]. A patch inside the image is read in place; one over the border is
   * first copied out, with zeros for the padding.
   */
  transformInput(x: Float32Array, base: number, out: Float64Array, o: number, slice: number): void {
    const { r0, r1, c0, c1 } = this, W = this.d.W;
    let src = x, start = base + (this.oy - this.d.padding) * W + this.ox - this.d.padding, stride = W;
    if (r0 > 0 || c0 > 0 || r1 < ALPHA || c1 < ALPHA) {
      patch.fill(0);
      for (let i = r0; i < r1; i++) for (let k = c0; k < c1; k++) patch[i * ALPHA + k] = x[start + i * W + k]!;
      src = patch;
      start = 0;
      stride = ALPHA;
    }
    for (let k = 0; k < ALPHA; k++) inputTransform(src, start + k, stride, partial, k, ALPHA);
    for (let i = 0; i < ALPHA; i++) inputTransform(partial, i * ALPHA, 1, out, o + i * ALPHA * slice, slice);
  }
}

// Scratch reused between calls, one set per thread (each worker has its own module instance).
const patch = new Float32Array(POINTS), partial = new Float64Array(POINTS), outTile = new Float64Array(POINTS), points = new Float64Array(POINTS);
let vScratch = new Float64Array(0), mScratch = new Float64Array(0), tileOut = new Int32Array(0);

// ------------------------------------------------------------------ filters

/**
 * U[ξ] = G g Gᵀ for every filter, as 36 matrices (F rows, C steps) in A-panel layout, rows
 * padded to a multiple of 4 with zeros. With `flipped`, the filters of the input gradient:
 * g'[c][f] = g[f][c] rotated 180°, so F and C swap.
 */
export function transformFilters(w: Float32Array, F: number, C: number, flipped: boolean): Float64Array {
  const rowsOut = flipped ? C : F, stepsOut = flipped ? F : C;
  const slice = pointStride(roundUp4(rowsOut) * stepsOut);
  const u = new Float64Array(POINTS * slice);
  const g = new Float64Array(9), t = new Float64Array(ALPHA * 3), gg = new Float64Array(POINTS);
  for (let f = 0; f < F; f++) {
    for (let c = 0; c < C; c++) {
      const base = (f * C + c) * 9;
      for (let k = 0; k < 9; k++) g[k] = w[base + (flipped ? 8 - k : k)]!;
      for (let k = 0; k < 3; k++) filterTransform(g, k, 3, t, k, 3);
      for (let i = 0; i < ALPHA; i++) filterTransform(t, i * 3, 1, gg, i * ALPHA, 1);
      const o = flipped ? panelOffset(c, f, stepsOut) : panelOffset(f, c, stepsOut);
      for (let xi = 0; xi < POINTS; xi++) u[xi * slice + o] = gg[xi]!;
    }
  }
  return u;
}

// ------------------------------------------------------------------ forward (and input gradient)

export interface WinogradConvParams extends WinogradDims {
  [key: string]: number | Float32Array | Float64Array;
  x: Float32Array;
  /** transformFilters' output for F output and C input channels. */
  u: Float64Array;
  /** Added to every output of a filter ([F]). */
  bias: Float32Array;
  y: Float32Array;
  /** Tiles per block: bounds the scratch memory and keeps a block's panels in cache. */
  block: number;
}

/** y = conv(x, g): each thread takes a contiguous range of tiles and does all of their work. */
export function winogradConvTask(p: WinogradConvParams, ctx: TaskContext): void {
  const [start, end] = share(tileCount(p), ctx);
  for (let t0 = start; t0 < end; t0 += p.block) convolveTiles(p, t0, Math.min(end, t0 + p.block));
}

function convolveTiles(p: WinogradConvParams, t0: number, t1: number): void {
  const { x, u, bias, y, C, H, W, F, Ho, Wo } = p;
  const n = t1 - t0, cols = roundUp4(n), rows = roundUp4(F);
  const vSlice = pointStride(C * cols), mSlice = pointStride(rows * cols), uSlice = pointStride(rows * C);
  if (vScratch.length < POINTS * vSlice) vScratch = new Float64Array(POINTS * vSlice);
  if (mScratch.length < POINTS * mSlice) mScratch = new Float64Array(POINTS * mSlice);
  const v = vScratch, m = mScratch;
  const walker = new TileWalker(p);

  // 1. V[ξ] = Bᵀ d B: the tiles are the lines of B panels, channels their steps.
  for (let j = 0; j < cols; j++) {
    const lineBase = panelOffset(j, 0, C);
    if (j >= n) {
      for (let xi = 0; xi < POINTS; xi++) for (let c = 0; c < C; c++) v[xi * vSlice + lineBase + 4 * c] = 0;
      continue;
    }
    walker.at(t0 + j);
    for (let c = 0; c < C; c++) {
      walker.transformInput(x, (walker.n * C + c) * H * W, v, lineBase + 4 * c, vSlice);
    }
  }

  // 2. M[ξ] = U[ξ] · V[ξ], 4×4 blocks by the micro-kernel, into row-major M (rows × cols).
  m.fill(0, 0, POINTS * mSlice);
  for (let xi = 0; xi < POINTS; xi++) {
    for (let jp = 0; jp < cols; jp += 4) {
      for (let fp = 0; fp < rows; fp += 4) {
        microKernel(C, u, xi * uSlice + fp * C, v, xi * vSlice + jp * C, m, xi * mSlice + fp * cols + jp, cols, 4, 4);
      }
    }
  }

  // 3. y = Aᵀ M A + bias per filter and tile (along M's rows); only outputs inside the image are written.
  if (tileOut.length < 3 * n) tileOut = new Int32Array(3 * n);
  for (let j = 0; j < n; j++) {
    walker.at(t0 + j);
    tileOut[3 * j] = walker.n * F * Ho * Wo + walker.oy * Wo + walker.ox;
    tileOut[3 * j + 1] = Math.min(TILE, Ho - walker.oy);
    tileOut[3 * j + 2] = Math.min(TILE, Wo - walker.ox);
  }
  for (let f = 0; f < F; f++) {
    const b = bias[f]!;
    for (let j = 0; j < n; j++) {
      for (let k = 0; k < ALPHA; k++) outputTransform(m, f * cols + j + k * mSlice, ALPHA * mSlice, partial, k, ALPHA);
      for (let i = 0; i < TILE; i++) outputTransform(partial, i * ALPHA, 1, outTile, i * TILE, 1);
      const out = tileOut[3 * j]! + f * Ho * Wo, rowsLeft = tileOut[3 * j + 1]!, colsLeft = tileOut[3 * j + 2]!;
      for (let i = 0; i < rowsLeft; i++) for (let k = 0; k < colsLeft; k++) y[out + i * Wo + k] = outTile[i * TILE + k]! + b;
    }
  }
}

// ------------------------------------------------------------------ filter gradient

export interface WinogradFilterGradParams extends WinogradDims {
  [key: string]: number | Float32Array | Float64Array;
  x: Float32Array;
  dy: Float32Array;
  /** dL/dg [F, C, 3, 3] (written in full). */
  dw: Float32Array;
  /** Shared scratch: V and dM of one block of tiles, and dU (36 × F × C, float64). */
  vb: Float64Array;
  mb: Float64Array;
  du: Float64Array;
  block: number;
}

/** Scratch sizes for winogradFilterGradTask. */
export function filterGradScratch(d: WinogradDims, block: number): { vb: number; mb: number; du: number } {
  return { vb: POINTS * pointStride(roundUp4(d.C) * block), mb: POINTS * pointStride(roundUp4(d.F) * block), du: POINTS * pointStride(roundUp4(d.F) * roundUp4(d.C)) };
}

/**
 * dg = Gᵀ (Σ_tiles dM[ξ] · V[ξ]ᵀ) G, block of tiles by block, in three phases per block: all
 * threads transform their share of the block's tiles; each thread adds the products of its own
 * transform points ξ; at the end each thread maps its own filters back. Every sum runs in the
 * same order whatever the thread count.
 */
export function winogradFilterGradTask(p: WinogradFilterGradParams, ctx: TaskContext): void {
  const { x, dy, dw, vb, mb, du, C, H, W, F, Ho, Wo, block } = p;
  const rows = roundUp4(F), steps = roundUp4(C), duSlice = pointStride(rows * steps);
  const [xi0, xi1] = share(POINTS, ctx);
  du.fill(0, xi0 * duSlice, xi1 * duSlice);
  const walker = new TileWalker(p);
  const T = tileCount(p);
  for (let t0 = 0; t0 < T; t0 += block) {
    const n = Math.min(block, T - t0), k = roundUp4(n);
    const vSlice = pointStride(steps * k), mSlice = pointStride(rows * k);
    // 1. This thread's tiles of the block: V = Bᵀ x B (lines: channels) and dM = A dy Aᵀ
    //    (lines: filters), the tiles being the steps; padding lines and steps are zeros.
    const [j0, j1] = share(k, ctx);
    for (let j = j0; j < j1; j++) {
      if (j < n) walker.at(t0 + j);
      for (let c = 0; c < steps; c++) {
        const o = panelOffset(c, j, k);
        if (j >= n || c >= C) {
          for (let xi = 0; xi < POINTS; xi++) vb[xi * vSlice + o] = 0;
          continue;
        }
        walker.transformInput(x, (walker.n * C + c) * H * W, vb, o, vSlice);
      }
      const rowsLeft = j < n ? Math.min(TILE, Ho - walker.oy) : 0, colsLeft = j < n ? Math.min(TILE, Wo - walker.ox) : 0;
      for (let f = 0; f < rows; f++) {
        const o = panelOffset(f, j, k);
        if (f >= F || rowsLeft === 0) {
          for (let xi = 0; xi < POINTS; xi++) mb[xi * mSlice + o] = 0;
          continue;
        }
        const src = (walker.n * F + f) * Ho * Wo + walker.oy * Wo + walker.ox;
        outTile.fill(0, 0, TILE * TILE);
        for (let i = 0; i < rowsLeft; i++) for (let q = 0; q < colsLeft; q++) outTile[i * TILE + q] = dy[src + i * Wo + q]!;
        for (let q = 0; q < TILE; q++) outputTransformAdjoint(outTile, q, TILE, partial, q, TILE);
        for (let i = 0; i < ALPHA; i++) outputTransformAdjoint(partial, i * TILE, 1, mb, o + i * ALPHA * mSlice, mSlice);
      }
    }
    ctx.barrier();
    // 2. dU[ξ] += dM[ξ] · V[ξ]ᵀ for this thread's points: both are panels along the tiles.
    for (let xi = xi0; xi < xi1; xi++) {
      for (let fp = 0; fp < rows; fp += 4) {
        for (let cp = 0; cp < steps; cp += 4) {
          microKernel(k, mb, xi * mSlice + fp * k, vb, xi * vSlice + cp * k, du, xi * duSlice + fp * steps + cp, steps, 4, 4);
        }
      }
    }
    ctx.barrier();
  }
  // 3. dg = Gᵀ dU G for this thread's filters.
  const [f0, f1] = share(F, ctx);
  const g = new Float64Array(9);
  for (let f = f0; f < f1; f++) {
    for (let c = 0; c < C; c++) {
      for (let xi = 0; xi < POINTS; xi++) points[xi] = du[xi * duSlice + f * steps + c]!;
      for (let q = 0; q < ALPHA; q++) filterTransformAdjoint(points, q, ALPHA, partial, q, ALPHA);
      for (let i = 0; i < 3; i++) filterTransformAdjoint(partial, i * ALPHA, 1, g, i * 3, 1);
      for (let q = 0; q < 9; q++) dw[(f * C + c) * 9 + q] = g[q]!;
    }
  }
}
