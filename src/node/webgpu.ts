// WebGPU in Node: the optional package `webgpu` (Google's Dawn, the engine behind Chrome's
// WebGPU) provides `navigator.gpu`, which Node lacks. gpu.js's webgpu mode looks for it there,
// so it is installed on the global object, with the GPU* constants a page has.
//
// Without a GPU, Dawn runs on a software Vulkan driver: SwiftShader, which Debian's chromium
// package ships (VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json, with the Vulkan
// loader from the libvulkan1 package); Mesa's lavapipe is refused by Dawn.

let installed: Promise<unknown> | null = null;

/** `navigator.gpu` from the `webgpu` package, installed once; throws, saying why, when the package does not load. */
export function nodeWebGpu(): Promise<unknown> {
  installed ??= (async () => {
    let dawn: { create(flags: string[]): unknown; globals: Record<string, unknown> };
    try {
      dawn = (await import('webgpu' as string)) as typeof dawn;
    } catch (e) {
      throw new Error(`the optional package 'webgpu' does not load (${(e as Error).message.split('\n')[0]})`);
    }
    Object.assign(globalThis, dawn.globals);
    const gpu = dawn.create([]);
    const holder = globalThis as { navigator?: { gpu?: unknown } };
    if (!holder.navigator) Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
    else if (!holder.navigator.gpu) Object.defineProperty(holder.navigator, 'gpu', { value: gpu, configurable: true });
    return gpu;
  })();
  installed.catch(() => (installed = null));
  return installed;
}
