// ddpm-ts: the public API.

export { Tensor, type GradNode } from './tensor/tensor.js';
export { noGrad, isGradEnabled } from './tensor/autograd.js';
export { tidy, dispose } from './backends/scope.js';
export { tensor, scalar, zeros, ones, full, randn, rand, type TensorOptions } from './ops/creation.js';
export { Rng, globalRng, manualSeed, type RngState } from './random/rng.js';
export {
  getBackend, setBackend, registerBackend, listBackends,
  type Backend, type Storage, type View, type UnaryOp, type BinaryOp, type ReduceOp, type Conv2dGeometry,
} from './backends/backend.js';
export { CpuBackend, type CpuBackendOptions } from './backends/cpu/index.js';
export { GpuBackend, type GpuBackendOptions, type GpuMode } from './backends/gpu/index.js';
export { useBackend, BACKEND_CHOICES } from './backends/use.js';
export type { ConvAlgorithm } from './backends/cpu/conv.js';
export * as F from './ops/index.js';
export * as nn from './nn/index.js';
export * as optim from './optim/index.js';
export * as io from './io/index.js';
export { UNet, type UNetConfig } from './nn/unet.js';
export * as diffusion from './diffusion/index.js';
export * as data from './data/index.js';
export { resolveConfig, defaultConfig, ConfigError, type Config, type DeepPartial, type DiffusionConfig, type DataConfig, type TrainConfig, type SampleConfig } from './config.js';
export { formatProgress, formatDuration } from './util/progress.js';
export { setThreads, getThreads, availableCores } from './backends/cpu/threads.js';
export { setPlatform, platform, type Platform } from './platform.js';
export { setThreadHost, type ThreadHost, type WorkerPool } from './backends/cpu/threads.js';
