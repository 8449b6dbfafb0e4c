// Choosing a backend by name, as the config does:
//
//   'cpu'     pure TypeScript, always there
//   'webgpu'  gpu.js's webgpu mode: WGSL compute shaders over storage buffers (asynchronous reads)
//   'webgl'   gpu.js's GL modes: fragment shaders over textures (headless-gl in Node, WebGL2 then WebGL in a page)
//   'gpu'     webgpu, else webgl
//   'auto'    gpu, else cpu
//
// 'gpu' and 'auto' print one line saying what they took and why. Opening a GPU backend is
// asynchronous: it loads gpu.js on demand and runs a probe kernel in exactly the mode asked for.

import type { Backend } from './backend.js';
import { setBackend } from './registry.js';
import { GpuBackend } from './gpu/index.js';

/** The backend names a config may give. */
export const BACKEND_CHOICES = ['cpu', 'webgpu', 'webgl', 'gpu', 'auto'] as const;

/** What each GPU backend needs, for the error when it cannot open. */
export const GPU_HINTS = {
  webgpu: "backend 'webgpu' needs WebGPU: in Node the optional package `webgpu` and a Vulkan driver (a GPU's, or SwiftShader's from Debian's chromium package with VK_ICD_FILENAMES); in a page, a browser with WebGPU (Chrome, Edge, Safari 26, Firefox on Windows). See the README's Backends section",
  webgl: "backend 'webgl' needs WebGL: in Node install the optional package `gl` and its system libraries, and run with a display (xvfb-run in a terminal without one); in a page, a browser with WebGL2. See the README's Backends section",
} as const;

type GpuKind = keyof typeof GPU_HINTS;

/** Each GPU backend opened once (a failed opening is remembered too, so it is tried once). */
const opened = new Map<GpuKind, Promise<GpuBackend>>();

function open(kind: GpuKind): Promise<GpuBackend> {
  let backend = opened.get(kind);
  if (!backend) {
    backend = GpuBackend.create(kind === 'webgpu' ? { mode: 'webgpu' } : {});
    opened.set(kind, backend);
  }
  return backend;
}

/**
 * Closes the GPU backends useBackend opened (their kernels, contexts, and the WebGPU device), to
 * free the GPU's memory now. A Node program need not call it to end: the Node entry closes them
 * when its work is done (src/node/webgpu.ts). The next useBackend opens them again.
 */
export async function closeBackends(): Promise<void> {
  const all = [...opened.values()];
  opened.clear();
  setBackend('cpu');
  for (const backend of all) await backend.then((b) => b.dispose(), () => undefined);
}

/**
 * Whether a renderer is software (a CPU drawing as a GPU would: SwiftShader, llvmpipe, lavapipe,
 * WARP, a fallback adapter). On one, the GPU backends are a correctness check, slower than the cpu
 * backend, so 'auto' never takes one; asked for by name, one runs, and says it is software.
 * (headless-gl in Node names no renderer, only "ANGLE", so a software GL there is not recognised.)
 */
export function isSoftwareRenderer(renderer: string): boolean {
  return /swiftshader|llvmpipe|lavapipe|softpipe|\bwarp\b|basic render|fallback/i.test(renderer);
}

const SOFTWARE = 'a software renderer, slower than the cpu backend';

/** Makes the named backend current (opening a GPU backend once) and returns it; a GPU backend says which device it runs on. */
export async function useBackend(name: string, { log }: { log?: (message: string) => void } = {}): Promise<Backend> {
  if (name === 'cpu') return setBackend('cpu');
  if (name === 'webgpu' || name === 'webgl') {
    let backend: GpuBackend;
    try {
      backend = await open(name);
    } catch (e) {
      throw new Error(`${GPU_HINTS[name]} (${(e as Error).message})`);
    }
    log?.(`backend '${name}': gpu.js mode '${backend.mode}' on ${backend.renderer}${isSoftwareRenderer(backend.renderer) ? ` (${SOFTWARE})` : ''}`);
    return setBackend(backend);
  }
  if (name !== 'gpu' && name !== 'auto') return setBackend(name);
  const why: string[] = [];
  for (const kind of ['webgpu', 'webgl'] as const) {
    try {
      const backend = await open(kind);
      const software = isSoftwareRenderer(backend.renderer);
      if (software && name === 'auto') {
        why.push(`${kind} runs on ${backend.renderer}, ${SOFTWARE}: ask for --backend ${kind} to use it anyway`);
        continue;
      }
      log?.(`backend '${name}': ${kind}, in gpu.js mode '${backend.mode}' on ${backend.renderer}${software ? ` (${SOFTWARE})` : ''}${why.length ? ` (${why.join('; ')})` : ''}`);
      return setBackend(backend);
    } catch (e) {
      why.push(`no ${kind}: ${(e as Error).message}`);
    }
  }
  if (name === 'gpu') throw new Error(`backend 'gpu' needs WebGPU or WebGL, and neither works here: ${why.join('; ')}. See the README's Backends section`);
  log?.(`backend 'auto': cpu, since no GPU backend works here, or only on a software renderer (${why.join('; ')})`);
  return setBackend('cpu');
}
