// Chapter 7's round trip, the ddpm-ts side: the demo page's model (EMA weights this project
// trained) with an input and ddpm-ts's output for it, in one safetensors file for
// 07_pytorch_check.py to load into PyTorch and compare.
//
//   node examples/tour/07-export-for-pytorch.js OUT.safetensors

import { io, nn, noGrad, randn, Rng, tensor } from 'ddpm-ts';

const out = process.argv[2];
if (!out) throw new Error('usage: node examples/tour/07-export-for-pytorch.js OUT.safetensors');
const { tensors, metadata } = await io.loadSafetensors(new URL('../browser/model/faces-16.safetensors', import.meta.url).pathname);
const { model: config } = JSON.parse(metadata.config);
const net = new nn.UNet(config).eval();
net.loadStateDict(tensors, { strict: true });
const x = randn([2, 3, config.imageSize, config.imageSize], new Rng(5)), t = [7, 640];
const y = noGrad(() => net.forward(x, t));
await io.saveSafetensors(out, new Map([...tensors, ['check.x', x], ['check.t', tensor(t, [2])], ['check.out', y]]), { config: metadata.config });
console.log(`wrote ${out}: ${tensors.size} weights, an input and ddpm-ts's output`);
