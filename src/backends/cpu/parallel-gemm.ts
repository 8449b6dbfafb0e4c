// C (+)= A·B on all threads: the gemm task (gemm.ts) with each thread taking a range of C's
// columns. Only the span of memory a matrix occupies travels to the workers.

import { gemm, type Im2col, type Mat, type OutMat } from './gemm.js';
import { PARALLEL_MIN_WORK } from './task-context.js';
import { runTask } from './threads.js';


/** The elements [offset, offset + span) a strided rows × cols matrix touches. */
function spanOf(m: Mat, rows: number, cols: number): number {
  return 1 + (rows - 1) * m.rowStride + (cols - 1) * m.colStride;
}

/** C (+)= A·B (see gemm for the arguments); C must be row-major and N wide. */
export function parallelGemm(M: number, N: number, K: number, A: Mat, B: Mat | Im2col, C: OutMat, accumulate: boolean): void {
  if (M === 0 || N === 0 || K === 0 || M * N * K < PARALLEL_MIN_WORK || C.rowStride !== N) {
    gemm(M, N, K, A, B, C, accumulate);
    return;
  }
  const a = A.data.subarray(A.offset, A.offset + spanOf(A, M, K));
  const c = C.data.subarray(C.offset, C.offset + M * N);
  const geometry = { implicit: 0, channels: 0, H: 0, W: 0, kh: 0, kw: 0, Ho: 0, Wo: 0, stride: 1, padding: 0, transposed: 0 };
  let b: Float32Array, bRowStride = 0, bColStride = 0;
  if ('kh' in B) {
    // An implicit B stays implicit: the threads get the images its columns cover, not the matrix.
    const image = B.C * B.H * B.W;
    const images = (B.transposed ? K : N) / (B.Ho * B.Wo);
    b = B.x.subarray(B.n0 * image, (B.n0 + images) * image);
    Object.assign(geometry, { implicit: 1, channels: B.C, H: B.H, W: B.W, kh: B.kh, kw: B.kw, Ho: B.Ho, Wo: B.Wo, stride: B.stride, padding: B.padding, transposed: B.transposed ? 1 : 0 });
  } else {
    b = B.data.subarray(B.offset, B.offset + spanOf(B, K, N));
    bRowStride = B.rowStride;
    bColStride = B.colStride;
  }
  runTask('gemm', {
    M, N, K, accumulate: accumulate ? 1 : 0,
    a, aOffset: 0, aRowStride: A.rowStride, aColStride: A.colStride,
    b, bOffset: 0, bRowStride, bColStride,
    c, ...geometry,
  }, accumulate ? { inout: ['c'] } : { out: ['c'] });
}
