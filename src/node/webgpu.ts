// WebGPU in Node: the optional package `webgpu` (Google's Dawn, the engine behind Chrome's
// WebGPU) provides `navigator.gpu`, which Node lacks. gpu.js's webgpu mode looks for it there,
// so it is installed on the global object, with the GPU* constants a page has.
//
// Without a GPU, Dawn runs on a software Vulkan driver: SwiftShader, which Debian's chromium
// package ships (VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json, with the Vulkan
// loader from the libvulkan1 package); Mesa's lavapipe is refused by Dawn.

//
// Dawn and the Vulkan loader print their own lines straight to the process's stderr from native
// code ("XDG_RUNTIME_DIR is invalid", "Warning: Vulkan shaderUniform*ArrayDynamicIndexing
// required … at InitializeImpl (…/PhysicalDeviceVk.cpp:240)"), which JavaScript cannot catch. So
// a child process asks first (about 0.1 s) whether an adapter opens; when none does, Dawn is
// never loaded here and the user sees one clear line. DDPM_VERBOSE=1 shows the child's lines.
//
// Dawn also keeps a process alive while its device lives: it polls the device from a native
// callback it schedules with setImmediate, again and again, so a script that used the webgpu
// backend would never end (and one killed with its device alive may crash on exit). So every
// promise a WebGPU call returns (an adapter, a device, a pipeline, an error scope, a buffer's
// mapping) is counted until it settles, whoever asked (ddpm-ts, TensorFlow.js, the program), and
// Dawn's polls keep the process going only while one is pending: then they are scheduled as
// always, and otherwise unreferenced (they run while anything else keeps the process going).
// When the program has nothing left to do ('beforeExit'), the WebGPU backends are closed, which
// destroys the device, and the process ends.

import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openWebGpuBackends } from '../backends/gpu/index.js';
import { closeBackends } from '../backends/choose-backend.js';

let installed: Promise<unknown> | null = null;

/** Whether an adapter opens (null when the probe itself failed: then Dawn is loaded here and says why). */
function probeAdapter(): boolean | null {
  const script = `const d = await import(${JSON.stringify(import.meta.resolve('webgpu'))}); Object.assign(globalThis, d.globals);
    const a = await d.create([]).requestAdapter(); console.log(a ? 'adapter' : 'none'); process.exit(0);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30000 });
  if (process.env.DDPM_VERBOSE && r.stderr?.trim()) process.stderr.write(r.stderr);
  const answer = (r.stdout ?? '').trim().split('\n').pop();
  return answer === 'adapter' ? true : answer === 'none' ? false : null;
}

/**
 * Without XDG_RUNTIME_DIR the Vulkan loader prints an error line at every start (a headless
 * server, CI): give it a private folder, as a desktop session would.
 */
function ensureRuntimeDir(): void {
  if (process.env.XDG_RUNTIME_DIR) return;
  const dir = join(tmpdir(), `ddpm-ts-runtime-${process.getuid?.() ?? 'user'}`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    process.env.XDG_RUNTIME_DIR = dir;
  } catch {
    // only a quieter console was at stake
  }
}

/**
 * Whether a setImmediate callback is Dawn's device poll: a native function with no name and no
 * parameters (webgpu@0.3.10's AsyncRunner; test/gpu-backend.test.ts's "a Node script on webgpu
 * ends" fails if that changes). A user's callbacks are JavaScript, bound ("bound f") or promise
 * resolvers (one parameter).
 */
function isDawnPoll(callback: unknown): boolean {
  return typeof callback === 'function' && callback.name === '' && callback.length === 0 && /\{\s*\[native code\]\s*\}$/.test(Function.prototype.toString.call(callback));
}

/** The methods of WebGPU's classes that return a promise Dawn settles (from its polls). */
const ASYNC_METHODS: Record<string, string[]> = {
  GPU: ['requestAdapter'], GPUAdapter: ['requestDevice'], GPUBuffer: ['mapAsync'], GPUQueue: ['onSubmittedWorkDone'],
  GPUDevice: ['popErrorScope', 'createComputePipelineAsync', 'createRenderPipelineAsync'], GPUShaderModule: ['getCompilationInfo'],
};

/** WebGPU promises not yet settled. */
let pendingOnDawn = 0;
/** Dawn's poll scheduled last (the next to run), to keep the process going when a promise starts. */
let nextPoll: NodeJS.Immediate | null = null;

/** Counts every promise those methods return until it settles. */
function countDawnPromises(globals: Record<string, unknown>): void {
  for (const [name, methods] of Object.entries(ASYNC_METHODS)) {
    const proto = (globals[name] as { prototype?: Record<string, unknown> } | undefined)?.prototype;
    for (const method of methods) {
      const original = proto?.[method];
      if (typeof original !== 'function') continue;
      proto![method] = function (this: unknown, ...args: unknown[]) {
        const result = original.apply(this, args) as unknown;
        if (result instanceof Promise) {
          if (pendingOnDawn++ === 0) nextPoll?.ref(); // its poll delivers the promise: it must run
          const settled = () => void pendingOnDawn--;
          result.then(settled, settled);
        }
        return result;
      };
    }
  }
}

/** Lets Dawn's polls keep the process going only while a promise is pending, and closes the WebGPU backends when the program's work is done (see the header). */
function endWithTheProgram(globals: Record<string, unknown>): void {
  countDawnPromises(globals);
  const schedule = globalThis.setImmediate;
  const unrefDawnPolls = function (this: unknown, callback: (...args: unknown[]) => void, ...args: unknown[]): NodeJS.Immediate {
    const immediate = (schedule as (callback: (...args: unknown[]) => void, ...args: unknown[]) => NodeJS.Immediate).call(this, callback, ...args);
    if (isDawnPoll(callback)) {
      nextPoll = immediate;
      if (pendingOnDawn === 0) immediate.unref();
    }
    return immediate;
  };
  globalThis.setImmediate = Object.assign(unrefDawnPolls, schedule) as typeof setImmediate;
  process.on('beforeExit', () => {
    if (pendingOnDawn > 0) schedule(() => undefined); // one more turn of the loop, in which Dawn's poll runs
    else if (openWebGpuBackends().length > 0) void closeBackends().then(() => Promise.all(openWebGpuBackends().map((b) => b.dispose())));
  });
}

/** `navigator.gpu` from the `webgpu` package, installed once; throws, saying why, when the package does not load. */
export function nodeWebGpu(): Promise<unknown> {
  installed ??= (async () => {
    ensureRuntimeDir();
    // No adapter: a navigator.gpu that offers none, with Dawn's own lines kept out of the console.
    if (probeAdapter() === false) return { requestAdapter: async () => null };
    let dawn: { create(flags: string[]): unknown; globals: Record<string, unknown> };
    try {
      dawn = (await import('webgpu' as string)) as typeof dawn;
    } catch (e) {
      throw new Error(`the optional package 'webgpu' does not load (${(e as Error).message.split('\n')[0]})`);
    }
    Object.assign(globalThis, dawn.globals);
    endWithTheProgram(dawn.globals);
    const gpu = dawn.create([]);
    const holder = globalThis as { navigator?: { gpu?: unknown } };
    if (!holder.navigator) Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
    else if (!holder.navigator.gpu) Object.defineProperty(holder.navigator, 'gpu', { value: gpu, configurable: true });
    return gpu;
  })();
  installed.catch(() => (installed = null));
  return installed;
}
