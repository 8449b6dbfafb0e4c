// Parallel matrix products on worker threads (Node's worker_threads, SharedArrayBuffer).
//
// The columns of C are split into one contiguous range per thread (the calling thread takes the
// first); every element of C is written by exactly one thread and computed exactly as on one
// thread, so results are bit-identical whatever the thread count. Inputs are copied into shared
// buffers (cheap next to the O(M·N·K) product); the caller blocks with Atomics.wait until all
// ranges are done, which keeps the backend's kernels synchronous.

import { gemm, type Im2col, type Mat, type OutMat } from './gemm.js';

/** Below this many multiply-adds a product stays on the calling thread (waking workers costs more). */
const PARALLEL_MIN_WORK = 1 << 21;

/** Control block layout (Int32 slots). */
export const CTRL = { seq: 0, done: 1, M: 2, N: 3, K: 4, accumulate: 5, generation: 6, implicit: 7, conv: 8, ranges: 20 } as const;
export const CTRL_SLOTS = 20 + 2 * 64;
/** The convolution geometry fields, in their control-block order (for implicit im2col products). */
export const CONV_FIELDS = ['C', 'H', 'W', 'kh', 'kw', 'Ho', 'Wo', 'stride', 'padding'] as const;

export interface SharedBuffers {
  a: SharedArrayBuffer;
  b: SharedArrayBuffer;
  c: SharedArrayBuffer;
}

interface WorkerLike {
  postMessage(message: unknown): void;
  terminate(): Promise<number>;
  unref(): void;
}

interface Pool {
  workers: WorkerLike[];
  ctrl: Int32Array;
  buffers: SharedBuffers;
  generation: number;
}

let pool: Pool | null = null;
let threadCount = 1;

/** The number of threads matrix products use (1: no workers). */
export function getThreads(): number {
  return threadCount;
}

/** The machine's core count (1 where it cannot be known). */
export async function availableCores(): Promise<number> {
  if (typeof process === 'undefined' || !process.versions?.node) return 1;
  const os = await import('node:os');
  return Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
}

/**
 * Uses n threads for matrix products from now on (n = 1 stops the workers). Node only: in a
 * browser the CPU backend runs on one thread.
 */
export async function setThreads(n: number): Promise<void> {
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new Error(`setThreads: n must be an integer from 1 to 64, got ${n}`);
  if (n === threadCount && (n === 1 || pool)) return;
  if (pool) {
    await Promise.all(pool.workers.map((w) => w.terminate()));
    pool = null;
  }
  threadCount = 1;
  if (n === 1) return;
  if (typeof process === 'undefined' || !process.versions?.node) return;
  const { Worker } = await import('node:worker_threads');
  const ctrl = new Int32Array(new SharedArrayBuffer(CTRL_SLOTS * 4));
  const buffers = allocate(1 << 16, 1 << 16, 1 << 16);
  const workers: WorkerLike[] = [];
  const ready: Promise<void>[] = [];
  for (let i = 1; i < n; i++) {
    const worker = new Worker(new URL('./gemm-worker.js', import.meta.url), { workerData: { ctrl: ctrl.buffer, buffers, index: i } });
    ready.push(new Promise((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
    }));
    workers.push(worker);
  }
  await Promise.all(ready);
  // Idle workers must not keep the process alive.
  for (const w of workers) w.unref();
  pool = { workers, ctrl, buffers, generation: 0 };
  threadCount = n;
}

function allocate(a: number, b: number, c: number): SharedBuffers {
  return { a: new SharedArrayBuffer(a * 4), b: new SharedArrayBuffer(b * 4), c: new SharedArrayBuffer(c * 4) };
}

/** Copies a strided matrix into row-major shared memory. */
function copyIn(m: Mat, rows: number, cols: number, dst: Float32Array): void {
  for (let r = 0; r < rows; r++) {
    const src = m.offset + r * m.rowStride;
    if (m.colStride === 1) dst.set(m.data.subarray(src, src + cols), r * cols);
    else for (let k = 0; k < cols; k++) dst[r * cols + k] = m.data[src + k * m.colStride]!;
  }
}

/** Column ranges [start, end) for each thread, multiples of 4 wide except the last. */
export function columnRanges(N: number, threads: number): Array<[number, number]> {
  const per = Math.ceil(N / threads / 4) * 4;
  const out: Array<[number, number]> = [];
  for (let t = 0; t < threads; t++) out.push([Math.min(N, t * per), Math.min(N, (t + 1) * per)]);
  return out;
}

/** C (+)= A·B on all threads (see gemm for the arguments). An implicit im2col B stays implicit: the threads get x, not the matrix. */
export function parallelGemm(M: number, N: number, K: number, A: Mat, B: Mat | Im2col, C: OutMat, accumulate: boolean): void {
  if (!pool || M * N * K < PARALLEL_MIN_WORK || N < 8 * threadCount) {
    gemm(M, N, K, A, B, C, accumulate);
    return;
  }
  const p = pool;
  const implicit = 'kh' in B;
  // An implicit B needs the images its columns cover; a plain B is copied whole.
  const images = implicit ? (B.transposed ? K : N) / (B.Ho * B.Wo) : 0;
  const bSize = implicit ? images * B.C * B.H * B.W : K * N;
  if (p.buffers.a.byteLength < M * K * 4 || p.buffers.b.byteLength < bSize * 4 || p.buffers.c.byteLength < M * N * 4) {
    const grow = (have: SharedArrayBuffer, need: number) => Math.max(have.byteLength / 4, need * 1.5);
    p.buffers = allocate(grow(p.buffers.a, M * K), grow(p.buffers.b, bSize), grow(p.buffers.c, M * N));
    p.generation++;
    for (const w of p.workers) w.postMessage({ buffers: p.buffers, generation: p.generation });
  }
  const a = new Float32Array(p.buffers.a, 0, M * K), b = new Float32Array(p.buffers.b, 0, bSize), c = new Float32Array(p.buffers.c, 0, M * N);
  copyIn(A, M, K, a);
  const ctrl = p.ctrl;
  if (implicit) {
    const start = B.n0 * B.C * B.H * B.W;
    b.set(B.x.subarray(start, start + bSize));
    CONV_FIELDS.forEach((f, i) => Atomics.store(ctrl, CTRL.conv + i, B[f]));
    Atomics.store(ctrl, CTRL.conv + CONV_FIELDS.length, B.transposed ? 1 : 0);
  } else {
    copyIn(B, K, N, b);
  }
  Atomics.store(ctrl, CTRL.implicit, implicit ? 1 : 0);
  if (accumulate) for (let i = 0; i < M; i++) c.set(C.data.subarray(C.offset + i * C.rowStride, C.offset + i * C.rowStride + N), i * N);

  const ranges = columnRanges(N, p.workers.length + 1);
  Atomics.store(ctrl, CTRL.M, M);
  Atomics.store(ctrl, CTRL.N, N);
  Atomics.store(ctrl, CTRL.K, K);
  Atomics.store(ctrl, CTRL.accumulate, accumulate ? 1 : 0);
  Atomics.store(ctrl, CTRL.generation, p.generation);
  ranges.forEach(([s, e], t) => {
    Atomics.store(ctrl, CTRL.ranges + 2 * t, s);
    Atomics.store(ctrl, CTRL.ranges + 2 * t + 1, e);
  });
  Atomics.store(ctrl, CTRL.done, 0);
  Atomics.add(ctrl, CTRL.seq, 1);
  Atomics.notify(ctrl, CTRL.seq);

  runRange(a, implicit ? { ...B, x: b, n0: 0 } : b, c, M, N, K, ranges[0]!, accumulate);
  for (;;) {
    const done = Atomics.load(ctrl, CTRL.done);
    if (done === p.workers.length) break;
    Atomics.wait(ctrl, CTRL.done, done);
  }
  for (let i = 0; i < M; i++) C.data.set(c.subarray(i * N, (i + 1) * N), C.offset + i * C.rowStride);
}

/** The product restricted to the columns [start, end) of C, on row-major shared buffers (or an implicit im2col B). */
export function runRange(a: Float32Array, b: Float32Array | Im2col, c: Float32Array, M: number, N: number, K: number, [start, end]: [number, number], accumulate: boolean): void {
  if (end <= start) return;
  const A: Mat = { data: a, offset: 0, rowStride: K, colStride: 1 };
  const C: OutMat = { data: c, offset: start, rowStride: N };
  if (b instanceof Float32Array) gemm(M, end - start, K, A, { data: b, offset: start, rowStride: N, colStride: 1 }, C, accumulate);
  else gemm(M, end - start, K, A, b, C, accumulate, start);
}
