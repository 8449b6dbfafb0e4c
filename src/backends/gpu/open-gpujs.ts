// gpu.js, loaded on demand and typed by us. Its shipped types do not fit how we use it, and the
// CPU path must work where gpu.js or its optional `gl` package cannot load: nothing else in
// ddpm-ts imports gpu.js, and only this module's `openGpu` loads it (a dynamic import).
//
// gpu.js picks a mode by itself and falls back silently: without a GL context in Node it runs
// WebAssembly, and without float textures it packs numbers into 8-bit channels. Both would
// hide a missing GPU (and WebAssembly is ruled out for this project), so `openGpu` asks for one
// mode, compiles a probe kernel, and refuses unless that very mode ran it in single precision.
//
// Two kinds of mode. The GL modes compile a kernel to a fragment shader that draws into a
// texture, and run it synchronously: a call returns the texture. The 'webgpu' mode compiles it to
// a WGSL compute shader over storage buffers, and a call returns a Promise: of a buffer handle,
// at once once the kernel is built (building is asynchronous), and reading a buffer back is
// mapAsync, asynchronous by nature. `OpenGpu.async` says which kind is open.

import { dropBufferPool, poolBuffers } from './buffer-pool.js';
import { batchLaunches, submitCount, submitLaunches } from './webgpu-batch.js';
import { dropTexturePool, poolTextures } from './texture-pool.js';

/**
 * The modes we accept: real GL in Node (headless-gl) or a page (WebGL2, WebGL), WebGPU (in a
 * page, or in Node through the optional `webgpu` package), or gpu.js's JavaScript interpreter of
 * the GL path's kernels (for tests).
 */
export type GpuMode = 'headlessgl' | 'webgl2' | 'webgl' | 'webgpu' | 'cpu';

/** A texture (GL) or a storage buffer (WebGPU) a pipeline kernel returned, kept on the GPU until deleted; on WebGPU `toArray` resolves later. */
export interface GpuTexture {
  toArray(): Float32Array | number[] | Promise<Float32Array | number[]>;
  delete(): void;
}

/** What a kernel returns: a texture on GL modes, a buffer on WebGPU, a Float32Array in gpu.js's 'cpu' mode. */
export type KernelValue = GpuTexture | Float32Array;

export interface KernelSettings {
  output: [number];
  constants: Record<string, number>;
  functions: Array<(...args: never[]) => number>;
}

/** A compiled kernel: returns its output at once in the GL and 'cpu' modes, a Promise of it in 'webgpu'. */
export type CompiledKernel = (...args: Array<KernelValue | number>) => KernelValue | Promise<KernelValue>;

export interface OpenGpu {
  mode: GpuMode;
  /** True for 'webgpu': kernels return Promises, reads are asynchronous. */
  async: boolean;
  /** The GL renderer or the WebGPU adapter (e.g. "llvmpipe", "SwiftShader", a GPU's name), or "gpu.js cpu" in 'cpu' mode. */
  renderer: string;
  /** The most values one output may hold: MAX_TEXTURE_SIZE² on GL, the storage-buffer binding limit / 4 on WebGPU, Infinity in 'cpu' mode. */
  maxValues: number;
  /**
   * The API object gpu.js draws with: the WebGL context on GL modes, `{ adapter, device }` on
   * WebGPU, null in 'cpu' mode. Tests and the bench wrap it to count what a step asks of the GPU.
   */
  context: unknown;
  /**
   * The textures (GL) or buffers (WebGPU) freed and kept for reuse (see pool.ts), and their
   * bytes; none in 'cpu' mode.
   */
  idle(): { textures: number; bytes: number };
  /** Submits the launches recorded and not yet submitted (WebGPU batches them: webgpu-batch.ts); nothing on GL. */
  submit(): void;
  /** How many command buffers of launches went to the GPU so far (WebGPU; 0 on GL, where each draw goes at once). */
  submits(): number;
  /** Compiles a kernel function as a pipeline kernel with immutable outputs, in single precision. */
  createKernel(fn: (...args: never[]) => number, settings: KernelSettings): CompiledKernel;
  /**
   * On WebGPU, a kernel whose threads return four values each (`return [a, b, c, d]`, output
   * size/4 threads) as a kernel of `size` values one after another: its result is the flat buffer
   * other kernels read. Null on GL modes, where a four-value result is a texture of another
   * layout (RGBA texels), and in 'cpu' mode.
   */
  createFourKernel: ((fn: (...args: never[]) => number[], settings: KernelSettings) => CompiledKernel) | null;
  /**
   * Frees gpu.js's kernels and context. On WebGPU the device is shared by every gpu.js instance:
   * the last one closed destroys it, which a Node process needs before it can exit (Dawn keeps it
   * alive, and aborts on exit while a device lives).
   */
  destroy(): Promise<void>;
}

/** Open WebGPU instances; the shared device is destroyed when the last one closes. */
let openWebGpu = 0;

interface GpuJsKernel {
  (...args: unknown[]): unknown;
  kernel?: { constructor: { name: string }; precision?: string; context?: WebGLRenderingContext };
  context?: WebGLRenderingContext;
}

interface GpuJsInstance {
  createKernel(fn: unknown, settings: Record<string, unknown>): GpuJsKernel;
  destroy(): void;
}

interface GpuJsModule {
  GPU: new (settings: { mode: string }) => GpuJsInstance;
  /** The shared WebGPU device's owner; `destroy()` ends it. */
  WebGPUContext?: { destroy(): Promise<void> };
}

/** gpu.js's pipeline result on WebGPU (its WebGPUBufferResult): a buffer, its shape and values a thread. */
interface BufferResult {
  buffer: object;
  output: number[];
  componentCount: number;
  context: object;
  kernel: object;
  delete(): void;
  constructor: new (settings: Omit<BufferResult, 'delete' | 'constructor'>) => BufferResult;
}

/**
 * A WebGPU kernel returning four values a thread, whose results are relabeled as `size` values
 * of one each: gpu.js 2.24.1 refuses a four-value result as another kernel's argument, yet its
 * buffer already holds the values thread after thread (`result[4t + c]`), which is the flat
 * layout every kernel reads. The new handle shares the buffer (gpu.js counts its references:
 * `_refs`), and the four-value one is dropped. This is the one place that relies on gpu.js's
 * WebGPUBufferResult; test/gpu-backend.test.ts fails if the pinned version changes it.
 */
function flatResults(kernel: GpuJsKernel, size: number): CompiledKernel {
  return (async (...args: unknown[]) => {
    const four = (await kernel(...args)) as BufferResult;
    if (four.componentCount !== 4 || four.output[0]! * 4 !== size) throw new Error(`gpu.js returned ${four.output} × ${four.componentCount} values where a four-value kernel of ${size} was expected (gpu.js changed?)`);
    const flat = new four.constructor({ buffer: four.buffer, output: [size], componentCount: 1, context: four.context, kernel: four.kernel });
    four.delete();
    return flat;
  }) as unknown as CompiledKernel;
}

/** gpu.js's kernel class for each mode we accept. */
const KERNEL_CLASS: Record<GpuMode, string> = {
  headlessgl: 'HeadlessGLKernel',
  webgl2: 'WebGL2Kernel',
  webgl: 'WebGLKernel',
  webgpu: 'WebGPUKernel',
  cpu: 'CPUKernel',
};

/**
 * WebGPU's entry point, `navigator.gpu`: the page's, or one a platform installed (Node's entry
 * installs the optional `webgpu` package's, see src/node/webgpu.ts).
 */
let webGpuProvider: (() => Promise<unknown>) | null = null;

/** Lets a platform supply `navigator.gpu` where the runtime has none (Node). */
export function setWebGpuProvider(provider: () => Promise<unknown>): void {
  webGpuProvider = provider;
}

interface WebGpuAdapter {
  info?: { vendor?: string; architecture?: string; description?: string; device?: string };
  limits: { maxStorageBufferBindingSize: number; maxBufferSize: number };
}

/** The WebGPU adapter gpu.js will use (gpu.js requests the same one), with a readable name; throws when there is none. */
async function webGpuAdapter(): Promise<{ adapter: WebGpuAdapter; name: string }> {
  const nav = (globalThis as { navigator?: { gpu?: { requestAdapter(): Promise<WebGpuAdapter | null> } } }).navigator;
  let gpu = nav?.gpu;
  if (!gpu && webGpuProvider) gpu = (await webGpuProvider()) as typeof gpu;
  if (!gpu) throw new Error('this runtime has no WebGPU (navigator.gpu is missing; in Node, the optional package `webgpu` provides it)');
  const adapter = await gpu.requestAdapter();
  if (!adapter) throw new Error('WebGPU is present but offers no adapter (no usable GPU or driver; in Node without a GPU, SwiftShader\'s Vulkan driver: see the README\'s Backends section)');
  const { vendor = '', architecture = '', description = '', device = '' } = adapter.info ?? {};
  const name = [description || device, vendor, architecture].filter(Boolean).join(', ') || 'unnamed adapter';
  return { adapter, name };
}

async function importGpuJs(): Promise<GpuJsModule> {
  const imported = (await import('gpu.js' as string)) as Partial<GpuJsModule> & { default?: Partial<GpuJsModule> };
  const mod = typeof imported.GPU === 'function' ? imported : imported.default;
  if (typeof mod?.GPU !== 'function') throw new Error('the gpu.js package does not export GPU');
  return mod as GpuJsModule;
}

/** The context's renderer string: the unmasked one where the debug extension gives it. */
function rendererOf(gl: WebGLRenderingContext): string {
  const debug = gl.getExtension('WEBGL_debug_renderer_info');
  const renderer = debug ? gl.getParameter(debug.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER);
  return `${gl.getParameter(gl.VERSION)}, ${renderer}`;
}

/**
 * Opens gpu.js in `mode` and proves it: a probe kernel must run on that mode's kernel class,
 * in single precision, and sum 1,500 ones to 1,500 (a bound in constants, past the default
 * 1,000-iteration cap). Throws with the reason otherwise.
 */
export async function openGpu(mode: GpuMode): Promise<OpenGpu> {
  // WebGPU first finds its adapter (installing navigator.gpu where a platform provides it): gpu.js needs it to open the mode.
  const webgpu = mode === 'webgpu' ? await webGpuAdapter().catch((e: Error) => {
    throw new Error(`gpu.js mode 'webgpu' cannot run: ${e.message}`);
  }) : null;
  let gpujs: GpuJsModule;
  try {
    gpujs = await importGpuJs();
  } catch (e) {
    throw new Error(`gpu.js cannot be loaded (${(e as Error).message})`);
  }
  const { GPU } = gpujs;
  let gpu: GpuJsInstance;
  try {
    gpu = new GPU({ mode });
  } catch (e) {
    throw new Error(`gpu.js cannot open mode '${mode}' (${(e as Error).message})`);
  }
  const settings = (s: KernelSettings): Record<string, unknown> => ({
    ...s, pipeline: true, immutable: true, precision: 'single', tactic: 'precision', dynamicOutput: false, dynamicArguments: false,
  });
  const probe = gpu.createKernel(function (this: { constants: { n: number } }, x: number[]) {
    let sum = 0;
    for (let i = 0; i < this.constants.n; i++) {
      sum += x[i]!;
    }
    return sum;
  }, settings({ output: [1], constants: { n: 1500 }, functions: [] }));
  let value: unknown, result: number | undefined;
  try {
    value = await probe(new Float32Array(1500).fill(1));
    result = value instanceof Float32Array ? value[0] : (await (value as GpuTexture).toArray())[0];
  } catch (e) {
    gpu.destroy();
    if (webgpu && openWebGpu === 0) await gpujs.WebGPUContext?.destroy();
    throw new Error(`gpu.js mode '${mode}' cannot run a kernel (${(e as Error).message})`);
  }
  const ran = probe.kernel?.constructor.name;
  const precision = probe.kernel?.precision;
  const gl = probe.kernel?.context ?? probe.context;
  if (typeof (value as GpuTexture).delete === 'function') (value as GpuTexture).delete();
  if (ran !== KERNEL_CLASS[mode] || precision !== 'single' || result !== 1500) {
    gpu.destroy();
    if (webgpu && openWebGpu === 0) await gpujs.WebGPUContext?.destroy();
    throw new Error(`gpu.js did not run mode '${mode}' as asked: it ran ${ran ?? 'nothing'} in ${precision ?? 'no'} precision (probe sum ${result}, expected 1500)`);
  }
  const glMode = mode !== 'cpu' && mode !== 'webgpu' && gl;
  // Outputs are recycled: textures on GL, buffers on WebGPU (one pool per device, shared by the instances on it).
  const device = webgpu ? (probe.kernel as unknown as { _device: object })._device : null;
  const pool = glMode ? poolTextures(value as object, gl) : device ? poolBuffers(probe.kernel!, value as object, device) : null;
  if (device) batchLaunches(device);
  if (webgpu) openWebGpu++;
  const bindingLimit = webgpu ? Math.min(webgpu.adapter.limits.maxStorageBufferBindingSize, webgpu.adapter.limits.maxBufferSize) / 4 : Infinity;
  return {
    mode,
    async: mode === 'webgpu',
    renderer: webgpu ? `WebGPU, ${webgpu.name}` : glMode ? rendererOf(gl) : 'gpu.js cpu (JavaScript)',
    maxValues: glMode ? (gl.getParameter(gl.MAX_TEXTURE_SIZE) as number) ** 2 : bindingLimit,
    context: mode === 'cpu' ? null : (probe.kernel as { context?: unknown } | undefined)?.context ?? null,
    idle: () => pool?.idle() ?? { textures: 0, bytes: 0 },
    submit: () => device && submitLaunches(device),
    submits: () => (device ? submitCount(device) : 0),
    createKernel: (fn, s) => gpu.createKernel(fn, settings(s)) as unknown as CompiledKernel,
    createFourKernel: webgpu ? (fn, s) => flatResults(gpu.createKernel(fn, settings({ ...s, output: [s.output[0] / 4] })), s.output[0]) : null,
    destroy: async () => {
      if (glMode) dropTexturePool(gl);
      if (device) submitLaunches(device); // what is recorded runs before its kernels' buffers go
      gpu.destroy();
      if (webgpu && --openWebGpu === 0) {
        dropBufferPool(device!);
        await gpujs.WebGPUContext?.destroy();
      }
    },
  };
}
