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

/**
 * The same forward pass for the UNet's convolutions (3×3, stride 1, padding 1), four outputs a
 * thread where gpu.js returns four values a thread (WebGPU; the width a multiple of 4): outputs
 * ox0…ox0+3 of one row read six inputs of each input row, each loaded once, and three weights
 * (eighteen loads for twelve products, where one output a thread loads two a product); the bias
 * and the projection are worked out once for the four. Thread t writes elements 4t…4t+3. (A
 * general kernel size with a loop over the row ran at half this speed on SwiftShader: the
 * unrolled row is the point.)
 */
export function conv2dFour(this: KernelThis, x: Input, w: Input, bias: Input, add: Input, u: Input, pw: Input, pb: Input, wAt: number, biasAt: number, pwAt: number, pbAt: number): number[] {
  const quarter = this.constants.W! / 4;
  let q = floorDiv(this.thread.x, quarter);
  const ox0 = (this.thread.x - q * quarter) * 4;
  let q2 = floorDiv(q, this.constants.H!);
  const oy = q - q2 * this.constants.H!;
  q = floorDiv(q2, this.constants.F!);
  const f = q2 - q * this.constants.F!;
  const n = q;
  let base = 0;
  if (this.constants.hasBias === 1) base = bias[biasAt + f]!;
  if (this.constants.hasProjection === 1) {
    // The image's projection for channel f, once for the four.
    for (let k = 0; k < this.constants.K!; k++) base += u[n * this.constants.K! + k]! * pw[pwAt + f * this.constants.K! + k]!;
    if (this.constants.hasProjectionBias === 1) base += pb[pbAt + f]!;
  }
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  const xImage = n * this.constants.C! * this.constants.H! * this.constants.W!;
  const wFilter = wAt + f * this.constants.C! * 9;
  for (let c = 0; c < this.constants.C!; c++) {
    const xPlane = xImage + c * this.constants.H! * this.constants.W!;
    for (let ky = 0; ky < 3; ky++) {
      const iy = oy - 1 + ky;
      if (iy >= 0 && iy < this.constants.H!) {
        // Inputs ox0 − 1 … ox0 + 4 of the row; only the two ends can fall in the padding.
        const xRow = xPlane + iy * this.constants.W! + ox0;
        const wRow = wFilter + c * 9 + ky * 3;
        const w0 = w[wRow]!;
        const w1 = w[wRow + 1]!;
        const w2 = w[wRow + 2]!;
        let a = 0;
        if (ox0 > 0) a = x[xRow - 1]!;
        const b = x[xRow]!;
        const d = x[xRow + 1]!;
        const e = x[xRow + 2]!;
        const g = x[xRow + 3]!;
        let h = 0;
        if (ox0 + 4 < this.constants.W!) h = x[xRow + 4]!;
        s0 += a * w0 + b * w1 + d * w2;
        s1 += b * w0 + d * w1 + e * w2;
        s2 += d * w0 + e * w1 + g * w2;
        s3 += e * w0 + g * w1 + h * w2;
      }
    }
  }
  s0 += base;
  s1 += base;
  s2 += base;
  s3 += base;
  if (this.constants.hasAdd === 1) {
    const e = this.thread.x * 4;
    s0 += add[viewOffset(e, this.constants.addOffset!, this.constants.add0!, this.constants.add1!, this.constants.add2!, this.constants.add3!, this.constants.add4!, this.constants.add5!)]!;
    s1 += add[viewOffset(e + 1, this.constants.addOffset!, this.constants.add0!, this.constants.add1!, this.constants.add2!, this.constants.add3!, this.constants.add4!, this.constants.add5!)]!;
    s2 += add[viewOffset(e + 2, this.constants.addOffset!, this.constants.add0!, this.constants.add1!, this.constants.add2!, this.constants.add3!, this.constants.add4!, this.constants.add5!)]!;
    s3 += add[viewOffset(e + 3, this.constants.addOffset!, this.constants.add0!, this.constants.add1!, this.constants.add2!, this.constants.add3!, this.constants.add4!, this.constants.add5!)]!;
  }
  return [s0, s1, s2, s3];
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

/**
 * The input gradient of the same convolutions (3×3, stride 1, padding 1), four values a thread
 * (WebGPU; the width a multiple of 4): input ix reads dy at ix + 1 − kx, so inputs ix0…ix0+3
 * read dy ix0 − 1 … ix0 + 4 of each output row, each loaded once (the forward kernel's row with
 * the weights reversed).
 */
export function conv2dBackwardInputFour(this: KernelThis, dy: Input, w: Input, wAt: number): number[] {
  const quarter = this.constants.W! / 4;
  let q = floorDiv(this.thread.x, quarter);
  const ix0 = (this.thread.x - q * quarter) * 4;
  let q2 = floorDiv(q, this.constants.H!);
  const iy = q - q2 * this.constants.H!;
  q = floorDiv(q2, this.constants.C!);
  const c = q2 - q * this.constants.C!;
  const n = q;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  const dyImage = n * this.constants.F! * this.constants.H! * this.constants.W!;
  for (let f = 0; f < this.constants.F!; f++) {
    const dyPlane = dyImage + f * this.constants.H! * this.constants.W!;
    const wPlane = wAt + (f * this.constants.C! + c) * 9;
    for (let ky = 0; ky < 3; ky++) {
      const oy = iy + 1 - ky;
      if (oy >= 0 && oy < this.constants.H!) {
        const dyRow = dyPlane + oy * this.constants.W! + ix0;
        const v0 = w[wPlane + ky * 3 + 2]!;
        const v1 = w[wPlane + ky * 3 + 1]!;
        const v2 = w[wPlane + ky * 3]!;
        let a = 0;
        if (ix0 > 0) a = dy[dyRow - 1]!;
        const b = dy[dyRow]!;
        const d = dy[dyRow + 1]!;
        const e = dy[dyRow + 2]!;
        const g = dy[dyRow + 3]!;
        let h = 0;
        if (ix0 + 4 < this.constants.W!) h = dy[dyRow + 4]!;
        s0 += a * v0 + b * v1 + d * v2;
        s1 += b * v0 + d * v1 + e * v2;
        s2 += d * v0 + e * v1 + g * v2;
        s3 += e * v0 + g * v1 + h * v2;
      }
    }
  }
  return [s0, s1, s2, s3];
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

/**
 * The weight gradient four values a thread where gpu.js can (WebGPU), for a filter of C·kh·kw a
 * multiple of 4 and F a multiple of 4: thread t sums elements 4t…4t+3 of its part's block, four
 * taps (c, ky, kx) of one filter f, which read the same dy value at every output position (one
 * load for four products; one a product otherwise). A thread of the bias's block sums four
 * channels' dy.
 */
export function conv2dBackwardWeightFour(this: KernelThis, x: Input, dy: Input): number[] {
  const block = this.constants.size! + this.constants.B!;
  const first = this.thread.x * 4;
  const part = floorDiv(first, block);
  const r = first - part * block;
  const taps = this.constants.C! * this.constants.kh! * this.constants.kw!;
  const plane = this.constants.Ho! * this.constants.Wo!;
  let t0 = 0;
  let t1 = 0;
  let t2 = 0;
  let t3 = 0;
  if (r >= this.constants.size!) {
    // Four channels' bias sums, f0…f0+3 (F a multiple of 4: one copy of the bias's block).
    const b = r - this.constants.size!;
    const f0 = b - floorDiv(b, this.constants.F!) * this.constants.F!;
    for (let j = 0; j < this.constants.R!; j++) {
      const row = part * this.constants.R! + j;
      const n = floorDiv(row, this.constants.Ho!);
      const oy = row - n * this.constants.Ho!;
      if (n < this.constants.N!) {
        const dyRow = (n * this.constants.F! + f0) * plane + oy * this.constants.Wo!;
        for (let ox = 0; ox < this.constants.Wo!; ox++) {
          t0 += dy[dyRow + ox]!;
          t1 += dy[dyRow + plane + ox]!;
          t2 += dy[dyRow + 2 * plane + ox]!;
          t3 += dy[dyRow + 3 * plane + ox]!;
        }
      }
    }
    return [t0, t1, t2, t3];
  }
  const f = floorDiv(r, taps);
  const e = r - f * taps;
  // The four taps (cᵢ, kyᵢ, kxᵢ) of elements e…e+3 of filter f.
  const c0 = floorDiv(e, this.constants.kh! * this.constants.kw!);
  const k0 = e - c0 * this.constants.kh! * this.constants.kw!;
  const ky0 = floorDiv(k0, this.constants.kw!);
  const kx0 = k0 - ky0 * this.constants.kw!;
  const c1 = floorDiv(e + 1, this.constants.kh! * this.constants.kw!);
  const k1 = e + 1 - c1 * this.constants.kh! * this.constants.kw!;
  const ky1 = floorDiv(k1, this.constants.kw!);
  const kx1 = k1 - ky1 * this.constants.kw!;
  const c2 = floorDiv(e + 2, this.constants.kh! * this.constants.kw!);
  const k2 = e + 2 - c2 * this.constants.kh! * this.constants.kw!;
  const ky2 = floorDiv(k2, this.constants.kw!);
  const kx2 = k2 - ky2 * this.constants.kw!;
  const c3 = floorDiv(e + 3, this.constants.kh! * this.constants.kw!);
  const k3 = e + 3 - c3 * this.constants.kh! * this.constants.kw!;
  const ky3 = floorDiv(k3, this.constants.kw!);
  const kx3 = k3 - ky3 * this.constants.kw!;
  // The output columns whose input column ox·s − p + kxᵢ lies in the row: [loᵢ, hiᵢ).
  const lo0 = Math.max(0, -floorDiv(kx0 - this.constants.p!, this.constants.s!));
  const hi0 = Math.min(this.constants.Wo!, floorDiv(this.constants.W! - 1 + this.constants.p! - kx0, this.constants.s!) + 1);
  const lo1 = Math.max(0, -floorDiv(kx1 - this.constants.p!, this.constants.s!));
  const hi1 = Math.min(this.constants.Wo!, floorDiv(this.constants.W! - 1 + this.constants.p! - kx1, this.constants.s!) + 1);
  const lo2 = Math.max(0, -floorDiv(kx2 - this.constants.p!, this.constants.s!));
  const hi2 = Math.min(this.constants.Wo!, floorDiv(this.constants.W! - 1 + this.constants.p! - kx2, this.constants.s!) + 1);
  const lo3 = Math.max(0, -floorDiv(kx3 - this.constants.p!, this.constants.s!));
  const hi3 = Math.min(this.constants.Wo!, floorDiv(this.constants.W! - 1 + this.constants.p! - kx3, this.constants.s!) + 1);
  for (let j = 0; j < this.constants.R!; j++) {
    const row = part * this.constants.R! + j;
    const n = floorDiv(row, this.constants.Ho!);
    const oy = row - n * this.constants.Ho!;
    if (n < this.constants.N!) {
      const dyRow = (n * this.constants.F! + f) * plane + oy * this.constants.Wo!;
      const iy0 = oy * this.constants.s! - this.constants.p! + ky0;
      const iy1 = oy * this.constants.s! - this.constants.p! + ky1;
      const iy2 = oy * this.constants.s! - this.constants.p! + ky2;
      const iy3 = oy * this.constants.s! - this.constants.p! + ky3;
      const xImage = n * this.constants.C!;
      // Where each tap reads (input column kxᵢ − p of its row at ox = 0), and the end of its
      // columns: 0 where the row falls in the padding (its products are skipped).
      let e0 = 0;
      let b0 = 0;
      if (iy0 >= 0 && iy0 < this.constants.H!) { e0 = hi0; b0 = ((xImage + c0) * this.constants.H! + iy0) * this.constants.W! - this.constants.p! + kx0; }
      let e1 = 0;
      let b1 = 0;
      if (iy1 >= 0 && iy1 < this.constants.H!) { e1 = hi1; b1 = ((xImage + c1) * this.constants.H! + iy1) * this.constants.W! - this.constants.p! + kx1; }
      let e2 = 0;
      let b2 = 0;
      if (iy2 >= 0 && iy2 < this.constants.H!) { e2 = hi2; b2 = ((xImage + c2) * this.constants.H! + iy2) * this.constants.W! - this.constants.p! + kx2; }
      let e3 = 0;
      let b3 = 0;
      if (iy3 >= 0 && iy3 < this.constants.H!) { e3 = hi3; b3 = ((xImage + c3) * this.constants.H! + iy3) * this.constants.W! - this.constants.p! + kx3; }
      for (let ox = 0; ox < this.constants.Wo!; ox++) {
        const dv = dy[dyRow + ox]!;
        const ix = ox * this.constants.s!;
        if (ox >= lo0 && ox < e0) t0 += dv * x[b0 + ix]!;
        if (ox >= lo1 && ox < e1) t1 += dv * x[b1 + ix]!;
        if (ox >= lo2 && ox < e2) t2 += dv * x[b2 + ix]!;
        if (ox >= lo3 && ox < e3) t3 += dv * x[b3 + ix]!;
      }
    }
  }
  return [t0, t1, t2, t3];
}
