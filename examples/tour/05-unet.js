// Tour, chapter 5 (docs/05-unet.md): UNet-S, block by block, with the shape each block makes
// for one 32×32 image (traced while the model runs), its skip connections and its size.
//
//   node examples/tour/05-unet.js

import { nn, noGrad, randn, Rng } from 'ddpm-ts';

// UNet-S, the configuration of the PyTorch fixtures (test/fixtures/README.md).
const config = { imageSize: 32, inChannels: 3, baseChannels: 32, channelMults: [1, 2, 2], numResBlocks: 1, attnResolutions: [8], groups: 8, timeEmbDim: 128 };
const net = new nn.UNet(config, { rng: new Rng(0) });
console.log(`UNet-S: ${net.numParameters().toLocaleString('en-US')} parameters in ${net.parameters().length} tensors`);

const x = randn([1, 3, 32, 32], new Rng(1));
const { result, trace } = noGrad(() => nn.traceShapes(net, () => net.forward(x, [500])));
const shown = trace.filter((e) => ['TimeEmbedding', 'ResBlock', 'AttentionBlock'].includes(e.kind) || /^(convIn|normOut|convOut)$|sample$/.test(e.name));
for (const e of shown) console.log(`${e.name.padEnd(18)} ${e.kind.padEnd(15)} [${e.input}] → [${e.output}]`);
console.log(`output: [${result.shape}] (the predicted noise ε, the shape of the input)`);

// The skips: every encoder output is kept, and each decoder block concatenates one back.
const plan = nn.planUNet(net.config);
plan.up.forEach((level, i) => console.log(`up.${i} block inputs (channels after concatenating a skip): ${level.blocks.map(([cin]) => cin).join(', ')}`));
