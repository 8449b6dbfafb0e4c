// The attention and residual blocks against PyTorch (ops.json), plus gradient checks.

import { nn, Rng } from 'ddpm-ts';
import { checkBlockCase, gradCheck, randomInput } from './helpers.js';

describe('UNet blocks match PyTorch (ops.json)', () => {
  it('attentionBlock', () => checkBlockCase('attentionBlock', 1e-4));

  it('resBlock', () => checkBlockCase('resBlock', 1e-4));

  it('gradient checks of both blocks with respect to their inputs (central differences)', async () => {
    const attn = new nn.AttentionBlock(4, 2, new Rng(1));
    await gradCheck((x) => attn.forward(x), [randomInput([1, 4, 3, 2], 5)]);
    const res = new nn.ResBlock(2, 4, 3, { groups: 2, rng: new Rng(2) });
    await gradCheck((x, t) => res.forward(x, t), [randomInput([2, 2, 3, 3], 6), randomInput([2, 3], 7)]);
  });
});
