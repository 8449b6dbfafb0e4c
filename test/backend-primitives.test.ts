// A backend starts from the primitives (src/backends/backend.ts): one that implements only
// PrimitiveBackend trains the UNet with Adam, gradient clipping and the EMA, the ops composing
// softmax, GroupNorm (+ SiLU) and the optimizers' updates from primitives, and matches a backend
// with every fused kernel.

import { expect } from 'chai';
import { CpuBackend, F, Rng, UNet, fusedKernels, getBackend, noGrad, optim, randn, setBackend, tidy, type Backend, type Tensor } from 'ddpm-ts';
import { relError } from './helpers.js';

const FUSED = ['softmax', 'softmaxGrad', 'groupNorm', 'groupNormBackward', 'maxFused', 'adamStep', 'sumSquares', 'blend', 'matmulEpilogue', 'conv2dAdd'] as const;

/**
 * The cpu backend with its fused kernels taken away: only the primitives are left. It keeps the
 * name 'cpu' (a backend made current is registered by its name, and the registry's names are
 * what a config may choose), and every test puts the suite's own cpu backend back after it.
 */
function primitivesOnly(): Backend {
  const backend = new CpuBackend();
  for (const key of FUSED) Object.defineProperty(backend, key, { value: undefined });
  return backend;
}

/** The suite's cpu backend, current again (and registered as 'cpu' again) after each test. */
const suiteCpu = getBackend();

/** Losses and final weights of `steps` training steps on `backend`, the same data and seed. */
function train(backend: Backend, steps: number): { losses: number[]; weights: Map<string, Float32Array>; ema: Map<string, Float32Array> } {
  setBackend(backend);
  try {
    const rng = new Rng(4);
    const net = new UNet({ imageSize: 8, inChannels: 3, baseChannels: 8, channelMults: [1, 2], numResBlocks: 1, attnResolutions: [4], groups: 2, timeEmbDim: 16, zeroInitOut: false }, { rng });
    const adam = new optim.Adam(net.parameters(), { lr: 1e-3 });
    const ema = new optim.EMA(net, { decay: 0.9 });
    const losses: number[] = [];
    for (let i = 0; i < steps; i++) {
      const x = randn([2, 3, 8, 8], rng), noise = randn([2, 3, 8, 8], rng), t = [rng.int(1000), rng.int(1000)];
      losses.push(tidy(() => {
        const loss = F.mseLoss(net.forward(x, t), noise);
        adam.zeroGrad();
        loss.backward();
        optim.clipGradNorm(net.parameters(), 0.5);
        adam.step();
        ema.update();
        return loss.toFloat32Array()[0]!;
      }));
    }
    const read = (entries: Iterable<[string, Tensor]>) => new Map([...entries].map(([n, p]) => [n, p.toFloat32Array()]));
    return { losses, weights: read(net.namedParameters()), ema: read(ema.stateDict()) };
  } finally {
    setBackend(suiteCpu);
  }
}

describe('a backend of primitives only', function () {
  this.timeout(120000);

  it('has no fused kernel, so every op composes them', () => {
    expect(fusedKernels(primitivesOnly())).to.deep.equal({ softmax: null, groupNorm: null, optimizer: null, epilogue: null });
    expect(Object.values(fusedKernels(new CpuBackend())).every((set) => set !== null)).to.equal(true);
  });

  it('trains the UNet (attention, GroupNorm + SiLU) with Adam, clipping and the EMA as the full cpu backend does (≤ 1e-3)', () => {
    const composed = train(primitivesOnly(), 4), fused = train(new CpuBackend(), 4);
    expect(relError(composed.losses, fused.losses)).to.be.below(1e-4);
    expect(fused.losses[3]).not.to.equal(fused.losses[0]); // it trained
    for (const [name, w] of fused.weights) {
      expect(relError(composed.weights.get(name)!, w), name).to.be.below(1e-3);
      expect(relError(composed.ema.get(name)!, fused.ema.get(name)!), `EMA ${name}`).to.be.below(1e-3);
    }
  });

  it('composed softmax and GroupNorm + SiLU give the fused kernels\' outputs and input gradients (≤ 1e-5)', () => {
    const run = (backend: Backend) => {
      setBackend(backend);
      try {
        const rng = new Rng(7);
        const x = randn([2, 4, 3, 3], rng), gamma = randn([4], rng), beta = randn([4], rng), g = randn([2, 4, 3, 3], rng);
        for (const t of [x, gamma, beta]) t.requiresGrad = true;
        const y = F.add(F.groupNormSilu(x, 2, gamma, beta), F.softmax(x, 1));
        F.sum(F.mul(y, g)).backward();
        return [y, x.grad!, gamma.grad!, beta.grad!].map((t) => t.toFloat32Array());
      } finally {
        setBackend(suiteCpu);
      }
    };
    const composed = run(primitivesOnly()), fused = run(new CpuBackend());
    fused.forEach((values, k) => expect(relError(composed[k]!, values), ['y', 'dx', 'dγ', 'dβ'][k]).to.be.below(1e-5));
  });

  it('composed epilogues (a product scaled and biased, a convolution plus a residual, a channel bias or a Linear\'s projection, SiLU after a Linear) give the fused ones\' outputs bit for bit and their gradients to 1e-6', () => {
    const run = (backend: Backend) => {
      setBackend(backend);
      try {
        const rng = new Rng(8);
        const a = randn([2, 3, 4], rng), b = randn([2, 5, 4], rng), bias = randn([5], rng);
        const x = randn([2, 3, 5, 4], rng), w = randn([4, 3, 3, 3], rng), cb = randn([4], rng), residual = randn([2, 4, 5, 4], rng), w1 = randn([3, 4, 1, 1], rng), channel = randn([2, 3, 1, 1], rng);
        const u = randn([2, 6], rng), pw = randn([4, 6], rng), pb = randn([4], rng);
        const inputs = [a, b, bias, x, w, cb, residual, w1, channel, u, pw, pb];
        for (const t of inputs) t.requiresGrad = true;
        const p = F.bmm(a, F.transpose(b), { alpha: 0.37, bias });
        const c = F.conv2d(F.conv2d(x, w, cb, { padding: 1, add: residual }), w1, null, { add: channel });
        const q = F.conv2d(x, w, cb, { padding: 1, project: { x: u, weight: pw, bias: pb } });
        F.add(F.add(F.sum(F.mul(p, p)), F.sum(F.mul(c, c))), F.sum(F.mul(q, q))).backward();
        // SiLU after a Linear, where no gradient is recorded (the fused backend applies it as it writes).
        const s = noGrad(() => F.linear(u, pw, pb, { silu: true }));
        return [p, c, q, s, ...inputs.map((t) => t.grad!)].map((t) => Array.from(t.toFloat32Array()));
      } finally {
        setBackend(suiteCpu);
      }
    };
    const composed = run(primitivesOnly()), fused = run(new CpuBackend());
    // The outputs are the same float32 operations in the same order; a scaled product's gradients
    // scale after the product instead of before it (α·(g·Bᵀ) against (α·g)·Bᵀ): equal to rounding.
    const names = ['product', 'convolution', 'projected convolution', 'linear + SiLU', 'da', 'db', 'dbias', 'dx', 'dw', 'dconv bias', 'dresidual', 'dw1', 'dchannel', 'du', 'dpw', 'dpb'];
    for (const k of [0, 1, 2, 3]) expect(composed[k], names[k]).to.deep.equal(fused[k]);
    for (let k = 2; k < names.length; k++) expect(relError(composed[k]!, fused[k]!), names[k]).to.be.below(1e-6);
  });
});
