// A worker thread of the CPU backend: waits for a product, computes its column range, reports.

import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { CONV_FIELDS, CTRL, runRange, type SharedBuffers } from './threads.js';
import type { Im2col } from './gemm.js';

const { ctrl: ctrlBuffer, index } = workerData as { ctrl: SharedArrayBuffer; buffers: SharedBuffers; index: number };
const ctrl = new Int32Array(ctrlBuffer);
let buffers: SharedBuffers = (workerData as { buffers: SharedBuffers }).buffers;
let generation = 0;
let seen = Atomics.load(ctrl, CTRL.seq);
parentPort!.postMessage('ready');

for (;;) {
  Atomics.wait(ctrl, CTRL.seq, seen);
  seen = Atomics.load(ctrl, CTRL.seq);
  // New, larger buffers are announced by message; take them before reading the job.
  while (generation !== Atomics.load(ctrl, CTRL.generation)) {
    const msg = receiveMessageOnPort(parentPort as unknown as import('node:worker_threads').MessagePort);
    if (!msg) continue;
    ({ buffers, generation } = msg.message as { buffers: SharedBuffers; generation: number });
  }
  const M = Atomics.load(ctrl, CTRL.M), N = Atomics.load(ctrl, CTRL.N), K = Atomics.load(ctrl, CTRL.K);
  const range: [number, number] = [Atomics.load(ctrl, CTRL.ranges + 2 * index), Atomics.load(ctrl, CTRL.ranges + 2 * index + 1)];
  let b: Float32Array | Im2col;
  if (Atomics.load(ctrl, CTRL.implicit) === 1) {
    const geometry = Object.fromEntries(CONV_FIELDS.map((f, i) => [f, Atomics.load(ctrl, CTRL.conv + i)])) as Record<(typeof CONV_FIELDS)[number], number>;
    const transposed = Atomics.load(ctrl, CTRL.conv + CONV_FIELDS.length) === 1;
    const images = (transposed ? K : N) / (geometry.Ho * geometry.Wo);
    b = { ...geometry, x: new Float32Array(buffers.b, 0, images * geometry.C * geometry.H * geometry.W), n0: 0, transposed };
  } else {
    b = new Float32Array(buffers.b, 0, K * N);
  }
  runRange(new Float32Array(buffers.a, 0, M * K), b, new Float32Array(buffers.c, 0, M * N), M, N, K, range, Atomics.load(ctrl, CTRL.accumulate) === 1);
  Atomics.add(ctrl, CTRL.done, 1);
  Atomics.notify(ctrl, CTRL.done);
}
