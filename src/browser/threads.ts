// A page's thread host for the CPU backend: Web Workers (module workers running
// src/browser/cpu-worker.ts) over SharedArrayBuffer. Shared memory exists only in a
// cross-origin isolated page (served with COOP: same-origin and COEP: require-corp); elsewhere
// cores() is 1 and the backend stays on one thread.

import type { SharedBlocks, ThreadHost, WorkerHandle } from '../backends/cpu/threads.js';

/** Whether this is a page (or a worker) whose threads can share memory. */
export const canShareMemory = () => typeof SharedArrayBuffer !== 'undefined' && globalThis.crossOriginIsolated === true;

export const browserThreadHost: ThreadHost = {
  cores: () => (canShareMemory() ? navigator.hardwareConcurrency || 1 : 1),

  async start(count: number, shared: SharedBlocks): Promise<WorkerHandle[]> {
    // A bundler that understands `new Worker(new URL(…, import.meta.url))` (esbuild's browser
    // build here, Vite, webpack 5) ships cpu-worker.js beside this module.
    const workers = Array.from({ length: count }, () => new Worker(new URL('./cpu-worker.js', import.meta.url), { type: 'module', name: 'ddpm-ts cpu' }));
    await Promise.all(workers.map((worker, i) => new Promise<void>((resolve, reject) => {
      worker.onmessage = () => resolve();
      worker.onerror = (e) => reject(new Error(`a cpu worker failed to start: ${e.message || 'cpu-worker.js did not load'}`));
      worker.postMessage({ shared, index: i + 1 });
    })));
    return workers;
  },
};
