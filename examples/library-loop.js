// The README's complete training loop, as it stands there (the tests keep the two the same and
// run it): a UNet learns generated faces with Adam, then DDIM draws four. LOOP_STEPS sets its length.
//
//   node examples/library-loop.js

import { diffusion, F, nn, optim, Rng, tidy, randn, data } from 'ddpm-ts';

const rng = new Rng(0);                                    // one seed reproduces everything
const model = new nn.UNet({ imageSize: 16, inChannels: 3, baseChannels: 16, channelMults: [1, 2],
  numResBlocks: 1, attnResolutions: [8], groups: 4, timeEmbDim: 32 }, { rng });
const schedule = diffusion.makeSchedule({ schedule: 'linear', timesteps: 1000, betaStart: 1e-4, betaEnd: 0.02 });
const optimizer = new optim.Adam(model.parameters(), { lr: 1e-3 });
const faces = data.facesDataset(16, 3);                    // or data.inMemoryDataset(yours, 16, 3)

for (let step = 1; step <= steps(); step++) {
  const loss = tidy(() => {                                // frees the step's temporaries on a GPU
    const x0 = data.sampleBatch(faces, 8, rng, true);      // [8, 3, 16, 16] in [-1, 1]
    const t = Array.from({ length: 8 }, () => rng.int(schedule.T));
    const noise = randn(x0.shape, rng);
    const xt = diffusion.qSample(schedule, x0, t, noise);  // √ᾱ_t x0 + √(1−ᾱ_t) ε
    const loss = F.mseLoss(model.forward(xt, t), noise);   // the network predicts ε
    optimizer.zeroGrad();
    loss.backward();
    optimizer.step();
    return loss.detach();
  });
  if (step % 10 === 0) console.log(`step ${step}: loss ${(await loss.data())[0].toFixed(4)}`);
}

const { images } = diffusion.sample(model.eval(), schedule,
  { sampler: 'ddim', steps: 20, eta: 1, clip: true, prediction: 'eps', variance: 'beta' },
  { count: 4, channels: 3, imageSize: 16, rng });
const pixels = await images.data();                        // reading values back is explicit
console.log(`samples ${images.shape}, pixels from ${Math.min(...pixels).toFixed(2)} to ${Math.max(...pixels).toFixed(2)}`);

function steps() {
  return Number(process.env.LOOP_STEPS ?? 200);
}
