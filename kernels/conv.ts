// 2-D convolution (cross-correlation, as PyTorch) and its two gradients, on contiguous NCHW
// inputs. Sizes are constants: batch N, channels C (in) and F (out), input H×W, kernel kh×kw,
// output Ho×Wo, stride s, padding p. One thread per output element; every loop bound is a
// constant (a 3×3 convolution over 128 channels sums 1,152 terms, past gpu.js's default
// limit of 1,000 for bounds it cannot see).
//
//   forward       y[n,f,oy,ox] = bias[f] + Σ_{c,ky,kx} x[n,c,oy·s−p+ky, ox·s−p+kx] · w[f,c,ky,kx]
//                                 (+ add[n,f,oy,ox] when hasAdd is 1: a residual, read through
//                                 its strided view as it is written)
//                                 (+ Σ_k u[n,k]·pw[f,k] + pb[f] when hasProjection is 1: a
//                                 per-image channel bias made by a Linear, the time embedding's)
//   input grad    dx[n,c,iy,ix] = Σ_{f,ky,kx} dy[n,f,oy,ox] · w[f,c,ky,kx]
//                                 over the (oy, ox) with oy·s−p+ky = iy and ox·s−p+kx = ix
//   weight grad   dw[f,c,ky,kx] = Σ_{n,oy,ox} dy[n,f,oy,ox] · x[n,c,oy·s−p+ky, ox·s−p+kx]
//   bias grad     db[f] = Σ_{n,oy,ox} dy[n,f,oy,ox], written after dw by the same kernel (its
//                 threads past dw's): the gradients are views of one storage, one launch (twice
//                 over for a projection's bias, added as the conv's is: its gradient is the same)
// (Taps that fall in the zero padding contribute nothing.) The weight and bias are read from wAt
// and biasAt on (arguments): a parameter lives inside its optimizer's flat state (src/optim/adam.ts).
// The weight gradient's sum runs over every image and output pixel (16,384 products a weight for
// UNet-S at batch 16), and a GPU thread that adds that many serially leaves most of the GPU idle
// (there are only F·C·kh·kw weights). So the kernel computes partial sums: thread (part, f, c,
// ky, kx) sums the R output rows (n, oy) of its part (and thread (part, f) of the bias's block
// its dy), and the backend adds the parts (a reduce).

import type { Input, KernelThis } from './types.js';
import { floorDiv, viewOffset } from './strided.js';

export function conv2d(this: KernelThis, x: Input, w: Input, bias: Input, add: Input, u: Input, pw: Input, pb: Input, wAt: number, biasAt: number, pwAt: number, pbAt: number): number {
  let q = floorDiv(this.thread.x, this.constants.Wo!);
  const ox = this.thread.x - q * this.constants.Wo!;
  let q2 = floorDiv(q, this.constants.Ho!);
  const oy = q - q2 * this.constants.Ho!;
  q = floorDiv(q2, this.constants.F!);
  const f = q2 - q * this.constants.F!;
  const n = q;
  let sum = this.constants.hasBias === 1 ? bias[biasAt + f]! : 0;
  // Where rows and planes start, worked out once outside the loops that use them: the shader
  // does its index arithmetic in float32, so every product saved in the inner loop counts.
  const iy0 = oy * this.constants.s! - this.constants.p!;
  const ix0 = ox * this.constants.s! - this.constants.p!;
  const xImage = n * this.constants.C! * this.constants.H! * this.constants.W!;
  const wFilter = wAt + f * this.constants.C! * this.constants.kh! * this.constants.kw!;
  for (let c = 0; c < this.constants.C!; c++) {
    const xPlane = xImage + c * this.constants.H! * this.constants.W!;
    const wPlane = wFilter + c * this.constants.kh! * this.constants.kw!;
    for (let ky = 0; ky < this.constants.kh!; ky++) {
      const iy = iy0 + ky;
      if (iy >= 0 && iy < this.constants.H!) {
        const xRow = xPlane + iy * this.constants.W!;
        const wRow = wPlane + ky * this.constants.kw!;
        for (let kx = 0; kx < this.constants.kw!; kx++) {
          const ix = ix0 + kx;
          if (ix >= 0 && ix < this.constants.W!) {
            sum += x[xRow + ix]! * w[wRow + kx]!;
          }
        }
      }
    }
  }
  if (this.constants.hasAdd === 1) {
    sum += add[viewOffset(this.thread.x, this.constants.addOffset!, this.constants.add0!, this.constants.add1!, this.constants.add2!, this.constants.add3!, this.constants.add4!, this.constants.add5!)]!;
  }
  if (this.constants.hasProjection === 1) {
    // The image's projection for channel f, Σ_k u[n,k]·pw[f,k] (+ pb[f]): every thread of the
    // channel works it out again (K products, a fraction of its convolution's) instead of a launch.
    let projection = 0;
    const uRow = n * this.constants.K!;
    const pwRow = pwAt + f * this.constants.K!;
    for (let k = 0; k < this.constants.K!; k++) projection += u[uRow + k]! * pw[pwRow + k]!;
    if (this.constants.hasProjectionBias === 1) projection += pb[pbAt + f]!;
    sum += projection;
  }
  return sum;
}

export function conv2dBackwardInput(this: KernelThis, dy: Input, w: Input, wAt: number): number {
  let q = floorDiv(this.thread.x, this.constants.W!);
  const ix = this.thread.x - q * this.constants.W!;
  let q2 = floorDiv(q, this.constants.H!);
  const iy = q - q2 * this.constants.H!;
  q = floorDiv(q2, this.constants.C!);
  const c = q2 - q * this.constants.C!;
  const n = q;
  let sum = 0;
  const dyImage = n * this.constants.F! * this.constants.Ho! * this.constants.Wo!;
  for (let f = 0; f < this.constants.F!; f++) {
    const dyPlane = dyImage + f * this.constants.Ho! * this.constants.Wo!;
    const wPlane = wAt + (f * this.constants.C! + c) * this.constants.kh! * this.constants.kw!;
    for (let ky = 0; ky < this.constants.kh!; ky++) {
      // oy·s = iy + p − ky must be a multiple of s, inside the output.
      const ty = iy + this.constants.p! - ky;
      const oy = floorDiv(ty, this.constants.s!);
      if (ty >= 0 && oy * this.constants.s! === ty && oy < this.constants.Ho!) {
        const dyRow = dyPlane + oy * this.constants.Wo!;
        const wRow = wPlane + ky * this.constants.kw!;
        for (let kx = 0; kx < this.constants.kw!; kx++) {
          const tx = ix + this.constants.p! - kx;
          const ox = floorDiv(tx, this.constants.s!);
          if (tx >= 0 && ox * this.constants.s! === tx && ox < this.constants.Wo!) {
            sum += dy[dyRow + ox]! * w[wRow + kx]!;
          }
        }
      }
    }
  }
  return sum;
}

export function conv2dBackwardWeight(this: KernelThis, x: Input, dy: Input): number {
  // Each part's block: the F·C·kh·kw weight sums, then B bias sums (F for each copy of the bias's gradient).
  const block = this.constants.size! + this.constants.B!;
  const part = floorDiv(this.thread.x, block);
  const r = this.thread.x - part * block;
  let sum = 0;
  if (r >= this.constants.size!) {
    // dbias[f]: Σ over the part's rows of dy[n,f,oy,·].
    const b = r - this.constants.size!;
    const f = b - floorDiv(b, this.constants.F!) * this.constants.F!;
    for (let j = 0; j < this.constants.R!; j++) {
      const row = part * this.constants.R! + j;
      const n = floorDiv(row, this.constants.Ho!);
      const oy = row - n * this.constants.Ho!;
      if (n < this.constants.N!) {
        const dyRow = ((n * this.constants.F! + f) * this.constants.Ho! + oy) * this.constants.Wo!;
        for (let ox = 0; ox < this.constants.Wo!; ox++) sum += dy[dyRow + ox]!;
      }
    }
    return sum;
  }
  let q = floorDiv(r, this.constants.kw!);
  const kx = r - q * this.constants.kw!;
  let q2 = floorDiv(q, this.constants.kh!);
  const ky = q - q2 * this.constants.kh!;
  q = floorDiv(q2, this.constants.C!);
  const c = q2 - q * this.constants.C!;
  const f = q;
  for (let j = 0; j < this.constants.R!; j++) {
    const row = part * this.constants.R! + j;
    const n = floorDiv(row, this.constants.Ho!);
    const oy = row - n * this.constants.Ho!;
    const iy = oy * this.constants.s! - this.constants.p! + ky;
    if (n < this.constants.N! && iy >= 0 && iy < this.constants.H!) {
      const dyRow = ((n * this.constants.F! + f) * this.constants.Ho! + oy) * this.constants.Wo!;
      const xRow = ((n * this.constants.C! + c) * this.constants.H! + iy) * this.constants.W!;
      const ix0 = kx - this.constants.p!;
      for (let ox = 0; ox < this.constants.Wo!; ox++) {
        const ix = ix0 + ox * this.constants.s!;
        if (ix >= 0 && ix < this.constants.W!) {
          sum += dy[dyRow + ox]! * x[xRow + ix]!;
        }
      }
    }
  }
  return sum;
}
