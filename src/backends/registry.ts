// Which backend new tensors are created on: the registered backends by name, and the current one
// (the pure-TypeScript cpu backend unless another was set). Apart from the interface
// (backend.ts), which every backend implements, so that no backend's file imports this one.

import type { Backend } from './backend.js';
import { CpuBackend } from './cpu/index.js';

const registry = new Map<string, Backend>();
let current: Backend | null = null;

export function registerBackend(backend: Backend): void {
  registry.set(backend.name, backend);
  if (current === null) current = backend;
}

/** Selects the backend new tensors are created on, by name or instance. */
export function setBackend(backend: string | Backend): Backend {
  if (typeof backend !== 'string') {
    registerBackend(backend);
    current = backend;
    return backend;
  }
  if (backend === 'cpu' && !registry.has('cpu')) registerBackend(new CpuBackend());
  const found = registry.get(backend);
  if (!found && ['gpu', 'auto', 'webgpu', 'webgl'].includes(backend)) {
    throw new Error(`setBackend: backend '${backend}' opens asynchronously (it loads gpu.js and checks the GPU): await useBackend('${backend}') instead`);
  }
  if (!found) {
    throw new Error(`setBackend: unknown backend '${backend}' (registered: ${[...registry.keys()].join(', ')})`);
  }
  current = found;
  return found;
}

/** The backend new tensors are created on; the pure-TypeScript `cpu` one unless another was set. */
export function getBackend(): Backend {
  if (current === null) registerBackend(new CpuBackend());
  return current!;
}

export function listBackends(): string[] {
  getBackend();
  return [...registry.keys()];
}
