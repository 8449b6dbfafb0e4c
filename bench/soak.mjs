// Trains UNet-S (batch 16) for N steps in a fresh process and reports the RSS every 100 steps
// (and, on the gpu backend, its live textures and their bytes): memory must stay flat (the
// autograd graph is released every step, and each step runs in a tidy() scope, as the trainer's
// do, which frees the step's textures on the gpu backend).
//   node bench/soak.mjs N [threads] [cpu|gpu]

import { F, GpuBackend, Rng, diffusion, nn, optim, randn, setBackend, setThreads, tidy } from 'ddpm-ts';

const steps = Number(process.argv[2] ?? 1000);
await setThreads(Number(process.argv[3] ?? 1));
const gpu = process.argv[4] === 'gpu' ? setBackend(await GpuBackend.create()) : null;
const rng = new Rng(1);
const model = new nn.UNet({}, { rng });
const opt = new optim.Adam(model.parameters(), { lr: 1e-4 });
const schedule = diffusion.makeSchedule({ schedule: 'linear', timesteps: 1000, betaStart: 1e-4, betaEnd: 0.02 });
const mb = () => Math.round(process.memoryUsage().rss / 2 ** 20);
const rss = [];
let peak = 0;
const started = performance.now();
for (let step = 1; step <= steps; step++) {
  tidy(() => {
    const x0 = randn([16, 3, 32, 32], rng), noise = randn([16, 3, 32, 32], rng);
    const t = Array.from({ length: 16 }, () => rng.int(1000));
    const loss = F.mseLoss(model.forward(diffusion.qSample(schedule, x0, t, noise), t), noise);
    opt.zeroGrad();
    loss.backward();
    opt.step();
  });
  peak = Math.max(peak, mb());
  if (step % 100 === 0 || step === steps) {
    const textures = gpu ? gpu.memory() : null;
    rss.push(textures ? [step, mb(), textures.textures, textures.bytes] : [step, mb()]);
    console.log(`soak: step ${step}, RSS ${mb()} MB${textures ? `, ${textures.textures} live textures (${Math.round(textures.bytes / 2 ** 20)} MB)` : ''}, ${((performance.now() - started) / 1000 / step).toFixed(2)} s/step`);
  }
}
console.log(JSON.stringify({ steps, peakRssMB: peak, rssMB: rss }));
