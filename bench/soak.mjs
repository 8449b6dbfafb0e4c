// Trains UNet-S (batch 16) for N steps in a fresh process and reports the RSS every 100 steps
// (and, on the gpu backend, its live textures and their bytes): memory must stay flat (the
// autograd graph is released every step, and each step runs in a tidy() scope, as the trainer's
// do, which frees the step's textures on the gpu backend). `tiny` trains a small UNet on 16×16
// images at batch 4 instead, so 1,000 steps fit in minutes on a software GL renderer.
//   node bench/soak.mjs N [threads] [cpu|webgl|webgpu] [unet-s|tiny]

import { F, GpuBackend, Rng, diffusion, dispose, nn, optim, randn, setBackend, setThreads, tidy } from 'ddpm-ts';

const steps = Number(process.argv[2] ?? 1000);
await setThreads(Number(process.argv[3] ?? 1));
const kind = process.argv[4] ?? 'cpu';
const gpu = kind === 'cpu' ? null : setBackend(await GpuBackend.create(kind === 'webgpu' ? { mode: 'webgpu' } : {}));
const tiny = process.argv[5] === 'tiny';
const [batch, size] = tiny ? [4, 16] : [16, 32];
const rng = new Rng(1);
const model = new nn.UNet(tiny ? { imageSize: 16, baseChannels: 8, channelMults: [1, 2], attnResolutions: [8], groups: 2, timeEmbDim: 16 } : {}, { rng });
const opt = new optim.Adam(model.parameters(), { lr: 1e-4 });
const schedule = diffusion.makeSchedule({ schedule: 'linear', timesteps: 1000, betaStart: 1e-4, betaEnd: 0.02 });
const mb = () => Math.round(process.memoryUsage().rss / 2 ** 20);
const rss = [];
let peak = 0;
const started = performance.now();
for (let step = 1; step <= steps; step++) {
  const loss = tidy(() => {
    const x0 = randn([batch, 3, size, size], rng), noise = randn([batch, 3, size, size], rng);
    const t = Array.from({ length: batch }, () => rng.int(1000));
    const loss = F.mseLoss(model.forward(diffusion.qSample(schedule, x0, t, noise), t), noise);
    opt.zeroGrad();
    loss.backward();
    opt.step();
    return loss;
  });
  await loss.data(); // each step waits for the one before (a WebGPU queue would otherwise run ahead)
  dispose(loss);
  peak = Math.max(peak, mb());
  if (step % 100 === 0 || step === steps) {
    const textures = gpu ? gpu.memory() : null;
    rss.push(textures ? [step, mb(), textures.textures, textures.bytes] : [step, mb()]);
    console.log(`soak: step ${step}, RSS ${mb()} MB${textures ? `, ${textures.textures} live textures (${Math.round(textures.bytes / 2 ** 20)} MB)` : ''}, ${((performance.now() - started) / 1000 / step).toFixed(2)} s/step`);
  }
}
console.log(JSON.stringify({ steps, model: tiny ? 'tiny' : 'unet-s', peakRssMB: peak, rssMB: rss }));
