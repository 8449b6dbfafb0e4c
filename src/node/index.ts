// ddpm-ts in Node: the core (src/index.ts, which a browser bundle holds) plus what needs Node:
// files (checkpoints, safetensors, PNGs, a run's folder), image folders and MNIST, worker
// threads for the CPU backend, and the machine's memory for the trainer's check. Importing
// 'ddpm-ts' in Node loads this entry (the package's "node" export condition) and installs them.

import { totalmem } from 'node:os';
import { setThreadHost } from '../backends/cpu/threads.js';
import { setPlatform } from '../platform.js';
import { loadNodeDataset } from './data.js';
import { FolderStore } from './folder-store.js';
import { nodeThreadHost } from './threads.js';
import { nodeWebGpu } from './webgpu.js';
import { loadFeatureNet } from './feature-cache.js';
import { referenceFor } from './metrics.js';
import { setWebGpuProvider } from '../backends/gpu/open-gpujs.js';

setPlatform({
  openStore: (dir) => new FolderStore(dir), loadDataset: loadNodeDataset, totalMemory: () => totalmem(),
  referenceSet: referenceFor,
  featureNet: async (reference, recipe, log) => (await loadFeatureNet(reference, recipe, { log })).net,
});
setThreadHost(nodeThreadHost);
setWebGpuProvider(nodeWebGpu);

export * from '../index.js';
export * as io from './io.js';
export * as data from './data.js';
export * as diffusion from './diffusion.js';
export * as metrics from './metrics.js';
