// The GPU backends' face: what the rest of ddpm-ts uses (the class is in gpu-backend.ts, which
// lists the folder's parts).

export { GpuBackend, GpuStorage, openWebGpuBackends, type GpuBackendOptions, type GpuMode } from './gpu-backend.js';
