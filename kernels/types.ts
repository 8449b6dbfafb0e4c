// What gpu.js hands a kernel function. A kernel is an ordinary function that gpu.js parses and
// translates to a WGSL compute shader (WebGPU) or a GLSL fragment shader (WebGL), or runs as
// JavaScript in its 'cpu' mode: each output element is one "thread", `this.thread.x` is its
// index in the (flat) output, and `this.constants` holds the values fixed when the kernel was
// compiled (shapes, strides, loop bounds). Inputs are storage buffers, textures (or arrays) read
// by a flat element index.
//
// Only a subset of JavaScript survives the translation: numbers (all float32 on the GPU), let and
// const, if, for loops whose bound is a constant, Math functions, and calls to the helper
// functions registered with the kernel. No arrays, objects or closures.

/**
 * A helper function (called from a kernel, as `helper(…)`) that reads constants declares
 * `this: KernelThis | void` and writes `(this as KernelThis).constants`: TypeScript then lets
 * kernels call it plainly, and the cast vanishes in the JavaScript gpu.js reads.
 */
export interface KernelThis {
  readonly thread: { readonly x: number };
  readonly constants: Readonly<Record<string, number>>;
}

/** A kernel input: a texture of float32 values (or, in gpu.js's 'cpu' mode, an array). */
export interface Input {
  readonly [index: number]: number;
}
