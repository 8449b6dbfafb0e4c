// The backend interface. Two parts, as in tinygrad (a small primitive set every backend
// implements) and TensorFlow.js (kernels behind one dispatch):
//
//   PrimitiveBackend  storage, reads, copies, elementwise math, reductions, matmul and
//                     convolutions: enough to train the UNet. A new backend starts here.
//   FusedKernels      optional: one launch where the primitives would take a chain of them
//                     (softmax, GroupNorm with SiLU, the optimizers' buckets). Where a backend
//                     has none, the op composes the same math from primitives (ops/activation.ts,
//                     ops/norm.ts, optim/), and test/backend-primitives.test.ts trains on one.
//
// Ops in src/ops call these; model and diffusion code never see a backend.
//
// A tensor's data lives in a Storage owned by its backend (a Float32Array for `cpu`, a GPU
// texture or buffer for `webgl` and `webgpu`). Tensors are strided views of a storage: (shape,
// strides, offset), like an ndarray. Kernels read views and return fresh contiguous storages, so
// a backend can keep data where it is between kernels; `read` is the one explicit way back to
// JavaScript numbers. Which backend is current: registry.ts.
/** The output size along one axis of a convolution: ⌊(n + 2·padding − k) / stride⌋ + 1. */
export function convOutputSize(n, k, g) {
    return Math.floor((n + 2 * g.padding - k) / g.stride) + 1;
}
/**
 * The most parameters whose optimizer state one fused launch updates: a kernel then reads the
 * state and one input per parameter, 7 storages and an output (WebGPU's default limit is 8
 * storage buffers a shader; kernels/optim.ts has six input slots).
 */
export const BUCKET_SIZE = 6;
/** The fused kernels a backend has, by set: null for a set it lacks (or has in part). */
export function fusedKernels(be) {
    const has = (...keys) => (keys.every((k) => be[k] !== undefined) ? be : null);
    return { softmax: has('softmax', 'softmaxGrad'), groupNorm: has('groupNorm', 'groupNormBackward'), optimizer: has('maxFused', 'adamMoments', 'sumSquares', 'adamParam', 'blend') };
}
//# sourceMappingURL=backend.js.map