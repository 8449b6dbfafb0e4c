// Choosing a backend by name, as the config does: 'cpu', 'gpu' (the best real GPU mode here,
// or a clear error), or 'auto' (gpu when a real GPU mode works, cpu otherwise, saying which and
// why). Opening the gpu backend is asynchronous: it loads gpu.js on demand.

import { setBackend, type Backend } from './backend.js';
import { GpuBackend } from './gpu/index.js';

/** The backend names a config may give. */
export const BACKEND_CHOICES = ['cpu', 'gpu', 'auto'] as const;

export const GPU_HINT = "backend 'gpu' needs WebGL: in Node install the optional package `gl` and its system libraries, and run with a display (xvfb-run in a terminal without one); in a page, a browser with WebGL2. See the README's Backends section";

let openedGpu: GpuBackend | null = null;

/** Makes the named backend current (opening the gpu backend once) and returns it. */
export async function useBackend(name: string, { log }: { log?: (message: string) => void } = {}): Promise<Backend> {
  if (name === 'cpu') return setBackend('cpu');
  if (name !== 'gpu' && name !== 'auto') return setBackend(name);
  try {
    openedGpu ??= await GpuBackend.create();
  } catch (e) {
    if (name === 'gpu') throw new Error(`${GPU_HINT} (${(e as Error).message})`);
    log?.(`backend 'auto': cpu, since no GPU mode works here (${(e as Error).message})`);
    return setBackend('cpu');
  }
  if (name === 'auto') log?.(`backend 'auto': gpu, in gpu.js mode '${openedGpu.mode}' on ${openedGpu.renderer}`);
  return setBackend(openedGpu);
}
