// ddpm-ts: the public API.

import { browserThreadHost } from './browser/threads.js';
import { setThreadHost } from './backends/cpu/threads.js';

export { Tensor, type GradNode } from './tensor/tensor.js';
export { noGrad, isGradEnabled } from './tensor/autograd.js';
export { tidy, dispose } from './backends/scope.js';
export { tensor, scalar, zeros, ones, full, randn, rand, type TensorOptions } from './ops/creation.js';
export { Rng, globalRng, manualSeed, type RngState } from './random/rng.js';
export { getBackend, setBackend, registerBackend, listBackends } from './backends/registry.js';
export {
  ADAM_BUCKET_INPUTS, BUCKET_INPUTS, BUCKET_MEMBERS, fusedKernels,
  type Backend, type PrimitiveBackend, type FusedKernels, type Storage, type View, type UnaryOp, type BinaryOp, type ReduceOp, type Conv2dGeometry,
} from './backends/backend.js';
export { CpuBackend, type CpuBackendOptions } from './backends/cpu/index.js';
export { GpuBackend, type GpuBackendOptions, type GpuMode } from './backends/gpu/index.js';
export { useBackend, closeBackends, isSoftwareRenderer, BACKEND_CHOICES } from './backends/choose-backend.js';
export type { ConvAlgorithm } from './backends/cpu/conv.js';
export * as F from './ops/index.js';
export * as nn from './nn/index.js';
export * as optim from './optim/index.js';
export * as io from './io/index.js';
export { UNet, type UNetConfig } from './nn/unet.js';
export * as diffusion from './diffusion/index.js';
export * as metrics from './metrics/index.js';
export * as data from './data-api.js';
export { resolveConfig, configRules, defaultConfig, sourceDefaults, type SourceDefaults, ConfigError, type Config, type DeepPartial, type DiffusionConfig, type DataConfig, type TrainConfig, type SampleConfig } from './config.js';
export { formatProgress, formatDuration } from './diffusion/progress.js';
export { setThreads, getThreads, availableCores, threadTaskCounts } from './backends/cpu/threads.js';
export { setPlatform, platform, type Platform } from './platform.js';
export { setThreadHost, runWorker, type ThreadHost, type WorkerHandle, type SharedBlocks } from './backends/cpu/threads.js';

// In a page, the CPU backend's workers are Web Workers (the Node entry installs worker_threads).
if (typeof window !== 'undefined' && typeof Worker === 'function') setThreadHost(browserThreadHost);
