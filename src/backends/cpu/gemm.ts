// Matrix multiply for the CPU backend: C[M,N] (+)= A[M,K] · B[K,N].
//
// Loop order i-k-j: for a block of four rows of C, each element of A is loaded once into a
// register and multiplied along a whole contiguous row of B, so the innermost loop walks memory
// sequentially (B row, four C rows) and the JIT keeps the four A values in registers.

/** A strided 2-D matrix inside a Float32Array: element (r, c) is data[offset + r*rowStride + c*colStride]. */
export interface Mat {
  data: Float32Array;
  offset: number;
  rowStride: number;
  colStride: number;
}

/** Copies a strided matrix into contiguous row-major storage (dst offset 0). */
export function packRowMajor(m: Mat, rows: number, cols: number, dst: Float32Array): Mat {
  const { data, offset, rowStride, colStride } = m;
  for (let r = 0; r < rows; r++) {
    const src = offset + r * rowStride;
    const out = r * cols;
    for (let c = 0; c < cols; c++) dst[out + c] = data[src + c * colStride]!;
  }
  return { data: dst, offset: 0, rowStride: cols, colStride: 1 };
}

let scratch = new Float32Array(0);
function scratchOf(size: number): Float32Array {
  if (scratch.length < size) scratch = new Float32Array(size);
  return scratch;
}

/**
 * C = A·B (or C += A·B when `accumulate`), C contiguous with row length N starting at cOffset.
 * A may have any strides; B is repacked to contiguous rows when its columns are not adjacent.
 */
export function gemm(
  M: number, N: number, K: number,
  A: Mat, B: Mat,
  c: Float32Array, cOffset: number,
  accumulate: boolean,
): void {
  if (!accumulate) c.fill(0, cOffset, cOffset + M * N);
  if (M === 0 || N === 0 || K === 0) return;
  const b = B.colStride === 1 ? B : packRowMajor(B, K, N, scratchOf(K * N));
  const bd = b.data, bOff = b.offset, ldb = b.rowStride;
  const ad = A.data, aOff = A.offset, ars = A.rowStride, acs = A.colStride;

  let i = 0;
  for (; i + 4 <= M; i += 4) {
    const c0 = cOffset + i * N, c1 = c0 + N, c2 = c1 + N, c3 = c2 + N;
    const a0p = aOff + i * ars;
    for (let k = 0; k < K; k++) {
      const ak = a0p + k * acs;
      const a0 = ad[ak]!, a1 = ad[ak + ars]!, a2 = ad[ak + 2 * ars]!, a3 = ad[ak + 3 * ars]!;
      const bk = bOff + k * ldb;
      for (let j = 0; j < N; j++) {
        const bv = bd[bk + j]!;
        c[c0 + j] += a0 * bv;
        c[c1 + j] += a1 * bv;
        c[c2 + j] += a2 * bv;
        c[c3 + j] += a3 * bv;
      }
    }
  }
  for (; i < M; i++) {
    const c0 = cOffset + i * N;
    const a0p = aOff + i * ars;
    for (let k = 0; k < K; k++) {
      const a0 = ad[a0p + k * acs]!;
      const bk = bOff + k * ldb;
      for (let j = 0; j < N; j++) c[c0 + j] += a0 * bd[bk + j]!;
    }
  }
}
