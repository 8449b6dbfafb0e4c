// Tour, chapter 6 (docs/06-ddpm.md): the DDPM tutorial's equations, each checked against the
// code that computes it.
//
//   node examples/tour/06-ddpm.js

import { diffusion, Rng, tensor } from 'ddpm-ts';

const schedule = diffusion.makeSchedule({ schedule: 'linear', timesteps: 1000, betaStart: 1e-4, betaEnd: 0.02 });
const T = schedule.T;

// (1) α_t = 1 − β_t, with β rising linearly from 1e-4 to 0.02 (the tutorial prints 0.002: a slip).
console.log(`β_0 = ${schedule.betas[0]}, β_T−1 = ${schedule.betas[T - 1]}, α_T−1 = 1 − β_T−1 = ${schedule.alphas[T - 1].toFixed(4)}`);
console.log(`ᾱ_T−1 = ${schedule.alphasCumprod[T - 1].toExponential(3)} (x_T−1 is almost pure noise)`);

// (2) one step at a time, x_t = √α_t·x_{t−1} + √(1−α_t)·z, against (3), the closed form
// x_t = √ᾱ_t·x_0 + √(1−ᾱ_t)·z: over many draws both have mean √ᾱ_t·x_0 and variance 1 − ᾱ_t.
const rng = new Rng(6);
const x0 = 0.8, t = 300, draws = 20000;
let sum = 0, sumSq = 0;
for (let k = 0; k < draws; k++) {
  let x = x0;
  for (let s = 0; s <= t; s++) x = Math.sqrt(schedule.alphas[s]) * x + Math.sqrt(1 - schedule.alphas[s]) * rng.normal();
  sum += x;
  sumSq += x * x;
}
const mean = sum / draws, variance = sumSq / draws - mean * mean;
const abar = schedule.alphasCumprod[t];
console.log(`t = ${t}, eq. (2) iterated ${t + 1} times: mean ${mean.toFixed(3)}, variance ${variance.toFixed(3)}`);
console.log(`t = ${t}, eq. (3) closed form:        mean ${(Math.sqrt(abar) * x0).toFixed(3)}, variance ${(1 - abar).toFixed(3)}`);

// Training draws every t in 0…T−1 (0-based, as the trainer's rng.int(T)); sampling runs t = T−1 … 0.
const drawn = Array.from({ length: 100000 }, () => rng.int(T));
console.log(`training t: from ${Math.min(...drawn)} to ${Math.max(...drawn)}; DDPM sampling visits t = ${T - 1} … 0 (${T} steps)`);

// The sampling step, x_{t−1} = (x_t − (1−α_t)/√(1−ᾱ_t)·ε) / √α_t + √β_t·z, written out by hand
// against diffusion.ddpmStep for one value.
const [xt, eps, z, step] = [0.3, -1.2, 0.7, 500];
const a = schedule.alphas[step], ab = schedule.alphasCumprod[step];
const byHand = (xt - ((1 - a) / Math.sqrt(1 - ab)) * eps) / Math.sqrt(a) + Math.sqrt(schedule.betas[step]) * z;
const byCode = (await diffusion.ddpmStep(schedule, tensor([xt], [1]), tensor([eps], [1]), step, tensor([z], [1])).data())[0];
console.log(`sampling step at t = ${step}: by hand ${byHand.toFixed(6)}, ddpmStep ${byCode.toFixed(6)}`);
const last = (await diffusion.ddpmStep(schedule, tensor([xt], [1]), tensor([eps], [1]), 0, tensor([z], [1])).data())[0];
const lastByHand = (xt - ((1 - schedule.alphas[0]) / Math.sqrt(1 - schedule.alphasCumprod[0])) * eps) / Math.sqrt(schedule.alphas[0]);
console.log(`last step (t = 0, no noise added): by hand ${lastByHand.toFixed(6)}, ddpmStep ${last.toFixed(6)}`);

// DDIM visits a few of the timesteps; the cosine schedule destroys information more evenly.
console.log(`DDIM, 10 steps: t = ${diffusion.ddimTimesteps(T, 10).join(', ')}`);
const cosine = diffusion.makeSchedule({ schedule: 'cosine', timesteps: 1000, betaStart: 1e-4, betaEnd: 0.02 });
console.log(`ᾱ at t = 500: linear ${schedule.alphasCumprod[500].toFixed(4)}, cosine ${cosine.alphasCumprod[500].toFixed(4)}`);
