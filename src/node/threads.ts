// Node's thread host for the CPU backend: workers from worker_threads, each running
// src/node/cpu-worker.ts over the shared blocks.

import { availableParallelism, cpus } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { SharedBlocks, ThreadHost, WorkerHandle } from '../backends/cpu/threads.js';

export const nodeThreadHost: ThreadHost = {
  cores: () => availableParallelism?.() ?? cpus().length,

  async start(count: number, shared: SharedBlocks): Promise<WorkerHandle[]> {
    const workers = Array.from({ length: count }, (_, i) => new Worker(new URL('./cpu-worker.js', import.meta.url), { workerData: { shared, index: i + 1 } }));
    await Promise.all(workers.map((worker) => new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
    })));
    // Idle workers must not keep the process alive.
    for (const w of workers) w.unref();
    return workers;
  },
};
