// Matrix multiply for the CPU backend: C[M,N] (+)= A[M,K] · B[K,N], the kernel nearly all of
// the UNet's time goes through (convolutions are lowered to it).
//
// The GotoBLAS recipe, in plain TypeScript:
//  - blocks of KC×NC of B and MC×KC of A are copied ("packed") into small contiguous buffers,
//    arranged so the innermost loop reads both strictly sequentially (and strided or
//    transposed inputs cost nothing extra: packing reads any strides);
//  - a 4×4 micro-kernel keeps 16 partial sums of C in local variables (CPU registers) while it
//    walks the K dimension: per step 8 loads feed 16 multiply-adds;
//  - the blocks are sized to stay in the L1/L2 caches while they are reused.
// Packed values are stored as float64, so the inner loop does no float32 → float64 conversions,
// and partial sums are JavaScript doubles: each block's dot products accumulate in float64.

import { share, type TaskContext } from './task-context.js';

/** A strided 2-D matrix inside a Float32Array: element (r, c) is data[offset + r*rowStride + c*colStride]. */
export interface Mat {
  data: Float32Array;
  offset: number;
  rowStride: number;
  colStride: number;
}

const MR = 4, NR = 4;
const KC = 256, MC = 64, NC = 1024;

let packedA = new Float64Array(MC * KC);
let packedB = new Float64Array(NC * KC);

/**
 * Copies `panels` lines × `kc` steps of m into 4-line panels, dst[(panel·kc + k)·4 + i] (zero
 * padded). For A the lines are its rows; for B (`linesAreColumns`) its columns; k runs along the
 * other axis. Any strides work, so transposed views are packed as cheaply as plain ones.
 */
function packPanels(m: Mat, lineStart: number, lines: number, kStart: number, kc: number, dst: Float64Array, linesAreColumns: boolean): void {
  const { data } = m;
  const ls = linesAreColumns ? m.colStride : m.rowStride;
  const ks = linesAreColumns ? m.rowStride : m.colStride;
  const base = m.offset + lineStart * ls + kStart * ks;
  let p = 0;
  for (let i0 = 0; i0 < lines; i0 += 4) {
    const n = Math.min(4, lines - i0);
    for (let k = 0; k < kc; k++) {
      const src = base + i0 * ls + k * ks;
      for (let i = 0; i < 4; i++) dst[p++] = i < n ? data[src + i * ls]! : 0;
    }
  }
}

/** C block (rows × cols, at most 4×4) += the product of an A panel and a B panel over kc. */
export function microKernel(kc: number, a: Float64Array, aOff: number, b: Float64Array, bOff: number, c: Float32Array | Float64Array, cOff: number, ldc: number, rows: number, cols: number): void {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  let pa = aOff, pb = bOff;
  for (let k = 0; k < kc; k++, pa += 4, pb += 4) {
    const a0 = a[pa]!, a1 = a[pa + 1]!, a2 = a[pa + 2]!, a3 = a[pa + 3]!;
    const b0 = b[pb]!, b1 = b[pb + 1]!, b2 = b[pb + 2]!, b3 = b[pb + 3]!;
    c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
    c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
    c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
    c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
  }
  if (rows === 4 && cols === 4) {
    let p = cOff;
    c[p] += c00; c[p + 1] += c01; c[p + 2] += c02; c[p + 3] += c03; p += ldc;
    c[p] += c10; c[p + 1] += c11; c[p + 2] += c12; c[p + 3] += c13; p += ldc;
    c[p] += c20; c[p + 1] += c21; c[p + 2] += c22; c[p + 3] += c23; p += ldc;
    c[p] += c30; c[p + 1] += c31; c[p + 2] += c32; c[p + 3] += c33;
    return;
  }
  const tile = [c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33];
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) c[cOff + i * ldc + j] += tile[i * 4 + j]!;
}

/**
 * The im2col matrix of a convolution, never written out ("implicit GEMM"): row k = (c, ki, kj),
 * column j = (image n0 + n, oy, ox) holds x[n, c, oy·s − p + ki, ox·s − p + kj], or 0 outside.
 */
export interface Im2col {
  x: Float32Array;
  C: number; H: number; W: number;
  kh: number; kw: number;
  Ho: number; Wo: number;
  stride: number; padding: number;
  /** The first image of the group the columns cover. */
  n0: number;
  /** Use the transpose (rows (n, oy, ox), columns (c, ki, kj)), as the weight gradient does. */
  transposed?: boolean;
}

/**
 * An element of the im2col matrix is x at (position + tap): a column j = (n, oy, ox) gives the
 * window's corner (offset of image n, oy·s − p, ox·s − p), a row k = (c, ki, kj) the step
 * inside the window (offset of channel c, ki, kj). Each writes its three parts to out[at..at+2].
 */
function positionOf(m: Im2col, j: number, out: Int32Array, at: number): void {
  const P = m.Ho * m.Wo, q = j % P;
  out[at] = (m.n0 + Math.floor(j / P)) * m.C * m.H * m.W;
  out[at + 1] = Math.floor(q / m.Wo) * m.stride - m.padding;
  out[at + 2] = (q % m.Wo) * m.stride - m.padding;
}
function tapOf(m: Im2col, k: number, out: Int32Array, at: number): void {
  const khw = m.kh * m.kw, c = Math.floor(k / khw), r = k - c * khw, ki = Math.floor(r / m.kw);
  out[at] = c * m.H * m.W;
  out[at + 1] = ki;
  out[at + 2] = r - ki * m.kw;
}

const lineParts = new Int32Array(12);
let stepParts = new Int32Array(3 * KC);

/**
 * Packs an implicit im2col matrix like packPanels: `lines` lines from lineStart, `kc` steps from
 * kStart, as dst[(panel·kc + k)·4 + i]. The lines are its columns (positions) for the forward
 * pass, or its rows (taps) when the matrix is used transposed, as in the weight gradient.
 */
function packIm2col(m: Im2col, lineStart: number, lines: number, kStart: number, kc: number, dst: Float64Array): void {
  const { x, H, W } = m;
  const lineOf = m.transposed ? tapOf : positionOf, stepOf = m.transposed ? positionOf : tapOf;
  // The steps are the same for every panel: decompose them once.
  if (stepParts.length < 3 * kc) stepParts = new Int32Array(3 * kc);
  for (let k = 0; k < kc; k++) stepOf(m, kStart + k, stepParts, 3 * k);
  let p = 0;
  for (let i0 = 0; i0 < lines; i0 += 4) {
    const n = Math.min(4, lines - i0);
    for (let i = 0; i < n; i++) lineOf(m, lineStart + i0 + i, lineParts, 3 * i);
    for (let k = 0; k < kc; k++) {
      const off = stepParts[3 * k]!, dy = stepParts[3 * k + 1]!, dx = stepParts[3 * k + 2]!;
      for (let i = 0; i < 4; i++) {
        if (i >= n) {
          dst[p++] = 0;
          continue;
        }
        const iy = lineParts[3 * i + 1]! + dy, ix = lineParts[3 * i + 2]! + dx;
        dst[p++] = iy >= 0 && iy < H && ix >= 0 && ix < W ? x[lineParts[3 * i]! + off + iy * W + ix]! : 0;
      }
    }
  }
}

const isIm2col = (b: Mat | Im2col): b is Im2col => (b as Im2col).kh !== undefined;

/** The output matrix: C[i, j] is data[offset + i*rowStride + j]. */
export interface OutMat {
  data: Float32Array;
  offset: number;
  rowStride: number;
}

/**
 * C = A·B (or C += A·B when `accumulate`). A and B may have any strides (a transposed view is
 * just swapped strides); C's rows may be longer than N (a column block of a wider matrix).
 * Each element of C is computed by the same sequence of operations whatever the blocking, so
 * splitting C's columns between threads gives bit-identical results.
 */
export function gemm(M: number, N: number, K: number, A: Mat, B: Mat | Im2col, C: OutMat, accumulate: boolean, bColumnOffset = 0): void {
  const { data: c, rowStride: ldc } = C;
  if (!accumulate) for (let i = 0; i < M; i++) c.fill(0, C.offset + i * ldc, C.offset + i * ldc + N);
  if (M === 0 || N === 0 || K === 0) return;
  const paneledMC = Math.ceil(MC / MR) * MR;
  if (packedA.length < paneledMC * KC) packedA = new Float64Array(paneledMC * KC);
  if (packedB.length < Math.ceil(NC / NR) * NR * KC) packedB = new Float64Array(Math.ceil(NC / NR) * NR * KC);
  for (let jc = 0; jc < N; jc += NC) {
    const nc = Math.min(NC, N - jc);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = Math.min(KC, K - pc);
      if (isIm2col(B)) packIm2col(B, bColumnOffset + jc, nc, pc, kc, packedB);
      else packPanels(B, jc, nc, pc, kc, packedB, true);
      for (let ic = 0; ic < M; ic += MC) {
        const mc = Math.min(MC, M - ic);
        packPanels(A, ic, mc, pc, kc, packedA, false);
        for (let jr = 0; jr < nc; jr += NR) {
          const cols = Math.min(NR, nc - jr);
          const bOff = (jr / NR) * kc * NR;
          for (let ir = 0; ir < mc; ir += MR) {
            microKernel(kc, packedA, (ir / MR) * kc * MR, packedB, bOff, c, C.offset + (ic + ir) * ldc + jc + jr, ldc, Math.min(MR, mc - ir), cols);
          }
        }
      }
    }
  }
}

/**
 * The parameters of a product on several threads: flat numbers and arrays (no objects), so they
 * can be laid out in shared memory. `b` is B itself, or the images x of an implicit im2col B
 * (`implicit` 1, with the convolution's geometry).
 */
export interface GemmParams {
  [key: string]: number | Float32Array;
  M: number; N: number; K: number; accumulate: number;
  a: Float32Array; aOffset: number; aRowStride: number; aColStride: number;
  b: Float32Array; bOffset: number; bRowStride: number; bColStride: number;
  c: Float32Array;
  implicit: number; channels: number; H: number; W: number; kh: number; kw: number; Ho: number; Wo: number;
  stride: number; padding: number; transposed: number;
}

/** Each thread computes its own range of C's columns (C row-major, N wide). */
export function gemmTask(p: GemmParams, ctx: TaskContext): void {
  const [start, end] = share(p.N, ctx, NR);
  if (end <= start) return;
  const A: Mat = { data: p.a, offset: p.aOffset, rowStride: p.aRowStride, colStride: p.aColStride };
  const C: OutMat = { data: p.c, offset: start, rowStride: p.N };
  const B: Mat | Im2col = p.implicit
    ? { x: p.b, C: p.channels, H: p.H, W: p.W, kh: p.kh, kw: p.kw, Ho: p.Ho, Wo: p.Wo, stride: p.stride, padding: p.padding, n0: 0, transposed: p.transposed === 1 }
    : { data: p.b, offset: p.bOffset + start * p.bColStride, rowStride: p.bRowStride, colStride: p.bColStride };
  gemm(p.M, end - start, p.K, A, B, C, p.accumulate === 1, p.implicit ? start : 0);
}
