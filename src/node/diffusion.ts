// The diffusion namespace in Node: the core's, and checkpoint files.

export * from '../diffusion/index.js';
export { saveCheckpoint, loadCheckpoint, loadSamplingWeights } from './checkpoint-files.js';
export { FolderStore } from './folder-store.js';
