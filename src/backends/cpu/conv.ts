// 2-D convolution on the CPU, lowered to matrix products (im2col).
//
// For one image, im2col lays every receptive field out as a column: cols[(c,ki,kj), (oy,ox)] =
// x[c, oy*s - p + ki, ox*s - p + kj] (0 outside the image). Then
//   forward:          y[n]  = W · cols                      W as [Cout, Cin*kh*kw]
//   input gradient:   dcols = Wᵀ · dy[n],  dx[n] = col2im(dcols)   (col2im adds overlaps)
//   weight gradient:  dW   += dy[n] · colsᵀ
// A 1×1 convolution with stride 1 and no padding needs no im2col: cols is x[n] itself.

import { gemm, type Mat } from './gemm.js';

export interface ConvDims {
  N: number; C: number; H: number; W: number;
  F: number; kh: number; kw: number;
  Ho: number; Wo: number;
  stride: number; padding: number;
}

export function outputSize(inSize: number, k: number, stride: number, padding: number): number {
  return Math.floor((inSize + 2 * padding - k) / stride) + 1;
}

function isPointwise(d: ConvDims): boolean {
  return d.kh === 1 && d.kw === 1 && d.stride === 1 && d.padding === 0;
}

function im2col(x: Float32Array, xOff: number, d: ConvDims, cols: Float32Array): void {
  const { C, H, W, kh, kw, Ho, Wo, stride, padding } = d;
  const plane = Ho * Wo;
  for (let c = 0; c < C; c++) {
    for (let ki = 0; ki < kh; ki++) {
      for (let kj = 0; kj < kw; kj++) {
        const row = ((c * kh + ki) * kw + kj) * plane;
        for (let oy = 0; oy < Ho; oy++) {
          const iy = oy * stride - padding + ki;
          const out = row + oy * Wo;
          if (iy < 0 || iy >= H) {
            cols.fill(0, out, out + Wo);
            continue;
          }
          const src = xOff + (c * H + iy) * W;
          for (let ox = 0; ox < Wo; ox++) {
            const ix = ox * stride - padding + kj;
            cols[out + ox] = ix >= 0 && ix < W ? x[src + ix]! : 0;
          }
        }
      }
    }
  }
}

function col2imAdd(cols: Float32Array, d: ConvDims, dx: Float32Array, dxOff: number): void {
  const { C, H, W, kh, kw, Ho, Wo, stride, padding } = d;
  const plane = Ho * Wo;
  for (let c = 0; c < C; c++) {
    for (let ki = 0; ki < kh; ki++) {
      for (let kj = 0; kj < kw; kj++) {
        const row = ((c * kh + ki) * kw + kj) * plane;
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

function rowMajor(data: Float32Array, offset: number, cols: number): Mat {
  return { data, offset, rowStride: cols, colStride: 1 };
}

/** x, w contiguous (starting at offset 0); returns y [N,F,Ho,Wo]. */
export function conv2dForward(x: Float32Array, w: Float32Array, d: ConvDims): Float32Array {
  const { N, C, H, W, F, kh, kw, Ho, Wo } = d;
  const K = C * kh * kw, P = Ho * Wo;
  const y = new Float32Array(N * F * P);
  const cols = isPointwise(d) ? null : new Float32Array(K * P);
  for (let n = 0; n < N; n++) {
    let B: Mat;
    if (cols) {
      im2col(x, n * C * H * W, d, cols);
      B = rowMajor(cols, 0, P);
    } else {
      B = rowMajor(x, n * C * H * W, P);
    }
    gemm(F, P, K, rowMajor(w, 0, K), B, y, n * F * P, false);
  }
  return y;
}

/** dy [N,F,Ho,Wo], w [F,C,kh,kw] contiguous; returns dx [N,C,H,W]. */
export function conv2dBackwardInput(dy: Float32Array, w: Float32Array, d: ConvDims): Float32Array {
  const { N, C, H, W, F, kh, kw, Ho, Wo } = d;
  const K = C * kh * kw, P = Ho * Wo;
  const dx = new Float32Array(N * C * H * W);
  const wT: Mat = { data: w, offset: 0, rowStride: 1, colStride: K };
  const dcols = isPointwise(d) ? null : new Float32Array(K * P);
  for (let n = 0; n < N; n++) {
    const dyn = rowMajor(dy, n * F * P, P);
    if (dcols) {
      gemm(K, P, F, wT, dyn, dcols, 0, false);
      col2imAdd(dcols, d, dx, n * C * H * W);
    } else {
      gemm(K, P, F, wT, dyn, dx, n * C * H * W, false);
    }
  }
  return dx;
}

/** x [N,C,H,W], dy [N,F,Ho,Wo] contiguous; returns dw [F,C,kh,kw]. */
export function conv2dBackwardWeight(x: Float32Array, dy: Float32Array, d: ConvDims): Float32Array {
  const { N, C, H, W, F, kh, kw, Ho, Wo } = d;
  const K = C * kh * kw, P = Ho * Wo;
  const dw = new Float32Array(F * K);
  const cols = isPointwise(d) ? null : new Float32Array(K * P);
  for (let n = 0; n < N; n++) {
    let colsT: Mat;
    if (cols) {
      im2col(x, n * C * H * W, d, cols);
      colsT = { data: cols, offset: 0, rowStride: 1, colStride: P };
    } else {
      colsT = { data: x, offset: n * C * H * W, rowStride: 1, colStride: P };
    }
    gemm(F, K, P, rowMajor(dy, n * F * P, P), colsT, dw, 0, true);
  }
  return dw;
}
