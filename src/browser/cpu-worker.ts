// A Web Worker of the CPU backend in a page: takes the shared blocks and its index, says it is
// ready, then runs task parts forever (runWorker in src/backends/cpu/threads.ts). A worker may
// block in Atomics.wait, so it sleeps between tasks.

import { runWorker, type SharedBlocks } from '../backends/cpu/threads.js';

/** The worker's global scope (typed here: the project's lib is a page's, not a worker's). */
const scope = self as unknown as { onmessage: ((e: MessageEvent<{ shared: SharedBlocks; index: number }>) => void) | null; postMessage(message: unknown): void };

scope.onmessage = (e) => {
  scope.onmessage = null;
  scope.postMessage('ready');
  runWorker(e.data.shared, e.data.index);
};
