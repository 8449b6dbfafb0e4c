// A worker thread of the CPU backend in Node: says it is ready, then runs task parts forever
// (runWorker in src/backends/cpu/threads.ts).

import { parentPort, workerData } from 'node:worker_threads';
import { runWorker, type SharedBlocks } from '../backends/cpu/threads.js';

const { shared, index } = workerData as { shared: SharedBlocks; index: number };
parentPort!.postMessage('ready');
runWorker(shared, index);
