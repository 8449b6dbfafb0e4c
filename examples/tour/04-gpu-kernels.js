// Tour, chapter 4 (docs/04-gpu-kernels.md): a gpu.js kernel is an ordinary function, one call per
// output element; a GPU backend compiles it once per shape and keeps every tensor's values on the
// GPU (a texture on WebGL, a storage buffer on WebGPU). Runs in gpu.js's 'cpu' mode (the same
// kernel source as JavaScript) unless a mode is named: `xvfb-run -a node
// examples/tour/04-gpu-kernels.js headlessgl` for real GL, `webgpu` for WebGPU.
//
//   node examples/tour/04-gpu-kernels.js [cpu|headlessgl|webgpu]

import { CpuBackend, F, GpuBackend, Rng, randn, setBackend, tensor, tidy } from 'ddpm-ts';
import { matmul } from '../../dist/kernels/matmul.js';

const mode = process.argv[2] ?? 'cpu';
const gpu = await GpuBackend.create({ mode });
console.log(`gpu backend: gpu.js mode '${gpu.mode}' on ${gpu.renderer}`);

// The kernel gpu.js translates to a fragment shader: one call computes out[b, m, n].
console.log(`the matmul kernel has ${matmul.toString().split('\n').length} lines; its loop bound K is a constant of each compiled shader`);

// The same product on both backends, with K = 1,200: more than gpu.js's silent 1,000-iteration
// cap on loops whose bound it cannot see.
const r = new Rng(4);
const a = await randn([3, 1200], r).data(), b = await randn([1200, 5], r).data();
setBackend(new CpuBackend());
const onCpu = await F.matmul(tensor(a, [3, 1200]), tensor(b, [1200, 5])).data();
setBackend(gpu);
const onGpu = await F.matmul(tensor(a, [3, 1200]), tensor(b, [1200, 5])).data();
console.log(`matmul [3,1200]·[1200,5]: largest |gpu − cpu| = ${Math.max(...onGpu.map((v, i) => Math.abs(v - onCpu[i]))).toExponential(2)} (values up to ${Math.max(...onCpu.map(Math.abs)).toFixed(1)})`);

// Textures live until their tensors are freed: a step inside tidy() frees what it made.
const before = gpu.memory();
const x = tensor(a, [3, 1200]);
const kept = tidy(() => {
  const y = F.mul(F.add(x, 1), 2); // two kernels, two textures: the intermediate is freed at the end
  return F.sum(y);                 // returned from the scope, so kept
});
const after = gpu.memory();
console.log(`live textures: ${before.textures} before, ${after.textures} after (x and the kept sum; the two intermediates were freed)`);
console.log(`sum((x + 1)·2) on the gpu backend = ${(await kept.data())[0].toFixed(3)}; by JavaScript = ${a.reduce((s, v) => s + (v + 1) * 2, 0).toFixed(3)}`);
await gpu.dispose(); // on WebGPU this destroys the device, which lets Node exit
